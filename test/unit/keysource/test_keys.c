/* Suite "keys/sim": new/get over a real simulated link, allowlist, replay, cross-link, wrong
 * SAE, concurrency, exhaustion policy. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

static const char *link_a;

static int setup(void)
{
    link_a = tu_tmpdir();
    return 0;
}

static void test_new_get_once(void)
{
    QKS_CTX *a = tu_sim_ctx(link_a, "SAE_A", "SAE_B", NULL);
    QKS_CTX *b = tu_sim_ctx(link_a, "SAE_B", "SAE_A", NULL);
    QKS_KEY *ka = NULL, *kb = NULL, *again = NULL;

    CU_ASSERT_EQUAL_FATAL(qks_key_new(a, "SAE_B", &ka), QKS_OK);
    CU_ASSERT_EQUAL(ka->len, 32);
    CU_ASSERT(qks_valid_key_id(ka->key_id));
    CU_ASSERT_STRING_EQUAL(ka->peer, "SAE_B");
    CU_ASSERT_EQUAL_FATAL(qks_key_get(b, "SAE_A", ka->key_id, &kb), QKS_OK);
    CU_ASSERT_EQUAL(kb->len, ka->len);
    CU_ASSERT_EQUAL(qks_memcmp_ct(ka->key, kb->key, ka->len), 0);
    CU_ASSERT_STRING_EQUAL(kb->key_id, ka->key_id);
    CU_ASSERT_STRING_EQUAL(kb->peer, "SAE_A");
    /* replay */
    CU_ASSERT_EQUAL(qks_key_get(b, "SAE_A", ka->key_id, &again), QKS_ERR_KEY_UNKNOWN);
    CU_ASSERT_PTR_NULL(again);
    CU_ASSERT(tu_contains(qks_last_error(), ka->key_id));
    CU_ASSERT(tu_contains(qks_last_error(), "already delivered"));
    qks_key_free(ka);
    qks_key_free(kb);
    qks_ctx_free(a);
    qks_ctx_free(b);
}

static void test_key_bits_and_upper_case_id(void)
{
    QKS_CTX *a = tu_sim_ctx(link_a, "SAE_A", "SAE_B", "qkd.key_bits", "1024", NULL);
    QKS_CTX *b = tu_sim_ctx(link_a, "SAE_B", "SAE_A", NULL);
    QKS_KEY *ka = NULL, *kb = NULL;
    char upper[QKS_KEY_ID_MAX + 1];

    CU_ASSERT_EQUAL_FATAL(qks_key_new(a, "SAE_B", &ka), QKS_OK);
    CU_ASSERT_EQUAL(ka->len, 128);
    for (size_t i = 0; i <= strlen(ka->key_id); i++)
        upper[i] = (char)(ka->key_id[i] >= 'a' && ka->key_id[i] <= 'f' ? ka->key_id[i] - 32
                                                                       : ka->key_id[i]);
    /* the slave gets the stored length, whatever its own qkd.key_bits says */
    CU_ASSERT_EQUAL_FATAL(qks_key_get(b, "SAE_A", upper, &kb), QKS_OK);
    CU_ASSERT_EQUAL(kb->len, 128);
    CU_ASSERT_EQUAL(qks_memcmp_ct(ka->key, kb->key, 128), 0);
    qks_key_free(ka);
    qks_key_free(kb);
    qks_ctx_free(a);
    qks_ctx_free(b);
}

