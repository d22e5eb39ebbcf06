/*
 * Toeplitz-hashing extractor: y = T x over GF(2), T the m x n Toeplitz matrix
 * T[i][j] = s[i - j + n - 1] defined by n + m - 1 seed bits. By the leftover hash lemma, if x
 * has min-entropy k then y (m = k - 2 log2(1/eps) bits) is eps-close to uniform.
 *
 * y_i is the coefficient of z^(n-1+i) in S(z) X(z), so T x is the middle slice of a carry-less
 * product. The fastest kernel the CPU has is chosen at run time: VPCLMULQDQ on 512- or 256-bit
 * registers or PCLMULQDQ (toeplitz_simd.c: on the reversed seed, schoolbook for small n, the
 * transposed Karatsuba of toeplitz_tkara.c for large n), else the template kernels below
 * (portable shift-and-xor or one PCLMULQDQ per word pair: schoolbook with 128-bit accumulators,
 * Karatsuba on 1,024-word chunks for large n). All are tested equal to a plain O(nm) bit-by-bit
 * reference.
 * Bit order everywhere: bit j of a byte string is bit j % 8 of byte j / 8.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "qkey/secmem.h"
#include "internal.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define QHW_HAVE_PCLMUL_BUILD 1
#endif

/* ---- the two kernels -------------------------------------------------------------------- */
typedef struct {
    uint64_t lo, hi;
} ACC_SOFT;

static inline void clmul_soft(ACC_SOFT *acc, uint64_t a, uint64_t b)
{
    uint64_t l = 0, h = 0;

    for (unsigned i = 0; i < 64; i++) {
        uint64_t mask = 0 - ((b >> i) & 1);
        l ^= (a << i) & mask;
        h ^= (i ? a >> (64 - i) : 0) & mask;
    }
    acc->lo ^= l;
    acc->hi ^= h;
}

#define TK_SUFFIX _soft
#define TK_ATTR
#define TK_ACC ACC_SOFT
#define TK_ZERO                                                                                    \
    {                                                                                              \
        0, 0                                                                                       \
    }
#define TK_MULACC(acc, a, b) clmul_soft(&(acc), (a), (b))
#define TK_LO(acc)           ((acc).lo)
#define TK_HI(acc)           ((acc).hi)
#include "toeplitz_kernel.h"
#undef TK_SUFFIX
#undef TK_ATTR
#undef TK_ACC
#undef TK_ZERO
#undef TK_MULACC
#undef TK_LO
#undef TK_HI

#ifdef QHW_HAVE_PCLMUL_BUILD
#define TK_SUFFIX _pclmul
#define TK_ATTR   __attribute__((target("pclmul,sse4.1")))
#define TK_ACC    __m128i
#define TK_ZERO   _mm_setzero_si128()
#define TK_MULACC(acc, a, b)                                                                       \
    ((acc) = _mm_xor_si128((acc), _mm_clmulepi64_si128(_mm_cvtsi64_si128((long long)(a)),          \
                                                       _mm_cvtsi64_si128((long long)(b)), 0)))
#define TK_LO(acc) ((uint64_t)_mm_cvtsi128_si64(acc))
#define TK_HI(acc) ((uint64_t)_mm_extract_epi64((acc), 1))
#include "toeplitz_kernel.h"
#undef TK_SUFFIX
#undef TK_ATTR
#undef TK_ACC
#undef TK_ZERO
#undef TK_MULACC
#undef TK_LO
#undef TK_HI

#endif

static int cpu_has_pclmul(void)
{
#ifdef QHW_HAVE_PCLMUL_BUILD
    __builtin_cpu_init();
    return __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("avx");
#else
    return 0;
#endif
}

int qhw_toeplitz_cpu_has(QHW_TZ_KERNEL k)
{
    switch (k) {
    case QHW_TZ_PORTABLE:
        return 1;
    case QHW_TZ_PCLMUL1:
    case QHW_TZ_PCLMUL:
        return cpu_has_pclmul();
    case QHW_TZ_VPCLMUL256:
        return cpu_has_pclmul() && qhw_tz_cpu_vpclmul(256);
    case QHW_TZ_VPCLMUL512:
        return cpu_has_pclmul() && qhw_tz_cpu_vpclmul(512);
    }
    return 0;
}

