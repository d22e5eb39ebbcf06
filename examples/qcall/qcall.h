/*
 * qcall: a two-party encrypted call, keyed per call by one KEM operation.
 *
 * The program uses only OpenSSL's public EVP/SSL API and libsrtp2. Nothing in it knows about
 * QKD: the algorithm name (default "X25519-QKD") is fetched from whatever providers OPENSSL_CONF
 * loads. This header is private to examples/qcall/.
 */
#ifndef QCALL_H
#define QCALL_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/ssl.h>

#define QCALL_MAX_MSG        8192 /* largest signalling message body */
#define QCALL_MAX_NAME       64   /* algorithm names */
#define QCALL_MAX_REASON     600  /* error text carried over signalling */
#define QCALL_MAX_KEY_ID     128  /* printable key ID */
#define QCALL_SRTP_KEY_LEN   32   /* AES-256-GCM master key */
#define QCALL_SRTP_SALT_LEN  12   /* AES-GCM master salt */
#define QCALL_SRTP_MASTER    (QCALL_SRTP_KEY_LEN + QCALL_SRTP_SALT_LEN)
#define QCALL_FRAME_SAMPLES  160 /* 20 ms of 8 kHz PCMU */
#define QCALL_FRAME_INTERVAL 20  /* ms */

/* ---- signalling messages (msg.c): [type u8][len u16][fields], field = [tag u8][len u16][value] */
enum qcall_msg_type {
    QCALL_MSG_INVITE = 1, /* caller -> callee: kex, media_port, call_no, frames, window */
    QCALL_MSG_ACCEPT = 2, /* callee -> caller: public_key, media_port */
    QCALL_MSG_KEY = 3,    /* caller -> callee: ciphertext */
    QCALL_MSG_READY = 4,  /* callee -> caller: keys installed, media may flow */
    QCALL_MSG_ERROR = 5,  /* either way: reason; the call is over */
    QCALL_MSG_BYE = 6,    /* either way: sent, received, rejected */
};

typedef struct {
    uint8_t type;
    char kex[QCALL_MAX_NAME];
    char reason[QCALL_MAX_REASON];
    const uint8_t *blob; /* public_key or ciphertext: points into the parsed buffer */
    size_t blob_len;
    uint16_t media_port;
    uint32_t call_no, frames, window;
    uint32_t sent, received, rejected;
} QCALL_MSG;

/* Parse one message body (type byte already split off); 1 on success, 0 with *why set. */
int qcall_msg_parse(uint8_t type, const uint8_t *body, size_t len, QCALL_MSG *msg,
                    const char **why);
/* Encode msg into out (capacity cap); returns bytes written or 0 if it does not fit. */
size_t qcall_msg_encode(const QCALL_MSG *msg, uint8_t *out, size_t cap);
/* Send/receive one message over TLS. recv stores the raw message in buf (QCALL_MAX_MSG + 3). */
int qcall_msg_send(SSL *ssl, const QCALL_MSG *msg);
int qcall_msg_recv(SSL *ssl, uint8_t *buf, QCALL_MSG *msg, char *err, size_t errlen);
/*
 * Send `out`, then receive the answer into *in (raw bytes in buf) and require type `expect`.
 * An ERROR answer becomes "<peer>: <reason>" in err; any other type is an error too.
 */
int qcall_msg_exchange(SSL *ssl, const QCALL_MSG *out, uint8_t *buf, QCALL_MSG *in,
                       enum qcall_msg_type expect, const char *peer, char *err, size_t errlen);

/* ---- key exchange (kex.c): one KEM operation per call, or X25519/X448 ECDH as a baseline */
typedef struct {
    char name[QCALL_MAX_NAME];
    int is_kem; /* 1: EVP_PKEY_encapsulate/decapsulate; 0: EVP_PKEY_derive */
} QCALL_KEX;

int qcall_kex_init(QCALL_KEX *kex, const char *name);
/* Callee: new key pair; *pub is OPENSSL_malloc'd. */
int qcall_kex_keygen(const QCALL_KEX *kex, EVP_PKEY **pair, uint8_t **pub, size_t *pub_len,
                     char *err, size_t errlen);
