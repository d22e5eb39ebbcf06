/*
 * CKM_HKDF_DERIVE (RFC 5869; Current Mechanisms 3.0, 2.43): extract and/or expand from a
 * generic-secret (or CKK_HKDF) base key with CKA_DERIVE, salt none / data / key, PRF
 * SHA-256/384/512. The new key's length is CKA_VALUE_LEN (or the hash length when only
 * extracting); ALWAYS_SENSITIVE and NEVER_EXTRACTABLE are inherited as the spec says.
 * C_DeriveKey's entry for every mechanism: CKM_SP800_108_COUNTER_KDF goes to kbkdf.c.
 */
#include <string.h>
#include <openssl/core_names.h>
#include <openssl/kdf.h>

#include "internal.h"

static CK_RV run_hkdf(const QKT_CK_HKDF_PARAMS *p, const QKT_ATTR *ikm, const void *salt,
                      size_t saltlen, unsigned char *out, size_t outlen)
{
    EVP_KDF *kdf = EVP_KDF_fetch(qkt_lib->libctx, "HKDF", NULL);
    EVP_KDF_CTX *ctx = kdf != NULL ? EVP_KDF_CTX_new(kdf) : NULL;
    int mode = p->bExtract && p->bExpand ? EVP_KDF_HKDF_MODE_EXTRACT_AND_EXPAND
               : p->bExtract             ? EVP_KDF_HKDF_MODE_EXTRACT_ONLY
                                         : EVP_KDF_HKDF_MODE_EXPAND_ONLY;
    OSSL_PARAM params[6], *q = params;
    CK_RV rv = CKR_OK;

    *q++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
                                            (char *)qkt_md_name(p->prfHashMechanism), 0);
    *q++ = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
    *q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, ikm->val, ikm->len);
    if (saltlen)
        *q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, saltlen);
    if (p->ulInfoLen)
        *q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, p->pInfo, p->ulInfoLen);
    *q = OSSL_PARAM_construct_end();
    if (ctx == NULL || EVP_KDF_derive(ctx, out, outlen, params) <= 0)
        rv = CKR_FUNCTION_FAILED;
    EVP_KDF_CTX_free(ctx);
    EVP_KDF_free(kdf);
    return rv;
}

CK_RV qkt_derive(QKT_SESSION *s, const CK_MECHANISM *mech, CK_OBJECT_HANDLE h,
                 const CK_ATTRIBUTE *tpl, CK_ULONG n, CK_OBJECT_HANDLE *out)
{
    const QKT_CK_HKDF_PARAMS *p = mech->pParameter;
    QKT_OBJ *base;
    const void *salt = NULL;
    size_t saltlen = 0;
    unsigned char *val = NULL;
    CK_ULONG len, kt = CKK_GENERIC_SECRET;
    CK_RV rv;

    if (mech->mechanism == CKM_SP800_108_COUNTER_KDF)
        return qkt_sp800_108(s, mech, h, tpl, n, out);
    if (mech->mechanism == CKM_ECDH1_DERIVE)
        return qkt_ecdh_derive(s, mech, h, tpl, n, out);
    if (mech->mechanism != CKM_HKDF_DERIVE)
        return CKR_MECHANISM_INVALID;
    if (p == NULL || mech->ulParameterLen != sizeof(*p) || (!p->bExtract && !p->bExpand) ||
        qkt_md_name(p->prfHashMechanism) == NULL || (p->pInfo == NULL && p->ulInfoLen) ||
        (p->bExpand == 0 && p->ulInfoLen))
        return CKR_MECHANISM_PARAM_INVALID;
    if ((rv = qkt_key_get(s, h, &base)) != CKR_OK ||
        (rv = qkt_key_usable(base, CKA_DERIVE, CKM_HKDF_DERIVE, CKK_GENERIC_SECRET)) != CKR_OK)
        return rv;
    if (p->bExtract) {
        if (p->ulSaltType == CKF_HKDF_SALT_DATA) {
            if (p->pSalt == NULL || p->ulSaltLen == 0)
                return CKR_MECHANISM_PARAM_INVALID;
            salt = p->pSalt;
            saltlen = p->ulSaltLen;
        } else if (p->ulSaltType == CKF_HKDF_SALT_KEY) {
            QKT_OBJ *sk;
            if ((rv = qkt_key_get(s, p->hSaltKey, &sk)) != CKR_OK)
                return CKR_MECHANISM_PARAM_INVALID;
            if (qkt_obj_ulong(sk, CKA_KEY_TYPE, 0) != CKK_GENERIC_SECRET)
                return CKR_KEY_TYPE_INCONSISTENT;
            const QKT_ATTR *sv = qkt_obj_attr(sk, CKA_VALUE);
            salt = sv->val;
            saltlen = sv->len;
        } else if (p->ulSaltType != CKF_HKDF_SALT_NULL) {
            return CKR_MECHANISM_PARAM_INVALID;
        }
    }
    rv = qkt_tpl_ulong(tpl, n, CKA_KEY_TYPE, &kt);
    if (rv != CKR_OK && rv != CKR_TEMPLATE_INCOMPLETE)
        return rv;
    size_t hlen = (size_t)EVP_MD_get_size(qkt_md_for(p->prfHashMechanism));
    rv = qkt_tpl_value_len(tpl, n, &len);
    if (rv == CKR_TEMPLATE_INCOMPLETE && !p->bExpand)
        len = hlen;
    else if (rv != CKR_OK)
        return rv;
    if ((!p->bExpand && len != hlen) || len > 255 * hlen)
        return CKR_TEMPLATE_INCONSISTENT;
    if (qkt_key_len_check(kt, len) != CKR_OK)
        return CKR_TEMPLATE_INCONSISTENT;
    if ((val = qkt_secret_alloc(len)) == NULL)
        return CKR_HOST_MEMORY;
    if ((rv = run_hkdf(p, qkt_obj_attr(base, CKA_VALUE), salt, saltlen, val, len)) == CKR_OK)
        rv = qkt_derived_add(s, base, tpl, n, kt, val, len, out);
    qkt_secret_free(val, len);
    return rv;
}
