/*
 * Private header of the etsi014 QKD driver: an ETSI GS QKD 014 client (REST over HTTPS with
 * mutual TLS, HTTP/1.1) on OpenSSL's TLS in a private OSSL_LIB_CTX.
 *   etsi014.c  the QHW_QKD_METHOD: open/close, enc_keys, dec_keys, prefetch, status, after_fork
 *   http.c     the one keep-alive connection per process: TCP, TLS, one exchange, errors
 *   wire.c     HTTP/1.1 request and answer framing (fuzzed)
 *   sock.c     the socket BIO under TLS: send() with MSG_NOSIGNAL, so no SIGPIPE
 *   parse.c    the KME's JSON answers (fuzzed: test/fuzz/etsi014/) and URL handling
 */
#ifndef QKEY_HWDRV_ETSI014_H
#define QKEY_HWDRV_ETSI014_H

#include <pthread.h>
#include <stddef.h>
#include <sys/types.h>

#include <jansson.h>
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
    json_t *status_raw;      /* the KME's whole answer, for status() */
    double status_time;      /* monotonic seconds; 0 = never fetched */
    size_t enc_since_status; /* keys obtained at enc_keys since that status answer */
    QKS_KEY *prefetched[E14_MAX_PREFETCH];
    size_t n_prefetched;
    size_t prefetched_bytes; /* key size of the prefetched keys */
} E14_PEER;

/* The keep-alive connection to the KME. */
typedef struct e14_conn_st {
    int fd;
    SSL *ssl;
    int keep_alive;    /* usable for the next request */
    int broken;        /* a TLS or socket error: no close_notify on it */
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
/* sock.c: a BIO over a connected socket that never raises SIGPIPE (MSG_NOSIGNAL); the fd stays
 * the caller's. */
BIO *e14_bio_socket(int fd);

enum { E14_OP_STATUS = 0, E14_OP_ENC = 1, E14_OP_DEC = 2 };

/* ---- wire.c: HTTP/1.1 framing (fuzzed: test/fuzz/etsi014/fuzz_http_wire.c) -------------- */
#define E14_HTTP_HEAD_MAX 16384 /* bound on an answer's status line and headers */

typedef struct e14_http_head_st {
    int status;
    int keep_alive;      /* the connection may carry the next request */
    int chunked;         /* Transfer-Encoding: chunked */
    long content_length; /* -1: not given (chunked, or the body ends at close) */
    size_t head_len;     /* bytes of the status line and headers, blank line included */
} E14_HTTP_HEAD;

/* The request: GET when body is NULL, else POST with a JSON body. Length, or -1 if it does
 * not fit in cap. */
int e14_http_request(char *out, size_t cap, const char *host, const char *port, const char *path,
                     const char *body);
/* Parse an answer's head from the start of buf: 1 complete (h filled), 0 more bytes needed,
 * -1 malformed (bad status line, conflicting lengths, unknown transfer coding, too long). */
int e14_http_parse_head(const char *buf, size_t len, E14_HTTP_HEAD *h);
/* Decode a chunked body in place: 1 complete (*out_len data bytes now at buf, *consumed
 * bytes of buf were the encoded body), 0 more bytes needed (buf unchanged), -1 malformed. */
int e14_http_dechunk(char *buf, size_t len, size_t *out_len, size_t *consumed);
/* ETSI-014 exhaustion answers that are not 503: does this 400 message say "no more keys"? */
int e14_says_exhausted(const char *msg);

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
