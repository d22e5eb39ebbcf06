/* Suite "fork": a forked child never reuses its parent's keys, key IDs, random bytes or state. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sim/sim.h"
#include "util.h"

typedef struct {
    char key_id[QKS_KEY_ID_MAX + 1];
    unsigned char key[32];
    unsigned char rnd[64];
    int rc_key, rc_rand;
} DRAW;

static void draw(QKS_CTX *ctx, DRAW *d)
{
    QKS_KEY *k = NULL;
    memset(d, 0, sizeof(*d));
    d->rc_key = qks_key_new(ctx, "SAE_B", &k);
    if (d->rc_key == QKS_OK) {
        strcpy(d->key_id, k->key_id);
        memcpy(d->key, k->key, 32);
    }
    qks_key_free(k);
    d->rc_rand = qks_random(ctx, d->rnd, sizeof(d->rnd));
}

static void test_parent_child_differ(void)
{
    const char *dir = tu_tmpdir();
    QKS_CTX *a = tu_sim_ctx(dir, "SAE_A", "SAE_B", NULL);
    DRAW before, parent, child;
    int fds[2];

    draw(a, &before); /* state exists before the fork */
    CU_ASSERT_EQUAL_FATAL(before.rc_key, QKS_OK);
    CU_ASSERT_FATAL(pipe(fds) == 0);
    pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        draw(a, &child);
        ssize_t n = write(fds[1], &child, sizeof(child));
        _exit(n == (ssize_t)sizeof(child) ? 0 : 1);
    }
    close(fds[1]);
    draw(a, &parent);
    ssize_t got = 0;
    while (got < (ssize_t)sizeof(child)) {
        ssize_t n = read(fds[0], (char *)&child + got, sizeof(child) - (size_t)got);
        if (n <= 0)
            break;
        got += n;
    }
    close(fds[0]);
    int st = 0;
    waitpid(pid, &st, 0);
    CU_ASSERT_EQUAL_FATAL(got, (ssize_t)sizeof(child));
    CU_ASSERT_EQUAL(child.rc_key, QKS_OK);
    CU_ASSERT_EQUAL(parent.rc_key, QKS_OK);
    CU_ASSERT_STRING_NOT_EQUAL(child.key_id, parent.key_id);
    CU_ASSERT_STRING_NOT_EQUAL(child.key_id, before.key_id);
    CU_ASSERT(memcmp(child.key, parent.key, 32) != 0);
    CU_ASSERT(memcmp(child.key, before.key, 32) != 0);
    CU_ASSERT_EQUAL(child.rc_rand, QKS_OK);
    CU_ASSERT_EQUAL(parent.rc_rand, QKS_OK);
    CU_ASSERT(memcmp(child.rnd, parent.rnd, 64) != 0);
    CU_ASSERT(memcmp(child.rnd, before.rnd, 64) != 0);
    qks_wipe(&parent, sizeof(parent));
    qks_wipe(&child, sizeof(child));
    qks_ctx_free(a);
}

/* The child starts with a full bucket and zero counters: its parent's use is not its own. */
static void test_child_state_reset(void)
{
    const char *dir = tu_tmpdir();
    QKS_CTX *a =
        tu_sim_ctx(dir, "SAE_A", "SAE_B", "qkd.rate_limit", "1", "qkd.rate_burst", "1", NULL);
    QKS_KEY *k = NULL;
    CU_ASSERT_EQUAL(qks_key_new(a, "SAE_B", &k), QKS_OK);
    qks_key_free(k);
    k = NULL;
    CU_ASSERT_EQUAL(qks_key_new(a, "SAE_B", &k), QKS_ERR_RATE_LIMITED);
    pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        int rc = qks_key_new(a, "SAE_B", &k);
        int ok = rc == QKS_OK && a->peers[0].keys_issued == 1 && a->forks_seen == 1;
        qks_key_free(k);
        _exit(ok ? 0 : 1);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CU_ASSERT_EQUAL(a->forks_seen, 0);
    qks_ctx_free(a);
}

/* A lock held by a parent thread at fork time is taken over in the child, not deadlocked. */
static void test_inherited_lock(void)
{
    static QKS_LOCK l; /* zero: unlocked */
    qks_lock(&l);
    pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        alarm(5); /* a deadlock ends the child by SIGALRM and fails the test */
        qks_lock(&l);
        qks_unlock(&l);
        _exit(0);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    qks_unlock(&l);
}

