/*
 * qkey provider: the QKD KEM's wire format, the bytes of a TLS key share (public key) and of
 * the server's answer (ciphertext). Pure encoding and strict decoding, no key source and no
 * OpenSSL state, so the decoders can be fuzzed alone. The format is written down in
 * docs/kem-wire-format.md; all integers are big-endian:
 *
 *   public key: version(1) variant(1) u16 classical_len, classical public,
 *               u8 sae_len, SAE ID
 *   ciphertext: version(1) variant(1) u16 classical_len, classical ciphertext,
 *               u8 sae_len, server SAE ID, u8 key_id_len, key ID
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

static const struct {
    int qks_err;
    const char *name;
} causes[QKP_NCAUSES] = {
    [QKP_CAUSE_NO_KEY] = {QKS_ERR_NO_KEY, "no-key"},
    [QKP_CAUSE_RESERVE] = {QKS_ERR_RESERVE, "reserve"},
    [QKP_CAUSE_UNREACHABLE] = {QKS_ERR_UNREACHABLE, "kme-unreachable"},
    [QKP_CAUSE_TIMEOUT] = {QKS_ERR_TIMEOUT, "timeout"},
    [QKP_CAUSE_KME] = {QKS_ERR_KME, "kme-error"},
    [QKP_CAUSE_RATE] = {QKS_ERR_RATE_LIMITED, "rate-limited"},
};

unsigned qkp_fallback_cause(int qks_err)
{
    for (unsigned i = 1; i < QKP_NCAUSES; i++)
        if (causes[i].qks_err == qks_err)
            return i;
    return 0;
}

const char *qkp_fallback_cause_name(unsigned cause)
{
    return cause >= 1 && cause < QKP_NCAUSES ? causes[cause].name : "unknown";
}

const QKP_VARIANT *qkp_variant_by_name(const char *name)
{
    if (name == NULL)
        return NULL;
    for (int i = 0; i < QKP_NVARIANTS; i++)
        if (strcasecmp(name, qkp_variants[i].alg) == 0 ||
            strcasecmp(name, qkp_variants[i].group) == 0)
            return &qkp_variants[i];
    return NULL;
}

/* ---- encoding -------------------------------------------------------------------------- */
static int put_field8(unsigned char **p, const unsigned char *end, const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > 255 || (size_t)(end - *p) < 1 + n)
        return 0;
    *(*p)++ = (unsigned char)n;
    memcpy(*p, s, n);
    *p += n;
    return 1;
}

static int put_head(unsigned char **p, const unsigned char *end, const QKP_WIRE *w, int ct)
{
    const QKP_VARIANT *v;

    if ((unsigned)w->variant >= QKP_NVARIANTS)
        return 0;
    v = &qkp_variants[w->variant];
    if (w->classical_len != (ct ? v->ct_len : v->pub_len) ||
        (size_t)(end - *p) < 4 + w->classical_len)
        return 0;
    *(*p)++ = ct && w->fallback ? QKP_WIRE_FALLBACK : QKP_WIRE_VERSION;
    *(*p)++ = (unsigned char)w->variant;
    *(*p)++ = (unsigned char)(w->classical_len >> 8);
    *(*p)++ = (unsigned char)(w->classical_len & 0xff);
    if (w->classical_len > 0)
        memcpy(*p, w->classical, w->classical_len);
    *p += w->classical_len;
    return 1;
}

size_t qkp_wire_encode_pub(const QKP_WIRE *w, unsigned char *out, size_t out_len)
{
    unsigned char *p = out, *end = out + out_len;

    if (!qks_valid_sae_id(w->sae_id) || !put_head(&p, end, w, 0) || !put_field8(&p, end, w->sae_id))
        return 0;
    return (size_t)(p - out);
}

size_t qkp_wire_encode_ct(const QKP_WIRE *w, unsigned char *out, size_t out_len)
{
    unsigned char *p = out, *end = out + out_len;

    if (w->fallback) { /* version 2: head, cause, server SAE ID; no key ID */
        if (!qks_valid_sae_id(w->sae_id) || w->cause == 0 || w->cause >= QKP_NCAUSES ||
            qkp_variants[w->variant].classical == NULL || !put_head(&p, end, w, 1) || p >= end)
            return 0;
        *p++ = (unsigned char)w->cause;
        return put_field8(&p, end, w->sae_id) ? (size_t)(p - out) : 0;
    }
    if (!qks_valid_sae_id(w->sae_id) || !qks_valid_key_id(w->key_id) || !put_head(&p, end, w, 1) ||
        !put_field8(&p, end, w->sae_id) || !put_field8(&p, end, w->key_id))
        return 0;
    return (size_t)(p - out);
}

/* ---- decoding -------------------------------------------------------------------------- */
#include <stdarg.h>

typedef struct {
    const unsigned char *p, *end;
    char *why;
    size_t why_len;
    const char *what; /* "key share" or "ciphertext" */
} READER;

