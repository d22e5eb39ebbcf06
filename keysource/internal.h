/*
 * keysource private declarations: the config store, the context, the per-peer state, the
 * fork-safe lock and the secure-memory figures that status reports. Only the keysource sources and
 * the keysource unit tests include this header.
 */
#ifndef QKS_INTERNAL_H
#define QKS_INTERNAL_H

#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>

#include "qkey/qks.h"
#include "qkey/secmem.h"
#include "qhw.h"

/* ---- fork-safe lock ---------------------------------------------------------------------- */
/*
 * A short-section spin lock whose word holds the owner's pid. A forked child that inherits the
 * lock held by a parent thread (which does not exist in the child) sees a foreign pid and takes
 * the lock over, so fork never leaves a lock that nobody can release. Sections under it are a
 * few instructions long (counters, bitmaps); never hold it across I/O.
 */
typedef struct {
    atomic_int owner; /* 0 = free, else the pid of the holding process */
} QKS_LOCK;           /* zero-initialised = unlocked (static storage or calloc) */

/* This process's pid without a system call per check (cached in a wipe-on-fork page). */
int qks_getpid(void);
void qks_lock(QKS_LOCK *l);
void qks_unlock(QKS_LOCK *l);

/* ---- configuration ----------------------------------------------------------------------- */
typedef struct {
    char *key;   /* "section.name" */
    char *value; /* never a secret: credentials are file paths */
} QKS_CONFIG_ITEM;

struct qks_config_st {
    QKS_CONFIG_ITEM *items;
    size_t n, cap;
};

/* 1 if "section" is a section qkey knows ([qkd] [rng] [token] [tls]). */
int qks_config_section_known(const char *section, size_t len);
/* 1 if "section.name" is a known key (exact entry or known prefix). */
int qks_config_key_known(const char *key);
/* Copy every item of src into dst (dst values are overridden). */
int qks_config_copy(QKS_CONFIG *dst, const QKS_CONFIG *src);
/*
 * Split a qkd.peers-style list (comma and/or white space separated). Calls fn for each
 * element (not NUL-terminated: ptr + len). Stops and returns fn's non-zero result.
 */
int qks_list_foreach(const char *list, int (*fn)(const char *item, size_t len, void *arg),
                     void *arg);

/* ---- secure memory ----------------------------------------------------------------------- */
typedef struct {
    size_t pool_pages;          /* locked pool pages mapped */
    size_t slots_in_use;        /* pool slots currently allocated */
    size_t large_in_use;        /* dedicated mappings (allocations above the largest slot) */
    size_t lock_failures;       /* mlock() refusals (RLIMIT_MEMLOCK): memory still usable */
    size_t dontdump_failures;   /* madvise(MADV_DONTDUMP) refusals */
    size_t wipeonfork_failures; /* madvise(MADV_WIPEONFORK) refusals (kernel < 4.14) */
    int last_lock_errno;        /* errno of the last mlock failure, 0 if none */
} QKS_SECMEM_STATS;

void qks_secmem_stats(QKS_SECMEM_STATS *out);

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
