/*
 * The etsi014 driver's connection to its KME: one keep-alive HTTPS connection per process,
 * opened on first use, with OpenSSL's HTTP client (OSSL_HTTP_open / OSSL_HTTP_set1_request /
 * OSSL_HTTP_REQ_CTX_nbio) over an SSL_CTX in a private OSSL_LIB_CTX. The process's
 * openssl.cnf (its Groups, its providers, qkey itself) never applies to this connection: the
 * library context loads only the default provider, and groups, protocol versions and cipher
 * suites are set explicitly after the SSL_CTX is created.
 *
 * Timing: every call is bounded by qkd.timeout_ms, with millisecond deadlines: the TCP connect
 * and TLS handshake are ours (non-blocking socket + poll), and the HTTP exchange is driven step
 * by step with OSSL_HTTP_REQ_CTX_nbio and poll (OSSL_HTTP_exchange counts in whole seconds).
 *
 * Errors name the KME and the cause: "KME https://127.0.0.1:8443 answered 503: no key for
 * SAE_B". OpenSSL 3.0's HTTP client drops the body of an error answer, so after it reports the
 * status code we read the rest of that answer (headers, then Content-Length bytes, bounded)
 * to give the KME's ETSI error message; the connection is then closed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/httperr.h>
#include <openssl/pem.h>
#include <openssl/provider.h>
#include <openssl/x509v3.h>

#include "qkey/secmem.h"
#include "etsi014.h"

#define ERROR_BODY_MAX 8192

/* ---- TLS context (first use) ----------------------------------------------------------- */

static int tls_error(E14_DRV *d, int code, const char *what)
{
    unsigned long e = ERR_peek_last_error();
    char buf[160] = "";

    if (e != 0)
        ERR_error_string_n(e, buf, sizeof(buf));
    ERR_clear_error();
    return qks_set_error(code, "KME %s: %s%s%s", d->kme_url, what, buf[0] ? ": " : "", buf);
}

static int load_tls(E14_DRV *d)
{
    SSL_CTX *ctx = NULL;
    BIO *bio = NULL;
    X509 *x = NULL;
    EVP_PKEY *pkey = NULL;
    int rc = QKS_ERR_INTERNAL, n = 0;

    if (d->ssl_ctx != NULL)
        return QKS_OK;
    if (d->libctx == NULL) {
        /* not OSSL_LIB_CTX_load_config: the process's openssl.cnf must not apply here */
        if ((d->libctx = OSSL_LIB_CTX_new()) == NULL)
            return tls_error(d, QKS_ERR_NOMEM, "cannot create a library context");
        if ((d->default_prov = OSSL_PROVIDER_load(d->libctx, "default")) == NULL)
            return tls_error(d, QKS_ERR_INTERNAL, "cannot load the default provider");
    }
    if ((ctx = SSL_CTX_new_ex(d->libctx, NULL, TLS_client_method())) == NULL)
        return tls_error(d, QKS_ERR_NOMEM, "cannot create a TLS context");
    if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) ||
        !SSL_CTX_set1_groups_list(ctx, "X25519:P-256:P-384") ||
        !SSL_CTX_set_ciphersuites(ctx, "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:"
                                       "TLS_AES_128_GCM_SHA256") ||
        !SSL_CTX_set_cipher_list(ctx, "ECDHE+AESGCM:ECDHE+CHACHA20")) {
        rc = tls_error(d, QKS_ERR_INTERNAL, "cannot set TLS parameters");
        goto done;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
    /* qkd.ca: the CAs the KME certificate must chain to */
    if ((bio = BIO_new_mem_buf(d->ca_pem, (int)d->ca_len)) == NULL)
        goto done;
    for (;;) {
        if ((x = X509_new_ex(d->libctx, NULL)) == NULL)
            goto done;
        if (PEM_read_bio_X509(bio, &x, NULL, NULL) == NULL)
            break;
        if (!X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), x))
            goto done;
        X509_free(x);
        x = NULL;
        n++;
    }
    X509_free(x);
    x = NULL;
    BIO_free(bio);
    bio = NULL;
    ERR_clear_error(); /* the end of the PEM file */
    if (n == 0) {
        rc = qks_set_error(QKS_ERR_CONFIG, "qkd.ca for KME %s holds no certificate", d->kme_url);
        goto done;
    }
    /* qkd.cert (and any chain after it) and qkd.key: our client identity */
    if ((bio = BIO_new_mem_buf(d->cert_pem, (int)d->cert_len)) == NULL ||
        (x = X509_new_ex(d->libctx, NULL)) == NULL)
        goto done;
    if (PEM_read_bio_X509(bio, &x, NULL, NULL) == NULL || !SSL_CTX_use_certificate(ctx, x)) {
        rc = tls_error(d, QKS_ERR_CONFIG, "qkd.cert is not a usable certificate");
        goto done;
    }
    X509_free(x);
    while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL)
        if (!SSL_CTX_add0_chain_cert(ctx, x)) {
            X509_free(x);
            goto done;
        }
    ERR_clear_error();
    BIO_free(bio);
    if ((bio = BIO_new_mem_buf(d->key_pem, (int)d->key_len)) == NULL)
        goto done;
    pkey = PEM_read_bio_PrivateKey_ex(bio, NULL, NULL, NULL, d->libctx, NULL);
    if (pkey == NULL || !SSL_CTX_use_PrivateKey(ctx, pkey) || !SSL_CTX_check_private_key(ctx)) {
        rc = tls_error(d, QKS_ERR_CONFIG, "qkd.key is not the private key of qkd.cert");
        goto done;
    }
    d->ssl_ctx = ctx;
    ctx = NULL;
    rc = QKS_OK;
