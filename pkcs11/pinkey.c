/*
 * PINs as keys: the token key (a random AES-256 key that seals every secret token object) is
 * stored sealed under a key derived from each PIN (PBKDF2, salt and iteration count in the store's
 * meta table), so a PIN is checked by opening it. Below slot.c (C_InitToken) and pin.c (C_Login,
 * C_InitPIN, C_SetPIN), which both check and set PINs through these functions.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/rand.h>

#include "internal.h"

#define SALT_LEN 16
#define KDF_ITER 100000

CK_RV qkt_pin_len_check(CK_ULONG len)
{
    if ((long)len < qkt_lib->pin_min || (long)len > qkt_lib->pin_max)
        return CKR_PIN_LEN_RANGE;
    return CKR_OK;
}

/* Seal the token key under a key derived from pin; store salt and wrap under prefix. */
CK_RV qkt_pin_wrap(const char *who, const CK_UTF8CHAR *pin, CK_ULONG len)
{
    unsigned char salt[SALT_LEN], kek[QKT_KEY_LEN], *wrapped = NULL;
    char name[32];
    size_t wlen;
    CK_RV rv;

    if (RAND_bytes_ex(qkt_lib->libctx, salt, sizeof(salt), 0) <= 0)
        return CKR_GENERAL_ERROR;
    if ((rv = qkt_kek_derive(pin, len, salt, sizeof(salt), KDF_ITER, kek)) != CKR_OK)
        return rv;
    rv = qkt_aead_seal(kek, who, strlen(who), qkt_lib->tk, QKT_KEY_LEN, &wrapped, &wlen);
    qks_wipe(kek, sizeof(kek));
    if (rv != CKR_OK)
        return rv;
    snprintf(name, sizeof(name), "%s_salt", who);
    if ((rv = qkt_meta_put(name, salt, sizeof(salt))) == CKR_OK) {
        snprintf(name, sizeof(name), "%s_wrap", who);
        rv = qkt_meta_put(name, wrapped, wlen);
    }
    if (rv == CKR_OK) {
        snprintf(name, sizeof(name), "%s_iter", who);
        rv = qkt_meta_put_long(name, KDF_ITER);
    }
    free(wrapped);
    return rv;
}

/* Unseal the token key with pin. CKR_PIN_INCORRECT when it does not open. *tk is secure. */
CK_RV qkt_pin_unwrap(const char *who, const CK_UTF8CHAR *pin, CK_ULONG len, unsigned char **tk)
{
    unsigned char *salt = NULL, *wrapped = NULL, kek[QKT_KEY_LEN];
    size_t slen, wlen, tklen;
    long iter;
    char name[32];
    CK_RV rv;

    *tk = NULL;
    snprintf(name, sizeof(name), "%s_salt", who);
    if ((rv = qkt_meta_get(name, &salt, &slen)) != CKR_OK)
        goto done;
    snprintf(name, sizeof(name), "%s_wrap", who);
    if ((rv = qkt_meta_get(name, &wrapped, &wlen)) != CKR_OK)
        goto done;
    snprintf(name, sizeof(name), "%s_iter", who);
    if ((rv = qkt_meta_get_long(name, KDF_ITER, &iter)) != CKR_OK)
        goto done;
    if (salt == NULL || wrapped == NULL) {
        rv = CKR_USER_PIN_NOT_INITIALIZED;
        goto done;
    }
    if ((rv = qkt_kek_derive(pin, len, salt, slen, iter, kek)) != CKR_OK)
        goto done;
    rv = qkt_aead_open(kek, who, strlen(who), wrapped, wlen, tk, &tklen);
    qks_wipe(kek, sizeof(kek));
    if (rv == CKR_ENCRYPTED_DATA_INVALID)
        rv = CKR_PIN_INCORRECT;
    else if (rv == CKR_OK && tklen != QKT_KEY_LEN) {
        qkt_secret_free(*tk, tklen);
        *tk = NULL;
        rv = CKR_DEVICE_ERROR;
    }
done:
    free(salt);
    free(wrapped);
    return rv;
}

/*
 * Charge one try before checking the PIN, in one store transaction with the check of the limit
 * (BEGIN IMMEDIATE: one writer at a time across processes). Checking, deriving and charging in
 * separate steps let 150 processes at once try 137 wrong PINs against a limit of 3: now at most
 * max_tries PINs are ever checked. A right PIN clears the counter afterwards.
 */
static CK_RV charge_try(const char *counter)
{
    long fails = 0;
    CK_RV rv = qkt_store_begin();

    if (rv != CKR_OK)
        return rv;
    if ((rv = qkt_meta_get_long(counter, 0, &fails)) == CKR_OK) {
        if (fails >= qkt_lib->max_tries)
            rv = CKR_PIN_LOCKED;
        else if ((rv = qkt_meta_put_long(counter, fails + 1)) == CKR_OK)
            return qkt_store_commit();
    }
    qkt_store_rollback();
    return rv;
}

CK_RV qkt_pin_verify(const char *who, const CK_UTF8CHAR *pin, CK_ULONG len, unsigned char **tk)
{
    char counter[32];
    CK_RV rv;

    *tk = NULL;
    snprintf(counter, sizeof(counter), "%s_fail", who);
    if ((rv = charge_try(counter)) != CKR_OK)
        return rv;
    if (qkt_pin_len_check(len) != CKR_OK)
        rv = CKR_PIN_INCORRECT;
    else
        rv = qkt_pin_unwrap(who, pin, len, tk);
    if (rv == CKR_OK && (rv = qkt_meta_put_long(counter, 0)) != CKR_OK) {
        qkt_secret_free(*tk, QKT_KEY_LEN);
        *tk = NULL;
    }
    return rv;
}
