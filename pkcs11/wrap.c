/*
 * Key wrapping with CKM_AES_KEY_WRAP_KWP (RFC 5649) or CKM_AES_KEY_WRAP (RFC 3394: key values
 * that are whole 8-byte blocks) (Current Mechanisms 3.0, 2.14): C_WrapKey
 * exports the value of an extractable secret key, or an extractable private key as its PKCS#8
 * PrivateKeyInfo, under an AES key with CKA_WRAP; C_UnwrapKey makes a new secret or private key
 * (CKA_CLASS in the template) from a template and an unwrapped value.
 */
#include <string.h>
#include <openssl/x509.h>

#include "internal.h"

/* The wrapping (or unwrapping) key, with the error codes named for that role. */
static CK_RV kek_get(QKT_SESSION *s, CK_MECHANISM_TYPE mech, CK_OBJECT_HANDLE h,
                     CK_ATTRIBUTE_TYPE usage, int wrap, QKT_OBJ **out)
{
    CK_RV rv = qkt_key_get(s, h, out);
    if (rv == CKR_KEY_HANDLE_INVALID)
        return wrap ? CKR_WRAPPING_KEY_HANDLE_INVALID : CKR_UNWRAPPING_KEY_HANDLE_INVALID;
    if (rv != CKR_OK)
        return rv;
    rv = qkt_key_usable(*out, usage, mech, CKK_AES);
    if (rv == CKR_KEY_TYPE_INCONSISTENT)
        return wrap ? CKR_WRAPPING_KEY_TYPE_INCONSISTENT : CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT;
    return rv;
}

CK_RV qkt_wrap(QKT_SESSION *s, const CK_MECHANISM *mech, CK_OBJECT_HANDLE wrapping,
               CK_OBJECT_HANDLE h, CK_BYTE *out, CK_ULONG *outlen)
{
    QKT_OBJ *kek, *key;
    const QKT_ATTR *kv, *v;
    size_t len;
    CK_RV rv;

    if ((rv = qkt_keywrap_param(mech)) != CKR_OK ||
        (rv = kek_get(s, mech->mechanism, wrapping, CKA_WRAP, 1, &kek)))
        return rv;
    if ((rv = qkt_key_get(s, h, &key)) != CKR_OK)
        return rv;
    if (qkt_obj_class(key) == CKO_PUBLIC_KEY)
        return CKR_KEY_NOT_WRAPPABLE; /* public keys are read, not wrapped */
    if (!qkt_obj_bool(key, CKA_EXTRACTABLE))
        return CKR_KEY_UNEXTRACTABLE;
    if (qkt_obj_bool(key, CKA_WRAP_WITH_TRUSTED) && !qkt_obj_bool(kek, CKA_TRUSTED))
        return CKR_KEY_NOT_WRAPPABLE;
    kv = qkt_obj_attr(kek, CKA_VALUE);
    v = qkt_obj_attr(key, CKA_VALUE);
    if (mech->mechanism == CKM_AES_KEY_WRAP && (v->len < 16 || v->len % 8 != 0))
        return CKR_KEY_SIZE_RANGE; /* RFC 3394 wraps whole 8-byte blocks only: use KWP */
    CK_ULONG need = (CK_ULONG)((v->len + 7) / 8 * 8 + 8);
    if (out == NULL) {
        *outlen = need;
        return CKR_OK;
    }
    if (*outlen < need) {
        *outlen = need;
        return CKR_BUFFER_TOO_SMALL;
    }
    if ((rv = qkt_keywrap(mech->mechanism, 1, kv->val, kv->len, v->val, v->len, out, &len)) ==
        CKR_OK)
        *outlen = (CK_ULONG)len;
    return rv;
}

