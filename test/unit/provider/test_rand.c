/*
 * EVP_RAND "QRNG" and the provider's own parameters: the seed source answers like a seed
 * source (state, strength >= 256, max_request), a library context configured with
 * `[random] seed = QRNG` draws its primary DRBG's seed from it (the qkey-seed-calls counter
 * grows on a forced reseed), and a rejected configuration fails every use with its reason
 * instead of leaving OpenSSL to seed from the OS.
 * Usage: test_rand PATH/TO/qkey.so
 */
#include <stdio.h>
#include <string.h>

#include <CUnit/Basic.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/provider.h>
#include <openssl/rand.h>

#include "helpers.h"

static OSSL_LIB_CTX *lib_a, *lib_bad, *lib_nodev;

static void test_qrng_as_seed_source(void)
{
    EVP_RAND *rand = EVP_RAND_fetch(lib_a, "QRNG", NULL);
    EVP_RAND_CTX *ctx = rand != NULL ? EVP_RAND_CTX_new(rand, NULL) : NULL;
    unsigned char a[64], b[64];

    CU_ASSERT_FATAL(ctx != NULL);
    CU_ASSERT(EVP_RAND_instantiate(ctx, 256, 0, NULL, 0, NULL) == 1);
    CU_ASSERT(EVP_RAND_get_state(ctx) == EVP_RAND_STATE_READY);
    CU_ASSERT(EVP_RAND_get_strength(ctx) >= 256);
    CU_ASSERT(EVP_RAND_generate(ctx, a, sizeof(a), 256, 0, NULL, 0) == 1);
    CU_ASSERT(EVP_RAND_generate(ctx, b, sizeof(b), 256, 0, NULL, 0) == 1);
    CU_ASSERT(memcmp(a, b, sizeof(a)) != 0);
    CU_ASSERT(EVP_RAND_generate(ctx, a, sizeof(a), 512, 0, NULL, 0) == 0); /* too strong */
    ERR_clear_error();
    EVP_RAND_CTX_free(ctx);
    EVP_RAND_free(rand);
}

static int seed_calls(OSSL_LIB_CTX *lib, uint64_t *calls, char *err, size_t err_len, int *status)
{
    OSSL_PROVIDER *prov = OSSL_PROVIDER_load(lib, "qkey"); /* the loaded one, by name */
    const char *e = NULL;
    OSSL_PARAM p[] = {OSSL_PARAM_uint64("qkey-seed-calls", calls),
                      OSSL_PARAM_utf8_ptr("qkey-error", (char **)&e, 0),
                      OSSL_PARAM_int(OSSL_PROV_PARAM_STATUS, status), OSSL_PARAM_END};
    int ok = prov != NULL && OSSL_PROVIDER_get_params(prov, p);

    snprintf(err, err_len, "%s", e != NULL ? e : "");
    OSSL_PROVIDER_unload(prov);
    return ok;
}

static void test_primary_drbg_draws_from_qrng(void)
{
    uint64_t before = 0, after = 0;
    unsigned char buf[32];
    char err[512];
    int status = 0;
    EVP_RAND_CTX *primary;

    CU_ASSERT_FATAL(RAND_bytes_ex(lib_a, buf, sizeof(buf), 0) == 1); /* chain instantiated */
    CU_ASSERT_FATAL(seed_calls(lib_a, &before, err, sizeof(err), &status));
    CU_ASSERT(before >= 1 && status == 1 && err[0] == '\0');
    primary = RAND_get0_primary(lib_a);
    CU_ASSERT_FATAL(primary != NULL);
    CU_ASSERT(EVP_RAND_reseed(primary, 1, NULL, 0, NULL, 0) == 1);
    CU_ASSERT_FATAL(seed_calls(lib_a, &after, err, sizeof(err), &status));
    CU_ASSERT(after > before);
}

static void test_rejected_config_fails_every_use(void)
{
    unsigned char buf[32];
    char msg[512], err[512];
    uint64_t calls = 0;
    int status = 1;
    EVP_PKEY *key;

    CU_ASSERT(RAND_bytes_ex(lib_bad, buf, sizeof(buf), 0) != 1);
    CU_ASSERT(strstr(qkt_last_error(msg, sizeof(msg)), "nosuch") != NULL || ERR_peek_error() == 0);
    ERR_clear_error();
    {
        EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new_from_name(lib_bad, "X25519-QKD", NULL);
        key = NULL;
        CU_ASSERT(pctx != NULL && EVP_PKEY_keygen_init(pctx) > 0);
        CU_ASSERT(EVP_PKEY_keygen(pctx, &key) <= 0 && key == NULL);
        CU_ASSERT(strstr(qkt_last_error(msg, sizeof(msg)), "nosuch") != NULL);
        EVP_PKEY_free(key);
        EVP_PKEY_CTX_free(pctx);
    }
    CU_ASSERT_FATAL(seed_calls(lib_bad, &calls, err, sizeof(err), &status));
    CU_ASSERT(status == 0 && calls == 0);
    CU_ASSERT(strstr(err, "qkd.driver") != NULL && strstr(err, "nosuch") != NULL);
}

