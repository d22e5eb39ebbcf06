/* Suite "config": the standalone file (NCONF), key table, numbers, and context validation. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static char path[512];

static const char *conf_file(const char *text)
{
    snprintf(path, sizeof(path), "%s/qkey.conf", tu_tmpdir());
    tu_write(path, text);
    return path;
}

/* Load text as a config file; returns rc, detail in qks_last_error(). */
static int load(const char *text, QKS_CONFIG **out)
{
    QKS_CONFIG *cfg = qks_config_new();
    int rc = qks_config_load_file(cfg, conf_file(text));
    if (out != NULL)
        *out = cfg;
    else
        qks_config_free(cfg);
    return rc;
}

static void test_good_file(void)
{
    QKS_CONFIG *cfg;
    int rc = load("# comment\n[qkd]\ndriver = sim\nsae_id = SAE_A\npeers = SAE_B, SAE_C SAE_D\n"
                  "key_bits = 512\n[rng]\nsource = sim\nsim_bias = 0.5\ntoeplitz_seed = 1\n"
                  "[token]\nlabel = qkey\n[tls]\ncodepoint.x25519_qkd = 0xFE01\n",
                  &cfg);
    CU_ASSERT_EQUAL(rc, QKS_OK);
    CU_ASSERT_STRING_EQUAL(qks_config_get(cfg, "qkd.driver"), "sim");
    CU_ASSERT_STRING_EQUAL(qks_config_get(cfg, "qkd.peers"), "SAE_B, SAE_C SAE_D");
    CU_ASSERT_STRING_EQUAL(qks_config_get(cfg, "rng.sim_bias"), "0.5");
    CU_ASSERT_STRING_EQUAL(qks_config_get(cfg, "tls.codepoint.x25519_qkd"), "0xFE01");
    CU_ASSERT_STRING_EQUAL(qks_config_get(cfg, "token.label"), "qkey");
    CU_ASSERT_PTR_NULL(qks_config_get(cfg, "qkd.kme_url"));
    long bits = 0;
    CU_ASSERT_EQUAL(qks_config_get_long(cfg, "qkd.key_bits", 256, 64, 1024, &bits), QKS_OK);
    CU_ASSERT_EQUAL(bits, 512);
    qks_config_free(cfg);
}

static void test_missing_file(void)
{
    QKS_CONFIG *cfg = qks_config_new();
    char p[600];
    snprintf(p, sizeof(p), "%s/nonexistent.conf", tu_tmpdir());
    CU_ASSERT_EQUAL(qks_config_load_file(cfg, p), QKS_ERR_CONFIG);
    CU_ASSERT(tu_contains(qks_last_error(), p));
    CU_ASSERT(tu_contains(qks_last_error(), "No such file"));
    qks_config_free(cfg);
}

static void test_directory_as_file(void)
{
    QKS_CONFIG *cfg = qks_config_new();
    const char *d = tu_tmpdir();
    CU_ASSERT_EQUAL(qks_config_load_file(cfg, d), QKS_ERR_CONFIG);
    CU_ASSERT(tu_contains(qks_last_error(), d));
    qks_config_free(cfg);
}

static void test_unknown_section(void)
{
    CU_ASSERT_EQUAL(load("[qdk]\ndriver = sim\n", NULL), QKS_ERR_CONFIG);
    CU_ASSERT(tu_contains(qks_last_error(), "[qdk]"));
    CU_ASSERT(tu_contains(qks_last_error(), path));
}

static void test_unknown_key(void)
{
    CU_ASSERT_EQUAL(load("[qkd]\ndriver = sim\npeer = SAE_B\n", NULL), QKS_ERR_CONFIG);
    CU_ASSERT(tu_contains(qks_last_error(), "qkd.peer'"));
    CU_ASSERT(tu_contains(qks_last_error(), path));
    CU_ASSERT_EQUAL(load("[rng]\nsim_bias = 1\nsimbias = 1\n", NULL), QKS_ERR_CONFIG);
    CU_ASSERT(tu_contains(qks_last_error(), "rng.simbias"));
    CU_ASSERT_EQUAL(load("[tls]\ncodepoint = 1\n", NULL), QKS_ERR_CONFIG);
    CU_ASSERT(tu_contains(qks_last_error(), "tls.codepoint"));
}