QHW_TZ_KERNEL qhw_toeplitz_best_kernel(void)
{
    for (int k = QHW_TZ_NKERNELS - 1; k > 0; k--)
        if (qhw_toeplitz_cpu_has((QHW_TZ_KERNEL)k))
            return (QHW_TZ_KERNEL)k;
    return QHW_TZ_PORTABLE;
}

const char *qhw_toeplitz_kernel_name(QHW_TZ_KERNEL k)
{
    static const char *const names[QHW_TZ_NKERNELS] = {"portable", "pclmul-1", "pclmul",
                                                       "vpclmul-256", "vpclmul-512"};
    return (unsigned)k < QHW_TZ_NKERNELS ? names[k] : "?";
}

/* ---- the extractor object --------------------------------------------------------------- */
#define KARA_CHUNK     1024              /* words per Karatsuba chunk */
#define SCHOOL_MAX     256               /* input words up to which the schoolbook slice is used */
#define TREE_MAX_WORDS ((size_t)1 << 20) /* 8 MiB of precomputed seed trees at most */

struct qhw_toeplitz_st {
    size_t n, m_max; /* bits */
    size_t nw;       /* input words */
    uint64_t *sp;    /* seed words with one zero word in front: sp[b + 1] = s[b] */
    size_t spw;
    size_t sw; /* seed words */
    /* vector kernels: r[i] = s[sw - 1 - i], readable (zero) from r[-rfront] to r[sw + rback) */
    uint64_t *rbuf, *r;
    size_t rfront, rback;
    QHW_TZ_PLAN plan;
    uint64_t *q; /* 128-bit row results, 2 words each (secret) */
    size_t qw;
    uint64_t *scr; /* transposed Karatsuba scratch (secret) */
    size_t scrw;
    uint64_t *x; /* input words (secret), zero-padded to xw >= nxw words */
    size_t nxw, xw;
    size_t rows;      /* product words k0 - 1 .. k1 at m_max */
    size_t plan_rows; /* rows the plan was made for */
    uint64_t *tree;   /* seed trees of the plan (public: derived from the seed), or NULL */
    size_t tree_each; /* words per tile diagonal */
    int plan_forced;  /* qhw_toeplitz_set_split: keep it */
    uint64_t *p;      /* product slice (secret) */
    size_t pw;
    uint64_t *tmp; /* Karatsuba scratch (secret) */
    size_t tmpw;
    QHW_TZ_KERNEL kernel;
};

size_t qhw_toeplitz_seed_bytes(size_t n, size_t m_max)
{
    return (n + m_max - 1 + 7) / 8;
}

static void load_bits(uint64_t *w, size_t nwords, const unsigned char *b, size_t nbits)
{
    size_t nbytes = (nbits + 7) / 8;

    memset(w, 0, nwords * sizeof(uint64_t));
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(w, b, nbytes); /* bit j of byte j / 8 is bit j % 64 of word j / 64 */
#else
    for (size_t i = 0; i < nbytes; i++)
        w[i / 8] |= (uint64_t)b[i] << (8 * (i % 8));
#endif
    if (nbits % 64)
        w[nbits / 64] &= ((uint64_t)1 << (nbits % 64)) - 1;
}

void qhw_toeplitz_free(QHW_TOEPLITZ *t)
{
    if (t == NULL)
        return;
    qks_secure_free(t->x, t->xw * sizeof(uint64_t));
    qks_secure_free(t->q, t->qw * sizeof(uint64_t));
    qks_secure_free(t->scr, t->scrw * sizeof(uint64_t));
    qks_secure_free(t->p, t->pw * sizeof(uint64_t));
    qks_secure_free(t->tmp, t->tmpw * sizeof(uint64_t));
    free(t->sp);
    free(t->rbuf);
    free(t->tree);
    free(t);
}

/* Make the vector kernels' buffers fit plan pl for up to `rows` rows (index ranges: see
 * vector_middle). Buffers only grow; on failure the old ones and the old plan stay. */
