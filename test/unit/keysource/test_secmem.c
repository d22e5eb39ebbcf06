/* Suite "secmem": the locked slot pool, its page flags, fork wiping, and mlock refusal. */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"

/* VmFlags of the mapping holding p, from /proc/self/smaps ("" if not found). */
static void vmflags(const void *p, char *out, size_t cap)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    char line[512];
    int in = 0;
    uintptr_t a = (uintptr_t)p;

    out[0] = '\0';
    if (f == NULL)
        return;
    while (fgets(line, sizeof(line), f) != NULL) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' '))
            in = a >= lo && a < hi;
        else if (in && strncmp(line, "VmFlags:", 8) == 0) {
            snprintf(out, cap, "%s", line + 8);
            break;
        }
    }
    fclose(f);
}

static int all_zero(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0)
            return 0;
    return 1;
}

static void test_alloc_zeroed_and_reused(void)
{
    unsigned char *a = qks_secure_alloc(32);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT(all_zero(a, 32));
    memset(a, 0xA5, 32);
    qks_secure_free(a, 32);
    CU_ASSERT(all_zero(a, 32)); /* freed slots are wiped (the page stays mapped) */
    unsigned char *b = qks_secure_alloc(32);
    CU_ASSERT(all_zero(b, 32));
    qks_secure_free(b, 32);
    qks_secure_free(NULL, 10);
}

static void test_sizes(void)
{
    size_t sizes[] = {1, 16, 31, 32, 33, 100, 128, 500, 1024, 2048, 2049, 5000, 70000};
    unsigned char *p[13];
    for (size_t i = 0; i < 13; i++) {
        p[i] = qks_secure_alloc(sizes[i]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(p[i]);
        CU_ASSERT(all_zero(p[i], sizes[i]));
        memset(p[i], (int)i + 1, sizes[i]);
    }
    for (size_t i = 0; i < 13; i++) {
        unsigned char want[70000];
        memset(want, (int)i + 1, sizes[i]);
        CU_ASSERT(memcmp(p[i], want, sizes[i]) == 0); /* no two allocations overlap */
    }
    for (size_t i = 0; i < 13; i++)
        qks_secure_free(p[i], sizes[i]);
}

static void test_page_flags(void)
{
    unsigned char *small = qks_secure_alloc(64), *large = qks_secure_alloc(10000);
    char flags[512];
    QKS_SECMEM_STATS st;

    qks_secmem_stats(&st);
    vmflags(small, flags, sizeof(flags));
    CU_ASSERT(tu_contains(flags, " dd"));
    CU_ASSERT(tu_contains(flags, " wf"));
    if (st.lock_failures == 0)
        CU_ASSERT(tu_contains(flags, " lo"));
    vmflags(large, flags, sizeof(flags));
    CU_ASSERT(tu_contains(flags, " dd"));
    CU_ASSERT(tu_contains(flags, " wf"));
    qks_secure_free(small, 64);
    qks_secure_free(large, 10000);
}

static void test_memcmp_wipe(void)
{
    unsigned char a[16], b[16];
    memset(a, 7, 16);
    memset(b, 7, 16);
    CU_ASSERT_EQUAL(qks_memcmp_ct(a, b, 16), 0);
    b[15] = 8;
    CU_ASSERT_NOT_EQUAL(qks_memcmp_ct(a, b, 16), 0);
    qks_wipe(a, 16);
    CU_ASSERT(all_zero(a, 16));
}

/* A child sees zeros where its parent keeps a secret. */
static void test_wipe_on_fork(void)
{
    unsigned char *secret = qks_secure_alloc(48), *large = qks_secure_alloc(9000);
    memset(secret, 0x5A, 48);
    memset(large, 0x5B, 9000);
    pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0)
        _exit(all_zero(secret, 48) && all_zero(large, 9000) ? 0 : 1);
    int st = 0;
    waitpid(pid, &st, 0);
    CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CU_ASSERT_EQUAL(secret[47], 0x5A); /* the parent keeps its own */
    CU_ASSERT_EQUAL(large[8999], 0x5B);
    qks_secure_free(secret, 48);
    qks_secure_free(large, 9000);
}

/* Under RLIMIT_MEMLOCK = 0 (and without CAP_IPC_LOCK) allocation still works and the failure
 * is recorded for status. Run in a child so the limits do not leak into other tests. */
