/*
 * qkey provider: the QKD KEM (DESIGN.md "The QKD KEM"). Server-initiated, so a QKD key is
 * consumed only when the group is actually chosen:
 *   encapsulate (server): classical encapsulation to the client's public key + a fresh QKD key
 *     for the client's SAE (qks_key_new); ciphertext = classical || server SAE ID || key ID.
 *   decapsulate (client): refuse a server SAE not in qkd.peers, classical decapsulation, then
 *     the QKD key by ID (qks_key_get).
 *   shared secret = classical secret || QKD key.
 * Size queries (NULL output) are answered with upper bounds without touching the key source.
 * No QKD key outlives the call that fetched it.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/params.h>

#include "internal.h"
#include "qkey/secmem.h"

static OSSL_FUNC_kem_newctx_fn kem_newctx;
static OSSL_FUNC_kem_freectx_fn kem_freectx;
static OSSL_FUNC_kem_dupctx_fn kem_dupctx;
static OSSL_FUNC_kem_encapsulate_init_fn encapsulate_init;
static OSSL_FUNC_kem_encapsulate_fn encapsulate;
static OSSL_FUNC_kem_decapsulate_init_fn decapsulate_init;
static OSSL_FUNC_kem_decapsulate_fn decapsulate;
static OSSL_FUNC_kem_set_ctx_params_fn set_ctx_params;
static OSSL_FUNC_kem_settable_ctx_params_fn settable_ctx_params;

typedef struct {
    QKP_PROV *prov;
    QKP_KEY *key; /* owned by the EVP_PKEY the EVP_PKEY_CTX holds */
} KEM_CTX;

size_t qkp_kem_secret_len(const QKP_PROV *prov, const QKP_VARIANT *v)
{
    return v->secret_len + qkp_key_bytes(prov);
}

size_t qkp_kem_ct_max(const QKP_VARIANT *v)
{
    return 2 + 2 + v->ct_len + 1 + QKS_SAE_ID_MAX + 1 + QKS_KEY_ID_MAX;
}

static void *kem_newctx(void *provctx)
{
    KEM_CTX *ctx = OPENSSL_zalloc(sizeof(*ctx));

    if (ctx != NULL)
        ctx->prov = provctx;
    return ctx;
}

static void kem_freectx(void *vctx)
{
    OPENSSL_free(vctx);
}

static void *kem_dupctx(void *vctx)
{
    KEM_CTX *src = vctx, *ctx = OPENSSL_zalloc(sizeof(*ctx));

    if (ctx != NULL)
        *ctx = *src;
    return ctx;
}

static int kem_init(void *vctx, void *vkey, int need_priv)
{
    KEM_CTX *ctx = vctx;
    QKP_KEY *key = vkey;

    if (!qkp_ready(ctx->prov))
        return 0;
    if (key == NULL || !key->has_pub || (need_priv && !key->has_priv)) {
        QKP_RAISE(ctx->prov, QKP_R_WRONG_KEY, "%s operation needs %s key",
                  need_priv ? "decapsulate" : "encapsulate",
                  need_priv ? "our own generated" : "the peer's public");
        return 0;
    }
    ctx->key = key;
    return 1;
}

static int encapsulate_init(void *vctx, void *vkey, const OSSL_PARAM params[])
{
    return kem_init(vctx, vkey, 0) && set_ctx_params(vctx, params);
}

static int decapsulate_init(void *vctx, void *vkey, const OSSL_PARAM params[])
{
    return kem_init(vctx, vkey, 1) && set_ctx_params(vctx, params);
}

/* out = classical secret || QKD key; *outlen set; wipes on failure. */
static int write_secret(KEM_CTX *ctx, const unsigned char *classical, const QKS_KEY *qk,
                        unsigned char *secret, size_t *secretlen)
{
    const QKP_VARIANT *v = ctx->key->v;

    if (qk->len != qkp_key_bytes(ctx->prov)) {
        QKP_RAISE(ctx->prov, QKP_R_KEY_UNAVAILABLE, "QKD key %s has %zu bytes, expected %zu",
                  qk->key_id, qk->len, qkp_key_bytes(ctx->prov));
        return 0;
    }
    if (v->secret_len > 0)
        memcpy(secret, classical, v->secret_len);
    memcpy(secret + v->secret_len, qk->key, qk->len);
    *secretlen = v->secret_len + qk->len;
    return 1;
}

