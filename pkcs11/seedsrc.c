/*
 * The seed source of the token's library context: a provider built into the token ("qkey-token-
 * seed", never loaded anywhere else) whose one RAND, QKT-SEED, draws from the quantum pipeline
 * (qks_random). The token makes it the seed source of its libctx's DRBG chain before anything in
 * that libctx draws, so every random number OpenSSL makes for the token (key pairs, ECDSA and
 * PSS nonces and salts, OAEP seeds, unique IDs, PIN salts) comes from DRBGs seeded and reseeded
 * from the QRNG, the same source as C_GenerateRandom's own DRBG (random.c).
 *
 * OpenSSL falls back to OS entropy, silently, when a seed source cannot be fetched. The token
 * notices: qkt_seed_quantum() is true only once this source has given a seed, and every key
 * pair generation requires it (keypair.c), so no key pair is ever made from anything else.
 */
#include <pthread.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <string.h>
#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/rand.h>

#include "internal.h"

#define SEED_PROVIDER "qkey-token-seed"
#define SEED_NAME     "QKT-SEED"
#define SEED_MAX_REQ  4096
#define SEED_STRENGTH 256

typedef struct {
    QKS_CTX *qks;
    atomic_ulong seeds; /* seeds given (qkt_seed_quantum) */
} SEED_PROV;

typedef struct {
    SEED_PROV *prov;
    int state;
    pthread_mutex_t lock;
    int locking;
} SEED;

/* The QKS_CTX handed to the next provider instance: set by qkt_seed_install under the library's
 * init mutex, read only by seed_init, which OSSL_PROVIDER_load runs before it returns. */
static QKS_CTX *pending_qks;

static void *seed_new(void *provctx, void *parent, const OSSL_DISPATCH *pd)
{
    SEED *r;
    (void)pd;
    if (parent != NULL || (r = calloc(1, sizeof(*r))) == NULL)
        return NULL;
    r->prov = provctx;
    r->state = EVP_RAND_STATE_UNINITIALISED;
    return r;
}

static void seed_free(void *vr)
{
    SEED *r = vr;
    if (r == NULL)
        return;
    if (r->locking)
        pthread_mutex_destroy(&r->lock);
    free(r);
}

static int seed_instantiate(void *vr, unsigned int strength, int pr, const unsigned char *ps,
                            size_t pslen, const OSSL_PARAM params[])
{
    (void)strength, (void)pr, (void)ps, (void)pslen, (void)params;
    ((SEED *)vr)->state = EVP_RAND_STATE_READY;
    return 1;
}

static int seed_uninstantiate(void *vr)
{
    ((SEED *)vr)->state = EVP_RAND_STATE_UNINITIALISED;
    return 1;
}

static int draw(SEED *r, unsigned char *out, size_t len)
{
    if (qks_random(r->prov->qks, out, len) != QKS_OK) {
        qks_wipe(out, len);
        r->state = EVP_RAND_STATE_ERROR;
        return 0;
    }
    r->state = EVP_RAND_STATE_READY;
    return 1;
}

static int seed_generate(void *vr, unsigned char *out, size_t outlen, unsigned int strength, int pr,
                         const unsigned char *adin, size_t adinlen)
{
    (void)pr, (void)adin, (void)adinlen;
    return strength <= SEED_STRENGTH && draw(vr, out, outlen);
}

static int seed_reseed(void *vr, int pr, const unsigned char *ent, size_t entlen,
                       const unsigned char *adin, size_t adinlen)
{
    (void)vr, (void)pr, (void)ent, (void)entlen, (void)adin, (void)adinlen;
    return 1; /* every draw is fresh from the source */
}

static size_t seed_get_seed(void *vr, unsigned char **pout, int entropy, size_t min_len,
                            size_t max_len, int pr, const unsigned char *adin, size_t adinlen)
{
    SEED *r = vr;
    size_t len = entropy > 0 ? ((size_t)entropy + 7) / 8 : 0; /* full-entropy bytes */
    unsigned char *buf;
    (void)pr, (void)adin, (void)adinlen;

    *pout = NULL;
    if (len < min_len)
        len = min_len;
    if (len == 0 || len > max_len || (buf = qks_secure_alloc(len)) == NULL)
        return 0;
    if (!draw(r, buf, len)) {
        qks_secure_free(buf, len);
        return 0;
    }
    atomic_fetch_add(&r->prov->seeds, 1);
    *pout = buf;
    return len;
}

static void seed_clear_seed(void *vr, unsigned char *out, size_t outlen)
{
    (void)vr;
    qks_secure_free(out, outlen);
}

static int seed_enable_locking(void *vr)
{
    SEED *r = vr;
    if (!r->locking && pthread_mutex_init(&r->lock, NULL) != 0)
        return 0;
    r->locking = 1;
    return 1;
}

static int seed_lock(void *vr)
{
    SEED *r = vr;
    return !r->locking || pthread_mutex_lock(&r->lock) == 0;
}

static void seed_unlock(void *vr)
{
    SEED *r = vr;
    if (r->locking)
        (void)pthread_mutex_unlock(&r->lock);
}

