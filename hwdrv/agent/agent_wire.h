/*
 * The qkeyd protocol (docs/agent.md, byte by byte): a 16-byte header and a body, every integer
 * big-endian. Encoders and parsers shared by the agent client driver (hwdrv/agent/) and the
 * daemon (tools/qkeyd/), so the two ends cannot disagree. Pure functions over byte buffers: no
 * I/O, no allocation; every parser validates lengths, SAE IDs and key IDs before it returns.
 *
 * This header is the one hwdrv header qkeyd includes: qkeyd is the server half of this driver's
 * protocol, not a front end loaded into someone else's process.
 */
#ifndef QKEY_AGENT_WIRE_H
#define QKEY_AGENT_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "qkey/qks.h"

#define QAG_MAGIC      0x514B4147u /* "QKAG" */
#define QAG_VERSION    1
#define QAG_HDR_LEN    16
#define QAG_RANDOM_MAX 65536u /* bytes per RANDOM request */
#define QAG_BODY_MAX   (QAG_RANDOM_MAX + 256u)
#define QAG_DETAIL_MAX 512u /* bytes of an error reply's detail */
#define QAG_REPLY      0x80 /* op bit set in every reply */

/* Operations (requests); a reply carries op | QAG_REPLY. */
enum {
    QAG_OP_NEW_KEY = 1,   /* body: purpose u8, key_bytes u16, peer_len u8, peer */
    QAG_OP_GET_KEY = 2,   /* body: key_bytes u16, peer_len u8, peer, id_len u8, key_id */
    QAG_OP_RANDOM = 3,    /* body: n u32 (1..QAG_RANDOM_MAX) */
    QAG_OP_STATUS = 4,    /* body: empty; reply: JSON text */
    QAG_OP_RNG_STATE = 5, /* body: empty; reply: no body, status = the pipeline's state */
    QAG_OP_LAST = QAG_OP_RNG_STATE,
};

typedef struct {
    uint8_t version;
    uint8_t op;
    uint16_t status; /* requests: 0; replies: 0 = OK, else -QKS_ERR_* */
    uint32_t request_id;
    uint32_t body_len;
} QAG_HDR;

/* A parsed request. */
typedef struct {
    uint8_t op;
    uint8_t purpose;    /* NEW_KEY: QKS_PURPOSE_ANY or QKS_PURPOSE_TLS */
    uint16_t key_bytes; /* NEW_KEY, GET_KEY: 0 = the agent's qkd.key_bits */
    uint32_t n;         /* RANDOM */
    char peer[QKS_SAE_ID_MAX + 1];
    char key_id[QKS_KEY_ID_MAX + 1];
} QAG_REQUEST;

void qag_hdr_encode(unsigned char out[QAG_HDR_LEN], const QAG_HDR *h);
/* QKS_OK, or QKS_ERR_INVALID with a detail (bad magic, version, op, body too long). A reply
 * header (op has QAG_REPLY) is accepted only when `reply` is 1, a request only when 0. */
QKS_MUST_CHECK int qag_hdr_decode(const unsigned char in[QAG_HDR_LEN], int reply, QAG_HDR *h);

/* Request bodies: return the body length written to out (cap bytes), or 0 if it does not fit
 * or an argument is malformed. */
size_t qag_body_new_key(unsigned char *out, size_t cap, const char *peer, unsigned purpose,
                        size_t key_bytes);
size_t qag_body_get_key(unsigned char *out, size_t cap, const char *peer, const char *key_id,
                        size_t key_bytes);
size_t qag_body_random(unsigned char *out, size_t cap, size_t n);
/* Parse the body of request `op`: QKS_OK or QKS_ERR_INVALID with a detail. */
QKS_MUST_CHECK int qag_parse_request(uint8_t op, const unsigned char *body, size_t len,
                                     QAG_REQUEST *req);

/* The body of a key reply: id_len u8, key_id, key_len u16, key. Returns its length or 0. */
size_t qag_body_key(unsigned char *out, size_t cap, const char *key_id, const unsigned char *key,
                    size_t key_len);
/* Parse a key reply into key_id and key (key_cap bytes); QKS_OK or QKS_ERR_INVALID. Nothing is
 * left in `key` on failure. */
QKS_MUST_CHECK int qag_parse_key(const unsigned char *body, size_t len,
                                 char key_id[QKS_KEY_ID_MAX + 1], unsigned char *key,
                                 size_t key_cap, size_t *key_len);

/* Status code <-> QKS_ERR_*: the wire carries -code; unknown codes read as QKS_ERR_INTERNAL. */
uint16_t qag_status_from_err(int err);
int qag_err_from_status(uint16_t status);

/* Copy an error detail from the wire into out (NUL-terminated), replacing control characters
 * and bytes >= 0x7f with '?', so a hostile peer cannot forge log lines. */
void qag_detail_copy(char *out, size_t cap, const unsigned char *body, size_t len);

#endif /* QKEY_AGENT_WIRE_H */