static void test_key_outside_section(void)
{
    CU_ASSERT_EQUAL(load("driver = sim\n[qkd]\nsae_id = A\n", NULL), QKS_ERR_CONFIG);
    CU_ASSERT(tu_contains(qks_last_error(), "outside a section"));
    CU_ASSERT(tu_contains(qks_last_error(), "driver"));
}

static void test_openssl_cnf_named(void)
{
    CU_ASSERT_EQUAL(load("openssl_conf = init\n[init]\nproviders = p\n[p]\nqkey = q\n"
                         "[q]\nqkd.driver = sim\n",
                         NULL),
                    QKS_ERR_CONFIG);
    CU_ASSERT(tu_contains(qks_last_error(), "is an openssl.cnf"));
}

static void test_syntax_error_names_line(void)
{
    CU_ASSERT_EQUAL(load("[qkd]\ndriver = sim\n[qkd\n", NULL), QKS_ERR_CONFIG);
    CU_ASSERT(tu_contains(qks_last_error(), "line 3"));
    CU_ASSERT(tu_contains(qks_last_error(), path));
}

static void test_failed_load_changes_nothing(void)
{
    QKS_CONFIG *cfg;
    CU_ASSERT_EQUAL(load("[qkd]\ndriver = sim\nbogus = 1\n", &cfg), QKS_ERR_CONFIG);
    CU_ASSERT_PTR_NULL(qks_config_get(cfg, "qkd.driver"));
    qks_config_free(cfg);
}

static void test_file_does_not_override_set(void)
{
    QKS_CONFIG *cfg = qks_config_new();
    CU_ASSERT_EQUAL(qks_config_set(cfg, "qkd.sae_id", "FROM_CNF"), QKS_OK);
    CU_ASSERT_EQUAL(qks_config_load_file(cfg, conf_file("[qkd]\nsae_id = FROM_FILE\n"
                                                        "driver = sim\n")),
                    QKS_OK);
    CU_ASSERT_STRING_EQUAL(qks_config_get(cfg, "qkd.sae_id"), "FROM_CNF");
    CU_ASSERT_STRING_EQUAL(qks_config_get(cfg, "qkd.driver"), "sim");
    /* a later set overrides */
    CU_ASSERT_EQUAL(qks_config_set(cfg, "qkd.sae_id", "LATER"), QKS_OK);
    CU_ASSERT_STRING_EQUAL(qks_config_get(cfg, "qkd.sae_id"), "LATER");
    qks_config_free(cfg);
}

static void test_set_checks_keys(void)
{
    QKS_CONFIG *cfg = qks_config_new();
    CU_ASSERT_EQUAL(qks_config_set(cfg, "qkd.drvier", "sim"), QKS_ERR_CONFIG);
    CU_ASSERT(tu_contains(qks_last_error(), "qkd.drvier"));
    CU_ASSERT_EQUAL(qks_config_set(cfg, "activate", "1"), QKS_ERR_CONFIG);
    CU_ASSERT(tu_contains(qks_last_error(), "section.name"));
    CU_ASSERT_EQUAL(qks_config_set(cfg, "foo.bar", "1"), QKS_ERR_CONFIG);
    CU_ASSERT(tu_contains(qks_last_error(), "[foo]"));
    CU_ASSERT_EQUAL(qks_config_set(cfg, "qkd.driver", NULL), QKS_ERR_INVALID);
    qks_config_free(cfg);
}

static void test_numbers(void)
{
    QKS_CONFIG *cfg = qks_config_new();
    long v = 0;
    CU_ASSERT_EQUAL(qks_config_get_long(cfg, "qkd.timeout_ms", 42, 1, 100, &v), QKS_OK);
    CU_ASSERT_EQUAL(v, 42);
    qks_config_set(cfg, "qkd.timeout_ms", "12x");
    CU_ASSERT_EQUAL(qks_config_get_long(cfg, "qkd.timeout_ms", 42, 1, 100, &v), QKS_ERR_CONFIG);
    CU_ASSERT(tu_contains(qks_last_error(), "qkd.timeout_ms = '12x' is not a number"));
    qks_config_set(cfg, "qkd.timeout_ms", "");
    CU_ASSERT_EQUAL(qks_config_get_long(cfg, "qkd.timeout_ms", 42, 1, 100, &v), QKS_ERR_CONFIG);
    qks_config_set(cfg, "qkd.timeout_ms", "99999999999999999999999");
    CU_ASSERT_EQUAL(qks_config_get_long(cfg, "qkd.timeout_ms", 42, 1, 100, &v), QKS_ERR_CONFIG);
    qks_config_set(cfg, "qkd.timeout_ms", "101");
    CU_ASSERT_EQUAL(qks_config_get_long(cfg, "qkd.timeout_ms", 42, 1, 100, &v), QKS_ERR_CONFIG);
    CU_ASSERT(tu_contains(qks_last_error(), "out of range [1, 100]"));
    qks_config_set(cfg, "qkd.timeout_ms", " 77 ");
    CU_ASSERT_EQUAL(qks_config_get_long(cfg, "qkd.timeout_ms", 42, 1, 100, &v), QKS_OK);
    CU_ASSERT_EQUAL(v, 77);
    qks_config_free(cfg);
}