static void test_allowlist(void)
{
    QKS_CTX *a = tu_sim_ctx(link_a, "SAE_A", "SAE_B", NULL);
    QKS_KEY *k = NULL;

    CU_ASSERT_EQUAL(qks_key_new(a, "SAE_EVE", &k), QKS_ERR_PEER_DENIED);
    CU_ASSERT_PTR_NULL(k);
    CU_ASSERT(tu_contains(qks_last_error(), "SAE_EVE"));
    CU_ASSERT_EQUAL(qks_key_get(a, "SAE_EVE", "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9", &k),
                    QKS_ERR_PEER_DENIED);
    CU_ASSERT(tu_contains(qks_last_error(), "SAE_EVE"));
    CU_ASSERT_EQUAL(qks_key_new(a, "SAE B", &k), QKS_ERR_INVALID);
    CU_ASSERT_EQUAL(qks_key_new(a, NULL, &k), QKS_ERR_INVALID);
    CU_ASSERT_EQUAL(qks_key_get(a, "SAE_B", "../../etc/passwd", &k), QKS_ERR_INVALID);
    CU_ASSERT_EQUAL(qks_key_get(a, "SAE_B", NULL, &k), QKS_ERR_INVALID);
    CU_ASSERT_PTR_NULL(k);
    /* a call that succeeds leaves no stale detail of the failures before it */
    CU_ASSERT(qks_last_error()[0] != '\0');
    CU_ASSERT_EQUAL_FATAL(qks_key_new(a, "SAE_B", &k), QKS_OK);
    CU_ASSERT_STRING_EQUAL(qks_last_error(), "");
    qks_key_free(k);
    qks_ctx_free(a);
}

static void test_cross_link_and_wrong_sae(void)
{
    const char *other = tu_tmpdir();
    QKS_CTX *a = tu_sim_ctx(link_a, "SAE_A", "SAE_B SAE_X", NULL);
    QKS_CTX *b = tu_sim_ctx(link_a, "SAE_B", "SAE_A SAE_X", NULL);
    QKS_CTX *b_other = tu_sim_ctx(other, "SAE_B", "SAE_A", NULL);
    QKS_CTX *x = tu_sim_ctx(link_a, "SAE_X", "SAE_A", NULL);
    QKS_KEY *ka = NULL, *k = NULL;
    int before;

    CU_ASSERT_EQUAL_FATAL(qks_key_new(a, "SAE_B", &ka), QKS_OK);
    before = tu_link_keys(link_a);
    /* another link knows none of the keys */
    CU_ASSERT_EQUAL(qks_key_get(b_other, "SAE_A", ka->key_id, &k), QKS_ERR_KEY_UNKNOWN);
    CU_ASSERT(tu_contains(qks_last_error(), other));
    /* a third SAE on the same link may not take SAE_B's key, and does not destroy it */
    CU_ASSERT_EQUAL(qks_key_get(x, "SAE_A", ka->key_id, &k), QKS_ERR_KEY_UNKNOWN);
    CU_ASSERT(tu_contains(qks_last_error(), "not issued by SAE_A to SAE_X"));
    /* the right slave naming the wrong master is refused too, without consuming */
    CU_ASSERT_EQUAL(qks_key_get(b, "SAE_X", ka->key_id, &k), QKS_ERR_KEY_UNKNOWN);
    CU_ASSERT_PTR_NULL(k);
    CU_ASSERT_EQUAL(tu_link_keys(link_a), before);
    /* the master itself cannot fetch its own key as a slave */
    CU_ASSERT_EQUAL(qks_key_get(a, "SAE_B", ka->key_id, &k), QKS_ERR_KEY_UNKNOWN);
    /* and the real slave still gets it */
    CU_ASSERT_EQUAL_FATAL(qks_key_get(b, "SAE_A", ka->key_id, &k), QKS_OK);
    CU_ASSERT_EQUAL(qks_memcmp_ct(ka->key, k->key, ka->len), 0);
    CU_ASSERT_EQUAL(tu_link_keys(link_a), before - 1);
    qks_key_free(ka);
    qks_key_free(k);
    qks_ctx_free(a);
    qks_ctx_free(b);
    qks_ctx_free(b_other);
    qks_ctx_free(x);
}

/* ---- 8 threads x 1000 new/get pairs ------------------------------------------------------ */
#define THREADS 8
#define PAIRS   1000

typedef struct {
    QKS_CTX *a, *b;
    char ids[PAIRS][QKS_KEY_ID_MAX + 1];
    unsigned char keys[PAIRS][32];
    int failures;
} WORK;