static int tz_layout(QHW_TOEPLITZ *t, const QHW_TZ_PLAN *pl, size_t rows)
{
    size_t k0 = (t->n - 1) / 64, S = pl->size;
    size_t xw = t->nxw, rfront = 0, rback = QHW_TZ_XPAD, qw = 2 * rows, scrw = 0;
    uint64_t *rbuf = NULL, *x = NULL, *q = NULL, *scr = NULL;

    if (pl->levels > 0) {
        xw = pl->tc * S > xw ? pl->tc * S : xw;
        rfront = pl->tr * S + k0 > t->sw + 1 ? pl->tr * S + k0 - t->sw - 1 : 0;
        rback = pl->tc * S > k0 + rback ? pl->tc * S - k0 : rback;
        qw = 2 * pl->tr * S;
        scrw = qhw_tz_scratch_words(S);
    }
    if (xw <= t->xw && rfront <= t->rfront && rback <= t->rback && qw <= t->qw && scrw <= t->scrw) {
        t->plan = *pl;
        return QKS_OK;
    }
#define TZ_MAX(a, b) ((a) > (b) ? (a) : (b))
    xw = TZ_MAX(xw, t->xw), rfront = TZ_MAX(rfront, t->rfront), rback = TZ_MAX(rback, t->rback);
    qw = TZ_MAX(qw, t->qw), scrw = TZ_MAX(scrw, t->scrw);
#undef TZ_MAX
    rbuf = calloc(rfront + t->sw + rback, sizeof(uint64_t));
    x = qks_secure_alloc(xw * sizeof(uint64_t));
    q = qks_secure_alloc(qw * sizeof(uint64_t));
    scr = scrw ? qks_secure_alloc(scrw * sizeof(uint64_t)) : NULL;
    if (rbuf == NULL || x == NULL || q == NULL || (scrw && scr == NULL)) {
        free(rbuf);
        qks_secure_free(x, xw * sizeof(uint64_t));
        qks_secure_free(q, qw * sizeof(uint64_t));
        qks_secure_free(scr, scrw * sizeof(uint64_t));
        return qks_set_error(QKS_ERR_NOMEM, "Toeplitz extractor: out of memory (n = %zu)", t->n);
    }
    for (size_t i = 0; i < t->sw; i++)
        rbuf[rfront + i] = t->sp[t->sw - i];
    /* publish complete buffers, then free the old ones (a fork in between leaves a child with
     * consistent buffers, at worst a leak; sizes only grow) */
    uint64_t *old_rbuf = t->rbuf, *old_x = t->x, *old_q = t->q, *old_scr = t->scr;
    size_t old_xw = t->xw, old_qw = t->qw, old_scrw = t->scrw;
    t->rbuf = rbuf, t->r = rbuf + rfront, t->x = x, t->q = q, t->scr = scr;
    __asm__ volatile("" ::: "memory");
    t->xw = xw, t->rfront = rfront, t->rback = rback, t->qw = qw, t->scrw = scrw;
    t->plan = *pl;
    __asm__ volatile("" ::: "memory");
    free(old_rbuf);
    qks_secure_free(old_x, old_xw * sizeof(uint64_t));
    qks_secure_free(old_q, old_qw * sizeof(uint64_t));
    qks_secure_free(old_scr, old_scrw * sizeof(uint64_t));
    return QKS_OK;
}

static void xor_plain(uint64_t *d, const uint64_t *a, const uint64_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        d[i] = a[i] ^ b[i];
}

static void drop_tree(QHW_TOEPLITZ *t)
{
    uint64_t *old = t->tree;

    t->tree = NULL;
    __asm__ volatile("" ::: "memory");
    free(old);
}

/* The seed trees of the plan's tiles (one per tile diagonal v - u), if they fit in
 * TREE_MAX_WORDS; without them the seeds are derived during each extraction. */
