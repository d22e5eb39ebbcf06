/*
 * End-to-end pipeline throughput per source (qhw_rng_generate), against getrandom(2) measured in
 * the same run as the baseline, with the ratio. Two request sizes: 4,096 bytes (bulk, `qkey
 * rand`) and 32 bytes (C_GenerateRandom / a DRBG seed). Times are the thread's CPU time (user +
 * system, so getrandom's kernel work counts), per core even on a shared machine.
 * Usage: bench_pipeline [SECONDS]
 * (default 1; ctest runs a smoke pass with 0.02).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "qhw.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts); /* CPU time: the VM is shared */
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double bench_getrandom(size_t req, double secs)
{
    unsigned char buf[4096];
    double t0 = now(), el;
    size_t bytes = 0;

    do {
        for (int i = 0; i < 256; i++) /* the CPU clock is a system call: read it rarely */
            if (getrandom(buf, req, 0) != (ssize_t)req)
                return 0;
        bytes += 256 * req;
    } while ((el = now() - t0) < secs);
    return bytes / el;
}

/* bytes/s, or -1 with the error printed */
static double bench_source(const char *const *kv, size_t req, double secs)
{
    QKS_CONFIG *cfg = qks_config_new();
    QHW_RNG *rng = NULL;
    unsigned char buf[4096];
    size_t bytes = 0;
    double t0, el;
    int rc;

    for (size_t i = 0; kv[i] != NULL; i += 2)
        qks_config_set(cfg, kv[i], kv[i + 1]);
    if ((rc = qhw_rng_open(cfg, &rng)) != QKS_OK ||
        (rc = qhw_rng_generate(rng, buf, sizeof(buf))) != QKS_OK) { /* start-up test, 1st block */
        fprintf(stderr, "  %s: %s\n", kv[1], qks_last_error());
        qhw_rng_free(rng);
        qks_config_free(cfg);
        return -1;
    }
    t0 = now();
    do {
        /* the CPU clock is a system call: read it every 256 requests */
        for (int i = 0; i < 256 && (rc = qhw_rng_generate(rng, buf, req)) == QKS_OK; i++)
            bytes += req;
        el = now() - t0;
        if (rc == QKS_ERR_DEVICE && bytes > 0) { /* replay file used up: the rate so far */
            rc = QKS_OK;
            break;
        }
        if (rc != QKS_OK) {
            fprintf(stderr, "  %s: %s\n", kv[1], qks_last_error());
            break;
        }
    } while (el < secs);
    qhw_rng_free(rng);
    qks_config_free(cfg);
    return rc == QKS_OK ? bytes / el : -1;
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 1.0;
    const int smoke = secs < 0.5; /* ctest: small replay file, small DIQRNG blocks */
    char path[] = "/tmp/qkey-bench-device-XXXXXX";
    static unsigned char data[8 << 20];
    size_t data_len = smoke ? sizeof(data) / 8 : sizeof(data);
    int fd = mkstemp(path);

    /* a replay file of random bytes for device: (8 MB; the rate is taken up to its end) */
    for (size_t off = 0; off < data_len; off += 256)
        if (getrandom(data + off, 256, 0) != 256)
            return 1;
    if (fd < 0 || write(fd, data, data_len) != (ssize_t)data_len)
        return 1;
    close(fd);
    char device[64];
    snprintf(device, sizeof(device), "device:%s", path);

    const char *const sim[] = {"rng.source", "sim", NULL};
    const char *const sim_tz[] = {"rng.source", "sim", "rng.extractor", "toeplitz", NULL};
    const char *const dev[] = {"rng.source", device, "rng.min_entropy", "0.9", NULL};
    /* smoke: 2^18-round blocks certify only with more test rounds (q = 0.1) */
    const char *const diq[] = {"rng.source",
                               "diqrng-sim",
                               "rng.diqrng_block_rounds",
                               smoke ? "262144" : "4194304",
                               "rng.diqrng_test_prob",
                               smoke ? "0.1" : "0.01",
                               NULL};
    const struct {
        const char *name;
        const char *const *kv;
    } cases[] = {
        {"sim (sha256)", sim},
        {"sim (toeplitz+sha256)", sim_tz},
        {"device: file, H=0.9", dev},
        {"diqrng-sim", diq},
    };
    static const size_t reqs[] = {4096, 32};
    int failed = 0;

    for (size_t r = 0; r < 2; r++) {
        double base = bench_getrandom(reqs[r], secs);
        printf("requests of %zu bytes: getrandom(2) baseline %.1f MB/s\n", reqs[r], base / 1e6);
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
            /* the DIQRNG is slow per block: a bounded run even in a long benchmark */
            double s = strcmp(cases[i].name, "diqrng-sim") == 0 && secs > 2 ? 2 : secs;
            double v = bench_source(cases[i].kv, reqs[r], s);
            if (v < 0) {
                printf("  %-24s failed\n", cases[i].name);
                failed = 1;
            } else
                printf("  %-24s %9.2f MB/s  (%.3fx getrandom)\n", cases[i].name, v / 1e6, v / base);
        }
    }
    unlink(path);
    return failed;
}
