/*
 * Fuzz target: qkey-kme-sim's parsing of ETSI 014 requests. Input: "METHOD URL\n" then
 * "number\nsize\nkey_ID\n" query values (an empty line = absent), then the body.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kmesim.h"

static char *next_line(char **p, char *end)
{
    char *s = *p, *nl;

    if (s >= end)
        return NULL;
    nl = memchr(s, '\n', (size_t)(end - s));
    if (nl == NULL)
        return NULL;
    *nl = '\0';
    *p = nl + 1;
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 1), *p, *end, *first, *sp, *vals[3];
    KMESIM_REQUEST *req = malloc(sizeof(*req));
    char err[256];

    if (buf == NULL || req == NULL)
        goto done;
    memcpy(buf, data, size);
    buf[size] = '\0';
    p = buf;
    end = buf + size;
    if ((first = next_line(&p, end)) == NULL || (sp = strchr(first, ' ')) == NULL)
        goto done;
    *sp = '\0';
    for (int i = 0; i < 3; i++) {
        vals[i] = next_line(&p, end);
        if (vals[i] != NULL && vals[i][0] == '\0')
            vals[i] = NULL;
    }
    if (kmesim_parse_request(first, sp + 1, vals[0], vals[1], vals[2], p, (size_t)(end - p), req,
                             err, sizeof(err)) == 0) {
        if (!kmesim_valid_id(req->sae_id) || req->n_key_ids > KMESIM_MAX_KEYS)
            abort();
        for (size_t i = 0; i < req->n_key_ids; i++)
            if (!kmesim_valid_uuid(req->key_ids[i]))
                abort();
    }
done:
    free(req);
    free(buf);
    return 0;
}
