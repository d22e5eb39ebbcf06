/*
 * qks_status_json: what `qkey status` prints about the key source. Configuration facts,
 * per-peer counters, the QKD driver's own figures per peer (ETSI status), the RNG pipeline's
 * health and entropy figures, and whether key memory is really locked. No secrets.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* jansson's *_new functions return NULL on failure and the *_set_new ones then fail cleanly. */
static int set(json_t *obj, const char *key, json_t *value)
{
    return json_object_set_new(obj, key, value) == 0 ? QKS_OK : QKS_ERR_NOMEM;
}

static json_t *memory_json(void)
{
    QKS_SECMEM_STATS st;
    json_t *m = json_object();

    qks_secmem_stats(&st);
    if (m == NULL)
        return NULL;
    if (set(m, "locked", json_boolean(st.lock_failures == 0)) != QKS_OK ||
        set(m, "lock_failures", json_integer((json_int_t)st.lock_failures)) != QKS_OK ||
        set(m, "dontdump", json_boolean(st.dontdump_failures == 0)) != QKS_OK ||
        set(m, "wipeonfork", json_boolean(st.wipeonfork_failures == 0)) != QKS_OK ||
        set(m, "pool_pages", json_integer((json_int_t)st.pool_pages)) != QKS_OK ||
        set(m, "slots_in_use", json_integer((json_int_t)st.slots_in_use)) != QKS_OK) {
        json_decref(m);
        return NULL;
    }
    if (st.last_lock_errno != 0 &&
        set(m, "lock_error", json_string(strerror(st.last_lock_errno))) != QKS_OK) {
        json_decref(m);
        return NULL;
    }
    return m;
}

static json_t *peer_json(QKS_CTX *ctx, size_t i)
{
    QKS_PEER snap;
    json_t *p = json_object();

    if (p == NULL)
        return NULL;
    qks_lock(&ctx->lock);
    snap = ctx->peers[i];
    qks_unlock(&ctx->lock);
    if (set(p, "sae_id", json_string(snap.sae_id)) != QKS_OK ||
        set(p, "keys_issued", json_integer((json_int_t)snap.keys_issued)) != QKS_OK ||
        set(p, "keys_fetched", json_integer((json_int_t)snap.keys_fetched)) != QKS_OK ||
        set(p, "key_failures", json_integer((json_int_t)snap.key_failures)) != QKS_OK ||
        set(p, "rate_limited", json_integer((json_int_t)snap.rate_limited)) != QKS_OK ||
        set(p, "reserve_refusals", json_integer((json_int_t)snap.reserve_refusals)) != QKS_OK ||
        set(p, "fallbacks", json_integer((json_int_t)snap.fallbacks)) != QKS_OK) {
        json_decref(p);
        return NULL;
    }
    if (ctx->fallback_log[0] != '\0') {
        long logged = qks_fallback_logged(ctx, snap.sae_id);
        if (set(p, "fallbacks_logged", logged >= 0 ? json_integer(logged) : json_null()) !=
            QKS_OK) {
            json_decref(p);
            return NULL;
        }
    }
    if (ctx->qkd->meth->status != NULL) {
        json_t *d = json_object();
        if (d == NULL || set(p, "link", d) != QKS_OK) {
            json_decref(p);
            return NULL;
        }
        int rc = ctx->qkd->meth->status(ctx->qkd, snap.sae_id, d);
        if (rc != QKS_OK) {
            /* A KME that cannot answer is a status fact, not a failure of status. */
            json_object_set_new(d, "error", json_string(qks_strerror(rc)));
            json_object_set_new(d, "error_detail", json_string(qks_last_error()));
        }
    }
    return p;
}

