/*
 * Mechanisms: the table C_GetMechanismList/C_GetMechanismInfo report, and the life cycle of
 * an operation shared by every family (PKCS#11 Base 3.0, 5.8 - 5.13): Init refuses a second
 * active operation; a length query (NULL output) or CKR_BUFFER_TOO_SMALL keeps the operation
 * alive; any other result of a single-part call or a Final ends it; an error in an Update ends
 * it. Output lengths asked for are upper bounds that the token then meets exactly.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define ENC_DEC   (CKF_ENCRYPT | CKF_DECRYPT)
#define SIG_VER   (CKF_SIGN | CKF_VERIFY)
#define EC_CURVES (CKF_EC_F_P | CKF_EC_NAMEDCURVE | CKF_EC_UNCOMPRESS)

static const QKT_MECH_INFO mechs[] = {
    {CKM_AES_KEY_GEN, 16, 32, CKF_GENERATE},
    {CKM_GENERIC_SECRET_KEY_GEN, 1, 512, CKF_GENERATE},
    {CKM_AES_GCM, 16, 32, ENC_DEC},
    {CKM_AES_ECB, 16, 32, ENC_DEC},
    {CKM_AES_CBC, 16, 32, ENC_DEC},
    {CKM_AES_CBC_PAD, 16, 32, ENC_DEC},
    {CKM_AES_CTR, 16, 32, ENC_DEC},
    {CKM_DES3_KEY_GEN, 24, 24, CKF_GENERATE},
    {CKM_DES3_ECB, 24, 24, ENC_DEC},
    {CKM_DES3_CBC, 24, 24, ENC_DEC},
    {CKM_DES3_CBC_PAD, 24, 24, ENC_DEC},
    {CKM_AES_KEY_WRAP, 16, 32, ENC_DEC | CKF_WRAP | CKF_UNWRAP},
    {CKM_AES_KEY_WRAP_KWP, 16, 32, ENC_DEC | CKF_WRAP | CKF_UNWRAP},
    {CKM_AES_CMAC, 16, 32, SIG_VER},
    {CKM_SHA256, 0, 0, CKF_DIGEST},
    {CKM_SHA384, 0, 0, CKF_DIGEST},
    {CKM_SHA512, 0, 0, CKF_DIGEST},
    {CKM_SHA256_HMAC, 1, 512, SIG_VER},
    {CKM_SHA384_HMAC, 1, 512, SIG_VER},
    {CKM_SHA512_HMAC, 1, 512, SIG_VER},
    {CKM_HKDF_DERIVE, 1, 512, CKF_DERIVE},
    /* key pairs: sizes in bits (RSA modulus, EC field), as the spec counts them */
    {CKM_RSA_PKCS_KEY_PAIR_GEN, 2048, 4096, CKF_GENERATE_KEY_PAIR},
    {CKM_EC_KEY_PAIR_GEN, 256, 521, CKF_GENERATE_KEY_PAIR | EC_CURVES},
    {CKM_EC_EDWARDS_KEY_PAIR_GEN, 255, 448, CKF_GENERATE_KEY_PAIR},
    {CKM_EC_MONTGOMERY_KEY_PAIR_GEN, 255, 448, CKF_GENERATE_KEY_PAIR},
    {CKM_RSA_PKCS, 2048, 4096, ENC_DEC | SIG_VER},
    {CKM_RSA_PKCS_OAEP, 2048, 4096, ENC_DEC},
    {CKM_RSA_PKCS_PSS, 2048, 4096, SIG_VER},
    {CKM_SHA256_RSA_PKCS, 2048, 4096, SIG_VER},
    {CKM_SHA384_RSA_PKCS, 2048, 4096, SIG_VER},
    {CKM_SHA512_RSA_PKCS, 2048, 4096, SIG_VER},
    {CKM_SHA256_RSA_PKCS_PSS, 2048, 4096, SIG_VER},
    {CKM_SHA384_RSA_PKCS_PSS, 2048, 4096, SIG_VER},
    {CKM_SHA512_RSA_PKCS_PSS, 2048, 4096, SIG_VER},
    {CKM_ECDSA, 256, 521, SIG_VER | EC_CURVES},
    {CKM_ECDSA_SHA1, 256, 521, SIG_VER | EC_CURVES}, /* asym.c: SHA-1 for this one only */
    {CKM_ECDSA_SHA256, 256, 521, SIG_VER | EC_CURVES},
    {CKM_ECDSA_SHA384, 256, 521, SIG_VER | EC_CURVES},
    {CKM_ECDSA_SHA512, 256, 521, SIG_VER | EC_CURVES},
    {CKM_EDDSA, 255, 448, SIG_VER},
    {CKM_ECDH1_DERIVE, 255, 521, CKF_DERIVE | EC_CURVES},
    {CKM_SP800_108_COUNTER_KDF, 1, 512, CKF_DERIVE},
    {CKM_QKEY_QKD_KEY_NEW, 16, QKS_KEY_MAX, CKF_GENERATE},
    {CKM_QKEY_QKD_KEY_GET, 16, QKS_KEY_MAX, CKF_GENERATE},
};
#define N_MECHS (sizeof(mechs) / sizeof(mechs[0]))

