/*
 * CUnit suite for the qkey command line (tools/qkey): argument and byte-count parsing, the
 * provider module lookup, the files `qkey sim init` writes (parsed back with OpenSSL NCONF and
 * the key source's own config reader), the openssl.cnf readers and the ClientHello reader, and
 * the downgrade check of `qkey status` on a config that names x25519_qkd without the provider.
 */
#include <limits.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <openssl/conf.h>

#include "pq_groups.h"
#include "qkey_cli.h"

static char tmpdir[PATH_MAX];

static int suite_init(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/qkey-cli-test-XXXXXX");
    return mkdtemp(tmpdir) == NULL;
}

static int suite_clean(void)
{
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd) != 0;
}

static void test_parse_count(void)
{
    uint64_t v = 0;
    CU_ASSERT_TRUE(qkey_parse_count("1", 100, &v));
    CU_ASSERT_EQUAL(v, 1);
    CU_ASSERT_TRUE(qkey_parse_count("2500000", UINT64_C(1) << 40, &v));
    CU_ASSERT_EQUAL(v, 2500000);
    CU_ASSERT_TRUE(qkey_parse_count("4k", UINT64_C(1) << 40, &v));
    CU_ASSERT_EQUAL(v, 4096);
    CU_ASSERT_TRUE(qkey_parse_count("3M", UINT64_C(1) << 40, &v));
    CU_ASSERT_EQUAL(v, 3 * 1024 * 1024);
    CU_ASSERT_TRUE(qkey_parse_count("1G", UINT64_C(1) << 40, &v));
    CU_ASSERT_EQUAL(v, UINT64_C(1) << 30);
    /* refused: empty, zero, sign, junk, unit alone, overflow, above the bound */
    const char *bad[] = {"",      "0",   "-1",  "+5",  "1x",
                         "k",     "1kk", "12 ", " 12", "99999999999999999999999",
                         "1025G", NULL};
    for (int i = 0; bad[i] != NULL; i++)
        CU_ASSERT_FALSE(qkey_parse_count(bad[i], UINT64_C(1) << 40, &v));
    CU_ASSERT_FALSE(qkey_parse_count("101", 100, &v));
    CU_ASSERT_FALSE(qkey_parse_count(NULL, 100, &v));
}

static void test_parse_args(void)
{
    QKEY_OPTS o = {NULL};
    int force = 0, n = 0;
    const char *cfg = NULL;
    char *pos[2];
    const QKEY_OPTDEF defs[] = {
        {"force", NULL, &force}, {"config", &cfg, NULL}, {NULL, NULL, NULL}};
    char *a1[] = {"sim", "init", "--conf", "q.conf", "--force", "d", NULL};
    CU_ASSERT_EQUAL(qkey_parse_args(6, a1, defs, &o, pos, 2, &n), QKEY_EXIT_OK);
    CU_ASSERT_EQUAL(n, 2);
    CU_ASSERT_STRING_EQUAL(pos[0], "init");
    CU_ASSERT_STRING_EQUAL(pos[1], "d");
    CU_ASSERT_STRING_EQUAL(o.conf, "q.conf");
    CU_ASSERT_EQUAL(force, 1);

    char *a2[] = {"status", "--config=x.cnf", "--", "--json", NULL};
    CU_ASSERT_EQUAL(qkey_parse_args(4, a2, defs, &o, pos, 2, &n), QKEY_EXIT_OK);
    CU_ASSERT_STRING_EQUAL(cfg, "x.cnf");
    CU_ASSERT_EQUAL(n, 1);
    CU_ASSERT_STRING_EQUAL(pos[0], "--json");

    char *a3[] = {"rand", "--bogus", NULL};
    CU_ASSERT_EQUAL(qkey_parse_args(2, a3, defs, &o, pos, 2, &n), QKEY_EXIT_USAGE);
    char *a4[] = {"rand", "--conf", NULL};
    CU_ASSERT_EQUAL(qkey_parse_args(2, a4, defs, &o, pos, 2, &n), QKEY_EXIT_USAGE);
    char *a5[] = {"rand", "1", "2", "3", NULL};
    CU_ASSERT_EQUAL(qkey_parse_args(4, a5, defs, &o, pos, 2, &n), QKEY_EXIT_USAGE);
    char *a6[] = {"rand", "-x", NULL};
    CU_ASSERT_EQUAL(qkey_parse_args(2, a6, defs, &o, pos, 2, &n), QKEY_EXIT_USAGE);
    char *a7[] = {"rand", "--force=1", NULL}; /* a flag takes no value */
    CU_ASSERT_EQUAL(qkey_parse_args(2, a7, defs, &o, pos, 2, &n), QKEY_EXIT_USAGE);
    char *a8[] = {"rand", "--help", NULL};
    CU_ASSERT_EQUAL(qkey_parse_args(2, a8, defs, &o, pos, 2, &n), -1);
}