/* An RNG that did not open: a draw names the real cause (the device), not "source gives 0". */
static void test_unopened_source_names_cause(void)
{
    EVP_RAND *rand = EVP_RAND_fetch(lib_nodev, "QRNG", NULL);
    EVP_RAND_CTX *ctx = rand != NULL ? EVP_RAND_CTX_new(rand, NULL) : NULL;
    unsigned char a[32];
    char msg[512];

    CU_ASSERT_FATAL(ctx != NULL);
    (void)EVP_RAND_instantiate(ctx, 256, 0, NULL, 0, NULL);
    ERR_clear_error();
    CU_ASSERT(EVP_RAND_generate(ctx, a, sizeof(a), 256, 0, NULL, 0) != 1);
    { /* every error on the queue, with its detail */
        const char *data;
        int flags;
        size_t used = 0;
        msg[0] = '\0';
        while (ERR_get_error_all(NULL, NULL, NULL, &data, &flags) != 0 && used < sizeof(msg) - 1)
            used += (size_t)snprintf(msg + used, sizeof(msg) - used, "%s; ",
                                     (flags & ERR_TXT_STRING) ? data : "");
    }
    CU_ASSERT(strstr(msg, "/nonexistent/qrng0") != NULL);
    CU_ASSERT(strstr(msg, "gives 0") == NULL);
    if (strstr(msg, "/nonexistent/qrng0") == NULL)
        fprintf(stderr, "  reason: %s\n", msg);
    EVP_RAND_CTX_free(ctx);
    EVP_RAND_free(rand);
}

static void test_seed_source_takes_no_parent(void)
{
    EVP_RAND *qrng = EVP_RAND_fetch(lib_a, "QRNG", NULL);
    EVP_RAND *drbg = EVP_RAND_fetch(lib_a, "CTR-DRBG", NULL);
    EVP_RAND_CTX *parent = drbg != NULL ? EVP_RAND_CTX_new(drbg, NULL) : NULL;
    EVP_RAND_CTX *child = parent != NULL ? EVP_RAND_CTX_new(qrng, parent) : NULL;

    CU_ASSERT(qrng != NULL && parent != NULL);
    CU_ASSERT(child == NULL);
    ERR_clear_error();
    EVP_RAND_CTX_free(child);
    EVP_RAND_CTX_free(parent);
    EVP_RAND_free(drbg);
    EVP_RAND_free(qrng);
}

static int suite_init(void)
{
    lib_a = qkt_libctx("a", "SAE_A", "SAE_B", NULL);
    lib_bad = qkt_libctx("bad", "SAE_A", "SAE_B", "qkd.driver = nosuch");
    /* a device that cannot be opened: the key source opens, its RNG does not */
    lib_nodev = qkt_libctx("nodev", "SAE_A", "SAE_B", "rng.source = device:/nonexistent/qrng0");
    return lib_a == NULL || lib_bad == NULL || lib_nodev == NULL;
}

static int suite_clean(void)
{
    OSSL_LIB_CTX_free(lib_a);
    OSSL_LIB_CTX_free(lib_bad);
    OSSL_LIB_CTX_free(lib_nodev);
    qkt_cleanup_dir();
    return 0;
}

int main(int argc, char **argv)
{
    CU_pSuite s;
    int failed;

    if (argc != 2) {
        fprintf(stderr, "usage: %s PATH/TO/qkey.so\n", argv[0]);
        return 2;
    }
    qkt_provider_path = argv[1];
    qkt_pin_module();
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    s = CU_add_suite("provider_rand", suite_init, suite_clean);
    CU_add_test(s, "QRNG answers as a seed source", test_qrng_as_seed_source);
    CU_add_test(s, "primary DRBG draws from QRNG", test_primary_drbg_draws_from_qrng);
    CU_add_test(s, "rejected config fails every use", test_rejected_config_fails_every_use);
    CU_add_test(s, "seed source takes no parent", test_seed_source_takes_no_parent);
    CU_add_test(s, "an RNG that did not open names the cause", test_unopened_source_names_cause);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    failed = (int)(CU_get_number_of_failures() + CU_get_number_of_suites_failed());
    CU_cleanup_registry();
    return failed != 0;
}
