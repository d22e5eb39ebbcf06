/*
 * C_GenerateKeyPair (Current Mechanisms 3.0, 2.1.4, 2.3.5, 2.3.7): RSA 2048-4096
 * (CKM_RSA_PKCS_KEY_PAIR_GEN, CKA_MODULUS_BITS and an optional CKA_PUBLIC_EXPONENT in the public
 * template), EC on P-256/P-384/P-521 (CKM_EC_KEY_PAIR_GEN), Ed25519/Ed448
 * (CKM_EC_EDWARDS_KEY_PAIR_GEN) and X25519/X448 (CKM_EC_MONTGOMERY_KEY_PAIR_GEN), the curve named
 * by CKA_EC_PARAMS in either template.
 * Keys come from OpenSSL's key generation in the token's library context, whose DRBGs are seeded
 * from the QRNG (seedsrc.c): generation is refused (CKR_DEVICE_ERROR) while the RNG is unhealthy
 * and whenever the quantum seed source has not actually seeded them, so no key pair is ever made
 * from OS entropy by OpenSSL's silent fallback. Both templates are checked before any randomness
 * is used; a pair is added whole or not at all.
 */
#include <string.h>
#include <openssl/core_names.h>
#include <openssl/rsa.h>

#include "internal.h"

static const struct {
    CK_MECHANISM_TYPE mech;
    CK_KEY_TYPE kt;
} pair_mechs[] = {
    {CKM_RSA_PKCS_KEY_PAIR_GEN, CKK_RSA},
    {CKM_EC_KEY_PAIR_GEN, CKK_EC},
    {CKM_EC_EDWARDS_KEY_PAIR_GEN, CKK_EC_EDWARDS},
    {CKM_EC_MONTGOMERY_KEY_PAIR_GEN, CKK_EC_MONTGOMERY},
};

/* A new object of class cls from a template, before it has a key. */
static CK_RV half(CK_OBJECT_CLASS cls, CK_KEY_TYPE kt, const CK_ATTRIBUTE *tpl, CK_ULONG n,
                  QKT_OBJ **out)
{
    QKT_OBJ *obj = qkt_obj_new();
    CK_ULONG v;
    CK_RV rv;

    if (obj == NULL)
        return CKR_HOST_MEMORY;
    rv = qkt_tpl_ulong(tpl, n, CKA_CLASS, &v);
    if (rv == CKR_OK && v != cls)
        rv = CKR_TEMPLATE_INCONSISTENT;
    if (rv == CKR_TEMPLATE_INCOMPLETE)
        rv = CKR_OK;
    if (rv == CKR_OK && (rv = qkt_tpl_ulong(tpl, n, CKA_KEY_TYPE, &v)) == CKR_OK && v != kt)
        rv = CKR_TEMPLATE_INCONSISTENT;
    if (rv == CKR_TEMPLATE_INCOMPLETE)
        rv = CKR_OK;
    if (rv != CKR_OK || (rv = qkt_obj_set_ulong(obj, CKA_CLASS, cls)) != CKR_OK ||
        (rv = qkt_obj_set_ulong(obj, CKA_KEY_TYPE, kt)) != CKR_OK ||
        (rv = qkt_attr_apply(obj, tpl, n, QKT_OP_GENERATE)) != CKR_OK) {
        qkt_obj_free(obj);
        return rv;
    }
    *out = obj;
    return CKR_OK;
}

/* The generation parameters the templates ask for. */
static CK_RV rsa_params(const QKT_OBJ *pub, OSSL_PARAM *p, size_t *bits, BIGNUM **e)
{
    const QKT_ATTR *a = qkt_obj_attr(pub, CKA_PUBLIC_EXPONENT);
    CK_ULONG b = qkt_obj_ulong(pub, CKA_MODULUS_BITS, 0);

    if (qkt_obj_attr(pub, CKA_MODULUS_BITS) == NULL)
        return CKR_TEMPLATE_INCOMPLETE;
    if (b < 2048 || b > 4096 || b % 8 != 0)
        return CKR_KEY_SIZE_RANGE;
    *bits = b;
    p[0] = OSSL_PARAM_construct_size_t(OSSL_PKEY_PARAM_RSA_BITS, bits);
    if (a != NULL) {
        /* an odd exponent from 3 up to 64 bits */
        if (a->len == 0 || a->len > 8 || (*e = BN_bin2bn(a->val, (int)a->len, NULL)) == NULL ||
            !BN_is_odd(*e) || BN_is_one(*e))
            return CKR_ATTRIBUTE_VALUE_INVALID;
    }
    return CKR_OK;
}

static CK_RV curve_param(const QKT_OBJ *pub, const QKT_OBJ *priv, CK_KEY_TYPE kt, int *curve)
{
    const QKT_ATTR *a = qkt_obj_attr(pub, CKA_EC_PARAMS), *b = qkt_obj_attr(priv, CKA_EC_PARAMS);
    if (a == NULL && b == NULL)
        return CKR_TEMPLATE_INCOMPLETE;
    if (a != NULL && b != NULL && (a->len != b->len || memcmp(a->val, b->val, a->len) != 0))
        return CKR_TEMPLATE_INCONSISTENT;
    if (a == NULL)
        a = b;
    *curve = qkt_curve_of_params(kt, a->val, a->len);
    return *curve < 0 ? CKR_CURVE_NOT_SUPPORTED : CKR_OK;
}

