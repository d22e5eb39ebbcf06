/*
 * QKS_CTX: opens the key source from a validated configuration (the QKD driver named by
 * qkd.driver, the RNG pipeline named by rng.source), keeps the per-peer state, and notices a
 * fork on every entry point so a child never shares driver state with its parent.
 */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

#define QKS_DEFAULT_KEY_BITS   256
#define QKS_DEFAULT_TIMEOUT_MS 10000
#define QKS_DEFAULT_RATE_LIMIT 200
#define QKS_DEFAULT_RATE_BURST 400

typedef struct {
    QKS_CTX *ctx;
    int rc;
} PEER_PARSE;

static int add_peer(const char *item, size_t len, void *arg)
{
    PEER_PARSE *pp = arg;
    QKS_CTX *ctx = pp->ctx;
    char id[QKS_SAE_ID_MAX + 1];

    if (len > QKS_SAE_ID_MAX) {
        pp->rc = qks_set_error(QKS_ERR_CONFIG, "qkd.peers: SAE ID '%.*s...' is longer than %d", 16,
                               item, QKS_SAE_ID_MAX);
        return 1;
    }
    memcpy(id, item, len);
    id[len] = '\0';
    if (!qks_valid_sae_id(id)) {
        pp->rc = qks_set_error(QKS_ERR_CONFIG,
                               "qkd.peers: '%s' is not a valid SAE ID (1-%d of A-Z a-z 0-9 . _ "
                               ": @ -)",
                               id, QKS_SAE_ID_MAX);
        return 1;
    }
    if (qks_ctx_peer(ctx, id) != NULL)
        return 0; /* listed twice: one entry */
    QKS_PEER *np = realloc(ctx->peers, (ctx->npeers + 1) * sizeof(*np));
    if (np == NULL) {
        pp->rc = qks_set_error(QKS_ERR_NOMEM, "out of memory for qkd.peers");
        return 1;
    }
    ctx->peers = np;
    memset(&np[ctx->npeers], 0, sizeof(*np));
    memcpy(np[ctx->npeers].sae_id, id, len + 1);
    ctx->npeers++;
    return 0;
}

/* A two-valued key: absent or `off` gives 0, `on` gives 1, anything else is an error. */
static int ctx_choice(const QKS_CONFIG *cfg, const char *key, const char *off, const char *on,
                      int *out)
{
    const char *v = qks_config_get(cfg, key);

    if (v == NULL || strcmp(v, off) == 0)
        *out = 0;
    else if (strcmp(v, on) == 0)
        *out = 1;
    else
        return qks_set_error(QKS_ERR_CONFIG, "%s = '%s': expected %s or %s", key, v, off, on);
    return QKS_OK;
}

