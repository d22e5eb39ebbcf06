/*
 * Digests: CKM_SHA256, CKM_SHA384, CKM_SHA512 (no parameter), through EVP in the token's
 * library context. Also names the hash behind the HMAC and HKDF mechanisms.
 */
#include "internal.h"

const char *qkt_md_name(CK_MECHANISM_TYPE mech)
{
    switch (mech) {
    case CKM_SHA256:
    case CKM_SHA256_HMAC:
        return "SHA256";
    case CKM_SHA384:
    case CKM_SHA384_HMAC:
        return "SHA384";
    case CKM_SHA512:
    case CKM_SHA512_HMAC:
        return "SHA512";
    default:
        return NULL;
    }
}

const EVP_MD *qkt_md_for(CK_MECHANISM_TYPE mech)
{
    const char *name = qkt_md_name(mech);
    int i = mech == CKM_SHA256 || mech == CKM_SHA256_HMAC   ? 0
            : mech == CKM_SHA384 || mech == CKM_SHA384_HMAC ? 1
                                                            : 2;
    if (name == NULL)
        return NULL;
    if (qkt_lib->mds[i] == NULL)
        qkt_lib->mds[i] = EVP_MD_fetch(qkt_lib->libctx, name, NULL);
    return qkt_lib->mds[i];
}

CK_RV qkt_digest_init(QKT_OP *op, const CK_MECHANISM *mech)
{
    const EVP_MD *md = qkt_md_for(mech->mechanism);
    if (mech->pParameter != NULL || mech->ulParameterLen != 0)
        return CKR_MECHANISM_PARAM_INVALID;
    if (md == NULL || (op->md = EVP_MD_CTX_new()) == NULL || !EVP_DigestInit_ex2(op->md, md, NULL))
        return CKR_FUNCTION_FAILED;
    op->out_len = (size_t)EVP_MD_get_size(md);
    return CKR_OK;
}
