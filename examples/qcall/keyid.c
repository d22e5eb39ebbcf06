/*
 * qcall key ID: the QKD key ID read out of a KEM ciphertext, for the per-call report.
 *
 * The key ID is not secret (both KMEs see it in the clear); reading it needs no qkey code, only
 * the provider's documented wire format (docs/kem-wire-format.md), all integers big-endian:
 *
 *   ciphertext = version(1) variant(1) u16 classical_len, classical ciphertext,
 *                u8 sae_len, server SAE ID, u8 key_id_len, key ID
 *
 * This reads outside input (the peer's ciphertext) and is fuzzed: every length is checked, and
 * only a key ID of printable UUID characters is ever copied out.
 */
#include <string.h>
#include "qcall.h"

#define WIRE_VERSION 1

int qcall_key_id(const uint8_t *ct, size_t ct_len, char *key_id, size_t cap)
{
    size_t off, n;

    if (ct == NULL || ct_len < 4 || ct[0] != WIRE_VERSION)
        return 0;
    off = 4 + (((size_t)ct[2] << 8) | ct[3]); /* skip the classical ciphertext */
    if (off >= ct_len)
        return 0;
    n = ct[off]; /* server SAE ID */
    off += 1 + n;
    if (n == 0 || off >= ct_len)
        return 0;
    n = ct[off++]; /* key ID: must end the ciphertext exactly */
    if (n == 0 || n >= cap || off + n != ct_len)
        return 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = ct[off + i];

        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
              c == '-'))
            return 0;
    }
    memcpy(key_id, ct + off, n);
    key_id[n] = '\0';
    return 1;
}
