/*
 * Login state and PINs (PKCS#11 Base 3.0, 5.5 - 5.6): C_Login/C_Logout, C_InitPIN, C_SetPIN.
 * A PIN is checked by opening the token key sealed under it; failures are counted in the
 * store (so every process sees them) and lock the PIN after token.max_login_attempts.
 * Logging in puts the token key in locked memory; logging out wipes it.
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"

#define NOBODY ((CK_USER_TYPE)-1)

/* Base 3.0, 4.9 (CKA_ALWAYS_AUTHENTICATE): the user, logged in, gives the PIN again for the one
 * signature or decryption the session has just started with such a key. The try is counted
 * against token.max_login_attempts like any other. */
static CK_RV context_login(QKT_SESSION *s, const CK_UTF8CHAR *pin, CK_ULONG len)
{
    QKT_OP *op = s->sign != NULL && s->sign->auth_needed ? s->sign : s->dec;
    unsigned char *tk;
    CK_RV rv;

    if (qkt_lib->login != CKU_USER)
        return CKR_USER_NOT_LOGGED_IN;
    if (op == NULL || !op->auth_needed)
        return CKR_OPERATION_NOT_INITIALIZED;
    if ((rv = qkt_pin_verify("user", pin, len, &tk)) != CKR_OK)
        return rv;
    qkt_secret_free(tk, QKT_KEY_LEN);
    op->auth_ok = 1;
    return CKR_OK;
}

CK_RV qkt_login(QKT_SESSION *s, CK_USER_TYPE who, const CK_UTF8CHAR *pin, CK_ULONG len)
{
    QKT_LIB *lib = qkt_lib;
    unsigned char *tk;
    CK_RV rv;

    if (who == CKU_CONTEXT_SPECIFIC)
        return context_login(s, pin, len);
    if (who != CKU_SO && who != CKU_USER)
        return CKR_USER_TYPE_INVALID;
    if (lib->login == who)
        return CKR_USER_ALREADY_LOGGED_IN;
    if (lib->login != NOBODY)
        return CKR_USER_ANOTHER_ALREADY_LOGGED_IN;
    if ((rv = qkt_token_load()) != CKR_OK)
        return rv;
    if (who == CKU_SO) {
        if (qkt_session_count(0) != qkt_session_count(1))
            return CKR_SESSION_READ_ONLY_EXISTS;
        if (!lib->initialised)
            return CKR_TOKEN_NOT_RECOGNIZED;
    } else if (!lib->user_pin_set) {
        return CKR_USER_PIN_NOT_INITIALIZED;
    }
    if ((rv = qkt_pin_verify(who == CKU_SO ? "so" : "user", pin, len, &tk)) != CKR_OK)
        return rv;
    lib->tk = tk;
    lib->login = who;
    return CKR_OK;
}

CK_RV qkt_logout(void)
{
    QKT_LIB *lib = qkt_lib;
    if (lib->login == NOBODY)
        return CKR_USER_NOT_LOGGED_IN;
    lib->login = NOBODY;
    if (lib->tk != NULL)
        qkt_secret_free(lib->tk, QKT_KEY_LEN);
    lib->tk = NULL;
    /* Opened token values go with the key: reload them sealed on next use. */
    qkt_objects_drop_token();
    lib->data_version = -1;
    return CKR_OK;
}

CK_RV qkt_pin_init(QKT_SESSION *s, const CK_UTF8CHAR *pin, CK_ULONG len)
{
    CK_RV rv;

    if (qkt_session_state(s) != CKS_RW_SO_FUNCTIONS)
        return CKR_USER_NOT_LOGGED_IN;
    if ((rv = qkt_pin_len_check(len)) != CKR_OK)
        return rv;
    if ((rv = qkt_store_begin()) != CKR_OK)
        return rv;
    if ((rv = qkt_pin_wrap("user", pin, len)) != CKR_OK ||
        (rv = qkt_meta_put_long("user_fail", 0)) != CKR_OK) {
        qkt_store_rollback();
        return rv;
    }
    if ((rv = qkt_store_commit()) != CKR_OK)
        return rv;
    return qkt_token_load();
}

CK_RV qkt_pin_set(QKT_SESSION *s, const CK_UTF8CHAR *oldp, CK_ULONG oldlen, const CK_UTF8CHAR *newp,
                  CK_ULONG newlen)
{
    QKT_LIB *lib = qkt_lib;
    const char *who = lib->login == CKU_SO ? "so" : "user";
    unsigned char *tk = NULL, *mine;
    CK_RV rv;

    if (!qkt_session_rw(s))
        return CKR_SESSION_READ_ONLY;
    if ((rv = qkt_pin_len_check(newlen)) != CKR_OK)
        return rv;
    if ((rv = qkt_pin_verify(who, oldp, oldlen, &tk)) != CKR_OK)
        return rv;
    /* qkt_pin_wrap seals lib->tk: use the key just opened (identical when logged in). */
    mine = lib->tk;
    lib->tk = tk;
    if ((rv = qkt_store_begin()) == CKR_OK) {
        if ((rv = qkt_pin_wrap(who, newp, newlen)) == CKR_OK)
            rv = qkt_store_commit();
        else
            qkt_store_rollback();
    }
    lib->tk = mine;
    qkt_secret_free(tk, QKT_KEY_LEN);
    return rv;
}
