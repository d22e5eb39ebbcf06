/*
 * qkey provider: key management for the QKD KEM variants (QKD, X25519-QKD, X448-QKD,
 * P-256-QKD, P-384-QKD). A key is the classical key pair (if any) plus the owner's SAE ID;
 * its encoded public key is the TLS key share (docs/kem-wire-format.md). This is what libssl
 * 3.0 uses for a KEM group: keygen with a group name (client), paramgen + set encoded public
 * key (server), get encoded public key, has/match/import/export/dup, get_params.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/core_names.h>
#include <openssl/params.h>

#include "internal.h"
#include "qkey/secmem.h"

static OSSL_FUNC_keymgmt_free_fn key_free;
static OSSL_FUNC_keymgmt_gen_set_params_fn gen_set_params;
static OSSL_FUNC_keymgmt_gen_settable_params_fn gen_settable_params;
static OSSL_FUNC_keymgmt_gen_fn gen;
static OSSL_FUNC_keymgmt_gen_cleanup_fn gen_cleanup;
static OSSL_FUNC_keymgmt_has_fn has;
static OSSL_FUNC_keymgmt_match_fn match;
static OSSL_FUNC_keymgmt_get_params_fn get_params;
static OSSL_FUNC_keymgmt_gettable_params_fn gettable_params;
static OSSL_FUNC_keymgmt_set_params_fn set_params;
static OSSL_FUNC_keymgmt_settable_params_fn settable_params;
static OSSL_FUNC_keymgmt_import_fn import;
static OSSL_FUNC_keymgmt_import_types_fn import_types;
static OSSL_FUNC_keymgmt_export_fn export;
static OSSL_FUNC_keymgmt_export_types_fn export_types;
static OSSL_FUNC_keymgmt_dup_fn dup;

typedef struct {
    QKP_PROV *prov;
    const QKP_VARIANT *v;
    int selection;
} GEN_CTX;

static QKP_KEY *key_new(QKP_PROV *prov, const QKP_VARIANT *v)
{
    QKP_KEY *key;

    if (!qkp_ready(prov))
        return NULL;
    if (!prov->has_qkd) {
        QKP_RAISE(prov, QKP_R_NO_QKD, "%s needs a QKD link: set qkd.driver", v->alg);
        return NULL;
    }
    if ((key = OPENSSL_zalloc(sizeof(*key))) == NULL)
        return NULL;
    key->prov = prov;
    key->v = v;
    return key;
}

static void key_free(void *vkey)
{
    QKP_KEY *key = vkey;

    if (key == NULL)
        return;
    if (key->priv != NULL)
        qks_secure_free(key->priv, key->v->priv_len);
    EVP_PKEY_free(key->peer);
    EVP_PKEY_free(key->own);
    OPENSSL_free(key);
}

/* Replace the key's public part with a decoded key share; validates everything. */
static int set_encoded_pub(QKP_KEY *key, const unsigned char *in, size_t len)
{
    QKP_WIRE w;
    char why[200];
    EVP_PKEY *peer = NULL;

    if (!qkp_wire_decode_pub(in, len, key->v->id, &w, why, sizeof(why))) {
        QKP_RAISE(key->prov, QKP_R_MALFORMED_PUBKEY, "%s %s", key->v->alg, why);
        return 0;
    }
    if (w.classical_len > 0 &&
        (peer = qkp_classical_load_pub(key->prov, key->v, w.classical, w.classical_len)) == NULL)
        return 0;
    if (key->priv != NULL) {
        qks_secure_free(key->priv, key->v->priv_len);
        key->priv = NULL;
    }
    EVP_PKEY_free(key->peer);
    key->peer = peer;
    if (w.classical_len > 0)
        memcpy(key->pub, w.classical, w.classical_len);
    memcpy(key->sae_id, w.sae_id, sizeof(key->sae_id));
    key->has_pub = 1;
    key->has_priv = 0;
    return 1;
}

static size_t encode_pub(const QKP_KEY *key, unsigned char *out, size_t out_len)
{
    QKP_WIRE w = {.variant = key->v->id,
                  .classical = key->v->pub_len > 0 ? key->pub : NULL,
                  .classical_len = key->v->pub_len};

    memcpy(w.sae_id, key->sae_id, sizeof(w.sae_id));
    return qkp_wire_encode_pub(&w, out, out_len);
}

