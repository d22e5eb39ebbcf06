/*
 * GF(2)[x] product kernels for the Toeplitz extractor, instantiated twice by toeplitz.c: with
 * PCLMULQDQ (TK_SUFFIX = _pclmul, TK_ATTR = target("pclmul")) and portable (TK_SUFFIX = _soft).
 * TK_ACC is a 128-bit accumulator: TK_ZERO, TK_MULACC(acc, a, b) (acc ^= a * b, the 64 x 64 ->
 * 128 carry-less product), TK_LO(acc), TK_HI(acc).
 * Words are little-endian bit order: bit j of a polynomial is bit j % 64 of word j / 64.
 */
#define TK_CAT2(a, b) a##b
#define TK_CAT(a, b)  TK_CAT2(a, b)
#define TK_FN(name)   TK_CAT(name, TK_SUFFIX)

#define TK_KARATSUBA_BASE 16 /* words: schoolbook below this */

/* c[0 .. 2w) = a[0 .. w) * b[0 .. w) */
static TK_ATTR void TK_FN(tk_school)(uint64_t *c, const uint64_t *a, const uint64_t *b, size_t w)
{
    uint64_t carry = 0;

    for (size_t k = 0; k + 1 < 2 * w; k++) {
        TK_ACC acc = TK_ZERO;
        size_t i0 = k >= w ? k - w + 1 : 0, i1 = k < w ? k : w - 1;
        for (size_t i = i0; i <= i1; i++)
            TK_MULACC(acc, a[i], b[k - i]);
        c[k] = TK_LO(acc) ^ carry;
        carry = TK_HI(acc);
    }
    c[2 * w - 1] = carry;
}

/* c[0 .. 2w) = a * b for w a power of two; tmp holds 4w words. */
static TK_ATTR void TK_FN(tk_kara)(uint64_t *c, const uint64_t *a, const uint64_t *b, size_t w,
                                   uint64_t *tmp)
{
    size_t h = w / 2;
    uint64_t *as = tmp, *bs = tmp + h, *mid = tmp + w;

    if (w <= TK_KARATSUBA_BASE) {
        TK_FN(tk_school)(c, a, b, w);
        return;
    }
    TK_FN(tk_kara)(c, a, b, h, tmp);
    TK_FN(tk_kara)(c + w, a + h, b + h, h, tmp);
    for (size_t i = 0; i < h; i++) {
        as[i] = a[i] ^ a[i + h];
        bs[i] = b[i] ^ b[i + h];
    }
    TK_FN(tk_kara)(mid, as, bs, h, tmp + 2 * w);
    for (size_t i = 0; i < w; i++)
        mid[i] ^= c[i] ^ c[w + i];
    for (size_t i = 0; i < w; i++)
        c[h + i] ^= mid[i];
}

/*
 * Words [k0, k1] of the product x * s (x: nw words; sp: s with one zero word in front, so that
 * sp[b + 1] = s[b] and sp[0] = 0), written to p[0 .. k1 - k0]. Schoolbook with 128-bit
 * accumulators: q[j] = XOR_a clmul(x[a], s[j - a]); word k = lo(q[k]) ^ hi(q[k - 1]).
 */
static TK_ATTR void TK_FN(tk_middle_school)(uint64_t *p, const uint64_t *x, size_t nw,
                                            const uint64_t *sp, size_t spw, size_t k0, size_t k1)
{
    uint64_t prev_hi = 0;

    for (size_t j = k0 - 1; j <= k1; j++) { /* k0 >= 1 always (n >= 128) */
        TK_ACC acc = TK_ZERO;
        /* sp index j + 1 - a must lie in [0, spw) */
        size_t a0 = j + 2 > spw ? j + 2 - spw : 0, a1 = j + 1 < nw - 1 ? j + 1 : nw - 1;
        const uint64_t *sj = sp + j + 1;
        for (size_t a = a0; a <= a1; a++)
            TK_MULACC(acc, x[a], *(sj - a));
        if (j >= k0)
            p[j - k0] = TK_LO(acc) ^ prev_hi;
        prev_hi = TK_HI(acc);
    }
}

/*
 * Same result for large inputs: x and s cut into chunks of w words, chunk products by
 * Karatsuba, only the chunk pairs that reach words [k0, k1] computed. tmp: 8w words.
 */
static TK_ATTR void TK_FN(tk_middle_kara)(uint64_t *p, const uint64_t *x, size_t nw,
                                          const uint64_t *s, size_t sw, size_t k0, size_t k1,
                                          size_t w, uint64_t *tmp)
{
    uint64_t *prod = tmp, *xa = tmp + 2 * w, *sb = tmp + 3 * w;

    memset(p, 0, (k1 - k0 + 1) * sizeof(uint64_t));
    for (size_t c = 0; c * w < nw; c++) {
        size_t xn = nw - c * w < w ? nw - c * w : w;
        memcpy(xa, x + c * w, xn * sizeof(uint64_t));
        memset(xa + xn, 0, (w - xn) * sizeof(uint64_t));
        for (size_t d = 0; d * w < sw; d++) {
            size_t base = (c + d) * w; /* product words [base, base + 2w) */
            if (base > k1)
                break;
            if (base + 2 * w <= k0)
                continue;
            size_t sn = sw - d * w < w ? sw - d * w : w;
            memcpy(sb, s + d * w, sn * sizeof(uint64_t));
            memset(sb + sn, 0, (w - sn) * sizeof(uint64_t));
            TK_FN(tk_kara)(prod, xa, sb, w, tmp + 4 * w);
            size_t lo = base > k0 ? base : k0, hi = base + 2 * w - 1 < k1 ? base + 2 * w - 1 : k1;
            for (size_t k = lo; k <= hi; k++)
                p[k - k0] ^= prod[k - base];
        }
    }
}

#undef TK_FN
