/*
 * The client's connection to qkeyd over its UNIX socket (docs/agent.md): lazy connect, one
 * request at a time, bounded by a deadline, MSG_NOSIGNAL on every send.
 *
 * Retry rule: a request is sent again (once, on a new connection) only when it provably never
 * reached the agent: the kept connection was found closed before sending, or the send itself
 * failed. Once the request is out, a lost reply fails the call (QKS_ERR_UNREACHABLE): a NEW_KEY
 * or GET_KEY the agent may have served is never repeated, so no key can be delivered twice.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "qkey/secmem.h"
#include "agent.h"

#define QAG_SMALL_BODY 256 /* requests up to this size go out in one send (all of ours do) */

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int qag_conn_init(QAG_CONN *c, const QKS_CONFIG *cfg, long timeout_ms)
{
    const char *path = qks_config_get(cfg, "agent.socket");

    memset(c, 0, sizeof(*c));
    c->fd = -1;
    if (path == NULL)
        path = QAG_DEFAULT_SOCKET;
    if (path[0] != '/' || strlen(path) >= sizeof(c->path))
        return qks_set_error(QKS_ERR_CONFIG,
                             "agent.socket = '%.64s': an absolute path shorter than %zu bytes "
                             "expected",
                             path, sizeof(c->path));
    strcpy(c->path, path);
    c->timeout_ms = timeout_ms;
    pthread_mutex_init(&c->lock, NULL);
    return QKS_OK;
}

static void drop(QAG_CONN *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}

void qag_conn_close(QAG_CONN *c)
{
    drop(c);
    pthread_mutex_destroy(&c->lock);
}

void qag_conn_after_fork(QAG_CONN *c)
{
    /* a parent thread may have held the lock at fork: the child starts with a fresh one, and
     * closes only its own copy of the descriptor (the parent's connection stays intact) */
    pthread_mutex_init(&c->lock, NULL);
    drop(c);
}

static int conn_open(QAG_CONN *c)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd, e;

    memcpy(sa.sun_path, c->path, strlen(c->path) + 1);
    if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
        return qks_set_error(QKS_ERR_IO, "qkeyd %s: socket: %s", c->path, strerror(errno));
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        e = errno;
        close(fd);
        if (e == EACCES || e == EPERM)
            return qks_set_error(QKS_ERR_AUTH, "qkeyd %s: permission denied on the socket",
                                 c->path);
        return qks_set_error(QKS_ERR_UNREACHABLE, "qkeyd %s unreachable: %s (is qkeyd running?)",
                             c->path, strerror(e));
    }
    /* The socket's path is only a name: whoever answers on it must be root (qkeyd as packaged)
     * or this process's own user. Another user's process listening there, because it made the
     * path first, would otherwise hand out keys and "quantum" bytes of its choosing. */
    struct ucred cr;
    socklen_t crlen = sizeof(cr);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &crlen) != 0) {
        e = errno;
        close(fd);
        return qks_set_error(QKS_ERR_AUTH, "qkeyd %s: cannot tell who serves it: %s", c->path,
                             strerror(e));
    }
    if (cr.uid != 0 && cr.uid != geteuid()) {
        close(fd);
        return qks_set_error(QKS_ERR_AUTH,
                             "qkeyd %s is served by uid %u, neither root nor this user: refused "
                             "(another user may have made that socket)",
                             c->path, (unsigned)cr.uid);
    }
    c->fd = fd;
    return QKS_OK;
}

/* A kept connection the agent has closed (restart) reads EOF or an error without blocking. */
static int conn_stale(QAG_CONN *c)
{
    struct pollfd p = {.fd = c->fd, .events = POLLIN};
    unsigned char b;

    if (poll(&p, 1, 0) <= 0)
        return 0;
    /* readable between requests: EOF, an error, or bytes nobody asked for: all end it */
    (void)recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    return 1;
}

static int wait_fd(QAG_CONN *c, short ev, uint64_t deadline)
{
    for (;;) {
        uint64_t now = now_ms();
        struct pollfd p = {.fd = c->fd, .events = ev};
        int r;

        if (now >= deadline)
            return qks_set_error(QKS_ERR_TIMEOUT, "qkeyd %s: no answer within %ld ms", c->path,
                                 c->timeout_ms);
        r = poll(&p, 1, (int)(deadline - now));
        if (r > 0)
            return QKS_OK;
        if (r < 0 && errno != EINTR)
            return qks_set_error(QKS_ERR_IO, "qkeyd %s: poll: %s", c->path, strerror(errno));
    }
}

/* Send all; *sent_any tells whether a byte reached the socket. */
static int send_all(QAG_CONN *c, const unsigned char *p, size_t n, uint64_t deadline, int *sent_any)
{
    while (n > 0) {
        ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w > 0) {
            *sent_any = 1;
            p += w;
            n -= (size_t)w;
            continue;
        }
        if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
            int rc = wait_fd(c, POLLOUT, deadline);
            if (rc != QKS_OK)
                return rc;
            continue;
        }
        return qks_set_error(QKS_ERR_UNREACHABLE, "qkeyd %s: send: %s", c->path,
                             w < 0 ? strerror(errno) : "no progress");
    }
    return QKS_OK;
}

