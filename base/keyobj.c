/*
 * Key objects and the identifiers that arrive from the wire: QKS_KEY allocation in locked memory
 * (drivers fill them, keysource hands them out, everyone frees them with qks_key_free) and the
 * syntax checks of SAE IDs and key IDs. Base layer: used by the drivers and the key API alike.
 */
#include <stdlib.h>

#include "base.h"

int qks_valid_sae_id(const char *s)
{
    size_t n = 0;

    if (s == NULL)
        return 0;
    for (; s[n] != '\0'; n++) {
        unsigned char c = (unsigned char)s[n];
        if (n >= QKS_SAE_ID_MAX)
            return 0;
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == ':' || c == '@' || c == '-'))
            return 0;
    }
    return n > 0;
}

/* Canonical UUID: 8-4-4-4-12 hex digits (either case). */
int qks_valid_key_id(const char *s)
{
    size_t n = 0;

    if (s == NULL)
        return 0;
    for (; s[n] != '\0'; n++) {
        unsigned char c = (unsigned char)s[n];
        if (n >= 36)
            return 0;
        if (n == 8 || n == 13 || n == 18 || n == 23) {
            if (c != '-')
                return 0;
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
            return 0;
        }
    }
    return n == 36;
}

QKS_KEY *qks_key_alloc(size_t len)
{
    QKS_KEY *k;

    if (len == 0 || len > QKS_KEY_MAX)
        return NULL;
    if ((k = calloc(1, sizeof(*k))) == NULL)
        return NULL;
    if ((k->key = qks_secure_alloc(len)) == NULL) {
        free(k);
        return NULL;
    }
    k->len = len;
    return k;
}

void qks_key_free(QKS_KEY *key)
{
    if (key == NULL)
        return;
    qks_secure_free(key->key, key->len);
    qks_wipe(key, sizeof(*key));
    free(key);
}