done:
    BIO_free(bio);
    EVP_PKEY_free(pkey);
    SSL_CTX_free(ctx);
    if (rc == QKS_ERR_INTERNAL)
        rc = tls_error(d, QKS_ERR_INTERNAL, "cannot set up TLS");
    return rc;
}

void e14_tls_free(E14_DRV *d)
{
    SSL_CTX_free(d->ssl_ctx);
    d->ssl_ctx = NULL;
    if (d->default_prov != NULL)
        OSSL_PROVIDER_unload(d->default_prov);
    d->default_prov = NULL;
    OSSL_LIB_CTX_free(d->libctx);
    d->libctx = NULL;
}

/* ---- connection ------------------------------------------------------------------------ */

void e14_conn_drop(E14_DRV *d, int quiet)
{
    E14_CONN *c = &d->conn;

    if (c->rctx != NULL)
        (void)OSSL_HTTP_close(c->rctx, 1); /* we own the BIO: this frees only the context */
    if (c->ssl != NULL && quiet)
        SSL_set_quiet_shutdown(c->ssl, 1); /* no close_notify on the parent's connection */
    if (c->bio != NULL)
        BIO_free_all(c->bio); /* frees c->ssl */
    else
        SSL_free(c->ssl);
    if (c->fd >= 0)
        close(c->fd);
    memset(c, 0, sizeof(*c));
    c->fd = -1;
}

static int ms_left(double deadline)
{
    double left = (deadline - e14_now()) * 1000.0;

    return left <= 0 ? 0 : left > 3600000 ? 3600000 : (int)left + 1;
}

/* Wait until fd is readable/writable or the deadline passes. 1 ready, 0 timeout. */
static int wait_fd(int fd, int for_write, double deadline)
{
    struct pollfd p = {.fd = fd, .events = for_write ? POLLOUT : POLLIN};
    int ms, r;

    for (;;) {
        if ((ms = ms_left(deadline)) == 0)
            return 0;
        r = poll(&p, 1, ms);
        if (r > 0)
            return 1;
        if (r == 0)
            return 0;
        if (errno != EINTR)
            return 1; /* let the next I/O call report the error */
    }
}

static int tcp_connect(E14_DRV *d, double deadline)
{
    struct addrinfo hints, *res = NULL, *ai;
    int fd = -1, err = 0, gai, one = 1;
    socklen_t len = sizeof(err);

    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    if ((gai = getaddrinfo(d->host, d->port, &hints, &res)) != 0)
        return qks_set_error(QKS_ERR_UNREACHABLE, "KME %s unreachable: cannot resolve %s: %s",
                             d->kme_url, d->host, gai_strerror(gai));
    for (ai = res; ai != NULL; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            err = errno;
            continue;
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            break;
        err = errno;
        if (err == EINPROGRESS) {
            if (!wait_fd(fd, 1, deadline)) {
                close(fd);
                freeaddrinfo(res);
                return qks_set_error(QKS_ERR_TIMEOUT,
                                     "KME %s: no TCP connection within qkd.timeout_ms = %ld",
                                     d->kme_url, d->timeout_ms);
            }
            len = sizeof(err);
            if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0)
                break;
        }
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0)
        return qks_set_error(QKS_ERR_UNREACHABLE, "KME %s unreachable: %s", d->kme_url,
                             strerror(err ? err : ECONNREFUSED));
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)); /* latency only */
    d->conn.fd = fd;
    return QKS_OK;
}

