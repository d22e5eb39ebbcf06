/*
 * hwdrv/agent private header: the client side of the qkeyd protocol. One connection object per
 * user (the QKD driver and the RNG source each own one): connected lazily on first use, one
 * request at a time, reconnected once when the agent went away between requests, dropped in a
 * forked child. Loaded into other people's processes: sends with MSG_NOSIGNAL (never SIGPIPE),
 * writes nothing to stderr, changes no process-wide setting.
 */
#ifndef QKEY_HWDRV_AGENT_H
#define QKEY_HWDRV_AGENT_H

#include <pthread.h>
#include <stdint.h>

#include "qhw.h"
#include "agent_wire.h"

#define QAG_DEFAULT_SOCKET "/run/qkey/qkeyd.sock"
#define QAG_PATH_MAX       108 /* sizeof(sun_path) */

typedef struct {
    char path[QAG_PATH_MAX];
    int fd; /* -1 when not connected */
    long timeout_ms;
    uint32_t next_id;
    pthread_mutex_t lock; /* one request at a time on fd; re-initialised in a forked child */
    uint64_t requests, reconnects, failures;
} QAG_CONN;

/* Read agent.socket (default QAG_DEFAULT_SOCKET). No I/O. */
int qag_conn_init(QAG_CONN *c, const QKS_CONFIG *cfg, long timeout_ms);
void qag_conn_close(QAG_CONN *c);
/* In a forked child: forget the parent's connection (the child opens its own). */
void qag_conn_after_fork(QAG_CONN *c);
/*
 * One round trip: send request `op` with `body`, read the reply body into reply[0..cap).
 * An error reply becomes its QKS_ERR_* with the agent's detail. A reply longer than cap is a
 * protocol error. The connection is closed on any transport or protocol failure.
 */
int qag_conn_call(QAG_CONN *c, uint8_t op, const unsigned char *body, size_t body_len,
                  unsigned char *reply, size_t cap, size_t *reply_len);

/* The RNG source rng.source = agent (agent_rng.c), used by hwdrv/rng/rng.c. */
typedef struct qag_rng_st QAG_RNG;
int qag_rng_open(const QKS_CONFIG *cfg, long timeout_ms, QAG_RNG **out);
void qag_rng_free(QAG_RNG *r);
int qag_rng_generate(QAG_RNG *r, unsigned char *out, size_t len);
int qag_rng_state(QAG_RNG *r);
int qag_rng_status(QAG_RNG *r, json_t *out);
void qag_rng_after_fork(QAG_RNG *r);

#endif /* QKEY_HWDRV_AGENT_H */