/* ---- generation ------------------------------------------------------------------------ */
static void *gen_init_variant(void *provctx, int selection, const OSSL_PARAM params[],
                              QKP_VARIANT_ID id)
{
    GEN_CTX *g;

    if ((g = OPENSSL_zalloc(sizeof(*g))) == NULL)
        return NULL;
    g->prov = provctx;
    g->v = &qkp_variants[id];
    g->selection = selection;
    if (!gen_set_params(g, params)) {
        OPENSSL_free(g);
        return NULL;
    }
    return g;
}

static int gen_set_params(void *vg, const OSSL_PARAM params[])
{
    GEN_CTX *g = vg;
    const OSSL_PARAM *p;
    const char *name = NULL;

    if (params == NULL)
        return 1;
    p = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_GROUP_NAME);
    if (p != NULL) {
        if (!OSSL_PARAM_get_utf8_string_ptr(p, &name) || qkp_variant_by_name(name) != g->v) {
            QKP_RAISE(g->prov, QKP_R_BAD_GROUP, "group \"%s\" is not %s / %s",
                      name != NULL ? name : "?", g->v->group, g->v->alg);
            return 0;
        }
    }
    return 1;
}

static const OSSL_PARAM *gen_settable_params(void *vg, void *provctx)
{
    static const OSSL_PARAM settable[] = {
        OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, NULL, 0), OSSL_PARAM_END};
    return settable;
}

static void *gen(void *vg, OSSL_CALLBACK *cb, void *cbarg)
{
    GEN_CTX *g = vg;
    QKP_KEY *key;
    EVP_PKEY *pkey = NULL;
    const char *sae;

    if ((key = key_new(g->prov, g->v)) == NULL)
        return NULL;
    if ((g->selection & OSSL_KEYMGMT_SELECT_KEYPAIR) == 0)
        return key; /* parameters only: the server's peer key, filled by set_params */
    if ((sae = qks_ctx_sae_id(g->prov->qks)) == NULL || !qks_valid_sae_id(sae)) {
        QKP_RAISE(g->prov, QKP_R_NO_QKD, "no valid qkd.sae_id configured");
        goto err;
    }
    snprintf(key->sae_id, sizeof(key->sae_id), "%s", sae);
    if (g->v->kem) { /* ML-KEM hybrid: the key pair stays in OpenSSL's object */
        if (!qkp_variant_available(g->prov, g->v)) {
            QKP_RAISE(g->prov, QKP_R_BAD_GROUP, "%s needs %s, which this libcrypto does not offer",
                      g->v->alg, g->v->classical);
            goto err;
        }
        if ((key->own = qkp_classical_keygen(g->prov, g->v)) == NULL ||
            !qkp_classical_export(g->prov, g->v, key->own, key->pub, NULL))
            goto err;
    } else if (g->v->classical != NULL) {
        if ((key->priv = qks_secure_alloc(g->v->priv_len)) == NULL) {
            QKP_RAISE(g->prov, QKP_R_INTERNAL, "cannot allocate locked memory");
            goto err;
        }
        if ((pkey = qkp_classical_keygen(g->prov, g->v)) == NULL ||
            !qkp_classical_export(g->prov, g->v, pkey, key->pub, key->priv))
            goto err;
        EVP_PKEY_free(pkey);
    }
    key->has_pub = key->has_priv = 1;
    return key;
err:
    EVP_PKEY_free(pkey);
    key_free(key);
    return NULL;
}

static void gen_cleanup(void *vg)
{
    OPENSSL_free(vg);
}

/* ---- queries --------------------------------------------------------------------------- */
static int has(const void *vkey, int selection)
{
    const QKP_KEY *key = vkey;
    int ok = key != NULL;

    if ((selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) != 0)
        ok = ok && key->has_pub;
    if ((selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) != 0)
        ok = ok && key->has_priv;
    return ok;
}

static int match(const void *vk1, const void *vk2, int selection)
{
    const QKP_KEY *k1 = vk1, *k2 = vk2;

    if (k1->v != k2->v)
        return 0;
    if ((selection & OSSL_KEYMGMT_SELECT_KEYPAIR) != 0) {
        if (!k1->has_pub || !k2->has_pub)
            return 0;
        return memcmp(k1->pub, k2->pub, k1->v->pub_len) == 0 && strcmp(k1->sae_id, k2->sae_id) == 0;
    }
    return 1;
}

static int security_bits(const QKP_KEY *key)
{
    int qkd_bits = (int)qkp_key_bytes(key->prov) * 8 / 2; /* Grover: half the bits */

    return key->v->classical_bits > qkd_bits ? key->v->classical_bits : qkd_bits;
}