static int ctx_read_qkd_config(QKS_CTX *ctx)
{
    const QKS_CONFIG *cfg = ctx->cfg;
    const char *driver = qks_config_get(cfg, "qkd.driver");
    const char *sae = qks_config_get(cfg, "qkd.sae_id");
    const char *exhausted = qks_config_get(cfg, "qkd.on_exhausted");
    long v;
    int rc;
    PEER_PARSE pp = {ctx, QKS_OK};

    if ((rc = qks_config_get_long(cfg, "qkd.key_bits", QKS_DEFAULT_KEY_BITS, 64, QKS_KEY_MAX * 8,
                                  &v)) != QKS_OK)
        return rc;
    if (v % 8 != 0)
        return qks_set_error(QKS_ERR_CONFIG, "qkd.key_bits = %ld is not a multiple of 8", v);
    ctx->key_bytes = (size_t)v / 8;
    if ((rc = qks_config_get_long(cfg, "qkd.timeout_ms", QKS_DEFAULT_TIMEOUT_MS, 1, 3600000,
                                  &ctx->timeout_ms)) != QKS_OK)
        return rc;
    if ((rc = qks_config_get_long(cfg, "qkd.rate_limit", QKS_DEFAULT_RATE_LIMIT, 1, 1000000, &v)) !=
        QKS_OK)
        return rc;
    ctx->rate_limit = (double)v;
    if ((rc = qks_config_get_long(cfg, "qkd.rate_burst", QKS_DEFAULT_RATE_BURST, 1, 10000000,
                                  &v)) != QKS_OK)
        return rc;
    ctx->rate_burst = (double)v;
    if (exhausted == NULL || strcmp(exhausted, "fail") == 0)
        ctx->on_exhausted = QKS_EXHAUSTED_FAIL;
    else if (strcmp(exhausted, "wait") == 0)
        ctx->on_exhausted = QKS_EXHAUSTED_WAIT;
    else
        return qks_set_error(QKS_ERR_CONFIG, "qkd.on_exhausted = '%s': expected fail or wait",
                             exhausted);
    if ((rc = qks_config_get_long(cfg, "qkd.reserve", 0, 0, 1000000000, &ctx->reserve)) != QKS_OK)
        return rc;
    if ((rc = ctx_choice(cfg, "qkd.fallback", "none", "classical", &ctx->fallback)) != QKS_OK ||
        (rc = ctx_choice(cfg, "qkd.accept_fallback", "no", "yes", &ctx->accept_fallback)) != QKS_OK)
        return rc;
    {
        const char *log = qks_config_get(cfg, "qkd.fallback_log");
        if (log != NULL && (log[0] != '/' || strlen(log) >= sizeof(ctx->fallback_log)))
            return qks_set_error(QKS_ERR_CONFIG,
                                 "qkd.fallback_log = '%s': an absolute path "
                                 "expected",
                                 log);
        snprintf(ctx->fallback_log, sizeof(ctx->fallback_log), "%s", log ? log : "");
    }

    if (driver == NULL)
        return QKS_OK; /* RNG-only context */
    if (strlen(driver) >= sizeof(ctx->driver) || (ctx->qkd_meth = qhw_qkd_find(driver)) == NULL)
        return qks_set_error(QKS_ERR_CONFIG,
                             "qkd.driver = '%s': no such QKD driver in this build (expected "
                             "sim, etsi014 or agent)",
                             driver);
    strcpy(ctx->driver, driver);
    if (sae == NULL)
        return qks_set_error(QKS_ERR_CONFIG, "qkd.sae_id is required with qkd.driver = %s", driver);
    if (!qks_valid_sae_id(sae))
        return qks_set_error(QKS_ERR_CONFIG,
                             "qkd.sae_id = '%s' is not a valid SAE ID (1-%d of A-Z a-z 0-9 . _ "
                             ": @ -)",
                             sae, QKS_SAE_ID_MAX);
    strcpy(ctx->sae_id, sae);
    qks_list_foreach(qks_config_get(cfg, "qkd.peers"), add_peer, &pp);
    if (pp.rc != QKS_OK)
        return pp.rc;
    if (qks_ctx_peer(ctx, ctx->sae_id) != NULL)
        return qks_set_error(QKS_ERR_CONFIG, "qkd.peers lists this host's own SAE ID %s",
                             ctx->sae_id);
    return QKS_OK;
}

int qks_ctx_new(const QKS_CONFIG *cfg, QKS_CTX **out)
{
    QKS_CTX *ctx = NULL;
    int rc;

    qks_clear_error();
    if (out == NULL)
        return qks_set_error(QKS_ERR_INVALID, "qks_ctx_new: NULL output");
    *out = NULL;
    if (cfg == NULL)
        return qks_set_error(QKS_ERR_INVALID, "qks_ctx_new: NULL configuration");
    if ((ctx = calloc(1, sizeof(*ctx))) == NULL || (ctx->cfg = qks_config_new()) == NULL) {
        rc = qks_set_error(QKS_ERR_NOMEM, "out of memory for the key-source context");
        goto err;
    }
    if ((rc = qks_config_copy(ctx->cfg, cfg)) != QKS_OK)
        goto err;
    atomic_init(&ctx->pid, qks_getpid());
    atomic_init(&ctx->fork_handler, 0);
    if ((rc = ctx_read_qkd_config(ctx)) != QKS_OK)
        goto err;
    for (size_t i = 0; i < ctx->npeers; i++)
        qks_bucket_reset(&ctx->peers[i].bucket, ctx->rate_burst, qks_now_ns());
    if (ctx->qkd_meth != NULL && (rc = ctx->qkd_meth->open(ctx->cfg, &ctx->qkd)) != QKS_OK)
        goto err;
    /*
     * The RNG pipeline is opened too, but a context whose RNG cannot be built still serves QKD
     * keys: qks_random and qks_rng_state then report why (fail closed), and status shows it.
     * A QKD-only user (a KMS fetching keys) must not be taken down by an RNG device.
     */
    if ((rc = qhw_rng_open(ctx->cfg, &ctx->rng)) != QKS_OK) {
        if (rc == QKS_ERR_CONFIG || ctx->qkd == NULL)
            goto err; /* a typo or bad value in [rng] is always an error */
        ctx->rng = NULL;
        ctx->rng_error = rc;
        snprintf(ctx->rng_error_detail, sizeof(ctx->rng_error_detail), "%s", qks_last_error());
    }
    *out = ctx;
    return QKS_OK;
err:
    qks_ctx_free(ctx);
    return rc;
}

