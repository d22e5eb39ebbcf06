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
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"localhost", -1,
                               -1, 0);
    X509_set_issuer_name(srv_cert, name);
    return X509_sign(srv_cert, srv_key, EVP_sha256()) > 0;
}

static SSL_CTX *make_ctx(OSSL_LIB_CTX *lib, int server, const char *groups)
{
    SSL_CTX *ctx = SSL_CTX_new_ex(lib, NULL, server ? TLS_server_method() : TLS_client_method());

    if (ctx == NULL || !SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) ||
        !SSL_CTX_set1_groups_list(ctx, groups) ||
        (server && (!SSL_CTX_use_certificate(ctx, srv_cert) ||
                    !SSL_CTX_use_PrivateKey(ctx, srv_key)))) {
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

static double rate(OSSL_LIB_CTX *srv, OSSL_LIB_CTX *cli, const char *group, double seconds)
{
    SSL_CTX *sctx = make_ctx(srv, 1, group), *cctx = make_ctx(cli, 0, group);
    double t0, t;
    long n = 0;

    if (sctx == NULL || cctx == NULL)
        return 0;
    handshake(cctx, sctx); /* warm-up */
    t0 = bench_now();
    do {
        if (!handshake(cctx, sctx)) {
            n = 0;
            break;
        }
        n++;
        t = bench_now();
    } while (t - t0 < seconds);
    SSL_CTX_free(sctx);
    SSL_CTX_free(cctx);
    return n > 0 ? (double)n / (t - t0) : 0;
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
    /* interleave so that machine load hits both alike */
    plain = rate(a, b, "x25519", secs / 2);
    qkd = rate(a, b, "x25519_qkd", secs / 2);
    plain = (plain + rate(a, b, "x25519", secs / 2)) / 2;
    qkd = (qkd + rate(a, b, "x25519_qkd", secs / 2)) / 2;
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