static int encapsulate(void *vctx, unsigned char *out, size_t *outlen, unsigned char *secret,
                       size_t *secretlen)
{
    KEM_CTX *ctx = vctx;
    QKP_KEY *peer = ctx->key;
    const QKP_VARIANT *v;
    EVP_PKEY *eph = NULL;
    unsigned char *classical = NULL;
    unsigned char eph_pub[QKP_CLASSICAL_MAX];
    QKS_KEY *qk = NULL;
    QKP_WIRE w;
    const char *sae;
    size_t n;
    int rv, ok = 0;

    if (peer == NULL) {
        QKP_RAISE(ctx->prov, QKP_R_WRONG_KEY, "encapsulate without encapsulate_init");
        return 0;
    }
    v = peer->v;
    if (out == NULL || secret == NULL) { /* size query: never touches the key source */
        if (outlen != NULL)
            *outlen = qkp_kem_ct_max(v);
        if (secretlen != NULL)
            *secretlen = qkp_kem_secret_len(ctx->prov, v);
        return outlen != NULL || secretlen != NULL;
    }
    if (outlen == NULL || secretlen == NULL || *outlen < qkp_kem_ct_max(v) ||
        *secretlen < qkp_kem_secret_len(ctx->prov, v)) {
        QKP_RAISE(ctx->prov, QKP_R_BUFFER_TOO_SMALL, "%s needs %zu ciphertext and %zu secret bytes",
                  v->alg, qkp_kem_ct_max(v), qkp_kem_secret_len(ctx->prov, v));
        return 0;
    }
    if ((sae = qks_ctx_sae_id(ctx->prov->qks)) == NULL) {
        QKP_RAISE(ctx->prov, QKP_R_NO_QKD, "no qkd.sae_id configured");
        return 0;
    }
    /* classical first: a bad peer key must not cost a QKD key */
    if (v->classical != NULL) {
        if ((classical = qks_secure_alloc(v->secret_len)) == NULL) {
            QKP_RAISE(ctx->prov, QKP_R_INTERNAL, "cannot allocate locked memory");
            goto done;
        }
        if (v->kem) { /* ML-KEM hybrid: OpenSSL's encapsulation to the client's key */
            if (!qkp_classical_encap(ctx->prov, v, peer->peer, eph_pub, classical))
                goto done;
        } else if ((eph = qkp_classical_keygen(ctx->prov, v)) == NULL ||
                   !qkp_classical_export(ctx->prov, v, eph, eph_pub, NULL) ||
                   !qkp_classical_derive(ctx->prov, v, eph, peer->peer, classical)) {
            goto done;
        }
    }
    if ((rv = qks_key_new_ex(ctx->prov->qks, peer->sae_id, QKS_PURPOSE_TLS, &qk)) != QKS_OK) {
        char what[160];
        unsigned cause = qkp_fallback_cause(rv);

        /* qkd.fallback = classical: complete with the classical (or ML-KEM hybrid) part alone
         * and say so in the ciphertext, which the ServerHello carries under the server's
         * signature; a client accepts it only with qkd.accept_fallback = yes */
        if (cause != 0 && v->classical != NULL && qks_ctx_fallback(ctx->prov->qks)) {
            memset(&w, 0, sizeof(w));
            w.variant = v->id;
            w.classical = eph_pub;
            w.classical_len = v->ct_len;
            w.fallback = 1;
            w.cause = cause;
            snprintf(w.sae_id, sizeof(w.sae_id), "%s", sae);
            if ((n = qkp_wire_encode_ct(&w, out, *outlen)) == 0) {
                QKP_RAISE(ctx->prov, QKP_R_INTERNAL, "cannot encode the fallback ciphertext");
                goto done;
            }
            memcpy(secret, classical, v->secret_len);
            *secretlen = v->secret_len;
            *outlen = n;
            qks_fallback_note(ctx->prov->qks, peer->sae_id, 1, qkp_fallback_cause_name(cause));
            ok = 1;
            goto done;
        }
        snprintf(what, sizeof(what), "%s encapsulate: new QKD key for client SAE %s", v->alg,
                 peer->sae_id);
        QKP_RAISE_QKS(ctx->prov, rv, what);
        goto done;
    }
    memset(&w, 0, sizeof(w));
    w.variant = v->id;
    w.classical = v->ct_len > 0 ? eph_pub : NULL;
    w.classical_len = v->ct_len;
    snprintf(w.sae_id, sizeof(w.sae_id), "%s", sae);
    snprintf(w.key_id, sizeof(w.key_id), "%s", qk->key_id);
    if ((n = qkp_wire_encode_ct(&w, out, *outlen)) == 0) {
        QKP_RAISE(ctx->prov, QKP_R_INTERNAL, "cannot encode the ciphertext (SAE %s, key ID %s)",
                  sae, qk->key_id);
        goto done;
    }
    if (!write_secret(ctx, classical, qk, secret, secretlen))
        goto done;
    *outlen = n;
    ok = 1;
done:
    qks_key_free(qk);
    if (classical != NULL)
        qks_secure_free(classical, v->secret_len);
    EVP_PKEY_free(eph);
    return ok;
}

