/*
 * Full TLS 1.3 handshakes per second in one process (client and server SSL over a BIO pair),
 * x25519_qkd on the simulated link against plain x25519 in the same run, same contexts and
 * certificate. Prints both rates and the ratio (target >= 0.85).
 * Usage: bench_prov_tls PATH/TO/qkey.so [SECONDS per group, default 3]
 */
#include <stdio.h>
#include <stdlib.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "bench_common.h"

static EVP_PKEY *srv_key;
static X509 *srv_cert;

static int make_cert(void)
{
    X509_NAME *name;

    srv_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    srv_cert = X509_new();
    if (srv_key == NULL || srv_cert == NULL)
        return 0;
    ASN1_INTEGER_set(X509_get_serialNumber(srv_cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(srv_cert), 0);
    X509_gmtime_adj(X509_getm_notAfter(srv_cert), 86400);
    X509_set_pubkey(srv_cert, srv_key);
    name = X509_get_subject_name(srv_cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"localhost", -1, -1,
                               0);
    X509_set_issuer_name(srv_cert, name);
    return X509_sign(srv_cert, srv_key, EVP_sha256()) > 0;
}

static SSL_CTX *make_ctx(OSSL_LIB_CTX *lib, int server, const char *groups)
{
    SSL_CTX *ctx = SSL_CTX_new_ex(lib, NULL, server ? TLS_server_method() : TLS_client_method());

    if (ctx == NULL || !SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) ||
        !SSL_CTX_set1_groups_list(ctx, groups) ||
        (server &&
         (!SSL_CTX_use_certificate(ctx, srv_cert) || !SSL_CTX_use_PrivateKey(ctx, srv_key)))) {
        ERR_print_errors_fp(stderr);
        SSL_CTX_free(ctx);
        return NULL;
    }
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_num_tickets(ctx, 0);
    return ctx;
}

/* One full handshake over a BIO pair; 1 on success. */
static int handshake(SSL_CTX *cctx, SSL_CTX *sctx)
{
    SSL *c = SSL_new(cctx), *s = SSL_new(sctx);
    BIO *cb = NULL, *sb = NULL;
    int cdone = 0, sdone = 0, ok = 0;

    if (c == NULL || s == NULL || !BIO_new_bio_pair(&cb, 0, &sb, 0))
        goto done;
    SSL_set_bio(c, cb, cb);
    SSL_set_bio(s, sb, sb);
    SSL_set_connect_state(c);
    SSL_set_accept_state(s);
    for (int i = 0; i < 100 && !(cdone && sdone); i++) {
        int rc = SSL_do_handshake(c), rs = SSL_do_handshake(s);
        if (rc <= 0 && SSL_get_error(c, rc) != SSL_ERROR_WANT_READ)
            goto done;
        if (rs <= 0 && SSL_get_error(s, rs) != SSL_ERROR_WANT_READ)
            goto done;
        cdone = rc == 1;
        sdone = rs == 1;
    }
    ok = cdone && sdone;
done:
    if (!ok)
        ERR_print_errors_fp(stderr);
    SSL_free(c);
    SSL_free(s);
    return ok;
}

/*
 * Handshakes/s for both groups, measured alternately one handshake each, with each group's time
 * summed separately: load from other processes then hits both alike.
 */
static int rates(OSSL_LIB_CTX *srv, OSSL_LIB_CTX *cli, double seconds, double *plain, double *qkd)
{
    SSL_CTX *sp = make_ctx(srv, 1, "x25519"), *cp = make_ctx(cli, 0, "x25519");
    SSL_CTX *sq = make_ctx(srv, 1, "x25519_qkd"), *cq = make_ctx(cli, 0, "x25519_qkd");
    double tp = 0, tq = 0, t0, t1, start;
    long n = 0;
    int ok = sp != NULL && cp != NULL && sq != NULL && cq != NULL && handshake(cp, sp) &&
             handshake(cq, sq); /* warm-up */

    start = bench_now();
    while (ok && bench_now() - start < seconds) {
        t0 = bench_now();
        ok = handshake(cp, sp);
        t1 = bench_now();
        ok = ok && handshake(cq, sq);
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

    if (argc < 2) {
        fprintf(stderr, "usage: %s PATH/TO/qkey.so [SECONDS]\n", argv[0]);
        return 2;
    }
    if ((dir = bench_tmpdir()) == NULL || !make_cert())
        return 1;
    a = bench_libctx(dir, "a", argv[1], "SAE_A", "SAE_B", 1);
    b = bench_libctx(dir, "b", argv[1], "SAE_B", "SAE_A", 1);
    if (a == NULL || b == NULL)
        return 1;
    rates(a, b, secs, &plain, &qkd);
    printf("TLS 1.3 full handshakes/s (in memory, one process, ECDSA P-256 certificate)\n");
    printf("  x25519            %8.1f /s\n", plain);
    printf("  x25519_qkd (sim)  %8.1f /s\n", qkd);
    printf("  ratio x25519_qkd / x25519 = %.3f (target >= 0.85)\n", plain > 0 ? qkd / plain : 0);
    OSSL_LIB_CTX_free(a);
    OSSL_LIB_CTX_free(b);
    EVP_PKEY_free(srv_key);
    X509_free(srv_cert);
    bench_rmdir(dir);
    return qkd > 0 && plain > 0 ? 0 : 1;
}
