/*
 * The ML-KEM + QKD KEMs (X25519MLKEM768-QKD, SecP256r1MLKEM768-QKD, SecP384r1MLKEM1024-QKD)
 * through EVP, as libssl uses them. Where the running libcrypto offers the hybrid ML-KEM KEMs
 * (OpenSSL 3.5): round trips with the documented sizes, the QKD part never optional (a replayed
 * key ID fails), a corrupted ML-KEM or ECDH part gives no common secret. Where it does not
 * (OpenSSL 3.0): the KEMs refuse to make keys and say why.
 */
#include <stdio.h>
#include <string.h>
#include <CUnit/Basic.h>
#include <openssl/err.h>

#include "helpers.h"

static OSSL_LIB_CTX *lib_a, *lib_b;
static int have_mlkem;

static const struct {
    const char *alg, *hybrid;
    size_t pub, ct, secret, mlkem_ct_off, ecdh_ct_off; /* where each part starts in the ct */
} kems[] = {
    {"X25519MLKEM768-QKD", "X25519MLKEM768", 1216, 1120, 64, 0, 1088},
    {"SecP256r1MLKEM768-QKD", "SecP256r1MLKEM768", 1249, 1153, 64, 65, 1},
    {"SecP384r1MLKEM1024-QKD", "SecP384r1MLKEM1024", 1665, 1665, 80, 97, 1},
};
#define NKEMS (sizeof(kems) / sizeof(kems[0]))

enum { BUF = 2048 };
typedef struct {
    EVP_PKEY *client, *peer;
    unsigned char pub[BUF], ct[BUF], ss_srv[256], ss_cli[256];
    size_t pub_len, ct_len, ss_srv_len, ss_cli_len;
} EXCHANGE;

static int start(EXCHANGE *x, const char *alg)
{
    memset(x, 0, sizeof(*x));
    x->pub_len = sizeof(x->pub);
    if ((x->client = qkt_client_key(lib_b, alg, x->pub, &x->pub_len)) == NULL ||
        (x->peer = qkt_server_peer(lib_a, alg, x->pub, x->pub_len)) == NULL)
        return 0;
    x->ct_len = sizeof(x->ct);
    x->ss_srv_len = sizeof(x->ss_srv);
    return qkt_encap(lib_a, x->peer, x->ct, &x->ct_len, x->ss_srv, &x->ss_srv_len);
}

static int finish(EXCHANGE *x, const unsigned char *ct)
{
    x->ss_cli_len = sizeof(x->ss_cli);
    return qkt_decap(lib_b, x->client, ct, x->ct_len, x->ss_cli, &x->ss_cli_len);
}

static void done(EXCHANGE *x)
{
    EVP_PKEY_free(x->client);
    EVP_PKEY_free(x->peer);
}

static void test_roundtrip(void)
{
    for (size_t i = 0; i < NKEMS && have_mlkem; i++) {
        EXCHANGE x;
        CU_ASSERT_FATAL(start(&x, kems[i].alg));
        /* docs/kem-wire-format.md: version, variant, u16 length, hybrid part, u8 + SAE ID ... */
        CU_ASSERT_EQUAL(x.pub_len, 4 + kems[i].pub + 1 + strlen("SAE_B"));
        CU_ASSERT_EQUAL(x.ct_len, 4 + kems[i].ct + 1 + strlen("SAE_A") + 1 + 36);
        CU_ASSERT(finish(&x, x.ct));
        /* hybrid secret || 32-byte QKD key */
        CU_ASSERT_EQUAL(x.ss_srv_len, kems[i].secret + 32);
        CU_ASSERT(x.ss_srv_len == x.ss_cli_len && memcmp(x.ss_srv, x.ss_cli, x.ss_srv_len) == 0);
        done(&x);
    }
}

static void test_qkd_part_not_optional(void)
{
    char err[400];

    for (size_t i = 0; i < NKEMS && have_mlkem; i++) {
        EXCHANGE x;
        CU_ASSERT_FATAL(start(&x, kems[i].alg));
        CU_ASSERT(finish(&x, x.ct));
        CU_ASSERT(!finish(&x, x.ct)); /* the same key ID again */
        CU_ASSERT(strstr(qkt_last_error(err, sizeof(err)), "no QKD key available") != NULL);
        done(&x);
    }
}

/* A flipped byte in the ML-KEM part (implicit rejection: a different secret) or in the ECDH
 * part (a different secret, or an invalid point refused): never the server's secret. */
static void test_corrupted_parts(void)
{
    for (size_t i = 0; i < NKEMS && have_mlkem; i++) {
        size_t offs[2] = {4 + kems[i].mlkem_ct_off + 7, 4 + kems[i].ecdh_ct_off + 5};
        for (int k = 0; k < 2; k++) {
            EXCHANGE x;
            unsigned char bad[BUF];
            CU_ASSERT_FATAL(start(&x, kems[i].alg));
            memcpy(bad, x.ct, x.ct_len);
            bad[offs[k]] ^= 0x20;
            if (finish(&x, bad))
                CU_ASSERT(memcmp(x.ss_srv, x.ss_cli, x.ss_srv_len) != 0);
            ERR_clear_error();
            done(&x);
        }
    }
}

static void test_absent_without_mlkem(void)
{
    unsigned char pub[BUF];
    size_t n = sizeof(pub);
    char err[400];
    EVP_PKEY *k;

    if (have_mlkem)
        return;
    k = qkt_client_key(lib_b, "X25519MLKEM768-QKD", pub, &n);
    CU_ASSERT(k == NULL);
    qkt_last_error(err, sizeof(err));
    printf("\n  refused: %s\n", err);
    CU_ASSERT(strstr(err, "does not offer") != NULL);
    EVP_PKEY_free(k);
}

int main(int argc, char **argv)
{
    const char *fast = "qkd.rate_limit = 1000000\nqkd.rate_burst = 1000000";
    EVP_KEM *kem;
    CU_pSuite s;
    int failed;

    if (argc != 2)
        return 2;
    qkt_provider_path = argv[1];
    qkt_pin_module();
    kem = EVP_KEM_fetch(NULL, "X25519MLKEM768", NULL);
    have_mlkem = kem != NULL;
    EVP_KEM_free(kem);
    ERR_clear_error();
    printf("libcrypto %s ML-KEM hybrids: testing %s\n", have_mlkem ? "offers" : "lacks",
           have_mlkem ? "the three ML-KEM + QKD KEMs" : "that they are refused with the reason");
    lib_a = qkt_libctx("a", "SAE_A", "SAE_B", fast);
    lib_b = qkt_libctx("b", "SAE_B", "SAE_A", fast);
    if (lib_a == NULL || lib_b == NULL || CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    s = CU_add_suite("provider_mlkem", NULL, NULL);
    CU_add_test(s, "round trip, documented sizes", test_roundtrip);
    CU_add_test(s, "QKD part never optional", test_qkd_part_not_optional);
    CU_add_test(s, "corrupted ML-KEM / ECDH part", test_corrupted_parts);
    CU_add_test(s, "absent where libcrypto lacks ML-KEM", test_absent_without_mlkem);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    failed = (int)(CU_get_number_of_failures() + CU_get_number_of_suites_failed());
    CU_cleanup_registry();
    OSSL_LIB_CTX_free(lib_a);
    OSSL_LIB_CTX_free(lib_b);
    qkt_cleanup_dir();
    return failed ? 1 : 0;
}
