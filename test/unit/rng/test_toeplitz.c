/*
 * Toeplitz extractor: known answers (hand-worked and from an independent Python
 * implementation of T[i][j] = s[i - j + n - 1]), and every kernel this CPU has (VPCLMULQDQ 512 and
 * 256, PCLMULQDQ, portable: the portable one always) equal to the plain O(nm) definition on random
 * inputs, including the Karatsuba path for large n. Kernels the CPU lacks are refused.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "helpers.h"

/* SHA-256(label || counter) blocks, as the Python generator of the KATs did */
static void stream(const char *label, unsigned char *out, size_t n)
{
    unsigned char blk[64], md[32];
    size_t ll = strlen(label);
    unsigned int mdlen;

    memcpy(blk, label, ll);
    for (uint32_t c = 0; n > 0; c++) {
        blk[ll] = (unsigned char)(c >> 24);
        blk[ll + 1] = (unsigned char)(c >> 16);
        blk[ll + 2] = (unsigned char)(c >> 8);
        blk[ll + 3] = (unsigned char)c;
        EVP_Digest(blk, ll + 4, md, &mdlen, EVP_sha256(), NULL);
        size_t k = n < 32 ? n : 32;
        memcpy(out, md, k);
        out += k;
        n -= k;
    }
}

static void hex(const unsigned char *b, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", b[i]);
}

static void test_reference_by_hand(void)
{
    /* s = 0,1,1,0,1 and x = 1,0,1,1: y0 = s3x0+s2x1+s1x2+s0x3 = 1, y1 = s4x0+s3x1+s2x2+s1x3 = 1 */
    const unsigned char seed[1] = {0x16}, in[1] = {0x0d};
    unsigned char out[1];

    qhw_toeplitz_reference(seed, 4, 2, in, out);
    CU_ASSERT_EQUAL(out[0], 0x03);
}

static void kat(size_t n, size_t m, const char *expect, QHW_TZ_KERNEL k)
{
    size_t sb = qhw_toeplitz_seed_bytes(n, m);
    unsigned char *seed = malloc(sb), *in = malloc((n + 7) / 8), *out = malloc((m + 7) / 8);
    unsigned char md[32];
    unsigned int mdlen;
    char got[65];
    QHW_TOEPLITZ *t = NULL;

    stream("qkey toeplitz seed", seed, sb);
    stream("qkey toeplitz input", in, (n + 7) / 8);
    CU_ASSERT_EQUAL_FATAL(qhw_toeplitz_new(n, m, seed, sb, &t), QKS_OK);
    if (!qhw_toeplitz_use_kernel(t, k)) {
        CU_ASSERT_FALSE(qhw_toeplitz_cpu_has(k));
        qhw_toeplitz_free(t);
        free(seed), free(in), free(out);
        return; /* not on this CPU: the others are tested */
    }
    CU_ASSERT_EQUAL(qhw_toeplitz_kernel(t), k);
    CU_ASSERT_EQUAL(qhw_toeplitz_extract(t, in, m, out), QKS_OK);
    if (m <= 64) {
        hex(out, (m + 7) / 8, got);
    } else {
        EVP_Digest(out, (m + 7) / 8, md, &mdlen, EVP_sha256(), NULL);
        hex(md, 32, got);
    }
    CU_ASSERT_STRING_EQUAL(got, expect);
    qhw_toeplitz_free(t);
    free(seed), free(in), free(out);
}

static void test_kats(void)
{
    for (int hw = 0; hw < QHW_TZ_NKERNELS; hw++) {
        kat(128, 64, "3b38871c926abd3e", hw);
        kat(1000, 700, "8caa26e51dd5b99797d7a42d62f46e68926a80dbbd3270a7543d222d3ec6e1de", hw);
        kat(4096, 3036, "63deb2e6790d4796667594b5196deed729cce11b53bce860631c8e4a04205e96", hw);
        kat(20000, 5000, "943298fb28722ad229572f38c4366e142da6c15f7a8216db09b7812e49119445", hw);
    }
}

/* Random seeds and inputs: both kernels equal the definition (its first `check` bits when the
 * O(nm) reference would be too slow: y's prefix does not depend on m). */
