/*
 * The etsi014 driver's connection to its KME: one keep-alive HTTPS connection per process,
 * opened on first use, TLS from OpenSSL over an SSL_CTX in a private OSSL_LIB_CTX, HTTP/1.1
 * framing from wire.c (why not OpenSSL's HTTP client: see there). The process's openssl.cnf
 * (its Groups, its providers, qkey itself) never applies to this connection: the library
 * context loads only the default provider, and groups, protocol versions and cipher suites are
 * set explicitly after the SSL_CTX is created.
 *
 * Timing: every call is bounded by qkd.timeout_ms, with millisecond deadlines (non-blocking
 * socket + poll for the TCP connect, the TLS handshake and every read and write).
 *
 * Signals: the socket BIO sends with MSG_NOSIGNAL (sock.c), so a KME that closes early costs
 * an EPIPE, never a SIGPIPE in the host process.
 *
 * Errors name the KME and the cause: "KME https://127.0.0.1:8443 answered 503: no key for
 * SAE_B", with the ETSI message of a JSON error body or an excerpt of an HTML one; a TLS alert
 * rejecting our client certificate is reported as such ("rejected our client certificate").
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
#include <openssl/pem.h>
#include <openssl/provider.h>
#include <openssl/x509v3.h>

#include "qkey/secmem.h"
#include "etsi014.h"

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
        if ((d->default_prov = OSSL_PROVIDER_load(d->libctx, "default")) == NULL) {
            rc = tls_error(d, QKS_ERR_INTERNAL, "cannot load the default provider");
            OSSL_LIB_CTX_free(d->libctx); /* else the next try would use it without a provider */
            d->libctx = NULL;
            return rc;
        }
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
    X509_free(x); /* SSL_CTX_use_certificate took its own reference */
    while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL)
        if (!SSL_CTX_add0_chain_cert(ctx, x))
            goto done; /* x freed there */
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
    X509_free(x); /* a certificate read or made before a failure (leaked on every attempt) */
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

    if (c->ssl != NULL) {
        if (quiet || c->broken) {
            SSL_set_quiet_shutdown(c->ssl, 1); /* nothing more on a broken or inherited one */
        } else {
            ERR_set_mark();
            (void)SSL_shutdown(c->ssl); /* close_notify; a closed peer costs EPIPE, no signal */
            ERR_pop_to_mark();
        }
        SSL_free(c->ssl); /* and the socket BIO; the fd is closed here */
    }
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

/* TLS alerts by which a KME says it does not accept our client certificate (qkd.cert). */
static const int client_cert_alerts[] = {
    SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED,
    SSL_R_SSLV3_ALERT_BAD_CERTIFICATE,
    SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN,
    SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED,
    SSL_R_SSLV3_ALERT_CERTIFICATE_REVOKED,
    SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE,
    SSL_R_TLSV1_ALERT_UNKNOWN_CA,
    SSL_R_TLSV1_ALERT_ACCESS_DENIED,
};

/* Is an error on the queue the KME's TLS alert rejecting our certificate? Then report it as
 * such, with the alert's name, and return the QKS_ERR_AUTH; else 0 (queue untouched). */
static int client_cert_rejected(E14_DRV *d)
{
    unsigned long e;
    int i = 0;

    while ((e = ERR_peek_error_all(NULL, NULL, NULL, NULL, NULL)) != 0 && i == 0) {
        if (ERR_GET_LIB(e) == ERR_LIB_SSL)
            for (size_t k = 0; k < sizeof(client_cert_alerts) / sizeof(client_cert_alerts[0]); k++)
                if (ERR_GET_REASON(e) == client_cert_alerts[k])
                    i = 1;
        if (i == 0)
            (void)ERR_get_error();
    }
    if (i == 0)
        return 0;
    {
        const char *why = ERR_reason_error_string(e);

        ERR_clear_error();
        return qks_set_error(QKS_ERR_AUTH,
                             "KME %s rejected our client certificate (qkd.cert): TLS alert %s",
                             d->kme_url, why != NULL ? why : "(unknown)");
    }
}