static void tz_tree(QHW_TOEPLITZ *t)
{
    static const QHW_TZ_OPS build = {NULL, xor_plain};
    const QHW_TZ_PLAN *pl = &t->plan;
    size_t ndiag = pl->tr + pl->tc - 1, k0 = (t->n - 1) / 64, each;
    uint64_t *tree = NULL;

    drop_tree(t);
    if (pl->levels == 0)
        return;
    each = qhw_tz_tree_words(pl->base, pl->size);
    if (each > TREE_MAX_WORDS / ndiag || (tree = malloc(ndiag * each * sizeof(uint64_t))) == NULL)
        return;
    for (size_t i = 0; i < ndiag; i++) { /* diagonal v - u = i - (tr - 1) */
        ptrdiff_t d = (ptrdiff_t)i - (ptrdiff_t)(pl->tr - 1);
        qhw_tz_tree_build(&build, tree + i * each,
                          t->r + (ptrdiff_t)(t->sw - k0) + d * (ptrdiff_t)pl->size, pl->size,
                          pl->base);
    }
    t->tree_each = each;
    __asm__ volatile("" ::: "memory");
    t->tree = tree;
}

/* The plan for m output bits (the DIQRNG asks for a different m every block; the plan made at
 * qhw_toeplitz_new is for m_max). */
static int tz_plan_for(QHW_TOEPLITZ *t, size_t m)
{
    size_t k0 = (t->n - 1) / 64, rows = (t->n + m - 2) / 64 - k0 + 2; /* words k0 - 1 .. k1 */
    QHW_TZ_PLAN pl;
    int rc;

    if (t->plan_forced || rows == t->plan_rows)
        return QKS_OK;
    qhw_tz_plan(&pl, rows, t->nw);
    if (memcmp(&pl, &t->plan, sizeof(pl)) == 0 && (pl.levels > 0 || 2 * rows <= t->qw)) {
        t->plan_rows = rows; /* same plan, buffers big enough (the usual DIQRNG block) */
        return QKS_OK;
    }
    drop_tree(t); /* never a tree of another plan, even in a child forked meanwhile */
    if ((rc = tz_layout(t, &pl, rows)) == QKS_OK)
        t->plan_rows = rows;
    tz_tree(t);
    return rc;
}

int qhw_toeplitz_set_split(QHW_TOEPLITZ *t, size_t base, size_t levels, int seed_tree)
{
    QHW_TZ_PLAN pl = {base, levels, base << levels, 0, 0};

    if (levels > 0 && (base == 0 || base % QHW_TZ_XPAD != 0 || levels > 24))
        return qks_set_error(QKS_ERR_INVALID, "Toeplitz split: base %zu words, %zu levels", base,
                             levels);
    if (levels > 0) {
        pl.tr = (t->rows + pl.size - 1) / pl.size;
        pl.tc = (t->nw + pl.size - 1) / pl.size;
    }
    drop_tree(t);
    if (tz_layout(t, &pl, t->rows) != QKS_OK) {
        tz_tree(t);
        return QKS_ERR_NOMEM;
    }
    t->plan_forced = 1;
    tz_tree(t);
    if (!seed_tree) {
        free(t->tree);
        t->tree = NULL;
    }
    return QKS_OK;
}

void qhw_toeplitz_get_split(const QHW_TOEPLITZ *t, size_t *base, size_t *levels, int *seed_tree)
{
    *base = t->plan.base;
    *levels = t->plan.levels;
    *seed_tree = t->tree != NULL;
}