static void test_default_path(void)
{
    setenv("QKEY_CONF", "/somewhere/q.conf", 1);
    CU_ASSERT_STRING_EQUAL(qks_config_default_path(), "/somewhere/q.conf");
    unsetenv("QKEY_CONF");
    CU_ASSERT_STRING_EQUAL(qks_config_default_path(), "/etc/qkey/qkey.conf");
}

/* qks_ctx_new refuses bad values with a message naming the key. */
static void expect_ctx_error(const char *key, const char *value, const char *needle)
{
    QKS_CTX *ctx = NULL;
    const char *link = tu_tmpdir();
    int rc = tu_sim_ctx_rc(&ctx, link, "SAE_A", "SAE_B", key, value, NULL);
    CU_ASSERT_EQUAL(rc, QKS_ERR_CONFIG);
    CU_ASSERT_PTR_NULL(ctx);
    if (!tu_contains(qks_last_error(), needle))
        fprintf(stderr, "\n  %s=%s: message '%s' lacks '%s'\n", key, value, qks_last_error(),
                needle);
    CU_ASSERT(tu_contains(qks_last_error(), needle));
    qks_ctx_free(ctx);
}

static void test_ctx_validation(void)
{
    expect_ctx_error("qkd.driver", "etsi104", "etsi104");
    expect_ctx_error("qkd.sae_id", "SAE A", "qkd.sae_id");
    expect_ctx_error("qkd.key_bits", "100", "multiple of 8");
    expect_ctx_error("qkd.key_bits", "2048", "qkd.key_bits");
    expect_ctx_error("qkd.key_bits", "56", "qkd.key_bits");
    expect_ctx_error("qkd.timeout_ms", "soon", "qkd.timeout_ms");
    expect_ctx_error("qkd.on_exhausted", "retry", "qkd.on_exhausted");
    expect_ctx_error("qkd.peers", "SAE_B,SAE/C", "SAE/C");
    expect_ctx_error("qkd.peers", "SAE_B SAE_A", "own SAE ID");
    expect_ctx_error("qkd.rate_limit", "0", "qkd.rate_limit");
    expect_ctx_error("qkd.sim_max_keys", "-1", "qkd.sim_max_keys");
}

static void test_ctx_defaults_and_rng_only(void)
{
    QKS_CTX *ctx = tu_sim_ctx(tu_tmpdir(), "SAE_A", "SAE_B", NULL);
    CU_ASSERT_EQUAL(qks_ctx_key_bytes(ctx), 32);
    CU_ASSERT_STRING_EQUAL(qks_ctx_sae_id(ctx), "SAE_A");
    CU_ASSERT(qks_ctx_has_qkd(ctx));
    CU_ASSERT(qks_peer_allowed(ctx, "SAE_B"));
    CU_ASSERT(!qks_peer_allowed(ctx, "SAE_C"));
    qks_ctx_free(ctx);

    QKS_CONFIG *cfg = qks_config_new();
    qks_config_set(cfg, "rng.source", "sim");
    CU_ASSERT_EQUAL(qks_ctx_new(cfg, &ctx), QKS_OK);
    CU_ASSERT(!qks_ctx_has_qkd(ctx));
    CU_ASSERT_PTR_NULL(qks_ctx_sae_id(ctx));
    QKS_KEY *k = NULL;
    CU_ASSERT_EQUAL(qks_key_new(ctx, "SAE_B", &k), QKS_ERR_UNSUPPORTED);
    CU_ASSERT_PTR_NULL(k);
    qks_ctx_free(ctx);
    qks_config_free(cfg);
}