static void equal_case(size_t n, size_t m, size_t check)
{
    size_t sb = qhw_toeplitz_seed_bytes(n, m);
    unsigned char *seed = malloc(sb), *in = malloc((n + 7) / 8);
    unsigned char *soft = calloc(1, (m + 7) / 8), *hw = calloc(1, (m + 7) / 8);
    unsigned char *ref = calloc(1, (check + 7) / 8);
    QHW_TOEPLITZ *t = NULL;

    rng_test_random(seed, sb);
    rng_test_random(in, (n + 7) / 8);
    CU_ASSERT_EQUAL_FATAL(qhw_toeplitz_new(n, m, seed, sb, &t), QKS_OK);
    CU_ASSERT_TRUE(qhw_toeplitz_use_kernel(t, QHW_TZ_PORTABLE));
    CU_ASSERT_EQUAL(qhw_toeplitz_extract(t, in, m, soft), QKS_OK);
    for (int impl = 1; impl < QHW_TZ_NKERNELS; impl++)
        if (qhw_toeplitz_use_kernel(t, (QHW_TZ_KERNEL)impl)) {
            memset(hw, 0, (m + 7) / 8);
            CU_ASSERT_EQUAL(qhw_toeplitz_extract(t, in, m, hw), QKS_OK);
            CU_ASSERT_EQUAL(memcmp(soft, hw, (m + 7) / 8), 0);
        }
    qhw_toeplitz_use_kernel(t, qhw_toeplitz_best_kernel());
    /* the reference on the same seed (its first check + n - 1 bits matter) */
    qhw_toeplitz_reference(seed, n, check, in, ref);
    if (check % 8)
        soft[check / 8] &= (unsigned char)((1u << (check % 8)) - 1);
    CU_ASSERT_EQUAL(memcmp(soft, ref, (check + 7) / 8), 0);
    /* a smaller m gives the prefix */
    if (m > 10) {
        memset(hw, 0, (m + 7) / 8);
        CU_ASSERT_EQUAL(qhw_toeplitz_extract(t, in, m - 9, hw), QKS_OK);
        qhw_toeplitz_reference(seed, n, m - 9 < check ? m - 9 : check, in, ref);
        CU_ASSERT_EQUAL(memcmp(hw, ref, ((m - 9 < check ? m - 9 : check)) / 8), 0);
    }
    qhw_toeplitz_free(t);
    free(seed), free(in), free(soft), free(hw), free(ref);
}

