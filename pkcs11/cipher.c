/*
 * AES encryption and decryption: CKM_AES_GCM (CK_GCM_PARAMS; Current Mechanisms 3.0, 2.12.3),
 * CKM_AES_CBC_PAD (16-byte IV, PKCS#7 padding), CKM_AES_CTR (CK_AES_CTR_PARAMS), and
 * CKM_AES_KEY_WRAP_KWP (RFC 5649, default AIV) as single- or multi-part operations.
 * GCM decryption and KWP collect their input and produce output at Final, so no plaintext
 * leaves the token before the tag (or the integrity check) has been verified.
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"

#define GCM_IV_MAX 256

static int is_enc(const QKT_OP *op)
{
    return op->kind == QKT_ENCRYPT;
}

static int collects(const QKT_OP *op)
{
    return op->mech == CKM_AES_KEY_WRAP_KWP || op->mech == CKM_AES_KEY_WRAP ||
           (op->mech == CKM_AES_GCM && !is_enc(op));
}

static CK_RV collect(QKT_OP *op, const CK_BYTE *in, CK_ULONG inlen)
{
    if (op->buflen + inlen > op->bufcap) {
        size_t cap = op->bufcap ? op->bufcap : 256;
        while (cap < op->buflen + inlen)
            cap *= 2;
        unsigned char *n = qkt_secret_alloc(cap);
        if (n == NULL)
            return CKR_HOST_MEMORY;
        if (op->buflen)
            memcpy(n, op->buf, op->buflen);
        if (op->buf != NULL)
            qkt_secret_free(op->buf, op->bufcap);
        op->buf = n;
        op->bufcap = cap;
    }
    if (inlen)
        memcpy(op->buf + op->buflen, in, inlen);
    op->buflen += inlen;
    return CKR_OK;
}

/* ---- algorithms fetched once from the token's library context ------------------------ */
/* Sized by its initialisers, so the _Static_assert below catches a QKT_NCIPHERS that drifted */
static const char *const cipher_names[] = {
    "AES-128-GCM",      "AES-192-GCM",      "AES-256-GCM",  "AES-128-CBC",  "AES-192-CBC",
    "AES-256-CBC",      "AES-128-CTR",      "AES-192-CTR",  "AES-256-CTR",  "AES-128-WRAP-PAD",
    "AES-192-WRAP-PAD", "AES-256-WRAP-PAD", "AES-128-ECB",  "AES-192-ECB",  "AES-256-ECB",
    "AES-128-WRAP",     "AES-192-WRAP",     "AES-256-WRAP", "DES-EDE3-ECB", "DES-EDE3-CBC",
};

/* The block-cipher modes, one row each (3DES keys are three DES keys, 24 bytes with parity). */
static const struct {
    CK_MECHANISM_TYPE mech;
    CK_KEY_TYPE kt;
    const char *mode; /* the EVP mode */
    size_t iv;        /* IV bytes in the parameter; 0: no parameter */
    int pad;          /* PKCS#7 padding; without it, whole blocks only */
} block_modes[] = {
    {CKM_AES_ECB, CKK_AES, "ECB", 0, 0},      {CKM_AES_CBC, CKK_AES, "CBC", 16, 0},
    {CKM_AES_CBC_PAD, CKK_AES, "CBC", 16, 1}, {CKM_DES3_ECB, CKK_DES3, "ECB", 0, 0},
    {CKM_DES3_CBC, CKK_DES3, "CBC", 8, 0},    {CKM_DES3_CBC_PAD, CKK_DES3, "CBC", 8, 1},
};

static int block_mode(CK_MECHANISM_TYPE mech)
{
    for (size_t i = 0; i < sizeof(block_modes) / sizeof(block_modes[0]); i++)
        if (block_modes[i].mech == mech)
            return (int)i;
    return -1;
}

CK_KEY_TYPE qkt_cipher_key_type(CK_MECHANISM_TYPE mech)
{
    int i = block_mode(mech);
    return i < 0 ? CKK_AES : block_modes[i].kt;
}