static void test_sim_needs_link(void)
{
    QKS_CONFIG *cfg = qks_config_new();
    QKS_CTX *ctx = NULL;
    qks_config_set(cfg, "qkd.driver", "sim");
    qks_config_set(cfg, "qkd.sae_id", "SAE_A");
    CU_ASSERT_EQUAL(qks_ctx_new(cfg, &ctx), QKS_ERR_CONFIG);
    CU_ASSERT(tu_contains(qks_last_error(), "qkd.sim_link"));
    qks_config_set(cfg, "qkd.sim_link", "/proc/no/such/dir");
    CU_ASSERT_EQUAL(qks_ctx_new(cfg, &ctx), QKS_ERR_CONFIG);
    CU_ASSERT(tu_contains(qks_last_error(), "/proc/no/such/dir"));
    qks_config_free(cfg);
}

static void test_id_validation(void)
{
    CU_ASSERT(qks_valid_key_id("0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"));
    CU_ASSERT(qks_valid_key_id("0F1E2D3C-4B5A-4978-8695-A4B3C2D1E0F9"));
    CU_ASSERT(!qks_valid_key_id("0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f"));
    CU_ASSERT(!qks_valid_key_id("0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f90"));
    CU_ASSERT(!qks_valid_key_id("0f1e2d3c4b5a-4978-8695-a4b3c2d1e0f9-"));
    CU_ASSERT(!qks_valid_key_id("../../../../etc/passwd-0000-00000000"));
    CU_ASSERT(!qks_valid_key_id("0g1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"));
    CU_ASSERT(!qks_valid_key_id(""));
    CU_ASSERT(!qks_valid_key_id(NULL));
    CU_ASSERT(qks_valid_sae_id("SAE_A"));
    CU_ASSERT(qks_valid_sae_id("node-1.site:b@bank"));
    CU_ASSERT(!qks_valid_sae_id(""));
    CU_ASSERT(!qks_valid_sae_id("SAE A"));
    CU_ASSERT(!qks_valid_sae_id("SAE/A"));
    CU_ASSERT(!qks_valid_sae_id("SAE%41"));
    CU_ASSERT(!qks_valid_sae_id(NULL));
    char id[70];
    memset(id, 'a', 64);
    id[64] = '\0';
    CU_ASSERT(qks_valid_sae_id(id));
    id[64] = 'a';
    id[65] = '\0';
    CU_ASSERT(!qks_valid_sae_id(id));
}

static void test_strerror(void)
{
    CU_ASSERT_STRING_EQUAL(qks_strerror(QKS_ERR_PEER_DENIED), "peer not allowed");
    CU_ASSERT_PTR_NOT_NULL(qks_strerror(-999));
    qks_set_error(QKS_ERR_IO, "detail %d", 7);
    CU_ASSERT_STRING_EQUAL(qks_last_error(), "detail 7");
    qks_clear_error();
    CU_ASSERT_STRING_EQUAL(qks_last_error(), "");
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    CU_pSuite s = CU_add_suite("config", NULL, NULL);
    CU_add_test(s, "good file", test_good_file);
    CU_add_test(s, "missing file", test_missing_file);
    CU_add_test(s, "directory as file", test_directory_as_file);
    CU_add_test(s, "unknown section", test_unknown_section);
    CU_add_test(s, "unknown key", test_unknown_key);
    CU_add_test(s, "key outside a section", test_key_outside_section);
    CU_add_test(s, "an openssl.cnf is named as such", test_openssl_cnf_named);
    CU_add_test(s, "syntax error names the line", test_syntax_error_names_line);
    CU_add_test(s, "failed load changes nothing", test_failed_load_changes_nothing);
    CU_add_test(s, "file does not override set keys", test_file_does_not_override_set);
    CU_add_test(s, "set checks keys", test_set_checks_keys);
    CU_add_test(s, "numbers", test_numbers);
    CU_add_test(s, "default path", test_default_path);
    CU_add_test(s, "context validation", test_ctx_validation);
    CU_add_test(s, "context defaults, RNG-only", test_ctx_defaults_and_rng_only);
    CU_add_test(s, "sim needs a link directory", test_sim_needs_link);
    CU_add_test(s, "SAE ID and key ID validation", test_id_validation);
    CU_add_test(s, "error strings", test_strerror);
    return tu_run();
}
