/*
 * Shared by the TLS benchmarks (bench/provider, bench/kme): a throw-away P-256 server
 * certificate, TLS 1.3-only contexts for one group, and one full handshake over a BIO pair.
 */
#include <time.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "tls_mem.h"

static EVP_PKEY *srv_key;
static X509 *srv_cert;

int bench_make_cert(void)
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

SSL_CTX *bench_make_ctx(OSSL_LIB_CTX *lib, int server, const char *groups)
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

int bench_handshake(SSL_CTX *cctx, SSL_CTX *sctx)
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

void bench_free_cert(void)
{
    EVP_PKEY_free(srv_key);
    X509_free(srv_cert);
    srv_key = NULL;
    srv_cert = NULL;
}

double bench_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int bench_hs_rates(HS_SETUP *h, size_t n, double seconds, long *count)
{
    double start, t0;
    int ok = 1;

    *count = 0;
    for (size_t i = 0; i < n; i++) {
        h[i].sctx = bench_make_ctx(h[i].srv, 1, h[i].group);
        h[i].cctx = bench_make_ctx(h[i].cli, 0, h[i].group);
        h[i].t = 0;
        ok = ok && h[i].sctx != NULL && h[i].cctx != NULL && bench_handshake(h[i].cctx, h[i].sctx);
    }
    start = bench_now();
    while (ok && bench_now() - start < seconds) {
        for (size_t i = 0; ok && i < n; i++) {
            t0 = bench_now();
            ok = bench_handshake(h[i].cctx, h[i].sctx);
            h[i].t += bench_now() - t0;
        }
        (*count)++;
    }
    for (size_t i = 0; i < n; i++) {
        SSL_CTX_free(h[i].sctx);
        SSL_CTX_free(h[i].cctx);
    }
    return ok;
}
