/*
 * qkey provider: EVP_RAND "QRNG", a seed source over the key source's quantum RNG pipeline
 * (qks_random), for `[random] seed = QRNG`. OpenSSL 3.0's primary DRBG draws its seed from
 * here at (re)seed points, under its own lock: get_seed calls qks_random only, never RAND_* or
 * anything drawing randomness from a library context.
 *
 * Fail closed: instantiate never fails (OpenSSL 3.0 silently falls back to OS entropy when a
 * seed source's instantiate fails); errors come from get_seed and generate, which report the
 * health/device failure on the error queue and put the context in the ERROR state. A
 * permanent failure (QKS_ERR_HEALTH_PERMANENT, QKS_ERR_ENTROPY) stays latched; after an
 * intermittent one the next successful draw returns the state to READY.
 */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "internal.h"
#include "qkey/secmem.h"

static OSSL_FUNC_rand_newctx_fn qrng_new;
static OSSL_FUNC_rand_freectx_fn qrng_free;
static OSSL_FUNC_rand_instantiate_fn qrng_instantiate;
static OSSL_FUNC_rand_uninstantiate_fn qrng_uninstantiate;
static OSSL_FUNC_rand_generate_fn qrng_generate;
static OSSL_FUNC_rand_reseed_fn qrng_reseed;
static OSSL_FUNC_rand_get_seed_fn qrng_get_seed;
static OSSL_FUNC_rand_clear_seed_fn qrng_clear_seed;
static OSSL_FUNC_rand_enable_locking_fn qrng_enable_locking;
static OSSL_FUNC_rand_lock_fn qrng_lock;
static OSSL_FUNC_rand_unlock_fn qrng_unlock;
static OSSL_FUNC_rand_gettable_ctx_params_fn qrng_gettable_ctx_params;
static OSSL_FUNC_rand_get_ctx_params_fn qrng_get_ctx_params;
static OSSL_FUNC_rand_settable_ctx_params_fn qrng_settable_ctx_params;
static OSSL_FUNC_rand_set_ctx_params_fn qrng_set_ctx_params;
static OSSL_FUNC_rand_verify_zeroization_fn qrng_verify_zeroization;

#define QRNG_MAX_REQUEST 4096 /* bytes per generate call */

typedef struct {
    QKP_PROV *prov;
    atomic_int state;   /* EVP_RAND_STATE_* */
    atomic_int latched; /* a permanent failure: never READY again */
    CRYPTO_RWLOCK *lock;
} QRNG;

static void *qrng_new(void *provctx, void *parent, const OSSL_DISPATCH *parent_dispatch)
{
    QRNG *r;

    if (parent != NULL) {
        /* a seed source draws from the quantum source only, never from another RAND */
        QKP_RAISE(provctx, QKP_R_RNG, "QRNG is a seed source and takes no parent");
        return NULL;
    }
    if ((r = OPENSSL_zalloc(sizeof(*r))) == NULL)
        return NULL;
    r->prov = provctx;
    r->state = EVP_RAND_STATE_UNINITIALISED;
    return r;
}

static void qrng_free(void *vr)
{
    QRNG *r = vr;

    if (r == NULL)
        return;
    CRYPTO_THREAD_lock_free(r->lock);
    OPENSSL_free(r);
}

static int qrng_instantiate(void *vr, unsigned int strength, int prediction_resistance,
                            const unsigned char *pstr, size_t pstr_len, const OSSL_PARAM params[])
{
    QRNG *r = vr;

    /* never fails for device or health reasons: see the file comment */
    r->state = r->latched ? EVP_RAND_STATE_ERROR : EVP_RAND_STATE_READY;
    return 1;
}

static int qrng_uninstantiate(void *vr)
{
    QRNG *r = vr;

    r->state = EVP_RAND_STATE_UNINITIALISED;
    return 1;
}

