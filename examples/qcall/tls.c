/*
 * qcall signalling transport: TLS 1.3 over TCP on loopback, plain libssl.
 *
 * The key-exchange groups come from OPENSSL_CONF (e.g. `Groups = x25519_qkd:x25519` in the files
 * `qkey sim init` writes) unless --groups names them. The callee uses --cert/--key, or makes a
 * throw-away self-signed Ed25519 certificate for demos; the caller verifies it against --ca.
 * Media keys never depend on this channel's secrecy alone: they come from the per-call KEM.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include "qcall.h"

/* A self-signed certificate for "localhost", valid one day, with a fresh Ed25519 key. */
static int ephemeral_cert(SSL_CTX *ctx)
{
    EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    X509 *x = X509_new();
    X509_NAME *name;
    int ok = 0;

    if (key == NULL || x == NULL || X509_set_version(x, 2) != 1 ||
        ASN1_INTEGER_set(X509_get_serialNumber(x), 1) != 1 ||
        X509_gmtime_adj(X509_getm_notBefore(x), -60) == NULL ||
        X509_gmtime_adj(X509_getm_notAfter(x), 86400) == NULL || X509_set_pubkey(x, key) != 1)
        goto done;
    name = X509_get_subject_name(x);
    if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"localhost", -1,
                                   -1, 0) != 1 ||
        X509_set_issuer_name(x, name) != 1 || X509_sign(x, key, NULL) <= 0)
        goto done;
    ok = SSL_CTX_use_certificate(ctx, x) == 1 && SSL_CTX_use_PrivateKey(ctx, key) == 1;
done:
    X509_free(x);
    EVP_PKEY_free(key);
    return ok;
}

static SSL_CTX *common(const SSL_METHOD *method, const QCALL_OPTS *o, char *err, size_t errlen)
{
    SSL_CTX *ctx = SSL_CTX_new(method);

    if (ctx == NULL || SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1) {
        qcall_ossl_err(err, errlen, "cannot create a TLS 1.3 context");
        SSL_CTX_free(ctx);
        return NULL;
    }
    if (o->groups != NULL && SSL_CTX_set1_groups_list(ctx, o->groups) != 1) {
        qcall_ossl_err(err, errlen, "unknown TLS group in --groups");
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

SSL_CTX *qcall_tls_server_ctx(const QCALL_OPTS *o, char *err, size_t errlen)
{
    SSL_CTX *ctx = common(TLS_server_method(), o, err, errlen);
    int ok;

    if (ctx == NULL)
        return NULL;
    if (o->cert != NULL)
        ok = SSL_CTX_use_certificate_chain_file(ctx, o->cert) == 1 &&
             SSL_CTX_use_PrivateKey_file(ctx, o->key ? o->key : o->cert, SSL_FILETYPE_PEM) == 1;
    else
        ok = ephemeral_cert(ctx);
    if (!ok) {
        qcall_ossl_err(err, errlen, "cannot load the signalling certificate");
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

SSL_CTX *qcall_tls_client_ctx(const QCALL_OPTS *o, char *err, size_t errlen)
{
    SSL_CTX *ctx = common(TLS_client_method(), o, err, errlen);

    if (ctx == NULL)
        return NULL;
    if (o->ca != NULL) {
        if (SSL_CTX_load_verify_locations(ctx, o->ca, NULL) != 1) {
            qcall_ossl_err(err, errlen, "cannot load --ca");
            SSL_CTX_free(ctx);
            return NULL;
        }
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    }
    return ctx;
}

/* The TLS 1.3 group that keyed the signalling connection, by its configured name. */
const char *qcall_tls_group(SSL *ssl)
{
    const char *name = SSL_group_to_name(ssl, SSL_get_negotiated_group(ssl));

    return name ? name : "?";
}

int qcall_tcp_listen(const char *host, int *port, char *err, size_t errlen)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)*port)};
    socklen_t salen = sizeof(sa);
    int fd = -1, one = 1;

    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
        snprintf(err, errlen, "bad address %s (an IPv4 address is expected)", host);
        return -1;
    }
    if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 16) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &salen) != 0) {
        snprintf(err, errlen, "cannot listen on %s:%d: %s", host, *port, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    *port = ntohs(sa.sin_port);
    return fd;
}

int qcall_tcp_connect(const char *host, int port, char *err, size_t errlen)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    int fd;

    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
        snprintf(err, errlen, "bad address %s (an IPv4 address is expected)", host);
        return -1;
    }
    if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
        connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        snprintf(err, errlen, "cannot reach the callee at %s:%d: %s", host, port, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    qcall_tcp_timeouts(fd, 10);
    return fd;
}

void qcall_tcp_timeouts(int fd, int seconds)
{
    struct timeval tv = {.tv_sec = seconds};
    int one = 1;

    /* Small signalling messages: send each at once rather than wait for Nagle's delayed ACK. */
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    /* Best effort: without them a call can still end by the peer closing. */
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

void qcall_send_error(SSL *ssl, const char *reason)
{
    QCALL_MSG msg = {.type = QCALL_MSG_ERROR};

    snprintf(msg.reason, sizeof(msg.reason), "%s", reason);
    /* Keep it printable: the receiver's parser refuses control characters. */
    for (char *p = msg.reason; *p; p++)
        if (*p < 0x20 || *p > 0x7e)
            *p = '?';
    (void)qcall_msg_send(ssl, &msg); /* the call fails either way */
}
