/* rng.* configuration: every bad value gives QKS_ERR_CONFIG with a detail naming the key. */
#include <string.h>

#include "helpers.h"

static void expect_config_error(const char *key, const char *value, const char *needle)
{
    QHW_RNG *rng = NULL;
    int rc;

    if (strcmp(key, "rng.source") == 0)
        rc = rng_test_open(&rng, key, value, NULL);
    else
        rc = rng_test_open(&rng, "rng.source", "sim", key, value, NULL);
    CU_ASSERT_EQUAL(rc, QKS_ERR_CONFIG);
    CU_ASSERT_PTR_NULL(rng);
    CU_ASSERT_PTR_NOT_NULL(strstr(qks_last_error(), needle));
    qhw_rng_free(rng);
}

static void test_bad_values(void)
{
    expect_config_error("rng.source", "simulator", "rng.source");
    expect_config_error("rng.source", "device:relative/path", "absolute");
    expect_config_error("rng.source", "device:", "absolute");
    expect_config_error("rng.min_entropy", "abc", "rng.min_entropy");
    expect_config_error("rng.min_entropy", "0", "rng.min_entropy");
    expect_config_error("rng.min_entropy", "1.5", "rng.min_entropy");
    expect_config_error("rng.min_entropy", "nan", "rng.min_entropy");
    expect_config_error("rng.min_entropy", "0.5x", "rng.min_entropy");
    expect_config_error("rng.alpha_log2", "5", "rng.alpha_log2");
    expect_config_error("rng.alpha_log2", "thirty", "rng.alpha_log2");
    expect_config_error("rng.eps_log2", "1000", "rng.eps_log2");
    expect_config_error("rng.timeout_ms", "0", "rng.timeout_ms");
    expect_config_error("rng.extractor", "md5", "rng.extractor");
    expect_config_error("rng.diqrng_visibility", "1.2", "rng.diqrng_visibility");
    expect_config_error("rng.diqrng_test_prob", "0", "rng.diqrng_test_prob");
    expect_config_error("rng.toeplitz_seed_file", "seed.bin", "rng.toeplitz_seed_file");
}

static void test_no_source(void)
{
    QHW_RNG *rng = NULL;

    /* a QKD-only context has no [rng]: not a config error, just no RNG */
    CU_ASSERT_EQUAL(rng_test_open(&rng, "rng.min_entropy", "0.5", NULL), QKS_ERR_UNSUPPORTED);
    CU_ASSERT_PTR_NULL(rng);
    CU_ASSERT_PTR_NOT_NULL(strstr(qks_last_error(), "rng.source"));
}

static void test_good_values(void)
{
    QHW_RNG_PARAMS p;
    QKS_CONFIG *cfg = rng_test_config("rng.source", "device:/dev/hwrng", "rng.min_entropy", " 0.25",
                                      "rng.alpha_log2", "40", "rng.timeout_ms", "150", NULL);

    CU_ASSERT_EQUAL(qhw_rng_params_load(cfg, &p), QKS_OK);
    CU_ASSERT_EQUAL(p.kind, QHW_SRC_DEVICE);
    CU_ASSERT_STRING_EQUAL(p.path, "/dev/hwrng");
    CU_ASSERT_DOUBLE_EQUAL(p.min_entropy, 0.25, 1e-12);
    CU_ASSERT_EQUAL(p.min_entropy_set, 1);
    CU_ASSERT_EQUAL(p.alpha_log2, 40);
    CU_ASSERT_EQUAL(p.timeout_ms, 150);
    CU_ASSERT_EQUAL(p.extractor, QHW_EXT_SHA256);
    CU_ASSERT_EQUAL(p.eps_log2, 100);
    qks_config_free(cfg);
}

int rng_suite_config(void)
{
    CU_pSuite s = CU_add_suite("rng_config", NULL, NULL);

    if (s == NULL || !CU_add_test(s, "bad values name the key", test_bad_values) ||
        !CU_add_test(s, "no rng.source: no RNG", test_no_source) ||
        !CU_add_test(s, "good values parsed", test_good_values))
        return CU_get_error();
    return CUE_SUCCESS;
}