static void *pairs(void *arg)
{
    WORK *w = arg;
    for (int i = 0; i < PAIRS; i++) {
        QKS_KEY *ka = NULL, *kb = NULL;
        if (qks_key_new(w->a, "SAE_B", &ka) != QKS_OK ||
            qks_key_get(w->b, "SAE_A", ka->key_id, &kb) != QKS_OK || kb->len != 32 ||
            qks_memcmp_ct(ka->key, kb->key, 32) != 0) {
            w->failures++;
        } else {
            strcpy(w->ids[i], ka->key_id);
            memcpy(w->keys[i], ka->key, 32);
        }
        qks_key_free(ka);
        qks_key_free(kb);
    }
    return NULL;
}

static int cmp_id(const void *x, const void *y)
{
    return strcmp(x, y);
}

static int cmp_key(const void *x, const void *y)
{
    return memcmp(x, y, 32);
}

static void test_threads_no_reuse(void)
{
    const char *dir = tu_tmpdir();
    QKS_CTX *a = tu_sim_ctx(dir, "SAE_A", "SAE_B", "qkd.rate_limit", "1000000", "qkd.rate_burst",
                            "1000000", NULL);
    QKS_CTX *b = tu_sim_ctx(dir, "SAE_B", "SAE_A", NULL);
    WORK *w = calloc(THREADS, sizeof(*w));
    pthread_t t[THREADS];
    char(*ids)[QKS_KEY_ID_MAX + 1] = calloc(THREADS * PAIRS, sizeof(*ids));
    unsigned char(*keys)[32] = calloc(THREADS * PAIRS, sizeof(*keys));
    int failures = 0, dup_ids = 0, dup_keys = 0;

    for (int i = 0; i < THREADS; i++) {
        w[i].a = a;
        w[i].b = b;
        pthread_create(&t[i], NULL, pairs, &w[i]);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        failures += w[i].failures;
        memcpy(ids[i * PAIRS], w[i].ids, sizeof(w[i].ids));
        memcpy(keys[i * PAIRS], w[i].keys, sizeof(w[i].keys));
    }
    CU_ASSERT_EQUAL(failures, 0);
    qsort(ids, THREADS * PAIRS, sizeof(*ids), cmp_id);
    qsort(keys, THREADS * PAIRS, sizeof(*keys), cmp_key);
    for (int i = 1; i < THREADS * PAIRS; i++) {
        dup_ids += strcmp(ids[i - 1], ids[i]) == 0;
        dup_keys += memcmp(keys[i - 1], keys[i], 32) == 0;
    }
    CU_ASSERT_EQUAL(dup_ids, 0);
    CU_ASSERT_EQUAL(dup_keys, 0);
    CU_ASSERT_EQUAL(tu_link_keys(dir), 0); /* every key delivered and deleted */
    qks_wipe(keys, (size_t)THREADS * PAIRS * 32);
    qks_wipe(w, THREADS * sizeof(*w));
    free(w);
    free(ids);
    free(keys);
    qks_ctx_free(a);
    qks_ctx_free(b);
}

/* ---- two getters racing for one key: exactly one wins ------------------------------------ */
typedef struct {
    QKS_CTX *b;
    const char *id;
    pthread_barrier_t *go;
    int rc;
} RACER;

static void *race(void *arg)
{
    RACER *r = arg;
    QKS_KEY *k = NULL;
    pthread_barrier_wait(r->go);
    r->rc = qks_key_get(r->b, "SAE_A", r->id, &k);
    qks_key_free(k);
    return NULL;
}