static int get_params(void *vkey, OSSL_PARAM params[])
{
    QKP_KEY *key = vkey;
    OSSL_PARAM *p;
    unsigned char buf[QKP_PUB_MAX];
    size_t n;

    if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_BITS)) != NULL &&
        !OSSL_PARAM_set_int(p, 2 * security_bits(key)))
        return 0;
    if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_SECURITY_BITS)) != NULL &&
        !OSSL_PARAM_set_int(p, security_bits(key)))
        return 0;
    if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_MAX_SIZE)) != NULL &&
        !OSSL_PARAM_set_int(p, (int)qkp_kem_ct_max(key->v)))
        return 0;
    if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY)) != NULL) {
        if (!key->has_pub) {
            QKP_RAISE(key->prov, QKP_R_WRONG_KEY, "%s key has no public part", key->v->alg);
            return 0;
        }
        if ((n = encode_pub(key, buf, sizeof(buf))) == 0 || !OSSL_PARAM_set_octet_string(p, buf, n))
            return 0;
    }
    return 1;
}

static const OSSL_PARAM *gettable_params(void *provctx)
{
    static const OSSL_PARAM gettable[] = {
        OSSL_PARAM_int(OSSL_PKEY_PARAM_BITS, NULL),
        OSSL_PARAM_int(OSSL_PKEY_PARAM_SECURITY_BITS, NULL),
        OSSL_PARAM_int(OSSL_PKEY_PARAM_MAX_SIZE, NULL),
        OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, NULL, 0), OSSL_PARAM_END};
    return gettable;
}

static int set_params(void *vkey, const OSSL_PARAM params[])
{
    QKP_KEY *key = vkey;
    const OSSL_PARAM *p;
    const void *data;
    size_t len;

    p = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY);
    if (p == NULL)
        return 1;
    if (!OSSL_PARAM_get_octet_string_ptr(p, &data, &len)) {
        QKP_RAISE(key->prov, QKP_R_MALFORMED_PUBKEY, "%s key share is not an octet string",
                  key->v->alg);
        return 0;
    }
    return set_encoded_pub(key, data, len);
}

static const OSSL_PARAM *settable_params(void *provctx)
{
    static const OSSL_PARAM settable[] = {
        OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, NULL, 0), OSSL_PARAM_END};
    return settable;
}

/* ---- import / export (public keys only: a private key never leaves locked memory) ------ */
static int import(void *vkey, int selection, const OSSL_PARAM params[])
{
    QKP_KEY *key = vkey;
    const OSSL_PARAM *p;
    const void *data;
    size_t len;

    if ((selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) != 0) {
        QKP_RAISE(key->prov, QKP_R_WRONG_KEY, "%s private keys cannot be imported", key->v->alg);
        return 0;
    }
    if ((selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) == 0)
        return 1;
    p = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_PUB_KEY);
    if (p == NULL || !OSSL_PARAM_get_octet_string_ptr(p, &data, &len)) {
        QKP_RAISE(key->prov, QKP_R_MALFORMED_PUBKEY, "%s import without a public key", key->v->alg);
        return 0;
    }
    return set_encoded_pub(key, data, len);
}

static const OSSL_PARAM public_types[] = {OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, NULL, 0),
                                          OSSL_PARAM_END};

static const OSSL_PARAM *import_types(int selection)
{
    return (selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) != 0 ? public_types : NULL;
}

static int export(void *vkey, int selection, OSSL_CALLBACK *cb, void *cbarg)
{
    QKP_KEY *key = vkey;
    unsigned char buf[QKP_PUB_MAX];
    OSSL_PARAM params[2];
    size_t n;

    if ((selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) != 0) {
        QKP_RAISE(key->prov, QKP_R_WRONG_KEY, "%s private keys are not exported", key->v->alg);
        return 0;
    }
    params[0] = params[1] = OSSL_PARAM_construct_end();
    if ((selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) != 0 && key->has_pub) {
        if ((n = encode_pub(key, buf, sizeof(buf))) == 0)
            return 0;
        params[0] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, buf, n);
    }
    return cb(params, cbarg);
}

static const OSSL_PARAM *export_types(int selection)
{
    return import_types(selection);
}

