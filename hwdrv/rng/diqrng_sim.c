/*
 * "diqrng-sim": a simulated CHSH experiment that writes the DIQRNG record stream (header, then
 * one byte per round) the engine reads from real experiments.
 *
 * Model: a maximally entangled pair with visibility V (Werner state) measured at the CHSH
 * angles, so a coincidence has correlator E_xy = +-V/sqrt(2) (minus for x = y = 1); each
 * detector clicks with probability eta, and a detector that does not click records outcome 0
 * (no post-selection). Hence S = 2 sqrt(2) V eta^2 + 2 (1 - eta)^2. A round is a test round with
 * probability q (rng.diqrng_test_prob), then its settings are uniform; otherwise x = y = 0.
 * Randomness: AES-256-CTR keystream keyed from getrandom(2) in a private OSSL_LIB_CTX, 64 bits
 * per round (128 when eta < 1); a forked child re-keys.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <openssl/evp.h>

#include "qkey/secmem.h"
#include "diqrng.h"

#define KS_CHUNK 16384 /* keystream bytes per EVP call */

typedef struct {
    QHW_RNG_SOURCE base;
    OSSL_LIB_CTX *libctx;
    EVP_CIPHER *aes;
    EVP_CIPHER_CTX *cctx;
    unsigned char *ks; /* secure: keystream chunk */
    size_t ks_pos;
    double visibility, efficiency;
    uint32_t q32;        /* test probability * 2^32 */
    uint32_t flip[2][2]; /* P(a != b | coincidence, x, y) * 2^32 */
    uint32_t click32;    /* eta * 2^32 (clamped) */
    int header_sent;
    uint64_t rounds;
} DIQ_SIM;

static const unsigned char zeros[KS_CHUNK];

double qhw_diq_sim_expected_s(double visibility, double efficiency)
{
    return 2.0 * M_SQRT2 * visibility * efficiency * efficiency +
           2.0 * (1.0 - efficiency) * (1.0 - efficiency);
}

static uint32_t prob32(double p)
{
    double v = floor(p * 4294967296.0 + 0.5);
    return v >= 4294967295.0 ? 0xffffffffu : (uint32_t)v;
}

static int refill(DIQ_SIM *s)
{
    int outl = 0;

    if (!EVP_EncryptUpdate(s->cctx, s->ks, &outl, zeros, KS_CHUNK) || outl != KS_CHUNK)
        return qks_set_error(QKS_ERR_INTERNAL, "diqrng-sim: AES-256-CTR keystream failed");
    s->ks_pos = 0;
    return QKS_OK;
}

static int rekey(DIQ_SIM *s)
{
    unsigned char *kiv = qks_secure_alloc(48);
    int rc = QKS_OK;

    if (kiv == NULL)
        return qks_set_error(QKS_ERR_NOMEM, "diqrng-sim: cannot lock memory for the key");
    if (getrandom(kiv, 48, 0) != 48)
        rc = qks_set_error(QKS_ERR_IO, "diqrng-sim: getrandom failed: %s", strerror(errno));
    else if (!EVP_EncryptInit_ex2(s->cctx, s->aes, kiv, kiv + 32, NULL))
        rc = qks_set_error(QKS_ERR_INTERNAL, "diqrng-sim: AES-256-CTR key setup failed");
    qks_secure_free(kiv, 48);
    s->ks_pos = KS_CHUNK; /* drop any keystream left from the old key */
    return rc;
}

static inline int next64(DIQ_SIM *s, uint64_t *u)
{
    int rc;

    if (s->ks_pos + 8 > KS_CHUNK && (rc = refill(s)) != QKS_OK)
        return rc;
    memcpy(u, s->ks + s->ks_pos, 8);
    s->ks_pos += 8;
    return QKS_OK;
}