/* Draw from the key source; record failure and the state. */
static int draw(QRNG *r, unsigned char *out, size_t len)
{
    int rv;

    if (!qkp_ready(r->prov)) {
        r->state = EVP_RAND_STATE_ERROR;
        atomic_fetch_add(&r->prov->seed_failures, 1);
        return 0;
    }
    if (r->latched) {
        QKP_RAISE(r->prov, QKP_R_RNG, "QRNG: the quantum source failed permanently earlier");
        return 0;
    }
    rv = qks_random(r->prov->qks, out, len);
    if (rv == QKS_OK) {
        r->state = EVP_RAND_STATE_READY;
        return 1;
    }
    qks_wipe(out, len);
    atomic_fetch_add(&r->prov->seed_failures, 1);
    r->state = EVP_RAND_STATE_ERROR;
    if (rv == QKS_ERR_HEALTH_PERMANENT || rv == QKS_ERR_ENTROPY)
        r->latched = 1;
    QKP_RAISE_QKS(r->prov, rv, "QRNG");
    return 0;
}

/* Strength reported to the DRBG: the source's, or 256 while it is not open (so the DRBG chain
 * is built and the first draw fails with the reason instead of a vague "parent too weak"). */
static unsigned strength_of(const QRNG *r)
{
    unsigned s = r->prov->qks != NULL ? qks_rng_strength(r->prov->qks) : 0;

    return s != 0 ? s : 256;
}

static int qrng_generate(void *vr, unsigned char *out, size_t outlen, unsigned int strength,
                         int prediction_resistance, const unsigned char *adin, size_t adin_len)
{
    QRNG *r = vr;
    unsigned have = qks_rng_strength(r->prov->qks);

    /* a source that did not open has no strength: the draw reports why, not "gives 0" */
    if (have != 0 && strength > have) {
        QKP_RAISE(r->prov, QKP_R_BAD_STRENGTH, "QRNG: %u bits requested, source gives %u", strength,
                  have);
        return 0;
    }
    return draw(r, out, outlen);
}

static int qrng_reseed(void *vr, int prediction_resistance, const unsigned char *ent,
                       size_t ent_len, const unsigned char *adin, size_t adin_len)
{
    QRNG *r = vr;

    return !r->latched; /* every draw is fresh from the source: nothing to reseed */
}

static size_t qrng_get_seed(void *vr, unsigned char **pout, int entropy, size_t min_len,
                            size_t max_len, int prediction_resistance, const unsigned char *adin,
                            size_t adin_len)
{
    QRNG *r = vr;
    /* qks_random gives full-entropy bytes; a negative request asks for no more than min_len */
    size_t len = entropy > 0 ? ((size_t)entropy + 7) / 8 : 0;
    unsigned char *buf;

    *pout = NULL;
    if (len < min_len)
        len = min_len;
    if (len > max_len || len == 0) {
        QKP_RAISE(r->prov, QKP_R_RNG, "QRNG: seed of %d bits does not fit %zu..%zu bytes", entropy,
                  min_len, max_len);
        return 0;
    }
    if ((buf = qks_secure_alloc(len)) == NULL) {
        QKP_RAISE(r->prov, QKP_R_INTERNAL, "QRNG: cannot allocate locked memory");
        return 0;
    }
    if (!draw(r, buf, len)) {
        qks_secure_free(buf, len);
        return 0;
    }
    atomic_fetch_add(&r->prov->seed_calls, 1);
    *pout = buf;
    return len;
}

static void qrng_clear_seed(void *vr, unsigned char *out, size_t outlen)
{
    qks_secure_free(out, outlen);
}

static int qrng_enable_locking(void *vr)
{
    QRNG *r = vr;

    if (r->lock == NULL && (r->lock = CRYPTO_THREAD_lock_new()) == NULL) {
        QKP_RAISE(r->prov, QKP_R_INTERNAL, "QRNG: cannot create a lock");
        return 0;
    }
    return 1;
}

static int qrng_lock(void *vr)
{
    QRNG *r = vr;

    return r->lock == NULL || CRYPTO_THREAD_write_lock(r->lock);
}

