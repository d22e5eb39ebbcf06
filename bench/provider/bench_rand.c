/*
 * The QRNG seed source against OpenSSL's default seed source (SEED-SRC, the OS), in the same
 * run, in two library contexts that differ only in `[random] seed`: primary DRBG reseed latency
 * (prediction resistance, so every reseed draws a fresh seed), seed bytes/s drawn straight from
 * the seed source, and RAND_bytes throughput at 32 B and 4 KiB. Prints the ratios (target for
 * RAND_bytes >= 0.95: OpenSSL reads a seed only at (re)seed points).
 * Usage: bench_prov_rand PATH/TO/qkey.so [SECONDS per measurement, default 1]
 */
#include <stdio.h>
#include <stdlib.h>

#include <openssl/err.h>
#include <openssl/rand.h>

#include "bench_common.h"

/* Operations per second of op(lib) over `seconds`. */
typedef int (*OP)(OSSL_LIB_CTX *lib, void *arg);

static double per_second(OP op, OSSL_LIB_CTX *lib, void *arg, double seconds)
{
    double t0 = bench_now(), t;
    long n = 0;

    do {
        if (!op(lib, arg)) {
            ERR_print_errors_fp(stderr);
            return 0;
        }
        n++;
        t = bench_now();
    } while (t - t0 < seconds);
    return (double)n / (t - t0);
}

/* Best of three alternating rounds each, so that load from other processes hits both alike. */
static void compare(OP op, OSSL_LIB_CTX *q, void *qarg, OSSL_LIB_CTX *d, void *darg, double seconds,
                    double *rq, double *rd)
{
    *rq = *rd = 0;
    for (int i = 0; i < 3; i++) {
        double a = per_second(op, q, qarg, seconds / 3), b = per_second(op, d, darg, seconds / 3);
        *rq = a > *rq ? a : *rq;
        *rd = b > *rd ? b : *rd;
    }
}

static int reseed(OSSL_LIB_CTX *lib, void *arg)
{
    return EVP_RAND_reseed(RAND_get0_primary(lib), 1, NULL, 0, NULL, 0);
}

static int rand_bytes(OSSL_LIB_CTX *lib, void *arg)
{
    static unsigned char buf[4096];

    return RAND_bytes_ex(lib, buf, *(size_t *)arg, 0);
}

static int seed_draw(OSSL_LIB_CTX *lib, void *arg)
{
    unsigned char seed[48]; /* what a reseed of the AES-256 primary DRBG asks for */

    return EVP_RAND_generate(arg, seed, sizeof(seed), 256, 0, NULL, 0);
}

static EVP_RAND_CTX *seed_source(OSSL_LIB_CTX *lib, const char *name)
{
    EVP_RAND *r = EVP_RAND_fetch(lib, name, NULL);
    EVP_RAND_CTX *ctx = r != NULL ? EVP_RAND_CTX_new(r, NULL) : NULL;

    EVP_RAND_free(r);
    if (ctx == NULL || !EVP_RAND_instantiate(ctx, 256, 0, NULL, 0, NULL)) {
        ERR_print_errors_fp(stderr);
        EVP_RAND_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

static void row(const char *what, const char *unit, double q, double d, double scale)
{
    printf("  %-28s QRNG %12.1f %-6s default %12.1f %-6s ratio %.3f\n", what, q * scale, unit,
           d * scale, unit, d > 0 ? q / d : 0);
}

int main(int argc, char **argv)
{
    const char *dir;
    OSSL_LIB_CTX *q, *d;
    EVP_RAND_CTX *qsrc, *dsrc;
    double secs = argc > 2 ? atof(argv[2]) : 1.0, rq, rd;
    size_t small = 32, big = 4096;
    int ok;

    if (argc < 2) {
        fprintf(stderr, "usage: %s PATH/TO/qkey.so [SECONDS]\n", argv[0]);
        return 2;
    }
    if ((dir = bench_tmpdir()) == NULL)
        return 1;
    q = bench_libctx(dir, "qrng", argv[1], "SAE_A", "SAE_B", 1);
    d = bench_libctx(dir, "default", argv[1], "SAE_A", "SAE_B", 0);
    if (q == NULL || d == NULL)
        return 1;
    qsrc = seed_source(q, "QRNG");
    dsrc = seed_source(d, "SEED-SRC");
    if (qsrc == NULL || dsrc == NULL)
        return 1;
    printf("seed = QRNG (sim source) vs OpenSSL's default seed source, same run\n");
    compare(reseed, q, NULL, d, NULL, secs, &rq, &rd);
    printf("  %-28s QRNG %12.1f us     default %12.1f us     ratio %.3f (reseeds/s QRNG / "
           "default)\n",
           "primary DRBG reseed latency", rq > 0 ? 1e6 / rq : 0, rd > 0 ? 1e6 / rd : 0,
           rd > 0 ? rq / rd : 0);
    compare(seed_draw, q, qsrc, d, dsrc, secs, &rq, &rd);
    row("seed bytes/s", "KiB/s", rq * 48, rd * 48, 1.0 / 1024);
    compare(rand_bytes, q, &small, d, &small, secs, &rq, &rd);
    row("RAND_bytes 32 B", "MiB/s", rq * 32, rd * 32, 1.0 / 1048576);
    ok = rq > 0 && rd > 0;
    compare(rand_bytes, q, &big, d, &big, secs, &rq, &rd);
    row("RAND_bytes 4 KiB", "MiB/s", rq * 4096, rd * 4096, 1.0 / 1048576);
    printf("  (target: RAND_bytes ratios >= 0.95)\n");
    ok = ok && rq > 0 && rd > 0;
    EVP_RAND_CTX_free(qsrc);
    EVP_RAND_CTX_free(dsrc);
    OSSL_LIB_CTX_free(q);
    OSSL_LIB_CTX_free(d);
    bench_rmdir(dir);
    return ok ? 0 : 1;
}
