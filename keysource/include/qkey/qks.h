/*
 * qkey key-source layer: the one API both front ends (the OpenSSL provider and the PKCS#11
 * token) and the tools use. QKD keys per peer SAE, quantum random bytes, health and status,
 * configuration. Nothing here knows OpenSSL's provider API or PKCS#11 types.
 *
 * Errors: every function returning int returns QKS_OK (0) or a negative QKS_ERR_* code;
 * qks_strerror() names the code and qks_last_error() gives the detail of the calling thread's
 * most recent failure ("KME https://127.0.0.1:8443 answered 503: no key for SAE_B"). Details
 * never contain key material.
 *
 * Thread safety: a QKS_CTX may be used from many threads at once.
 * Fork safety: every entry point notices a new pid; a forked child drops every key, key ID and
 * random buffer inherited from its parent and reopens driver connections lazily.
 */
#ifndef QKEY_QKS_H
#define QKEY_QKS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- errors ---------------------------------------------------------------------------- */
enum {
    QKS_OK = 0,
    QKS_ERR_INVALID = -1,           /* bad argument or malformed outside input */
    QKS_ERR_NOMEM = -2,             /* allocation (or locking memory) failed */
    QKS_ERR_CONFIG = -3,            /* configuration missing, unknown key or bad value */
    QKS_ERR_IO = -4,                /* file or device I/O failed */
    QKS_ERR_PEER_DENIED = -5,       /* peer SAE not in qkd.peers */
    QKS_ERR_RATE_LIMITED = -6,      /* per-peer key consumption limit reached */
    QKS_ERR_NO_KEY = -7,            /* the link has no key available now (store exhausted) */
    QKS_ERR_KEY_UNKNOWN = -8,       /* key ID unknown, already delivered, or not for this SAE */
    QKS_ERR_KME = -9,               /* the KME refused the request or answered badly */
    QKS_ERR_UNREACHABLE = -10,      /* the KME could not be reached */
    QKS_ERR_TIMEOUT = -11,          /* a bound (qkd.timeout_ms, device timeout) was exceeded */
    QKS_ERR_AUTH = -12,             /* TLS/credential failure (certificate refused or invalid) */
    QKS_ERR_HEALTH = -13,           /* RNG health test failure, intermittent (may clear) */
    QKS_ERR_HEALTH_PERMANENT = -14, /* RNG health test failure, latched forever */
    QKS_ERR_DEVICE = -15,           /* RNG/QKD device failure (EOF, read error) */
    QKS_ERR_UNSUPPORTED = -16,      /* operation not offered by this driver */
    QKS_ERR_ENTROPY = -17,          /* no certified entropy (e.g. DIQRNG Bell bound <= 2) */
    QKS_ERR_INTERNAL = -18,         /* a bug: please report */
    QKS_ERR_RESERVE = -19           /* the link is at qkd.reserve: kept for non-TLS uses */
};

/* Name of an error code, e.g. "peer not allowed". Never NULL. */
const char *qks_strerror(int err);
/* Detail of the calling thread's last failure (empty string if none). Valid until the thread's
 * next qks_* call. Never contains secrets. */
const char *qks_last_error(void); /* "" after a call that succeeded: each call clears it */
/* Clear the calling thread's last error. */
void qks_clear_error(void);

/* ---- configuration --------------------------------------------------------------------- */
/*
 * One schema, two homes: keys "qkd.driver" etc. set one by one (from an openssl.cnf provider
 * section), or INI sections [qkd] [rng] [token] [tls] read from a file with OpenSSL NCONF.
 * Keys are listed in DESIGN.md and README.md; an unknown key in a known section is an error
 * (typos must not silently fall back to defaults).
 */
/* The calls that fail closed: ignoring their result would use a key or bytes that are not
 * there. The compiler warns (an error under -Werror) when a caller drops it. */
#if defined(__GNUC__) || defined(__clang__)
#define QKS_MUST_CHECK __attribute__((warn_unused_result))
#else
#define QKS_MUST_CHECK
#endif

typedef struct qks_config_st QKS_CONFIG;

QKS_CONFIG *qks_config_new(void);
void qks_config_free(QKS_CONFIG *cfg);
/* Set "section.name" = value (overrides an earlier value). */
int qks_config_set(QKS_CONFIG *cfg, const char *key, const char *value);
/* Read an INI file; keys from the file do not override keys already set. */
int qks_config_load_file(QKS_CONFIG *cfg, const char *path);
/* Value of "section.name" or NULL. */
const char *qks_config_get(const QKS_CONFIG *cfg, const char *key);
/* The i-th key set ("section.name"), NULL past the end: for families such as agent.grant.* */
const char *qks_config_key_at(const QKS_CONFIG *cfg, size_t i);
/* The one table of configuration keys: entry i ("qkd.driver", ...), NULL past the end; *prefix
 * is set when the entry names a family ("rng.sim_", "tls.codepoint."). Every home of the
 * configuration (qkey.conf, the provider's openssl.cnf section) reads its keys from it. */
const char *qks_config_known_key(size_t i, int *prefix);
/* Integer value with default and bounds; QKS_ERR_CONFIG if present but not a number in range. */
int qks_config_get_long(const QKS_CONFIG *cfg, const char *key, long dflt, long min, long max,
                        long *out);
/* The standalone file to read when none is named: $QKEY_CONF, else /etc/qkey/qkey.conf. */
const char *qks_config_default_path(void);

/* ---- context --------------------------------------------------------------------------- */
typedef struct qks_ctx_st QKS_CTX;