int qhw_toeplitz_new(size_t n, size_t m_max, const unsigned char *seed, size_t seed_bytes,
                     QHW_TOEPLITZ **out)
{
    QHW_TOEPLITZ *t;
    size_t sbits = n + m_max - 1, k0 = (n - 1) / 64;
    int rc;

    *out = NULL;
    if (n < 128 || m_max < 1 || m_max > n || seed_bytes < qhw_toeplitz_seed_bytes(n, m_max))
        return qks_set_error(QKS_ERR_INVALID,
                             "Toeplitz extractor: n = %zu, m = %zu, seed %zu bytes: need n >= "
                             "128, 1 <= m <= n and %zu seed bytes",
                             n, m_max, seed_bytes, qhw_toeplitz_seed_bytes(n, m_max));
    if ((t = calloc(1, sizeof(*t))) == NULL)
        return qks_set_error(QKS_ERR_NOMEM, "Toeplitz extractor: out of memory");
    t->n = n;
    t->m_max = m_max;
    t->nw = (n + 63) / 64;
    t->nxw = (t->nw + QHW_TZ_XPAD - 1) / QHW_TZ_XPAD * QHW_TZ_XPAD;
    t->sw = (sbits + 63) / 64;
    t->spw = t->sw + 2;
    t->pw = (m_max + 63) / 64 + 2;
    t->rows = (n + m_max - 2) / 64 - k0 + 2; /* product words k0 - 1 .. k1 */
    t->tmpw = t->nw > SCHOOL_MAX ? 8 * KARA_CHUNK : 0;
    t->sp = calloc(t->spw, sizeof(uint64_t));
    t->p = qks_secure_alloc(t->pw * sizeof(uint64_t));
    t->tmp = t->tmpw ? qks_secure_alloc(t->tmpw * sizeof(uint64_t)) : NULL;
    if (t->sp == NULL || t->p == NULL || (t->tmpw && t->tmp == NULL)) {
        qhw_toeplitz_free(t);
        return qks_set_error(QKS_ERR_NOMEM, "Toeplitz extractor: out of memory (n = %zu)", n);
    }
    load_bits(t->sp + 1, t->sw, seed, sbits);
    if ((rc = tz_plan_for(t, m_max)) != QKS_OK) {
        qhw_toeplitz_free(t);
        return rc;
    }
    t->kernel = qhw_toeplitz_best_kernel();
    *out = t;
    return QKS_OK;
}

int qhw_toeplitz_use_kernel(QHW_TOEPLITZ *t, QHW_TZ_KERNEL k)
{
    if (!qhw_toeplitz_cpu_has(k))
        return 0;
    t->kernel = k;
    return 1;
}

QHW_TZ_KERNEL qhw_toeplitz_kernel(const QHW_TOEPLITZ *t)
{
    return t->kernel;
}

#ifdef QHW_HAVE_PCLMUL_BUILD
/* Product words k0 .. k1 into p[] by the vector kernels: rows i = 0 .. k1 - k0 + 1 are product
 * words j = k0 - 1 + i; row i reads R0[a - i] = r[sw - k0 + a - i] = s[j - a]. Tile (u, v) of
 * size S covers rows u S .. and input words v S ..: base R0 + (v - u) S, reading
 * r[sw - k0 + (v - u) S - (S - 1) .. sw - k0 + (v - u) S + S - 1], inside the padding of r. */
static void vector_middle(QHW_TOEPLITZ *t, size_t k0, size_t k1)
{
    static const QHW_TZ_OPS ops512 = {qhw_tz_rows_vpclmul512, qhw_tz_xor_avx512},
                            ops256 = {qhw_tz_rows_vpclmul256, qhw_tz_xor_avx2},
                            ops128 = {qhw_tz_rows_pclmul, qhw_tz_xor_sse2};
    const QHW_TZ_OPS *ops = t->kernel == QHW_TZ_VPCLMUL512   ? &ops512
                            : t->kernel == QHW_TZ_VPCLMUL256 ? &ops256
                                                             : &ops128;
    const uint64_t *R0 = t->r + (t->sw - k0);
    size_t rows = k1 - k0 + 2, S = t->plan.size, qw;

    if (t->plan.levels == 0) {
        qw = 2 * rows;
        memset(t->q, 0, qw * sizeof(uint64_t));
        ops->rows(t->q, t->x, t->nxw, R0, rows);
    } else {
        size_t tr = (rows + S - 1) / S;
        qw = 2 * tr * S;
        memset(t->q, 0, qw * sizeof(uint64_t));
        for (size_t u = 0; u < tr; u++)
            for (size_t v = 0; v < t->plan.tc; v++)
                qhw_tz_tkara(ops, t->plan.base, t->q + 2 * u * S, t->x + v * S, R0 + v * S - u * S,
                             S, t->tree ? t->tree + (v + t->plan.tr - 1 - u) * t->tree_each : NULL,
                             t->scr);
        qks_wipe(t->scr, qhw_tz_scratch_used(S, t->tree != NULL) * sizeof(uint64_t));
    }
    for (size_t i = 0; i + 1 < rows; i++) /* word k0 + i = lo(row i + 1) ^ hi(row i) */
        t->p[i] = t->q[2 * i + 2] ^ t->q[2 * i + 1];
    qks_wipe(t->q, qw * sizeof(uint64_t));
}
#endif

