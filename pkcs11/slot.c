/*
 * The one slot and its token (PKCS#11 Base 3.0, 5.5): slot and token information and
 * C_InitToken. The token's label, serial and PIN state live in the store's meta table so every
 * process sharing token.store sees the same token; they are re-read on each query.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/random.h>

#include "internal.h"

CK_RV qkt_slot_info(CK_SLOT_INFO *info)
{
    memset(info, 0, sizeof(*info));
    qkt_padcpy(info->slotDescription,
               qkt_token_absent() ? "qkey: no token until qkey.conf names rng.source"
                                  : "qkey QKD token slot",
               sizeof(info->slotDescription));
    qkt_padcpy(info->manufacturerID, QKT_MANUFACTURER, sizeof(info->manufacturerID));
    info->flags = qkt_token_absent() ? 0 : CKF_TOKEN_PRESENT;
    info->hardwareVersion.major = 0;
    info->firmwareVersion.major = 0;
    info->firmwareVersion.minor = 1;
    return CKR_OK;
}

CK_RV qkt_token_load(void)
{
    QKT_LIB *lib = qkt_lib;
    unsigned char *v;
    size_t n;
    CK_RV rv;

    if ((rv = qkt_meta_get("serial", &v, &n)) != CKR_OK)
        return rv;
    if (v == NULL) {
        /* First use of this store: a serial that stays with it for good. Not a secret, so from
         * the kernel: the token (and C_GetTokenInfo) works while the QRNG is failing. */
        unsigned char raw[8];
        char hex[17];
        if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
            return CKR_GENERAL_ERROR;
        for (size_t i = 0; i < sizeof(raw); i++)
            snprintf(hex + 2 * i, 3, "%02X", raw[i]);
        if ((rv = qkt_meta_put("serial", hex, 16)) != CKR_OK)
            return rv;
        memcpy(lib->serial, hex, 17);
    } else {
        snprintf(lib->serial, sizeof(lib->serial), "%s", (char *)v);
        free(v);
    }
    if ((rv = qkt_meta_get("label", &v, &n)) != CKR_OK)
        return rv;
    if (v != NULL) {
        snprintf(lib->label, sizeof(lib->label), "%s", (char *)v);
        free(v);
    } else {
        const char *l = qks_config_get(qks_ctx_config(lib->qks), "token.label");
        snprintf(lib->label, sizeof(lib->label), "%s", l != NULL ? l : "qkey");
    }
    if ((rv = qkt_meta_get("so_wrap", &v, &n)) != CKR_OK)
        return rv;
    lib->initialised = v != NULL;
    free(v);
    if ((rv = qkt_meta_get("user_wrap", &v, &n)) != CKR_OK)
        return rv;
    lib->user_pin_set = v != NULL;
    free(v);
    return CKR_OK;
}

static CK_FLAGS pin_flags(const char *counter, CK_FLAGS low, CK_FLAGS final, CK_FLAGS locked)
{
    long fails = 0;
    if (qkt_meta_get_long(counter, 0, &fails) != CKR_OK || fails == 0)
        return 0;
    if (fails >= qkt_lib->max_tries)
        return locked;
    return low | (fails == qkt_lib->max_tries - 1 ? final : 0);
}