static void test_main_usage(void)
{
    char *a1[] = {"qkey", NULL};
    CU_ASSERT_EQUAL(qkey_main(1, a1), QKEY_EXIT_USAGE);
    char *a2[] = {"qkey", "frobnicate", NULL};
    CU_ASSERT_EQUAL(qkey_main(2, a2), QKEY_EXIT_USAGE);
    char *a3[] = {"qkey", "--help", NULL};
    CU_ASSERT_EQUAL(qkey_main(2, a3), QKEY_EXIT_OK);
    char *a4[] = {"qkey", "rand", "zero", NULL};
    CU_ASSERT_EQUAL(qkey_main(3, a4), QKEY_EXIT_USAGE);
    char *a5[] = {"qkey", "key", "new", "bad peer!", NULL};
    CU_ASSERT_EQUAL(qkey_main(4, a5), QKEY_EXIT_USAGE);
    char *a6[] = {"qkey", "key", "get", "SAE_A", "not-a-uuid", NULL};
    CU_ASSERT_EQUAL(qkey_main(5, a6), QKEY_EXIT_USAGE);
    char *a7[] = {"qkey", "sim", "make", "d", NULL};
    CU_ASSERT_EQUAL(qkey_main(4, a7), QKEY_EXIT_USAGE);
    char *a8[] = {"qkey", "--conf", "/nonexistent/qkey.conf", "rand", "16", NULL};
    CU_ASSERT_EQUAL(qkey_main(5, a8), QKEY_EXIT_FAIL);
}

static void test_provider_module(void)
{
    char buf[PATH_MAX], cwd[PATH_MAX];

    setenv("QKEY_PROVIDER_MODULE", "/opt/x/qkey.so", 1);
    CU_ASSERT_TRUE(qkt_provider_module(buf, sizeof(buf)));
    CU_ASSERT_STRING_EQUAL(buf, "/opt/x/qkey.so");
    /* a relative override is made absolute (the config outlives the working directory) */
    CU_ASSERT_PTR_NOT_NULL_FATAL(getcwd(cwd, sizeof(cwd)));
    CU_ASSERT_EQUAL_FATAL(chdir(tmpdir), 0);
    FILE *f = fopen("rel.so", "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fclose(f);
    setenv("QKEY_PROVIDER_MODULE", "rel.so", 1);
    CU_ASSERT_TRUE(qkt_provider_module(buf, sizeof(buf)));
    CU_ASSERT_EQUAL(buf[0], '/');
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "/rel.so"));
    CU_ASSERT_EQUAL(chdir(cwd), 0);
    unsetenv("QKEY_PROVIDER_MODULE");
    CU_ASSERT_TRUE(qkt_provider_module(buf, sizeof(buf)));
    CU_ASSERT_EQUAL(buf[0], '/');
    size_t n = strlen(buf);
    CU_ASSERT_TRUE(n > 8 && strcmp(buf + n - 8, "/qkey.so") == 0);
    CU_ASSERT_FALSE(qkt_provider_module(buf, 4)); /* too small: refused, not truncated */
}

/* Number of lines of a file matching an extended regex. */
static int count_lines(const char *path, const char *re)
{
    regex_t rx;
    char line[1024];
    int n = 0;
    FILE *f = fopen(path, "r");

    if (f == NULL || regcomp(&rx, re, REG_EXTENDED | REG_NOSUB) != 0) {
        if (f)
            fclose(f);
        return -1;
    }
    while (fgets(line, sizeof(line), f) != NULL)
        n += regexec(&rx, line, 0, NULL, 0) == 0;
    regfree(&rx);
    fclose(f);
    return n;
}

static const char *cnf_value(CONF *c, const char *sect, const char *name)
{
    const char *v = NCONF_get_string(c, sect, name);
    return v != NULL ? v : "(missing)";
}

