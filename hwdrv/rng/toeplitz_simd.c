/*
 * Vector kernels of the Toeplitz extractor: VPCLMULQDQ on 512-bit (AVX-512F) and 256-bit (AVX2)
 * registers and PCLMULQDQ on 128-bit ones, compiled with target attributes and chosen at run
 * time (qhw_toeplitz_cpu_has), so the library still runs on CPUs without them.
 *
 * The extractor needs only product words k0 .. k1 of seed s x input x (the "middle product"):
 * q[j] = XOR_a clmul(x[a], s[j - a]) for j = k0 - 1 .. k1, and word k = lo(q[k]) ^ hi(q[k - 1]).
 * At seed time the seed words are stored reversed, r[i] = s[sw - 1 - i], so row i of that
 * word-level Toeplitz matrix reads a window of r in the same order as x: with R = the row-0
 * base pointer, q[i] = XOR_a clmul(x[a], R[a - i]). One VPCLMULQDQ handles two word pairs per
 * 128-bit lane (imm 0x00 and 0x11), no lane shuffles; the 128-bit products are XORed unreduced
 * into the accumulators and folded to one 128-bit q[i] at the end of the row.
 */
#include "internal.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

/* q[2i .. 2i + 8) ^= the four rows' 128-bit sums: each acc holds one row in four lanes; lanes
 * (a0 + a2, a1 + a3) of rows k, k + 1, then one lane per row */
__attribute__((target("avx512f"))) static inline void fold4(uint64_t *q, __m512i acc0, __m512i acc1,
                                                            __m512i acc2, __m512i acc3)
{
    __m512i t01 = _mm512_xor_si512(_mm512_shuffle_i64x2(acc0, acc1, 0x44),
                                   _mm512_shuffle_i64x2(acc0, acc1, 0xee));
    __m512i t23 = _mm512_xor_si512(_mm512_shuffle_i64x2(acc2, acc3, 0x44),
                                   _mm512_shuffle_i64x2(acc2, acc3, 0xee));
    __m512i u = _mm512_ternarylogic_epi64(_mm512_shuffle_i64x2(t01, t23, 0x88),
                                          _mm512_shuffle_i64x2(t01, t23, 0xdd),
                                          _mm512_loadu_si512(q), 0x96);
    _mm512_storeu_si512(q, u);
}

/* acc ^= the 16 products x[a .. a + 16) with the row's seed words r[0 .. 16) */
#define TZ_ROW16(acc, x0, x1, r)                                                                   \
    do {                                                                                           \
        __m512i r0_ = _mm512_loadu_si512(r), r1_ = _mm512_loadu_si512((r) + 8);                    \
        acc = _mm512_ternarylogic_epi64(acc, _mm512_clmulepi64_epi128(x0, r0_, 0x00),              \
                                        _mm512_clmulepi64_epi128(x0, r0_, 0x11), 0x96);            \
        acc = _mm512_ternarylogic_epi64(acc, _mm512_clmulepi64_epi128(x1, r1_, 0x00),              \
                                        _mm512_clmulepi64_epi128(x1, r1_, 0x11), 0x96);            \
    } while (0)

/* Four rows at a time (rows a multiple of 4): each x load serves four rows, and the four
 * accumulators are folded together by lane shuffles into one 512-bit XOR into q. For nx = 16
 * (the transposed Karatsuba base block) x stays in registers. */
