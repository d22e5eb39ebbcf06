/*
 * Fuzz target: the etsi014 driver's parsers of what a KME answers (key containers for
 * enc_keys and dec_keys, status, error bodies) and of the configured KME URL.
 * Input: one control byte (number of keys asked, 1..4; bit 7: dec_keys with expected IDs),
 * then the answer body.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "etsi014.h"

static const char *const want_ids[4] = {
    "0f2c5e9a-1b3d-4c6e-8f70-9a1b2c3d4e5f",
    "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
    "2b3c4d5e-6f70-4b8c-9d0e-1f2a3b4c5d6e",
    "3c4d5e6f-7081-4c9d-8e1f-2a3b4c5d6e7f",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    QKS_KEY *keys[4];
    E14_STATUS st;
    json_t *raw = NULL;
    char err[256], msg[400], host[256], port[16], path[512], *text;
    size_t number;
    int dec;

    if (size < 1)
        return 0;
    number = (size_t)(data[0] & 3) + 1;
    dec = (data[0] & 0x80) != 0;
    if (e14_parse_keys((const char *)data + 1, size - 1, number, 32, dec ? want_ids : NULL, keys,
                       err, sizeof(err)) == QKS_OK) {
        for (size_t i = 0; i < number; i++) {
            if (keys[i] == NULL || keys[i]->len != 32 || !qks_valid_key_id(keys[i]->key_id))
                abort(); /* success must mean exactly the keys asked for */
            qks_key_free(keys[i]);
        }
    } else {
        for (size_t i = 0; i < number; i++)
            if (keys[i] != NULL)
                abort(); /* failure must leave nothing allocated */
    }
    if (e14_parse_status((const char *)data + 1, size - 1, &st, &raw, err, sizeof(err)) == QKS_OK)
        json_decref(raw);
    e14_parse_error((const char *)data + 1, size - 1, msg, sizeof(msg));
    if (strlen(msg) >= sizeof(msg))
        abort();
    if ((text = malloc(size)) != NULL) {
        memcpy(text, data + 1, size - 1);
        text[size - 1] = '\0';
        (void)e14_parse_url(text, host, sizeof(host), port, sizeof(port), path, sizeof(path));
        (void)e14_url_encode(text, path, sizeof(path));
        free(text);
    }
    return 0;
}