static void check_cnf(const char *dir, const char *tag, const char *me, const char *peer)
{
    char path[PATH_MAX + 32], link[PATH_MAX + 8];
    long line = 0;
    CONF *c = NCONF_new_ex(NULL, NULL);

    snprintf(path, sizeof(path), "%s/sae-%s.cnf", dir, tag);
    snprintf(link, sizeof(link), "%s/link", dir);
    CU_ASSERT_FATAL(c != NULL && NCONF_load(c, path, &line) > 0);
    const char *init = cnf_value(c, NULL, "openssl_conf");
    const char *provs = cnf_value(c, init, "providers");
    const char *q = cnf_value(c, provs, "qkey");
    CU_ASSERT_STRING_EQUAL(cnf_value(c, q, "module"), "/opt/qkey/lib/ossl-modules/qkey.so");
    CU_ASSERT_STRING_EQUAL(cnf_value(c, q, "activate"), "1");
    CU_ASSERT_STRING_EQUAL(cnf_value(c, q, "qkd.driver"), "sim");
    CU_ASSERT_STRING_EQUAL(cnf_value(c, q, "qkd.sae_id"), me);
    CU_ASSERT_STRING_EQUAL(cnf_value(c, q, "qkd.peers"), peer);
    CU_ASSERT_STRING_EQUAL(cnf_value(c, q, "qkd.sim_link"), link);
    CU_ASSERT_STRING_EQUAL(cnf_value(c, q, "rng.source"), "sim");
    CU_ASSERT_STRING_EQUAL(cnf_value(c, cnf_value(c, provs, "default"), "activate"), "1");
    const char *rnd = cnf_value(c, init, "random");
    CU_ASSERT_STRING_EQUAL(cnf_value(c, rnd, "seed"), "QRNG");
    CU_ASSERT_STRING_EQUAL(cnf_value(c, rnd, "seed_properties"), "provider=qkey");
    NCONF_free(c);
    /* the one line a user (and rand-fail-closed) rewrites to change the RNG source */
    CU_ASSERT_EQUAL(count_lines(path, "^[[:space:]]*(rng\\.)?source[[:space:]]*="), 1);

    char *groups = NULL;
    CU_ASSERT_TRUE(qkey_cnf_groups(path, &groups));
    /* ML-KEM + QKD first where this libcrypto has ML-KEM (OpenSSL 3.5), never fewer PQ groups */
    CU_ASSERT_STRING_EQUAL(groups ? groups : "", qkt_default_groups());
    CU_ASSERT(strstr(qkt_default_groups(), "x25519_qkd:x25519") != NULL);
    free(groups);

    /* the key-source keys of the provider section, read as the provider reads them */
    QKS_CONFIG *cfg = qks_config_new();
    char err[256];
    CU_ASSERT_TRUE(qkey_cnf_keysource(path, cfg, err, sizeof(err)));
    CU_ASSERT_STRING_EQUAL(
        qks_config_get(cfg, "qkd.sae_id") ? qks_config_get(cfg, "qkd.sae_id") : "", me);
    qks_config_free(cfg);
}

static void check_conf(const char *dir, const char *tag, const char *me, const char *peer)
{
    char path[PATH_MAX + 32], link[PATH_MAX + 8], store[PATH_MAX + 32];
    QKS_CONFIG *cfg = qks_config_new();

    snprintf(path, sizeof(path), "%s/qkey-%s.conf", dir, tag);
    snprintf(link, sizeof(link), "%s/link", dir);
    snprintf(store, sizeof(store), "%s/token-%s.db", dir, tag);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    /* the key source's own reader accepts it: no unknown key, no unknown section */
    CU_ASSERT_EQUAL_FATAL(qks_config_load_file(cfg, path), QKS_OK);
    const struct {
        const char *key, *want;
    } want[] = {
        {"qkd.driver", "sim"}, {"qkd.sae_id", me},     {"qkd.peers", peer}, {"qkd.sim_link", link},
        {"rng.source", "sim"}, {"token.store", store}, {NULL, NULL}};
    for (int i = 0; want[i].key != NULL; i++) {
        const char *v = qks_config_get(cfg, want[i].key);
        CU_ASSERT_PTR_NOT_NULL(v);
        if (v != NULL)
            CU_ASSERT_STRING_EQUAL(v, want[i].want);
    }
    CU_ASSERT_PTR_NOT_NULL(qks_config_get(cfg, "token.label"));
    qks_config_free(cfg);
    CU_ASSERT_EQUAL(count_lines(path, "^[[:space:]]*(rng\\.)?source[[:space:]]*="), 1);
}

