/*
 * Private header of the etsi014 QKD driver: an ETSI GS QKD 014 client (REST over HTTPS with
 * mutual TLS) built on OpenSSL's HTTP client in a private OSSL_LIB_CTX.
 *   etsi014.c  the QHW_QKD_METHOD: open/close, enc_keys, dec_keys, prefetch, status, after_fork
 *   http.c     the one keep-alive connection per process: TCP, TLS, OSSL_HTTP exchange, errors
 *   parse.c    the KME's JSON answers (fuzzed: test/fuzz/etsi014/) and URL handling
 */
#ifndef QKEY_HWDRV_ETSI014_H
#define QKEY_HWDRV_ETSI014_H

#include <pthread.h>
#include <stddef.h>
#include <sys/types.h>

#include <jansson.h>
#include <openssl/http.h>
#include <openssl/provider.h>
#include <openssl/ssl.h>

#include "qhw.h"

#define E14_MAX_RESPONSE (1024 * 1024) /* bound on a KME answer */
#define E14_MAX_PEERS    32
#define E14_MAX_PREFETCH 64
#define E14_STATUS_TTL_S 30 /* cached KME limits are refreshed this often */
#define E14_URL_MAX      512
#define E14_RATE_SLOTS   256

/* The KME's ETSI GS QKD 014 status (6.1) for one slave SAE. */
typedef struct e14_status_st {
    char source_kme_id[QKS_SAE_ID_MAX + 1];
    char target_kme_id[QKS_SAE_ID_MAX + 1];
    char master_sae_id[QKS_SAE_ID_MAX + 1];
    char slave_sae_id[QKS_SAE_ID_MAX + 1];
    long key_size, stored_key_count, max_key_count, max_key_per_request;
    long max_key_size, min_key_size, max_sae_id_count;
} E14_STATUS;

/* Per-peer state: cached KME limits and prefetched keys. */
typedef struct e14_peer_st {
    char sae_id[QKS_SAE_ID_MAX + 1];
    E14_STATUS status;
    json_t *status_raw; /* the KME's whole answer, for status() */
    double status_time; /* monotonic seconds; 0 = never fetched */
    QKS_KEY *prefetched[E14_MAX_PREFETCH];
    size_t n_prefetched;
    size_t prefetched_bytes; /* key size of the prefetched keys */
} E14_PEER;

/* The keep-alive connection to the KME. */
typedef struct e14_conn_st {
    int fd;
    SSL *ssl;
    BIO *bio; /* SSL BIO over the socket, given to OSSL_HTTP_open */
    OSSL_HTTP_REQ_CTX *rctx;
    pid_t pid;         /* process that opened it */
    unsigned requests; /* requests sent on it */
} E14_CONN;

typedef struct e14_drv_st {
    QHW_QKD base; /* method pointer first */
    pthread_mutex_t lock;
    char sae_id[QKS_SAE_ID_MAX + 1];
    char kme_url[E14_URL_MAX];     /* as configured, for messages */
    char host[256], port[16];      /* from the URL */
    char path_prefix[E14_URL_MAX]; /* URL path without trailing '/' */
    char server_name[256];         /* name verified in the KME certificate */
    long timeout_ms;
    size_t key_bytes; /* qkd.key_bits / 8: the size prefetched */
    size_t prefetch;  /* qkd.prefetch: keys fetched ahead per peer (0 = off) */
    /* credentials read at open (as root, before privileges are dropped) */
    char *ca_pem;
    size_t ca_len;
    char *cert_pem;
    size_t cert_len;
    char *key_pem; /* secure memory */
    size_t key_len, key_cap;
    /* TLS and connection, created on first use */
    OSSL_LIB_CTX *libctx;
    OSSL_PROVIDER *default_prov;
    SSL_CTX *ssl_ctx;
    E14_CONN conn;
    E14_PEER peers[E14_MAX_PEERS];
    size_t npeers;
    /* counters for status */
    unsigned long requests, failures, connects, keys_enc, keys_dec;
    double enc_times[E14_RATE_SLOTS]; /* monotonic times of recent keys obtained at enc_keys */
    size_t enc_head;
    double opened;
} E14_DRV;

/* ---- http.c ------------------------------------------------------------------------------ */
/*
 * One request to the KME on the keep-alive connection (opened lazily). `body` NULL = GET.
 * On QKS_OK, *resp (malloc'ed, NUL-terminated, to be wiped and freed by the caller) holds the
 * 200 answer. Otherwise a QKS_ERR_* with the detail set, naming the KME and the cause; an HTTP
 * error status is mapped by e14_http_status_error(). `*sent` is set when the request may have
 * reached the KME (so a retry would not be safe for enc_keys).
 */
int e14_request(E14_DRV *d, const char *path, const char *body, int op, char **resp,
                size_t *resp_len, int *sent);
/* Drop the connection. `quiet`: send nothing on it (a forked child's inherited connection). */
void e14_conn_drop(E14_DRV *d, int quiet);
void e14_tls_free(E14_DRV *d);

enum { E14_OP_STATUS = 0, E14_OP_ENC = 1, E14_OP_DEC = 2 };

/* ---- parse.c ----------------------------------------------------------------------------- */
/*
 * A key container (ETSI 014 6.3): exactly `number` keys of exactly `key_bytes` bytes, base64,
 * with distinct UUID key_IDs; when `want_ids` is given (dec_keys) the IDs must be exactly those,
 * and keys[] follow their order. All or nothing: on failure nothing stays allocated.
 * Returns QKS_OK or QKS_ERR_KME with a reason in err (no key material in it).
 */
int e14_parse_keys(const char *json, size_t len, size_t number, size_t key_bytes,
                   const char *const *want_ids, QKS_KEY **keys, char *err, size_t errlen);
/* A status answer (ETSI 014 6.1): every required field present and of the right type. */
int e14_parse_status(const char *json, size_t len, E14_STATUS *st, json_t **raw, char *err,
                     size_t errlen);
/* The message of an error answer (ETSI 014 6.5: {"message", "details"}), printable ASCII,
 * bounded; "" when the body is not such an object. */
void e14_parse_error(const char *json, size_t len, char *msg, size_t msglen);
/* Split an https URL; QKS_ERR_CONFIG when it is not https://host[:port][/path]. */
int e14_parse_url(const char *url, char *host, size_t hostlen, char *port, size_t portlen,
                  char *path, size_t pathlen);
/* Percent-encode everything but RFC 3986 unreserved characters. -1 if it does not fit. */
int e14_url_encode(const char *in, char *out, size_t outlen);

/* monotonic seconds */
double e14_now(void);

#endif /* QKEY_HWDRV_ETSI014_H */