/* Caller: encapsulate to the peer's public key; *ct OPENSSL_malloc'd, *secret secure-heap. */
int qcall_kex_encap(const QCALL_KEX *kex, const uint8_t *pub, size_t pub_len, uint8_t **ct,
                    size_t *ct_len, uint8_t **secret, size_t *secret_len, char *err, size_t errlen);
/* Callee: decapsulate; *secret secure-heap. */
int qcall_kex_decap(const QCALL_KEX *kex, EVP_PKEY *pair, const uint8_t *ct, size_t ct_len,
                    uint8_t **secret, size_t *secret_len, char *err, size_t errlen);
/* HKDF-SHA256(secret, info "qcall srtp") -> caller->callee and callee->caller master keys. */
int qcall_kex_srtp_keys(const uint8_t *secret, size_t secret_len,
                        uint8_t out[2 * QCALL_SRTP_MASTER], char *err, size_t errlen);
/* Collect the OpenSSL error queue into err (no secrets are on it). */
void qcall_ossl_err(char *err, size_t errlen, const char *what);

/* ---- key ID (keyid.c): parse the QKD key ID out of a KEM ciphertext (docs/kem-wire-format.md) */
int qcall_key_id(const uint8_t *ct, size_t ct_len, char *key_id, size_t cap);

/* ---- media (media.c): SRTP over UDP on loopback */
typedef struct QCALL_MEDIA QCALL_MEDIA;
typedef struct {
    uint32_t sent, received, rejected, rejected_auth, rejected_replay, datagrams;
} QCALL_STATS;

int qcall_media_global_init(void);
void qcall_media_global_done(void);
/* A UDP socket bound to 127.0.0.1:0; *port receives the chosen port. */
QCALL_MEDIA *qcall_media_new(uint16_t *port, char *err, size_t errlen);
/* Install keys (tx master, rx master) and the peer's port; only then can frames be sent. */
int qcall_media_start(QCALL_MEDIA *m, uint16_t peer_port, const uint8_t *tx_master,
                      const uint8_t *rx_master, char *err, size_t errlen);
/* Send up to n frames (paced at 20 ms unless fast). */
int qcall_media_send(QCALL_MEDIA *m, uint32_t n, int fast);
/* Receive until n good frames arrived or timeout_ms passed without a datagram. */
void qcall_media_recv(QCALL_MEDIA *m, uint32_t n, int timeout_ms);
/* Raw datagram send, for the replay test. */
int qcall_media_send_raw(QCALL_MEDIA *m, const uint8_t *pkt, size_t len);
/* The first protected packet sent in this call (for replay tests); NULL if none. */
const uint8_t *qcall_media_first_packet(const QCALL_MEDIA *m, size_t *len);
const QCALL_STATS *qcall_media_stats(const QCALL_MEDIA *m);
double qcall_media_cpu_seconds(void);
void qcall_media_free(QCALL_MEDIA *m);

/* ---- calls (call.c) */
typedef struct {
    const char *mode; /* "callee" or "caller" */
    const char *host; /* signalling address, 127.0.0.1 */
    int port;         /* signalling port (callee: 0 = any) */
    const char *port_file;
    const char *kex;
    const char *groups; /* optional TLS groups list */
    const char *cert, *key, *ca, *peer_name;
    unsigned calls, frames, window;
    int fast, replay_test, verbose;
} QCALL_OPTS;

int qcall_callee(const QCALL_OPTS *o);
int qcall_caller(const QCALL_OPTS *o);

/* ---- TLS signalling (tls.c) */
SSL_CTX *qcall_tls_server_ctx(const QCALL_OPTS *o, char *err, size_t errlen);
SSL_CTX *qcall_tls_client_ctx(const QCALL_OPTS *o, char *err, size_t errlen);
const char *qcall_tls_group(SSL *ssl);
/* TCP on loopback: a listening socket (*port updated), or a connected one; -1 with err set. */
int qcall_tcp_listen(const char *host, int *port, char *err, size_t errlen);
int qcall_tcp_connect(const char *host, int port, char *err, size_t errlen);
/* Send an ERROR message carrying reason (best effort: the call is over anyway). */
void qcall_send_error(SSL *ssl, const char *reason);
/* TCP_NODELAY, and a bound on every blocking socket call so a vanished peer cannot hang a
 * call forever. */
void qcall_tcp_timeouts(int fd, int seconds);

double qcall_now_ms(void);

#endif