static void *dup(const void *vsrc, int selection)
{
    const QKP_KEY *src = vsrc;
    QKP_KEY *key;

    if ((key = key_new(src->prov, src->v)) == NULL)
        return NULL;
    if ((selection & OSSL_KEYMGMT_SELECT_KEYPAIR) == 0)
        return key;
    if (src->has_pub && (selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) != 0) {
        memcpy(key->pub, src->pub, sizeof(key->pub));
        memcpy(key->sae_id, src->sae_id, sizeof(key->sae_id));
        if (src->peer != NULL && !EVP_PKEY_up_ref(src->peer))
            goto err;
        key->peer = src->peer;
        key->has_pub = 1;
    }
    if (src->has_priv && (selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) != 0) {
        if (src->priv != NULL) {
            if ((key->priv = qks_secure_alloc(src->v->priv_len)) == NULL)
                goto err;
            memcpy(key->priv, src->priv, src->v->priv_len);
        }
        if (src->own != NULL) {
            if (!EVP_PKEY_up_ref(src->own))
                goto err;
            key->own = src->own;
        }
        key->has_priv = 1;
    }
    return key;
err:
    key_free(key);
    return NULL;
}

/* ---- one table per variant: only new and gen_init know which variant they make -------- */
#define QKP_KEYMGMT_TABLE(lname, id)                                                               \
    static void *lname##_new(void *provctx)                                                        \
    {                                                                                              \
        return key_new(provctx, &qkp_variants[id]);                                                \
    }                                                                                              \
    static void *lname##_gen_init(void *provctx, int selection, const OSSL_PARAM params[])         \
    {                                                                                              \
        return gen_init_variant(provctx, selection, params, id);                                   \
    }                                                                                              \
    const OSSL_DISPATCH qkp_##lname##_keymgmt_functions[] = {                                      \
        {OSSL_FUNC_KEYMGMT_NEW, (void (*)(void))lname##_new},                                      \
        {OSSL_FUNC_KEYMGMT_FREE, (void (*)(void))key_free},                                        \
        {OSSL_FUNC_KEYMGMT_GEN_INIT, (void (*)(void))lname##_gen_init},                            \
        {OSSL_FUNC_KEYMGMT_GEN_SET_PARAMS, (void (*)(void))gen_set_params},                        \
        {OSSL_FUNC_KEYMGMT_GEN_SETTABLE_PARAMS, (void (*)(void))gen_settable_params},              \
        {OSSL_FUNC_KEYMGMT_GEN, (void (*)(void))gen},                                              \
        {OSSL_FUNC_KEYMGMT_GEN_CLEANUP, (void (*)(void))gen_cleanup},                              \
        {OSSL_FUNC_KEYMGMT_HAS, (void (*)(void))has},                                              \
        {OSSL_FUNC_KEYMGMT_MATCH, (void (*)(void))match},                                          \
        {OSSL_FUNC_KEYMGMT_GET_PARAMS, (void (*)(void))get_params},                                \
        {OSSL_FUNC_KEYMGMT_GETTABLE_PARAMS, (void (*)(void))gettable_params},                      \
        {OSSL_FUNC_KEYMGMT_SET_PARAMS, (void (*)(void))set_params},                                \
        {OSSL_FUNC_KEYMGMT_SETTABLE_PARAMS, (void (*)(void))settable_params},                      \
        {OSSL_FUNC_KEYMGMT_IMPORT, (void (*)(void))import},                                        \
        {OSSL_FUNC_KEYMGMT_IMPORT_TYPES, (void (*)(void))import_types},                            \
        {OSSL_FUNC_KEYMGMT_EXPORT, (void (*)(void)) export},                                       \
        {OSSL_FUNC_KEYMGMT_EXPORT_TYPES, (void (*)(void))export_types},                            \
        {OSSL_FUNC_KEYMGMT_DUP, (void (*)(void))dup},                                              \
        {0, NULL}}

QKP_KEYMGMT_TABLE(qkd, QKP_QKD);
QKP_KEYMGMT_TABLE(x25519, QKP_X25519);
QKP_KEYMGMT_TABLE(x448, QKP_X448);
QKP_KEYMGMT_TABLE(p256, QKP_P256);
QKP_KEYMGMT_TABLE(p384, QKP_P384);
QKP_KEYMGMT_TABLE(x25519mlkem768, QKP_X25519MLKEM768);
QKP_KEYMGMT_TABLE(p256mlkem768, QKP_P256MLKEM768);
QKP_KEYMGMT_TABLE(p384mlkem1024, QKP_P384MLKEM1024);
