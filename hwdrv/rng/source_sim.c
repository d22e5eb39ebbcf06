/*
 * "sim": a simulated continuous-variable QRNG. A balanced homodyne detector measuring the vacuum
 * state gives Gaussian quadrature noise; an 8-bit ADC digitises it. We model the ADC output as
 * floor(x) clamped to [0, 255], x ~ N(128, QHW_SIM_SIGMA^2), quantised to probabilities k/65536
 * so that the raw min-entropy is exact: the most likely value has 817/65536, i.e.
 * H = -log2(817/65536) = 6.3258 bits per 8-bit sample (0.7907 bits per raw bit).
 *
 * The "quantum" noise is an AES-256-CTR keystream keyed from getrandom(2) (in a private
 * OSSL_LIB_CTX), so the simulator is as unpredictable as the kernel's RNG; 16 keystream bits
 * pick one sample through an inverse-CDF table. A forked child re-keys from getrandom.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <openssl/evp.h>

#include "qkey/secmem.h"
#include "internal.h"

#define SIM_CHUNK       8192         /* keystream bytes per EVP call */
#define SIM_REKEY_BYTES (1ULL << 32) /* fresh getrandom key after 4 GiB of keystream */

typedef struct {
    QHW_RNG_SOURCE base;
    OSSL_LIB_CTX *libctx;
    EVP_CIPHER *aes;
    EVP_CIPHER_CTX *cctx;
    uint64_t keystream_bytes; /* since the last key */
    uint64_t rekeys;
    unsigned char *chunk;     /* secure: SIM_CHUNK keystream bytes */
    unsigned char inv[65536]; /* inverse CDF: 16 uniform bits -> ADC value */
} SIM;

static const unsigned char sim_zeros[SIM_CHUNK];

void qhw_rng_sim_table(unsigned counts[256])
{
    long prev = 0;

    for (int v = 0; v < 256; v++) {
        /* cumulative probability of x < v + 1, with the clamped tails folded into 0 and 255 */
        double c = v == 255 ? 1.0 : 0.5 * (1.0 + erf((v + 1 - 128.0) / (QHW_SIM_SIGMA * M_SQRT2)));
        long cum = lround(65536.0 * c);

        counts[v] = (unsigned)(cum - prev);
        prev = cum;
    }
}

static int sim_rekey(SIM *s)
{
    unsigned char *kiv = qks_secure_alloc(48); /* AES-256 key || 128-bit counter block */
    int rc = QKS_OK;

    if (kiv == NULL)
        return qks_set_error(QKS_ERR_NOMEM, "RNG sim: cannot lock memory for the key");
    if (getrandom(kiv, 48, 0) != 48) {
        rc = qks_set_error(QKS_ERR_IO, "RNG sim: getrandom failed: %s", strerror(errno));
        goto done;
    }
    if (!EVP_EncryptInit_ex2(s->cctx, s->aes, kiv, kiv + 32, NULL))
        rc = qks_set_error(QKS_ERR_INTERNAL, "RNG sim: AES-256-CTR key setup failed");
    s->keystream_bytes = 0;
    s->rekeys++;
done:
    qks_secure_free(kiv, 48);
    return rc;
}

static int sim_read(QHW_RNG_SOURCE *src, unsigned char *samples, size_t n)
{
    SIM *s = (SIM *)src;
    int rc;

    while (n > 0) {
        size_t m = n > SIM_CHUNK / 2 ? SIM_CHUNK / 2 : n;
        int outl = 0;

        if (s->keystream_bytes >= SIM_REKEY_BYTES && (rc = sim_rekey(s)) != QKS_OK)
            return rc;
        if (!EVP_EncryptUpdate(s->cctx, s->chunk, &outl, sim_zeros, (int)(2 * m)) ||
            (size_t)outl != 2 * m)
            return qks_set_error(QKS_ERR_INTERNAL, "RNG sim: AES-256-CTR keystream failed");
        s->keystream_bytes += 2 * m;
        for (size_t i = 0; i < m; i++)
            samples[i] = s->inv[s->chunk[2 * i] | (unsigned)s->chunk[2 * i + 1] << 8];
        samples += m;
        n -= m;
    }
    qks_wipe(s->chunk, SIM_CHUNK);
    return QKS_OK;
}

static int sim_after_fork(QHW_RNG_SOURCE *src)
{
    return sim_rekey((SIM *)src);
}

static int sim_status(QHW_RNG_SOURCE *src, json_t *out)
{
    SIM *s = (SIM *)src;

    json_object_set_new(out, "sim_model", json_string("vacuum homodyne, 8-bit ADC"));
    json_object_set_new(out, "sim_sigma_adc", json_real(QHW_SIM_SIGMA));
    json_object_set_new(out, "sim_raw_min_entropy_per_sample", json_real(-log2(817.0 / 65536.0)));
    json_object_set_new(out, "sim_rekeys", json_integer((json_int_t)s->rekeys));
    return QKS_OK;
}

static void sim_free(QHW_RNG_SOURCE *src)
{
    SIM *s = (SIM *)src;

    if (s == NULL)
        return;
    EVP_CIPHER_CTX_free(s->cctx);
    EVP_CIPHER_free(s->aes);
    OSSL_LIB_CTX_free(s->libctx);
    qks_secure_free(s->chunk, SIM_CHUNK);
    free(s);
}

static const QHW_RNG_SOURCE_METHOD sim_method = {
    .name = "sim",
    .read = sim_read,
    .after_fork = sim_after_fork,
    .status = sim_status,
    .free = sim_free,
};

int qhw_rng_sim_open(const QHW_RNG_PARAMS *p, QHW_RNG_SOURCE **out)
{
    SIM *s = calloc(1, sizeof(*s));
    unsigned counts[256];
    size_t k = 0;
    int rc;

    (void)p;
    *out = NULL;
    if (s == NULL)
        return qks_set_error(QKS_ERR_NOMEM, "RNG sim: out of memory");
    s->base.meth = &sim_method;
    s->base.sample_bits = 8;
    s->base.default_min_entropy = QHW_SIM_MIN_ENTROPY;
    qhw_rng_sim_table(counts);
    for (int v = 0; v < 256; v++)
        for (unsigned j = 0; j < counts[v]; j++)
            s->inv[k++] = (unsigned char)v;
    if (k != 65536) {
        sim_free(&s->base);
        return qks_set_error(QKS_ERR_INTERNAL, "RNG sim: sample table sums to %zu", k);
    }
    if ((s->chunk = qks_secure_alloc(SIM_CHUNK)) == NULL) {
        sim_free(&s->base);
        return qks_set_error(QKS_ERR_NOMEM, "RNG sim: cannot lock memory");
    }
    if ((s->libctx = OSSL_LIB_CTX_new()) == NULL ||
        (s->aes = EVP_CIPHER_fetch(s->libctx, "AES-256-CTR", NULL)) == NULL ||
        (s->cctx = EVP_CIPHER_CTX_new()) == NULL) {
        sim_free(&s->base);
        return qks_set_error(QKS_ERR_INTERNAL, "RNG sim: AES-256-CTR unavailable");
    }
    if ((rc = sim_rekey(s)) != QKS_OK) {
        sim_free(&s->base);
        return rc;
    }
    *out = &s->base;
    return QKS_OK;
}
