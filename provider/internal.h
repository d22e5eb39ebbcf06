/*
 * qkey provider: private declarations shared by the provider's files. The provider talks to
 * the key source only through the public qkey/ headers; every dispatch table lives at the
 * bottom of its own file and is declared here; the OSSL_ALGORITHM arrays live in prov.c.
 */
#ifndef QKEY_PROVIDER_INTERNAL_H
#define QKEY_PROVIDER_INTERNAL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/core.h>
#include <openssl/core_dispatch.h>
#include <openssl/evp.h>

#include "qkey/qks.h"

/* ---- variants of the QKD KEM ----------------------------------------------------------- */
typedef enum {
    QKP_QKD = 0,    /* QKD key only */
    QKP_X25519 = 1, /* X25519 + QKD */
    QKP_X448 = 2,   /* X448 + QKD */
    QKP_P256 = 3,   /* ECDH P-256 + QKD */
    QKP_P384 = 4,   /* ECDH P-384 + QKD */
    /* OpenSSL's hybrid ML-KEM KEMs (3.5, or any provider offering them by name) + QKD */
    QKP_X25519MLKEM768 = 5,
    QKP_P256MLKEM768 = 6,
    QKP_P384MLKEM1024 = 7,
    QKP_NVARIANTS = 8
} QKP_VARIANT_ID;

typedef struct {
    QKP_VARIANT_ID id;
    const char *alg;       /* KEM/KEYMGMT name: "X25519-QKD" */
    const char *group;     /* TLS group name: "x25519_qkd" */
    const char *classical; /* EVP key type of the classical part, NULL for QKD only */
    const char *curve;     /* EC group name for "EC", else NULL */
    size_t pub_len;        /* classical public key / ciphertext bytes (0: none) */
    size_t priv_len;       /* classical private key bytes */
    size_t secret_len;     /* classical shared secret bytes */
    int classical_bits;    /* security bits of the classical part */
    uint16_t codepoint;    /* default TLS code point */
    int kem;               /* the classical part is a KEM fetched by name (EVP_PKEY_encapsulate):
                            * pub_len is its encapsulation key, ct_len its ciphertext */
    size_t ct_len;         /* the classical part's bytes in the ciphertext */
} QKP_VARIANT;

extern const QKP_VARIANT qkp_variants[QKP_NVARIANTS];
/* Variant by KEM name or TLS group name (case-insensitive); NULL if none. */
const QKP_VARIANT *qkp_variant_by_name(const char *name);

/* ---- provider context ------------------------------------------------------------------ */
typedef struct qkp_prov_st {
    const OSSL_CORE_HANDLE *handle;
    OSSL_LIB_CTX *libctx; /* child of the core's libctx: classical crypto is fetched here */
    QKS_CTX *qks;         /* NULL when the configuration was rejected (see config_error) */
    int has_qkd;
    char config_error[512]; /* why the key source could not be opened, "" if it was */
    uint16_t codepoint[QKP_NVARIANTS];
    atomic_int available[QKP_NVARIANTS]; /* 0 unknown, 1 yes, 2 no (qkp_variant_available) */
    atomic_uint_fast64_t seed_calls;     /* successful QRNG get_seed calls */
    atomic_uint_fast64_t seed_failures;  /* failed QRNG get_seed / generate calls */
} QKP_PROV;

/* Does the running libcrypto (any loaded provider) offer the variant's classical part? The
 * ECDH ones always; the ML-KEM hybrids when a provider supplies them (OpenSSL >= 3.5). */
int qkp_variant_available(QKP_PROV *prov, const QKP_VARIANT *v);

/* ---- errors (errors.c) ----------------------------------------------------------------- */
enum {
    QKP_R_CONFIG = 1,       /* configuration rejected */
    QKP_R_KEYSOURCE,        /* key source failure (detail from qks_last_error) */
    QKP_R_MALFORMED_PUBKEY, /* key share does not decode */
    QKP_R_MALFORMED_CT,     /* ciphertext does not decode */
    QKP_R_BAD_CLASSICAL,    /* classical public key or derivation rejected */
    QKP_R_PEER_DENIED,      /* peer SAE not in qkd.peers */
    QKP_R_KEY_UNAVAILABLE,  /* the QKD link gave no key */
    QKP_R_RNG,              /* QRNG failure (health test, device, entropy) */
    QKP_R_BUFFER_TOO_SMALL, /* output buffer too small */
    QKP_R_WRONG_KEY,        /* key object of the wrong kind or missing parts */
    QKP_R_NO_QKD,           /* no QKD driver configured */
    QKP_R_INTERNAL,         /* OpenSSL call failed unexpectedly */
    QKP_R_BAD_GROUP,        /* unknown group for this key type */
    QKP_R_BAD_STRENGTH      /* requested strength above the source's */
};