static void test_sim_write(void)
{
    char dir[PATH_MAX + 16], err[PATH_MAX + 256], path[PATH_MAX + 32];
    const char *mod = "/opt/qkey/lib/ossl-modules/qkey.so";
    struct stat st;

    snprintf(dir, sizeof(dir), "%s/link1", tmpdir);
    CU_ASSERT_FATAL(qkey_sim_write(dir, mod, 0, err, sizeof(err)));
    snprintf(path, sizeof(path), "%s/link", dir);
    CU_ASSERT_EQUAL(stat(path, &st), 0);
    CU_ASSERT_TRUE(S_ISDIR(st.st_mode));
    check_cnf(dir, "a", "SAE_A", "SAE_B");
    check_cnf(dir, "b", "SAE_B", "SAE_A");
    check_conf(dir, "a", "SAE_A", "SAE_B");
    check_conf(dir, "b", "SAE_B", "SAE_A");

    /* an existing link is never replaced without --force */
    snprintf(path, sizeof(path), "%s/link/state", dir);
    FILE *f = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fclose(f);
    CU_ASSERT_FALSE(qkey_sim_write(dir, mod, 0, err, sizeof(err)));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "--force"));
    CU_ASSERT_EQUAL(stat(path, &st), 0); /* untouched */
    CU_ASSERT_TRUE(qkey_sim_write(dir, mod, 1, err, sizeof(err)));
    CU_ASSERT_NOT_EQUAL(stat(path, &st), 0); /* the old link's state is gone */

    /* a file in the way also needs --force, and nothing is written before the check */
    snprintf(dir, sizeof(dir), "%s/link2", tmpdir);
    CU_ASSERT_EQUAL_FATAL(mkdir(dir, 0755), 0);
    snprintf(path, sizeof(path), "%s/qkey-b.conf", dir);
    f = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fclose(f);
    CU_ASSERT_FALSE(qkey_sim_write(dir, mod, 0, err, sizeof(err)));
    snprintf(path, sizeof(path), "%s/sae-a.cnf", dir);
    CU_ASSERT_NOT_EQUAL(stat(path, &st), 0);

    /* characters openssl.cnf would interpret, and a relative module, are refused */
    snprintf(dir, sizeof(dir), "%s/bad$dir", tmpdir);
    CU_ASSERT_FALSE(qkey_sim_write(dir, mod, 0, err, sizeof(err)));
    snprintf(dir, sizeof(dir), "%s/link3", tmpdir);
    CU_ASSERT_FALSE(qkey_sim_write(dir, "qkey.so", 0, err, sizeof(err)));
    CU_ASSERT_FALSE(qkey_sim_write("/proc/qkey-no-such/dir", mod, 0, err, sizeof(err)));
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs(text, f);
    fclose(f);
}

/* A config that names the QKD group but loads no qkey provider: OpenSSL 3.0 silently offers
 * its defaults instead; the status check must flag x25519_qkd as dropped. */
static void test_downgrade_detected(void)
{
    char path[PATH_MAX + 32];
    QKEY_OSSL_REPORT rep;

    snprintf(path, sizeof(path), "%s/downgrade.cnf", tmpdir);
    write_text(path, "openssl_conf = init\n[init]\nssl_conf = ssl_sect\n"
                     "[ssl_sect]\nsystem_default = tls_sect\n"
                     "[tls_sect]\nGroups = x25519_qkd:x25519\n");
    qkey_ossl_check(path, &rep);
    CU_ASSERT_TRUE(rep.loaded);
    CU_ASSERT_FALSE(rep.provider_loaded);
    CU_ASSERT_FALSE(rep.qrng_in_chain);
    CU_ASSERT_STRING_EQUAL(rep.groups_configured ? rep.groups_configured : "", "x25519_qkd:x25519");
    CU_ASSERT_STRING_EQUAL(rep.groups_dropped ? rep.groups_dropped : "", "x25519_qkd");
    CU_ASSERT_PTR_NOT_NULL(rep.groups_offered ? strstr(rep.groups_offered, "x25519") : NULL);
    qkey_ossl_report_clear(&rep);

    /* classical groups only: nothing dropped, and the offer is exactly the list */
    write_text(path, "openssl_conf = init\n[init]\nssl_conf = ssl_sect\n"
                     "[ssl_sect]\nsystem_default = tls_sect\n"
                     "[tls_sect]\nGroups = secp384r1:x25519\n");
    qkey_ossl_check(path, &rep);
    CU_ASSERT_TRUE(rep.loaded);
    CU_ASSERT_PTR_NULL(rep.groups_dropped);
    CU_ASSERT_STRING_EQUAL(rep.groups_offered ? rep.groups_offered : "", "secp384r1:x25519");
    qkey_ossl_report_clear(&rep);

    /* unreadable config: reported, not crashed on */
    snprintf(path, sizeof(path), "%s/no-such.cnf", tmpdir);
    qkey_ossl_check(path, &rep);
    CU_ASSERT_FALSE(rep.loaded);
    CU_ASSERT_NOT_EQUAL(rep.load_error[0], '\0');
    qkey_ossl_report_clear(&rep);

    char *groups = (char *)"x";
    CU_ASSERT_FALSE(qkey_cnf_groups(path, &groups));
    CU_ASSERT_PTR_NULL(groups);

    /* a typo in the provider section: the provider never sees it, status must say so */
    char err[512];
    QKS_CONFIG *cfg = qks_config_new();
    snprintf(path, sizeof(path), "%s/typo.cnf", tmpdir);
    write_text(path, "openssl_conf = init\n[init]\nproviders = p\n[p]\nqkey = q\n"
                     "[q]\nactivate = 1\nqkd.driver = sim\nqkd.peer = SAE_B\n");
    CU_ASSERT_FALSE(qkey_cnf_keysource(path, cfg, err, sizeof(err)));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "qkd.peer"));
    /* and a config without a qkey provider section */
    write_text(path, "openssl_conf = init\n[init]\nproviders = p\n[p]\ndefault = d\n[d]\n"
                     "activate = 1\n");
    CU_ASSERT_FALSE(qkey_cnf_keysource(path, cfg, err, sizeof(err)));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "no provider named qkey"));
    qks_config_free(cfg);
}