CK_RV qkt_token_info(CK_TOKEN_INFO *info)
{
    QKT_LIB *lib = qkt_lib;
    CK_RV rv = qkt_token_load();
    if (rv != CKR_OK)
        return rv;
    memset(info, 0, sizeof(*info));
    qkt_padcpy(info->label, lib->label, sizeof(info->label));
    qkt_padcpy(info->manufacturerID, QKT_MANUFACTURER, sizeof(info->manufacturerID));
    qkt_padcpy(info->model, QKT_MODEL, sizeof(info->model));
    qkt_padcpy(info->serialNumber, lib->serial, sizeof(info->serialNumber));
    info->flags = CKF_RNG | CKF_LOGIN_REQUIRED;
    if (lib->initialised)
        info->flags |= CKF_TOKEN_INITIALIZED;
    if (lib->user_pin_set)
        info->flags |= CKF_USER_PIN_INITIALIZED;
    info->flags |=
        pin_flags("user_fail", CKF_USER_PIN_COUNT_LOW, CKF_USER_PIN_FINAL_TRY, CKF_USER_PIN_LOCKED);
    info->flags |=
        pin_flags("so_fail", CKF_SO_PIN_COUNT_LOW, CKF_SO_PIN_FINAL_TRY, CKF_SO_PIN_LOCKED);
    info->ulMaxSessionCount = CK_EFFECTIVELY_INFINITE;
    info->ulSessionCount = qkt_session_count(0);
    info->ulMaxRwSessionCount = CK_EFFECTIVELY_INFINITE;
    info->ulRwSessionCount = qkt_session_count(1);
    info->ulMaxPinLen = (CK_ULONG)lib->pin_max;
    info->ulMinPinLen = (CK_ULONG)lib->pin_min;
    info->ulTotalPublicMemory = CK_UNAVAILABLE_INFORMATION;
    info->ulFreePublicMemory = CK_UNAVAILABLE_INFORMATION;
    info->ulTotalPrivateMemory = CK_UNAVAILABLE_INFORMATION;
    info->ulFreePrivateMemory = CK_UNAVAILABLE_INFORMATION;
    info->firmwareVersion.minor = 1;
    memset(info->utcTime, ' ', sizeof(info->utcTime)); /* no CKF_CLOCK_ON_TOKEN */
    return CKR_OK;
}

CK_RV qkt_token_init(const CK_UTF8CHAR *pin, CK_ULONG pinlen, const CK_UTF8CHAR *label)
{
    QKT_LIB *lib = qkt_lib;
    char text[QKT_LABEL_LEN + 1];
    unsigned char *tk = NULL;
    CK_RV rv;

    if (qkt_session_count(0) > 0)
        return CKR_SESSION_EXISTS;
    if ((rv = qkt_token_load()) != CKR_OK)
        return rv;
    if (lib->initialised) {
        /* Re-initialising needs the current SO PIN (Base 3.0, 5.5 C_InitToken). */
        if ((rv = qkt_pin_verify("so", pin, pinlen, &tk)) != CKR_OK)
            return rv;
        qkt_secret_free(tk, QKT_KEY_LEN);
        tk = NULL;
    } else if ((rv = qkt_pin_len_check(pinlen)) != CKR_OK) {
        return rv;
    }
    memcpy(text, label, QKT_LABEL_LEN);
    text[QKT_LABEL_LEN] = 0;
    for (int i = QKT_LABEL_LEN - 1; i >= 0 && (text[i] == ' ' || text[i] == 0); i--)
        text[i] = 0;

    if (lib->tk == NULL && (lib->tk = qkt_secret_alloc(QKT_KEY_LEN)) == NULL)
        return CKR_HOST_MEMORY;
    /* A new token key from the quantum RNG: every old sealed value becomes unreadable. */
    if ((rv = qkt_random(lib->tk, QKT_KEY_LEN)) != CKR_OK)
        goto done;
    if ((rv = qkt_store_begin()) != CKR_OK)
        goto done;
    if ((rv = qkt_store_delete_all()) != CKR_OK || (rv = qkt_pin_wrap("so", pin, pinlen)) ||
        (rv = qkt_meta_put("user_salt", NULL, 0)) || (rv = qkt_meta_put("user_wrap", NULL, 0)) ||
        (rv = qkt_meta_put_long("user_fail", 0)) || (rv = qkt_meta_put_long("so_fail", 0)) ||
        (rv = qkt_meta_put("label", text, strlen(text))) != CKR_OK) {
        qkt_store_rollback();
        goto done;
    }
    rv = qkt_store_commit();
done:
    qkt_secret_free(lib->tk, QKT_KEY_LEN);
    lib->tk = NULL;
    qkt_objects_drop_token();
    lib->data_version = -1;
    if (rv == CKR_OK)
        rv = qkt_token_load();
    return rv;
}
