/*
 * Secret-key generation (C_GenerateKey): CKM_AES_KEY_GEN and CKM_GENERIC_SECRET_KEY_GEN from
 * the quantum RNG, and the QKD mechanisms (DESIGN.md, qkey/pkcs11.h):
 *   CKM_QKEY_QKD_KEY_NEW  template: CKA_QKEY_PEER; the new key gets CKA_QKEY_KEY_ID
 *   CKM_QKEY_QKD_KEY_GET  template: CKA_QKEY_PEER and CKA_QKEY_KEY_ID
 * The QKD key becomes the object's CKA_VALUE. CKA_VALUE_LEN may be left out (the whole QKD
 * key, qkd.key_bits / 8 bytes) or be shorter: the key is then the first CKA_VALUE_LEN bytes
 * of the QKD key, and both sides must ask for the same length. The whole template is checked
 * before the link is asked for anything, so a bad template never burns a QKD key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

CK_RV qkt_tpl_value_len(const CK_ATTRIBUTE *tpl, CK_ULONG n, CK_ULONG *len)
{
    return qkt_tpl_ulong(tpl, n, CKA_VALUE_LEN, len);
}

CK_RV qkt_secret_from(const CK_ATTRIBUTE *tpl, CK_ULONG n, int op, CK_KEY_TYPE dflt_type,
                      CK_MECHANISM_TYPE mech, const unsigned char *val, size_t len, QKT_OBJ **out)
{
    QKT_OBJ *obj = qkt_obj_new();
    CK_ULONG cls;
    CK_RV rv;

    if (obj == NULL)
        return CKR_HOST_MEMORY;
    rv = qkt_tpl_ulong(tpl, n, CKA_CLASS, &cls);
    if (rv == CKR_OK && cls != CKO_SECRET_KEY)
        rv = CKR_TEMPLATE_INCONSISTENT;
    else if (rv == CKR_TEMPLATE_INCOMPLETE)
        rv = CKR_OK;
    if (rv != CKR_OK || (rv = qkt_obj_set_ulong(obj, CKA_CLASS, CKO_SECRET_KEY)) != CKR_OK)
        goto err;
    if (dflt_type != CK_UNAVAILABLE_INFORMATION &&
        (rv = qkt_obj_set_ulong(obj, CKA_KEY_TYPE, dflt_type)) != CKR_OK)
        goto err;
    if ((rv = qkt_attr_apply(obj, tpl, n, op)) != CKR_OK ||
        (rv = qkt_obj_set(obj, CKA_VALUE, val, len)) != CKR_OK)
        goto err;
    if (mech != CK_UNAVAILABLE_INFORMATION &&
        (rv = qkt_obj_set_ulong(obj, CKA_KEY_GEN_MECHANISM, mech)) != CKR_OK)
        goto err;
    if ((rv = qkt_attr_finish(obj, op)) != CKR_OK)
        goto err;
    *out = obj;
    return CKR_OK;
err:
    qkt_obj_free(obj);
    return rv;
}

static CK_RV random_key(QKT_SESSION *s, CK_MECHANISM_TYPE mech, CK_KEY_TYPE kt,
                        const CK_ATTRIBUTE *tpl, CK_ULONG n, CK_OBJECT_HANDLE *out)
{
    unsigned char *val = NULL;
    QKT_OBJ *obj = NULL;
    CK_ULONG len;
    CK_RV rv = qkt_tpl_value_len(tpl, n, &len);

    if (rv != CKR_OK)
        return rv;
    if (qkt_key_len_check(kt, len) != CKR_OK)
        return CKR_ATTRIBUTE_VALUE_INVALID;
    if ((val = qkt_secret_alloc(len)) == NULL)
        return CKR_HOST_MEMORY;
    if ((rv = qkt_random(val, len)) == CKR_OK &&
        (rv = qkt_secret_from(tpl, n, QKT_OP_GENERATE, kt, mech, val, len, &obj)) == CKR_OK &&
        (rv = qkt_object_add(s, obj, out)) != CKR_OK)
        qkt_obj_free(obj);
    qkt_secret_free(val, len);
    return rv;
}

CK_RV qkt_derived_add(QKT_SESSION *s, const QKT_OBJ *base, const CK_ATTRIBUTE *tpl, CK_ULONG n,
                      CK_KEY_TYPE kt, const unsigned char *val, size_t len, CK_OBJECT_HANDLE *out)
{
    QKT_OBJ *obj = NULL;
    CK_RV rv =
        qkt_secret_from(tpl, n, QKT_OP_DERIVE, kt, CK_UNAVAILABLE_INFORMATION, val, len, &obj);

    /* Base 3.0, 4.10: derived keys inherit "always sensitive" / "never extractable". */
    if (rv == CKR_OK)
        rv = qkt_obj_set_bool(obj, CKA_ALWAYS_SENSITIVE,
                              qkt_obj_bool(base, CKA_ALWAYS_SENSITIVE) &&
                                  qkt_obj_bool(obj, CKA_SENSITIVE));
    if (rv == CKR_OK)
        rv = qkt_obj_set_bool(obj, CKA_NEVER_EXTRACTABLE,
                              qkt_obj_bool(base, CKA_NEVER_EXTRACTABLE) &&
                                  !qkt_obj_bool(obj, CKA_EXTRACTABLE));
    if (rv == CKR_OK && (rv = qkt_object_add(s, obj, out)) == CKR_OK)
        obj = NULL;
    qkt_obj_free(obj);
    return rv;
}

