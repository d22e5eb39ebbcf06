/*
 * MACs as sign/verify mechanisms: CKM_SHA256/384/512_HMAC (generic secret keys, full-length
 * output; Current Mechanisms 3.0, 2.27) and CKM_AES_CMAC (AES keys, 16-byte output; 2.10.8),
 * through EVP_MAC in the token's library context.
 */
#include <openssl/core_names.h>

#include "internal.h"

CK_RV qkt_mac_init(QKT_OP *op, const CK_MECHANISM *mech, const QKT_OBJ *key)
{
    const QKT_ATTR *v = qkt_obj_attr(key, CKA_VALUE);
    OSSL_PARAM params[2];
    EVP_MAC **mac;
    const char *mac_name;

    if (mech->pParameter != NULL || mech->ulParameterLen != 0)
        return CKR_MECHANISM_PARAM_INVALID;
    if (v == NULL || v->len == 0)
        return CKR_KEY_SIZE_RANGE;
    if (mech->mechanism == CKM_AES_CMAC) {
        static const char *const cbc[] = {"AES-128-CBC", "AES-192-CBC", "AES-256-CBC"};
        if (qkt_key_len_check(CKK_AES, v->len) != CKR_OK)
            return CKR_KEY_SIZE_RANGE;
        mac = &qkt_lib->cmac;
        mac_name = "CMAC";
        params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER,
                                                     (char *)cbc[(v->len - 16) / 8], 0);
    } else {
        const char *md = qkt_md_name(mech->mechanism);
        if (md == NULL)
            return CKR_MECHANISM_INVALID;
        mac = &qkt_lib->hmac;
        mac_name = "HMAC";
        params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)md, 0);
    }
    params[1] = OSSL_PARAM_construct_end();
    if (*mac == NULL)
        *mac = EVP_MAC_fetch(qkt_lib->libctx, mac_name, NULL);
    if (*mac == NULL || (op->mac = EVP_MAC_CTX_new(*mac)) == NULL ||
        !EVP_MAC_init(op->mac, v->val, v->len, params))
        return CKR_FUNCTION_FAILED;
    op->out_len = EVP_MAC_CTX_get_mac_size(op->mac);
    return CKR_OK;
}

void qkt_mac_cache_free(void)
{
    EVP_MAC_free(qkt_lib->hmac);
    EVP_MAC_free(qkt_lib->cmac);
    qkt_lib->hmac = qkt_lib->cmac = NULL;
}