static int offered(const QKT_MECH_INFO *m)
{
    /* The QKD mechanisms exist only where a QKD link is configured. */
    if (m->type == CKM_QKEY_QKD_KEY_NEW || m->type == CKM_QKEY_QKD_KEY_GET)
        return qks_ctx_has_qkd(qkt_lib->qks);
    /* Key pairs only from the quantum seed source (seedsrc.c). */
    if (m->flags & CKF_GENERATE_KEY_PAIR)
        return qkt_lib->seedprov != NULL;
    return 1;
}

const QKT_MECH_INFO *qkt_mech_find(CK_MECHANISM_TYPE type)
{
    for (size_t i = 0; i < N_MECHS; i++)
        if (mechs[i].type == type && offered(&mechs[i]))
            return &mechs[i];
    return NULL;
}

CK_RV qkt_mech_list(CK_MECHANISM_TYPE *list, CK_ULONG *count)
{
    CK_ULONG n = 0;
    for (size_t i = 0; i < N_MECHS; i++)
        n += offered(&mechs[i]);
    if (list == NULL) {
        *count = n;
        return CKR_OK;
    }
    if (*count < n) {
        *count = n;
        return CKR_BUFFER_TOO_SMALL;
    }
    n = 0;
    for (size_t i = 0; i < N_MECHS; i++)
        if (offered(&mechs[i]))
            list[n++] = mechs[i].type;
    *count = n;
    return CKR_OK;
}

CK_RV qkt_mech_info(CK_MECHANISM_TYPE type, CK_MECHANISM_INFO *info)
{
    const QKT_MECH_INFO *m = qkt_mech_find(type);
    if (m == NULL)
        return CKR_MECHANISM_INVALID;
    info->ulMinKeySize = m->min;
    info->ulMaxKeySize = m->max;
    if (type == CKM_QKEY_QKD_KEY_NEW || type == CKM_QKEY_QKD_KEY_GET)
        info->ulMaxKeySize = qks_ctx_key_bytes(qkt_lib->qks);
    info->flags = m->flags;
    return CKR_OK;
}

QKT_OP **qkt_op_slot(QKT_SESSION *s, int kind)
{
    switch (kind) {
    case QKT_ENCRYPT:
        return &s->enc;
    case QKT_DECRYPT:
        return &s->dec;
    case QKT_DIGEST:
        return &s->digest;
    case QKT_SIGN:
        return &s->sign;
    default:
        return &s->verify;
    }
}

void qkt_op_free(QKT_OP *op)
{
    if (op == NULL)
        return;
    EVP_MD_CTX_free(op->md);
    EVP_MAC_CTX_free(op->mac);
    EVP_CIPHER_CTX_free(op->cipher);
    EVP_PKEY_CTX_free(op->pctx);
    if (op->buf != NULL)
        qkt_secret_free(op->buf, op->bufcap);
    if (op->key != NULL)
        qkt_secret_free(op->key, op->keylen);
    free(op);
}

void qkt_op_end(QKT_SESSION *s, int kind)
{
    QKT_OP **slot = qkt_op_slot(s, kind);
    qkt_op_free(*slot);
    *slot = NULL;
}

