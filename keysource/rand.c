/*
 * Quantum random bytes: forwards to the hwdrv RNG pipeline (raw source -> health tests ->
 * conditioning). Fails closed; never calls OpenSSL RAND_* (this runs inside OpenSSL's seed
 * callback under the primary DRBG's lock).
 */
#include "internal.h"

static int rng_missing(const QKS_CTX *ctx)
{
    if (ctx->rng_error != QKS_OK)
        return qks_set_error(ctx->rng_error, "RNG pipeline could not be opened: %s",
                             ctx->rng_error_detail);
    return qks_set_error(QKS_ERR_UNSUPPORTED, "no RNG source configured (rng.source)");
}

int qks_random(QKS_CTX *ctx, unsigned char *out, size_t len)
{
    qks_clear_error();
    if (ctx == NULL || (out == NULL && len > 0))
        return qks_set_error(QKS_ERR_INVALID, "qks_random: NULL argument");
    qks_ctx_check_fork(ctx);
    if (ctx->rng == NULL)
        return rng_missing(ctx);
    if (len == 0)
        return QKS_OK;
    return qhw_rng_generate(ctx->rng, out, len);
}

int qks_rng_state(QKS_CTX *ctx)
{
    if (ctx == NULL)
        return qks_set_error(QKS_ERR_INVALID, "qks_rng_state: NULL context");
    qks_ctx_check_fork(ctx);
    if (ctx->rng == NULL)
        return rng_missing(ctx);
    return qhw_rng_state(ctx->rng);
}

unsigned qks_rng_strength(const QKS_CTX *ctx)
{
    if (ctx == NULL || ctx->rng == NULL)
        return 0;
    return qhw_rng_strength(ctx->rng);
}
