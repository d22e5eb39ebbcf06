/*
 * QKD keys: the allowlist (qkd.peers), the per-peer rate limit, the exhaustion policy, and the
 * driver's enc_keys / dec_keys. (Key objects and ID validation are base/keyobj.c.)
 *
 * Rate limit: applies to qks_key_new only (the master side, which an anonymous ClientHello can
 * trigger on a server). qks_key_get is not limited: it fetches a key the peer has already
 * consumed, so refusing it would only strand that key; it is counted per peer instead.
 * A request that passes the allowlist takes a token whether or not the link then has a key, so
 * the limit also bounds the requests a remote party can make a KME serve.
 *
 * qkd.prefetch belongs to the drivers (etsi014 fills a per-peer cache in the same KME request and
 * drops it in after_fork); keysource asks for one key per call.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

#define QKS_WAIT_MIN_NS 5000000ull   /* first retry after 5 ms when the link is exhausted */
#define QKS_WAIT_MAX_NS 100000000ull /* back off to at most 100 ms */

static void sleep_ns(uint64_t ns)
{
    struct timespec ts = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};
    /* An early wake-up (signal) only shortens one back-off step. */
    (void)nanosleep(&ts, NULL);
}

/* Check the peer against the allowlist; the detail names it. */
static QKS_PEER *peer_check(QKS_CTX *ctx, const char *peer, int *rc)
{
    QKS_PEER *p;

    if (!qks_valid_sae_id(peer)) {
        *rc = qks_set_error(QKS_ERR_INVALID,
                            "peer SAE ID is malformed (1-%d of A-Z a-z 0-9 . _ : @ -)",
                            QKS_SAE_ID_MAX);
        return NULL;
    }
    if (ctx->qkd == NULL) {
        *rc = qks_set_error(QKS_ERR_UNSUPPORTED, "no QKD driver configured (qkd.driver)");
        return NULL;
    }
    if ((p = qks_ctx_peer(ctx, peer)) == NULL) {
        qks_lock(&ctx->lock);
        ctx->denied++;
        qks_unlock(&ctx->lock);
        *rc = qks_set_error(QKS_ERR_PEER_DENIED, "peer %s is not in qkd.peers of SAE %s", peer,
                            ctx->sae_id);
        return NULL;
    }
    return p;
}

/* One enc_keys request for one key, with the exhaustion policy. */
static int fetch_key(QKS_CTX *ctx, const char *peer, int purpose, QKS_KEY **key)
{
    uint64_t deadline = qks_now_ns() + (uint64_t)ctx->timeout_ms * 1000000u;
    uint64_t backoff = QKS_WAIT_MIN_NS;
    int rc;

    for (;;) {
        *key = NULL;
        rc = ctx->qkd->meth->enc_key_purpose != NULL
                 ? ctx->qkd->meth->enc_key_purpose(ctx->qkd, peer, ctx->key_bytes, purpose, key)
                 : ctx->qkd->meth->enc_keys(ctx->qkd, peer, ctx->key_bytes, 1, key);
        if (rc != QKS_ERR_NO_KEY || ctx->on_exhausted != QKS_EXHAUSTED_WAIT)
            break;
        uint64_t now = qks_now_ns();
        if (now >= deadline)
            return qks_set_error(QKS_ERR_TIMEOUT,
                                 "no key for peer %s within qkd.timeout_ms = %ld (link exhausted, "
                                 "qkd.on_exhausted = wait)",
                                 peer, ctx->timeout_ms);
        sleep_ns(backoff < deadline - now ? backoff : deadline - now);
        backoff = backoff * 2 > QKS_WAIT_MAX_NS ? QKS_WAIT_MAX_NS : backoff * 2;
    }
    if (rc != QKS_OK)
        return rc;
    if (*key == NULL || (*key)->len != ctx->key_bytes || !qks_valid_key_id((*key)->key_id)) {
        qks_key_free(*key);
        *key = NULL;
        return qks_set_error(QKS_ERR_INTERNAL, "QKD driver %s returned a malformed key",
                             ctx->driver);
    }
    snprintf((*key)->peer, sizeof((*key)->peer), "%s", peer);
    return QKS_OK;
}

