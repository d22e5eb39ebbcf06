/*
 * Secrets at rest. Token objects' secret values are sealed with AES-256-GCM under a random
 * token key (AAD: the object's CKA_UNIQUE_ID, so a sealed value cannot be moved to another
 * object); the token key is itself sealed under keys derived from the SO PIN and the user PIN
 * (PBKDF2-HMAC-SHA256, per-store random salts), so C_InitPIN and C_SetPIN re-wrap it without
 * touching any object. Sealed layout: IV (12) || ciphertext || tag (16).
 */
#include <stdlib.h>
#include <string.h>
#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

#include "internal.h"

#define IV_LEN  12
#define TAG_LEN 16

CK_RV qkt_kek_derive(const CK_UTF8CHAR *pin, CK_ULONG len, const unsigned char *salt,
                     size_t saltlen, long iter, unsigned char kek[QKT_KEY_LEN])
{
    EVP_KDF *kdf = EVP_KDF_fetch(qkt_lib->libctx, "PBKDF2", NULL);
    EVP_KDF_CTX *kctx = kdf != NULL ? EVP_KDF_CTX_new(kdf) : NULL;
    unsigned int it = (unsigned int)iter;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, (void *)pin, len),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, saltlen),
        OSSL_PARAM_construct_uint(OSSL_KDF_PARAM_ITER, &it),
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, "SHA256", 0),
        OSSL_PARAM_construct_end(),
    };
    CK_RV rv = CKR_OK;
    if (kctx == NULL || EVP_KDF_derive(kctx, kek, QKT_KEY_LEN, params) <= 0)
        rv = CKR_GENERAL_ERROR;
    EVP_KDF_CTX_free(kctx);
    EVP_KDF_free(kdf);
    return rv;
}

CK_RV qkt_aead_seal(const unsigned char *key, const void *aad, size_t aadlen,
                    const unsigned char *in, size_t inlen, unsigned char **out, size_t *outlen)
{
    const EVP_CIPHER *aes = qkt_cipher_fetch("AES-256-GCM");
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    unsigned char *buf = malloc(IV_LEN + inlen + TAG_LEN);
    int n, fin;
    CK_RV rv = CKR_GENERAL_ERROR;

    if (aes == NULL || c == NULL || buf == NULL)
        goto done;
    if (RAND_bytes_ex(qkt_lib->libctx, buf, IV_LEN, 0) <= 0 ||
        !EVP_EncryptInit_ex2(c, aes, key, buf, NULL) ||
        !EVP_EncryptUpdate(c, NULL, &n, aad, (int)aadlen) ||
        !EVP_EncryptUpdate(c, buf + IV_LEN, &n, in, (int)inlen) ||
        !EVP_EncryptFinal_ex(c, buf + IV_LEN + n, &fin) ||
        !EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, TAG_LEN, buf + IV_LEN + inlen))
        goto done;
    *out = buf;
    *outlen = IV_LEN + inlen + TAG_LEN;
    buf = NULL;
    rv = CKR_OK;
done:
    free(buf);
    EVP_CIPHER_CTX_free(c);
    return rv;
}

/* CKR_ENCRYPTED_DATA_INVALID when the tag does not verify (wrong key or tampered). */
CK_RV qkt_aead_open(const unsigned char *key, const void *aad, size_t aadlen,
                    const unsigned char *in, size_t inlen, unsigned char **out, size_t *outlen)
{
    const EVP_CIPHER *aes = qkt_cipher_fetch("AES-256-GCM");
    EVP_CIPHER_CTX *c = NULL;
    unsigned char *buf = NULL;
    size_t len;
    int n, fin;
    CK_RV rv = CKR_GENERAL_ERROR;

    if (inlen < IV_LEN + TAG_LEN)
        return CKR_ENCRYPTED_DATA_INVALID;
    len = inlen - IV_LEN - TAG_LEN;
    if (aes == NULL || (c = EVP_CIPHER_CTX_new()) == NULL || (buf = qkt_secret_alloc(len)) == NULL)
        goto done;
    if (!EVP_DecryptInit_ex2(c, aes, key, in, NULL) ||
        !EVP_DecryptUpdate(c, NULL, &n, aad, (int)aadlen) ||
        !EVP_DecryptUpdate(c, buf, &n, in + IV_LEN, (int)len) ||
        !EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, TAG_LEN, (void *)(in + IV_LEN + len)))
        goto done;
    if (EVP_DecryptFinal_ex(c, buf + n, &fin) <= 0) {
        rv = CKR_ENCRYPTED_DATA_INVALID;
        goto done;
    }
    *out = buf;
    *outlen = len;
    buf = NULL;
    rv = CKR_OK;
done:
    if (buf != NULL)
        qkt_secret_free(buf, len);
    EVP_CIPHER_CTX_free(c);
    return rv;
}

static const QKT_ATTR *uid_of(const QKT_OBJ *obj)
{
    return qkt_obj_attr(obj, CKA_UNIQUE_ID);
}

CK_RV qkt_obj_seal(const QKT_OBJ *obj, unsigned char **out, size_t *outlen)
{
    const QKT_ATTR *v = qkt_obj_attr(obj, CKA_VALUE), *uid = uid_of(obj);
    if (qkt_lib->tk == NULL)
        return CKR_USER_NOT_LOGGED_IN;
    if (uid == NULL)
        return CKR_GENERAL_ERROR;
    return qkt_aead_seal(qkt_lib->tk, uid->val, uid->len, v != NULL ? v->val : NULL,
                         v != NULL ? v->len : 0, out, outlen);
}

CK_RV qkt_obj_unseal(QKT_OBJ *obj)
{
    const QKT_ATTR *uid = uid_of(obj);
    unsigned char *val;
    size_t len;
    CK_RV rv;

    if (obj->sealed == NULL)
        return CKR_OK;
    if (qkt_lib->tk == NULL)
        return CKR_USER_NOT_LOGGED_IN;
    if (uid == NULL)
        return CKR_GENERAL_ERROR;
    rv = qkt_aead_open(qkt_lib->tk, uid->val, uid->len, obj->sealed, obj->sealed_len, &val, &len);
    if (rv != CKR_OK)
        return rv == CKR_ENCRYPTED_DATA_INVALID ? CKR_DEVICE_ERROR : rv; /* store tampered */
    rv = qkt_obj_set(obj, CKA_VALUE, val, len);
    qkt_secret_free(val, len);
    if (rv == CKR_OK) {
        free(obj->sealed);
        obj->sealed = NULL;
        obj->sealed_len = 0;
    }
    return rv;
}