static int tls_handshake(E14_DRV *d, double deadline)
{
    E14_CONN *c = &d->conn;
    BIO *sock;
    int r, e, rc;
    long verify;

    if ((c->ssl = SSL_new(d->ssl_ctx)) == NULL || (sock = e14_bio_socket(c->fd)) == NULL)
        return tls_error(d, QKS_ERR_NOMEM, "cannot start TLS");
    SSL_set_bio(c->ssl, sock, sock);
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
        c->broken = 1;
        verify = SSL_get_verify_result(c->ssl);
        if (verify != X509_V_OK) {
            ERR_clear_error();
            return qks_set_error(QKS_ERR_AUTH,
                                 "KME %s: certificate rejected: %s (checked against qkd.ca, "
                                 "name %s)",
                                 d->kme_url, X509_verify_cert_error_string(verify), d->server_name);
        }
        if ((rc = client_cert_rejected(d)) != 0) /* TLS 1.2: the alert ends the handshake */
            return rc;
        if (e == SSL_ERROR_SYSCALL || ERR_peek_error() == 0) {
            ERR_clear_error();
            return qks_set_error(QKS_ERR_UNREACHABLE,
                                 "KME %s closed the connection during the TLS handshake",
                                 d->kme_url);
        }
        return tls_error(d, QKS_ERR_AUTH, "TLS handshake failed");
    }
    return QKS_OK;
}

/* Is the idle keep-alive connection still usable? Nothing must be waiting on it but TLS
 * post-handshake messages (session tickets). */
static int conn_alive(E14_CONN *c)
{
    struct pollfd p = {.fd = c->fd, .events = POLLIN};
    char byte;
    int r;

    if (c->ssl == NULL || c->broken || !c->keep_alive)
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
    if (conn_alive(&d->conn))
        return QKS_OK;
    e14_conn_drop(d, 0);
    if ((rc = load_tls(d)) != QKS_OK)
        return rc;
    d->connects++;
    d->conn.pid = getpid();
    if ((rc = tcp_connect(d, deadline)) != QKS_OK || (rc = tls_handshake(d, deadline)) != QKS_OK)
        e14_conn_drop(d, 0);
    else
        d->conn.keep_alive = 1;
    return rc;
}

/* ---- one exchange ---------------------------------------------------------------------- */

enum { IO_OK = 1, IO_EOF = 0, IO_ERROR = -1, IO_TIMEOUT = -2 };

/* Drive one SSL_read_ex / SSL_write_ex to completion or failure before the deadline. */
static int ssl_io(E14_DRV *d, int write, void *buf, size_t len, size_t *done, double deadline)
{
    E14_CONN *c = &d->conn;

    for (;;) {
        int ok = write ? SSL_write_ex(c->ssl, buf, len, done) : SSL_read_ex(c->ssl, buf, len, done);
        int e = ok ? SSL_ERROR_NONE : SSL_get_error(c->ssl, 0);

        if (ok)
            return IO_OK;
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
            if (!wait_fd(c->fd, e == SSL_ERROR_WANT_WRITE, deadline))
                return IO_TIMEOUT;
            continue;
        }
        c->broken = e != SSL_ERROR_ZERO_RETURN;
        c->keep_alive = 0;
        /* a TCP close without close_notify (HTTP/1.0 KMEs do that) ends the answer too */
        if (e == SSL_ERROR_ZERO_RETURN ||
            (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0 && errno == 0) ||
            (e == SSL_ERROR_SSL &&
             ERR_GET_REASON(ERR_peek_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING))
            return IO_EOF;
        return IO_ERROR;
    }
}

/* The answer so far: a buffer that grows up to the bound, wiped whenever it moves. */
typedef struct answer_st {
    char *buf;
    size_t len, cap;
} ANSWER;

static int answer_grow(ANSWER *a)
{
    size_t cap = a->cap ? a->cap * 2 : 4096;
    char *nb;

    if (cap > E14_HTTP_HEAD_MAX + E14_MAX_RESPONSE + 1)
        cap = E14_HTTP_HEAD_MAX + E14_MAX_RESPONSE + 1;
    if (cap <= a->cap || (nb = malloc(cap)) == NULL)
        return 0;
    if (a->buf != NULL) {
        memcpy(nb, a->buf, a->len);
        qks_wipe(a->buf, a->cap);
        free(a->buf);
    }
    a->buf = nb;
    a->cap = cap;
    return 1;
}

