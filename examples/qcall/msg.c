/*
 * qcall signalling messages: a tiny type-length-value format carried over TLS 1.3.
 *
 *   message = type (u8) || body length (u16, big endian) || body
 *   body    = field*, field = tag (u8) || value length (u16) || value
 *
 * Each message type has a fixed set of fields, each exactly once, in any order.
 * This parser reads outside input (the peer may be anyone who reaches the port): it is fuzzed
 * (test/fuzz/qcall) and never trusts a length.
 */
#include <stdio.h>
#include <string.h>
#include <openssl/ssl.h>
#include "qcall.h"

enum {
    TAG_KEX = 1,
    TAG_REASON = 2,
    TAG_BLOB = 3,
    TAG_MEDIA_PORT = 4,
    TAG_CALL_NO = 5,
    TAG_FRAMES = 6,
    TAG_WINDOW = 7,
    TAG_SENT = 8,
    TAG_RECEIVED = 9,
    TAG_REJECTED = 10,
};

#define HAVE(tag) (1u << (tag))

static uint32_t get_be(const uint8_t *p, size_t n)
{
    uint32_t v = 0;

    for (size_t i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

/* A printable name or reason: no NUL, no control characters, fits cap with its terminator. */
static int get_text(const uint8_t *v, size_t len, char *out, size_t cap)
{
    if (len == 0 || len >= cap)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (v[i] < 0x20 || v[i] > 0x7e)
            return 0;
    memcpy(out, v, len);
    out[len] = '\0';
    return 1;
}

int qcall_msg_parse(uint8_t type, const uint8_t *body, size_t len, QCALL_MSG *msg, const char **why)
{
    uint32_t seen = 0, need;
    size_t off = 0;

    memset(msg, 0, sizeof(*msg));
    msg->type = type;
    while (off < len) {
        uint8_t tag;
        size_t vlen;
        const uint8_t *v;

        if (len - off < 3) {
            *why = "truncated field header";
            return 0;
        }
        tag = body[off];
        vlen = get_be(body + off + 1, 2);
        off += 3;
        if (vlen > len - off) {
            *why = "field length past the end of the message";
            return 0;
        }
        v = body + off;
        off += vlen;
        if (tag > TAG_REJECTED || tag == 0) {
            *why = "unknown field";
            return 0;
        }
        if (seen & HAVE(tag)) {
            *why = "duplicate field";
            return 0;
        }
        seen |= HAVE(tag);
        switch (tag) {
        case TAG_KEX:
            if (!get_text(v, vlen, msg->kex, sizeof(msg->kex))) {
                *why = "bad algorithm name";
                return 0;
            }
            break;
        case TAG_REASON:
            if (!get_text(v, vlen, msg->reason, sizeof(msg->reason))) {
                *why = "bad error reason";
                return 0;
            }
            break;
        case TAG_BLOB:
            if (vlen == 0) {
                *why = "empty key field";
                return 0;
            }
            msg->blob = v;
            msg->blob_len = vlen;
            break;
        case TAG_MEDIA_PORT:
            if (vlen != 2 || get_be(v, 2) == 0) {
                *why = "bad media port";
                return 0;
            }
            msg->media_port = (uint16_t)get_be(v, 2);
            break;
        default: /* the u32 counters */
            if (vlen != 4) {
                *why = "bad counter field";
                return 0;
            }
            {
                uint32_t *dst[] = {
                    [TAG_CALL_NO] = &msg->call_no,   [TAG_FRAMES] = &msg->frames,
                    [TAG_WINDOW] = &msg->window,     [TAG_SENT] = &msg->sent,
                    [TAG_RECEIVED] = &msg->received, [TAG_REJECTED] = &msg->rejected};
                *dst[tag] = get_be(v, 4);
            }
        }
    }
    switch (type) {
    case QCALL_MSG_INVITE:
        need = HAVE(TAG_KEX) | HAVE(TAG_MEDIA_PORT) | HAVE(TAG_CALL_NO) | HAVE(TAG_FRAMES) |
               HAVE(TAG_WINDOW);
        break;
    case QCALL_MSG_ACCEPT:
        need = HAVE(TAG_BLOB) | HAVE(TAG_MEDIA_PORT);
        break;
    case QCALL_MSG_KEY:
        need = HAVE(TAG_BLOB);
        break;
    case QCALL_MSG_READY:
        need = 0;
        break;
    case QCALL_MSG_ERROR:
        need = HAVE(TAG_REASON);
        break;
    case QCALL_MSG_BYE:
        need = HAVE(TAG_SENT) | HAVE(TAG_RECEIVED) | HAVE(TAG_REJECTED);
        break;
    default:
        *why = "unknown message type";
        return 0;
    }
    if ((seen & need) != need) {
        *why = "required field missing";
        return 0;
    }
    if (seen & ~need) {
        *why = "field not allowed in this message";
        return 0;
    }
    if (type == QCALL_MSG_INVITE && (msg->window == 0 || msg->window > 4096)) {
        *why = "window out of range (1..4096)";
        return 0;
    }
    return 1;
}

static int put(uint8_t *out, size_t cap, size_t *off, uint8_t tag, const void *v, size_t vlen)
{
    if (vlen > 0xffff || cap - *off < 3 + vlen)
        return 0;
    out[*off] = tag;
    out[*off + 1] = (uint8_t)(vlen >> 8);
    out[*off + 2] = (uint8_t)vlen;
    memcpy(out + *off + 3, v, vlen);
    *off += 3 + vlen;
    return 1;
}

static int put_u32(uint8_t *out, size_t cap, size_t *off, uint8_t tag, uint32_t x)
{
    uint8_t b[4] = {(uint8_t)(x >> 24), (uint8_t)(x >> 16), (uint8_t)(x >> 8), (uint8_t)x};

    return put(out, cap, off, tag, b, 4);
}

size_t qcall_msg_encode(const QCALL_MSG *msg, uint8_t *out, size_t cap)
{
    size_t off = 3;
    int ok = cap >= 3;
    uint8_t port[2] = {(uint8_t)(msg->media_port >> 8), (uint8_t)msg->media_port};

    switch (msg->type) {
    case QCALL_MSG_INVITE:
        ok = ok && put(out, cap, &off, TAG_KEX, msg->kex, strlen(msg->kex)) &&
             put(out, cap, &off, TAG_MEDIA_PORT, port, 2) &&
             put_u32(out, cap, &off, TAG_CALL_NO, msg->call_no) &&
             put_u32(out, cap, &off, TAG_FRAMES, msg->frames) &&
             put_u32(out, cap, &off, TAG_WINDOW, msg->window);
        break;
    case QCALL_MSG_ACCEPT:
        ok = ok && put(out, cap, &off, TAG_BLOB, msg->blob, msg->blob_len) &&
             put(out, cap, &off, TAG_MEDIA_PORT, port, 2);
        break;
    case QCALL_MSG_KEY:
        ok = ok && put(out, cap, &off, TAG_BLOB, msg->blob, msg->blob_len);
        break;
    case QCALL_MSG_ERROR:
        ok = ok && put(out, cap, &off, TAG_REASON, msg->reason, strlen(msg->reason));
        break;
    case QCALL_MSG_BYE:
        ok = ok && put_u32(out, cap, &off, TAG_SENT, msg->sent) &&
             put_u32(out, cap, &off, TAG_RECEIVED, msg->received) &&
             put_u32(out, cap, &off, TAG_REJECTED, msg->rejected);
        break;
    default:
        break;
    }
    if (!ok || off - 3 > QCALL_MAX_MSG)
        return 0;
    out[0] = msg->type;
    out[1] = (uint8_t)((off - 3) >> 8);
    out[2] = (uint8_t)(off - 3);
    return off;
}

int qcall_msg_send(SSL *ssl, const QCALL_MSG *msg)
{
    uint8_t buf[QCALL_MAX_MSG + 3];
    size_t n = qcall_msg_encode(msg, buf, sizeof(buf)), written;

    return n > 0 && SSL_write_ex(ssl, buf, n, &written) == 1 && written == n;
}

static int read_full(SSL *ssl, uint8_t *p, size_t n)
{
    while (n > 0) {
        size_t got;

        if (SSL_read_ex(ssl, p, n, &got) != 1)
            return 0;
        p += got;
        n -= got;
    }
    return 1;
}

int qcall_msg_recv(SSL *ssl, uint8_t *buf, QCALL_MSG *msg, char *err, size_t errlen)
{
    const char *why = NULL;
    size_t len;

    if (!read_full(ssl, buf, 3)) {
        snprintf(err, errlen, "signalling connection closed by peer");
        return 0;
    }
    len = get_be(buf + 1, 2);
    if (len > QCALL_MAX_MSG) {
        snprintf(err, errlen, "signalling message too long (%zu bytes)", len);
        return 0;
    }
    if (!read_full(ssl, buf + 3, len)) {
        snprintf(err, errlen, "signalling connection closed mid-message");
        return 0;
    }
    if (!qcall_msg_parse(buf[0], buf + 3, len, msg, &why)) {
        snprintf(err, errlen, "bad signalling message from peer: %s", why);
        return 0;
    }
    return 1;
}

static const char *type_name(unsigned t)
{
    static const char *const names[] = {"?", "INVITE", "ACCEPT", "KEY", "READY", "ERROR", "BYE"};
    return t < sizeof(names) / sizeof(names[0]) ? names[t] : "?";
}

int qcall_msg_exchange(SSL *ssl, const QCALL_MSG *out, uint8_t *buf, QCALL_MSG *in,
                       enum qcall_msg_type expect, const char *peer, char *err, size_t errlen)
{
    if (!qcall_msg_send(ssl, out)) {
        snprintf(err, errlen, "signalling write failed");
        return 0;
    }
    if (!qcall_msg_recv(ssl, buf, in, err, errlen))
        return 0;
    if (in->type == QCALL_MSG_ERROR) {
        snprintf(err, errlen, "%s: %s", peer, in->reason);
        return 0;
    }
    if (in->type != expect) {
        snprintf(err, errlen, "expected %s, got message type %u", type_name(expect), in->type);
        return 0;
    }
    return 1;
}
