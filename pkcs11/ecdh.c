/*
 * C_DeriveKey with CKM_ECDH1_DERIVE (Current Mechanisms 3.0, 2.3.14): an EC (P-256/384/521) or
 * Montgomery (X25519/X448) private key with CKA_DERIVE and the peer's public point (raw, or a
 * DER OCTET STRING as some callers give it) make a secret key. Only CKD_NULL: the shared secret
 * itself, or its leading CKA_VALUE_LEN bytes; a point not on the curve, or one that gives an
 * all-zero X25519 secret, is CKR_MECHANISM_PARAM_INVALID. The new key inherits
 * CKA_ALWAYS_SENSITIVE and CKA_NEVER_EXTRACTABLE from the base key (qkt_derived_add).
 */
#include <openssl/core_names.h>

#include "internal.h"

static CK_RV peer_key(const EVP_PKEY *mine, const CK_ECDH1_DERIVE_PARAMS *p, EVP_PKEY **out)
{
    const unsigned char *raw;
    size_t rawlen;
    char group[64];

    *out = NULL;
    if (!qkt_ec_point_raw(p->pPublicData, p->ulPublicDataLen, &raw, &rawlen))
        return CKR_MECHANISM_PARAM_INVALID;
    if (!EVP_PKEY_is_a(mine, "EC")) {
        *out = EVP_PKEY_new_raw_public_key_ex(qkt_lib->libctx, EVP_PKEY_get0_type_name(mine), NULL,
                                              raw, rawlen);
        return *out != NULL ? CKR_OK : CKR_MECHANISM_PARAM_INVALID;
    }
    if (!EVP_PKEY_get_utf8_string_param(mine, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                        NULL))
        return CKR_FUNCTION_FAILED;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)raw, rawlen),
        OSSL_PARAM_END,
    };
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(qkt_lib->libctx, "EC", NULL);
    CK_RV rv = CKR_MECHANISM_PARAM_INVALID;
    if (ctx != NULL && EVP_PKEY_fromdata_init(ctx) > 0 &&
        EVP_PKEY_fromdata(ctx, out, EVP_PKEY_PUBLIC_KEY, params) > 0)
        rv = CKR_OK;
    EVP_PKEY_CTX_free(ctx);
    return rv;
}

CK_RV qkt_ecdh_derive(QKT_SESSION *s, const CK_MECHANISM *mech, CK_OBJECT_HANDLE h,
                      const CK_ATTRIBUTE *tpl, CK_ULONG n, CK_OBJECT_HANDLE *out)
{
    const CK_ECDH1_DERIVE_PARAMS *p = mech->pParameter;
    EVP_PKEY *mine = NULL, *peer = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    unsigned char *z = NULL;
    size_t zlen = 0, cap = 0;
    CK_ULONG kt = CKK_GENERIC_SECRET, len;
    QKT_OBJ *base;
    CK_RV rv;

    if (p == NULL || mech->ulParameterLen != sizeof(*p) || p->kdf != CKD_NULL ||
        p->ulSharedDataLen != 0 || p->pPublicData == NULL || p->ulPublicDataLen == 0 ||
        p->ulPublicDataLen > 200)
        return CKR_MECHANISM_PARAM_INVALID;
    if ((rv = qkt_key_get(s, h, &base)) != CKR_OK)
        return rv;
    CK_KEY_TYPE bkt = qkt_obj_ulong(base, CKA_KEY_TYPE, CK_UNAVAILABLE_INFORMATION);
    if (qkt_obj_class(base) != CKO_PRIVATE_KEY || (bkt != CKK_EC && bkt != CKK_EC_MONTGOMERY))
        return CKR_KEY_TYPE_INCONSISTENT;
    if ((rv = qkt_key_usable(base, CKA_DERIVE, mech->mechanism, bkt)) != CKR_OK)
        return rv;
    rv = qkt_tpl_ulong(tpl, n, CKA_KEY_TYPE, &kt);
    if (rv != CKR_OK && rv != CKR_TEMPLATE_INCOMPLETE)
        return rv;
    if ((rv = qkt_pkey_of(base, &mine)) != CKR_OK || (rv = peer_key(mine, p, &peer)) != CKR_OK)
        goto done;
    rv = CKR_FUNCTION_FAILED;
    if ((ctx = EVP_PKEY_CTX_new_from_pkey(qkt_lib->libctx, mine, NULL)) == NULL ||
        EVP_PKEY_derive_init(ctx) <= 0)
        goto done;
    if (EVP_PKEY_derive_set_peer(ctx, peer) <= 0) {
        rv = CKR_MECHANISM_PARAM_INVALID; /* not a point of this curve */
        goto done;
    }
    if (EVP_PKEY_derive(ctx, NULL, &cap) <= 0 || (z = qkt_secret_alloc(cap)) == NULL)
        goto done;
    zlen = cap;
    if (EVP_PKEY_derive(ctx, z, &zlen) <= 0) {
        rv = CKR_MECHANISM_PARAM_INVALID; /* e.g. a small-order X25519 point */
        goto done;
    }
    /* CKA_VALUE_LEN, when given, takes the leading bytes of the shared secret */
    rv = qkt_tpl_value_len(tpl, n, &len);
    if (rv == CKR_TEMPLATE_INCOMPLETE)
        len = zlen;
    else if (rv != CKR_OK)
        goto done;
    if (len == 0 || len > zlen) {
        rv = CKR_TEMPLATE_INCONSISTENT;
        goto done;
    }
    rv = qkt_derived_add(s, base, tpl, n, kt, z, len, out);
done:
    if (z != NULL)
        qkt_secret_free(z, cap);
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(mine);
    EVP_PKEY_free(peer);
    return rv;
}