/* qkd.reserve: may a TLS handshake take a key from this link now? */
static int reserve_check(QKS_CTX *ctx, QKS_PEER *p, const char *peer)
{
    long stored = -1;
    int rc;

    if (ctx->reserve <= 0 || ctx->qkd->meth->stored == NULL)
        return QKS_OK;
    if ((rc = ctx->qkd->meth->stored(ctx->qkd, peer, &stored)) != QKS_OK || stored < 0 ||
        stored > ctx->reserve)
        return QKS_OK; /* unknown: the request itself will tell */
    qks_lock(&ctx->lock);
    p->reserve_refusals++;
    qks_unlock(&ctx->lock);
    return qks_set_error(QKS_ERR_RESERVE,
                         "link to %s at its reserve: %ld keys left, qkd.reserve = %ld keeps them "
                         "for other uses than TLS",
                         peer, stored, ctx->reserve);
}

int qks_key_new(QKS_CTX *ctx, const char *peer, QKS_KEY **out)
{
    return qks_key_new_ex(ctx, peer, QKS_PURPOSE_ANY, out);
}

int qks_key_new_ex(QKS_CTX *ctx, const char *peer, int purpose, QKS_KEY **out)
{
    QKS_PEER *p;
    QKS_KEY *key = NULL;
    int rc, allowed;

    qks_clear_error(); /* a detail left by an earlier call must not describe this one */
    if (out == NULL || ctx == NULL)
        return qks_set_error(QKS_ERR_INVALID, "qks_key_new: NULL argument");
    *out = NULL;
    qks_ctx_check_fork(ctx);
    if ((p = peer_check(ctx, peer, &rc)) == NULL)
        return rc;
    if (purpose == QKS_PURPOSE_TLS && (rc = reserve_check(ctx, p, peer)) != QKS_OK)
        return rc;
    qks_lock(&ctx->lock);
    allowed = qks_bucket_take(&p->bucket, ctx->rate_limit, ctx->rate_burst, qks_now_ns());
    if (!allowed)
        p->rate_limited++;
    qks_unlock(&ctx->lock);
    if (!allowed)
        return qks_set_error(QKS_ERR_RATE_LIMITED,
                             "peer %s is over its key rate limit (qkd.rate_limit = %.0f keys/s, "
                             "qkd.rate_burst = %.0f)",
                             peer, ctx->rate_limit, ctx->rate_burst);
    rc = fetch_key(ctx, peer, purpose, &key);
    qks_lock(&ctx->lock);
    if (rc == QKS_OK)
        p->keys_issued++;
    else
        p->key_failures++;
    qks_unlock(&ctx->lock);
    if (rc == QKS_OK)
        *out = key;
    return rc;
}

int qks_key_get(QKS_CTX *ctx, const char *peer, const char *key_id, QKS_KEY **out)
{
    QKS_PEER *p;
    QKS_KEY *key = NULL;
    int rc;

    qks_clear_error();
    if (out == NULL || ctx == NULL)
        return qks_set_error(QKS_ERR_INVALID, "qks_key_get: NULL argument");
    *out = NULL;
    qks_ctx_check_fork(ctx);
    if (!qks_valid_key_id(key_id))
        return qks_set_error(QKS_ERR_INVALID, "key ID is not a UUID (8-4-4-4-12 hex digits)");
    if ((p = peer_check(ctx, peer, &rc)) == NULL)
        return rc;
    rc = ctx->qkd->meth->dec_keys(ctx->qkd, peer, &key_id, 1, &key);
    qks_lock(&ctx->lock);
    if (rc == QKS_OK)
        p->keys_fetched++;
    else
        p->key_failures++;
    qks_unlock(&ctx->lock);
    if (rc != QKS_OK)
        return rc;
    if (key == NULL || key->len == 0) {
        qks_key_free(key);
        return qks_set_error(QKS_ERR_INTERNAL, "QKD driver %s returned a malformed key",
                             ctx->driver);
    }
    snprintf(key->key_id, sizeof(key->key_id), "%s", key_id);
    snprintf(key->peer, sizeof(key->peer), "%s", peer);
    *out = key;
    return QKS_OK;
}
