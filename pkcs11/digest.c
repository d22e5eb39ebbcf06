/*
 * Digests: CKM_SHA256, CKM_SHA384, CKM_SHA512 (no parameter), through EVP in the token's
 * library context. Also names the hash behind the HMAC and HKDF mechanisms.
 */
#include "internal.h"

/* The digests, each with its HMAC: one row per hash, index = slot in the fetch cache. */
static const struct {
    CK_MECHANISM_TYPE digest, hmac;
    const char *name;
} md_table[] = {
    /* sized by its rows: the _Static_assert below then means something */
    {CKM_SHA256, CKM_SHA256_HMAC, "SHA256"},
    {CKM_SHA384, CKM_SHA384_HMAC, "SHA384"},
    {CKM_SHA512, CKM_SHA512_HMAC, "SHA512"},
};
_Static_assert(sizeof(md_table) / sizeof(md_table[0]) == QKT_NMDS,
               "QKT_NMDS sizes the cache of md_table");

static int md_index(CK_MECHANISM_TYPE mech)
{
    for (int i = 0; i < QKT_NMDS; i++)
        if (md_table[i].digest == mech || md_table[i].hmac == mech)
            return i;
    return -1;
}

const char *qkt_md_name(CK_MECHANISM_TYPE mech)
{
    int i = md_index(mech);
    return i < 0 ? NULL : md_table[i].name;
}

const EVP_MD *qkt_md_for(CK_MECHANISM_TYPE mech)
{
    int i = md_index(mech);
    if (i < 0)
        return NULL;
    if (qkt_lib->mds[i] == NULL)
        qkt_lib->mds[i] = EVP_MD_fetch(qkt_lib->libctx, md_table[i].name, NULL);
    return qkt_lib->mds[i];
}

void qkt_md_cache_free(void)
{
    for (int i = 0; i < QKT_NMDS; i++) {
        EVP_MD_free(qkt_lib->mds[i]);
        qkt_lib->mds[i] = NULL;
    }
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