static void qrng_unlock(void *vr)
{
    QRNG *r = vr;

    if (r->lock != NULL)
        (void)CRYPTO_THREAD_unlock(r->lock); /* nothing to do if unlocking fails */
}

static int qrng_get_ctx_params(void *vr, OSSL_PARAM params[])
{
    QRNG *r = vr;
    OSSL_PARAM *p;

    if ((p = OSSL_PARAM_locate(params, OSSL_RAND_PARAM_STATE)) != NULL &&
        !OSSL_PARAM_set_int(p, r->state))
        return 0;
    /* the primary DRBG (AES-256-CTR) refuses a parent weaker than 256 bits */
    if ((p = OSSL_PARAM_locate(params, OSSL_RAND_PARAM_STRENGTH)) != NULL &&
        !OSSL_PARAM_set_uint(p, strength_of(r)))
        return 0;
    if ((p = OSSL_PARAM_locate(params, OSSL_RAND_PARAM_MAX_REQUEST)) != NULL &&
        !OSSL_PARAM_set_size_t(p, QRNG_MAX_REQUEST))
        return 0;
    return 1;
}

static const OSSL_PARAM *qrng_gettable_ctx_params(void *vr, void *provctx)
{
    static const OSSL_PARAM gettable[] = {OSSL_PARAM_int(OSSL_RAND_PARAM_STATE, NULL),
                                          OSSL_PARAM_uint(OSSL_RAND_PARAM_STRENGTH, NULL),
                                          OSSL_PARAM_size_t(OSSL_RAND_PARAM_MAX_REQUEST, NULL),
                                          OSSL_PARAM_END};
    return gettable;
}

static int qrng_set_ctx_params(void *vr, const OSSL_PARAM params[])
{
    return 1; /* nothing settable */
}

static const OSSL_PARAM *qrng_settable_ctx_params(void *vr, void *provctx)
{
    static const OSSL_PARAM settable[] = {OSSL_PARAM_END};
    return settable;
}

static int qrng_verify_zeroization(void *vr)
{
    return 1; /* QRNG keeps no output: seeds are wiped by clear_seed */
}

const OSSL_DISPATCH qkp_rand_functions[] = {
    {OSSL_FUNC_RAND_NEWCTX, (void (*)(void))qrng_new},
    {OSSL_FUNC_RAND_FREECTX, (void (*)(void))qrng_free},
    {OSSL_FUNC_RAND_INSTANTIATE, (void (*)(void))qrng_instantiate},
    {OSSL_FUNC_RAND_UNINSTANTIATE, (void (*)(void))qrng_uninstantiate},
    {OSSL_FUNC_RAND_GENERATE, (void (*)(void))qrng_generate},
    {OSSL_FUNC_RAND_RESEED, (void (*)(void))qrng_reseed},
    {OSSL_FUNC_RAND_GET_SEED, (void (*)(void))qrng_get_seed},
    {OSSL_FUNC_RAND_CLEAR_SEED, (void (*)(void))qrng_clear_seed},
    {OSSL_FUNC_RAND_ENABLE_LOCKING, (void (*)(void))qrng_enable_locking},
    {OSSL_FUNC_RAND_LOCK, (void (*)(void))qrng_lock},
    {OSSL_FUNC_RAND_UNLOCK, (void (*)(void))qrng_unlock},
    {OSSL_FUNC_RAND_GETTABLE_CTX_PARAMS, (void (*)(void))qrng_gettable_ctx_params},
    {OSSL_FUNC_RAND_GET_CTX_PARAMS, (void (*)(void))qrng_get_ctx_params},
    {OSSL_FUNC_RAND_SETTABLE_CTX_PARAMS, (void (*)(void))qrng_settable_ctx_params},
    {OSSL_FUNC_RAND_SET_CTX_PARAMS, (void (*)(void))qrng_set_ctx_params},
    {OSSL_FUNC_RAND_VERIFY_ZEROIZATION, (void (*)(void))qrng_verify_zeroization},
    {0, NULL}};
