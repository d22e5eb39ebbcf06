/*
 * device:PATH sources through the whole pipeline: replay files (stuck, biased, a burst that
 * clears, a burst that latches for good, end of file), FIFOs (no writer: bounded wait; a writer
 * that leaves: device error; a live writer: output) and paths that cannot be opened.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"

static char source[700];

static const char *device(const char *path)
{
    snprintf(source, sizeof(source), "device:%s", path);
    return source;
}

static int all_zero(const unsigned char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (b[i] != 0)
            return 0;
    return 1;
}

/* The acceptance case: a file of zeros fails the start-up test and latches permanently. */
static void test_stuck_file_is_permanent(void)
{
    const size_t n = 4 << 20;
    unsigned char *zeros = calloc(1, n);
    unsigned char out[64];
    QHW_RNG *rng = NULL;

    CU_ASSERT_PTR_NOT_NULL_FATAL(zeros);
    CU_ASSERT_EQUAL_FATAL(
        rng_test_open(&rng, "rng.source", device(rng_test_file("zeros", zeros, n)), NULL), QKS_OK);
    CU_ASSERT_EQUAL(qhw_rng_state(rng), QKS_OK); /* nothing read yet */
    memset(out, 0xee, sizeof(out));
    CU_ASSERT_EQUAL(qhw_rng_generate(rng, out, sizeof(out)), QKS_ERR_HEALTH_PERMANENT);
    CU_ASSERT(all_zero(out, sizeof(out)));
    CU_ASSERT_PTR_NOT_NULL(strstr(qks_last_error(), "start-up test"));
    CU_ASSERT_PTR_NOT_NULL(strstr(qks_last_error(), "repetition count"));
    CU_ASSERT_EQUAL(qhw_rng_state(rng), QKS_ERR_HEALTH_PERMANENT);
    CU_ASSERT_EQUAL(qhw_rng_generate(rng, out, sizeof(out)), QKS_ERR_HEALTH_PERMANENT);
    qhw_rng_free(rng);
    free(zeros);
}

/* A value on every other sample: no repetition, but the APT (cutoff 116 at H = 4) fires. */
static void test_biased_file_trips_apt(void)
{
    unsigned char buf[8192], out[32];
    QHW_RNG *rng = NULL;

    rng_test_random(buf, sizeof(buf));
    for (size_t i = 0; i < sizeof(buf); i += 2)
        buf[i] = 0x42;
    for (size_t i = 1; i < sizeof(buf); i += 2)
        buf[i] = buf[i] == 0x42 ? 0x43 : buf[i];
    CU_ASSERT_EQUAL_FATAL(
        rng_test_open(&rng, "rng.source", device(rng_test_file("biased", buf, sizeof(buf))), NULL),
        QKS_OK);
    CU_ASSERT_EQUAL(qhw_rng_generate(rng, out, sizeof(out)), QKS_ERR_HEALTH_PERMANENT);
    CU_ASSERT_PTR_NOT_NULL(strstr(qks_last_error(), "adaptive proportion"));
    CU_ASSERT_PTR_NOT_NULL(strstr(qks_last_error(), "cutoff 116"));
    qhw_rng_free(rng);
}

/* Good bytes, then a run of exactly C = 9 equal bytes (H = 4 bits/sample by default), then
 * good bytes again (after) or zeros (stuck after the burst). */
static const char *burst_file(const char *name, int stuck_after)
{
    const size_t n = 300000;
    unsigned char *b = malloc(n);
    const char *path;

    rng_test_random(b, n);
    for (size_t i = 1; i < n; i++)
        if (b[i] == b[i - 1])
            b[i] ^= 0x80; /* no accidental runs near the burst */
    memset(b + 1024 + 8000, 0xab, 9);
    b[1024 + 8000 - 1] = 0x12;
    b[1024 + 8009] = 0x34;
    if (stuck_after)
        memset(b + 1024 + 8009, 0, 20000);
    path = rng_test_file(name, b, n);
    free(b);
    return path;
}