/* A key the parent holds reads as zeros in the child (MADV_WIPEONFORK on the key pages). */
static void test_parent_key_wiped_in_child(void)
{
    const char *dir = tu_tmpdir();
    QKS_CTX *a = tu_sim_ctx(dir, "SAE_A", "SAE_B", NULL);
    QKS_KEY *k = NULL;
    CU_ASSERT_EQUAL_FATAL(qks_key_new(a, "SAE_B", &k), QKS_OK);
    int nonzero = 0;
    for (size_t i = 0; i < k->len; i++)
        nonzero |= k->key[i];
    CU_ASSERT(nonzero);
    pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        int any = 0;
        for (size_t i = 0; i < k->len; i++)
            any |= k->key[i];
        _exit(any == 0 ? 0 : 1);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    qks_key_free(k);
    qks_ctx_free(a);
}

/*
 * The driver's after_fork runs in the child, once, before the child's first driver call. The sim
 * driver needs no after_fork, so this wraps its method table with one that records the order
 * (a recording wrapper, because no real driver shows the call order).
 */
static QHW_QKD_METHOD recording;
static int after_fork_calls, enc_before_after_fork;

static void rec_after_fork(QHW_QKD *drv)
{
    (void)drv;
    after_fork_calls++;
}

static int rec_enc_keys(QHW_QKD *drv, const char *slave, size_t key_bytes, size_t number,
                        QKS_KEY **keys)
{
    if (after_fork_calls == 0)
        enc_before_after_fork++;
    return qhw_qkd_sim_method.enc_keys(drv, slave, key_bytes, number, keys);
}

static void test_driver_after_fork(void)
{
    const char *dir = tu_tmpdir();
    QKS_CTX *a = tu_sim_ctx(dir, "SAE_A", "SAE_B", NULL);
    const QHW_QKD_METHOD *real = a->qkd->meth;
    QKS_KEY *k = NULL;

    recording = qhw_qkd_sim_method;
    recording.after_fork = rec_after_fork;
    recording.enc_keys = rec_enc_keys;
    a->qkd->meth = &recording;
    after_fork_calls = enc_before_after_fork = 0;
    CU_ASSERT_EQUAL(qks_key_new(a, "SAE_B", &k), QKS_OK); /* parent: no after_fork */
    qks_key_free(k);
    CU_ASSERT_EQUAL(after_fork_calls, 0);
    enc_before_after_fork = 0;
    pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        QKS_KEY *k1 = NULL, *k2 = NULL;
        int ok = qks_key_new(a, "SAE_B", &k1) == QKS_OK && qks_key_new(a, "SAE_B", &k2) == QKS_OK;
        qks_key_free(k1);
        qks_key_free(k2);
        _exit(ok && after_fork_calls == 1 && enc_before_after_fork == 0 ? 0 : 1);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CU_ASSERT_EQUAL(after_fork_calls, 0);
    a->qkd->meth = real;
    qks_ctx_free(a);
}

/* The cached pid follows fork: the child sees its own pid, the parent keeps its own. */
static void test_cached_pid(void)
{
    int parent = qks_getpid();
    CU_ASSERT_EQUAL(parent, (int)getpid());
    pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0)
        _exit(qks_getpid() == (int)getpid() && qks_getpid() != parent ? 0 : 1);
    int st = 0;
    waitpid(pid, &st, 0);
    CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CU_ASSERT_EQUAL(qks_getpid(), parent);
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    CU_pSuite s = CU_add_suite("fork", NULL, NULL);
    CU_add_test(s, "parent and child draw different keys and bytes", test_parent_child_differ);
    CU_add_test(s, "child starts with fresh rate limit and counters", test_child_state_reset);
    CU_add_test(s, "driver after_fork runs first, once", test_driver_after_fork);
    CU_add_test(s, "cached pid follows fork", test_cached_pid);
    CU_add_test(s, "inherited lock is taken over", test_inherited_lock);
    CU_add_test(s, "parent's key reads as zeros in the child", test_parent_key_wiped_in_child);
    return tu_run();
}