static int is_ip_literal(const char *s)
{
    unsigned char buf[16];

    return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

static int tls_handshake(E14_DRV *d, double deadline)
{
    E14_CONN *c = &d->conn;
    int r, e;
    long verify;

    if ((c->ssl = SSL_new(d->ssl_ctx)) == NULL || !SSL_set_fd(c->ssl, c->fd))
        return tls_error(d, QKS_ERR_NOMEM, "cannot start TLS");
    /* strict verification of the KME's name: qkd.kme_server_name, else the URL's host */
    if (is_ip_literal(d->server_name)) {
        if (!X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), d->server_name))
            return tls_error(d, QKS_ERR_CONFIG, "bad KME address");
    } else {
        SSL_set_hostflags(c->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        if (!SSL_set_tlsext_host_name(c->ssl, d->server_name) ||
            !SSL_set1_host(c->ssl, d->server_name))
            return tls_error(d, QKS_ERR_CONFIG, "bad KME server name");
    }
    for (;;) {
        ERR_clear_error();
        r = SSL_connect(c->ssl);
        if (r == 1)
            break;
        e = SSL_get_error(c->ssl, r);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
            if (!wait_fd(c->fd, e == SSL_ERROR_WANT_WRITE, deadline))
                return qks_set_error(QKS_ERR_TIMEOUT,
                                     "KME %s: no TLS handshake within qkd.timeout_ms = %ld",
                                     d->kme_url, d->timeout_ms);
            continue;
        }
        verify = SSL_get_verify_result(c->ssl);
        if (verify != X509_V_OK) {
            ERR_clear_error();
            return qks_set_error(QKS_ERR_AUTH,
                                 "KME %s: certificate rejected: %s (checked against qkd.ca, "
                                 "name %s)",
                                 d->kme_url, X509_verify_cert_error_string(verify), d->server_name);
        }
        if (e == SSL_ERROR_SYSCALL || ERR_peek_error() == 0) {
            ERR_clear_error();
            return qks_set_error(QKS_ERR_UNREACHABLE,
                                 "KME %s closed the connection during the TLS handshake",
                                 d->kme_url);
        }
        return tls_error(d, QKS_ERR_AUTH, "TLS handshake failed");
    }
    if ((c->bio = BIO_new(BIO_f_ssl())) == NULL)
        return tls_error(d, QKS_ERR_NOMEM, "cannot create a BIO");
    BIO_set_ssl(c->bio, c->ssl, BIO_CLOSE);
    /* the connection is ours; OpenSSL's HTTP client only speaks HTTP/1.1 on it */
    c->rctx = OSSL_HTTP_open(d->host, d->port, NULL, NULL, 0, c->bio, NULL, NULL, NULL, 0, 0);
    if (c->rctx == NULL)
        return tls_error(d, QKS_ERR_NOMEM, "cannot start the HTTP client");
    return QKS_OK;
}

/* Is the idle keep-alive connection still usable? Nothing must be waiting on it but TLS
 * post-handshake messages (session tickets). */
static int conn_alive(E14_CONN *c)
{
    struct pollfd p = {.fd = c->fd, .events = POLLIN};
    char byte;
    int r;

    if (c->rctx == NULL || !OSSL_HTTP_is_alive(c->rctx))
        return 0;
    if (poll(&p, 1, 0) == 0)
        return 1;
    ERR_set_mark();
    r = SSL_peek(c->ssl, &byte, 1);
    r = r <= 0 && SSL_get_error(c->ssl, r) == SSL_ERROR_WANT_READ;
    ERR_pop_to_mark();
    return r;
}

static int conn_get(E14_DRV *d, double deadline)
{
    int rc;

    if (d->conn.pid != getpid() && (d->conn.fd >= 0 || d->conn.ssl != NULL))
        e14_conn_drop(d, 1); /* inherited: never write on the parent's connection */
    if (d->conn.rctx != NULL && conn_alive(&d->conn))
        return QKS_OK;
    e14_conn_drop(d, 0);
    if ((rc = load_tls(d)) != QKS_OK)
        return rc;
    d->connects++;
    d->conn.pid = getpid();
    if ((rc = tcp_connect(d, deadline)) != QKS_OK || (rc = tls_handshake(d, deadline)) != QKS_OK)
        e14_conn_drop(d, 0);
    return rc;
}

