/*
 * keysource private declarations: the context and the per-peer state. The layers below it are
 * included: base.h (errors, config, locks, secure memory, key objects) and qhw.h (the drivers).
 * Only the keysource sources and the keysource unit tests include this header.
 */
#ifndef QKS_INTERNAL_H
#define QKS_INTERNAL_H

#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>

#include "base.h"
#include "qhw.h"

/* ---- context ----------------------------------------------------------------------------- */
typedef enum { QKS_EXHAUSTED_FAIL = 0, QKS_EXHAUSTED_WAIT = 1 } QKS_EXHAUSTED_POLICY;

typedef struct {
    double tokens;    /* token bucket fill */
    uint64_t last_ns; /* CLOCK_MONOTONIC of the last refill */
} QKS_BUCKET;

typedef struct {
    char sae_id[QKS_SAE_ID_MAX + 1];
    QKS_BUCKET bucket;         /* qkd.rate_limit / qkd.rate_burst on qks_key_new */
    uint64_t keys_issued;      /* qks_key_new successes (we are master) */
    uint64_t keys_fetched;     /* qks_key_get successes (we are slave) */
    uint64_t key_failures;     /* driver failures on new/get */
    uint64_t rate_limited;     /* qks_key_new refused by the rate limit */
    uint64_t reserve_refusals; /* TLS key requests refused at qkd.reserve */
    uint64_t fallbacks;        /* handshakes completed without a QKD key (either side) */
} QKS_PEER;

struct qks_ctx_st {
    QKS_CONFIG *cfg;
    atomic_int pid;          /* process that owns the driver state */
    atomic_int fork_handler; /* pid of the process currently running the fork handling */
    QKS_LOCK lock;           /* peers[] counters and buckets */
    const QHW_QKD_METHOD *qkd_meth;
    QHW_QKD *qkd;
    QHW_RNG *rng;
    int rng_error; /* qhw_rng_open failure, reported by qks_random and status */
    char rng_error_detail[256];
    char sae_id[QKS_SAE_ID_MAX + 1];
    char driver[32];
    size_t key_bytes;
    long timeout_ms;
    double rate_limit; /* keys per second per peer */
    double rate_burst; /* bucket size */
    QKS_EXHAUSTED_POLICY on_exhausted;
    long reserve;           /* qkd.reserve: keys per peer kept from TLS */
    int fallback;           /* qkd.fallback = classical */
    int accept_fallback;    /* qkd.accept_fallback = yes */
    char fallback_log[512]; /* qkd.fallback_log, "" if unset */
    QKS_PEER *peers;
    size_t npeers;
    uint64_t denied;     /* requests for peers not in qkd.peers */
    uint64_t forks_seen; /* times this context noticed it runs in a new process */
};

/* fallback.c: fallbacks with `peer` recorded in qkd.fallback_log (all processes); -1 if no log. */
long qks_fallback_logged(const QKS_CTX *ctx, const char *peer);

/* Every entry point calls this first: in a forked child, reset drivers and per-process state. */
void qks_ctx_check_fork(QKS_CTX *ctx);
/* The peer entry for an allowed SAE ID, or NULL. */
QKS_PEER *qks_ctx_peer(const QKS_CTX *ctx, const char *sae_id);

/* Rate limit: 1 if a token was taken from the bucket, 0 if the peer is over its limit. The
 * caller holds ctx->lock. */
int qks_bucket_take(QKS_BUCKET *b, double rate, double burst, uint64_t now_ns);
void qks_bucket_reset(QKS_BUCKET *b, double burst, uint64_t now_ns);
uint64_t qks_now_ns(void);

#endif /* QKS_INTERNAL_H */