__attribute__((target("avx512f,vpclmulqdq"))) static void
rows_x4(uint64_t *q, const uint64_t *x, size_t nx, const uint64_t *R, size_t rows)
{
    if (nx == 16) {
        __m512i x0 = _mm512_loadu_si512(x), x1 = _mm512_loadu_si512(x + 8);
        for (size_t i = 0; i < rows; i += 4) {
            __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
            TZ_ROW16(a0, x0, x1, R - i);
            TZ_ROW16(a1, x0, x1, R - i - 1);
            TZ_ROW16(a2, x0, x1, R - i - 2);
            TZ_ROW16(a3, x0, x1, R - i - 3);
            fold4(q + 2 * i, a0, a1, a2, a3);
        }
        return;
    }
    for (size_t i = 0; i < rows; i += 4) {
        __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
        for (size_t a = 0; a < nx; a += 16) {
            __m512i x0 = _mm512_loadu_si512(x + a), x1 = _mm512_loadu_si512(x + a + 8);
            TZ_ROW16(a0, x0, x1, R - i + a);
            TZ_ROW16(a1, x0, x1, R - i - 1 + a);
            TZ_ROW16(a2, x0, x1, R - i - 2 + a);
            TZ_ROW16(a3, x0, x1, R - i - 3 + a);
        }
        fold4(q + 2 * i, a0, a1, a2, a3);
    }
}
#undef TZ_ROW16

/* q[2i], q[2i + 1] ^= lo, hi of XOR_{a < nx} clmul(x[a], R[a - i]) for i < rows; nx is a
 * multiple of 16 and R[-(rows - 1) .. nx - 1] readable. */