CK_RV qkt_key_usable(const QKT_OBJ *key, CK_ATTRIBUTE_TYPE usage, CK_MECHANISM_TYPE mech,
                     CK_KEY_TYPE need)
{
    const QKT_ATTR *allowed = qkt_obj_attr(key, CKA_ALLOWED_MECHANISMS);
    CK_KEY_TYPE kt = qkt_obj_ulong(key, CKA_KEY_TYPE, CK_UNAVAILABLE_INFORMATION);

    if (!qkt_obj_bool(key, usage))
        return CKR_KEY_FUNCTION_NOT_PERMITTED;
    if (allowed != NULL && allowed->len > 0) {
        int ok = 0;
        for (size_t i = 0; i + sizeof(CK_ULONG) <= allowed->len; i += sizeof(CK_ULONG)) {
            CK_MECHANISM_TYPE m;
            memcpy(&m, allowed->val + i, sizeof(m));
            ok |= m == mech;
        }
        if (!ok)
            return CKR_MECHANISM_INVALID;
    }
    if (need == CKK_GENERIC_SECRET)
        return kt == CKK_GENERIC_SECRET || kt == CKK_HKDF ? CKR_OK : CKR_KEY_TYPE_INCONSISTENT;
    return kt == need ? CKR_OK : CKR_KEY_TYPE_INCONSISTENT;
}

static const CK_FLAGS kind_flag[] = {CKF_ENCRYPT, CKF_DECRYPT, CKF_DIGEST, CKF_SIGN, CKF_VERIFY};
static const CK_ATTRIBUTE_TYPE kind_usage[] = {CKA_ENCRYPT, CKA_DECRYPT, 0, CKA_SIGN, CKA_VERIFY};

CK_RV qkt_op_init(QKT_SESSION *s, int kind, const CK_MECHANISM *mech, CK_OBJECT_HANDLE h)
{
    QKT_OP **slot = qkt_op_slot(s, kind), *op;
    const QKT_MECH_INFO *m;
    QKT_OBJ *key = NULL;
    CK_RV rv;

    if (*slot != NULL)
        return CKR_OPERATION_ACTIVE;
    if ((m = qkt_mech_find(mech->mechanism)) == NULL || !(m->flags & kind_flag[kind]))
        return CKR_MECHANISM_INVALID;
    if (kind != QKT_DIGEST) {
        int hmac = mech->mechanism == CKM_SHA256_HMAC || mech->mechanism == CKM_SHA384_HMAC ||
                   mech->mechanism == CKM_SHA512_HMAC;
        CK_KEY_TYPE need = hmac                             ? CKK_GENERIC_SECRET
                           : qkt_asym_mech(mech->mechanism) ? qkt_asym_key_type(mech->mechanism)
                                                            : qkt_cipher_key_type(mech->mechanism);
        if ((rv = qkt_key_get(s, h, &key)) != CKR_OK ||
            (rv = qkt_key_usable(key, kind_usage[kind], mech->mechanism, need)) != CKR_OK)
            return rv;
    }
    if ((op = calloc(1, sizeof(*op))) == NULL)
        return CKR_HOST_MEMORY;
    op->kind = kind;
    op->mech = mech->mechanism;
    op->auth_needed = (kind == QKT_SIGN || kind == QKT_DECRYPT) &&
                      qkt_obj_class(key) == CKO_PRIVATE_KEY &&
                      qkt_obj_bool(key, CKA_ALWAYS_AUTHENTICATE);
    if (kind == QKT_DIGEST)
        rv = qkt_digest_init(op, mech);
    else if (qkt_asym_mech(mech->mechanism))
        rv = qkt_asym_init(op, mech, key);
    else if (kind == QKT_SIGN || kind == QKT_VERIFY)
        rv = qkt_mac_init(op, mech, key);
    else
        rv = qkt_cipher_init(op, mech, key);
    if (rv != CKR_OK) {
        qkt_op_free(op);
        return rv;
    }
    *slot = op;
    return CKR_OK;
}

/* Digest or MAC: absorb input. */
static CK_RV absorb(QKT_OP *op, const CK_BYTE *in, CK_ULONG inlen)
{
    if (op->md != NULL)
        return EVP_DigestUpdate(op->md, in, inlen) ? CKR_OK : CKR_FUNCTION_FAILED;
    return EVP_MAC_update(op->mac, in, inlen) ? CKR_OK : CKR_FUNCTION_FAILED;
}

static CK_RV squeeze(QKT_OP *op, CK_BYTE *out)
{
    unsigned int n;
    size_t m;
    if (op->md != NULL)
        return EVP_DigestFinal_ex(op->md, out, &n) ? CKR_OK : CKR_FUNCTION_FAILED;
    return EVP_MAC_final(op->mac, out, &m, op->out_len) ? CKR_OK : CKR_FUNCTION_FAILED;
}

