/*
 * One table of configuration keys, two homes: every whole key of keysource's table
 * (qks_config_known_key) is asked for by the provider in its openssl.cnf section and accepted
 * there, and is accepted in a qkey.conf file. A key added to the table reaches both homes, so
 * they cannot drift apart again (rng.diqrng_conf_log2 was once silently ignored in openssl.cnf).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <CUnit/Basic.h>

#include "internal.h"

static void test_provider_asks_for_every_key(void)
{
    const char *keys[256], *k;
    char cp[QKP_NVARIANTS][QKP_CODEPOINT_KEY_MAX];
    size_t n = qkp_config_key_list(keys, 256, cp), whole = 0;
    int prefix;

    for (size_t i = 0; (k = qks_config_known_key(i, &prefix)) != NULL; i++) {
        int found = 0;
        if (prefix)
            continue;
        whole++;
        for (size_t j = 0; j < n; j++)
            found |= strcmp(keys[j], k) == 0;
        if (!found)
            fprintf(stderr, "  the provider does not ask for %s\n", k);
        CU_ASSERT(found);
    }
    CU_ASSERT(whole >= 30);
    for (int v = 0; v < QKP_NVARIANTS; v++) { /* and a code point key per group */
        char want[QKP_CODEPOINT_KEY_MAX];
        int found = 0;
        snprintf(want, sizeof(want), "tls.codepoint.%s", qkp_variants[v].group);
        for (size_t j = 0; j < n; j++)
            found |= strcmp(keys[j], want) == 0;
        CU_ASSERT(found);
    }
}

/* Each whole key, alone, through each home: accepted as a known key (values are checked later,
 * when a context opens). */
static void test_every_key_accepted_in_both_homes(void)
{
    const char *k;
    int prefix;

    for (size_t i = 0; (k = qks_config_known_key(i, &prefix)) != NULL; i++) {
        QKS_CONFIG *cfg = NULL;
        uint16_t cps[QKP_NVARIANTS];
        char why[300], path[] = "/tmp/qkey-schema-XXXXXX";
        const char *value = "1";
        int fd;
        FILE *f;

        if (prefix)
            continue;
        /* the provider's section: the key as the core hands it over */
        if (strcmp(k, "tls.codepoint.") != 0) {
            int ok = qkp_config_build(&k, &value, 1, &cfg, cps, why, sizeof(why));
            if (!ok && strstr(why, "unknown") != NULL) {
                fprintf(stderr, "  %s refused in openssl.cnf: %s\n", k, why);
                CU_FAIL("a key of the table is unknown to the provider");
            }
            qks_config_free(cfg);
            cfg = NULL;
        }
        /* a qkey.conf file: [section] name = 1 */
        CU_ASSERT_FATAL((fd = mkstemp(path)) >= 0);
        CU_ASSERT_FATAL((f = fdopen(fd, "w")) != NULL);
        const char *dot = strchr(k, '.');
        fprintf(f, "[%.*s]\n%s = 1\n", (int)(dot - k), k, dot + 1);
        fclose(f);
        cfg = qks_config_new();
        int rc = qks_config_load_file(cfg, path);
        if (rc != QKS_OK)
            fprintf(stderr, "  %s refused in a qkey.conf: %s\n", k, qks_last_error());
        CU_ASSERT_EQUAL(rc, QKS_OK);
        qks_config_free(cfg);
        unlink(path);
    }
}

/* The key that drifted: read from an openssl.cnf section now, so a bad value is refused there
 * exactly as in a file. */
static void test_diqrng_conf_log2_in_section(void)
{
    const char *keys[] = {"rng.source", "rng.diqrng_conf_log2"}, *values[] = {"diqrng-sim", "x"};
    QKS_CONFIG *cfg = NULL;
    uint16_t cps[QKP_NVARIANTS];
    char why[300];

    CU_ASSERT_FATAL(qkp_config_build(keys, values, 2, &cfg, cps, why, sizeof(why)));
    CU_ASSERT_STRING_EQUAL(qks_config_get(cfg, "rng.diqrng_conf_log2"), "x");
    qks_config_free(cfg);
}

/* qkey.conf(5) documents every key of the one table: a key added to config_keys.c without a
 * line in base/qkey.conf.5.scd fails here. Prefix entries appear as "rng.sim_\*" (scdoc
 * escapes the asterisk). */
static void test_man_page_names_every_key(void)
{
    FILE *f = fopen(QKEY_CONF_MAN_SRC, "r");
    static char text[65536];
    size_t n;
    const char *k;
    int prefix;

    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = '\0';
    for (size_t i = 0; (k = qks_config_known_key(i, &prefix)) != NULL; i++) {
        char want[128];
        snprintf(want, sizeof(want), "*%s%s", k, prefix && k[strlen(k) - 1] == '_' ? "\\*" : "");
        if (strstr(text, want) == NULL) {
            fprintf(stderr, "qkey.conf(5) does not name %s (looked for '%s')\n", k, want);
            CU_FAIL("a config key missing from qkey.conf(5)");
        }
    }
}

int main(void)
{
    CU_pSuite s;
    unsigned failed;

    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    s = CU_add_suite("config schema", NULL, NULL);
    CU_add_test(s, "the provider asks for every key", test_provider_asks_for_every_key);
    CU_add_test(s, "every key accepted in both homes", test_every_key_accepted_in_both_homes);
    CU_add_test(s, "rng.diqrng_conf_log2 reaches the provider", test_diqrng_conf_log2_in_section);
    CU_add_test(s, "qkey.conf(5) names every key", test_man_page_names_every_key);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
