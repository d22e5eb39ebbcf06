/*
 * Toeplitz extractor throughput against SHA-256 conditioning, measured in the same run.
 *
 * Prints output Gbit/s of the Toeplitz extractor on one core (the kernel qhw_toeplitz_new picks
 * for this CPU, then every other kernel the CPU has) at n input bits with m = n * H - 2 * 100 (eps
 * = 2^-100), and of SHA-256 conditioning as the pipeline uses it (one digest per 32 output bytes
 * from 320 bits of input min-entropy), and the ratio. Times are the thread's CPU time (user +
 * system), so the figures are per core even on a shared machine. Usage: bench_toeplitz
 * [SECONDS_PER_CASE] (default 1; ctest runs it with 0.02).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "internal.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts); /* CPU time: the VM is shared */
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* output bits per second of the Toeplitz extractor */
static double bench_toeplitz(size_t n, size_t m, QHW_TZ_KERNEL k, double secs)
{
    size_t sb = qhw_toeplitz_seed_bytes(n, m);
    unsigned char *seed = malloc(sb), *in = malloc(n / 8 + 1), *out = malloc(m / 8 + 1);
    QHW_TOEPLITZ *t = NULL;
    double t0, el;
    long iters = 0;

    memset(seed, 0x5c, sb);
    memset(in, 0xa3, n / 8 + 1);
    if (qhw_toeplitz_new(n, m, seed, sb, &t) != QKS_OK || !qhw_toeplitz_use_kernel(t, k)) {
        qhw_toeplitz_free(t);
        free(seed), free(in), free(out);
        return 0;
    }
    /* the clock is read every `batch` extractions (reading the thread CPU clock costs a system
     * call, about as much as one n = 4096 extraction), as the SHA-256 loop below does */
    long batch = n <= 16384 ? 64 : 1;
    t0 = now();
    do {
        for (long i = 0; i < batch; i++)
            qhw_toeplitz_extract(t, in, m, out);
        iters += batch;
    } while ((el = now() - t0) < secs);
    qhw_toeplitz_free(t);
    free(seed), free(in), free(out);
    return (double)iters * m / el;
}

/* output bits per second of SHA-256 conditioning: 51-byte blocks (the sim's 320 bits of
 * min-entropy at 6.32 bits/sample) -> 32 bytes, through the pipeline's conditioner */
static double bench_sha256(double secs)
{
    QHW_CONDITIONER *c = NULL;
    unsigned char in[51], out[32];
    double t0, el;
    long iters = 0;

    memset(in, 0x3c, sizeof(in));
    if (qhw_conditioner_new(&c) != QKS_OK)
        return 0;
    t0 = now();
    do {
        for (int i = 0; i < 1000; i++)
            qhw_condition(c, in, sizeof(in), out);
        iters += 1000;
    } while ((el = now() - t0) < secs);
    qhw_conditioner_free(c);
    return (double)iters * 256 / el;
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 1.0;
    const double h = 0.79; /* sim min-entropy per raw bit */
    double sha = bench_sha256(secs);
    static const size_t sizes[] = {4096, 16384, 65536};
    QHW_TZ_KERNEL best = qhw_toeplitz_best_kernel();

    printf("SHA-256 conditioning (baseline): %.3f Gbit/s of output\n", sha / 1e9);
    printf("Toeplitz kernel chosen for this CPU: %s\n", qhw_toeplitz_kernel_name(best));
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        size_t n = sizes[i], m = qhw_lhl_output_bits(n * h, 100);
        double v = bench_toeplitz(n, m, best, secs);
        printf("Toeplitz n=%zu m=%zu eps=2^-100: %s %.3f Gbit/s per core (%.2fx SHA-256)\n", n, m,
               qhw_toeplitz_kernel_name(best), v / 1e9, v / sha);
        for (int k = QHW_TZ_NKERNELS - 1; k >= 0; k--) {
            if (k == (int)best || !qhw_toeplitz_cpu_has((QHW_TZ_KERNEL)k))
                continue;
            v = bench_toeplitz(n, m, (QHW_TZ_KERNEL)k, k == QHW_TZ_PORTABLE ? secs / 4 : secs);
            printf("    other kernel %-11s %.3f Gbit/s (%.2fx SHA-256)\n",
                   qhw_toeplitz_kernel_name((QHW_TZ_KERNEL)k), v / 1e9, v / sha);
        }
    }
    /* a DIQRNG block: 2^22 rounds, 1 outcome bit each, ~0.26 certified bits per round (one
     * extraction takes ~0.2-0.5 s: skipped in the ctest smoke run) */
    if (secs >= 0.5) {
        size_t n = (size_t)1 << 22, m = qhw_lhl_output_bits(n * 0.2555, 100);
        double hw = bench_toeplitz(n, m, best, secs);
        printf("Toeplitz n=%zu m=%zu (DIQRNG block, Karatsuba): %s %.4f Gbit/s (%.4fx "
               "SHA-256)\n",
               n, m, qhw_toeplitz_kernel_name(best), hw / 1e9, hw / sha);
    }
    return 0;
}