/* the kernels on the reversed seed (toeplitz_simd.c, transposed Karatsuba for large n) */
static int is_vector(QHW_TZ_KERNEL k)
{
    return k == QHW_TZ_PCLMUL || k == QHW_TZ_VPCLMUL256 || k == QHW_TZ_VPCLMUL512;
}

int qhw_toeplitz_extract(QHW_TOEPLITZ *t, const unsigned char *in, size_t m, unsigned char *out)
{
    const size_t n = t->n, k0 = (n - 1) / 64, k1 = (n + m - 2) / 64, shift = (n - 1) % 64;

    int rc;

    if (m < 1 || m > t->m_max)
        return qks_set_error(QKS_ERR_INVALID, "Toeplitz extractor: m = %zu outside [1, %zu]", m,
                             t->m_max);
    if (is_vector(t->kernel) && (rc = tz_plan_for(t, m)) != QKS_OK)
        return rc;
    load_bits(t->x, t->xw, in, n);
#ifdef QHW_HAVE_PCLMUL_BUILD
    if (is_vector(t->kernel))
        vector_middle(t, k0, k1);
    else if (t->kernel == QHW_TZ_PCLMUL1) {
        if (t->nw <= SCHOOL_MAX)
            tk_middle_school_pclmul(t->p, t->x, t->nw, t->sp, t->spw, k0, k1);
        else
            tk_middle_kara_pclmul(t->p, t->x, t->nw, t->sp + 1, t->spw - 1, k0, k1, KARA_CHUNK,
                                  t->tmp);
    } else
#endif
    {
        if (t->nw <= SCHOOL_MAX)
            tk_middle_school_soft(t->p, t->x, t->nw, t->sp, t->spw, k0, k1);
        else
            tk_middle_kara_soft(t->p, t->x, t->nw, t->sp + 1, t->spw - 1, k0, k1, KARA_CHUNK,
                                t->tmp);
    }
    /* out bit i = product bit n - 1 + i = bit shift + i of p[]: shift whole words, in place */
    for (size_t w = 0; w < (m + 63) / 64; w++) {
        uint64_t v = t->p[w] >> shift;
        if (shift != 0 && w + 1 <= k1 - k0)
            v |= t->p[w + 1] << (64 - shift);
        t->p[w] = v;
    }
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(out, t->p, (m + 7) / 8);
#else
    for (size_t i = 0; i < (m + 7) / 8; i++)
        out[i] = (unsigned char)(t->p[i / 8] >> (8 * (i % 8)));
#endif
    if (m % 8)
        out[m / 8] &= (unsigned char)((1u << (m % 8)) - 1);
    qks_wipe(t->x, t->xw * sizeof(uint64_t));
    qks_wipe(t->p, t->pw * sizeof(uint64_t));
    return QKS_OK;
}

/* The definition, bit by bit: y_i = XOR_j s[i - j + n - 1] & x_j. O(nm); tests only. */
void qhw_toeplitz_reference(const unsigned char *seed, size_t n, size_t m, const unsigned char *in,
                            unsigned char *out)
{
#define BIT(b, k) (((b)[(k) / 8] >> ((k) % 8)) & 1)
    memset(out, 0, (m + 7) / 8);
    for (size_t i = 0; i < m; i++) {
        unsigned y = 0;
        for (size_t j = 0; j < n; j++)
            y ^= BIT(seed, i + n - 1 - j) & BIT(in, j);
        out[i / 8] |= (unsigned char)(y << (i % 8));
    }
#undef BIT
}

/* Leftover hash lemma: m = floor(k - 2 log2(1/eps)) bits from k bits of min-entropy. */
size_t qhw_lhl_output_bits(double min_entropy_bits, unsigned eps_log2)
{
    double m = min_entropy_bits - 2.0 * eps_log2;
    return m < 1 ? 0 : (size_t)m;
}