__attribute__((target("avx512f,vpclmulqdq"))) void
qhw_tz_rows_vpclmul512(uint64_t *q, const uint64_t *x, size_t nx, const uint64_t *R, size_t rows)
{
    size_t rows4 = rows - rows % 4;

    rows_x4(q, x, nx, R, rows4);
    for (size_t i = rows4; i < rows; i++) { /* the last rows % 4 */
        const uint64_t *ri = R - i;
        __m512i acc0 = _mm512_setzero_si512(), acc1 = _mm512_setzero_si512();
        for (size_t a = 0; a < nx; a += 16) {
            __m512i x0 = _mm512_loadu_si512(x + a), r0 = _mm512_loadu_si512(ri + a);
            __m512i x1 = _mm512_loadu_si512(x + a + 8), r1 = _mm512_loadu_si512(ri + a + 8);
            /* 0x96: three-way XOR */
            acc0 = _mm512_ternarylogic_epi64(acc0, _mm512_clmulepi64_epi128(x0, r0, 0x00),
                                             _mm512_clmulepi64_epi128(x0, r0, 0x11), 0x96);
            acc1 = _mm512_ternarylogic_epi64(acc1, _mm512_clmulepi64_epi128(x1, r1, 0x00),
                                             _mm512_clmulepi64_epi128(x1, r1, 0x11), 0x96);
        }
        acc0 = _mm512_xor_si512(acc0, acc1);
        __m256i h =
            _mm256_xor_si256(_mm512_castsi512_si256(acc0), _mm512_extracti64x4_epi64(acc0, 1));
        __m128i v = _mm_xor_si128(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
        v = _mm_xor_si128(v, _mm_loadu_si128((const __m128i *)(q + 2 * i)));
        _mm_storeu_si128((__m128i *)(q + 2 * i), v);
    }
}

/* The same on 256-bit registers (nx a multiple of 8), four rows per x load; each accumulator
 * holds one row in two lanes, folded in pairs of rows. */
__attribute__((target("avx2"))) static inline void fold2(uint64_t *q, __m256i a, __m256i b)
{
    __m256i u = _mm256_xor_si256(_mm256_permute2x128_si256(a, b, 0x20),
                                 _mm256_permute2x128_si256(a, b, 0x31));
    _mm256_storeu_si256((__m256i *)q, _mm256_xor_si256(u, _mm256_loadu_si256((const __m256i *)q)));
}

#define TZ_ROW8(acc, x0, x1, r)                                                                    \
    do {                                                                                           \
        __m256i r0_ = _mm256_loadu_si256((const __m256i *)(r));                                    \
        __m256i r1_ = _mm256_loadu_si256((const __m256i *)((r) + 4));                              \
        acc = _mm256_xor_si256(acc, _mm256_xor_si256(_mm256_clmulepi64_epi128(x0, r0_, 0x00),      \
                                                     _mm256_clmulepi64_epi128(x0, r0_, 0x11)));    \
        acc = _mm256_xor_si256(acc, _mm256_xor_si256(_mm256_clmulepi64_epi128(x1, r1_, 0x00),      \
                                                     _mm256_clmulepi64_epi128(x1, r1_, 0x11)));    \
    } while (0)

__attribute__((target("avx2,vpclmulqdq"))) void
qhw_tz_rows_vpclmul256(uint64_t *q, const uint64_t *x, size_t nx, const uint64_t *R, size_t rows)
{
    size_t i = 0;

    for (; i + 4 <= rows; i += 4) {
        __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
        for (size_t a = 0; a < nx; a += 8) {
            __m256i x0 = _mm256_loadu_si256((const __m256i *)(x + a));
            __m256i x1 = _mm256_loadu_si256((const __m256i *)(x + a + 4));
            TZ_ROW8(a0, x0, x1, R - i + a);
            TZ_ROW8(a1, x0, x1, R - i - 1 + a);
            TZ_ROW8(a2, x0, x1, R - i - 2 + a);
            TZ_ROW8(a3, x0, x1, R - i - 3 + a);
        }
        fold2(q + 2 * i, a0, a1);
        fold2(q + 2 * i + 4, a2, a3);
    }
    for (; i < rows; i++) { /* the last rows % 4 */
        __m256i a0 = _mm256_setzero_si256();
        for (size_t a = 0; a < nx; a += 8) {
            __m256i x0 = _mm256_loadu_si256((const __m256i *)(x + a));
            __m256i x1 = _mm256_loadu_si256((const __m256i *)(x + a + 4));
            TZ_ROW8(a0, x0, x1, R - i + a);
        }
        __m128i v = _mm_xor_si128(_mm256_castsi256_si128(a0), _mm256_extracti128_si256(a0, 1));
        v = _mm_xor_si128(v, _mm_loadu_si128((const __m128i *)(q + 2 * i)));
        _mm_storeu_si128((__m128i *)(q + 2 * i), v);
    }
}
#undef TZ_ROW8

/* The same with PCLMULQDQ on 128-bit registers (nx even), four rows per x load. */
#define TZ_ROW2(acc, xv, r)                                                                        \
    do {                                                                                           \
        __m128i r_ = _mm_loadu_si128((const __m128i *)(r));                                        \
        acc = _mm_xor_si128(acc, _mm_xor_si128(_mm_clmulepi64_si128(xv, r_, 0x00),                 \
                                               _mm_clmulepi64_si128(xv, r_, 0x11)));               \
    } while (0)

__attribute__((target("pclmul,avx"))) void
qhw_tz_rows_pclmul(uint64_t *q, const uint64_t *x, size_t nx, const uint64_t *R, size_t rows)
{
    size_t i = 0;

    for (; i + 4 <= rows; i += 4) {
        __m128i a0 = _mm_setzero_si128(), a1 = a0, a2 = a0, a3 = a0;
        for (size_t a = 0; a < nx; a += 2) {
            __m128i xv = _mm_loadu_si128((const __m128i *)(x + a));
            TZ_ROW2(a0, xv, R - i + a);
            TZ_ROW2(a1, xv, R - i - 1 + a);
            TZ_ROW2(a2, xv, R - i - 2 + a);
            TZ_ROW2(a3, xv, R - i - 3 + a);
        }
        __m128i *qi = (__m128i *)(q + 2 * i);
        _mm_storeu_si128(qi, _mm_xor_si128(a0, _mm_loadu_si128(qi)));
        _mm_storeu_si128(qi + 1, _mm_xor_si128(a1, _mm_loadu_si128(qi + 1)));
        _mm_storeu_si128(qi + 2, _mm_xor_si128(a2, _mm_loadu_si128(qi + 2)));
        _mm_storeu_si128(qi + 3, _mm_xor_si128(a3, _mm_loadu_si128(qi + 3)));
    }
    for (; i < rows; i++) {
        __m128i a0 = _mm_setzero_si128();
        for (size_t a = 0; a < nx; a += 2)
            TZ_ROW2(a0, _mm_loadu_si128((const __m128i *)(x + a)), R - i + a);
        __m128i *qi = (__m128i *)(q + 2 * i);
        _mm_storeu_si128(qi, _mm_xor_si128(a0, _mm_loadu_si128(qi)));
    }
}
#undef TZ_ROW2

/* d[i] = a[i] ^ b[i] for i < n (d may be a) */
__attribute__((target("avx512f"))) void qhw_tz_xor_avx512(uint64_t *d, const uint64_t *a,
                                                          const uint64_t *b, size_t n)
{
    size_t i = 0;

    for (; i + 8 <= n; i += 8)
        _mm512_storeu_si512(d + i,
                            _mm512_xor_si512(_mm512_loadu_si512(a + i), _mm512_loadu_si512(b + i)));
    if (i < n) {
        __mmask8 k = (__mmask8)((1u << (n - i)) - 1);
        _mm512_mask_storeu_epi64(d + i, k,
                                 _mm512_xor_si512(_mm512_maskz_loadu_epi64(k, a + i),
                                                  _mm512_maskz_loadu_epi64(k, b + i)));
    }
}

__attribute__((target("avx2"))) void qhw_tz_xor_avx2(uint64_t *d, const uint64_t *a,
                                                     const uint64_t *b, size_t n)
{
    size_t i = 0;

    for (; i + 4 <= n; i += 4)
        _mm256_storeu_si256((__m256i *)(d + i),
                            _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(a + i)),
                                             _mm256_loadu_si256((const __m256i *)(b + i))));
    for (; i < n; i++)
        d[i] = a[i] ^ b[i];
}

