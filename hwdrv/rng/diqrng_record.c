/*
 * DIQRNG record format (docs/rng.md, "DIQRNG record format"): a 16-byte header, then one byte
 * per Bell-test round.
 *
 *   header  0..7   magic "QKDIQRNG"
 *           8      version, 1
 *           9..11  reserved, 0
 *           12..15 test probability q as an unsigned 32-bit big-endian fraction of 2^32,
 *                  0 < q <= 1/2 (a round is a test round with probability q)
 *   record  bit 0 x (Alice's setting)   bit 1 y (Bob's setting)
 *           bit 2 a (Alice's outcome)   bit 3 b (Bob's outcome)
 *           bit 4 t (1: test round)     bits 5..7 zero
 *           A generation round (t = 0) has x = y = 0. A detector that did not click records 0:
 *           no round is ever dropped (no post-selection).
 *
 * The parser is the only code that reads this outside input; test/fuzz/rng drives it.
 */
#include <string.h>

#include "diqrng.h"

int qhw_diq_parse_header(const unsigned char *buf, size_t len, QHW_DIQ_HEADER *h)
{
    uint32_t q;

    memset(h, 0, sizeof(*h));
    if (len < QHW_DIQ_HEADER_LEN)
        return qks_set_error(QKS_ERR_INVALID, "DIQRNG header: %zu bytes, need %d", len,
                             QHW_DIQ_HEADER_LEN);
    if (memcmp(buf, QHW_DIQ_MAGIC, 8) != 0)
        return qks_set_error(QKS_ERR_INVALID, "DIQRNG header: bad magic (not a qkey DIQRNG "
                                              "record stream)");
    if (buf[8] != QHW_DIQ_VERSION)
        return qks_set_error(QKS_ERR_INVALID, "DIQRNG header: version %u, this qkey reads %u",
                             buf[8], QHW_DIQ_VERSION);
    if (buf[9] != 0 || buf[10] != 0 || buf[11] != 0)
        return qks_set_error(QKS_ERR_INVALID, "DIQRNG header: reserved bytes 9..11 not zero");
    q = (uint32_t)buf[12] << 24 | (uint32_t)buf[13] << 16 | (uint32_t)buf[14] << 8 | buf[15];
    if (q == 0 || q > 0x80000000u)
        return qks_set_error(QKS_ERR_INVALID,
                             "DIQRNG header: test probability %u/2^32 outside (0, 1/2]", q);
    h->test_prob_q32 = q;
    return QKS_OK;
}

void qhw_diq_make_header(uint32_t test_prob_q32, unsigned char out[QHW_DIQ_HEADER_LEN])
{
    memcpy(out, QHW_DIQ_MAGIC, 8);
    out[8] = QHW_DIQ_VERSION;
    out[9] = out[10] = out[11] = 0;
    out[12] = (unsigned char)(test_prob_q32 >> 24);
    out[13] = (unsigned char)(test_prob_q32 >> 16);
    out[14] = (unsigned char)(test_prob_q32 >> 8);
    out[15] = (unsigned char)test_prob_q32;
}

int qhw_diq_parse_records(const unsigned char *rec, size_t n, QHW_BELL_TALLY *t,
                          unsigned char *a_bits)
{
    for (size_t i = 0; i < n; i++) {
        unsigned r = rec[i], x = r & 1, y = (r >> 1) & 1, a = (r >> 2) & 1, b = (r >> 3) & 1;
        unsigned test = (r >> 4) & 1;

        if (r & 0xe0)
            return qks_set_error(QKS_ERR_INVALID,
                                 "DIQRNG record %llu: reserved bits set (byte 0x%02x)",
                                 (unsigned long long)(t->rounds), r);
        if (!test && (x | y))
            return qks_set_error(QKS_ERR_INVALID,
                                 "DIQRNG record %llu: generation round with settings x=%u y=%u "
                                 "(must be 0, 0)",
                                 (unsigned long long)(t->rounds), x, y);
        if (test) {
            t->test_rounds++;
            t->n[x][y][a ^ b]++;
            /* CHSH: S = E00 + E01 + E10 - E11; this round scores (-1)^(a ^ b ^ (x & y)) */
            t->chsh_sum += (a ^ b ^ (x & y)) ? -1 : 1;
        }
        if (a_bits != NULL && a)
            a_bits[t->rounds / 8] |= (unsigned char)(1u << (t->rounds % 8));
        t->rounds++;
    }
    return QKS_OK;
}
