/*
 * Fuzz target: the DIQRNG record parser (diqrng:PATH streams are outside input) and the Bell
 * evaluation of whatever it accepts. Input: header + records, as in a record file.
 */
#include <stdint.h>
#include <stdlib.h>

#include "diqrng.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    QHW_DIQ_HEADER h;
    QHW_BELL_TALLY t = {0};
    QHW_BELL_RESULT r;
    unsigned char *bits;

    if (qhw_diq_parse_header(data, size, &h) != QKS_OK)
        return 0;
    size -= QHW_DIQ_HEADER_LEN;
    data += QHW_DIQ_HEADER_LEN;
    if ((bits = calloc(1, size / 8 + 1)) == NULL)
        return 0;
    if (qhw_diq_parse_records(data, size, &t, bits) == QKS_OK) {
        if (t.rounds != size || t.test_rounds > t.rounds)
            abort();
        qhw_bell_evaluate(&t, h.test_prob_q32, 100, 100, &r);
        if (r.out_bits > t.rounds || r.h_per_round < 0 || r.h_per_round > 1 ||
            (r.out_bits > 0 && !(r.s_lower > 2.0)))
            abort();
    }
    free(bits);
    return 0;
}