static int qkd_json(QKS_CTX *ctx, json_t *root)
{
    json_t *peers;
    int rc;

    uint64_t denied;

    if (ctx->qkd == NULL)
        return set(root, "driver", json_null());
    qks_lock(&ctx->lock);
    denied = ctx->denied;
    qks_unlock(&ctx->lock);
    if ((rc = set(root, "driver", json_string(ctx->driver))) != QKS_OK ||
        (rc = set(root, "sae_id", json_string(ctx->sae_id))) != QKS_OK ||
        (rc = set(root, "key_bits", json_integer((json_int_t)ctx->key_bytes * 8))) != QKS_OK ||
        (rc = set(root, "timeout_ms", json_integer(ctx->timeout_ms))) != QKS_OK ||
        (rc = set(root, "rate_limit", json_real(ctx->rate_limit))) != QKS_OK ||
        (rc = set(root, "rate_burst", json_real(ctx->rate_burst))) != QKS_OK ||
        (rc = set(root, "on_exhausted",
                  json_string(ctx->on_exhausted == QKS_EXHAUSTED_WAIT ? "wait" : "fail"))) !=
            QKS_OK ||
        (rc = set(root, "peers_denied", json_integer((json_int_t)denied))) != QKS_OK ||
        (rc = set(root, "reserve", json_integer(ctx->reserve))) != QKS_OK ||
        (rc = set(root, "fallback", json_string(ctx->fallback ? "classical" : "none"))) != QKS_OK ||
        (rc = set(root, "accept_fallback", json_string(ctx->accept_fallback ? "yes" : "no"))) !=
            QKS_OK ||
        (rc = set(root, "fallback_log",
                  ctx->fallback_log[0] ? json_string(ctx->fallback_log) : json_null())) != QKS_OK)
        return rc;
    if ((peers = json_array()) == NULL || set(root, "peers", peers) != QKS_OK)
        return QKS_ERR_NOMEM;
    for (size_t i = 0; i < ctx->npeers; i++) {
        json_t *p = peer_json(ctx, i);
        if (p == NULL || json_array_append_new(peers, p) != 0)
            return QKS_ERR_NOMEM;
    }
    return QKS_OK;
}

static int rng_json(QKS_CTX *ctx, json_t *root)
{
    json_t *r = json_object();
    int rc;

    if (r == NULL || set(root, "rng", r) != QKS_OK)
        return QKS_ERR_NOMEM;
    if (ctx->rng == NULL) {
        int err = ctx->rng_error != QKS_OK ? ctx->rng_error : QKS_ERR_UNSUPPORTED;
        if ((rc = set(r, "state", json_string(qks_strerror(err)))) != QKS_OK)
            return rc;
        if (ctx->rng_error != QKS_OK)
            return set(r, "error_detail", json_string(ctx->rng_error_detail));
        return QKS_OK;
    }
    int state = qhw_rng_state(ctx->rng);
    if ((rc = set(r, "state", json_string(qks_strerror(state)))) != QKS_OK ||
        (rc = set(r, "strength", json_integer(qhw_rng_strength(ctx->rng)))) != QKS_OK)
        return rc;
    rc = qhw_rng_status(ctx->rng, r);
    if (rc != QKS_OK)
        return set(r, "status_error", json_string(qks_last_error()));
    return QKS_OK;
}

int qks_status_json(QKS_CTX *ctx, char **json_out)
{
    json_t *root = NULL, *mem;
    int rc;

    if (ctx == NULL || json_out == NULL)
        return qks_set_error(QKS_ERR_INVALID, "qks_status_json: NULL argument");
    *json_out = NULL;
    qks_ctx_check_fork(ctx);
    if ((root = json_object()) == NULL) {
        rc = QKS_ERR_NOMEM;
        goto done;
    }
    if ((rc = set(root, "version", json_string(qks_version()))) != QKS_OK ||
        (rc = qkd_json(ctx, root)) != QKS_OK || (rc = rng_json(ctx, root)) != QKS_OK)
        goto done;
    if ((mem = memory_json()) == NULL || (rc = set(root, "memory", mem)) != QKS_OK) {
        rc = QKS_ERR_NOMEM;
        goto done;
    }
    if ((*json_out = json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS)) == NULL)
        rc = QKS_ERR_NOMEM;
done:
    json_decref(root);
    if (rc == QKS_ERR_NOMEM)
        qks_set_error(rc, "out of memory building the status");
    return rc;
}
