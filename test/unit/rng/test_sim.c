/*
 * The simulated QRNG: its sample distribution has exactly the documented min-entropy, the
 * samples follow that distribution, and two instances (two getrandom keys) differ.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

static void test_table_min_entropy(void)
{
    unsigned counts[256], max = 0, sum = 0;

    qhw_rng_sim_table(counts);
    for (int v = 0; v < 256; v++) {
        sum += counts[v];
        if (counts[v] > max)
            max = counts[v];
    }
    CU_ASSERT_EQUAL(sum, 65536);
    CU_ASSERT_EQUAL(max, 817);
    /* H = -log2(817/65536) = 6.3258 bits per sample; the default claim must not exceed it */
    double h = -log2(max / 65536.0);
    CU_ASSERT_DOUBLE_EQUAL(h, 6.3258, 0.0001);
    CU_ASSERT(QHW_SIM_MIN_ENTROPY * 8 <= h);
    CU_ASSERT(QHW_SIM_MIN_ENTROPY * 8 > h - 0.01);
}

/* 10^6 samples: each value's frequency within 5 standard deviations of its table probability
 * and the mean near 127.5 + 0.5 (floor of N(128, 32^2)). */
static void test_samples_follow_table(void)
{
    QHW_RNG_PARAMS p = {.kind = QHW_SRC_SIM};
    QHW_RNG_SOURCE *src = NULL;
    unsigned counts[256];
    unsigned long seen[256] = {0};
    const size_t n = 1000000;
    unsigned char *s = malloc(n);
    double mean = 0;
    int bad = 0;

    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    qhw_rng_sim_table(counts);
    CU_ASSERT_EQUAL_FATAL(qhw_rng_sim_open(&p, &src), QKS_OK);
    CU_ASSERT_EQUAL(src->sample_bits, 8);
    CU_ASSERT_EQUAL(src->meth->read(src, s, n), QKS_OK);
    for (size_t i = 0; i < n; i++) {
        seen[s[i]]++;
        mean += s[i];
    }
    mean /= n;
    for (int v = 0; v < 256; v++) {
        double pv = counts[v] / 65536.0;
        double sd = sqrt(n * pv * (1 - pv));
        if (fabs(seen[v] - n * pv) > 5 * sd + 1)
            bad++;
    }
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_DOUBLE_EQUAL(mean, 127.5, 0.2);
    src->meth->free(src);
    free(s);
}

static void test_instances_differ(void)
{
    QHW_RNG_PARAMS p = {.kind = QHW_SRC_SIM};
    QHW_RNG_SOURCE *a = NULL, *b = NULL;
    unsigned char sa[4096], sb[4096];

    CU_ASSERT_EQUAL_FATAL(qhw_rng_sim_open(&p, &a), QKS_OK);
    CU_ASSERT_EQUAL_FATAL(qhw_rng_sim_open(&p, &b), QKS_OK);
    CU_ASSERT_EQUAL(a->meth->read(a, sa, sizeof(sa)), QKS_OK);
    CU_ASSERT_EQUAL(b->meth->read(b, sb, sizeof(sb)), QKS_OK);
    CU_ASSERT_NOT_EQUAL(memcmp(sa, sb, sizeof(sa)), 0);
    /* re-keying (what a forked child does) changes the stream too */
    CU_ASSERT_EQUAL(a->meth->after_fork(a), QKS_OK);
    CU_ASSERT_EQUAL(a->meth->read(a, sb, sizeof(sb)), QKS_OK);
    CU_ASSERT_NOT_EQUAL(memcmp(sa, sb, sizeof(sa)), 0);
    a->meth->free(a);
    b->meth->free(b);
}

int rng_suite_sim(void)
{
    CU_pSuite s = CU_add_suite("rng_sim", NULL, NULL);

    if (s == NULL || !CU_add_test(s, "table min-entropy is documented", test_table_min_entropy) ||
        !CU_add_test(s, "samples follow the table", test_samples_follow_table) ||
        !CU_add_test(s, "instances and re-keys differ", test_instances_differ))
        return CU_get_error();
    return CUE_SUCCESS;
}
