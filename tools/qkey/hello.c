/*
 * Find the supported_groups extension in a TLS ClientHello, so `qkey status` can see which
 * groups a client built from an openssl.cnf really offers (OpenSSL 3.0 drops a Groups line
 * that names a group whose provider is not loaded, silently). Bounds-checked throughout; the
 * fuzz target fuzz_qkey_hello replays odd inputs.
 */
#include "qkey_cli.h"

typedef struct {
    const unsigned char *p;
    size_t left;
} CURSOR;

static int take(CURSOR *c, size_t n, const unsigned char **out)
{
    if (c->left < n)
        return 0;
    if (out != NULL)
        *out = c->p;
    c->p += n;
    c->left -= n;
    return 1;
}

static int take_u8(CURSOR *c, size_t *v)
{
    const unsigned char *b;
    if (!take(c, 1, &b))
        return 0;
    *v = b[0];
    return 1;
}

static int take_u16(CURSOR *c, size_t *v)
{
    const unsigned char *b;
    if (!take(c, 2, &b))
        return 0;
    *v = ((size_t)b[0] << 8) | b[1];
    return 1;
}

static int take_u24(CURSOR *c, size_t *v)
{
    const unsigned char *b;
    if (!take(c, 3, &b))
        return 0;
    *v = ((size_t)b[0] << 16) | ((size_t)b[1] << 8) | b[2];
    return 1;
}

/* A length-prefixed vector: skip it (prefix of `width` bytes). */
static int skip_vec(CURSOR *c, int width)
{
    size_t n;
    if (!(width == 1 ? take_u8(c, &n) : take_u16(c, &n)))
        return 0;
    return take(c, n, NULL);
}

int qkey_hello_groups(const unsigned char *buf, size_t len, const unsigned char **ids,
                      size_t *count)
{
    CURSOR rec = {buf, len}, hs, exts;
    size_t type, rlen, hlen, elen, n;
    const unsigned char *body;

    /* RFC 8446 5.1: TLSPlaintext { type(22) version(2) length(2) fragment } */
    if (!take_u8(&rec, &type) || type != 22 || !take(&rec, 2, NULL) || !take_u16(&rec, &rlen) ||
        !take(&rec, rlen, &body))
        return 0;
    hs.p = body;
    hs.left = rlen;
    /* 4: Handshake { msg_type(1 = client_hello) length(3) body } */
    if (!take_u8(&hs, &type) || type != 1 || !take_u24(&hs, &hlen) || hlen > hs.left)
        return 0;
    hs.left = hlen;
    /* 4.1.2: legacy_version(2) random(32) session_id<0..32> cipher_suites<2..2^16-2>
     * legacy_compression_methods<1..2^8-1> extensions<8..2^16-1> */
    if (!take(&hs, 34, NULL) || !skip_vec(&hs, 1) || !skip_vec(&hs, 2) || !skip_vec(&hs, 1) ||
        !take_u16(&hs, &elen) || !take(&hs, elen, &body))
        return 0;
    exts.p = body;
    exts.left = elen;
    while (exts.left > 0) {
        const unsigned char *data;
        if (!take_u16(&exts, &type) || !take_u16(&exts, &n) || !take(&exts, n, &data))
            return 0;
        if (type == 10) { /* 4.2.7 supported_groups: NamedGroup named_group_list<2..2^16-1> */
            CURSOR g = {data, n};
            size_t glen;
            if (!take_u16(&g, &glen) || glen != g.left || glen < 2 || glen % 2 != 0)
                return 0;
            *ids = g.p;
            *count = glen / 2;
            return 1;
        }
    }
    return 0;
}