/* A private key unwrapped: the value is its PKCS#8 PrivateKeyInfo (Base 3.0, 5.16). */
static CK_RV private_from(const CK_ATTRIBUTE *tpl, CK_ULONG n, CK_KEY_TYPE kt,
                          const unsigned char *der, size_t len, QKT_OBJ **out)
{
    const unsigned char *p = der;
    PKCS8_PRIV_KEY_INFO *p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, (long)len);
    EVP_PKEY *pkey =
        p8 != NULL && p == der + len ? EVP_PKCS82PKEY_ex(p8, qkt_lib->libctx, NULL) : NULL;
    QKT_OBJ *obj = NULL;
    CK_RV rv = CKR_WRAPPED_KEY_INVALID;

    PKCS8_PRIV_KEY_INFO_free(p8);
    if (pkey == NULL)
        return rv;
    if (qkt_pkey_type(pkey) != kt)
        rv = CKR_TEMPLATE_INCONSISTENT;
    else if ((obj = qkt_obj_new()) == NULL)
        rv = CKR_HOST_MEMORY;
    else if ((rv = qkt_obj_set_ulong(obj, CKA_CLASS, CKO_PRIVATE_KEY)) == CKR_OK &&
             (rv = qkt_obj_set_ulong(obj, CKA_KEY_TYPE, kt)) == CKR_OK &&
             (rv = qkt_attr_apply(obj, tpl, n, QKT_OP_UNWRAP)) == CKR_OK &&
             (rv = qkt_pkey_attrs(obj, pkey)) == CKR_OK &&
             (rv = qkt_attr_finish(obj, QKT_OP_UNWRAP)) == CKR_OK) {
        *out = obj;
        obj = NULL;
    }
    qkt_obj_free(obj);
    EVP_PKEY_free(pkey);
    return rv;
}

CK_RV qkt_unwrap(QKT_SESSION *s, const CK_MECHANISM *mech, CK_OBJECT_HANDLE unwrapping,
                 const CK_BYTE *in, CK_ULONG inlen, const CK_ATTRIBUTE *tpl, CK_ULONG n,
                 CK_OBJECT_HANDLE *out)
{
    QKT_OBJ *kek, *obj = NULL;
    const QKT_ATTR *kv;
    unsigned char *val = NULL;
    size_t len = 0;
    CK_ULONG kt;
    CK_RV rv;

    if ((rv = qkt_keywrap_param(mech)) != CKR_OK ||
        (rv = kek_get(s, mech->mechanism, unwrapping, CKA_UNWRAP, 0, &kek)))
        return rv;
    if ((rv = qkt_tpl_ulong(tpl, n, CKA_KEY_TYPE, &kt)) != CKR_OK)
        return rv;
    if (inlen < (mech->mechanism == CKM_AES_KEY_WRAP ? 24 : 16) || inlen % 8 != 0)
        return CKR_WRAPPED_KEY_LEN_RANGE;
    if ((val = qkt_secret_alloc(inlen)) == NULL)
        return CKR_HOST_MEMORY;
    kv = qkt_obj_attr(kek, CKA_VALUE);
    rv = qkt_keywrap(mech->mechanism, 0, kv->val, kv->len, in, inlen, val, &len);
    if (rv == CKR_ENCRYPTED_DATA_INVALID || rv == CKR_ENCRYPTED_DATA_LEN_RANGE)
        rv = CKR_WRAPPED_KEY_INVALID;
    CK_ULONG cls = CKO_SECRET_KEY;
    if (rv == CKR_OK && (rv = qkt_tpl_ulong(tpl, n, CKA_CLASS, &cls)) == CKR_TEMPLATE_INCOMPLETE)
        rv = CKR_OK;
    if (rv == CKR_OK && cls == CKO_PRIVATE_KEY)
        rv = private_from(tpl, n, kt, val, len, &obj);
    else if (rv == CKR_OK)
        rv = qkt_secret_from(tpl, n, QKT_OP_UNWRAP, kt, CK_UNAVAILABLE_INFORMATION, val, len, &obj);
    if (rv == CKR_OK && (rv = qkt_object_add(s, obj, out)) != CKR_OK)
        qkt_obj_free(obj);
    qkt_secret_free(val, inlen);
    return rv;
}
