/*
 * Fuzz target: the validators of SAE IDs and key IDs that arrive from the wire (TLS key
 * shares, PKCS#11 attributes, KME answers). Checks the accepted language, not just no-crash.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "qkey/qks.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    size_t n;

    if (s == NULL)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    n = strlen(s);
    if (qks_valid_sae_id(s)) {
        if (n == 0 || n > QKS_SAE_ID_MAX ||
            strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                      "abcdefghijklmnopqrstuvwxyz0123456789._:@-") != n)
            abort();
    }
    if (qks_valid_key_id(s)) {
        if (n != 36 || strspn(s, "0123456789abcdefABCDEF-") != 36 || s[8] != '-' || s[13] != '-' ||
            s[18] != '-' || s[23] != '-' || strchr(s, '/') != NULL)
            abort();
    }
    free(s);
    return 0;
}
