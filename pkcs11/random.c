/*
 * Randomness: C_GenerateRandom and C_SeedRandom, and the token's own key material.
 * Output comes from a CTR-DRBG (AES-256) in the token's library context whose state is keyed
 * from the quantum pipeline (qks_random): 48 bytes as personalisation at instantiation and as
 * entropy input at every reseed (every RESEED_CALLS calls or RESEED_BYTES bytes). Before
 * every request the pipeline's health is checked (qks_rng_state): a failure is
 * CKR_DEVICE_ERROR, never a fallback. C_SeedRandom mixes the caller's bytes in as
 * additional input to a reseed with fresh quantum entropy; it never replaces the source.
 */
#include <stdio.h>
#include <stdlib.h>
#include <openssl/core_names.h>
#include <openssl/rand.h>

#include "internal.h"

#define SEED_LEN     48
#define RESEED_CALLS 4096
#define RESEED_BYTES (1UL << 20)
#define CHUNK        4096

CK_RV qkt_rv_from_qks(int err)
{
    if (err != QKS_OK)
        qkt_debug("%s: %s", qks_strerror(err), qks_last_error());
    switch (err) {
    case QKS_OK:
        return CKR_OK;
    case QKS_ERR_NOMEM:
        return CKR_HOST_MEMORY;
    case QKS_ERR_INVALID:
    case QKS_ERR_PEER_DENIED:
    case QKS_ERR_KEY_UNKNOWN:
        return CKR_ATTRIBUTE_VALUE_INVALID;
    case QKS_ERR_INTERNAL:
    case QKS_ERR_CONFIG:
    case QKS_ERR_UNSUPPORTED:
        return CKR_FUNCTION_FAILED;
    default: /* link, KME, device and health failures */
        return CKR_DEVICE_ERROR;
    }
}

static CK_RV quantum(unsigned char *out, size_t len)
{
    int err = qks_random(qkt_lib->qks, out, len);
    if (err != QKS_OK) {
        CK_RV rv = qkt_rv_from_qks(err);
        return rv == CKR_HOST_MEMORY ? rv : CKR_DEVICE_ERROR;
    }
    return CKR_OK;
}

static CK_RV drbg_new(void)
{
    QKT_LIB *lib = qkt_lib;
    unsigned char seed[SEED_LEN];
    EVP_RAND *rand = EVP_RAND_fetch(lib->libctx, "CTR-DRBG", NULL);
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_DRBG_PARAM_CIPHER, "AES-256-CTR", 0),
        OSSL_PARAM_construct_end(),
    };
    CK_RV rv;

    if (rand == NULL)
        return CKR_FUNCTION_FAILED;
    lib->drbg = EVP_RAND_CTX_new(rand, NULL);
    EVP_RAND_free(rand);
    if (lib->drbg == NULL)
        return CKR_FUNCTION_FAILED;
    if ((rv = quantum(seed, sizeof(seed))) != CKR_OK)
        goto err;
    if (!EVP_RAND_instantiate(lib->drbg, 256, 0, seed, sizeof(seed), params)) {
        rv = CKR_FUNCTION_FAILED;
        goto err;
    }
    qks_wipe(seed, sizeof(seed));
    lib->drbg_calls = 0;
    return CKR_OK;
err:
    qks_wipe(seed, sizeof(seed));
    EVP_RAND_CTX_free(lib->drbg);
    lib->drbg = NULL;
    return rv;
}

static CK_RV reseed(const unsigned char *adin, size_t adinlen)
{
    unsigned char ent[SEED_LEN];
    CK_RV rv = quantum(ent, sizeof(ent));
    if (rv == CKR_OK && !EVP_RAND_reseed(qkt_lib->drbg, 0, ent, sizeof(ent), adin, adinlen))
        rv = CKR_FUNCTION_FAILED;
    qks_wipe(ent, sizeof(ent));
    if (rv == CKR_OK)
        qkt_lib->drbg_calls = 0;
    return rv;
}

static CK_RV ready(void)
{
    int state = qks_rng_state(qkt_lib->qks);
    if (state != QKS_OK) {
        (void)qkt_rv_from_qks(state); /* for QKEY_PKCS11_DEBUG */
        return CKR_DEVICE_ERROR;
    }
    if (qkt_lib->drbg == NULL)
        return drbg_new();
    if (qkt_lib->drbg_calls >= RESEED_CALLS)
        return reseed(NULL, 0);
    return CKR_OK;
}

CK_RV qkt_random(unsigned char *out, size_t len)
{
    CK_RV rv = ready();
    if (rv != CKR_OK)
        return rv;
    while (len > 0) {
        size_t n = len < CHUNK ? len : CHUNK;
        if (!EVP_RAND_generate(qkt_lib->drbg, out, n, 256, 0, NULL, 0))
            return CKR_FUNCTION_FAILED;
        out += n;
        len -= n;
        qkt_lib->drbg_calls += 1 + n / (RESEED_BYTES / RESEED_CALLS);
    }
    qkt_lib->drbg_calls++;
    return CKR_OK;
}

CK_RV qkt_seed(const unsigned char *in, size_t len)
{
    CK_RV rv = ready();
    if (rv != CKR_OK)
        return rv;
    return reseed(in, len);
}

void qkt_random_free(void)
{
    EVP_RAND_CTX_free(qkt_lib->drbg);
    qkt_lib->drbg = NULL;
}