/* ---- one exchange ---------------------------------------------------------------------- */

/* Read exactly n bytes (or up to EOF when eof_ok) from the SSL BIO before the deadline. */
static int read_bytes(E14_DRV *d, char *buf, size_t n, int eof_ok, size_t *got, double deadline)
{
    *got = 0;
    while (*got < n) {
        int r = BIO_read(d->conn.bio, buf + *got, (int)(n - *got));

        if (r > 0) {
            *got += (size_t)r;
            continue;
        }
        if (!BIO_should_retry(d->conn.bio))
            return eof_ok ? QKS_OK : QKS_ERR_KME;
        if (!wait_fd(d->conn.fd, BIO_should_write(d->conn.bio), deadline))
            return QKS_ERR_TIMEOUT;
    }
    return QKS_OK;
}

/* After OpenSSL reported an HTTP error status: read the rest of the answer for its message. */
static void read_error_body(E14_DRV *d, char *msg, size_t msglen, double deadline)
{
    char line[512], *body = NULL;
    size_t content_length = 0, got, n = 0;

    msg[0] = '\0';
    for (;;) { /* the remaining header lines, byte by byte up to the blank line */
        char ch;

        if (read_bytes(d, &ch, 1, 0, &got, deadline) != QKS_OK)
            return;
        if (ch == '\n') {
            line[n] = '\0';
            if (n > 0 && line[n - 1] == '\r')
                line[--n] = '\0';
            if (n == 0)
                break;
            if (strncasecmp(line, "Content-Length:", 15) == 0)
                content_length = strtoul(line + 15, NULL, 10);
            n = 0;
        } else if (n + 1 < sizeof(line)) {
            line[n++] = ch;
        }
    }
    if (content_length == 0 || content_length > ERROR_BODY_MAX ||
        (body = malloc(content_length + 1)) == NULL)
        return;
    if (read_bytes(d, body, content_length, 0, &got, deadline) == QKS_OK)
        e14_parse_error(body, got, msg, msglen);
    free(body);
}

static int http_status_error(E14_DRV *d, int op, int status, const char *msg)
{
    int code;

    switch (status) {
    case 401:
    case 403:
        code = QKS_ERR_AUTH;
        break;
    case 503:
        code = QKS_ERR_NO_KEY;
        break;
    case 400:
    case 404:
        /* dec_keys: the key_ID is unknown, already delivered, or not for this SAE */
        code = op == E14_OP_DEC ? QKS_ERR_KEY_UNKNOWN : QKS_ERR_KME;
        break;
    default:
        code = QKS_ERR_KME;
    }
    return qks_set_error(code, "KME %s answered %d: %s", d->kme_url, status,
                         msg[0] ? msg : "(no message)");
}

enum { E14_TRY_DONE = 0, E14_TRY_AGAIN = 1 };