static int recv_all(QAG_CONN *c, unsigned char *p, size_t n, uint64_t deadline)
{
    while (n > 0) {
        ssize_t r = recv(c->fd, p, n, MSG_DONTWAIT);
        if (r > 0) {
            p += r;
            n -= (size_t)r;
            continue;
        }
        if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
            int rc = wait_fd(c, POLLIN, deadline);
            if (rc != QKS_OK)
                return rc;
            continue;
        }
        return qks_set_error(QKS_ERR_UNREACHABLE,
                             "qkeyd %s closed the connection during the request (%s): the "
                             "request failed and was not repeated",
                             c->path, r < 0 ? strerror(errno) : "agent stopped or restarted");
    }
    return QKS_OK;
}

/* Read and discard n bytes (an error reply's detail beyond what we keep). */
static int recv_skip(QAG_CONN *c, size_t n, uint64_t deadline)
{
    unsigned char sink[256];

    while (n > 0) {
        size_t k = n < sizeof(sink) ? n : sizeof(sink);
        int rc = recv_all(c, sink, k, deadline);
        if (rc != QKS_OK)
            return rc;
        n -= k;
    }
    return QKS_OK;
}

static int call_locked(QAG_CONN *c, uint8_t op, const unsigned char *body, size_t body_len,
                       unsigned char *reply, size_t cap, size_t *reply_len)
{
    uint64_t deadline = now_ms() + (uint64_t)c->timeout_ms;
    unsigned char hdr[QAG_HDR_LEN], msg[QAG_HDR_LEN + QAG_SMALL_BODY];
    QAG_HDR h = {QAG_VERSION, op, 0, 0, (uint32_t)body_len};
    int rc, sent_any = 0;

    *reply_len = 0;
    for (int attempt = 0;; attempt++) {
        int fresh = 0;
        if (c->fd >= 0 && conn_stale(c)) {
            drop(c);
            c->reconnects++;
        }
        if (c->fd < 0) {
            if ((rc = conn_open(c)) != QKS_OK)
                return rc;
            fresh = 1;
        }
        h.request_id = ++c->next_id;
        sent_any = 0;
        if (body_len <= QAG_SMALL_BODY) { /* the usual request: one send */
            qag_hdr_encode(msg, &h);
            if (body_len > 0)
                memcpy(msg + QAG_HDR_LEN, body, body_len);
            rc = send_all(c, msg, QAG_HDR_LEN + body_len, deadline, &sent_any);
        } else {
            qag_hdr_encode(hdr, &h);
            rc = send_all(c, hdr, sizeof(hdr), deadline, &sent_any);
            if (rc == QKS_OK)
                rc = send_all(c, body, body_len, deadline, &sent_any);
        }
        if (rc == QKS_OK)
            break;
        drop(c);
        /* the agent never read a request whose send failed: one new connection may retry */
        if (rc != QKS_ERR_UNREACHABLE || fresh || attempt > 0)
            return rc;
        c->reconnects++;
    }
    if ((rc = recv_all(c, hdr, sizeof(hdr), deadline)) != QKS_OK)
        goto broken;
    if ((rc = qag_hdr_decode(hdr, 1, &h)) != QKS_OK)
        goto broken;
    if ((h.op & ~QAG_REPLY) != op || h.request_id != c->next_id) {
        rc = qks_set_error(QKS_ERR_INVALID, "qkeyd %s: reply to request %u/op %u, expected %u/%u",
                           c->path, h.request_id, h.op & ~QAG_REPLY, c->next_id, op);
        goto broken;
    }
    if (h.status != 0) {
        char detail[QAG_DETAIL_MAX + 1];
        unsigned char raw[QAG_DETAIL_MAX];
        size_t keep = h.body_len < sizeof(raw) ? h.body_len : sizeof(raw);
        if ((rc = recv_all(c, raw, keep, deadline)) != QKS_OK ||
            (rc = recv_skip(c, h.body_len - keep, deadline)) != QKS_OK)
            goto broken;
        qag_detail_copy(detail, sizeof(detail), raw, keep);
        return qks_set_error(qag_err_from_status(h.status), "qkeyd: %s", detail);
    }
    if (h.body_len > cap) {
        rc = qks_set_error(QKS_ERR_INVALID, "qkeyd %s: reply of %u bytes, at most %zu expected",
                           c->path, h.body_len, cap);
        goto broken;
    }
    if ((rc = recv_all(c, reply, h.body_len, deadline)) != QKS_OK) {
        qks_wipe(reply, h.body_len);
        goto broken;
    }
    *reply_len = h.body_len;
    return QKS_OK;
broken:
    drop(c);
    return rc;
}

int qag_conn_call(QAG_CONN *c, uint8_t op, const unsigned char *body, size_t body_len,
                  unsigned char *reply, size_t cap, size_t *reply_len)
{
    int rc;

    pthread_mutex_lock(&c->lock);
    c->requests++;
    rc = call_locked(c, op, body, body_len, reply, cap, reply_len);
    if (rc != QKS_OK)
        c->failures++;
    pthread_mutex_unlock(&c->lock);
    return rc;
}
