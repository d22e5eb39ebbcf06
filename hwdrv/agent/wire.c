/*
 * The qkeyd protocol codec (docs/agent.md): header and bodies, big-endian, validated. Shared by
 * the agent client driver and qkeyd; fuzzed by test/fuzz/agent/fuzz_agent_wire.c.
 */
#include <string.h>

#include "base.h"
#include "agent_wire.h"

static void put16(unsigned char *p, uint16_t v)
{
    p[0] = (unsigned char)(v >> 8);
    p[1] = (unsigned char)v;
}

static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static uint16_t get16(const unsigned char *p)
{
    return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

void qag_hdr_encode(unsigned char out[QAG_HDR_LEN], const QAG_HDR *h)
{
    put32(out, QAG_MAGIC);
    out[4] = h->version;
    out[5] = h->op;
    put16(out + 6, h->status);
    put32(out + 8, h->request_id);
    put32(out + 12, h->body_len);
}

int qag_hdr_decode(const unsigned char in[QAG_HDR_LEN], int reply, QAG_HDR *h)
{
    uint8_t op;

    if (get32(in) != QAG_MAGIC)
        return qks_set_error(QKS_ERR_INVALID, "agent protocol: bad magic (not a qkeyd peer)");
    h->version = in[4];
    h->op = op = in[5];
    h->status = get16(in + 6);
    h->request_id = get32(in + 8);
    h->body_len = get32(in + 12);
    if (h->version != QAG_VERSION)
        return qks_set_error(QKS_ERR_INVALID, "agent protocol: version %u, this end speaks %u",
                             h->version, QAG_VERSION);
    if (!!(op & QAG_REPLY) != !!reply)
        return qks_set_error(QKS_ERR_INVALID, "agent protocol: a %s where a %s was expected",
                             op & QAG_REPLY ? "reply" : "request", reply ? "reply" : "request");
    op &= (uint8_t)~QAG_REPLY;
    if (op < QAG_OP_NEW_KEY || op > QAG_OP_LAST)
        return qks_set_error(QKS_ERR_INVALID, "agent protocol: unknown operation %u", op);
    if (!reply && h->status != 0)
        return qks_set_error(QKS_ERR_INVALID, "agent protocol: a request with status %u",
                             h->status);
    if (h->body_len > QAG_BODY_MAX)
        return qks_set_error(QKS_ERR_INVALID, "agent protocol: body of %u bytes (at most %u)",
                             h->body_len, QAG_BODY_MAX);
    return QKS_OK;
}

/* A length-prefixed (u8) string; 0 if it does not fit. */
static size_t put_str8(unsigned char *out, size_t cap, const char *s)
{
    size_t n = strlen(s);

    if (n > 255 || n + 1 > cap)
        return 0;
    out[0] = (unsigned char)n;
    memcpy(out + 1, s, n);
    return n + 1;
}

size_t qag_body_new_key(unsigned char *out, size_t cap, const char *peer, unsigned purpose,
                        size_t key_bytes)
{
    size_t n;

    if (cap < 3 || peer == NULL || !qks_valid_sae_id(peer) || purpose > QKS_PURPOSE_TLS ||
        key_bytes > QKS_KEY_MAX)
        return 0;
    out[0] = (unsigned char)purpose;
    put16(out + 1, (uint16_t)key_bytes);
    if ((n = put_str8(out + 3, cap - 3, peer)) == 0)
        return 0;
    return 3 + n;
}

size_t qag_body_get_key(unsigned char *out, size_t cap, const char *peer, const char *key_id,
                        size_t key_bytes)
{
    size_t n, m;

    if (cap < 2 || peer == NULL || key_id == NULL || !qks_valid_sae_id(peer) ||
        !qks_valid_key_id(key_id) || key_bytes > QKS_KEY_MAX)
        return 0;
    put16(out, (uint16_t)key_bytes);
    if ((n = put_str8(out + 2, cap - 2, peer)) == 0 ||
        (m = put_str8(out + 2 + n, cap - 2 - n, key_id)) == 0)
        return 0;
    return 2 + n + m;
}

size_t qag_body_random(unsigned char *out, size_t cap, size_t n)
{
    if (cap < 4 || n == 0 || n > QAG_RANDOM_MAX)
        return 0;
    put32(out, (uint32_t)n);
    return 4;
}

/* Read a u8-prefixed string of at most max bytes at *pos into out. */
static int get_str8(const unsigned char *body, size_t len, size_t *pos, char *out, size_t max,
                    const char *what)
{
    size_t n;

    if (*pos >= len)
        return qks_set_error(QKS_ERR_INVALID, "agent protocol: %s missing", what);
    n = body[*pos];
    if (n == 0 || n > max || len - *pos - 1 < n)
        return qks_set_error(QKS_ERR_INVALID, "agent protocol: %s of %zu bytes (1-%zu, %zu left)",
                             what, n, max, len - *pos - 1);
    memcpy(out, body + *pos + 1, n);
    out[n] = '\0';
    if (memchr(out, '\0', n) != NULL)
        return qks_set_error(QKS_ERR_INVALID, "agent protocol: %s contains a NUL byte", what);
    *pos += 1 + n;
    return QKS_OK;
}

static int check_key_bytes(uint16_t v)
{
    if (v > QKS_KEY_MAX)
        return qks_set_error(QKS_ERR_INVALID, "agent protocol: key of %u bytes (at most %d)", v,
                             QKS_KEY_MAX);
    return QKS_OK;
}

int qag_parse_request(uint8_t op, const unsigned char *body, size_t len, QAG_REQUEST *req)
{
    size_t pos = 0;
    int rc;

    memset(req, 0, sizeof(*req));
    req->op = op;
    switch (op) {
    case QAG_OP_NEW_KEY:
        if (len < 3)
            return qks_set_error(QKS_ERR_INVALID, "agent protocol: NEW_KEY body too short");
        req->purpose = body[0];
        req->key_bytes = get16(body + 1);
        if (req->purpose > QKS_PURPOSE_TLS)
            return qks_set_error(QKS_ERR_INVALID, "agent protocol: unknown purpose %u",
                                 req->purpose);
        if ((rc = check_key_bytes(req->key_bytes)) != QKS_OK)
            return rc;
        pos = 3;
        if ((rc = get_str8(body, len, &pos, req->peer, QKS_SAE_ID_MAX, "peer SAE ID")) != QKS_OK)
            return rc;
        break;
    case QAG_OP_GET_KEY:
        if (len < 2)
            return qks_set_error(QKS_ERR_INVALID, "agent protocol: GET_KEY body too short");
        req->key_bytes = get16(body);
        if ((rc = check_key_bytes(req->key_bytes)) != QKS_OK)
            return rc;
        pos = 2;
        if ((rc = get_str8(body, len, &pos, req->peer, QKS_SAE_ID_MAX, "peer SAE ID")) != QKS_OK ||
            (rc = get_str8(body, len, &pos, req->key_id, QKS_KEY_ID_MAX, "key ID")) != QKS_OK)
            return rc;
        if (!qks_valid_key_id(req->key_id))
            return qks_set_error(QKS_ERR_INVALID, "agent protocol: key ID is not a UUID");
        break;
    case QAG_OP_RANDOM:
        if (len < 4)
            return qks_set_error(QKS_ERR_INVALID, "agent protocol: RANDOM body too short");
        req->n = get32(body);
        if (req->n == 0 || req->n > QAG_RANDOM_MAX)
            return qks_set_error(QKS_ERR_INVALID,
                                 "agent protocol: RANDOM of %u bytes (1-%u per request)", req->n,
                                 QAG_RANDOM_MAX);
        pos = 4;
        break;
    case QAG_OP_STATUS:
    case QAG_OP_RNG_STATE:
        break;
    default:
        return qks_set_error(QKS_ERR_INVALID, "agent protocol: unknown operation %u", op);
    }
    if (req->peer[0] != '\0' && !qks_valid_sae_id(req->peer))
        return qks_set_error(QKS_ERR_INVALID,
                             "agent protocol: peer SAE ID is malformed (1-%d of A-Z a-z 0-9 . _ "
                             ": @ -)",
                             QKS_SAE_ID_MAX);
    if (pos != len)
        return qks_set_error(QKS_ERR_INVALID, "agent protocol: %zu trailing bytes", len - pos);
    return QKS_OK;
}

size_t qag_body_key(unsigned char *out, size_t cap, const char *key_id, const unsigned char *key,
                    size_t key_len)
{
    size_t n;

    if (key_id == NULL || !qks_valid_key_id(key_id) || key_len == 0 || key_len > QKS_KEY_MAX ||
        (n = put_str8(out, cap, key_id)) == 0 || cap - n < 2 + key_len)
        return 0;
    put16(out + n, (uint16_t)key_len);
    memcpy(out + n + 2, key, key_len);
    return n + 2 + key_len;
}

int qag_parse_key(const unsigned char *body, size_t len, char key_id[QKS_KEY_ID_MAX + 1],
                  unsigned char *key, size_t key_cap, size_t *key_len)
{
    size_t pos = 0, n;
    int rc;

    *key_len = 0;
    if ((rc = get_str8(body, len, &pos, key_id, QKS_KEY_ID_MAX, "key ID")) != QKS_OK)
        return rc;
    if (!qks_valid_key_id(key_id))
        return qks_set_error(QKS_ERR_INVALID, "agent protocol: key ID is not a UUID");
    if (len - pos < 2)
        return qks_set_error(QKS_ERR_INVALID, "agent protocol: key length missing");
    n = get16(body + pos);
    pos += 2;
    if (n == 0 || n > key_cap || n > QKS_KEY_MAX)
        return qks_set_error(QKS_ERR_INVALID, "agent protocol: key of %zu bytes (1-%zu)", n,
                             key_cap < QKS_KEY_MAX ? key_cap : (size_t)QKS_KEY_MAX);
    if (len - pos != n)
        return qks_set_error(QKS_ERR_INVALID, "agent protocol: key of %zu bytes in %zu", n,
                             len - pos);
    memcpy(key, body + pos, n);
    *key_len = n;
    return QKS_OK;
}

uint16_t qag_status_from_err(int err)
{
    if (err >= 0)
        return 0;
    if (err < QKS_ERR_RESERVE)
        return (uint16_t)-QKS_ERR_INTERNAL;
    return (uint16_t)-err;
}

int qag_err_from_status(uint16_t status)
{
    if (status == 0)
        return QKS_OK;
    if (status > (uint16_t)-QKS_ERR_RESERVE)
        return QKS_ERR_INTERNAL;
    return -(int)status;
}

void qag_detail_copy(char *out, size_t cap, const unsigned char *body, size_t len)
{
    size_t n = len < cap - 1 ? len : cap - 1;

    for (size_t i = 0; i < n; i++)
        out[i] = body[i] >= 0x20 && body[i] < 0x7f ? (char)body[i] : '?';
    out[n] = '\0';
}
