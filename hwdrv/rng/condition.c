/*
 * SP 800-90B 3.1.5.1.1 vetted conditioning: SHA-256 over a block of raw samples that carries
 * at least 256 + 64 bits of assessed min-entropy (SP 800-90C full-entropy rule), giving 32
 * full-entropy bytes. The digest runs in a private OSSL_LIB_CTX: it never touches the
 * application's library context (we may be called under its primary DRBG lock) and never
 * draws randomness (no RAND_*).
 */
#include <stdlib.h>

#include <openssl/evp.h>

#include "internal.h"

struct qhw_conditioner_st {
    OSSL_LIB_CTX *libctx;
    EVP_MD *sha256;
    EVP_MD_CTX *mdctx;
};

int qhw_conditioner_new(QHW_CONDITIONER **out)
{
    QHW_CONDITIONER *c = calloc(1, sizeof(*c));

    *out = NULL;
    if (c == NULL)
        return qks_set_error(QKS_ERR_NOMEM, "RNG conditioner: out of memory");
    if ((c->libctx = OSSL_LIB_CTX_new()) == NULL ||
        (c->sha256 = EVP_MD_fetch(c->libctx, "SHA2-256", NULL)) == NULL ||
        (c->mdctx = EVP_MD_CTX_new()) == NULL) {
        qhw_conditioner_free(c);
        return qks_set_error(QKS_ERR_INTERNAL,
                             "RNG conditioner: SHA-256 unavailable in a private libcrypto "
                             "context (default provider not loadable?)");
    }
    *out = c;
    return QKS_OK;
}

void qhw_conditioner_free(QHW_CONDITIONER *c)
{
    if (c == NULL)
        return;
    EVP_MD_CTX_free(c->mdctx);
    EVP_MD_free(c->sha256);
    OSSL_LIB_CTX_free(c->libctx);
    free(c);
}

int qhw_condition(QHW_CONDITIONER *c, const unsigned char *in, size_t n, unsigned char out[32])
{
    unsigned int len = 0;

    if (!EVP_DigestInit_ex2(c->mdctx, c->sha256, NULL) || !EVP_DigestUpdate(c->mdctx, in, n) ||
        !EVP_DigestFinal_ex(c->mdctx, out, &len) || len != 32)
        return qks_set_error(QKS_ERR_INTERNAL, "RNG conditioner: SHA-256 failed");
    return QKS_OK;
}
