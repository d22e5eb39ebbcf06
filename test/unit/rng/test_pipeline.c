/*
 * The pipeline as keysource sees it (qhw_rng_*), on the simulated QRNG: output, status,
 * small-request buffering, threads, and fork safety (a child never repeats its parent).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

static QHW_RNG *open_sim(void)
{
    QHW_RNG *rng = NULL;

    if (rng_test_open(&rng, "rng.source", "sim", NULL) != QKS_OK)
        return NULL;
    return rng;
}

/* 1 MB: every byte value appears at its expected rate (a gross-bias check; the FIPS 140-2
 * battery runs in test/integration/rng). */
static void test_sim_output(void)
{
    QHW_RNG *rng = open_sim();
    const size_t n = 1 << 20;
    unsigned char *out = malloc(n);
    unsigned long seen[256] = {0};
    int bad = 0;

    CU_ASSERT_PTR_NOT_NULL_FATAL(rng);
    CU_ASSERT_PTR_NOT_NULL_FATAL(out);
    CU_ASSERT_EQUAL(qhw_rng_state(rng), QKS_OK);
    CU_ASSERT_EQUAL(qhw_rng_strength(rng), 256);
    CU_ASSERT_EQUAL(qhw_rng_generate(rng, out, n), QKS_OK);
    for (size_t i = 0; i < n; i++)
        seen[out[i]]++;
    for (int v = 0; v < 256; v++)
        if (seen[v] < 4096 - 5 * 64 || seen[v] > 4096 + 5 * 64)
            bad++;
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_EQUAL(qhw_rng_generate(rng, out, 0), QKS_OK);
    qhw_rng_free(rng);
    free(out);
}

static void test_status_fields(void)
{
    QHW_RNG *rng = open_sim();
    json_t *st = json_object();
    unsigned char b[32];

    CU_ASSERT_PTR_NOT_NULL_FATAL(rng);
    CU_ASSERT_EQUAL(qhw_rng_status(rng, st), QKS_OK);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(st, "health")),
                           "start-up test pending");
    CU_ASSERT_EQUAL(qhw_rng_generate(rng, b, sizeof(b)), QKS_OK);
    json_object_clear(st);
    CU_ASSERT_EQUAL(qhw_rng_status(rng, st), QKS_OK);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(st, "source")), "sim");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(st, "health")), "ok");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(st, "rct_cutoff")), 6);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(st, "apt_cutoff")), 40);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(st, "apt_window")), 1024);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(st, "samples_per_block")), 51);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(st, "bytes_out")), 32);
    CU_ASSERT(json_integer_value(json_object_get(st, "samples_tested")) >= 1024 + 51);
    CU_ASSERT_EQUAL(json_is_false(json_object_get(st, "post_processed")), 1);
    json_decref(st);
    qhw_rng_free(rng);
}

static int cmp32(const void *a, const void *b)
{
    return memcmp(a, b, 32);
}

/* 32-byte requests (C_GenerateRandom's usual size) come from the buffer: all distinct. */
static void test_small_requests_distinct(void)
{
    QHW_RNG *rng = open_sim();
    const size_t n = 5000;
    unsigned char *all = malloc(n * 32);
    int dup = 0;

    CU_ASSERT_PTR_NOT_NULL_FATAL(rng);
    CU_ASSERT_PTR_NOT_NULL_FATAL(all);
    for (size_t i = 0; i < n; i++)
        CU_ASSERT_EQUAL(qhw_rng_generate(rng, all + 32 * i, 32), QKS_OK);
    qsort(all, n, 32, cmp32);
    for (size_t i = 1; i < n; i++)
        dup += memcmp(all + 32 * (i - 1), all + 32 * i, 32) == 0;
    CU_ASSERT_EQUAL(dup, 0);
    free(all);
    qhw_rng_free(rng);
}