static void answer_free(ANSWER *a)
{
    if (a->buf != NULL) {
        qks_wipe(a->buf, a->cap);
        free(a->buf);
    }
    memset(a, 0, sizeof(*a));
}

/* Is the answer in `a` complete? 1 yes (*body, *blen set), 0 not yet, -1 malformed. */
static int answer_done(ANSWER *a, E14_HTTP_HEAD *h, int *have_head, int eof, size_t *body,
                       size_t *blen)
{
    size_t consumed;
    int r;

    while (!*have_head) {
        if ((r = e14_http_parse_head(a->buf, a->len, h)) != 1)
            return r;
        if (h->status >= 200) {
            *have_head = 1;
            break;
        }
        memmove(a->buf, a->buf + h->head_len, a->len - h->head_len); /* 1xx: skip it */
        a->len -= h->head_len;
    }
    *body = h->head_len;
    if (h->content_length >= 0) {
        if (h->content_length > E14_MAX_RESPONSE)
            return -1;
        *blen = (size_t)h->content_length;
        return a->len - *body >= *blen ? 1 : 0;
    }
    if (h->chunked) {
        r = e14_http_dechunk(a->buf + *body, a->len - *body, blen, &consumed);
        if (r == 1)
            h->keep_alive = h->keep_alive && a->len - *body == consumed;
        return r;
    }
    *blen = a->len - *body; /* ends at close */
    return eof ? 1 : 0;
}

/* A printable, bounded excerpt of a non-JSON error body (an HTML page, say), tags left out. */
static void body_excerpt(const char *b, size_t n, char *msg, size_t msglen)
{
    size_t o = 0, i = 0;
    int in_tag = 0, space = 1;
    const char *t = memmem(b, n, "</title>", 8); /* the page's text, not its title */

    if (t != NULL)
        i = (size_t)(t - b) + 8;
    for (; i < n && o + 1 < msglen && o < 160; i++) {
        unsigned char ch = (unsigned char)b[i];

        if (ch == '<' || ch == '>') {
            in_tag = ch == '<';
            ch = ' ';
        } else if (in_tag) {
            continue;
        }
        if (ch < 0x20 || ch > 0x7e)
            ch = ' ';
        if (ch == ' ' && space)
            continue;
        space = ch == ' ';
        msg[o++] = (char)ch;
    }
    while (o > 0 && msg[o - 1] == ' ')
        o--;
    msg[o] = '\0';
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
        /* enc_keys: some KMEs say "not enough keys" with 400 (e14_says_exhausted);
         * dec_keys: the key_ID is unknown, already delivered, or not for this SAE */
        code = op == E14_OP_DEC                           ? QKS_ERR_KEY_UNKNOWN
               : status == 400 && e14_says_exhausted(msg) ? QKS_ERR_NO_KEY
                                                          : QKS_ERR_KME;
        break;
    default:
        code = QKS_ERR_KME;
    }
    return qks_set_error(code, "KME %s answered %d: %s", d->kme_url, status,
                         msg[0] ? msg : "(no message)");
}

/* The connection failed before any answer byte: name the cause. A KME rejecting our client
 * certificate in TLS 1.3 says so with an alert after our handshake has completed, so it may
 * meet our request: read what it sent before giving up, so the alert is seen every time. */
static int broken_before_answer(E14_DRV *d, int reused, int *again)
{
    char reason[160] = "", byte;
    unsigned long e;
    size_t got;
    int rc;

    if ((rc = client_cert_rejected(d)) != 0)
        return rc;
    if (d->conn.ssl != NULL) {
        ERR_clear_error();
        (void)SSL_read_ex(d->conn.ssl, &byte, 1, &got); /* whatever is queued: the alert */
        if ((rc = client_cert_rejected(d)) != 0)
            return rc;
    }
    if ((e = ERR_peek_error()) != 0)
        ERR_error_string_n(e, reason, sizeof(reason));
    else if (errno != 0)
        snprintf(reason, sizeof(reason), "%s", strerror(errno));
    ERR_clear_error();
    /* a reused keep-alive connection may have been closed by the KME just now: the caller
     * retries where that is safe */
    if (reused)
        *again = 1;
    return qks_set_error(QKS_ERR_KME, "KME %s closed the connection without an answer%s%s",
                         d->kme_url, reason[0] ? ": " : "", reason);
}

