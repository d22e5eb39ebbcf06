/*
 * The etsi014 driver's parsers of outside input: the KME's JSON answers (jansson), base64 keys
 * (OpenSSL EVP_DecodeBlock), and the configured KME URL (OSSL_HTTP_parse_url). A malformed
 * answer is QKS_ERR_KME with a reason; nothing is leaked and partial results are wiped.
 * Fuzzed by test/fuzz/etsi014/fuzz_etsi014_response.c.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/http.h>

#include "qkey/secmem.h"
#include "etsi014.h"

double e14_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Strict base64 of exactly `bytes` bytes decoded into out (size >= bytes). 0 or -1. */
static int decode_key(const char *b64, size_t bytes, unsigned char *out)
{
    size_t len = strlen(b64), pad = 0, want = 4 * ((bytes + 2) / 3);
    unsigned char *tmp;
    int n, rc = -1;

    if (len != want)
        return -1;
    for (size_t i = 0; i < len; i++) {
        char c = b64[i];

        if (c == '=') {
            if (i < len - 2)
                return -1;
            pad++;
        } else if (pad > 0 || !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                                (c >= '0' && c <= '9') || c == '+' || c == '/')) {
            return -1;
        }
    }
    if ((tmp = qks_secure_alloc(len / 4 * 3)) == NULL)
        return -1;
    n = EVP_DecodeBlock(tmp, (const unsigned char *)b64, (int)len);
    if (n >= 0 && (size_t)n == len / 4 * 3 && (size_t)n - pad == bytes) {
        memcpy(out, tmp, bytes);
        rc = 0;
    }
    qks_secure_free(tmp, len / 4 * 3);
    return rc;
}

/* Wipe jansson's copies of the base64 keys in place before they go back to the heap. jansson's
 * own lexer buffer is not reachable from here (docs/etsi014.md says so). */
static void wipe_key_strings(json_t *arr)
{
    json_t *item;
    size_t i;

    if (!json_is_array(arr))
        return;
    json_array_foreach(arr, i, item)
    {
        json_t *k = json_object_get(item, "key");

        if (json_is_string(k))
            qks_wipe((char *)json_string_value(k), json_string_length(k));
    }
}

static void free_keys(QKS_KEY **keys, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        qks_key_free(keys[i]);
        keys[i] = NULL;
    }
}

int e14_parse_keys(const char *json, size_t len, size_t number, size_t key_bytes,
                   const char *const *want_ids, QKS_KEY **keys, char *err, size_t errlen)
{
    json_t *root, *arr, *item;
    json_error_t jerr;
    size_t i, got = 0;
    int rc = QKS_ERR_KME;

    for (i = 0; i < number; i++)
        keys[i] = NULL;
    root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        snprintf(err, errlen, "answer is not JSON (%.60s at %d)", jerr.text, jerr.position);
        return QKS_ERR_KME;
    }
    arr = json_object_get(root, "keys");
    if (!json_is_array(arr)) {
        snprintf(err, errlen, "answer has no \"keys\" array");
        goto done;
    }
    if (json_array_size(arr) != number) {
        snprintf(err, errlen, "answer has %zu keys, %zu were requested", json_array_size(arr),
                 number);
        goto done;
    }
    json_array_foreach(arr, i, item)
    {
        const char *id = json_string_value(json_object_get(item, "key_ID"));
        const char *b64 = json_string_value(json_object_get(item, "key"));
        size_t slot = i;
        QKS_KEY *k;

        if (id == NULL || b64 == NULL) {
            snprintf(err, errlen, "keys[%zu]: key_ID or key missing", i);
            goto done;
        }
        if (!qks_valid_key_id(id)) {
            snprintf(err, errlen, "keys[%zu]: key_ID is not a UUID", i);
            goto done;
        }
        if (want_ids != NULL) {
            for (slot = 0; slot < number; slot++)
                if (strcasecmp(want_ids[slot], id) == 0)
                    break;
            if (slot == number) {
                snprintf(err, errlen, "keys[%zu]: key_ID %s was not requested", i, id);
                goto done;
            }
        }
        for (size_t j = 0; j < number; j++)
            if (keys[j] != NULL && strcasecmp(keys[j]->key_id, id) == 0) {
                snprintf(err, errlen, "key_ID %s appears twice in the answer", id);
                goto done;
            }
        if ((k = qks_key_alloc(key_bytes)) == NULL) {
            snprintf(err, errlen, "out of secure memory");
            rc = QKS_ERR_NOMEM;
            goto done;
        }
        snprintf(k->key_id, sizeof(k->key_id), "%s", id);
        keys[slot] = k;
        got++;
        if (decode_key(b64, key_bytes, k->key) != 0) {
            snprintf(err, errlen, "keys[%zu] (key_ID %s): not %zu bytes of base64", i, id,
                     key_bytes);
            goto done;
        }
    }
    if (got == number)
        rc = QKS_OK;
done:
    if (rc != QKS_OK)
        free_keys(keys, number);
    wipe_key_strings(arr);
    json_decref(root);
    return rc;
}