static void test_hello_groups(void)
{
    /* record(5) handshake(4) version(2) random(32) session_id(1+0) cipher_suites(2+2)
     * compression(1+1) extensions(2+10) [supported_groups: type 10, len 6, list 4: 0x001d
     * 0xfe00] */
    unsigned char hello[5 + 4 + 53];
    size_t off = 0;
    memset(hello, 0, sizeof(hello));
    hello[0] = 22, hello[1] = 3, hello[2] = 1, hello[3] = 0, hello[4] = 57;
    hello[5] = 1, hello[6] = 0, hello[7] = 0, hello[8] = 53;
    off = 9;
    hello[off++] = 3, hello[off++] = 3;
    off += 32;        /* random */
    hello[off++] = 0; /* session_id */
    hello[off++] = 0, hello[off++] = 2, hello[off++] = 0x13, hello[off++] = 0x01;
    hello[off++] = 1, hello[off++] = 0;
    hello[off++] = 0, hello[off++] = 10;
    const unsigned char ext[] = {0, 10, 0, 6, 0, 4, 0x00, 0x1d, 0xfe, 0x00};
    memcpy(hello + off, ext, sizeof(ext));
    off += sizeof(ext);
    CU_ASSERT_EQUAL_FATAL(off, sizeof(hello));
    const unsigned char *ids = NULL;
    size_t count = 0;

    CU_ASSERT_TRUE_FATAL(qkey_hello_groups(hello, sizeof(hello), &ids, &count));
    CU_ASSERT_EQUAL(count, 2);
    CU_ASSERT_EQUAL((ids[0] << 8) | ids[1], 0x001d);
    CU_ASSERT_EQUAL((ids[2] << 8) | ids[3], 0xfe00);
    /* every truncation is refused, never read past */
    for (size_t n = 0; n < sizeof(hello); n++)
        CU_ASSERT_FALSE(qkey_hello_groups(hello, n, &ids, &count));
    hello[0] = 23; /* not a handshake record */
    CU_ASSERT_FALSE(qkey_hello_groups(hello, sizeof(hello), &ids, &count));
    hello[0] = 22;
    hello[5] = 2; /* a ServerHello */
    CU_ASSERT_FALSE(qkey_hello_groups(hello, sizeof(hello), &ids, &count));
    hello[5] = 1;
    hello[sizeof(hello) - 5] = 3; /* odd group list length */
    CU_ASSERT_FALSE(qkey_hello_groups(hello, sizeof(hello), &ids, &count));
}

int main(void)
{
    CU_pSuite s;
    unsigned failed;

    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    s = CU_add_suite("qkey_cli", suite_init, suite_clean);
    if (s == NULL || !CU_add_test(s, "parse_count", test_parse_count) ||
        !CU_add_test(s, "parse_args", test_parse_args) ||
        !CU_add_test(s, "main_usage", test_main_usage) ||
        !CU_add_test(s, "provider_module", test_provider_module) ||
        !CU_add_test(s, "sim_write", test_sim_write) ||
        !CU_add_test(s, "downgrade_detected", test_downgrade_detected) ||
        !CU_add_test(s, "hello_groups", test_hello_groups)) {
        CU_cleanup_registry();
        return 2;
    }
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return failed != 0;
}
