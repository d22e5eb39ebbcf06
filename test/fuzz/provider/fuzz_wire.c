/*
 * Fuzz target for the QKD KEM wire decoders (provider/kemwire.c): a TLS key share (built as
 * fuzz_provider_pubkey) or a ciphertext (QKP_FUZZ_CT, fuzz_provider_ct) from the network. The
 * first byte picks the variant the decoder expects; the rest is the input. Whatever decodes must
 * re-encode to exactly the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    QKP_WIRE w;
    char why[256];
    unsigned char out[QKP_CT_MAX + 16];
    size_t n;
    int ok;

    if (size < 1)
        return 0;
    QKP_VARIANT_ID v = (QKP_VARIANT_ID)(data[0] % QKP_NVARIANTS);
#ifdef QKP_FUZZ_CT
    ok = qkp_wire_decode_ct(data + 1, size - 1, v, &w, why, sizeof(why));
    n = ok ? qkp_wire_encode_ct(&w, out, sizeof(out)) : 0;
#else
    ok = qkp_wire_decode_pub(data + 1, size - 1, v, &w, why, sizeof(why));
    n = ok ? qkp_wire_encode_pub(&w, out, sizeof(out)) : 0;
#endif
    if (ok && (n != size - 1 || memcmp(out, data + 1, n) != 0))
        abort(); /* accepted bytes must be the canonical encoding */
    if (!ok && why[0] == '\0')
        abort(); /* every refusal names its reason */
    return 0;
}