/* CKM_DES3_KEY_GEN: 24 random bytes with odd parity in each byte (FIPS 46-3), never a key whose
 * first two or last two DES keys are equal (that is single DES). A template may name
 * CKA_VALUE_LEN only as 24. */
static CK_RV des3_key(QKT_SESSION *s, const CK_ATTRIBUTE *tpl, CK_ULONG n, CK_OBJECT_HANDLE *out)
{
    unsigned char *val;
    QKT_OBJ *obj = NULL;
    CK_ULONG len = 24;
    CK_RV rv = qkt_tpl_value_len(tpl, n, &len);

    if (rv != CKR_OK && rv != CKR_TEMPLATE_INCOMPLETE)
        return rv;
    if (len != 24)
        return CKR_TEMPLATE_INCONSISTENT;
    if ((val = qkt_secret_alloc(24)) == NULL)
        return CKR_HOST_MEMORY;
    do {
        if ((rv = qkt_random(val, 24)) != CKR_OK)
            goto done;
        for (int i = 0; i < 24; i++) {
            unsigned char b = val[i] & 0xfe;
            val[i] = b | !(__builtin_popcount(b) & 1); /* odd parity */
        }
    } while (memcmp(val, val + 8, 8) == 0 || memcmp(val + 8, val + 16, 8) == 0);
    if ((rv = qkt_secret_from(tpl, n, QKT_OP_GENERATE, CKK_DES3, CKM_DES3_KEY_GEN, val, 24,
                              &obj)) == CKR_OK &&
        (rv = qkt_object_add(s, obj, out)) != CKR_OK)
        qkt_obj_free(obj);
done:
    qkt_secret_free(val, 24);
    return rv;
}

/* A template attribute as a NUL-terminated string of at most max bytes. */
static CK_RV tpl_string(const CK_ATTRIBUTE *tpl, CK_ULONG n, CK_ATTRIBUTE_TYPE type, size_t max,
                        char *out)
{
    const CK_ATTRIBUTE *a = qkt_tpl_find(tpl, n, type);
    if (a == NULL)
        return CKR_TEMPLATE_INCOMPLETE;
    if (a->pValue == NULL || a->ulValueLen == 0 || a->ulValueLen > max ||
        memchr(a->pValue, 0, a->ulValueLen) != NULL)
        return CKR_ATTRIBUTE_VALUE_INVALID;
    memcpy(out, a->pValue, a->ulValueLen);
    out[a->ulValueLen] = 0;
    return CKR_OK;
}

