/*
 * Large Toeplitz extractors (n of tens of thousands of bits and up, DIQRNG blocks of millions):
 * the word-level Toeplitz matrix-vector product q = M x, M[i][a] = R[a - i] with clmul as the
 * multiplication, by the transposed Karatsuba split (Hanrot, Quercia, Zimmermann, "The middle
 * product algorithm I"). For M of S x S words cut into h x h blocks (S = 2h), M is Toeplitz, so
 *     M = | A  B |   top    = A x0 + B x1 = A (x0 + x1) + (B - A) x1
 *         | C  A |   bottom = C x0 + A x1 = A (x0 + x1) + (C - A) x0
 * and B - A, C - A are again Toeplitz (their seeds are XORs of seed windows): three products of
 * half size instead of four, only the rows the extractor needs, down to a base block of B words
 * done by the vector kernels (toeplitz_simd.c). Clmul is bilinear over GF(2), which is all the
 * identities use. A rows x nx problem is cut into S x S tiles (zero input words and discarded
 * rows as padding); qhw_tz_plan picks B, the depth and the tiling by a cost model, or no split.
 */
#include <string.h>

#include "internal.h"

/* q[0 .. 2S) ^= M x for the S x S matrix M[i][a] = R[a - i] (R[-(S - 1) .. S - 1] readable);
 * scratch: qhw_tz_scratch_words(S) words. */
void qhw_tz_tkara(const QHW_TZ_OPS *ops, size_t base, uint64_t *q, const uint64_t *x,
                  const uint64_t *R, size_t S, uint64_t *scratch)
{
    size_t h = S / 2;
    uint64_t *xs = scratch, *d = scratch + h, *t = d + 2 * h, *next = t + 2 * h;
    uint64_t *db = d + h - 1; /* db[k] for k in [-(h - 1), h - 1] */

    if (S <= base) {
        ops->rows(q, x, S, R, S);
        return;
    }
    ops->xor (xs, x, x + h, h);
    memset(t, 0, 2 * h * sizeof(uint64_t));
    qhw_tz_tkara(ops, base, t, xs, R, h, next); /* A (x0 + x1) */
    ops->xor (q, q, t, 2 * h);
    ops->xor (q + 2 * h, q + 2 * h, t, 2 * h);
    ops->xor (d, R + 1, R + 1 - h, 2 * h - 1); /* B - A: seed R[h + k] ^ R[k] */
    qhw_tz_tkara(ops, base, q, x + h, db, h, next);
    ops->xor (d, R + 1 - 2 * h, R + 1 - h, 2 * h - 1); /* C - A: seed R[k - h] ^ R[k] */
    qhw_tz_tkara(ops, base, q + 2 * h, x, db, h, next);
}

size_t qhw_tz_scratch_words(size_t S)
{
    return 5 * S + 16; /* 5h at the top level, half of that below, and so on */
}

/* cost in units of one 64 x 64 carry-less product, with row and block overheads guessed from
 * bench_toeplitz on an AVX-512 EPYC (the choice matters by tens of percent, not for correctness) */
static double rows_cost(size_t rows, size_t nx)
{
    /* rows go four at a time, folded together; 16-word blocks keep x in registers */
    return (double)rows * (nx == 16 ? 18.0 : 1.1 * (double)nx + 6);
}

void qhw_tz_plan(QHW_TZ_PLAN *pl, size_t rows, size_t nw)
{
    size_t nx = (nw + QHW_TZ_XPAD - 1) / QHW_TZ_XPAD * QHW_TZ_XPAD;
    size_t big = rows > nw ? rows : nw;
    double best = rows_cost(rows, nx);
    static const size_t bases[] = {16, 32, 48, 64, 80, 96, 128, 160, 192, 256};

    memset(pl, 0, sizeof(*pl));
    for (size_t b = 0; b < sizeof(bases) / sizeof(bases[0]); b++) {
        double blocks = 1; /* 3^levels */
        for (size_t lv = 1, S = 2 * bases[b]; S / 2 < big; lv++, S *= 2) {
            size_t tr = (rows + S - 1) / S, tc = (nw + S - 1) / S;
            double over = 0, c;
            blocks *= 3;
            for (size_t l = 0, s = S, k = 1; l < lv; l++, s /= 2, k *= 3)
                over += (double)k * (4.0 * (double)s + 200); /* XORs, calls per node */
            c = (double)tr * (double)tc * (blocks * (rows_cost(bases[b], bases[b]) + 50) + over);
            if (c < best) {
                best = c;
                pl->base = bases[b];
                pl->levels = lv;
                pl->size = S;
                pl->tr = tr;
                pl->tc = tc;
            }
        }
    }
}
