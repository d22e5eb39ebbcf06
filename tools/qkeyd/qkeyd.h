/*
 * qkeyd, the host's key agent (docs/agent.md): it alone holds the KME credentials and the RNG
 * device, keeps one key pool per peer for every local process, serves them over a UNIX socket
 * to the users and groups its configuration grants, and can feed the kernel's entropy pool.
 * The parts: main.c (start-up, socket, signals), grants.c (who may do what), server.c (one
 * thread per client), stats.c (per-user counters, status JSON, journal), metrics.c (Prometheus
 * text), feed.c (RNDADDENTROPY).
 */
#ifndef QKEYD_H
#define QKEYD_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>

#include "qkey/qks.h"

/* ---- grants (grants.c) ----------------------------------------------------------------- */
typedef enum { QKD_WHO_ANY = 1, QKD_WHO_UID, QKD_WHO_GID } QKD_WHO_KIND;

typedef struct {
    QKD_WHO_KIND kind;
    unsigned id; /* uid or gid */
} QKD_WHO;

typedef struct {
    QKD_WHO *who;
    size_t n;
} QKD_ACL;

typedef struct {
    char sae_id[QKS_SAE_ID_MAX + 1];
    QKD_ACL acl; /* agent.grant.<sae_id> */
} QKD_PEER_GRANT;

typedef struct {
    QKD_PEER_GRANT *peers;
    size_t npeers;
    QKD_ACL random; /* agent.random */
} QKD_GRANTS;

/* A connected client: from SO_PEERCRED, with its supplementary groups. */
typedef struct {
    pid_t pid;
    uid_t uid;
    gid_t gid;
    gid_t groups[64];
    int ngroups;
    char user[64]; /* name, or the uid in decimal */
} QKD_CLIENT;

/* Parse agent.grant.* and agent.random; every peer granted must be in qkd.peers, every user and
 * group must exist. QKS_ERR_CONFIG with the reason in *why. */
int qkd_grants_load(const QKS_CONFIG *cfg, QKD_GRANTS *g, char *why, size_t why_len);
void qkd_grants_free(QKD_GRANTS *g);
int qkd_client_from_fd(int fd, QKD_CLIENT *c);
/* 1 if the client may have keys shared with peer / random bytes / the status. */
int qkd_may_key(const QKD_GRANTS *g, const QKD_CLIENT *c, const char *peer);
int qkd_may_random(const QKD_GRANTS *g, const QKD_CLIENT *c);
int qkd_may_status(const QKD_GRANTS *g, const QKD_CLIENT *c);
/* "alice, @www-data" for the summary (static buffer per call site is the caller's) */
void qkd_acl_describe(const QKD_ACL *a, char *out, size_t cap);

/* ---- the daemon's state ------------------------------------------------------------------ */
typedef struct {
    uid_t uid;
    char user[64];
    uint64_t keys_new, keys_get, random_bytes, refusals, errors;
} QKD_USER_STATS;

#define QKD_MAX_USERS   256
#define QKD_MAX_CLIENTS 1024 /* connections (one thread each) */
#define QKD_MAX_PER_UID 256  /* of those, one user's: no user can take every slot */

typedef struct {
    atomic_int running; /* 1 while the feed thread runs */
    char state[256];    /* "off", "running", "stopped: <why>" (under the agent's lock) */
    uint64_t bytes, entropy_bits, calls;
    long bytes_per_feed, interval_ms;
    int credit_per_byte_num, credit_per_byte_den; /* credited bits = bytes * 8 * num / den */
    pthread_t thread;
    int started; /* thread created (joined at exit) */
} QKD_FEED;

typedef struct {
    QKS_CTX *ks;
    QKS_CONFIG *cfg;
    QKD_GRANTS grants;
    const char *socket_path;
    int listen_fd;
    int own_socket; /* 1: we bound it (unlink at exit); 0: systemd's */
    int journal_fd; /* agent.journal, -1 if unset */
    const char *metrics_file;
    long metrics_port; /* agent.metrics_port, 0 = off */
    int metrics_fd;    /* its listening socket on 127.0.0.1, -1 when off */
    atomic_int stop;
    pthread_mutex_t lock; /* users, clients, feed figures */
    QKD_USER_STATS users[QKD_MAX_USERS];
    size_t nusers;
    int client_fds[QKD_MAX_CLIENTS]; /* -1 = free slot */
    uid_t client_uids[QKD_MAX_CLIENTS];
    size_t nclients;
    uint64_t connections, refused_connections, journal_failures;
    time_t started;
    QKD_FEED feed;
} QKD_AGENT;

/* server.c: serve one accepted connection on its own thread (takes the fd). */
int qkd_serve_start(QKD_AGENT *a, int fd);
/* Close every client connection and wait up to wait_ms until their threads are gone; the number
 * still running (a request the key source has not finished). */
size_t qkd_serve_stop_all(QKD_AGENT *a, long wait_ms);

/* stats.c */
typedef enum { QKD_CNT_NEW, QKD_CNT_GET, QKD_CNT_RANDOM, QKD_CNT_REFUSED, QKD_CNT_ERROR } QKD_CNT;
void qkd_count(QKD_AGENT *a, const QKD_CLIENT *c, QKD_CNT what, uint64_t n);
/* One line per key handed out: "unix-time uid op peer key_id" (no secret). */
void qkd_journal(QKD_AGENT *a, const QKD_CLIENT *c, const char *op, const char *peer,
                 const char *key_id);
/* The whole status: {"agent": {...}, "keysource": {...}}; the caller frees. */
char *qkd_status_json(QKD_AGENT *a);

/* metrics.c: Prometheus text exposition of a status object (from qkd_status_json or a STATUS
 * reply) into a malloc'd string. */
char *qkd_metrics_render(const json_t *status);
/* Write agent.metrics_file atomically (temp file + rename). */
void qkd_metrics_write(QKD_AGENT *a);
/* agent.metrics_port: listen on 127.0.0.1 (0 and a reason on failure); answer one connection. */
int qkd_metrics_listen(QKD_AGENT *a, char *why, size_t why_len);
void qkd_metrics_answer(QKD_AGENT *a, int fd);

/* feed.c */
int qkd_feed_config(QKD_AGENT *a, char *why, size_t why_len);
int qkd_feed_start(QKD_AGENT *a);
void qkd_feed_stop(QKD_AGENT *a);
json_t *qkd_feed_json(QKD_AGENT *a);

#endif /* QKEYD_H */