/* Length query / buffer check shared by every producer of output. */
static CK_RV out_check(CK_BYTE *out, CK_ULONG *outlen, CK_ULONG need, int *done)
{
    *done = 1;
    if (out == NULL) {
        *outlen = need;
        return CKR_OK;
    }
    if (*outlen < need) {
        *outlen = need;
        return CKR_BUFFER_TOO_SMALL;
    }
    *done = 0;
    return CKR_OK;
}

/* Key-pair operations (asym.c) under the same rules: a length query or CKR_BUFFER_TOO_SMALL
 * keeps the operation, anything else ends it. Input is collected or digested by asym.c. */
/* A key with CKA_ALWAYS_AUTHENTICATE is used only after C_Login(CKU_CONTEXT_SPECIFIC). */
static CK_RV authorised(QKT_SESSION *s, QKT_OP *op)
{
    if (!op->auth_needed || op->auth_ok)
        return CKR_OK;
    qkt_op_end(s, op->kind);
    return CKR_USER_NOT_LOGGED_IN;
}

static CK_RV asym_finish(QKT_SESSION *s, QKT_OP *op, CK_BYTE *out, CK_ULONG *outlen)
{
    int done;
    CK_RV rv;

    if ((rv = authorised(s, op)) != CKR_OK)
        return rv;
    if (op->kind == QKT_SIGN) {
        rv = out_check(out, outlen, op->out_len, &done);
        if (done)
            return rv;
        rv = qkt_asym_sign(op, out, outlen);
    } else {
        rv = qkt_asym_crypt(op, out, outlen);
        if ((rv == CKR_OK && out == NULL) || rv == CKR_BUFFER_TOO_SMALL)
            return rv;
    }
    qkt_op_end(s, op->kind);
    return rv;
}

static CK_RV asym_oneshot(QKT_SESSION *s, QKT_OP *op, const CK_BYTE *in, CK_ULONG inlen,
                          CK_BYTE *out, CK_ULONG *outlen)
{
    CK_RV rv;

    if (op->started) {
        qkt_op_end(s, op->kind);
        return CKR_OPERATION_ACTIVE;
    }
    if ((rv = authorised(s, op)) != CKR_OK)
        return rv;
    if (op->kind == QKT_SIGN) { /* the length is known: answer before any input is taken */
        int done;
        rv = out_check(out, outlen, op->out_len, &done);
        if (done)
            return rv;
    }
    op->buflen = 0; /* a repeated call after a length query gives the input again */
    if ((rv = qkt_asym_update(op, in, inlen)) != CKR_OK) {
        qkt_op_end(s, op->kind);
        return rv;
    }
    return asym_finish(s, op, out, outlen);
}

CK_RV qkt_op_oneshot(QKT_SESSION *s, int kind, const CK_BYTE *in, CK_ULONG inlen, CK_BYTE *out,
                     CK_ULONG *outlen)
{
    QKT_OP *op = *qkt_op_slot(s, kind);
    CK_ULONG need, n1, n2;
    int done;
    CK_RV rv;

    if (op == NULL)
        return CKR_OPERATION_NOT_INITIALIZED;
    if (op->asym)
        return asym_oneshot(s, op, in, inlen, out, outlen);
    if (kind == QKT_DIGEST || kind == QKT_SIGN) {
        if (op->started) {
            /* Base 3.0, 5.10: C_Digest/C_Sign cannot finish a multi-part operation. */
            qkt_op_end(s, kind);
            return CKR_OPERATION_ACTIVE;
        }
        rv = out_check(out, outlen, op->out_len, &done);
        if (done)
            return rv;
        if ((rv = absorb(op, in, inlen)) == CKR_OK && (rv = squeeze(op, out)) == CKR_OK)
            *outlen = op->out_len;
        qkt_op_end(s, kind);
        return rv;
    }
    if (op->started) {
        qkt_op_end(s, kind);
        return CKR_OPERATION_ACTIVE;
    }
    if ((rv = qkt_cipher_oneshot_bound(op, inlen, &need)) != CKR_OK) {
        qkt_op_end(s, kind);
        return rv;
    }
    rv = out_check(out, outlen, need, &done);
    if (done)
        return rv;
    n1 = *outlen;
    rv = qkt_cipher_update(op, in, inlen, out, &n1);
    if (rv == CKR_OK) {
        n2 = *outlen - n1;
        rv = qkt_cipher_final(op, out + n1, &n2);
        if (rv == CKR_OK)
            *outlen = n1 + n2;
    }
    qkt_op_end(s, kind);
    return rv;
}

