/*
 * One thread per client connection: read a request (docs/agent.md), check the grant of the
 * client's uid and groups (SO_PEERCRED, read once at accept), serve it from the one key source
 * every client shares, answer, and wipe the key the moment it is written. A refusal names the
 * user, the peer and the configuration key that would grant it.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "qkey/secmem.h"
#include "agent_wire.h"
#include "qkeyd.h"

#define KEY_REPLY_MAX (1 + QKS_KEY_ID_MAX + 2 + QKS_KEY_MAX)
#define IDLE_MS       500 /* poll granularity: a stopping agent ends idle clients within this */

typedef struct {
    QKD_AGENT *a;
    int fd;
    size_t slot;
    QKD_CLIENT who;
} SESSION;

static int send_all(int fd, const unsigned char *p, size_t n);

/* Header and body in one sendmsg (one system call for the usual reply), the rest in a loop. */
static int send_two(int fd, const unsigned char *a, size_t na, const unsigned char *b, size_t nb)
{
    struct iovec iov[2] = {{(void *)a, na}, {(void *)b, nb}};
    struct msghdr m = {.msg_iov = iov, .msg_iovlen = nb > 0 ? 2 : 1};
    ssize_t w;

    do
        w = sendmsg(fd, &m, MSG_NOSIGNAL);
    while (w < 0 && errno == EINTR);
    if (w < 0)
        return -1;
    if ((size_t)w < na)
        return send_all(fd, a + w, na - (size_t)w) == 0 ? send_all(fd, b, nb) : -1;
    w -= (ssize_t)na;
    return (size_t)w < nb ? send_all(fd, b + w, nb - (size_t)w) : 0;
}