/* ECB and CBC without padding: whole blocks only */
static int unpadded(const QKT_OP *op)
{
    int i = block_mode(op->mech);
    return i >= 0 && !block_modes[i].pad;
}

/* CBC with PKCS#7 padding */
static int padded(const QKT_OP *op)
{
    int i = block_mode(op->mech);
    return i >= 0 && block_modes[i].pad;
}

const EVP_CIPHER *qkt_cipher_fetch(const char *name)
{
    for (size_t i = 0; i < sizeof(cipher_names) / sizeof(cipher_names[0]); i++)
        if (strcmp(cipher_names[i], name) == 0) {
            if (qkt_lib->ciphers[i] == NULL)
                qkt_lib->ciphers[i] = EVP_CIPHER_fetch(qkt_lib->libctx, name, NULL);
            return qkt_lib->ciphers[i];
        }
    return NULL;
}

_Static_assert(sizeof(cipher_names) / sizeof(cipher_names[0]) == QKT_NCIPHERS,
               "QKT_NCIPHERS sizes the cache of cipher_names");

void qkt_cipher_cache_free(void)
{
    for (size_t i = 0; i < QKT_NCIPHERS; i++) {
        EVP_CIPHER_free(qkt_lib->ciphers[i]);
        qkt_lib->ciphers[i] = NULL;
    }
}

static const EVP_CIPHER *aes(const char *mode, size_t keylen)
{
    char name[32];
    snprintf(name, sizeof(name), "AES-%zu-%s", keylen * 8, mode);
    return qkt_cipher_fetch(name);
}

static CK_RV gcm_init(QKT_OP *op, const CK_MECHANISM *mech, const QKT_ATTR *key)
{
    const CK_GCM_PARAMS *p = mech->pParameter;
    const EVP_CIPHER *c = aes("GCM", key->len);
    int n;

    if (p == NULL || mech->ulParameterLen != sizeof(*p))
        return CKR_MECHANISM_PARAM_INVALID;
    if (p->ulIvLen == 0 || p->ulIvLen > GCM_IV_MAX || p->pIv == NULL ||
        (p->pAAD == NULL && p->ulAADLen != 0) || p->ulTagBits % 8 != 0 || p->ulTagBits < 32 ||
        p->ulTagBits > 128)
        return CKR_MECHANISM_PARAM_INVALID;
    op->out_len = p->ulTagBits / 8;
    int ivlen = (int)p->ulIvLen;
    if (c == NULL || (op->cipher = EVP_CIPHER_CTX_new()) == NULL ||
        !EVP_CipherInit_ex2(op->cipher, c, NULL, NULL, is_enc(op), NULL) ||
        !EVP_CIPHER_CTX_ctrl(op->cipher, EVP_CTRL_AEAD_SET_IVLEN, ivlen, NULL) ||
        !EVP_CipherInit_ex2(op->cipher, NULL, key->val, p->pIv, is_enc(op), NULL) ||
        (p->ulAADLen && !EVP_CipherUpdate(op->cipher, NULL, &n, p->pAAD, (int)p->ulAADLen)))
        return CKR_FUNCTION_FAILED;
    return CKR_OK;
}

static CK_RV plain_init(QKT_OP *op, const EVP_CIPHER *c, const unsigned char *iv,
                        const QKT_ATTR *key)
{
    if (c == NULL || (op->cipher = EVP_CIPHER_CTX_new()) == NULL ||
        !EVP_CipherInit_ex2(op->cipher, c, key->val, iv, is_enc(op), NULL))
        return CKR_FUNCTION_FAILED;
    op->block = (size_t)EVP_CIPHER_get_block_size(c);
    return CKR_OK;
}

/* KWP: no parameter, or the RFC 5649 default AIV. */
static const unsigned char kwp_aiv[4] = {0xA6, 0x59, 0x59, 0xA6};