static void test_concurrent_getters(void)
{
    const char *dir = tu_tmpdir();
    QKS_CTX *a = tu_sim_ctx(dir, "SAE_A", "SAE_B", NULL);
    QKS_CTX *b1 = tu_sim_ctx(dir, "SAE_B", "SAE_A", NULL);
    QKS_CTX *b2 = tu_sim_ctx(dir, "SAE_B", "SAE_A", NULL);
    int bad = 0;

    for (int round = 0; round < 100; round++) {
        QKS_KEY *ka = NULL;
        pthread_barrier_t go;
        pthread_t t1, t2;
        if (qks_key_new(a, "SAE_B", &ka) != QKS_OK) {
            bad++;
            continue;
        }
        pthread_barrier_init(&go, NULL, 2);
        RACER r1 = {b1, ka->key_id, &go, 1}, r2 = {b2, ka->key_id, &go, 1};
        pthread_create(&t1, NULL, race, &r1);
        pthread_create(&t2, NULL, race, &r2);
        pthread_join(t1, NULL);
        pthread_join(t2, NULL);
        pthread_barrier_destroy(&go);
        int wins = (r1.rc == QKS_OK) + (r2.rc == QKS_OK);
        int lost = (r1.rc == QKS_ERR_KEY_UNKNOWN) + (r2.rc == QKS_ERR_KEY_UNKNOWN);
        bad += !(wins == 1 && lost == 1);
        qks_key_free(ka);
    }
    CU_ASSERT_EQUAL(bad, 0);
    qks_ctx_free(a);
    qks_ctx_free(b1);
    qks_ctx_free(b2);
}

/* ---- processes racing for the same keys: each key delivered exactly once ------------------- */
#define RACE_KEYS  200
#define RACE_PROCS 4

static void test_processes_race(void)
{
    const char *dir = tu_tmpdir();
    QKS_CTX *a = tu_sim_ctx(dir, "SAE_A", "SAE_B", NULL);
    static char ids[RACE_KEYS][QKS_KEY_ID_MAX + 1];
    static unsigned char keys[RACE_KEYS][32];
    int wins[RACE_KEYS] = {0}, fds[RACE_PROCS][2], bad = 0;
    pid_t pids[RACE_PROCS];

    for (int i = 0; i < RACE_KEYS; i++) {
        QKS_KEY *k = NULL;
        CU_ASSERT_EQUAL_FATAL(qks_key_new(a, "SAE_B", &k), QKS_OK);
        strcpy(ids[i], k->key_id);
        memcpy(keys[i], k->key, 32);
        qks_key_free(k);
    }
    for (int p = 0; p < RACE_PROCS; p++) {
        CU_ASSERT_FATAL(pipe(fds[p]) == 0);
        pids[p] = fork();
        CU_ASSERT_FATAL(pids[p] >= 0);
        if (pids[p] == 0) {
            /* each child opens its own slave context and asks for every key, in its own order */
            QKS_CTX *b = NULL;
            unsigned char won[RACE_KEYS] = {0};
            if (tu_sim_ctx_rc(&b, dir, "SAE_B", "SAE_A", NULL) != QKS_OK)
                _exit(2);
            for (int j = 0; j < RACE_KEYS; j++) {
                int i = (j * (2 * p + 1) + p * 37) % RACE_KEYS;
                QKS_KEY *k = NULL;
                int rc = qks_key_get(b, "SAE_A", ids[i], &k);
                if (rc == QKS_OK)
                    won[i] = memcmp(k->key, keys[i], 32) == 0 ? 1 : 2;
                else if (rc != QKS_ERR_KEY_UNKNOWN)
                    won[i] = 3;
                qks_key_free(k);
            }
            _exit(write(fds[p][1], won, sizeof(won)) == (ssize_t)sizeof(won) ? 0 : 1);
        }
        close(fds[p][1]);
    }
    for (int p = 0; p < RACE_PROCS; p++) {
        unsigned char won[RACE_KEYS];
        ssize_t got = 0, n;
        while (got < (ssize_t)sizeof(won) &&
               (n = read(fds[p][0], won + got, sizeof(won) - (size_t)got)) > 0)
            got += n;
        close(fds[p][0]);
        waitpid(pids[p], NULL, 0);
        CU_ASSERT_EQUAL_FATAL(got, (ssize_t)sizeof(won));
        for (int i = 0; i < RACE_KEYS; i++) {
            bad += won[i] > 1; /* a wrong key or an unexpected error */
            wins[i] += won[i] == 1;
        }
    }
    CU_ASSERT_EQUAL(bad, 0);
    int once = 0;
    for (int i = 0; i < RACE_KEYS; i++)
        once += wins[i] == 1;
    CU_ASSERT_EQUAL(once, RACE_KEYS);
    CU_ASSERT_EQUAL(tu_link_keys(dir), 0);
    qks_wipe(keys, sizeof(keys));
    qks_ctx_free(a);
}