static int seed_get_ctx_params(void *vr, OSSL_PARAM params[])
{
    SEED *r = vr;
    OSSL_PARAM *p;
    if ((p = OSSL_PARAM_locate(params, OSSL_RAND_PARAM_STATE)) != NULL &&
        !OSSL_PARAM_set_int(p, r->state))
        return 0;
    if ((p = OSSL_PARAM_locate(params, OSSL_RAND_PARAM_STRENGTH)) != NULL &&
        !OSSL_PARAM_set_uint(p, SEED_STRENGTH))
        return 0;
    if ((p = OSSL_PARAM_locate(params, OSSL_RAND_PARAM_MAX_REQUEST)) != NULL &&
        !OSSL_PARAM_set_size_t(p, SEED_MAX_REQ))
        return 0;
    return 1;
}

static const OSSL_PARAM *seed_gettable_ctx_params(void *vr, void *provctx)
{
    static const OSSL_PARAM gettable[] = {OSSL_PARAM_int(OSSL_RAND_PARAM_STATE, NULL),
                                          OSSL_PARAM_uint(OSSL_RAND_PARAM_STRENGTH, NULL),
                                          OSSL_PARAM_size_t(OSSL_RAND_PARAM_MAX_REQUEST, NULL),
                                          OSSL_PARAM_END};
    (void)vr, (void)provctx;
    return gettable;
}

static int seed_verify_zeroization(void *vr)
{
    (void)vr;
    return 1; /* nothing kept: seeds are wiped by clear_seed */
}

static const OSSL_DISPATCH seed_functions[] = {
    {OSSL_FUNC_RAND_NEWCTX, (void (*)(void))seed_new},
    {OSSL_FUNC_RAND_FREECTX, (void (*)(void))seed_free},
    {OSSL_FUNC_RAND_INSTANTIATE, (void (*)(void))seed_instantiate},
    {OSSL_FUNC_RAND_UNINSTANTIATE, (void (*)(void))seed_uninstantiate},
    {OSSL_FUNC_RAND_GENERATE, (void (*)(void))seed_generate},
    {OSSL_FUNC_RAND_RESEED, (void (*)(void))seed_reseed},
    {OSSL_FUNC_RAND_GET_SEED, (void (*)(void))seed_get_seed},
    {OSSL_FUNC_RAND_CLEAR_SEED, (void (*)(void))seed_clear_seed},
    {OSSL_FUNC_RAND_ENABLE_LOCKING, (void (*)(void))seed_enable_locking},
    {OSSL_FUNC_RAND_LOCK, (void (*)(void))seed_lock},
    {OSSL_FUNC_RAND_UNLOCK, (void (*)(void))seed_unlock},
    {OSSL_FUNC_RAND_GETTABLE_CTX_PARAMS, (void (*)(void))seed_gettable_ctx_params},
    {OSSL_FUNC_RAND_GET_CTX_PARAMS, (void (*)(void))seed_get_ctx_params},
    {OSSL_FUNC_RAND_VERIFY_ZEROIZATION, (void (*)(void))seed_verify_zeroization},
    {0, NULL},
};

static const OSSL_ALGORITHM seed_algs[] = {
    {SEED_NAME, "provider=" SEED_PROVIDER, seed_functions, "quantum seed source of the token"},
    {NULL, NULL, NULL, NULL},
};

static const OSSL_ALGORITHM *seed_query(void *provctx, int id, int *no_cache)
{
    (void)provctx;
    *no_cache = 0;
    return id == OSSL_OP_RAND ? seed_algs : NULL;
}

static void seed_teardown(void *provctx)
{
    free(provctx);
}

static const OSSL_DISPATCH seed_provider[] = {
    {OSSL_FUNC_PROVIDER_TEARDOWN, (void (*)(void))seed_teardown},
    {OSSL_FUNC_PROVIDER_QUERY_OPERATION, (void (*)(void))seed_query},
    {0, NULL},
};

static int seed_init(const OSSL_CORE_HANDLE *handle, const OSSL_DISPATCH *in,
                     const OSSL_DISPATCH **out, void **provctx)
{
    SEED_PROV *p;
    (void)handle, (void)in;
    if (pending_qks == NULL || (p = calloc(1, sizeof(*p))) == NULL)
        return 0;
    p->qks = pending_qks;
    *out = seed_provider;
    *provctx = p;
    return 1;
}

/* Called by library.c under its init mutex, on a fresh libctx nothing has drawn from yet. */
CK_RV qkt_seed_install(OSSL_LIB_CTX *libctx, QKS_CTX *qks, OSSL_PROVIDER **out)
{
    OSSL_PROVIDER *p;

    *out = NULL;
    if (qks == NULL)
        return CKR_OK; /* no RNG configured: nothing random is offered (random.c) */
    if (!OSSL_PROVIDER_add_builtin(libctx, SEED_PROVIDER, seed_init))
        return CKR_GENERAL_ERROR;
    pending_qks = qks;
    p = OSSL_PROVIDER_load(libctx, SEED_PROVIDER);
    pending_qks = NULL;
    if (p == NULL)
        return CKR_GENERAL_ERROR;
    if (!RAND_set_seed_source_type(libctx, SEED_NAME, "provider=" SEED_PROVIDER)) {
        OSSL_PROVIDER_unload(p);
        return CKR_GENERAL_ERROR;
    }
    *out = p;
    return CKR_OK;
}

int qkt_seed_quantum(void)
{
    const SEED_PROV *p =
        qkt_lib->seedprov != NULL ? OSSL_PROVIDER_get0_provider_ctx(qkt_lib->seedprov) : NULL;
    return p != NULL && atomic_load(&p->seeds) > 0;
}