void qks_ctx_free(QKS_CTX *ctx)
{
    if (ctx == NULL)
        return;
    if (ctx->qkd != NULL)
        ctx->qkd->meth->close(ctx->qkd);
    qhw_rng_free(ctx->rng);
    qks_config_free(ctx->cfg);
    free(ctx->peers);
    free(ctx);
}

const QKS_CONFIG *qks_ctx_config(const QKS_CTX *ctx)
{
    return ctx != NULL ? ctx->cfg : NULL;
}

const char *qks_ctx_sae_id(const QKS_CTX *ctx)
{
    return ctx != NULL && ctx->qkd != NULL ? ctx->sae_id : NULL;
}

size_t qks_ctx_key_bytes(const QKS_CTX *ctx)
{
    return ctx != NULL ? ctx->key_bytes : 0;
}

int qks_ctx_has_qkd(const QKS_CTX *ctx)
{
    return ctx != NULL && ctx->qkd != NULL;
}

QKS_PEER *qks_ctx_peer(const QKS_CTX *ctx, const char *sae_id)
{
    if (ctx == NULL || sae_id == NULL)
        return NULL;
    for (size_t i = 0; i < ctx->npeers; i++)
        if (strcmp(ctx->peers[i].sae_id, sae_id) == 0)
            return &ctx->peers[i];
    return NULL;
}

int qks_peer_allowed(const QKS_CTX *ctx, const char *peer)
{
    return qks_ctx_peer(ctx, peer) != NULL;
}

/*
 * Fork handling without pthread_atfork: the first entry point that runs in a new process
 * claims the handling (fork_handler = our pid), resets the drivers and the per-process state,
 * then publishes the new pid; other threads of the child wait for that.
 */
void qks_ctx_check_fork(QKS_CTX *ctx)
{
    int me = qks_getpid();

    if (atomic_load_explicit(&ctx->pid, memory_order_acquire) == me)
        return;
    for (;;) {
        int h = atomic_load(&ctx->fork_handler);
        if (h == me) { /* another thread of this child is resetting: wait for it */
            while (atomic_load_explicit(&ctx->pid, memory_order_acquire) != me)
                sched_yield();
            return;
        }
        if (atomic_compare_exchange_strong(&ctx->fork_handler, &h, me))
            break;
    }
    /* The drivers drop what belongs to the parent (connections, prefetched keys). The child may
     * have inherited ctx->lock held by a parent thread: qks_lock takes it over. */
    if (ctx->qkd != NULL && ctx->qkd->meth->after_fork != NULL)
        ctx->qkd->meth->after_fork(ctx->qkd);
    if (ctx->rng != NULL)
        qhw_rng_after_fork(ctx->rng);
    qks_lock(&ctx->lock);
    uint64_t now = qks_now_ns();
    for (size_t i = 0; i < ctx->npeers; i++) {
        QKS_PEER *p = &ctx->peers[i];
        qks_bucket_reset(&p->bucket, ctx->rate_burst, now);
        p->keys_issued = p->keys_fetched = p->key_failures = p->rate_limited = 0;
    }
    ctx->denied = 0;
    ctx->forks_seen++;
    qks_unlock(&ctx->lock);
    atomic_store_explicit(&ctx->pid, me, memory_order_release);
}
