/*
 * HTTP/1.1 framing of the etsi014 driver: the request it sends and the answer head and body it
 * reads (RFC 9112). Pure functions over buffers, fuzzed by test/fuzz/etsi014/fuzz_http_wire.c.
 *
 * Why not OpenSSL's HTTP client (OSSL_HTTP_*), which this driver used before: on OpenSSL 3.0
 * it sends HTTP/1.0 requests with "Connection: keep-alive" while docs/etsi014.md promises
 * HTTP/1.1, and on OpenSSL 3.5 an error answer (401, 400, 503) no longer reports its status
 * code in the error queue the way 3.0 did, so the driver could not tell an exhausted link
 * from an authentication failure; neither version hands over an error answer's body, which
 * carries the KME's ETSI message. An ETSI 014 exchange needs a small, fixed subset (one
 * request, Content-Length, chunked or close-delimited answers), written out here.
 */
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "etsi014.h"

int e14_http_request(char *out, size_t cap, const char *host, const char *port, const char *path,
                     const char *body)
{
    size_t blen = body != NULL ? strlen(body) : 0;
    int n;

    if (body != NULL)
        n = snprintf(out, cap,
                     "POST %s HTTP/1.1\r\nHost: %s:%s\r\nAccept: application/json\r\n"
                     "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                     path, host, port, blen, body);
    else
        n = snprintf(out, cap, "GET %s HTTP/1.1\r\nHost: %s:%s\r\nAccept: application/json\r\n\r\n",
                     path, host, port);
    return n < 0 || (size_t)n >= cap ? -1 : n;
}

/* A header line "Name: value": does it name `name`? Then *value points past the colon and
 * blanks, *vlen is the value's length without trailing blanks. */
static int header_is(const char *line, size_t len, const char *name, const char **value,
                     size_t *vlen)
{
    size_t n = strlen(name);

    if (len <= n || strncasecmp(line, name, n) != 0 || line[n] != ':')
        return 0;
    line += n + 1;
    len -= n + 1;
    while (len > 0 && (*line == ' ' || *line == '\t'))
        line++, len--;
    while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t'))
        len--;
    *value = line;
    *vlen = len;
    return 1;
}

/* Does a comma-separated header value hold `token` (case-insensitive)? */
static int has_token(const char *v, size_t len, const char *token)
{
    size_t t = strlen(token);

    while (len > 0) {
        size_t i = 0;
        while (len > 0 && (*v == ' ' || *v == '\t' || *v == ','))
            v++, len--;
        while (i < len && v[i] != ',')
            i++;
        while (i > 0 && (v[i - 1] == ' ' || v[i - 1] == '\t'))
            i--;
        if (i == t && strncasecmp(v, token, t) == 0)
            return 1;
        while (len > 0 && *v != ',')
            v++, len--;
    }
    return 0;
}

static int parse_length(const char *v, size_t len, long *out)
{
    long n = 0;

    if (len == 0)
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (!isdigit((unsigned char)v[i]) || n > (LONG_MAX - 9) / 10)
            return -1;
        n = n * 10 + (v[i] - '0');
    }
    *out = n;
    return 0;
}