static int exchange(E14_DRV *d, const char *path, const char *body, int op, char **resp,
                    size_t *resp_len, double deadline, int *again)
{
    E14_CONN *c = &d->conn;
    STACK_OF(CONF_VALUE) *hdrs = NULL;
    BIO *req = NULL;
    char *buf = NULL, msg[400];
    size_t len, got;
    int rc, r, reused, status = 0, timed_out = 0;
    unsigned long e;
    const char *data;
    int flags;

    *again = E14_TRY_DONE;
    if ((rc = conn_get(d, deadline)) != QKS_OK)
        return rc;
    reused = c->requests > 0;
    c->requests++;
    d->requests++;
    if (!X509V3_add_value("Accept", "application/json", &hdrs) ||
        (body != NULL && (req = BIO_new_mem_buf(body, -1)) == NULL)) {
        rc = qks_set_error(QKS_ERR_NOMEM, "out of memory for a KME request");
        goto done;
    }
    ERR_clear_error();
    if (!OSSL_HTTP_set1_request(c->rctx, path, hdrs, body ? "application/json" : NULL, req, NULL, 0,
                                E14_MAX_RESPONSE, 0, 1)) {
        rc = tls_error(d, QKS_ERR_INTERNAL, "cannot build the request");
        goto done;
    }
    while ((r = OSSL_HTTP_REQ_CTX_nbio(c->rctx)) == -1) {
        if (!wait_fd(c->fd, BIO_should_write(c->bio), deadline)) {
            timed_out = 1;
            break;
        }
    }
    if (timed_out) {
        rc = qks_set_error(QKS_ERR_TIMEOUT, "KME %s: no answer within qkd.timeout_ms = %ld",
                           d->kme_url, d->timeout_ms);
        goto drop;
    }
    if (r == 0) {
        char reason[160] = "";

        while ((e = ERR_get_error_all(NULL, NULL, NULL, &data, &flags)) != 0) {
            if (ERR_GET_LIB(e) == ERR_LIB_HTTP && ERR_GET_REASON(e) == HTTP_R_RECEIVED_ERROR &&
                data != NULL && (flags & ERR_TXT_STRING))
                (void)sscanf(data, "code=%d", &status); /* absent: status stays 0 */
            if (reason[0] == '\0')
                ERR_error_string_n(e, reason, sizeof(reason));
        }
        if (status >= 400) {
            read_error_body(d, msg, sizeof(msg), deadline);
            rc = http_status_error(d, op, status, msg);
            goto drop;
        }
        /* the connection broke: a reused keep-alive connection may have been closed by the KME
         * just now; the caller retries where that is safe */
        if (reused)
            *again = E14_TRY_AGAIN;
        rc = qks_set_error(QKS_ERR_KME, "KME %s closed the connection without an answer%s%s",
                           d->kme_url, reason[0] ? ": " : "", reason);
        goto drop;
    }
    /* 200: the body follows on the connection (Content-Length, or up to EOF) */
    len = OSSL_HTTP_REQ_CTX_get_resp_len(c->rctx);
    if (len > E14_MAX_RESPONSE) {
        rc = qks_set_error(QKS_ERR_KME, "KME %s: answer too long", d->kme_url);
        goto drop;
    }
    if ((buf = malloc((len ? len : E14_MAX_RESPONSE) + 1)) == NULL) {
        rc = qks_set_error(QKS_ERR_NOMEM, "out of memory for a KME answer");
        goto drop;
    }
    rc = read_bytes(d, buf, len ? len : E14_MAX_RESPONSE, len == 0, &got, deadline);
    if (rc == QKS_ERR_TIMEOUT) {
        rc = qks_set_error(QKS_ERR_TIMEOUT,
                           "KME %s: answer incomplete within qkd.timeout_ms = "
                           "%ld",
                           d->kme_url, d->timeout_ms);
        goto drop;
    }
    if (rc != QKS_OK) {
        rc = qks_set_error(QKS_ERR_KME, "KME %s closed the connection in the middle of an answer",
                           d->kme_url);
        goto drop;
    }
    buf[got] = '\0';
    *resp = buf;
    *resp_len = got;
    buf = NULL;
    if (len == 0 || !OSSL_HTTP_is_alive(c->rctx))
        e14_conn_drop(d, 0);
    rc = QKS_OK;
    goto done;
drop:
    e14_conn_drop(d, 0);
done:
    if (buf != NULL) {
        qks_wipe(buf, (len ? len : E14_MAX_RESPONSE) + 1);
        free(buf);
    }
    BIO_free(req);
    sk_CONF_VALUE_pop_free(hdrs, X509V3_conf_free);
    ERR_clear_error();
    return rc;
}

int e14_request(E14_DRV *d, const char *path, const char *body, int op, char **resp,
                size_t *resp_len, int *sent)
{
    double deadline = e14_now() + (double)d->timeout_ms / 1000.0;
    int rc, again;

    *resp = NULL;
    *resp_len = 0;
    *sent = 0;
    rc = exchange(d, path, body, op, resp, resp_len, deadline, &again);
    /* Retry once, on a fresh connection, only where a repeat cannot cost a key: status and
     * dec_keys (a key is delivered once, so a dec_keys the KME did serve fails cleanly).
     * enc_keys is never repeated silently: the KME may have issued keys for it already. */
    if (rc != QKS_OK && again == E14_TRY_AGAIN && op != E14_OP_ENC && ms_left(deadline) > 0)
        rc = exchange(d, path, body, op, resp, resp_len, deadline, &again);
    if (rc != QKS_OK)
        d->failures++;
    *sent = 1;
    return rc;
}
