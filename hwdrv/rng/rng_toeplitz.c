/*
 * rng.extractor = toeplitz for the SP 800-90B sources (sim, device:): blocks of 1,024 health-
 * tested 8-bit samples (n = 8,192 bits carrying n * rng.min_entropy bits of min-entropy) go
 * through a Toeplitz hash with m = n * H - 2 * rng.eps_log2 rows (leftover hash lemma), then,
 * because Toeplitz hashing is not a vetted SP 800-90B conditioning function, through SHA-256:
 * the Toeplitz output is credited 0.999 bits per bit (the 90B 3.1.5.2 cap for non-vetted
 * conditioning), so each 32-byte SHA-256 output takes 41 bytes (327.7 >= 256 + 64 bits).
 *
 * The seed (n + m - 1 bits, public, independent of the data it hashes): rng.toeplitz_seed_file
 * if set, else the first SHA-256-conditioned output of the source itself after its start-up
 * test (never handed out).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qkey/secmem.h"
#include "internal.h"

#define TZ_SHA_IN 41 /* Toeplitz bytes per SHA-256 block: 41 * 8 * 0.999 >= 320 */

struct qhw_rng_tz_st {
    QHW_TOEPLITZ *tz;
    size_t n_bits, m_bits, seed_bytes;
    char seed_origin[QHW_RNG_PATH_MAX + 32];
};

int qhw_rng_read_seed_file(const char *path, unsigned char *seed, size_t len, const char *why)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    size_t got = 0;

    if (fd < 0)
        return qks_set_error(QKS_ERR_CONFIG, "rng.toeplitz_seed_file %s: cannot open: %s", path,
                             strerror(errno));
    while (got < len) {
        ssize_t r = read(fd, seed + got, len - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    if (got < len)
        return qks_set_error(QKS_ERR_CONFIG, "rng.toeplitz_seed_file %s: %zu bytes, %s needs %zu",
                             path, got, why, len);
    return QKS_OK;
}

void qhw_rng_tz_free(QHW_RNG_TZ *z)
{
    if (z == NULL)
        return;
    qhw_toeplitz_free(z->tz);
    free(z);
}

static int tz_seed(QHW_RNG_TZ *z, const unsigned char *seed)
{
    return qhw_toeplitz_new(z->n_bits, z->m_bits, seed, z->seed_bytes, &z->tz);
}

int qhw_rng_tz_new(const QHW_RNG_PARAMS *p, double min_entropy, QHW_RNG_TZ **out)
{
    QHW_RNG_TZ *z = calloc(1, sizeof(*z));
    int rc = QKS_OK;

    *out = NULL;
    if (z == NULL)
        return qks_set_error(QKS_ERR_NOMEM, "RNG Toeplitz: out of memory");
    z->n_bits = QHW_TZ_SAMPLES * 8;
    z->m_bits = qhw_lhl_output_bits(z->n_bits * min_entropy, p->eps_log2);
    z->m_bits -= z->m_bits % 8;
    if (z->m_bits < 8 * TZ_SHA_IN) {
        size_t n_bits = z->n_bits, m_bits = z->m_bits;
        qhw_rng_tz_free(z);
        return qks_set_error(QKS_ERR_CONFIG,
                             "rng.extractor = toeplitz: %zu bits at rng.min_entropy = %g leave "
                             "%zu bits after the 2 * %u-bit leftover-hash penalty (rng.eps_log2); "
                             "too few",
                             n_bits, min_entropy, m_bits, p->eps_log2);
    }
    z->seed_bytes = qhw_toeplitz_seed_bytes(z->n_bits, z->m_bits);
    if (p->toeplitz_seed_file[0] != '\0') {
        unsigned char *seed = malloc(z->seed_bytes);
        if (seed == NULL)
            rc = qks_set_error(QKS_ERR_NOMEM, "RNG Toeplitz: out of memory");
        else if ((rc = qhw_rng_read_seed_file(p->toeplitz_seed_file, seed, z->seed_bytes,
                                              "a Toeplitz matrix for 8,192 input bits")) == QKS_OK)
            rc = tz_seed(z, seed);
        free(seed);
        snprintf(z->seed_origin, sizeof(z->seed_origin), "file %s", p->toeplitz_seed_file);
    }
    if (rc != QKS_OK) {
        qhw_rng_tz_free(z);
        return rc;
    }
    *out = z;
    return QKS_OK;
}

size_t qhw_rng_tz_seed_bytes(const QHW_RNG_TZ *z)
{
    return z->tz != NULL ? 0 : z->seed_bytes;
}

int qhw_rng_tz_set_seed(QHW_RNG_TZ *z, const unsigned char *seed)
{
    snprintf(z->seed_origin, sizeof(z->seed_origin),
             "derived from the source's first conditioned output");
    return tz_seed(z, seed);
}

int qhw_rng_tz_block(QHW_RNG_TZ *z, QHW_CONDITIONER *c, const unsigned char *samples,
                     unsigned char *stage, unsigned char *out, size_t *out_len)
{
    size_t m_bytes = z->m_bits / 8, k = 0;
    int rc;

    if ((rc = qhw_toeplitz_extract(z->tz, samples, z->m_bits, stage)) != QKS_OK)
        return rc;
    for (size_t off = 0; off + TZ_SHA_IN <= m_bytes; off += TZ_SHA_IN, k += 32)
        if ((rc = qhw_condition(c, stage + off, TZ_SHA_IN, out + k)) != QKS_OK)
            break;
    qks_wipe(stage, m_bytes);
    *out_len = rc == QKS_OK ? k : 0;
    return rc;
}

int qhw_rng_tz_status(const QHW_RNG_TZ *z, json_t *o)
{
    char desc[160];

    snprintf(desc, sizeof(desc), "toeplitz (n = %zu, m = %zu) then sha256 (%d -> 32 bytes)",
             z->n_bits, z->m_bits, TZ_SHA_IN);
    json_object_set_new(o, "conditioning", json_string(desc));
    json_object_set_new(o, "toeplitz_seed",
                        json_string(z->tz ? z->seed_origin : "not derived yet (first use)"));
    return QKS_OK;
}
