/*
 * hwdrv: the two small driver vtables behind the key-source layer, and the registry that
 * names them. Only keysource/ and hwdrv/ include this header; the front ends never do.
 *
 * QKD drivers (qkd.driver): "sim" (embedded simulated link), "etsi014" (REST + mTLS).
 * RNG: one pipeline (raw source -> SP 800-90B health tests -> conditioning/extraction) built
 * from rng.source ("sim", "device:PATH", "diqrng:PATH", "diqrng-sim"); keysource sees only the
 * qhw_rng_* functions below.
 *
 * Errors: drivers return QKS_ERR_* codes and record a detail with qks_set_error() (base.h).
 * Layers: hwdrv uses base only; keysource (above) uses hwdrv and base.
 */
#ifndef QKEY_QHW_H
#define QKEY_QHW_H

#include <stddef.h>
#include <jansson.h>

#include "base.h" /* the layer below: errors, config, secure memory, key objects */

/* ---- QKD drivers ----------------------------------------------------------------------- */
typedef struct qhw_qkd_st QHW_QKD;

typedef struct qhw_qkd_method_st {
    /* required: driver name as written in qkd.driver */
    const char *name;
    /* required: create from config (qkd.* keys). Read credential files here; no network I/O,
     * no blocking. */
    int (*open)(const QKS_CONFIG *cfg, QHW_QKD **out);
    /* required: release everything, wiping secrets */
    void (*close)(QHW_QKD *drv);
    /* required: ETSI 014 enc_keys: `number` fresh keys of `key_bytes` bytes shared with
     * `slave_sae`. keys[i] are allocated by the driver (qks_key_alloc). On failure no key is
     * returned and none is left allocated. */
    int (*enc_keys)(QHW_QKD *drv, const char *slave_sae, size_t key_bytes, size_t number,
                    QKS_KEY **keys);
    /* required: ETSI 014 dec_keys: the keys with these IDs that `master_sae` obtained. All or
     * nothing. */
    int (*dec_keys)(QHW_QKD *drv, const char *master_sae, const char *const *key_ids, size_t number,
                    QKS_KEY **keys);
    /* optional: add status fields for `peer` (ETSI status: stored_key_count, key sizes, ...)
     * to `out` */
    int (*status)(QHW_QKD *drv, const char *peer, json_t *out);
    /* optional: called in a forked child before any other call: drop connections and any
     * state that must not be shared with the parent */
    void (*after_fork)(QHW_QKD *drv);
    /* optional: how many keys the link can still deliver to `peer` right now (the KME's
     * stored_key_count, fresh to within a second); -1 when the driver cannot tell. For
     * qkd.reserve. */
    int (*stored)(QHW_QKD *drv, const char *peer, long *n);
    /* optional: one enc_keys key for a purpose (QKS_PURPOSE_*), for a driver that hands the
     * request to another key source applying its own qkd.reserve (agent). When set, keysource
     * calls it instead of enc_keys. */
    int (*enc_key_purpose)(QHW_QKD *drv, const char *slave_sae, size_t key_bytes, int purpose,
                           QKS_KEY **key);
} QHW_QKD_METHOD;

/* Every driver context starts with its method pointer (BearSSL style). */
struct qhw_qkd_st {
    const QHW_QKD_METHOD *meth;
};

/* The registry: NULL when no such driver. */
const QHW_QKD_METHOD *qhw_qkd_find(const char *name);

/* ---- RNG pipeline ---------------------------------------------------------------------- */
typedef struct qhw_rng_st QHW_RNG;

/* Build the pipeline from rng.* keys (rng.source, rng.min_entropy, ...). Opens device files;
 * no blocking reads (start-up health testing happens on first use). */
int qhw_rng_open(const QKS_CONFIG *cfg, QHW_RNG **out);
void qhw_rng_free(QHW_RNG *rng);
/* Full-entropy output. Fails closed with the health/device/entropy error. Thread-safe. Never
 * calls OpenSSL RAND_*. */
int qhw_rng_generate(QHW_RNG *rng, unsigned char *out, size_t len);
/* QKS_OK or the error the next generate would return without reading the source. */
int qhw_rng_state(QHW_RNG *rng);
/* Security strength of the output in bits. */
unsigned qhw_rng_strength(const QHW_RNG *rng);
/* Add fields (source, health counters, entropy figures) to `out`. */
int qhw_rng_status(QHW_RNG *rng, json_t *out);
/* In a forked child: drop buffered output and re-seed any internal state so the child never
 * emits what the parent emits. */
void qhw_rng_after_fork(QHW_RNG *rng);

#endif /* QKEY_QHW_H */
