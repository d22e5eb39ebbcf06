/*
 * Vector kernels of the Toeplitz extractor: VPCLMULQDQ on 512-bit (AVX-512F) and 256-bit (AVX2)
 * registers, compiled with target attributes and chosen at run time (qhw_toeplitz_cpu_has), so
 * the library still runs on CPUs without them.
 *
 * The extractor needs only product words k0 .. k1 of seed s x input x (the "middle product"):
 * q[j] = XOR_a clmul(x[a], s[j - a]) for j = k0 - 1 .. k1, and word k = lo(q[k]) ^ hi(q[k - 1]).
 * At seed time the seed words are stored reversed, r[i] = s[sw - 1 - i] followed by
 * QHW_TZ_XPAD zero words, so q[j] = XOR_a clmul(x[a], r[sw - 1 - j + a]): for each output word a
 * carry-less dot product of x with a window of r in the same order, one VPCLMULQDQ per two word
 * pairs in each 128-bit lane (imm 0x00 and 0x11), no lane shuffles. The 128-bit products are
 * XORed unreduced into the accumulators and folded to one 128-bit q[j] at the end.
 * x is zero-padded to a multiple of QHW_TZ_XPAD words (nwp).
 */
#include "internal.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

__attribute__((target("avx512f,vpclmulqdq"))) void
qhw_tz_middle_vpclmul512(uint64_t *p, const uint64_t *x, size_t nwp, const uint64_t *r, size_t sw,
                         size_t k0, size_t k1)
{
    uint64_t prev_hi = 0;

    for (size_t j = k0 - 1; j <= k1; j++) { /* k0 >= 1 always (n >= 128) */
        const uint64_t *rj = r + (sw - 1 - j);
        __m512i acc0 = _mm512_setzero_si512(), acc1 = _mm512_setzero_si512();
        for (size_t a = 0; a < nwp; a += 16) {
            __m512i x0 = _mm512_loadu_si512(x + a), r0 = _mm512_loadu_si512(rj + a);
            __m512i x1 = _mm512_loadu_si512(x + a + 8), r1 = _mm512_loadu_si512(rj + a + 8);
            /* 0x96: three-way XOR */
            acc0 = _mm512_ternarylogic_epi64(acc0, _mm512_clmulepi64_epi128(x0, r0, 0x00),
                                             _mm512_clmulepi64_epi128(x0, r0, 0x11), 0x96);
            acc1 = _mm512_ternarylogic_epi64(acc1, _mm512_clmulepi64_epi128(x1, r1, 0x00),
                                             _mm512_clmulepi64_epi128(x1, r1, 0x11), 0x96);
        }
        acc0 = _mm512_xor_si512(acc0, acc1);
        __m256i h =
            _mm256_xor_si256(_mm512_castsi512_si256(acc0), _mm512_extracti64x4_epi64(acc0, 1));
        __m128i q = _mm_xor_si128(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
        if (j >= k0)
            p[j - k0] = (uint64_t)_mm_cvtsi128_si64(q) ^ prev_hi;
        prev_hi = (uint64_t)_mm_extract_epi64(q, 1);
    }
}

__attribute__((target("avx2,vpclmulqdq"))) void
qhw_tz_middle_vpclmul256(uint64_t *p, const uint64_t *x, size_t nwp, const uint64_t *r, size_t sw,
                         size_t k0, size_t k1)
{
    uint64_t prev_hi = 0;

    for (size_t j = k0 - 1; j <= k1; j++) {
        const uint64_t *rj = r + (sw - 1 - j);
        __m256i acc0 = _mm256_setzero_si256(), acc1 = _mm256_setzero_si256();
        __m256i acc2 = _mm256_setzero_si256(), acc3 = _mm256_setzero_si256();
        for (size_t a = 0; a < nwp; a += 8) {
            __m256i x0 = _mm256_loadu_si256((const __m256i *)(x + a));
            __m256i r0 = _mm256_loadu_si256((const __m256i *)(rj + a));
            __m256i x1 = _mm256_loadu_si256((const __m256i *)(x + a + 4));
            __m256i r1 = _mm256_loadu_si256((const __m256i *)(rj + a + 4));
            acc0 = _mm256_xor_si256(acc0, _mm256_clmulepi64_epi128(x0, r0, 0x00));
            acc1 = _mm256_xor_si256(acc1, _mm256_clmulepi64_epi128(x0, r0, 0x11));
            acc2 = _mm256_xor_si256(acc2, _mm256_clmulepi64_epi128(x1, r1, 0x00));
            acc3 = _mm256_xor_si256(acc3, _mm256_clmulepi64_epi128(x1, r1, 0x11));
        }
        __m256i h = _mm256_xor_si256(_mm256_xor_si256(acc0, acc1), _mm256_xor_si256(acc2, acc3));
        __m128i q = _mm_xor_si128(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
        if (j >= k0)
            p[j - k0] = (uint64_t)_mm_cvtsi128_si64(q) ^ prev_hi;
        prev_hi = (uint64_t)_mm_extract_epi64(q, 1);
    }
}

int qhw_tz_cpu_vpclmul(int bits)
{
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("vpclmulqdq"))
        return 0;
    return bits == 512 ? __builtin_cpu_supports("avx512f") : __builtin_cpu_supports("avx2");
}
#else
void qhw_tz_middle_vpclmul512(uint64_t *p, const uint64_t *x, size_t nwp, const uint64_t *r,
                              size_t sw, size_t k0, size_t k1)
{
    (void)p, (void)x, (void)nwp, (void)r, (void)sw, (void)k0, (void)k1; /* never selected */
}

void qhw_tz_middle_vpclmul256(uint64_t *p, const uint64_t *x, size_t nwp, const uint64_t *r,
                              size_t sw, size_t k0, size_t k1)
{
    (void)p, (void)x, (void)nwp, (void)r, (void)sw, (void)k0, (void)k1; /* never selected */
}

int qhw_tz_cpu_vpclmul(int bits)
{
    (void)bits;
    return 0;
}
#endif