/* Odd sizes straddling the buffer boundary are served in order without loss or repeats. */
static void test_odd_sizes(void)
{
    QHW_RNG *rng = open_sim();
    unsigned char a[10000], b[10000];

    CU_ASSERT_PTR_NOT_NULL_FATAL(rng);
    CU_ASSERT_EQUAL(qhw_rng_generate(rng, a, 1), QKS_OK);
    CU_ASSERT_EQUAL(qhw_rng_generate(rng, a, 4095), QKS_OK);
    CU_ASSERT_EQUAL(qhw_rng_generate(rng, a, 4097), QKS_OK);
    CU_ASSERT_EQUAL(qhw_rng_generate(rng, b, 9999), QKS_OK);
    CU_ASSERT_NOT_EQUAL(memcmp(a, b, 4097), 0);
    qhw_rng_free(rng);
}

struct thread_arg {
    QHW_RNG *rng;
    int failures;
    unsigned char last[32];
};

static void *thread_main(void *p)
{
    struct thread_arg *a = p;

    for (int i = 0; i < 2000; i++)
        if (qhw_rng_generate(a->rng, a->last, 32) != QKS_OK)
            a->failures++;
    return NULL;
}

static void test_threads(void)
{
    QHW_RNG *rng = open_sim();
    struct thread_arg args[4];
    pthread_t t[4];

    CU_ASSERT_PTR_NOT_NULL_FATAL(rng);
    for (int i = 0; i < 4; i++) {
        args[i].rng = rng;
        args[i].failures = 0;
        CU_ASSERT_EQUAL_FATAL(pthread_create(&t[i], NULL, thread_main, &args[i]), 0);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < 4; i++) {
        CU_ASSERT_EQUAL(args[i].failures, 0);
        for (int j = 0; j < i; j++)
            CU_ASSERT_NOT_EQUAL(memcmp(args[i].last, args[j].last, 32), 0);
    }
    qhw_rng_free(rng);
}

/*
 * Fork: the parent has buffered output; parent and child each take the next 64 bytes. With
 * `notify` the child is told (qhw_rng_after_fork, as keysource does on a new pid); without, the
 * wiped-on-fork canary must catch it alone.
 */
static void fork_case(int notify)
{
    QHW_RNG *rng = open_sim();
    unsigned char first[32], mine[64], childs[64];
    int fds[2], status = 0;

    CU_ASSERT_PTR_NOT_NULL_FATAL(rng);
    CU_ASSERT_EQUAL_FATAL(qhw_rng_generate(rng, first, sizeof(first)), QKS_OK);
    CU_ASSERT_EQUAL_FATAL(pipe(fds), 0);
    pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        unsigned char b[64];
        close(fds[0]);
        if (notify)
            qhw_rng_after_fork(rng);
        int ok = qhw_rng_generate(rng, b, sizeof(b)) == QKS_OK &&
                 write(fds[1], b, sizeof(b)) == (ssize_t)sizeof(b);
        _exit(ok ? 0 : 1);
    }
    close(fds[1]);
    CU_ASSERT_EQUAL(read(fds[0], childs, sizeof(childs)), (ssize_t)sizeof(childs));
    close(fds[0]);
    waitpid(pid, &status, 0);
    CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CU_ASSERT_EQUAL(qhw_rng_generate(rng, mine, sizeof(mine)), QKS_OK);
    CU_ASSERT_NOT_EQUAL(memcmp(mine, childs, 32), 0);
    CU_ASSERT_NOT_EQUAL(memcmp(mine + 32, childs + 32, 32), 0);
    CU_ASSERT_NOT_EQUAL(memcmp(first, childs, 32), 0);
    qhw_rng_free(rng);
}

static void test_fork_notified(void)
{
    fork_case(1);
}

static void test_fork_detected(void)
{
    fork_case(0);
}

