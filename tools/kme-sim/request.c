/*
 * Parsing of ETSI GS QKD 014 requests as the simulated KME receives them: the URL path, the GET
 * query values and the POST JSON bodies (jansson). Everything here is outside input; it has a
 * fuzz target (test/fuzz/etsi014/fuzz_kme_request.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "kmesim.h"

#define API_PREFIX "/api/v1/keys/"

int kmesim_valid_id(const char *s)
{
    size_t n = 0;

    if (s == NULL)
        return 0;
    for (; s[n] != '\0'; n++) {
        char c = s[n];

        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == ':' || c == '@' || c == '-'))
            return 0;
    }
    return n >= 1 && n <= KMESIM_ID_MAX;
}

int kmesim_valid_uuid(const char *s)
{
    if (s == NULL || strlen(s) != KMESIM_KEY_ID_LEN)
        return 0;
    for (int i = 0; i < KMESIM_KEY_ID_LEN; i++) {
        char c = s[i];

        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-')
                return 0;
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
            return 0;
        }
    }
    return 1;
}

/* A decimal count in [1, max] from a query value. */
static int parse_count(const char *v, long max, long *out)
{
    char *end;
    long n;

    if (v == NULL || *v < '0' || *v > '9')
        return -1;
    errno = 0;
    n = strtol(v, &end, 10);
    if (errno != 0 || *end != '\0' || n < 1 || n > max)
        return -1;
    *out = n;
    return 0;
}

static int json_count(json_t *v, long max, long *out)
{
    json_int_t n;

    if (!json_is_integer(v))
        return -1;
    n = json_integer_value(v);
    if (n < 1 || n > max)
        return -1;
    *out = (long)n;
    return 0;
}

static int add_key_id(KMESIM_REQUEST *req, const char *id, char *err, size_t errlen)
{
    if (!kmesim_valid_uuid(id)) {
        snprintf(err, errlen, "key_ID is not a UUID");
        return 400;
    }
    if (req->n_key_ids >= KMESIM_MAX_KEYS) {
        snprintf(err, errlen, "too many key_IDs (at most %d)", KMESIM_MAX_KEYS);
        return 400;
    }
    strcpy(req->key_ids[req->n_key_ids++], id);
    return 0;
}

/* ETSI GS QKD 014 6.2 (Key request): {"number", "size", "additional_slave_SAE_IDs",
 * "extension_mandatory", "extension_optional"} */
static int parse_enc_body(json_t *root, KMESIM_REQUEST *req, char *err, size_t errlen)
{
    json_t *v;

    if ((v = json_object_get(root, "number")) != NULL &&
        json_count(v, KMESIM_MAX_KEYS, &req->number)) {
        snprintf(err, errlen, "number must be an integer from 1 to %d", KMESIM_MAX_KEYS);
        return 400;
    }
    if ((v = json_object_get(root, "size")) != NULL &&
        json_count(v, KMESIM_KEY_BITS_MAX, &req->size)) {
        snprintf(err, errlen, "size must be an integer from 1 to %d", KMESIM_KEY_BITS_MAX);
        return 400;
    }
    v = json_object_get(root, "additional_slave_SAE_IDs");
    if (v != NULL && (!json_is_array(v) || json_array_size(v) > 0)) {
        snprintf(err, errlen, "additional_slave_SAE_IDs not supported (max_SAE_ID_count is 0)");
        return 400;
    }
    v = json_object_get(root, "extension_mandatory");
    if (v != NULL && (!json_is_array(v) || json_array_size(v) > 0)) {
        snprintf(err, errlen, "extension_mandatory not supported");
        return 400;
    }
    return 0;
}

/* ETSI GS QKD 014 6.4 (Key IDs): {"key_IDs": [{"key_ID": ...}, ...], "key_IDs_extension"} */
static int parse_dec_body(json_t *root, KMESIM_REQUEST *req, char *err, size_t errlen)
{
    json_t *ids = json_object_get(root, "key_IDs"), *item;
    size_t i;
    int rc;

    if (!json_is_array(ids) || json_array_size(ids) == 0) {
        snprintf(err, errlen, "key_IDs must be a non-empty array");
        return 400;
    }
    json_array_foreach(ids, i, item)
    {
        const char *id = json_string_value(json_object_get(item, "key_ID"));

        if (id == NULL) {
            snprintf(err, errlen, "key_IDs[%zu]: key_ID missing", i);
            return 400;
        }
        if ((rc = add_key_id(req, id, err, errlen)) != 0)
            return rc;
    }
    return 0;
}

int kmesim_parse_request(const char *method, const char *url, const char *get_number,
                         const char *get_size, const char *get_key_id, const char *body,
                         size_t body_len, KMESIM_REQUEST *req, char *err, size_t errlen)
{
    const char *sae, *slash, *op;
    int is_post, rc = 0;
    json_t *root = NULL;
    json_error_t jerr;

    memset(req, 0, sizeof(*req));
    req->number = 1;
    if (strncmp(url, API_PREFIX, strlen(API_PREFIX)) != 0) {
        snprintf(err, errlen, "no such resource");
        return 404;
    }
    sae = url + strlen(API_PREFIX);
    slash = strchr(sae, '/');
    if (slash == NULL || (size_t)(slash - sae) > KMESIM_ID_MAX || slash == sae) {
        snprintf(err, errlen, "no such resource");
        return 404;
    }
    memcpy(req->sae_id, sae, (size_t)(slash - sae));
    req->sae_id[slash - sae] = '\0';
    if (!kmesim_valid_id(req->sae_id)) {
        snprintf(err, errlen, "SAE ID in the URL is malformed");
        return 400;
    }
    op = slash + 1;
    if (strcmp(op, "status") == 0)
        req->op = KMESIM_OP_STATUS;
    else if (strcmp(op, "enc_keys") == 0)
        req->op = KMESIM_OP_ENC;
    else if (strcmp(op, "dec_keys") == 0)
        req->op = KMESIM_OP_DEC;
    else {
        snprintf(err, errlen, "no such resource");
        return 404;
    }
    is_post = strcmp(method, "POST") == 0;
    if (!is_post && strcmp(method, "GET") != 0) {
        snprintf(err, errlen, "method %s not allowed", method);
        return 405;
    }
    if (req->op == KMESIM_OP_STATUS) {
        if (is_post) {
            snprintf(err, errlen, "status takes GET");
            return 405;
        }
        return 0;
    }
    if (!is_post) {
        if (req->op == KMESIM_OP_ENC) {
            if (get_number != NULL && parse_count(get_number, KMESIM_MAX_KEYS, &req->number)) {
                snprintf(err, errlen, "number must be an integer from 1 to %d", KMESIM_MAX_KEYS);
                return 400;
            }
            if (get_size != NULL && parse_count(get_size, KMESIM_KEY_BITS_MAX, &req->size)) {
                snprintf(err, errlen, "size must be an integer from 1 to %d", KMESIM_KEY_BITS_MAX);
                return 400;
            }
            return 0;
        }
        if (get_key_id == NULL) {
            snprintf(err, errlen, "key_ID missing");
            return 400;
        }
        return add_key_id(req, get_key_id, err, errlen);
    }
    root = json_loadb(body != NULL ? body : "", body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(root)) {
        snprintf(err, errlen, "request body is not a JSON object");
        rc = 400;
        goto done;
    }
    rc = req->op == KMESIM_OP_ENC ? parse_enc_body(root, req, err, errlen)
                                  : parse_dec_body(root, req, err, errlen);
done:
    json_decref(root);
    return rc;
}