static int send_all(int fd, const unsigned char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Read exactly n bytes; -1 on EOF, error or a stopping agent. Reads first, waits only when
 * nothing is there (a request's body usually arrives with its header). */
static int recv_all(SESSION *s, unsigned char *p, size_t n)
{
    while (n > 0) {
        ssize_t got = recv(s->fd, p, n, MSG_DONTWAIT);
        if (got < 0 && (errno == EAGAIN || errno == EINTR)) {
            struct pollfd pf = {.fd = s->fd, .events = POLLIN};
            (void)poll(&pf, 1, IDLE_MS); /* a timeout or EINTR just loops */
            if (atomic_load(&s->a->stop))
                return -1;
            continue;
        }
        if (got <= 0)
            return -1;
        p += got;
        n -= (size_t)got;
    }
    return 0;
}

static int reply(SESSION *s, const QAG_HDR *req, int status, const unsigned char *body, size_t len)
{
    unsigned char hdr[QAG_HDR_LEN];
    QAG_HDR h = {QAG_VERSION, (uint8_t)(req->op | QAG_REPLY), qag_status_from_err(status),
                 req->request_id, (uint32_t)len};

    qag_hdr_encode(hdr, &h);
    return send_two(s->fd, hdr, sizeof(hdr), body, len);
}

static int reply_error(SESSION *s, const QAG_HDR *req, int rc, const char *detail)
{
    size_t n = strlen(detail);

    if (n > QAG_DETAIL_MAX)
        n = QAG_DETAIL_MAX;

    return reply(s, req, rc < 0 ? rc : QKS_ERR_INTERNAL, (const unsigned char *)detail, n);
}

/* A refusal: "user NAME (uid N) refused WHAT: WHY". */
static int refuse(SESSION *s, const QAG_HDR *req, int code, const char *what, const char *why)
{
    char detail[QAG_DETAIL_MAX];

    qkd_count(s->a, &s->who, QKD_CNT_REFUSED, 1);
    snprintf(detail, sizeof(detail), "user %s (uid %u) refused %s: %s", s->who.user,
             (unsigned)s->who.uid, what, why);
    return reply_error(s, req, code, detail);
}

/* A key to the client: encoded in locked memory, sent, wiped; the key object freed. */
static int send_key(SESSION *s, const QAG_HDR *req, QKS_KEY *key, const char *op)
{
    unsigned char *buf = qks_secure_alloc(KEY_REPLY_MAX);
    size_t n;
    int r = -1;

    if (buf == NULL) {
        qks_key_free(key);
        return reply_error(s, req, QKS_ERR_NOMEM, "no locked memory for the key");
    }
    n = qag_body_key(buf, KEY_REPLY_MAX, key->key_id, key->key, key->len);
    if (n == 0) {
        r = reply_error(s, req, QKS_ERR_INTERNAL, "the key source returned a bad key");
    } else {
        /* journal first: a key the agent let go is on record even if the client vanishes */
        qkd_journal(s->a, &s->who, op, key->peer, key->key_id);
        r = reply(s, req, QKS_OK, buf, n);
    }
    qks_secure_free(buf, KEY_REPLY_MAX);
    qks_key_free(key);
    return r;
}

static int serve_key(SESSION *s, const QAG_HDR *h, const QAG_REQUEST *rq)
{
    QKS_KEY *key = NULL;
    size_t want = rq->key_bytes ? rq->key_bytes : qks_ctx_key_bytes(s->a->ks);
    int rc;

    if (!qkd_may_key(&s->a->grants, &s->who, rq->peer)) {
        char what[96];
        snprintf(what, sizeof(what), "keys shared with peer %s", rq->peer);
        return refuse(s, h, QKS_ERR_PEER_DENIED, what,
                      "not granted (agent.grant.<peer> in the agent's configuration)");
    }
    if (want != qks_ctx_key_bytes(s->a->ks)) {
        char d[160];
        snprintf(d, sizeof(d), "qkeyd serves %zu-byte keys (qkd.key_bits = %zu), %zu asked for",
                 qks_ctx_key_bytes(s->a->ks), qks_ctx_key_bytes(s->a->ks) * 8, want);
        return reply_error(s, h, QKS_ERR_CONFIG, d);
    }
    if (rq->op == QAG_OP_NEW_KEY)
        rc = qks_key_new_ex(s->a->ks, rq->peer, rq->purpose, &key);
    else
        rc = qks_key_get(s->a->ks, rq->peer, rq->key_id, &key);
    if (rc != QKS_OK) {
        qkd_count(s->a, &s->who, QKD_CNT_ERROR, 1);
        return reply_error(s, h, rc, qks_last_error());
    }
    qkd_count(s->a, &s->who, rq->op == QAG_OP_NEW_KEY ? QKD_CNT_NEW : QKD_CNT_GET, 1);
    return send_key(s, h, key, rq->op == QAG_OP_NEW_KEY ? "new" : "get");
}

static int serve_random(SESSION *s, const QAG_HDR *h, const QAG_REQUEST *rq)
{
    unsigned char *buf;
    int rc, r;

    if (!qkd_may_random(&s->a->grants, &s->who))
        return refuse(s, h, QKS_ERR_AUTH, "random bytes",
                      "not granted (agent.random in the agent's configuration)");
    if ((buf = qks_secure_alloc(rq->n)) == NULL)
        return reply_error(s, h, QKS_ERR_NOMEM, "no locked memory for random bytes");
    if ((rc = qks_random(s->a->ks, buf, rq->n)) != QKS_OK) {
        qkd_count(s->a, &s->who, QKD_CNT_ERROR, 1);
        r = reply_error(s, h, rc, qks_last_error());
    } else {
        qkd_count(s->a, &s->who, QKD_CNT_RANDOM, rq->n);
        r = reply(s, h, QKS_OK, buf, rq->n);
    }
    qks_secure_free(buf, rq->n);
    return r;
}

/* What the next RANDOM would meet (qks_rng_state): a client checks it before trusting its own
 * DRBG (the token does, on every C_GenerateRandom), so a failing pipeline fails it at once. */
static int serve_rng_state(SESSION *s, const QAG_HDR *h)
{
    int rc;

    if (!qkd_may_random(&s->a->grants, &s->who))
        return refuse(s, h, QKS_ERR_AUTH, "the RNG's state",
                      "not granted (agent.random in the agent's configuration)");
    if ((rc = qks_rng_state(s->a->ks)) != QKS_OK)
        return reply_error(s, h, rc, qks_last_error());
    return reply(s, h, QKS_OK, NULL, 0);
}

static int serve_status(SESSION *s, const QAG_HDR *h)
{
    char *json;
    int r;

    if (!qkd_may_status(&s->a->grants, &s->who))
        return refuse(s, h, QKS_ERR_AUTH, "its status",
                      "only root and users with a grant may read it");
    if ((json = qkd_status_json(s->a)) == NULL)
        return reply_error(s, h, QKS_ERR_NOMEM, "cannot build the status");
    r = reply(s, h, QKS_OK, (const unsigned char *)json, strlen(json));
    free(json);
    return r;
}

/* One request; -1 ends the connection (transport or framing failure). */
static int serve_one(SESSION *s, unsigned char *body)
{
    unsigned char hdr[QAG_HDR_LEN];
    QAG_HDR h;
    QAG_REQUEST rq;

    if (recv_all(s, hdr, sizeof(hdr)) != 0)
        return -1;
    if (qag_hdr_decode(hdr, 0, &h) != QKS_OK) {
        /* answer what we can (the client learns why), then drop: the framing is lost */
        if (h.op == 0 || h.op > QAG_OP_LAST)
            h.op = QAG_OP_STATUS;
        h.op &= (uint8_t)~QAG_REPLY;
        (void)reply_error(s, &h, QKS_ERR_INVALID, qks_last_error());
        return -1;
    }
    if (recv_all(s, body, h.body_len) != 0)
        return -1;
    if (qag_parse_request(h.op, body, h.body_len, &rq) != QKS_OK)
        return reply_error(s, &h, QKS_ERR_INVALID, qks_last_error());
    switch (rq.op) {
    case QAG_OP_NEW_KEY:
    case QAG_OP_GET_KEY:
        return serve_key(s, &h, &rq);
    case QAG_OP_RANDOM:
        return serve_random(s, &h, &rq);
    case QAG_OP_RNG_STATE:
        return serve_rng_state(s, &h);
    default:
        return serve_status(s, &h);
    }
}

static void *session_main(void *arg)
{
    SESSION *s = arg;
    unsigned char *body = malloc(QAG_BODY_MAX);

    while (body != NULL && !atomic_load(&s->a->stop) && serve_one(s, body) == 0)
        ;
    free(body);
    pthread_mutex_lock(&s->a->lock);
    s->a->client_fds[s->slot] = -1;
    s->a->nclients--;
    pthread_mutex_unlock(&s->a->lock);
    close(s->fd);
    free(s);
    return NULL;
}

int qkd_serve_start(QKD_AGENT *a, int fd)
{
    SESSION *s = calloc(1, sizeof(*s));
    pthread_attr_t attr;
    pthread_t t;
    size_t slot = QKD_MAX_CLIENTS, mine = 0;

    if (s == NULL || qkd_client_from_fd(fd, &s->who) != 0) {
        free(s);
        close(fd);
        return -1;
    }
    s->a = a;
    s->fd = fd;
    pthread_mutex_lock(&a->lock);
    for (size_t i = 0; i < QKD_MAX_CLIENTS; i++) {
        if (a->client_fds[i] < 0 && slot == QKD_MAX_CLIENTS)
            slot = i;
        else if (a->client_fds[i] >= 0 && a->client_uids[i] == s->who.uid)
            mine++;
    }
    if (mine >= QKD_MAX_PER_UID)
        slot = QKD_MAX_CLIENTS;
    if (slot < QKD_MAX_CLIENTS) {
        a->client_fds[slot] = fd;
        a->client_uids[slot] = s->who.uid;
        a->nclients++;
        a->connections++;
    } else {
        a->refused_connections++;
    }
    pthread_mutex_unlock(&a->lock);
    if (slot == QKD_MAX_CLIENTS) {
        free(s);
        close(fd); /* the client sees the connection closed and reports it */
        return -1;
    }
    s->slot = slot;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &attr, session_main, s) != 0) {
        pthread_mutex_lock(&a->lock);
        a->client_fds[slot] = -1;
        a->nclients--;
        pthread_mutex_unlock(&a->lock);
        free(s);
        close(fd);
        pthread_attr_destroy(&attr);
        return -1;
    }
    pthread_attr_destroy(&attr);
    return 0;
}

size_t qkd_serve_stop_all(QKD_AGENT *a, long wait_ms)
{
    size_t left = 1;

    pthread_mutex_lock(&a->lock);
    for (size_t i = 0; i < QKD_MAX_CLIENTS; i++)
        if (a->client_fds[i] >= 0)
            shutdown(a->client_fds[i], SHUT_RDWR);
    pthread_mutex_unlock(&a->lock);
    /* a request in flight finishes (bounded by qkd.timeout_ms in the key source) */
    for (long i = 0; i <= wait_ms / 20 && left > 0; i++) {
        pthread_mutex_lock(&a->lock);
        left = a->nclients;
        pthread_mutex_unlock(&a->lock);
        if (left > 0)
            usleep(20000);
    }
    return left;
}