static int get_id(json_t *root, const char *name, char *out, size_t outlen, char *err,
                  size_t errlen)
{
    const char *v = json_string_value(json_object_get(root, name));

    if (v == NULL || strlen(v) >= outlen) {
        snprintf(err, errlen, "status answer: %s missing or too long", name);
        return -1;
    }
    strcpy(out, v);
    return 0;
}

static int get_int(json_t *root, const char *name, long *out, char *err, size_t errlen)
{
    json_t *v = json_object_get(root, name);

    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 1L << 40) {
        snprintf(err, errlen, "status answer: %s missing or not a count", name);
        return -1;
    }
    *out = (long)json_integer_value(v);
    return 0;
}

int e14_parse_status(const char *json, size_t len, E14_STATUS *st, json_t **raw, char *err,
                     size_t errlen)
{
    json_error_t jerr;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);

    memset(st, 0, sizeof(*st));
    if (raw != NULL)
        *raw = NULL;
    if (!json_is_object(root)) {
        snprintf(err, errlen, "status answer is not a JSON object");
        goto err;
    }
    /* ETSI GS QKD 014 6.1: all of these are required */
    if (get_id(root, "source_KME_ID", st->source_kme_id, sizeof(st->source_kme_id), err, errlen) ||
        get_id(root, "target_KME_ID", st->target_kme_id, sizeof(st->target_kme_id), err, errlen) ||
        get_id(root, "master_SAE_ID", st->master_sae_id, sizeof(st->master_sae_id), err, errlen) ||
        get_id(root, "slave_SAE_ID", st->slave_sae_id, sizeof(st->slave_sae_id), err, errlen) ||
        get_int(root, "key_size", &st->key_size, err, errlen) ||
        get_int(root, "stored_key_count", &st->stored_key_count, err, errlen) ||
        get_int(root, "max_key_count", &st->max_key_count, err, errlen) ||
        get_int(root, "max_key_per_request", &st->max_key_per_request, err, errlen) ||
        get_int(root, "max_key_size", &st->max_key_size, err, errlen) ||
        get_int(root, "min_key_size", &st->min_key_size, err, errlen) ||
        get_int(root, "max_SAE_ID_count", &st->max_sae_id_count, err, errlen))
        goto err;
    if (st->min_key_size > st->max_key_size || st->max_key_per_request < 1) {
        snprintf(err, errlen, "status answer: inconsistent limits");
        goto err;
    }
    if (raw != NULL)
        *raw = root;
    else
        json_decref(root);
    return QKS_OK;
err:
    json_decref(root);
    return QKS_ERR_KME;
}

void e14_parse_error(const char *json, size_t len, char *msg, size_t msglen)
{
    json_t *root = json_loadb(json, len, 0, NULL);
    const char *m = json_string_value(json_object_get(root, "message"));
    json_t *details = json_object_get(root, "details");
    char *d = NULL;
    size_t o = 0;

    msg[0] = '\0';
    if (m != NULL) {
        for (size_t i = 0; m[i] != '\0' && o + 1 < msglen && i < 200; i++)
            msg[o++] = (m[i] >= 0x20 && m[i] < 0x7f) ? m[i] : '?';
        msg[o] = '\0';
    }
    if (json_is_array(details) && json_array_size(details) > 0 &&
        (d = json_dumps(details, JSON_COMPACT | JSON_ENSURE_ASCII)) != NULL && o + 4 < msglen)
        snprintf(msg + o, msglen - o, " %.120s", d);
    free(d);
    json_decref(root);
}

int e14_parse_url(const char *url, char *host, size_t hostlen, char *port, size_t portlen,
                  char *path, size_t pathlen)
{
    char *h = NULL, *p = NULL, *pa = NULL, *q = NULL, *f = NULL, *user = NULL;
    int ssl = 0, num = 0, rc = QKS_ERR_CONFIG;
    size_t n;

    if (url == NULL || !OSSL_HTTP_parse_url(url, &ssl, &user, &h, &p, &num, &pa, &q, &f))
        goto done;
    /* absent parts come back as empty strings */
    if (!ssl || (user != NULL && *user) || (q != NULL && *q) || (f != NULL && *f) || h == NULL ||
        p == NULL || pa == NULL || strlen(h) >= hostlen || strlen(p) >= portlen ||
        strlen(pa) >= pathlen || h[0] == '\0')
        goto done;
    strcpy(host, h);
    strcpy(port, p);
    strcpy(path, pa);
    n = strlen(path);
    while (n > 0 && path[n - 1] == '/')
        path[--n] = '\0';
    /* an IPv6 literal comes back without brackets; the host name check takes it as is */
    rc = QKS_OK;
done:
    OPENSSL_free(h);
    OPENSSL_free(p);
    OPENSSL_free(pa);
    OPENSSL_free(q);
    OPENSSL_free(f);
    OPENSSL_free(user);
    return rc;
}

int e14_url_encode(const char *in, char *out, size_t outlen)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;

    for (; *in != '\0'; in++) {
        unsigned char c = (unsigned char)*in;

        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            if (o + 1 >= outlen)
                return -1;
            out[o++] = (char)c;
        } else {
            if (o + 3 >= outlen)
                return -1;
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    if (o >= outlen)
        return -1;
    out[o] = '\0';
    return 0;
}
