/*
 * Fuzz the key-ID reader on arbitrary KEM ciphertexts: it never reads past the input, and what
 * it returns is a terminated string of UUID characters that fits the buffer.
 */
#include <stdlib.h>
#include <string.h>
#include "qcall.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char key_id[QCALL_MAX_KEY_ID];
    uint8_t *copy = malloc(size ? size : 1); /* exact-size copy: ASan sees any over-read */

    if (copy == NULL)
        return 0;
    memcpy(copy, data, size);
    if (qcall_key_id(copy, size, key_id, sizeof(key_id))) {
        size_t n = strnlen(key_id, sizeof(key_id));

        if (n == 0 || n == sizeof(key_id) || strspn(key_id, "0123456789abcdefABCDEF-") != n)
            abort();
    }
    free(copy);
    return 0;
}