static CK_RV qkd_key(QKT_SESSION *s, CK_MECHANISM_TYPE mech, const CK_ATTRIBUTE *tpl, CK_ULONG n,
                     CK_OBJECT_HANDLE *out)
{
    char peer[QKS_SAE_ID_MAX + 1], key_id[QKS_KEY_ID_MAX + 1];
    size_t qkd_len = qks_ctx_key_bytes(qkt_lib->qks);
    QKS_KEY *key = NULL;
    QKT_OBJ *obj = NULL;
    CK_ULONG len = qkd_len, kt = CKK_AES;
    unsigned char *probe = NULL;
    CK_RV rv;
    int err;

    if ((rv = tpl_string(tpl, n, CKA_QKEY_PEER, QKS_SAE_ID_MAX, peer)) != CKR_OK)
        return rv;
    if (!qks_valid_sae_id(peer))
        return CKR_ATTRIBUTE_VALUE_INVALID;
    if (mech == CKM_QKEY_QKD_KEY_NEW) {
        if (qkt_tpl_find(tpl, n, CKA_QKEY_KEY_ID) != NULL)
            return CKR_TEMPLATE_INCONSISTENT; /* the link chooses the key ID */
    } else {
        if ((rv = tpl_string(tpl, n, CKA_QKEY_KEY_ID, QKS_KEY_ID_MAX, key_id)) != CKR_OK)
            return rv;
        if (!qks_valid_key_id(key_id))
            return CKR_ATTRIBUTE_VALUE_INVALID;
    }
    rv = qkt_tpl_ulong(tpl, n, CKA_KEY_TYPE, &kt);
    if (rv != CKR_OK && rv != CKR_TEMPLATE_INCOMPLETE)
        return rv;
    rv = qkt_tpl_value_len(tpl, n, &len);
    if (rv != CKR_OK && rv != CKR_TEMPLATE_INCOMPLETE)
        return rv;
    if (len > qkd_len || qkt_key_len_check(kt, len) != CKR_OK)
        return CKR_TEMPLATE_INCONSISTENT;

    /* Dry run with a zero value: every template and access error shows up now. */
    if ((probe = qkt_secret_alloc(len)) == NULL)
        return CKR_HOST_MEMORY;
    rv = qkt_secret_from(tpl, n, QKT_OP_GENERATE, CKK_AES, mech, probe, len, &obj);
    qkt_secret_free(probe, len);
    if (rv != CKR_OK)
        return rv;
    if (qkt_obj_is_token(obj) && !qkt_session_rw(s))
        rv = CKR_SESSION_READ_ONLY;
    else if (qkt_obj_is_private(obj) && qkt_lib->login != CKU_USER)
        rv = CKR_USER_NOT_LOGGED_IN;
    else if (qkt_obj_needs_seal(obj) && qkt_lib->tk == NULL)
        rv = CKR_USER_NOT_LOGGED_IN;
    if (rv != CKR_OK)
        goto done;

    if (mech == CKM_QKEY_QKD_KEY_NEW)
        err = qks_key_new(qkt_lib->qks, peer, &key);
    else
        err = qks_key_get(qkt_lib->qks, peer, key_id, &key);
    if (err != QKS_OK) {
        rv = qkt_rv_from_qks(err);
        goto done;
    }
    if (key->len < len) {
        rv = CKR_DEVICE_ERROR;
        goto done;
    }
    if ((rv = qkt_obj_set(obj, CKA_VALUE, key->key, len)) != CKR_OK ||
        (rv = qkt_obj_set(obj, CKA_QKEY_KEY_ID, key->key_id, strlen(key->key_id))) != CKR_OK)
        goto done;
    if ((rv = qkt_object_add(s, obj, out)) == CKR_OK)
        obj = NULL;
done:
    qks_key_free(key);
    qkt_obj_free(obj);
    return rv;
}

CK_RV qkt_generate_key(QKT_SESSION *s, const CK_MECHANISM *mech, const CK_ATTRIBUTE *tpl,
                       CK_ULONG n, CK_OBJECT_HANDLE *out)
{
    const QKT_MECH_INFO *m = qkt_mech_find(mech->mechanism);

    if (m == NULL || !(m->flags & CKF_GENERATE))
        return CKR_MECHANISM_INVALID;
    if (mech->pParameter != NULL || mech->ulParameterLen != 0)
        return CKR_MECHANISM_PARAM_INVALID;
    switch (mech->mechanism) {
    case CKM_AES_KEY_GEN:
        return random_key(s, mech->mechanism, CKK_AES, tpl, n, out);
    case CKM_GENERIC_SECRET_KEY_GEN:
        return random_key(s, mech->mechanism, CKK_GENERIC_SECRET, tpl, n, out);
    case CKM_DES3_KEY_GEN:
        return des3_key(s, tpl, n, out);
    default:
        return qkd_key(s, mech->mechanism, tpl, n, out);
    }
}