extern const OSSL_ITEM qkp_reason_strings[];
/* Remember the core's error upcalls (from the in-dispatch at init). */
void qkp_errors_init(const OSSL_DISPATCH *in);
void qkp_errors_set_handle(const OSSL_CORE_HANDLE *handle);
/* Raise `reason` with a printf-style detail on the caller's OpenSSL error queue. */
void qkp_raise_at(const QKP_PROV *prov, const char *file, int line, const char *func, int reason,
                  const char *fmt, ...) __attribute__((format(printf, 6, 7)));
#define QKP_RAISE(prov, reason, ...)                                                               \
    qkp_raise_at((prov), __FILE__, __LINE__, __func__, (reason), __VA_ARGS__)
/* Raise the reason matching a QKS_ERR_* code, with qks_last_error() as detail after `what`. */
void qkp_raise_qks_at(const QKP_PROV *prov, const char *file, int line, const char *func, int err,
                      const char *what);
#define QKP_RAISE_QKS(prov, err, what)                                                             \
    qkp_raise_qks_at((prov), __FILE__, __LINE__, __func__, (err), (what))

/* 1 if the key source is open; else raises the configuration error and returns 0. Every
 * operation checks this first: a provider with a rejected config fails every use, loudly. */
int qkp_ready(const QKP_PROV *prov);
/* QKD key bytes (qkd.key_bits / 8), 32 before the key source is open. */
size_t qkp_key_bytes(const QKP_PROV *prov);

/* ---- configuration (config.c) ---------------------------------------------------------- */
/* Every key the provider asks the core for from its openssl.cnf section (NULL-terminated). */
#define QKP_CODEPOINT_KEY_MAX 64
size_t qkp_config_key_list(const char **out, size_t max, char (*cp)[QKP_CODEPOINT_KEY_MAX]);
/*
 * Build the key-source config from a provider section's key/value pairs: sets the qks keys,
 * reads `config = FILE` (or the default file when no inline key is given), and resolves
 * tls.codepoint.<group> overrides into codepoint[]. On failure returns 0 and writes a reason
 * to why.
 */
int qkp_config_build(const char *const *keys, const char *const *values, size_t n, QKS_CONFIG **out,
                     uint16_t codepoint[QKP_NVARIANTS], char *why, size_t why_len);

/* ---- KEM wire format (kemwire.c): see docs/kem-wire-format.md -------------------------- */
#define QKP_WIRE_VERSION  1
#define QKP_WIRE_FALLBACK 2    /* a ciphertext marked "completed without a QKD key" (fallback.md) */
#define QKP_CLASSICAL_MAX 1665 /* SecP384r1MLKEM1024: P-384 point + ML-KEM-1024 key/ct */
#define QKP_PUB_MAX       (2 + 2 + QKP_CLASSICAL_MAX + 1 + QKS_SAE_ID_MAX)
#define QKP_CT_MAX        (2 + 2 + QKP_CLASSICAL_MAX + 1 + QKS_SAE_ID_MAX + 1 + QKS_KEY_ID_MAX)

typedef struct {
    QKP_VARIANT_ID variant;
    const unsigned char *classical; /* points into the decoded buffer */
    size_t classical_len;
    char sae_id[QKS_SAE_ID_MAX + 1];
    char key_id[QKS_KEY_ID_MAX + 1]; /* ciphertext only; empty in a fallback ciphertext */
    int fallback;                    /* ciphertext only: version 2, no QKD key */
    unsigned cause;                  /* fallback only: QKP_CAUSE_* */
} QKP_WIRE;

/* Why a server completed without a QKD key: one table (kemwire.c) of the causes on the wire. */
enum {
    QKP_CAUSE_NO_KEY = 1,
    QKP_CAUSE_RESERVE = 2,
    QKP_CAUSE_UNREACHABLE = 3,
    QKP_CAUSE_TIMEOUT = 4,
    QKP_CAUSE_KME = 5,
    QKP_CAUSE_RATE = 6,
    QKP_NCAUSES = 7
};
/* The cause for a qks error a server may fall back on; 0 for errors that must fail (peer not
 * allowed, malformed input, internal). */
unsigned qkp_fallback_cause(int qks_err);
/* "no-key", "reserve", ...; "unknown" outside the table. */
const char *qkp_fallback_cause_name(unsigned cause);

