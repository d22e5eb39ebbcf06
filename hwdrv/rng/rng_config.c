/*
 * rng.* configuration: parse and validate every key the RNG pipeline reads, with an error that
 * names the key, the value and what was expected. The config layer checks key names; the values
 * are ours to check.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* A real number in [lo, hi] (lo excluded when lo_open). */
static int get_double(const QKS_CONFIG *cfg, const char *key, double dflt, double lo, int lo_open,
                      double hi, const char *what, double *out)
{
    const char *v = qks_config_get(cfg, key);
    char *end = NULL;
    double d;

    *out = dflt;
    if (v == NULL)
        return QKS_OK;
    errno = 0;
    d = strtod(v, &end);
    while (end != NULL && (*end == ' ' || *end == '\t'))
        end++;
    if (end == v || end == NULL || *end != '\0' || errno != 0 || !isfinite(d) ||
        (lo_open ? d <= lo : d < lo) || d > hi)
        return qks_set_error(QKS_ERR_CONFIG, "%s = '%.64s': expected %s in %c%g, %g]", key, v, what,
                             lo_open ? '(' : '[', lo, hi);
    *out = d;
    return QKS_OK;
}

static int get_long(const QKS_CONFIG *cfg, const char *key, long dflt, long lo, long hi, long *out)
{
    int rc = qks_config_get_long(cfg, key, dflt, lo, hi, out);

    if (rc != QKS_OK)
        return qks_set_error(QKS_ERR_CONFIG, "%s = '%.64s': expected an integer in [%ld, %ld]", key,
                             qks_config_get(cfg, key) ? qks_config_get(cfg, key) : "", lo, hi);
    return QKS_OK;
}

static int parse_source(const char *v, QHW_RNG_PARAMS *p)
{
    const char *path = NULL;

    if (v == NULL)
        /* not CONFIG: a QKD-only context has no [rng] section and must still open */
        return qks_set_error(QKS_ERR_UNSUPPORTED,
                             "no RNG configured (rng.source is not set: "
                             "sim, device:PATH, diqrng:PATH, diqrng-sim or agent)");
    if (strcmp(v, "sim") == 0) {
        p->kind = QHW_SRC_SIM;
    } else if (strcmp(v, "diqrng-sim") == 0) {
        p->kind = QHW_SRC_DIQRNG_SIM;
    } else if (strcmp(v, "agent") == 0) {
        p->kind = QHW_SRC_AGENT;
    } else if (strncmp(v, "device:", 7) == 0) {
        p->kind = QHW_SRC_DEVICE;
        path = v + 7;
    } else if (strncmp(v, "diqrng:", 7) == 0) {
        p->kind = QHW_SRC_DIQRNG;
        path = v + 7;
    } else {
        return qks_set_error(QKS_ERR_CONFIG,
                             "rng.source = '%.64s': expected sim, device:PATH, diqrng:PATH, "
                             "diqrng-sim or agent",
                             v);
    }
    if (path != NULL) {
        if (path[0] != '/' || strlen(path) >= sizeof(p->path))
            return qks_set_error(QKS_ERR_CONFIG,
                                 "rng.source = '%.64s': the path must be absolute (and shorter "
                                 "than %zu bytes)",
                                 v, sizeof(p->path));
        strcpy(p->path, path);
    }
    return QKS_OK;
}

int qhw_rng_params_load(const QKS_CONFIG *cfg, QHW_RNG_PARAMS *p)
{
    const char *v;
    long l;
    int rc;

    memset(p, 0, sizeof(*p));
    if ((rc = parse_source(qks_config_get(cfg, "rng.source"), p)) != QKS_OK)
        return rc;

    p->min_entropy_set = qks_config_get(cfg, "rng.min_entropy") != NULL;
    if ((rc = get_double(cfg, "rng.min_entropy", 0, 0, 1, 1, "a min-entropy in bits per raw bit",
                         &p->min_entropy)) != QKS_OK)
        return rc;
    if ((rc = get_long(cfg, "rng.alpha_log2", 30, 20, 64, &l)) != QKS_OK)
        return rc;
    p->alpha_log2 = (unsigned)l;
    if ((rc = get_long(cfg, "rng.eps_log2", 100, 32, 256, &l)) != QKS_OK)
        return rc;
    p->eps_log2 = (unsigned)l;
    if ((rc = get_long(cfg, "rng.timeout_ms", 2000, 1, 600000, &p->timeout_ms)) != QKS_OK)
        return rc;

    v = qks_config_get(cfg, "rng.extractor");
    if (v == NULL)
        p->extractor = p->kind == QHW_SRC_DIQRNG || p->kind == QHW_SRC_DIQRNG_SIM ? QHW_EXT_TOEPLITZ
                                                                                  : QHW_EXT_SHA256;
    else if (strcmp(v, "sha256") == 0)
        p->extractor = QHW_EXT_SHA256;
    else if (strcmp(v, "toeplitz") == 0)
        p->extractor = QHW_EXT_TOEPLITZ;
    else
        return qks_set_error(QKS_ERR_CONFIG, "rng.extractor = '%.64s': expected sha256 or toeplitz",
                             v);
    if (p->extractor == QHW_EXT_SHA256 &&
        (p->kind == QHW_SRC_DIQRNG || p->kind == QHW_SRC_DIQRNG_SIM))
        return qks_set_error(QKS_ERR_CONFIG, "rng.extractor = sha256: a DIQRNG source needs a "
                                             "seeded extractor (toeplitz)");

    if ((rc = get_double(cfg, "rng.diqrng_visibility", 0.96, 0, 1, 1, "a visibility",
                         &p->diqrng_visibility)) != QKS_OK ||
        (rc = get_double(cfg, "rng.diqrng_efficiency", 1.0, 0, 1, 1, "a detection efficiency",
                         &p->diqrng_efficiency)) != QKS_OK ||
        (rc = get_double(cfg, "rng.diqrng_test_prob", 0.01, 0, 1, 0.5,
                         "a spot-checking probability", &p->diqrng_test_prob)) != QKS_OK)
        return rc;
    if ((rc = get_long(cfg, "rng.diqrng_block_rounds", 1L << 22, 1L << 14, 1L << 26,
                       &p->diqrng_block_rounds)) != QKS_OK)
        return rc;
    if ((rc = get_long(cfg, "rng.diqrng_conf_log2", p->eps_log2, 20, 256, &l)) != QKS_OK)
        return rc;
    p->diqrng_conf_log2 = (unsigned)l;

    v = qks_config_get(cfg, "rng.toeplitz_seed_file");
    if (v != NULL) {
        if (v[0] != '/' || strlen(v) >= sizeof(p->toeplitz_seed_file))
            return qks_set_error(QKS_ERR_CONFIG,
                                 "rng.toeplitz_seed_file = '%.64s': expected an absolute path", v);
        strcpy(p->toeplitz_seed_file, v);
    }
    return QKS_OK;
}