static CK_RV kwp_param_check(const CK_MECHANISM *mech)
{
    if (mech->pParameter == NULL && mech->ulParameterLen == 0)
        return CKR_OK;
    if (mech->ulParameterLen == sizeof(kwp_aiv) && mech->pParameter != NULL &&
        memcmp(mech->pParameter, kwp_aiv, sizeof(kwp_aiv)) == 0)
        return CKR_OK;
    return CKR_MECHANISM_PARAM_INVALID;
}

/* KW: no parameter, or the RFC 3394 default IV. */
static CK_RV kw_param_check(const CK_MECHANISM *mech)
{
    static const unsigned char iv[8] = {0xA6, 0xA6, 0xA6, 0xA6, 0xA6, 0xA6, 0xA6, 0xA6};
    if (mech->pParameter == NULL && mech->ulParameterLen == 0)
        return CKR_OK;
    if (mech->ulParameterLen == sizeof(iv) && mech->pParameter != NULL &&
        memcmp(mech->pParameter, iv, sizeof(iv)) == 0)
        return CKR_OK;
    return CKR_MECHANISM_PARAM_INVALID;
}

CK_RV qkt_keywrap_param(const CK_MECHANISM *mech)
{
    switch (mech->mechanism) {
    case CKM_AES_KEY_WRAP_KWP:
        return kwp_param_check(mech);
    case CKM_AES_KEY_WRAP:
        return kw_param_check(mech);
    default:
        return CKR_MECHANISM_INVALID;
    }
}

CK_RV qkt_cipher_init(QKT_OP *op, const CK_MECHANISM *mech, const QKT_OBJ *keyobj)
{
    const QKT_ATTR *key = qkt_obj_attr(keyobj, CKA_VALUE);
    CK_RV rv;

    int b = block_mode(mech->mechanism);

    if (key == NULL || qkt_key_len_check(qkt_cipher_key_type(mech->mechanism), key->len) != CKR_OK)
        return CKR_KEY_SIZE_RANGE;
    if (b >= 0) {
        char name[32];
        size_t iv = block_modes[b].iv;
        if (iv ? mech->pParameter == NULL || mech->ulParameterLen != iv
               : mech->pParameter != NULL || mech->ulParameterLen != 0)
            return CKR_MECHANISM_PARAM_INVALID;
        if (block_modes[b].kt == CKK_DES3)
            snprintf(name, sizeof(name), "DES-EDE3-%s", block_modes[b].mode);
        else
            snprintf(name, sizeof(name), "AES-%zu-%s", key->len * 8, block_modes[b].mode);
        if ((rv = plain_init(op, qkt_cipher_fetch(name), iv ? mech->pParameter : NULL, key)) !=
            CKR_OK)
            return rv;
        if (!block_modes[b].pad && !EVP_CIPHER_CTX_set_padding(op->cipher, 0))
            return CKR_FUNCTION_FAILED;
        return CKR_OK;
    }
    switch (mech->mechanism) {
    case CKM_AES_GCM:
        return gcm_init(op, mech, key);
    case CKM_AES_CTR: {
        const CK_AES_CTR_PARAMS *p = mech->pParameter;
        if (p == NULL || mech->ulParameterLen != sizeof(*p) || p->ulCounterBits == 0 ||
            p->ulCounterBits > 128)
            return CKR_MECHANISM_PARAM_INVALID;
        return plain_init(op, aes("CTR", key->len), p->cb, key);
    }
    case CKM_AES_KEY_WRAP_KWP:
    case CKM_AES_KEY_WRAP:
        if ((rv = qkt_keywrap_param(mech)) != CKR_OK)
            return rv;
        if ((op->key = qkt_secret_alloc(key->len)) == NULL)
            return CKR_HOST_MEMORY;
        memcpy(op->key, key->val, key->len);
        op->keylen = key->len;
        return CKR_OK;
    default:
        return CKR_MECHANISM_INVALID;
    }
}