static int fail(READER *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(READER *r, const char *fmt, ...)
{
    char m[160];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(m, sizeof(m), fmt, ap);
    va_end(ap);
    snprintf(r->why, r->why_len, "%s: %s", r->what, m);
    return 0;
}

static size_t left(const READER *r)
{
    return (size_t)(r->end - r->p);
}

static int get_head(READER *r, QKP_VARIANT_ID expect, QKP_WIRE *w, int ct)
{
    size_t n;
    const QKP_VARIANT *v = &qkp_variants[expect];
    size_t want = ct ? v->ct_len : v->pub_len;

    if (left(r) < 4)
        return fail(r, "truncated header (%zu of 4 bytes)", left(r));
    if (r->p[0] != QKP_WIRE_VERSION && !(ct && r->p[0] == QKP_WIRE_FALLBACK))
        return fail(r, "format version %u, expected %u%s", r->p[0], QKP_WIRE_VERSION,
                    ct ? " or 2 (fallback)" : "");
    w->fallback = r->p[0] == QKP_WIRE_FALLBACK;
    if (r->p[1] != (unsigned char)expect)
        return fail(r, "variant %u (%s expected %u)", r->p[1], v->alg, (unsigned)expect);
    n = ((size_t)r->p[2] << 8) | r->p[3];
    r->p += 4;
    if (n != want)
        return fail(r, "classical part of %zu bytes, %s needs %zu", n, v->alg, want);
    if (left(r) < n)
        return fail(r, "classical part truncated (%zu of %zu bytes)", left(r), n);
    w->variant = expect;
    w->classical = n > 0 ? r->p : NULL;
    w->classical_len = n;
    r->p += n;
    return 1;
}

/* u8 length + field into dst (NUL-terminated, 1..max bytes, no NUL inside). */
static int get_field8(READER *r, char *dst, size_t max, const char *name)
{
    size_t n;

    if (left(r) < 1)
        return fail(r, "truncated before the %s", name);
    n = *r->p++;
    if (n == 0 || n > max)
        return fail(r, "%s of %zu bytes (1..%zu allowed)", name, n, max);
    if (left(r) < n)
        return fail(r, "%s truncated (%zu of %zu bytes)", name, left(r), n);
    if (memchr(r->p, '\0', n) != NULL)
        return fail(r, "%s contains a NUL byte", name);
    memcpy(dst, r->p, n);
    dst[n] = '\0';
    r->p += n;
    return 1;
}

static int check_end(READER *r)
{
    if (left(r) != 0)
        return fail(r, "%zu trailing bytes", left(r));
    return 1;
}

int qkp_wire_decode_pub(const unsigned char *in, size_t len, QKP_VARIANT_ID expect, QKP_WIRE *w,
                        char *why, size_t why_len)
{
    READER r = {in, in + len, why, why_len, "key share"};

    memset(w, 0, sizeof(*w));
    if (in == NULL || (unsigned)expect >= QKP_NVARIANTS)
        return fail(&r, "no data");
    if (!get_head(&r, expect, w, 0) || !get_field8(&r, w->sae_id, QKS_SAE_ID_MAX, "SAE ID") ||
        !check_end(&r))
        return 0;
    if (!qks_valid_sae_id(w->sae_id))
        return fail(&r, "SAE ID is not of the form [A-Za-z0-9._:@-]{1,64}");
    return 1;
}

int qkp_wire_decode_ct(const unsigned char *in, size_t len, QKP_VARIANT_ID expect, QKP_WIRE *w,
                       char *why, size_t why_len)
{
    READER r = {in, in + len, why, why_len, "ciphertext"};

    memset(w, 0, sizeof(*w));
    if (in == NULL || (unsigned)expect >= QKP_NVARIANTS)
        return fail(&r, "no data");
    if (!get_head(&r, expect, w, 1))
        return 0;
    if (w->fallback) { /* version 2: cause, server SAE ID */
        if (qkp_variants[expect].classical == NULL)
            return fail(&r, "a fallback needs a classical part; %s has none",
                        qkp_variants[expect].alg);
        if (left(&r) < 1)
            return fail(&r, "truncated before the fallback cause");
        w->cause = *r.p++;
        if (w->cause == 0 || w->cause >= QKP_NCAUSES)
            return fail(&r, "unknown fallback cause %u", w->cause);
        if (!get_field8(&r, w->sae_id, QKS_SAE_ID_MAX, "SAE ID") || !check_end(&r))
            return 0;
        if (!qks_valid_sae_id(w->sae_id))
            return fail(&r, "SAE ID is not of the form [A-Za-z0-9._:@-]{1,64}");
        return 1;
    }
    if (!get_field8(&r, w->sae_id, QKS_SAE_ID_MAX, "SAE ID") ||
        !get_field8(&r, w->key_id, QKS_KEY_ID_MAX, "key ID") || !check_end(&r))
        return 0;
    if (!qks_valid_sae_id(w->sae_id))
        return fail(&r, "SAE ID is not of the form [A-Za-z0-9._:@-]{1,64}");
    if (!qks_valid_key_id(w->key_id))
        return fail(&r, "key ID is not a UUID");
    return 1;
}