/* ---- exhaustion: qkd.sim_max_keys and qkd.on_exhausted ----------------------------------- */
typedef struct {
    QKS_CTX *b;
    char id[QKS_KEY_ID_MAX + 1];
    int rc;
} LATE;

static void *late_get(void *arg)
{
    LATE *l = arg;
    QKS_KEY *k = NULL;
    struct timespec ts = {0, 150 * 1000000};
    nanosleep(&ts, NULL);
    l->rc = qks_key_get(l->b, "SAE_A", l->id, &k);
    qks_key_free(k);
    return NULL;
}

static void test_exhaustion(void)
{
    const char *dir = tu_tmpdir();
    QKS_CTX *fail = tu_sim_ctx(dir, "SAE_A", "SAE_B", "qkd.sim_max_keys", "2", NULL);
    QKS_CTX *wait = tu_sim_ctx(dir, "SAE_A", "SAE_B", "qkd.sim_max_keys", "2", "qkd.on_exhausted",
                               "wait", "qkd.timeout_ms", "3000", NULL);
    QKS_CTX *shortwait = tu_sim_ctx(dir, "SAE_A", "SAE_B", "qkd.sim_max_keys", "2",
                                    "qkd.on_exhausted", "wait", "qkd.timeout_ms", "100", NULL);
    QKS_CTX *b = tu_sim_ctx(dir, "SAE_B", "SAE_A", NULL);
    QKS_KEY *k1 = NULL, *k2 = NULL, *k3 = NULL;
    LATE late = {b, "", -100};
    pthread_t t;

    CU_ASSERT_EQUAL_FATAL(qks_key_new(fail, "SAE_B", &k1), QKS_OK);
    CU_ASSERT_EQUAL_FATAL(qks_key_new(fail, "SAE_B", &k2), QKS_OK);
    CU_ASSERT_EQUAL(qks_key_new(fail, "SAE_B", &k3), QKS_ERR_NO_KEY);
    CU_ASSERT(tu_contains(qks_last_error(), "qkd.sim_max_keys"));
    uint64_t t0 = qks_now_ns();
    CU_ASSERT_EQUAL(qks_key_new(shortwait, "SAE_B", &k3), QKS_ERR_TIMEOUT);
    CU_ASSERT(qks_now_ns() - t0 >= 100000000ull);
    CU_ASSERT(tu_contains(qks_last_error(), "qkd.timeout_ms"));
    /* with wait, a key freed by the slave 150 ms later lets the master go on */
    strcpy(late.id, k1->key_id);
    pthread_create(&t, NULL, late_get, &late);
    CU_ASSERT_EQUAL(qks_key_new(wait, "SAE_B", &k3), QKS_OK);
    pthread_join(t, NULL);
    CU_ASSERT_EQUAL(late.rc, QKS_OK);
    qks_key_free(k1);
    qks_key_free(k2);
    qks_key_free(k3);
    qks_ctx_free(fail);
    qks_ctx_free(wait);
    qks_ctx_free(shortwait);
    qks_ctx_free(b);
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    CU_pSuite s = CU_add_suite("keys/sim", setup, NULL);
    CU_add_test(s, "new then get once; replay refused", test_new_get_once);
    CU_add_test(s, "key_bits 1024, upper-case key ID", test_key_bits_and_upper_case_id);
    CU_add_test(s, "allowlist and malformed input", test_allowlist);
    CU_add_test(s, "cross-link and wrong SAE refused, key kept", test_cross_link_and_wrong_sae);
    CU_add_test(s, "8 threads x 1000 pairs, nothing reused", test_threads_no_reuse);
    CU_add_test(s, "two getters race: exactly one wins", test_concurrent_getters);
    CU_add_test(s, "4 processes race: each key delivered once", test_processes_race);
    CU_add_test(s, "exhaustion: fail, wait, timeout", test_exhaustion);
    return tu_run();
}