/*
 * Fork while another thread is inside a draw (holding the pipeline's lock): the child must be
 * able to draw (a child that inherited the lock held would hang forever: its alarm turns a hang
 * into a failure) and its output must differ from the parent's. Its own suite and ctest entry,
 * labelled noasan: GCC 12's AddressSanitizer runtime does not make its allocator's locks safe
 * across fork, so a child forked while another thread is inside malloc can hang in ASan itself.
 */
typedef struct {
    QHW_RNG *rng;
    volatile int stop, drawing, failed, inside;
} DRAWER;

static void *drawer(void *arg)
{
    DRAWER *d = arg;
    const size_t len = 1 << 20; /* a draw of ~10 ms: the lock is held nearly all the time */
    unsigned char *buf = malloc(len);

    while (buf != NULL && !d->stop) {
        __atomic_store_n(&d->drawing, 1, __ATOMIC_SEQ_CST);
        __atomic_store_n(&d->inside, 1, __ATOMIC_SEQ_CST);
        int rc = qhw_rng_generate(d->rng, buf, len);
        __atomic_store_n(&d->inside, 0, __ATOMIC_SEQ_CST);
        /* QKS_ERR_HEALTH: the continuous tests' false alarm (alpha = 2^-30 per sample, a
         * second of drawing is ~10^8 samples), cleared by the next call's start-up test */
        if (rc != QKS_OK && rc != QKS_ERR_HEALTH) {
            fprintf(stderr, "drawer: %s\n", qks_last_error());
            d->failed = 1;
        }
        usleep(200); /* mutexes are not fair: let the forking and drawing test thread in */
    }
    free(buf);
    return NULL;
}

static void test_fork_during_draw(void)
{
    DRAWER d = {open_sim(), 0, 0, 0, 0};
    pthread_t th;
    int forks_ok = 0, forks_inside = 0;

    CU_ASSERT_PTR_NOT_NULL_FATAL(d.rng);
    CU_ASSERT_EQUAL_FATAL(pthread_create(&th, NULL, drawer, &d), 0);
    while (!__atomic_load_n(&d.drawing, __ATOMIC_SEQ_CST))
        usleep(100);
    for (int i = 0; i < 5; i++) {
        unsigned char mine[32], childs[32];
        int fds[2], status = -1;

        usleep(3000); /* the drawer is inside qhw_rng_generate */
        CU_ASSERT_EQUAL_FATAL(pipe(fds), 0);
        forks_inside += __atomic_load_n(&d.inside, __ATOMIC_SEQ_CST);
        pid_t pid = fork();
        CU_ASSERT_FATAL(pid >= 0);
        if (pid == 0) {
            unsigned char b[32];
            alarm(5); /* a deadlocked child dies of SIGALRM instead of hanging the suite */
            close(fds[0]);
            if (i % 2) /* told, as keysource does on a new pid, or found out alone */
                qhw_rng_after_fork(d.rng);
            int ok = qhw_rng_generate(d.rng, b, sizeof(b)) == QKS_OK &&
                     write(fds[1], b, sizeof(b)) == (ssize_t)sizeof(b);
            _exit(ok ? 0 : 1);
        }
        close(fds[1]);
        ssize_t got = read(fds[0], childs, sizeof(childs));
        close(fds[0]);
        waitpid(pid, &status, 0);
        CU_ASSERT_EQUAL(got, (ssize_t)sizeof(childs));
        CU_ASSERT_FALSE(WIFSIGNALED(status)); /* SIGALRM: the child deadlocked */
        CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        CU_ASSERT_EQUAL(qhw_rng_generate(d.rng, mine, sizeof(mine)), QKS_OK);
        if (got != (ssize_t)sizeof(childs))
            break; /* one deadlock is enough to fail */
        CU_ASSERT_NOT_EQUAL(memcmp(mine, childs, sizeof(mine)), 0);
        forks_ok++;
    }
    d.stop = 1;
    pthread_join(th, NULL);
    CU_ASSERT_EQUAL(d.failed, 0);
    CU_ASSERT_EQUAL(forks_ok, 5);
    CU_ASSERT_TRUE(forks_inside > 0); /* the drawer is inside a draw ~98% of the time */
    qhw_rng_free(d.rng);
}