/* Encoders return the encoded length, 0 on a bad argument or a short buffer. */
size_t qkp_wire_encode_pub(const QKP_WIRE *w, unsigned char *out, size_t out_len);
size_t qkp_wire_encode_ct(const QKP_WIRE *w, unsigned char *out, size_t out_len);
/* Decoders validate everything (lengths, variant, SAE ID / key ID form); on failure return 0
 * and write a reason to why. */
int qkp_wire_decode_pub(const unsigned char *in, size_t len, QKP_VARIANT_ID expect, QKP_WIRE *w,
                        char *why, size_t why_len);
int qkp_wire_decode_ct(const unsigned char *in, size_t len, QKP_VARIANT_ID expect, QKP_WIRE *w,
                       char *why, size_t why_len);

/* ---- classical part (classical.c) ------------------------------------------------------ */
/* Fresh key pair of the variant's classical type; NULL on failure (error raised). */
EVP_PKEY *qkp_classical_keygen(QKP_PROV *prov, const QKP_VARIANT *v);
/* Export the encoded public key (pub_len bytes) and raw private key (priv_len bytes). */
int qkp_classical_export(QKP_PROV *prov, const QKP_VARIANT *v, EVP_PKEY *pkey, unsigned char *pub,
                         unsigned char *priv);
/* Load a peer public key from its encoding, validating the point; NULL + error if bad. */
EVP_PKEY *qkp_classical_load_pub(QKP_PROV *prov, const QKP_VARIANT *v, const unsigned char *pub,
                                 size_t len);
/* Rebuild a private key from raw private (and encoded public) bytes. */
EVP_PKEY *qkp_classical_load_priv(QKP_PROV *prov, const QKP_VARIANT *v, const unsigned char *priv,
                                  const unsigned char *pub);
/* ECDH/X25519/X448 into out (secret_len bytes). */
int qkp_classical_derive(QKP_PROV *prov, const QKP_VARIANT *v, EVP_PKEY *mine, EVP_PKEY *peer,
                         unsigned char *out);
/* KEM variants: encapsulate to the peer's key (ct: ct_len bytes, out: secret_len bytes), and
 * decapsulate with our own key. A corrupted ML-KEM ciphertext decapsulates to a different
 * secret (implicit rejection), so the handshake fails at Finished. */
int qkp_classical_encap(QKP_PROV *prov, const QKP_VARIANT *v, EVP_PKEY *peer, unsigned char *ct,
                        unsigned char *out);
int qkp_classical_decap(QKP_PROV *prov, const QKP_VARIANT *v, EVP_PKEY *mine,
                        const unsigned char *ct, size_t ct_len, unsigned char *out);

/* ---- key object (keymgmt.c) ------------------------------------------------------------ */
typedef struct qkp_key_st {
    QKP_PROV *prov;
    const QKP_VARIANT *v;
    int has_pub, has_priv;
    unsigned char pub[QKP_CLASSICAL_MAX]; /* classical public key */
    unsigned char *priv;                  /* classical private key, qks_secure_alloc */
    EVP_PKEY *peer;                       /* the classical public as an EVP_PKEY (peer keys) */
    EVP_PKEY *own; /* KEM variants: our key pair. OpenSSL 3 cannot export a hybrid ML-KEM private
                    * key to raw bytes portably, so it stays in OpenSSL's object (one handshake). */
    char sae_id[QKS_SAE_ID_MAX + 1]; /* the key owner's SAE ID */
} QKP_KEY;

/* Upper bounds that never touch the key source. */
size_t qkp_kem_secret_len(const QKP_PROV *prov, const QKP_VARIANT *v);
size_t qkp_kem_ct_max(const QKP_VARIANT *v);

/* ---- TLS groups (groups.c) ------------------------------------------------------------- */
int qkp_get_capabilities(void *provctx, const char *capability, OSSL_CALLBACK *cb, void *arg);

/* ---- dispatch tables ------------------------------------------------------------------- */
extern const OSSL_DISPATCH qkp_rand_functions[];
extern const OSSL_DISPATCH qkp_kem_functions[];
extern const OSSL_DISPATCH qkp_qkd_keymgmt_functions[];
extern const OSSL_DISPATCH qkp_x25519_keymgmt_functions[];
extern const OSSL_DISPATCH qkp_x448_keymgmt_functions[];
extern const OSSL_DISPATCH qkp_p256_keymgmt_functions[];
extern const OSSL_DISPATCH qkp_p384_keymgmt_functions[];
extern const OSSL_DISPATCH qkp_x25519mlkem768_keymgmt_functions[];
extern const OSSL_DISPATCH qkp_p256mlkem768_keymgmt_functions[];
extern const OSSL_DISPATCH qkp_p384mlkem1024_keymgmt_functions[];

#endif /* QKEY_PROVIDER_INTERNAL_H */
