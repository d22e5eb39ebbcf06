/*
 * Suite "provider_unload": what qkey.so leaves behind when OpenSSL unloads it (the last library
 * context using it is freed, as at OPENSSL_cleanup). Its locked-page pool must go with it: the
 * process's locked memory (VmLck) returns to what it was before the provider was loaded, and in
 * the sanitizer build LeakSanitizer finds nothing left from the unloaded module. This suite does
 * not pin the module (the others do, for readable sanitizer reports), so the unload is real.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "helpers.h"

/* A /proc/self/status field in kB, -1 if absent. */
static long status_kb(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    size_t n = strlen(field);

    while (f != NULL && fgets(line, sizeof(line), f) != NULL)
        if (strncmp(line, field, n) == 0 && line[n] == ':')
            v = atol(line + n + 1);
    if (f != NULL)
        fclose(f);
    return v;
}

static int module_mapped(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    char line[4096];
    int found = 0;

    while (f != NULL && fgets(line, sizeof(line), f) != NULL)
        found |= strstr(line, "/qkey.so") != NULL;
    if (f != NULL)
        fclose(f);
    return found;
}

/* Load, use (QRNG draws and one QKD key exchange, both taking locked memory), unload. */
static void test_unload_releases_locked_pool(void)
{
    long before = status_kb("VmLck"), loaded;
    OSSL_LIB_CTX *a, *b;
    unsigned char rnd[64], pub[256], ct[512], s1[256], s2[256];
    size_t pub_len = sizeof(pub), ct_len = sizeof(ct), l1 = sizeof(s1), l2 = sizeof(s2);
    EVP_PKEY *client, *peer;

    CU_ASSERT_FATAL(before >= 0);
    CU_ASSERT_FALSE_FATAL(module_mapped());
    a = qkt_libctx("ua", "SAE_A", "SAE_B", "qkd.rate_limit = 1000");
    b = qkt_libctx("ub", "SAE_B", "SAE_A", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT_EQUAL(RAND_bytes_ex(a, rnd, sizeof(rnd), 0), 1);
    client = qkt_client_key(b, "X25519-QKD", pub, &pub_len);
    if (client == NULL)
        ERR_print_errors_fp(stderr);
    CU_ASSERT_PTR_NOT_NULL_FATAL(client);
    peer = qkt_server_peer(a, "X25519-QKD", pub, pub_len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(peer);
    CU_ASSERT_EQUAL(qkt_encap(a, peer, ct, &ct_len, s1, &l1), 1);
    CU_ASSERT_EQUAL(qkt_decap(b, client, ct, ct_len, s2, &l2), 1);
    CU_ASSERT(l1 == l2 && memcmp(s1, s2, l1) == 0);
    EVP_PKEY_free(client);
    EVP_PKEY_free(peer);
    CU_ASSERT(module_mapped());
    loaded = status_kb("VmLck");
    OSSL_LIB_CTX_free(a);
    OSSL_LIB_CTX_free(b);
    CU_ASSERT_FALSE(module_mapped()); /* really unloaded */
    if (loaded == before)
        fprintf(stderr, "(mlock refused here: RLIMIT_MEMLOCK; the pool was not locked)\n");
    CU_ASSERT_EQUAL(status_kb("VmLck"), before);
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
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    s = CU_add_suite("provider_unload", NULL, NULL);
    CU_add_test(s, "unload releases the locked pool", test_unload_releases_locked_pool);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    failed = (int)(CU_get_number_of_failures() + CU_get_number_of_suites_failed());
    CU_cleanup_registry();
    qkt_cleanup_dir();
    return failed != 0;
}