/* rng.extractor = toeplitz on the sim: Toeplitz then SHA-256, seed derived from the source (or
 * read from rng.toeplitz_seed_file, which must be long enough). */
static void test_toeplitz_extractor(void)
{
    QHW_RNG *rng = NULL;
    unsigned char a[5000], b[5000];
    json_t *st = json_object();
    static unsigned char seed[2000];

    CU_ASSERT_EQUAL_FATAL(
        rng_test_open(&rng, "rng.source", "sim", "rng.extractor", "toeplitz", NULL), QKS_OK);
    CU_ASSERT_EQUAL(qhw_rng_generate(rng, a, sizeof(a)), QKS_OK);
    CU_ASSERT_EQUAL(qhw_rng_generate(rng, b, sizeof(b)), QKS_OK);
    CU_ASSERT_NOT_EQUAL(memcmp(a, b, sizeof(a)), 0);
    qhw_rng_status(rng, st);
    CU_ASSERT_PTR_NOT_NULL(
        strstr(json_string_value(json_object_get(st, "conditioning")), "m = 6264"));
    CU_ASSERT_PTR_NOT_NULL(
        strstr(json_string_value(json_object_get(st, "toeplitz_seed")), "derived"));
    qhw_rng_free(rng);
    json_decref(st);

    rng_test_random(seed, sizeof(seed));
    CU_ASSERT_EQUAL(rng_test_open(&rng, "rng.source", "sim", "rng.extractor", "toeplitz",
                                  "rng.toeplitz_seed_file", rng_test_file("short", seed, 100),
                                  NULL),
                    QKS_ERR_CONFIG);
    CU_ASSERT_PTR_NOT_NULL(strstr(qks_last_error(), "needs 1807"));
    CU_ASSERT_EQUAL_FATAL(rng_test_open(&rng, "rng.source", "sim", "rng.extractor", "toeplitz",
                                        "rng.toeplitz_seed_file",
                                        rng_test_file("seed", seed, sizeof(seed)), NULL),
                          QKS_OK);
    CU_ASSERT_EQUAL(qhw_rng_generate(rng, a, 100), QKS_OK);
    qhw_rng_free(rng);
    /* too little entropy for the leftover-hash penalty */
    CU_ASSERT_EQUAL(rng_test_open(&rng, "rng.source", "sim", "rng.extractor", "toeplitz",
                                  "rng.min_entropy", "0.02", NULL),
                    QKS_ERR_CONFIG);
}

int rng_suite_forkdraw(void)
{
    CU_pSuite s = CU_add_suite("rng_forkdraw", NULL, NULL);

    if (s == NULL || !CU_add_test(s, "fork while another thread draws", test_fork_during_draw))
        return CU_get_error();
    return CUE_SUCCESS;
}

int rng_suite_pipeline(void)
{
    CU_pSuite s = CU_add_suite("rng_pipeline", NULL, NULL);

    if (s == NULL || !CU_add_test(s, "sim output, 1 MB", test_sim_output) ||
        !CU_add_test(s, "status fields", test_status_fields) ||
        !CU_add_test(s, "32-byte requests distinct", test_small_requests_distinct) ||
        !CU_add_test(s, "odd sizes across the buffer", test_odd_sizes) ||
        !CU_add_test(s, "4 threads", test_threads) ||
        !CU_add_test(s, "fork (after_fork called)", test_fork_notified) ||
        !CU_add_test(s, "fork (detected alone)", test_fork_detected) ||
        !CU_add_test(s, "Toeplitz extractor on sim", test_toeplitz_extractor))
        return CU_get_error();
    return CUE_SUCCESS;
}