static int decapsulate(void *vctx, unsigned char *out, size_t *outlen, const unsigned char *in,
                       size_t inlen)
{
    KEM_CTX *ctx = vctx;
    QKP_KEY *key = ctx->key;
    const QKP_VARIANT *v;
    EVP_PKEY *mine = NULL, *server = NULL;
    unsigned char *classical = NULL;
    QKS_KEY *qk = NULL;
    QKP_WIRE w;
    char why[200];
    int rv, ok = 0;

    if (key == NULL) {
        QKP_RAISE(ctx->prov, QKP_R_WRONG_KEY, "decapsulate without decapsulate_init");
        return 0;
    }
    v = key->v;
    if (out == NULL) { /* size query: never touches the key source */
        if (outlen == NULL)
            return 0;
        *outlen = qkp_kem_secret_len(ctx->prov, v);
        return 1;
    }
    if (outlen == NULL || *outlen < qkp_kem_secret_len(ctx->prov, v)) {
        QKP_RAISE(ctx->prov, QKP_R_BUFFER_TOO_SMALL, "%s needs %zu secret bytes", v->alg,
                  qkp_kem_secret_len(ctx->prov, v));
        return 0;
    }
    if (!qkp_wire_decode_ct(in, inlen, v->id, &w, why, sizeof(why))) {
        QKP_RAISE(ctx->prov, QKP_R_MALFORMED_CT, "%s %s", v->alg, why);
        return 0;
    }
    /* DESIGN.md: refuse a server SAE not in qkd.peers before asking the KME for anything */
    if (!qks_peer_allowed(ctx->prov->qks, w.sae_id)) {
        QKP_RAISE(ctx->prov, QKP_R_PEER_DENIED, "%s decapsulate: server SAE %s is not in qkd.peers",
                  v->alg, w.sae_id);
        return 0;
    }
    if (v->classical != NULL) {
        if ((classical = qks_secure_alloc(v->secret_len)) == NULL) {
            QKP_RAISE(ctx->prov, QKP_R_INTERNAL, "cannot allocate locked memory");
            goto done;
        }
        if (v->kem) {
            if (key->own == NULL || !qkp_classical_decap(ctx->prov, v, key->own, w.classical,
                                                         w.classical_len, classical))
                goto done;
        } else if ((server = qkp_classical_load_pub(ctx->prov, v, w.classical, w.classical_len)) ==
                       NULL ||
                   (mine = qkp_classical_load_priv(ctx->prov, v, key->priv, key->pub)) == NULL ||
                   !qkp_classical_derive(ctx->prov, v, mine, server, classical)) {
            goto done;
        }
    }
    if (w.fallback) { /* the server completed without a QKD key: only if we accept that */
        const char *cause = qkp_fallback_cause_name(w.cause);
        if (!qks_ctx_accept_fallback(ctx->prov->qks)) {
            QKP_RAISE(ctx->prov, QKP_R_KEY_UNAVAILABLE,
                      "%s: server SAE %s offered no QKD key (fallback, cause: %s) and "
                      "qkd.accept_fallback = no",
                      v->alg, w.sae_id, cause);
            goto done;
        }
        memcpy(out, classical, v->secret_len);
        *outlen = v->secret_len;
        qks_fallback_note(ctx->prov->qks, w.sae_id, 0, cause);
        ok = 1;
        goto done;
    }
    if ((rv = qks_key_get(ctx->prov->qks, w.sae_id, w.key_id, &qk)) != QKS_OK) {
        char what[200];
        snprintf(what, sizeof(what), "%s decapsulate: QKD key %s from server SAE %s", v->alg,
                 w.key_id, w.sae_id);
        QKP_RAISE_QKS(ctx->prov, rv, what);
        goto done;
    }
    ok = write_secret(ctx, classical, qk, out, outlen);
done:
    qks_key_free(qk);
    if (classical != NULL)
        qks_secure_free(classical, v->secret_len);
    EVP_PKEY_free(mine);
    EVP_PKEY_free(server);
    return ok;
}

static int set_ctx_params(void *vctx, const OSSL_PARAM params[])
{
    return 1; /* no parameters: the variant comes with the key */
}

static const OSSL_PARAM *settable_ctx_params(void *vctx, void *provctx)
{
    static const OSSL_PARAM settable[] = {OSSL_PARAM_END};
    return settable;
}

const OSSL_DISPATCH qkp_kem_functions[] = {
    {OSSL_FUNC_KEM_NEWCTX, (void (*)(void))kem_newctx},
    {OSSL_FUNC_KEM_FREECTX, (void (*)(void))kem_freectx},
    {OSSL_FUNC_KEM_DUPCTX, (void (*)(void))kem_dupctx},
    {OSSL_FUNC_KEM_ENCAPSULATE_INIT, (void (*)(void))encapsulate_init},
    {OSSL_FUNC_KEM_ENCAPSULATE, (void (*)(void))encapsulate},
    {OSSL_FUNC_KEM_DECAPSULATE_INIT, (void (*)(void))decapsulate_init},
    {OSSL_FUNC_KEM_DECAPSULATE, (void (*)(void))decapsulate},
    {OSSL_FUNC_KEM_SET_CTX_PARAMS, (void (*)(void))set_ctx_params},
    {OSSL_FUNC_KEM_SETTABLE_CTX_PARAMS, (void (*)(void))settable_ctx_params},
    {0, NULL}};