static void test_mlock_refused_still_works(void)
{
    pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        struct rlimit rl = {0, 0};
        QKS_SECMEM_STATS before, after;
        if (setrlimit(RLIMIT_MEMLOCK, &rl) != 0)
            _exit(3);
        if (geteuid() == 0 && setuid(65534) != 0) /* root locks regardless of the limit */
            _exit(4);
        qks_secmem_stats(&before);
        void *p[200];
        for (int i = 0; i < 200; i++) /* 200 x 2048 bytes: needs new pool pages */
            if ((p[i] = qks_secure_alloc(2048)) == NULL)
                _exit(5);
        void *big = qks_secure_alloc(100000);
        if (big == NULL)
            _exit(6);
        qks_secmem_stats(&after);
        _exit(after.lock_failures > before.lock_failures && after.last_lock_errno != 0 ? 0 : 7);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    CU_ASSERT(WIFEXITED(st));
    CU_ASSERT_EQUAL(WEXITSTATUS(st), 0);
}

#define THREADS 8
#define ROUNDS  2000

static void *churn(void *arg)
{
    unsigned char tag = (unsigned char)(uintptr_t)arg;
    unsigned char *held[8] = {0};
    size_t sz[8] = {16, 32, 64, 128, 256, 1000, 2048, 3000};
    for (int r = 0; r < ROUNDS; r++) {
        int i = r % 8;
        if (held[i] != NULL) {
            for (size_t j = 0; j < sz[i]; j++)
                if (held[i][j] != tag)
                    return (void *)1; /* another thread wrote into our slot */
            qks_secure_free(held[i], sz[i]);
        }
        if ((held[i] = qks_secure_alloc(sz[i])) == NULL)
            return (void *)2;
        memset(held[i], tag, sz[i]);
    }
    for (int i = 0; i < 8; i++)
        qks_secure_free(held[i], sz[i]);
    return NULL;
}

/* A size that disagrees with the allocation still wipes and frees it (the pool is searched by
 * the pointer); a pointer the pool never gave out, or a second free, aborts. */
static void test_free_by_pointer(void)
{
    QKS_SECMEM_STATS before, after;
    unsigned char *p;
    int st;
    pid_t pid;

    qks_secmem_stats(&before);
    p = qks_secure_alloc(32);
    CU_ASSERT_FATAL(p != NULL);
    memset(p, 0xAB, 32);
    qks_secure_free(p, 100000); /* a wrong size, which once skipped the pool: nothing freed */
    qks_secmem_stats(&after);
    CU_ASSERT_EQUAL(after.slots_in_use, before.slots_in_use);
    for (int what = 0; what < 3; what++) {
        fflush(NULL);
        if ((pid = fork()) == 0) {
            char stack_buf[16];
            unsigned char *q = qks_secure_alloc(16);
            if (what == 0)
                qks_secure_free(malloc(16), 16); /* from another allocator */
            else if (what == 1)
                qks_secure_free(stack_buf, sizeof(stack_buf));
            else {
                qks_secure_free(q, 16);
                qks_secure_free(q, 16); /* twice */
            }
            _exit(0);
        }
        CU_ASSERT_FATAL(pid > 0);
        waitpid(pid, &st, 0);
        CU_ASSERT(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT);
    }
}

static void test_threads(void)
{
    pthread_t t[THREADS];
    QKS_SECMEM_STATS before, after;
    qks_secmem_stats(&before);
    for (uintptr_t i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, churn, (void *)(i + 1));
    for (int i = 0; i < THREADS; i++) {
        void *r;
        pthread_join(t[i], &r);
        CU_ASSERT_PTR_NULL(r);
    }
    qks_secmem_stats(&after);
    CU_ASSERT_EQUAL(after.slots_in_use, before.slots_in_use);
    CU_ASSERT_EQUAL(after.large_in_use, before.large_in_use);
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    CU_pSuite s = CU_add_suite("secmem", NULL, NULL);
    CU_add_test(s, "zeroed, wiped on free, reused", test_alloc_zeroed_and_reused);
    CU_add_test(s, "sizes do not overlap", test_sizes);
    CU_add_test(s, "pages are dontdump, wipeonfork, locked", test_page_flags);
    CU_add_test(s, "constant-time compare and wipe", test_memcmp_wipe);
    CU_add_test(s, "free finds by pointer; foreign or double free aborts", test_free_by_pointer);
    CU_add_test(s, "child sees zeros (WIPEONFORK)", test_wipe_on_fork);
    CU_add_test(s, "mlock refused: still works, recorded", test_mlock_refused_still_works);
    CU_add_test(s, "8 threads alloc/free", test_threads);
    return tu_run();
}