static void test_equal_reference(void)
{
    static const size_t cases[][3] = {
        {128, 1, 1},          {128, 128, 128},      {130, 3, 3},       {4097, 64, 64},
        {129, 65, 65},        {191, 100, 100},      {1000, 999, 999},  {4096, 3036, 3036},
        {5000, 123, 123},     {16384, 2000, 2000},  {16448, 700, 700}, /* 257 words: Karatsuba path
                                                                        */
        {100000, 60000, 200}, {300000, 1000, 1000},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        equal_case(cases[i][0], cases[i][1], cases[i][2]);
}

/* The vector kernels' (pclmul, vpclmul-256, vpclmul-512) transposed Karatsuba split, forced to
 * every shape (base block, depth, several tiles with padded rows and input words): output equal
 * to the portable kernel, which equal_case ties to the definition. Kernels the CPU lacks are
 * skipped. */
static void split_case(size_t n, size_t m)
{
    static const size_t splits[][2] = {{0, 0},  {16, 1}, {16, 2}, {16, 3}, {16, 5},
                                       {32, 1}, {32, 2}, {48, 1}, {64, 2}, {80, 1}};
    size_t sb = qhw_toeplitz_seed_bytes(n, m), base, levels;
    unsigned char *seed = malloc(sb), *in = malloc((n + 7) / 8);
    unsigned char *soft = calloc(1, (m + 7) / 8), *hw = calloc(1, (m + 7) / 8);
    QHW_TOEPLITZ *t = NULL;

    rng_test_random(seed, sb);
    rng_test_random(in, (n + 7) / 8);
    CU_ASSERT_EQUAL_FATAL(qhw_toeplitz_new(n, m, seed, sb, &t), QKS_OK);
    CU_ASSERT_TRUE(qhw_toeplitz_use_kernel(t, QHW_TZ_PORTABLE));
    CU_ASSERT_EQUAL(qhw_toeplitz_extract(t, in, m, soft), QKS_OK);
    for (int k = QHW_TZ_PCLMUL; k <= QHW_TZ_VPCLMUL512; k++) {
        if (!qhw_toeplitz_use_kernel(t, (QHW_TZ_KERNEL)k))
            continue;
        for (size_t i = 0; i < 2 * sizeof(splits) / sizeof(splits[0]); i++) {
            const size_t *sp = splits[i / 2];
            int tree = i % 2, has_tree;
            CU_ASSERT_EQUAL_FATAL(qhw_toeplitz_set_split(t, sp[0], sp[1], tree), QKS_OK);
            qhw_toeplitz_get_split(t, &base, &levels, &has_tree);
            CU_ASSERT_EQUAL(levels, sp[1]);
            CU_ASSERT_EQUAL(has_tree, tree && sp[1] > 0);
            memset(hw, 0, (m + 7) / 8);
            CU_ASSERT_EQUAL(qhw_toeplitz_extract(t, in, m, hw), QKS_OK);
            if (memcmp(soft, hw, (m + 7) / 8) != 0)
                fprintf(stderr, "n %zu m %zu kernel %s split %zu x %zu tree %d: differs\n", n, m,
                        qhw_toeplitz_kernel_name((QHW_TZ_KERNEL)k), sp[0], sp[1], tree);
            CU_ASSERT_EQUAL(memcmp(soft, hw, (m + 7) / 8), 0);
            /* a smaller m with the same split: the prefix */
            memset(hw, 0, (m + 7) / 8);
            CU_ASSERT_EQUAL(qhw_toeplitz_extract(t, in, m / 3 + 1, hw), QKS_OK);
            CU_ASSERT_EQUAL(memcmp(soft, hw, (m / 3 + 1) / 8), 0);
        }
    }
    CU_ASSERT_EQUAL(qhw_toeplitz_set_split(t, 20, 2, 1),
                    QKS_ERR_INVALID); /* not a multiple of 16 */
    qhw_toeplitz_free(t);
    free(seed), free(in), free(soft), free(hw);
}

static void test_split(void)
{
    static const size_t cases[][2] = {{128, 1},       {128, 128},    {1000, 999},
                                      {4096, 3035},   {5000, 123},   {8191, 8191},
                                      {16384, 12743}, {20000, 5000}, {65536, 51573}};
    size_t base, levels;
    int tree;
    QHW_TOEPLITZ *t = NULL;
    static unsigned char seed[(65536 + 51573 + 7) / 8];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        split_case(cases[i][0], cases[i][1]);
    /* the plan follows m (a DIQRNG block asks for a different m each time, m_max = n) */
    for (size_t n = 20000; n <= 80000; n += 60000) {
        size_t sb = qhw_toeplitz_seed_bytes(n, n);
        unsigned char *sd = malloc(sb), *in = malloc(n / 8), *a = malloc(n / 8), *b = malloc(n / 8);
        static const double ms[] = {0.25, 1.0, 0.5, 0.01, 0.26};
        rng_test_random(sd, sb);
        rng_test_random(in, n / 8);
        CU_ASSERT_EQUAL_FATAL(qhw_toeplitz_new(n, n, sd, sb, &t), QKS_OK);
        for (size_t i = 0; i < sizeof(ms) / sizeof(ms[0]); i++) {
            size_t m = (size_t)(ms[i] * (double)n) / 8 * 8;
            CU_ASSERT_TRUE(qhw_toeplitz_use_kernel(t, qhw_toeplitz_best_kernel()));
            CU_ASSERT_EQUAL(qhw_toeplitz_extract(t, in, m, a), QKS_OK);
            CU_ASSERT_TRUE(qhw_toeplitz_use_kernel(t, QHW_TZ_PORTABLE));
            CU_ASSERT_EQUAL(qhw_toeplitz_extract(t, in, m, b), QKS_OK);
            CU_ASSERT_EQUAL(memcmp(a, b, m / 8), 0);
        }
        qhw_toeplitz_free(t);
        free(sd), free(in), free(a), free(b);
    }
    /* the default plan splits large inputs (so the cases above are the ones in use) */
    CU_ASSERT_EQUAL_FATAL(qhw_toeplitz_new(65536, 51573, seed, sizeof(seed), &t), QKS_OK);
    qhw_toeplitz_get_split(t, &base, &levels, &tree);
    CU_ASSERT_TRUE(levels >= 2);
    CU_ASSERT_TRUE(tree);
    qhw_toeplitz_free(t);
}

/* The transposed Karatsuba recursion on its own, with portable ops (so it runs on any CPU):
 * equal to the plain rows product for every depth, with and without a seed tree, in scratch
 * and tree buffers of exactly the advertised sizes (heap: the ASan build sees any overrun). */
static void clmul64(uint64_t a, uint64_t b, uint64_t *lo, uint64_t *hi)
{
    uint64_t l = 0, h = 0;

    for (unsigned i = 0; i < 64; i++)
        if ((b >> i) & 1) {
            l ^= a << i;
            h ^= i ? a >> (64 - i) : 0;
        }
    *lo = l, *hi = h;
}

static void rows_soft(uint64_t *q, const uint64_t *x, size_t nx, const uint64_t *R, size_t rows)
{
    for (size_t i = 0; i < rows; i++)
        for (size_t a = 0; a < nx; a++) {
            uint64_t lo, hi;
            clmul64(x[a], R[(ptrdiff_t)a - (ptrdiff_t)i], &lo, &hi);
            q[2 * i] ^= lo;
            q[2 * i + 1] ^= hi;
        }
}

static void xor_soft(uint64_t *d, const uint64_t *a, const uint64_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        d[i] = a[i] ^ b[i];
}

static void test_tkara_portable(void)
{
    static const QHW_TZ_OPS ops = {rows_soft, xor_soft};

    for (size_t S = 16; S <= 256; S *= 2)
        for (int with_tree = 0; with_tree <= 1; with_tree++) {
            uint64_t *x = malloc(S * 8), *rb = malloc((2 * S - 1) * 8), *R = rb + S - 1;
            uint64_t *q1 = calloc(2 * S, 8), *q2 = calloc(2 * S, 8);
            uint64_t *scr = malloc(qhw_tz_scratch_used(S, with_tree) * 8);
            size_t tw = qhw_tz_tree_words(16, S);
            uint64_t *tree = with_tree && tw ? malloc(tw * 8) : NULL;

            rng_test_random((unsigned char *)x, S * 8);
            rng_test_random((unsigned char *)rb, (2 * S - 1) * 8);
            rng_test_random((unsigned char *)q1, 2 * S * 8); /* it accumulates into q */
            memcpy(q2, q1, 2 * S * 8);
            rows_soft(q1, x, S, R, S);
            if (tree != NULL)
                qhw_tz_tree_build(&ops, tree, R, S, 16);
            qhw_tz_tkara(&ops, 16, q2, x, R, S, tree, scr);
            CU_ASSERT_EQUAL(memcmp(q1, q2, 2 * S * 8), 0);
            free(x), free(rb), free(q1), free(q2), free(scr), free(tree);
        }
}

static void test_bad_sizes(void)
{
    unsigned char seed[64] = {0};
    QHW_TOEPLITZ *t = NULL;

    CU_ASSERT_EQUAL(qhw_toeplitz_new(64, 10, seed, sizeof(seed), &t), QKS_ERR_INVALID);
    CU_ASSERT_EQUAL(qhw_toeplitz_new(256, 300, seed, sizeof(seed), &t), QKS_ERR_INVALID);
    CU_ASSERT_EQUAL(qhw_toeplitz_new(256, 200, seed, 10, &t), QKS_ERR_INVALID);
    CU_ASSERT_PTR_NULL(t);
    CU_ASSERT_EQUAL(qhw_lhl_output_bits(100.0, 100), 0);
    CU_ASSERT_EQUAL(qhw_lhl_output_bits(6471.5, 100), 6271);
}

int rng_suite_toeplitz(void)
{
    CU_pSuite s = CU_add_suite("rng_toeplitz", NULL, NULL);

    if (s == NULL || !CU_add_test(s, "reference by hand", test_reference_by_hand) ||
        !CU_add_test(s, "known answers (both kernels)", test_kats) ||
        !CU_add_test(s, "kernels equal the definition", test_equal_reference) ||
        !CU_add_test(s, "transposed Karatsuba splits equal the portable kernel", test_split) ||
        !CU_add_test(s, "transposed Karatsuba recursion, portable ops", test_tkara_portable) ||
        !CU_add_test(s, "bad sizes refused, LHL length", test_bad_sizes))
        return CU_get_error();
    return CUE_SUCCESS;
}