static int sim_read(QHW_RNG_SOURCE *src, unsigned char *rec, size_t n)
{
    DIQ_SIM *s = (DIQ_SIM *)src;
    const int lossy = s->click32 != 0xffffffffu;
    int rc = QKS_OK;

    if (!s->header_sent) {
        if (n < QHW_DIQ_HEADER_LEN)
            return qks_set_error(QKS_ERR_INTERNAL, "diqrng-sim: header read of %zu bytes", n);
        qhw_diq_make_header(s->q32, rec);
        s->header_sent = 1;
        rec += QHW_DIQ_HEADER_LEN;
        n -= QHW_DIQ_HEADER_LEN;
    }
    for (size_t i = 0; i < n; i++) {
        uint64_t u, v = 0;
        if ((rc = next64(s, &u)) != QKS_OK || (lossy && (rc = next64(s, &v)) != QKS_OK))
            break;
        unsigned test = (uint32_t)u < s->q32;
        unsigned x = test ? (unsigned)(u >> 32) & 1 : 0, y = test ? (unsigned)(u >> 33) & 1 : 0;
        unsigned bit = (unsigned)(u >> 34) & 1;
        unsigned flip = (uint32_t)(u >> 35 << 3) < s->flip[x][y]; /* 29 random bits, scaled */
        unsigned click_a = !lossy || (uint32_t)v < s->click32;
        unsigned click_b = !lossy || (uint32_t)(v >> 32) < s->click32;
        unsigned a, b;
        if (click_a && click_b) {
            a = bit;
            b = bit ^ flip;
        } else {
            a = click_a ? bit : 0; /* a detector that does not click records 0 */
            b = click_b ? bit : 0;
        }
        rec[i] = (unsigned char)(x | y << 1 | a << 2 | b << 3 | test << 4);
    }
    s->rounds += n;
    qks_wipe(s->ks, s->ks_pos); /* used keystream */
    return rc;
}

static int sim_after_fork(QHW_RNG_SOURCE *src)
{
    return rekey((DIQ_SIM *)src);
}

static int sim_status(QHW_RNG_SOURCE *src, json_t *o)
{
    DIQ_SIM *s = (DIQ_SIM *)src;

    json_object_set_new(o, "diqrng_sim_visibility", json_real(s->visibility));
    json_object_set_new(o, "diqrng_sim_efficiency", json_real(s->efficiency));
    json_object_set_new(o, "diqrng_sim_expected_S",
                        json_real(qhw_diq_sim_expected_s(s->visibility, s->efficiency)));
    json_object_set_new(o, "diqrng_sim_rounds", json_integer((json_int_t)s->rounds));
    return QKS_OK;
}

static void sim_free(QHW_RNG_SOURCE *src)
{
    DIQ_SIM *s = (DIQ_SIM *)src;

    if (s == NULL)
        return;
    EVP_CIPHER_CTX_free(s->cctx);
    EVP_CIPHER_free(s->aes);
    OSSL_LIB_CTX_free(s->libctx);
    qks_secure_free(s->ks, KS_CHUNK);
    free(s);
}

static const QHW_RNG_SOURCE_METHOD diq_sim_method = {
    .name = "diqrng-sim",
    .read = sim_read,
    .after_fork = sim_after_fork,
    .status = sim_status,
    .free = sim_free,
};

int qhw_diq_sim_open(const QHW_RNG_PARAMS *p, QHW_RNG_SOURCE **out)
{
    DIQ_SIM *s = calloc(1, sizeof(*s));
    int rc;

    *out = NULL;
    if (s == NULL)
        return qks_set_error(QKS_ERR_NOMEM, "diqrng-sim: out of memory");
    s->base.meth = &diq_sim_method;
    s->base.sample_bits = 8;
    s->visibility = p->diqrng_visibility;
    s->efficiency = p->diqrng_efficiency;
    s->q32 = prob32(p->diqrng_test_prob);
    if (s->q32 == 0)
        s->q32 = 1;
    for (int x = 0; x < 2; x++)
        for (int y = 0; y < 2; y++) {
            double e = ((x & y) ? -1.0 : 1.0) * s->visibility / M_SQRT2;
            s->flip[x][y] = prob32((1.0 - e) / 2.0);
        }
    s->click32 = prob32(s->efficiency);
    s->ks_pos = KS_CHUNK;
    if ((s->ks = qks_secure_alloc(KS_CHUNK)) == NULL || (s->libctx = OSSL_LIB_CTX_new()) == NULL ||
        (s->aes = EVP_CIPHER_fetch(s->libctx, "AES-256-CTR", NULL)) == NULL ||
        (s->cctx = EVP_CIPHER_CTX_new()) == NULL) {
        sim_free(&s->base);
        return qks_set_error(QKS_ERR_INTERNAL, "diqrng-sim: AES-256-CTR unavailable");
    }
    if ((rc = rekey(s)) != QKS_OK) {
        sim_free(&s->base);
        return rc;
    }
    *out = &s->base;
    return QKS_OK;
}
