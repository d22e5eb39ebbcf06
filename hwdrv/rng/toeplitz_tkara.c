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
 * The B - A and C - A seeds depend on the seed only: they are derived once per seed (and plan)
 * into a seed tree when that fits in memory, else on the way.
 */
#include <string.h>

#include "internal.h"

/* Words of the seed tree of an S x S split down to `base`: the B - A and C - A seeds of every
 * internal node (2S words at the root), then the trees of A, B - A and C - A. */
size_t qhw_tz_tree_words(size_t base, size_t S)
{
    return S <= base ? 0 : 2 * S + 3 * qhw_tz_tree_words(base, S / 2);
}

/* B - A: seed R[h + k] ^ R[k]; C - A: seed R[k - h] ^ R[k], k in [-(h - 1), h - 1], stored
 * from d[0] (k = -(h - 1)) */
static void seeds(const QHW_TZ_OPS *ops, uint64_t *d1, uint64_t *d2, const uint64_t *R, size_t h)
{
    ops->xorw(d1, R + 1, R + 1 - h, 2 * h - 1);
    ops->xorw(d2, R + 1 - 2 * h, R + 1 - h, 2 * h - 1);
}

void qhw_tz_tree_build(const QHW_TZ_OPS *ops, uint64_t *tree, const uint64_t *R, size_t S,
                       size_t base)
{
    size_t h = S / 2, sub = qhw_tz_tree_words(base, h);

    if (S <= base)
        return;
    seeds(ops, tree, tree + S, R, h);
    qhw_tz_tree_build(ops, tree + 2 * S, R, h, base);
    qhw_tz_tree_build(ops, tree + 2 * S + sub, tree + h - 1, h, base);
    qhw_tz_tree_build(ops, tree + 2 * S + 2 * sub, tree + S + h - 1, h, base);
}

/* q[0 .. 2S) ^= M x for the S x S matrix M[i][a] = R[a - i] (R[-(S - 1) .. S - 1] readable).
 * tree: R's seed tree (qhw_tz_tree_build), or NULL to derive the seeds on the way (large n, where
 * the tree would take too much memory). scratch: qhw_tz_scratch_words(S) words, of which the
 * first qhw_tz_scratch_used(S, tree != NULL) are written. */
void qhw_tz_tkara(const QHW_TZ_OPS *ops, size_t base, uint64_t *q, const uint64_t *x,
                  const uint64_t *R, size_t S, const uint64_t *tree, uint64_t *scratch)
{
    size_t h = S / 2;
    uint64_t *xs = scratch, *t = scratch + h, *next = scratch + 3 * h;
    const uint64_t *d1, *d2, *tr_a = NULL, *tr_b = NULL, *tr_c = NULL;

    if (S <= base) {
        ops->rows(q, x, S, R, S);
        return;
    }
    if (tree != NULL) {
        size_t sub = qhw_tz_tree_words(base, h);
        d1 = tree, d2 = tree + S;
        tr_a = tree + 2 * S, tr_b = tr_a + sub, tr_c = tr_b + sub;
    } else {
        uint64_t *d = next; /* 4h words */
        seeds(ops, d, d + 2 * h, R, h);
        d1 = d, d2 = d + 2 * h;
        next += 4 * h;
    }
    ops->xorw(xs, x, x + h, h);
    memset(t, 0, 2 * h * sizeof(uint64_t));
    qhw_tz_tkara(ops, base, t, xs, R, h, tr_a, next); /* A (x0 + x1) */
    ops->xorw(q, q, t, 2 * h);
    ops->xorw(q + 2 * h, q + 2 * h, t, 2 * h);
    qhw_tz_tkara(ops, base, q, x + h, d1 + h - 1, h, tr_b, next);     /* (B - A) x1 */
    qhw_tz_tkara(ops, base, q + 2 * h, x, d2 + h - 1, h, tr_c, next); /* (C - A) x0 */
}

/* per level: xs (h words) and t (2h), plus both derived seeds (4h) without a tree; the levels
 * below take half as much each */
size_t qhw_tz_scratch_used(size_t S, int with_tree)
{
    return (with_tree ? 3 * S : 7 * S) + 16;
}

size_t qhw_tz_scratch_words(size_t S)
{
    return qhw_tz_scratch_used(S, 0);
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