CK_ULONG qkt_cipher_update_bound(const QKT_OP *op, CK_ULONG inlen)
{
    if (collects(op))
        return 0;
    if (padded(op) || unpadded(op))
        return (CK_ULONG)((op->pending + inlen) / op->block * op->block);
    return inlen;
}

/* KWP pads to 8 bytes; KW takes whole 8-byte blocks: both add one block of integrity check. */
static CK_ULONG kwp_out(const QKT_OP *op, size_t inlen)
{
    if (is_enc(op))
        return (CK_ULONG)((inlen + 7) / 8 * 8 + 8);
    return inlen >= 8 ? (CK_ULONG)(inlen - 8) : 0;
}

CK_ULONG qkt_cipher_final_bound(const QKT_OP *op)
{
    switch (op->mech) {
    case CKM_AES_GCM:
        if (is_enc(op))
            return (CK_ULONG)op->out_len;
        return op->buflen >= op->out_len ? (CK_ULONG)(op->buflen - op->out_len) : 0;
    case CKM_AES_CBC_PAD:
    case CKM_DES3_CBC_PAD:
        return (CK_ULONG)op->block;
    case CKM_AES_KEY_WRAP_KWP:
    case CKM_AES_KEY_WRAP:
        return kwp_out(op, op->buflen);
    default:
        return 0;
    }
}

CK_RV qkt_cipher_oneshot_bound(const QKT_OP *op, CK_ULONG inlen, CK_ULONG *need)
{
    switch (op->mech) {
    case CKM_AES_GCM:
        if (is_enc(op)) {
            *need = inlen + (CK_ULONG)op->out_len;
            return CKR_OK;
        }
        if (inlen < op->out_len)
            return CKR_ENCRYPTED_DATA_LEN_RANGE;
        *need = inlen - (CK_ULONG)op->out_len;
        return CKR_OK;
    case CKM_AES_CBC_PAD:
    case CKM_DES3_CBC_PAD:
        if (is_enc(op)) {
            *need = (inlen / op->block + 1) * op->block;
            return CKR_OK;
        }
        if (inlen == 0 || inlen % op->block != 0)
            return CKR_ENCRYPTED_DATA_LEN_RANGE;
        *need = inlen;
        return CKR_OK;
    case CKM_AES_ECB:
    case CKM_AES_CBC:
    case CKM_DES3_ECB:
    case CKM_DES3_CBC:
        if (inlen % op->block != 0)
            return is_enc(op) ? CKR_DATA_LEN_RANGE : CKR_ENCRYPTED_DATA_LEN_RANGE;
        *need = inlen;
        return CKR_OK;
    case CKM_AES_KEY_WRAP:
        if (is_enc(op) ? inlen < 16 || inlen % 8 != 0 : inlen < 24 || inlen % 8 != 0)
            return is_enc(op) ? CKR_DATA_LEN_RANGE : CKR_ENCRYPTED_DATA_LEN_RANGE;
        *need = kwp_out(op, inlen);
        return CKR_OK;
    case CKM_AES_KEY_WRAP_KWP:
        if (is_enc(op) && inlen == 0)
            return CKR_DATA_LEN_RANGE;
        if (!is_enc(op) && (inlen < 16 || inlen % 8 != 0))
            return CKR_ENCRYPTED_DATA_LEN_RANGE;
        *need = kwp_out(op, inlen);
        return CKR_OK;
    default:
        *need = inlen;
        return CKR_OK;
    }
}

CK_RV qkt_cipher_update(QKT_OP *op, const CK_BYTE *in, CK_ULONG inlen, CK_BYTE *out,
                        CK_ULONG *outlen)
{
    int n = 0;
    if (collects(op)) {
        *outlen = 0;
        return collect(op, in, inlen);
    }
    if (inlen > 0x7fffffffUL)
        return CKR_DATA_LEN_RANGE;
    if (inlen && !EVP_CipherUpdate(op->cipher, out, &n, in, (int)inlen))
        return CKR_FUNCTION_FAILED;
    op->pending = op->pending + inlen - (size_t)n;
    *outlen = (CK_ULONG)n;
    return CKR_OK;
}