static void test_intermittent_clears(void)
{
    unsigned char out[4096];
    QHW_RNG *rng = NULL;
    json_t *st = json_object();

    CU_ASSERT_EQUAL_FATAL(rng_test_open(&rng, "rng.source", device(burst_file("burst", 0)), NULL),
                          QKS_OK);
    CU_ASSERT_EQUAL(qhw_rng_generate(rng, out, sizeof(out)), QKS_ERR_HEALTH);
    CU_ASSERT(all_zero(out, sizeof(out)));
    CU_ASSERT_PTR_NOT_NULL(strstr(qks_last_error(), "repeated 9 times"));
    CU_ASSERT_EQUAL(qhw_rng_state(rng), QKS_ERR_HEALTH);
    /* the next request re-runs the start-up test on fresh samples, which pass */
    CU_ASSERT_EQUAL(qhw_rng_generate(rng, out, 32), QKS_OK);
    CU_ASSERT(!all_zero(out, 32));
    CU_ASSERT_EQUAL(qhw_rng_state(rng), QKS_OK);
    CU_ASSERT_EQUAL(qhw_rng_status(rng, st), QKS_OK);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(st, "intermittent_failures")), 1);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(st, "recoveries")), 1);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(st, "health")), "ok");
    json_decref(st);
    qhw_rng_free(rng);
}

static void test_intermittent_then_permanent(void)
{
    unsigned char out[4096];
    QHW_RNG *rng = NULL;
    json_t *st = json_object();

    CU_ASSERT_EQUAL_FATAL(rng_test_open(&rng, "rng.source", device(burst_file("stuck", 1)), NULL),
                          QKS_OK);
    CU_ASSERT_EQUAL(qhw_rng_generate(rng, out, sizeof(out)), QKS_ERR_HEALTH);
    CU_ASSERT_EQUAL(qhw_rng_generate(rng, out, 32), QKS_ERR_HEALTH_PERMANENT);
    CU_ASSERT_PTR_NOT_NULL(strstr(qks_last_error(), "recovery test"));
    qhw_rng_status(rng, st);
    json_int_t read_before = json_integer_value(json_object_get(st, "device_bytes_read"));
    /* permanent: never clears, and the source is not even read any more */
    for (int i = 0; i < 3; i++)
        CU_ASSERT_EQUAL(qhw_rng_generate(rng, out, 32), QKS_ERR_HEALTH_PERMANENT);
    CU_ASSERT_EQUAL(qhw_rng_state(rng), QKS_ERR_HEALTH_PERMANENT);
    json_object_clear(st);
    qhw_rng_status(rng, st);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(st, "device_bytes_read")), read_before);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(st, "health")), "permanent failure");
    json_decref(st);
    qhw_rng_free(rng);
}

static void test_replay_file_eof(void)
{
    unsigned char buf[3000], out[4096];
    QHW_RNG *rng = NULL;
    const char *path;

    rng_test_random(buf, sizeof(buf));
    path = rng_test_file("short", buf, sizeof(buf));
    CU_ASSERT_EQUAL_FATAL(rng_test_open(&rng, "rng.source", device(path), NULL), QKS_OK);
    CU_ASSERT_EQUAL(qhw_rng_generate(rng, out, sizeof(out)), QKS_ERR_DEVICE);
    CU_ASSERT_PTR_NOT_NULL(strstr(qks_last_error(), path));
    CU_ASSERT_PTR_NOT_NULL(strstr(qks_last_error(), "end of file"));
    CU_ASSERT_EQUAL(qhw_rng_state(rng), QKS_ERR_DEVICE);
    CU_ASSERT_EQUAL(qhw_rng_generate(rng, out, 32), QKS_ERR_DEVICE);
    qhw_rng_free(rng);
}

