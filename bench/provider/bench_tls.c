/*
 * Full TLS 1.3 handshakes per second in one process (client and server SSL over a BIO pair),
 * x25519_qkd on the simulated link against plain x25519 in the same run, same contexts and
 * certificate; then, where libcrypto offers ML-KEM (OpenSSL 3.5), x25519mlkem768_qkd against
 * plain X25519MLKEM768. Prints the rates and the ratios (targets >= 0.85 and >= 0.9).
 * Usage: bench_prov_tls PATH/TO/qkey.so [SECONDS per pair, default 3]
 */
#include <stdio.h>
#include <stdlib.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "../common/tls_mem.h"

#include "bench_common.h"

/*
 * Handshakes/s for both groups, measured alternately one handshake each, with each group's time
 * summed separately: load from other processes then hits both alike.
 */
static int rates(OSSL_LIB_CTX *srv, OSSL_LIB_CTX *cli, const char *base, const char *with_qkd,
                 double seconds, double *plain, double *qkd)
{
    SSL_CTX *sp = bench_make_ctx(srv, 1, base), *cp = bench_make_ctx(cli, 0, base);
    SSL_CTX *sq = bench_make_ctx(srv, 1, with_qkd), *cq = bench_make_ctx(cli, 0, with_qkd);
    double tp = 0, tq = 0, t0, t1, start;
    long n = 0;
    int ok = sp != NULL && cp != NULL && sq != NULL && cq != NULL && bench_handshake(cp, sp) &&
             bench_handshake(cq, sq); /* warm-up */

    start = bench_now();
    while (ok && bench_now() - start < seconds) {
        t0 = bench_now();
        ok = bench_handshake(cp, sp);
        t1 = bench_now();
        ok = ok && bench_handshake(cq, sq);
        tp += t1 - t0;
        tq += bench_now() - t1;
        n++;
    }
    *plain = ok && tp > 0 ? (double)n / tp : 0;
    *qkd = ok && tq > 0 ? (double)n / tq : 0;
    SSL_CTX_free(sp);
    SSL_CTX_free(cp);
    SSL_CTX_free(sq);
    SSL_CTX_free(cq);
    return ok;
}

int main(int argc, char **argv)
{
    const char *dir;
    OSSL_LIB_CTX *a, *b;
    double secs = argc > 2 ? atof(argv[2]) : 3.0, qkd, plain;
    EVP_KEM *kem;

    if (argc < 2) {
        fprintf(stderr, "usage: %s PATH/TO/qkey.so [SECONDS]\n", argv[0]);
        return 2;
    }
    if ((dir = bench_tmpdir()) == NULL || !bench_make_cert())
        return 1;
    a = bench_libctx(dir, "a", argv[1], "SAE_A", "SAE_B", 1);
    b = bench_libctx(dir, "b", argv[1], "SAE_B", "SAE_A", 1);
    if (a == NULL || b == NULL)
        return 1;
    rates(a, b, "x25519", "x25519_qkd", secs, &plain, &qkd);
    printf("TLS 1.3 full handshakes/s (in memory, one process, ECDSA P-256 certificate)\n");
    printf("  x25519                     %8.1f /s\n", plain);
    printf("  x25519_qkd (sim)           %8.1f /s\n", qkd);
    printf("  ratio x25519_qkd / x25519 = %.3f (target >= 0.85)\n", plain > 0 ? qkd / plain : 0);
    kem = EVP_KEM_fetch(NULL, "X25519MLKEM768", NULL);
    if (kem != NULL) {
        double mq = 0, mp = 0;
        EVP_KEM_free(kem);
        rates(a, b, "X25519MLKEM768", "x25519mlkem768_qkd", secs, &mp, &mq);
        printf("  X25519MLKEM768             %8.1f /s\n", mp);
        printf("  x25519mlkem768_qkd (sim)   %8.1f /s\n", mq);
        printf("  ratio x25519mlkem768_qkd / X25519MLKEM768 = %.3f (target >= 0.9)\n",
               mp > 0 ? mq / mp : 0);
        if (mq <= 0 || mp <= 0)
            qkd = 0;
    } else {
        ERR_clear_error();
        printf("  (no X25519MLKEM768 in this libcrypto: the ML-KEM + QKD pair is not measured)\n");
    }
    OSSL_LIB_CTX_free(a);
    OSSL_LIB_CTX_free(b);
    bench_free_cert();
    bench_rmdir(dir);
    return qkd > 0 && plain > 0 ? 0 : 1;
}