static int exchange(E14_DRV *d, const char *path, const char *body, int op, char **resp,
                    size_t *resp_len, double deadline, int *again)
{
    E14_CONN *c = &d->conn;
    E14_HTTP_HEAD h;
    ANSWER a = {0};
    char req[E14_URL_MAX + 1024], msg[400];
    size_t start = 0, blen = 0, got;
    int rc, n, io, reused, have_head = 0, eof = 0, done = 0;

    *again = 0;
    if ((rc = conn_get(d, deadline)) != QKS_OK)
        return rc;
    reused = c->requests > 0;
    c->requests++;
    d->requests++;
    if ((n = e14_http_request(req, sizeof(req), d->host, d->port, path, body)) < 0)
        return qks_set_error(QKS_ERR_INTERNAL, "KME request too long");
    ERR_clear_error();
    errno = 0;
    io = ssl_io(d, 1, req, (size_t)n, &got, deadline);
    while (io == IO_OK) {
        if (a.len > 0 && (done = answer_done(&a, &h, &have_head, eof, &start, &blen)) != 0)
            break;
        if (eof) {
            done = a.len == 0 ? 0 : -2; /* nothing at all, or an answer cut short */
            break;
        }
        if (a.len == a.cap && !answer_grow(&a)) {
            done = a.cap >= E14_HTTP_HEAD_MAX + E14_MAX_RESPONSE + 1 ? -1 : -3;
            break;
        }
        errno = 0;
        io = ssl_io(d, 0, a.buf + a.len, a.cap - a.len, &got, deadline);
        if (io == IO_OK) {
            a.len += got;
        } else if (io == IO_EOF) {
            eof = 1;
            io = IO_OK;
        }
    }
    if (io == IO_TIMEOUT) {
        rc = qks_set_error(QKS_ERR_TIMEOUT, "KME %s: no %s within qkd.timeout_ms = %ld", d->kme_url,
                           a.len ? "complete answer" : "answer", d->timeout_ms);
    } else if (done == -3) {
        rc = qks_set_error(QKS_ERR_NOMEM, "out of memory for a KME answer");
    } else if (done == -1) {
        rc = qks_set_error(QKS_ERR_KME, "KME %s: malformed or too long HTTP answer", d->kme_url);
    } else if ((done == 0 || io != IO_OK) && a.len == 0) {
        rc = broken_before_answer(d, reused, again);
    } else if (done == -2 || done == 0 || io != IO_OK) {
        rc = qks_set_error(QKS_ERR_KME, "KME %s closed the connection in the middle of an answer",
                           d->kme_url);
    } else if (h.status != 200) {
        e14_parse_error(a.buf + start, blen, msg, sizeof(msg));
        if (msg[0] == '\0')
            body_excerpt(a.buf + start, blen, msg, sizeof(msg));
        rc = h.status >= 400 ? http_status_error(d, op, h.status, msg)
                             : qks_set_error(QKS_ERR_KME, "KME %s answered %d, not 200: %s",
                                             d->kme_url, h.status, msg[0] ? msg : "(no message)");
    } else {
        memmove(a.buf, a.buf + start, blen); /* the body to the front, NUL-terminated */
        a.buf[blen] = '\0';
        *resp = a.buf;
        *resp_len = blen;
        a.buf = NULL;
        rc = QKS_OK;
    }
    if (rc != QKS_OK || !have_head || !h.keep_alive || eof)
        c->keep_alive = 0;
    if (!c->keep_alive)
        e14_conn_drop(d, 0);
    if (a.buf != NULL)
        answer_free(&a);
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
    if (rc != QKS_OK && again && op != E14_OP_ENC && ms_left(deadline) > 0)
        rc = exchange(d, path, body, op, resp, resp_len, deadline, &again);
    if (rc != QKS_OK)
        d->failures++;
    *sent = 1;
    return rc;
}