/*
 * Open the key source: validate config, read credential files, open device files. No network
 * I/O, no blocking reads: the first real use does those. The config is copied.
 */
QKS_MUST_CHECK int qks_ctx_new(const QKS_CONFIG *cfg, QKS_CTX **out);
void qks_ctx_free(QKS_CTX *ctx);
/* The config the context was opened with (for front-end keys such as token.store). */
const QKS_CONFIG *qks_ctx_config(const QKS_CTX *ctx);
/* This host's SAE ID, or NULL when no QKD driver is configured. */
const char *qks_ctx_sae_id(const QKS_CTX *ctx);
/* QKD key length in bytes (qkd.key_bits / 8). */
size_t qks_ctx_key_bytes(const QKS_CTX *ctx);
/* 1 if a QKD driver is configured, 0 if the context is RNG-only. */
int qks_ctx_has_qkd(const QKS_CTX *ctx);

/* ---- QKD keys -------------------------------------------------------------------------- */
#define QKS_SAE_ID_MAX 64  /* bytes, without NUL; charset [A-Za-z0-9._:@-] */
#define QKS_KEY_ID_MAX 64  /* bytes, without NUL; ETSI key_IDs are UUIDs (36 chars) */
#define QKS_KEY_MAX    128 /* bytes of key material: qkd.key_bits <= 1024 */

typedef struct qks_key_st {
    char key_id[QKS_KEY_ID_MAX + 1]; /* ETSI key_ID (UUID form) */
    char peer[QKS_SAE_ID_MAX + 1];   /* the other SAE */
    size_t len;                      /* bytes in key */
    unsigned char *key;              /* locked, non-dumpable memory; wiped by qks_key_free */
} QKS_KEY;

/* 1 if s is a well-formed SAE ID / key ID (length and charset; key IDs must be UUIDs). */
int qks_valid_sae_id(const char *s);
int qks_valid_key_id(const char *s);
/* 1 if peer is in qkd.peers. */
int qks_peer_allowed(const QKS_CTX *ctx, const char *peer);

/*
 * Master side (ETSI enc_keys): a fresh key shared with `peer`. Checks the allowlist and the
 * per-peer rate limit before asking the link for anything. The key is handed out once.
 */
QKS_MUST_CHECK int qks_key_new(QKS_CTX *ctx, const char *peer, QKS_KEY **out);
/*
 * The same for a purpose. QKS_PURPOSE_TLS (the provider's handshakes) is refused with
 * QKS_ERR_RESERVE when the link can deliver no more than qkd.reserve keys to `peer`, so other
 * uses (PKCS#11 key updates, qkey key new: QKS_PURPOSE_ANY) keep their share between passes.
 */
enum { QKS_PURPOSE_ANY = 0, QKS_PURPOSE_TLS = 1 };
QKS_MUST_CHECK int qks_key_new_ex(QKS_CTX *ctx, const char *peer, int purpose, QKS_KEY **out);

/*
 * Fallback policy (docs/fallback.md). qks_ctx_fallback: 1 when qkd.fallback = classical (a
 * server may complete a hybrid handshake without a QKD key); qks_ctx_accept_fallback: 1 when
 * qkd.accept_fallback = yes (a client accepts that). qks_fallback_note counts a fallback for
 * `peer` (as server or client) and appends a line to qkd.fallback_log when it is set.
 */
int qks_ctx_fallback(const QKS_CTX *ctx);
int qks_ctx_accept_fallback(const QKS_CTX *ctx);
void qks_fallback_note(QKS_CTX *ctx, const char *peer, int as_server, const char *cause);
/*
 * Slave side (ETSI dec_keys): the key `key_id` that `peer` obtained for us. Validates key_id
 * and peer before any request. A key ID is delivered once; a second request fails with
 * QKS_ERR_KEY_UNKNOWN.
 */
QKS_MUST_CHECK int qks_key_get(QKS_CTX *ctx, const char *peer, const char *key_id, QKS_KEY **out);
/* Wipe and free. NULL is fine. */
void qks_key_free(QKS_KEY *key);

/* ---- randomness ------------------------------------------------------------------------ */
/*
 * Full-entropy bytes from the quantum pipeline (raw source -> health tests -> conditioning).
 * Fails closed: QKS_ERR_HEALTH / QKS_ERR_HEALTH_PERMANENT / QKS_ERR_DEVICE / QKS_ERR_ENTROPY,
 * never a fallback to another source. Must not call OpenSSL's RAND_* (it runs inside
 * OpenSSL's seed callback under the primary DRBG's lock).
 */
QKS_MUST_CHECK int qks_random(QKS_CTX *ctx, unsigned char *out, size_t len);
/* Current RNG state: QKS_OK, or the latched/intermittent error a qks_random call would give. */
int qks_rng_state(QKS_CTX *ctx);
/* Assessed security strength of qks_random output in bits (256 for the conditioned output). */
unsigned qks_rng_strength(const QKS_CTX *ctx);

/* ---- status ---------------------------------------------------------------------------- */
/*
 * A JSON object describing the key source: SAE ID, driver, peers, per-peer counters and key
 * store figures (from the driver), RNG source, health counters, entropy figures. The caller
 * frees the string with free(). No secrets.
 */
int qks_status_json(QKS_CTX *ctx, char **json_out);

/* ---- version --------------------------------------------------------------------------- */
const char *qks_version(void);

#ifdef __cplusplus
}
#endif
#endif /* QKEY_QKS_H */