void qhw_tz_xor_sse2(uint64_t *d, const uint64_t *a, const uint64_t *b, size_t n)
{
    size_t i = 0;

    for (; i + 2 <= n; i += 2)
        _mm_storeu_si128((__m128i *)(d + i),
                         _mm_xor_si128(_mm_loadu_si128((const __m128i *)(a + i)),
                                       _mm_loadu_si128((const __m128i *)(b + i))));
    for (; i < n; i++)
        d[i] = a[i] ^ b[i];
}

int qhw_tz_cpu_vpclmul(int bits)
{
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("vpclmulqdq"))
        return 0;
    return bits == 512 ? __builtin_cpu_supports("avx512f") : __builtin_cpu_supports("avx2");
}
#else
void qhw_tz_rows_vpclmul512(uint64_t *q, const uint64_t *x, size_t nx, const uint64_t *R,
                            size_t rows)
{
    (void)q, (void)x, (void)nx, (void)R, (void)rows; /* never selected */
}

void qhw_tz_rows_vpclmul256(uint64_t *q, const uint64_t *x, size_t nx, const uint64_t *R,
                            size_t rows)
{
    (void)q, (void)x, (void)nx, (void)R, (void)rows; /* never selected */
}

void qhw_tz_xor_avx512(uint64_t *d, const uint64_t *a, const uint64_t *b, size_t n)
{
    (void)d, (void)a, (void)b, (void)n; /* never selected */
}

void qhw_tz_xor_avx2(uint64_t *d, const uint64_t *a, const uint64_t *b, size_t n)
{
    (void)d, (void)a, (void)b, (void)n; /* never selected */
}

void qhw_tz_rows_pclmul(uint64_t *q, const uint64_t *x, size_t nx, const uint64_t *R, size_t rows)
{
    (void)q, (void)x, (void)nx, (void)R, (void)rows; /* never selected */
}

void qhw_tz_xor_sse2(uint64_t *d, const uint64_t *a, const uint64_t *b, size_t n)
{
    (void)d, (void)a, (void)b, (void)n; /* never selected */
}

int qhw_tz_cpu_vpclmul(int bits)
{
    (void)bits;
    return 0;
}
#endif