static CK_RV generate(CK_KEY_TYPE kt, QKT_OBJ *pub, QKT_OBJ *priv, EVP_PKEY **out)
{
    OSSL_PARAM params[3] = {OSSL_PARAM_END, OSSL_PARAM_END, OSSL_PARAM_END};
    EVP_PKEY_CTX *ctx = NULL;
    BIGNUM *e = NULL;
    size_t bits = 0;
    int curve = -1;
    CK_RV rv;

    if (kt == CKK_RSA)
        rv = rsa_params(pub, params, &bits, &e);
    else
        rv = curve_param(pub, priv, kt, &curve);
    if (rv != CKR_OK)
        goto done;
    /* the templates are good: now the randomness (fail closed, see the file comment) */
    rv = CKR_DEVICE_ERROR;
    if (qkt_lib->seedprov == NULL || qks_rng_state(qkt_lib->qks) != QKS_OK)
        goto done;
    rv = CKR_FUNCTION_FAILED;
    ctx = EVP_PKEY_CTX_new_from_name(qkt_lib->libctx, kt == CKK_RSA ? "RSA" : qkt_curve_evp(curve),
                                     NULL);
    if (ctx == NULL || EVP_PKEY_keygen_init(ctx) <= 0)
        goto done;
    if (kt == CKK_EC)
        params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
                                                     (char *)qkt_curve_group(curve), 0);
    if ((params[0].key != NULL && !EVP_PKEY_CTX_set_params(ctx, params)) ||
        (e != NULL && !EVP_PKEY_CTX_set1_rsa_keygen_pubexp(ctx, e)))
        goto done;
    if (EVP_PKEY_generate(ctx, out) <= 0)
        goto done;
    if (!qkt_seed_quantum()) { /* OpenSSL fell back to another seed: never use such a key */
        EVP_PKEY_free(*out);
        *out = NULL;
        rv = CKR_DEVICE_ERROR;
        goto done;
    }
    rv = CKR_OK;
done:
    BN_free(e);
    EVP_PKEY_CTX_free(ctx);
    return rv;
}

CK_RV qkt_generate_key_pair(QKT_SESSION *s, const CK_MECHANISM *mech, const CK_ATTRIBUTE *pubtpl,
                            CK_ULONG npub, const CK_ATTRIBUTE *privtpl, CK_ULONG npriv,
                            CK_OBJECT_HANDLE *hpub, CK_OBJECT_HANDLE *hpriv)
{
    CK_KEY_TYPE kt = CK_UNAVAILABLE_INFORMATION;
    QKT_OBJ *pub = NULL, *priv = NULL;
    EVP_PKEY *pkey = NULL;
    CK_RV rv;

    for (size_t i = 0; i < sizeof(pair_mechs) / sizeof(pair_mechs[0]); i++)
        if (pair_mechs[i].mech == mech->mechanism)
            kt = pair_mechs[i].kt;
    if (kt == CK_UNAVAILABLE_INFORMATION || qkt_mech_find(mech->mechanism) == NULL)
        return CKR_MECHANISM_INVALID;
    if (mech->pParameter != NULL || mech->ulParameterLen != 0)
        return CKR_MECHANISM_PARAM_INVALID;
    if ((rv = half(CKO_PUBLIC_KEY, kt, pubtpl, npub, &pub)) != CKR_OK ||
        (rv = half(CKO_PRIVATE_KEY, kt, privtpl, npriv, &priv)) != CKR_OK)
        goto done;
    if ((rv = generate(kt, pub, priv, &pkey)) != CKR_OK)
        goto done;
    if ((rv = qkt_pkey_attrs(pub, pkey)) != CKR_OK || (rv = qkt_pkey_attrs(priv, pkey)) != CKR_OK ||
        (rv = qkt_obj_set_ulong(pub, CKA_KEY_GEN_MECHANISM, mech->mechanism)) != CKR_OK ||
        (rv = qkt_obj_set_ulong(priv, CKA_KEY_GEN_MECHANISM, mech->mechanism)) != CKR_OK ||
        (rv = qkt_attr_finish(pub, QKT_OP_GENERATE)) != CKR_OK ||
        (rv = qkt_attr_finish(priv, QKT_OP_GENERATE)) != CKR_OK)
        goto done;
    if ((rv = qkt_object_add(s, pub, hpub)) != CKR_OK)
        goto done;
    pub = NULL; /* the session or the token holds it now */
    if ((rv = qkt_object_add(s, priv, hpriv)) != CKR_OK) {
        (void)qkt_object_destroy(s, *hpub); /* whole or nothing */
        goto done;
    }
    priv = NULL;
done:
    EVP_PKEY_free(pkey);
    qkt_obj_free(pub);
    qkt_obj_free(priv);
    return rv;
}