CK_RV qkt_keywrap(CK_MECHANISM_TYPE mech, int enc, const unsigned char *kek, size_t keklen,
                  const unsigned char *in, size_t inlen, unsigned char *out, size_t *outlen)
{
    int kw = mech == CKM_AES_KEY_WRAP; /* RFC 3394: whole 8-byte blocks, at least two */
    const EVP_CIPHER *c = aes(kw ? "WRAP" : "WRAP-PAD", keklen);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n = 0;
    CK_RV rv = CKR_FUNCTION_FAILED;

    if (c == NULL || ctx == NULL)
        goto done;
    if (enc ? (kw ? inlen < 16 || inlen % 8 != 0 : inlen == 0)
            : (inlen < (kw ? 24u : 16u) || inlen % 8 != 0)) {
        rv = enc ? CKR_DATA_LEN_RANGE : CKR_ENCRYPTED_DATA_LEN_RANGE;
        goto done;
    }
    if (!EVP_CipherInit_ex2(ctx, c, kek, NULL, enc, NULL))
        goto done;
    if (EVP_CipherUpdate(ctx, out, &n, in, (int)inlen) <= 0 || n <= 0) {
        rv = enc ? CKR_FUNCTION_FAILED : CKR_ENCRYPTED_DATA_INVALID;
        goto done;
    }
    *outlen = (size_t)n;
    rv = CKR_OK;
done:
    EVP_CIPHER_CTX_free(ctx);
    return rv;
}

CK_RV qkt_cipher_final(QKT_OP *op, CK_BYTE *out, CK_ULONG *outlen)
{
    int n = 0, m = 0;
    size_t len;
    CK_RV rv;

    switch (op->mech) {
    case CKM_AES_KEY_WRAP_KWP:
    case CKM_AES_KEY_WRAP:
        if ((rv = qkt_keywrap(op->mech, is_enc(op), op->key, op->keylen, op->buf, op->buflen, out,
                              &len)) == CKR_OK)
            *outlen = (CK_ULONG)len;
        return rv;
    case CKM_AES_GCM:
        if (is_enc(op)) {
            if (!EVP_CipherFinal_ex(op->cipher, out, &n) ||
                !EVP_CIPHER_CTX_ctrl(op->cipher, EVP_CTRL_AEAD_GET_TAG, (int)op->out_len, out + n))
                return CKR_FUNCTION_FAILED;
            *outlen = (CK_ULONG)(n + op->out_len);
            return CKR_OK;
        }
        if (op->buflen < op->out_len)
            return CKR_ENCRYPTED_DATA_LEN_RANGE;
        len = op->buflen - op->out_len;
        if (!EVP_CIPHER_CTX_ctrl(op->cipher, EVP_CTRL_AEAD_SET_TAG, (int)op->out_len,
                                 op->buf + len) ||
            (len && !EVP_CipherUpdate(op->cipher, out, &n, op->buf, (int)len)))
            return CKR_FUNCTION_FAILED;
        if (EVP_CipherFinal_ex(op->cipher, out + n, &m) <= 0) {
            qks_wipe(out, (size_t)n); /* never hand out unauthenticated plaintext */
            return CKR_ENCRYPTED_DATA_INVALID;
        }
        *outlen = (CK_ULONG)(n + m);
        return CKR_OK;
    default:
        if (unpadded(op) && op->pending % op->block != 0) /* a partial block left over */
            return is_enc(op) ? CKR_DATA_LEN_RANGE : CKR_ENCRYPTED_DATA_LEN_RANGE;
        if (EVP_CipherFinal_ex(op->cipher, out, &n) <= 0) {
            if (is_enc(op))
                return CKR_FUNCTION_FAILED;
            return op->pending % op->block ? CKR_ENCRYPTED_DATA_LEN_RANGE
                                           : CKR_ENCRYPTED_DATA_INVALID;
        }
        *outlen = (CK_ULONG)n;
        return CKR_OK;
    }
}