static void test_open_errors(void)
{
    QHW_RNG *rng = NULL;
    char missing[600];

    snprintf(missing, sizeof(missing), "%s/no-such-device", rng_test_dir());
    CU_ASSERT_EQUAL(rng_test_open(&rng, "rng.source", device(missing), NULL), QKS_ERR_DEVICE);
    CU_ASSERT_PTR_NOT_NULL(strstr(qks_last_error(), missing));
    CU_ASSERT_EQUAL(rng_test_open(&rng, "rng.source", device(rng_test_dir()), NULL),
                    QKS_ERR_CONFIG);
    CU_ASSERT_PTR_NULL(rng);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static const char *make_fifo(const char *name)
{
    static char path[600];

    snprintf(path, sizeof(path), "%s/%s", rng_test_dir(), name);
    unlink(path);
    if (mkfifo(path, 0600) != 0)
        return NULL;
    return path;
}

/* Opening never blocks, and a FIFO nobody writes to times out after rng.timeout_ms. */
static void test_fifo_without_writer_times_out(void)
{
    const char *path = make_fifo("nowriter");
    unsigned char out[32];
    QHW_RNG *rng = NULL;
    double t0;

    CU_ASSERT_PTR_NOT_NULL_FATAL(path);
    t0 = now_s();
    CU_ASSERT_EQUAL_FATAL(
        rng_test_open(&rng, "rng.source", device(path), "rng.timeout_ms", "300", NULL), QKS_OK);
    CU_ASSERT(now_s() - t0 < 0.2);
    t0 = now_s();
    CU_ASSERT_EQUAL(qhw_rng_generate(rng, out, sizeof(out)), QKS_ERR_TIMEOUT);
    double waited = now_s() - t0;
    CU_ASSERT(waited >= 0.29 && waited < 2.0);
    CU_ASSERT_PTR_NOT_NULL(strstr(qks_last_error(), path));
    CU_ASSERT_PTR_NOT_NULL(strstr(qks_last_error(), "300 ms"));
    /* a timeout is not a health failure: nothing is latched */
    CU_ASSERT_EQUAL(qhw_rng_state(rng), QKS_OK);
    qhw_rng_free(rng);
}

/* A child writes `n` random bytes into the FIFO, then closes it. */
static pid_t fifo_writer(const char *path, size_t n)
{
    pid_t pid = fork();

    if (pid == 0) {
        unsigned char buf[4096];
        int fd = open(path, O_WRONLY);
        while (fd >= 0 && n > 0) {
            size_t m = n > sizeof(buf) ? sizeof(buf) : n;
            rng_test_random(buf, m);
            if (write(fd, buf, m) != (ssize_t)m)
                _exit(1);
            n -= m;
        }
        _exit(fd < 0);
    }
    return pid;
}

static void test_fifo_writer_leaves(void)
{
    const char *path = make_fifo("leaves");
    unsigned char out[4096];
    QHW_RNG *rng = NULL;
    int status;

    CU_ASSERT_PTR_NOT_NULL_FATAL(path);
    CU_ASSERT_EQUAL_FATAL(
        rng_test_open(&rng, "rng.source", device(path), "rng.timeout_ms", "5000", NULL), QKS_OK);
    pid_t pid = fifo_writer(path, 2000);
    CU_ASSERT_EQUAL(qhw_rng_generate(rng, out, sizeof(out)), QKS_ERR_DEVICE);
    CU_ASSERT_PTR_NOT_NULL(strstr(qks_last_error(), "writer closed"));
    CU_ASSERT_PTR_NOT_NULL(strstr(qks_last_error(), path));
    waitpid(pid, &status, 0);
    qhw_rng_free(rng);
}

static void test_fifo_live_writer(void)
{
    const char *path = make_fifo("live");
    unsigned char out[8192];
    QHW_RNG *rng = NULL;
    int status;

    CU_ASSERT_PTR_NOT_NULL_FATAL(path);
    CU_ASSERT_EQUAL_FATAL(
        rng_test_open(&rng, "rng.source", device(path), "rng.timeout_ms", "5000", NULL), QKS_OK);
    pid_t pid = fifo_writer(path, 1 << 20);
    CU_ASSERT_EQUAL(qhw_rng_generate(rng, out, sizeof(out)), QKS_OK);
    CU_ASSERT(!all_zero(out, sizeof(out)));
    qhw_rng_free(rng); /* closes the read end: the writer gets EPIPE and exits */
    kill(pid, SIGTERM);
    waitpid(pid, &status, 0);
}

int rng_suite_device(void)
{
    CU_pSuite s = CU_add_suite("rng_device", NULL, NULL);

    if (s == NULL || !CU_add_test(s, "stuck file: permanent", test_stuck_file_is_permanent) ||
        !CU_add_test(s, "biased file trips APT", test_biased_file_trips_apt) ||
        !CU_add_test(s, "intermittent failure clears", test_intermittent_clears) ||
        !CU_add_test(s, "recovery failure latches", test_intermittent_then_permanent) ||
        !CU_add_test(s, "replay file EOF", test_replay_file_eof) ||
        !CU_add_test(s, "open errors name the path", test_open_errors) ||
        !CU_add_test(s, "FIFO without writer times out", test_fifo_without_writer_times_out) ||
        !CU_add_test(s, "FIFO writer leaves: device error", test_fifo_writer_leaves) ||
        !CU_add_test(s, "FIFO with a live writer", test_fifo_live_writer))
        return CU_get_error();
    return CUE_SUCCESS;
}