int e14_http_parse_head(const char *buf, size_t len, E14_HTTP_HEAD *h)
{
    const char *p = buf, *end = buf + len, *eol, *v;
    size_t vlen;
    int minor, first = 1, close = 0, keep = 0;
    long cl;

    memset(h, 0, sizeof(*h));
    h->content_length = -1;
    for (;;) {
        if ((eol = memchr(p, '\n', (size_t)(end - p))) == NULL)
            return (size_t)(end - buf) > E14_HTTP_HEAD_MAX ? -1 : 0;
        size_t l = (size_t)(eol - p);
        if (l > 0 && p[l - 1] == '\r')
            l--;
        if (memchr(p, '\0', l) != NULL)
            return -1;
        if (first) { /* "HTTP/1.x SSS reason" */
            if (l < 12 || memcmp(p, "HTTP/1.", 7) != 0 || (p[7] != '0' && p[7] != '1') ||
                p[8] != ' ' || !isdigit((unsigned char)p[9]) || !isdigit((unsigned char)p[10]) ||
                !isdigit((unsigned char)p[11]) || (l > 12 && p[12] != ' '))
                return -1;
            minor = p[7] - '0';
            h->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
            if (h->status < 100)
                return -1;
            first = 0;
        } else if (l == 0) {
            break;
        } else if (*p == ' ' || *p == '\t') {
            return -1; /* obsolete line folding (RFC 9112, 5.2): reject */
        } else if (header_is(p, l, "Content-Length", &v, &vlen)) {
            if (parse_length(v, vlen, &cl) != 0 ||
                (h->content_length >= 0 && h->content_length != cl))
                return -1; /* unparsable, or two that differ */
            h->content_length = cl;
        } else if (header_is(p, l, "Transfer-Encoding", &v, &vlen)) {
            if (vlen != 7 || strncasecmp(v, "chunked", 7) != 0)
                return -1; /* only chunked is defined for answers we accept */
            h->chunked = 1;
        } else if (header_is(p, l, "Connection", &v, &vlen)) {
            close |= has_token(v, vlen, "close");
            keep |= has_token(v, vlen, "keep-alive");
        }
        p = eol + 1;
        if ((size_t)(p - buf) > E14_HTTP_HEAD_MAX)
            return -1;
    }
    h->head_len = (size_t)(eol + 1 - buf);
    if (h->chunked)
        h->content_length = -1; /* RFC 9112, 6.3: Transfer-Encoding wins */
    h->keep_alive = !close && (minor == 1 || keep);
    /* 1xx, 204 and 304 have no body */
    if (h->status < 200 || h->status == 204 || h->status == 304) {
        h->content_length = 0;
        h->chunked = 0;
    }
    if (h->content_length < 0 && !h->chunked)
        h->keep_alive = 0; /* the body ends when the KME closes */
    return 1;
}

/* One pass over a chunked body; with `write` the chunks' data are moved to the front. */
static int dechunk(char *buf, size_t len, int write, size_t *out_len, size_t *consumed)
{
    size_t in = 0, out = 0;

    for (;;) {
        const char *eol = memchr(buf + in, '\n', len - in);
        unsigned long size = 0;
        size_t i = in;

        if (eol == NULL)
            return len - in > 64 ? -1 : 0;
        if (!isxdigit((unsigned char)buf[i]))
            return -1;
        while (isxdigit((unsigned char)buf[i])) {
            int c = tolower((unsigned char)buf[i++]);
            if (size > (E14_MAX_RESPONSE >> 4))
                return -1;
            size = size * 16 + (unsigned long)(isdigit(c) ? c - '0' : c - 'a' + 10);
        }
        if (buf + i != eol && buf[i] != '\r' && buf[i] != ';')
            return -1; /* chunk extensions after ';' are ignored */
        in = (size_t)(eol - buf) + 1;
        if (size == 0) { /* trailer section: lines up to an empty one */
            for (;;) {
                const char *t = memchr(buf + in, '\n', len - in);
                if (t == NULL)
                    return 0;
                size_t l = (size_t)(t - (buf + in));
                in = (size_t)(t - buf) + 1;
                if (l == 0 || (l == 1 && t[-1] == '\r'))
                    break;
            }
            *out_len = out;
            *consumed = in;
            return 1;
        }
        if (out + size > E14_MAX_RESPONSE)
            return -1;
        if (len - in < size + 1)
            return 0;
        if (write)
            memmove(buf + out, buf + in, size);
        out += size;
        in += size;
        if (buf[in] == '\r') {
            if (len - in < 2)
                return 0;
            in++;
        }
        if (buf[in] != '\n')
            return -1;
        in++;
    }
}

int e14_http_dechunk(char *buf, size_t len, size_t *out_len, size_t *consumed)
{
    int r = dechunk(buf, len, 0, out_len, consumed); /* incomplete: buf stays as it was */

    return r == 1 ? dechunk(buf, len, 1, out_len, consumed) : r;
}

/* What KMEs in the wild put in a 400 answer when the link has too few keys (ETSI GS QKD 014
 * names 503 for that, but not every KME uses it). Lower case; matched as substrings. */
static const char *const exhausted_phrases[] = {
    "exceeds the generated key count", /* next-door-key-simulator */
    "not enough key",                  /* "not enough keys", "not enough key material" */
    "insufficient key",
    "no key available",
    "no keys available",
    "keys exhausted",
    "key store is empty",
    "out of keys",
};

int e14_says_exhausted(const char *msg)
{
    char low[400];
    size_t i;

    for (i = 0; msg[i] != '\0' && i + 1 < sizeof(low); i++)
        low[i] = (char)tolower((unsigned char)msg[i]);
    low[i] = '\0';
    for (i = 0; i < sizeof(exhausted_phrases) / sizeof(exhausted_phrases[0]); i++)
        if (strstr(low, exhausted_phrases[i]) != NULL)
            return 1;
    return 0;
}