CK_RV qkt_op_update(QKT_SESSION *s, int kind, const CK_BYTE *in, CK_ULONG inlen, CK_BYTE *out,
                    CK_ULONG *outlen)
{
    QKT_OP *op = *qkt_op_slot(s, kind);
    int done;
    CK_RV rv;

    if (op == NULL)
        return CKR_OPERATION_NOT_INITIALIZED;
    if (op->asym) {
        if ((rv = authorised(s, op)) != CKR_OK)
            return rv;
        if (outlen != NULL) /* encrypt/decrypt: all output comes at the final step */
            *outlen = 0;
        op->started = 1;
        if ((rv = qkt_asym_update(op, in, inlen)) != CKR_OK)
            qkt_op_end(s, kind);
        return rv;
    }
    if (kind == QKT_DIGEST || kind == QKT_SIGN || kind == QKT_VERIFY) {
        op->started = 1;
        if ((rv = absorb(op, in, inlen)) != CKR_OK)
            qkt_op_end(s, kind);
        return rv;
    }
    rv = out_check(out, outlen, qkt_cipher_update_bound(op, inlen), &done);
    if (done)
        return rv;
    op->started = 1;
    if ((rv = qkt_cipher_update(op, in, inlen, out, outlen)) != CKR_OK)
        qkt_op_end(s, kind);
    return rv;
}

CK_RV qkt_op_final(QKT_SESSION *s, int kind, CK_BYTE *out, CK_ULONG *outlen)
{
    QKT_OP *op = *qkt_op_slot(s, kind);
    CK_ULONG need;
    int done;
    CK_RV rv;

    if (op == NULL)
        return CKR_OPERATION_NOT_INITIALIZED;
    if (op->asym)
        return asym_finish(s, op, out, outlen);
    need = kind == QKT_DIGEST || kind == QKT_SIGN ? op->out_len : qkt_cipher_final_bound(op);
    rv = out_check(out, outlen, need, &done);
    if (done)
        return rv;
    if (kind == QKT_DIGEST || kind == QKT_SIGN) {
        if ((rv = squeeze(op, out)) == CKR_OK)
            *outlen = op->out_len;
    } else {
        rv = qkt_cipher_final(op, out, outlen);
    }
    qkt_op_end(s, kind);
    return rv;
}

CK_RV qkt_op_verify(QKT_SESSION *s, const CK_BYTE *in, CK_ULONG inlen, const CK_BYTE *sig,
                    CK_ULONG siglen, int oneshot)
{
    QKT_OP *op = s->verify;
    unsigned char mac[EVP_MAX_MD_SIZE];
    CK_RV rv;

    if (op == NULL)
        return CKR_OPERATION_NOT_INITIALIZED;
    if (oneshot && op->started)
        rv = CKR_OPERATION_ACTIVE;
    else if (op->asym) {
        if (!oneshot || (rv = qkt_asym_update(op, in, inlen)) == CKR_OK)
            rv = qkt_asym_verify(op, sig, siglen);
    } else if ((!oneshot || (rv = absorb(op, in, inlen)) == CKR_OK) &&
               (rv = squeeze(op, mac)) == CKR_OK) {
        if (siglen != op->out_len)
            rv = CKR_SIGNATURE_LEN_RANGE;
        else if (qks_memcmp_ct(mac, sig, siglen) != 0)
            rv = CKR_SIGNATURE_INVALID;
    }
    qks_wipe(mac, sizeof(mac));
    qkt_op_end(s, QKT_VERIFY);
    return rv;
}

CK_RV qkt_op_digest_key(QKT_SESSION *s, CK_OBJECT_HANDLE h)
{
    QKT_OP *op = s->digest;
    QKT_OBJ *key;
    CK_RV rv;

    if (op == NULL)
        return CKR_OPERATION_NOT_INITIALIZED;
    if ((rv = qkt_key_get(s, h, &key)) != CKR_OK)
        return rv;
    /* A digest of a secret value is as good as the value for a short key: only for keys
     * whose value may leave the token anyway. */
    if (qkt_obj_class(key) != CKO_SECRET_KEY || qkt_attr_is_sensitive(key, CKA_VALUE))
        return CKR_KEY_INDIGESTIBLE;
    const QKT_ATTR *v = qkt_obj_attr(key, CKA_VALUE);
    op->started = 1;
    if ((rv = absorb(op, v->val, v->len)) != CKR_OK)
        qkt_op_end(s, QKT_DIGEST);
    return rv;
}
