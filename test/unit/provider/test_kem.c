/*
 * The QKD KEM through EVP, as libssl drives it: client keygen + encoded public key, server
 * paramgen + set encoded public key + encapsulate, client decapsulate. Checks equal secrets for
 * every variant, size queries that cost no key, a replayed key ID, peers refused both ways,
 * crafted key shares and ciphertexts (truncated, oversized, garbage) refused with a reason, no
 * equal keys after fork, and 8 threads x 1000 pairs without key reuse.
 * Usage: test_kem PATH/TO/qkey.so
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <openssl/err.h>
#include <openssl/rand.h>

#include "helpers.h"

static OSSL_LIB_CTX *lib_a, *lib_b, *lib_a_slow, *lib_b_nopeer;
static const char *const algs[] = {"X25519-QKD", "X448-QKD", "P-256-QKD", "P-384-QKD", "QKD"};
static const size_t classical_len[] = {32, 56, 65, 97, 0};

enum { PUB_MAX = 300, CT_MAX = 400, SS_MAX = 300 };

typedef struct {
    EVP_PKEY *client, *peer;
    unsigned char pub[PUB_MAX], ct[CT_MAX], ss_srv[SS_MAX], ss_cli[SS_MAX];
    size_t pub_len, ct_len, ss_srv_len, ss_cli_len;
} EXCHANGE;

static void exchange_free(EXCHANGE *x)
{
    EVP_PKEY_free(x->client);
    EVP_PKEY_free(x->peer);
    memset(x, 0, sizeof(*x));
}

/* Client key in lib_b, server-side peer key in `server`. */
static int exchange_keys(EXCHANGE *x, OSSL_LIB_CTX *server, const char *alg)
{
    memset(x, 0, sizeof(*x));
    x->pub_len = sizeof(x->pub);
    x->client = qkt_client_key(lib_b, alg, x->pub, &x->pub_len);
    if (x->client == NULL)
        return 0;
    x->peer = qkt_server_peer(server, alg, x->pub, x->pub_len);
    return x->peer != NULL;
}

static int encap(OSSL_LIB_CTX *server, EXCHANGE *x)
{
    x->ct_len = sizeof(x->ct);
    x->ss_srv_len = sizeof(x->ss_srv);
    return qkt_encap(server, x->peer, x->ct, &x->ct_len, x->ss_srv, &x->ss_srv_len);
}

static int decap(OSSL_LIB_CTX *client, EXCHANGE *x, const unsigned char *ct, size_t ct_len)
{
    x->ss_cli_len = sizeof(x->ss_cli);
    return qkt_decap(client, x->client, ct, ct_len, x->ss_cli, &x->ss_cli_len);
}

/* The key ID inside a ciphertext (docs/kem-wire-format.md). */
static void ct_key_id(const unsigned char *ct, size_t n, char out[65])
{
    size_t off = 4 + (((size_t)ct[2] << 8) | ct[3]);
    size_t sae = ct[off], kid;

    out[0] = '\0';
    if (off + 1 + sae >= n)
        return;
    kid = ct[off + 1 + sae];
    if (kid > 64 || off + 2 + sae + kid > n)
        return;
    memcpy(out, ct + off + 2 + sae, kid);
    out[kid] = '\0';
}

static void test_roundtrip_all_variants(void)
{
    for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
        EXCHANGE x;
        CU_ASSERT_FATAL(exchange_keys(&x, lib_a, algs[i]));
        CU_ASSERT_EQUAL(x.pub_len, 4 + classical_len[i] + 1 + strlen("SAE_B"));
        CU_ASSERT(encap(lib_a, &x));
        CU_ASSERT(decap(lib_b, &x, x.ct, x.ct_len));
        /* classical secret || 32-byte QKD key (qkd.key_bits = 256) */
        CU_ASSERT(x.ss_srv_len == x.ss_cli_len && x.ss_srv_len >= 32);
        CU_ASSERT(memcmp(x.ss_srv, x.ss_cli, x.ss_srv_len) == 0);
        exchange_free(&x);
    }
}

/* Burst of one key: size queries must not take it, the real call does, the next is refused. */
static void test_size_query_costs_no_key(void)
{
    EXCHANGE x;
    EVP_PKEY_CTX *ctx;
    size_t ct_len = 0, ss_len = 0;
    char err[400];

    CU_ASSERT_FATAL(exchange_keys(&x, lib_a_slow, "X25519-QKD"));
    ctx = EVP_PKEY_CTX_new_from_pkey(lib_a_slow, x.peer, NULL);
    CU_ASSERT_FATAL(ctx != NULL && EVP_PKEY_encapsulate_init(ctx, NULL) > 0);
    for (int i = 0; i < 5; i++)
        CU_ASSERT(EVP_PKEY_encapsulate(ctx, NULL, &ct_len, NULL, &ss_len) > 0);
    CU_ASSERT(ct_len >= 4 + 32 + 2 + 5 + 36 && ss_len == 64);
    EVP_PKEY_CTX_free(ctx);
    CU_ASSERT(encap(lib_a_slow, &x));
    CU_ASSERT(x.ss_srv_len == 64);
    CU_ASSERT(!encap(lib_a_slow, &x));
    CU_ASSERT(strstr(qkt_last_error(err, sizeof(err)), "rate") != NULL);
    /* the client's size query does not fetch either: its one decapsulation still works */
    ctx = EVP_PKEY_CTX_new_from_pkey(lib_b, x.client, NULL);
    CU_ASSERT(ctx != NULL && EVP_PKEY_decapsulate_init(ctx, NULL) > 0 &&
              EVP_PKEY_decapsulate(ctx, NULL, &ss_len, x.ct, x.ct_len) > 0 && ss_len == 64);
    EVP_PKEY_CTX_free(ctx);
    exchange_free(&x);
}

static void test_replayed_key_id(void)
{
    EXCHANGE x;
    char err[400];

    CU_ASSERT_FATAL(exchange_keys(&x, lib_a, "X25519-QKD"));
    CU_ASSERT_FATAL(encap(lib_a, &x));
    CU_ASSERT(decap(lib_b, &x, x.ct, x.ct_len));
    CU_ASSERT(!decap(lib_b, &x, x.ct, x.ct_len));
    CU_ASSERT(strstr(qkt_last_error(err, sizeof(err)), "no QKD key available") != NULL);
    exchange_free(&x);
}

static void test_peers_refused(void)
{
    EXCHANGE x;
    char err[400];

    /* the client refuses a server SAE not in its qkd.peers, before asking for the key; QKD
     * alone (no classical part), so another SAE_B key can show the key is still there */
    EVP_PKEY *refusing;
    unsigned char pub[PUB_MAX];
    size_t pub_len = sizeof(pub);

    refusing = qkt_client_key(lib_b_nopeer, "QKD", pub, &pub_len);
    CU_ASSERT_FATAL(refusing != NULL);
    CU_ASSERT_FATAL(exchange_keys(&x, lib_a, "QKD"));
    CU_ASSERT_FATAL(encap(lib_a, &x));
    x.ss_cli_len = sizeof(x.ss_cli);
    CU_ASSERT(!qkt_decap(lib_b_nopeer, refusing, x.ct, x.ct_len, x.ss_cli, &x.ss_cli_len));
    CU_ASSERT(strstr(qkt_last_error(err, sizeof(err)), "server SAE SAE_A is not in qkd.peers") !=
              NULL);
    EVP_PKEY_free(refusing);
    CU_ASSERT(decap(lib_b, &x, x.ct, x.ct_len));
    CU_ASSERT(x.ss_cli_len == x.ss_srv_len && memcmp(x.ss_cli, x.ss_srv, x.ss_srv_len) == 0);
    exchange_free(&x);
    /* the server refuses a client SAE not in its qkd.peers */
    x.pub_len = sizeof(x.pub);
    x.client = qkt_client_key(lib_a, "X25519-QKD", x.pub, &x.pub_len); /* SAE_A's key share */
    CU_ASSERT_FATAL(x.client != NULL);
    x.peer = qkt_server_peer(lib_a, "X25519-QKD", x.pub, x.pub_len);
    CU_ASSERT_FATAL(x.peer != NULL);
    CU_ASSERT(!encap(lib_a, &x));
    CU_ASSERT(strstr(qkt_last_error(err, sizeof(err)), "peer SAE not allowed") != NULL);
    exchange_free(&x);
}

/* Every truncation, an extra byte, flipped header bytes, bad SAE IDs, garbage, bad points. */
static void test_crafted_key_shares(void)
{
    for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
        EXCHANGE x;
        unsigned char bad[PUB_MAX + 1];
        char err[400];
        EVP_PKEY *p;

        CU_ASSERT_FATAL(exchange_keys(&x, lib_a, algs[i]));
        for (size_t n = 0; n < x.pub_len; n++) {
            CU_ASSERT((p = qkt_server_peer(lib_a, algs[i], x.pub, n)) == NULL);
            EVP_PKEY_free(p);
            CU_ASSERT(strstr(qkt_last_error(err, sizeof(err)), "malformed") != NULL);
        }
        memcpy(bad, x.pub, x.pub_len);
        bad[x.pub_len] = 'X';
        CU_ASSERT((p = qkt_server_peer(lib_a, algs[i], bad, x.pub_len + 1)) == NULL);
        EVP_PKEY_free(p);
        CU_ASSERT(strstr(qkt_last_error(err, sizeof(err)), "trailing") != NULL);
        for (size_t off = 0; off < 4; off++) { /* version, variant, classical length */
            memcpy(bad, x.pub, x.pub_len);
            bad[off] ^= 0x40;
            CU_ASSERT((p = qkt_server_peer(lib_a, algs[i], bad, x.pub_len)) == NULL);
            EVP_PKEY_free(p);
            CU_ASSERT(qkt_last_error(err, sizeof(err))[0] != '\0');
        }
        memcpy(bad, x.pub, x.pub_len);
        bad[x.pub_len - 1] = '/'; /* SAE ID charset */
        CU_ASSERT((p = qkt_server_peer(lib_a, algs[i], bad, x.pub_len)) == NULL);
        EVP_PKEY_free(p);
        CU_ASSERT(strstr(qkt_last_error(err, sizeof(err)), "SAE ID") != NULL);
        for (int r = 0; r < 50; r++) {
            size_t n = (size_t)(r * 7) % (PUB_MAX + 1);
            CU_ASSERT_FATAL(RAND_bytes(bad, (int)sizeof(bad)) == 1);
            CU_ASSERT((p = qkt_server_peer(lib_a, algs[i], bad, n)) == NULL);
            EVP_PKEY_free(p);
            CU_ASSERT(qkt_last_error(err, sizeof(err))[0] != '\0');
        }
        if (classical_len[i] == 65 || classical_len[i] == 97) { /* a point off the curve */
            memcpy(bad, x.pub, x.pub_len);
            bad[4 + classical_len[i] - 1] ^= 1;
            CU_ASSERT((p = qkt_server_peer(lib_a, algs[i], bad, x.pub_len)) == NULL);
            EVP_PKEY_free(p);
            CU_ASSERT(strstr(qkt_last_error(err, sizeof(err)), "public key rejected") != NULL);
        }
        if (classical_len[i] == 32) { /* X25519 low-order point: refused before any QKD key */
            memcpy(bad, x.pub, x.pub_len);
            memset(bad + 4, 0, 32);
            EVP_PKEY_free(x.peer);
            CU_ASSERT_FATAL((x.peer = qkt_server_peer(lib_a, algs[i], bad, x.pub_len)) != NULL);
            CU_ASSERT(!encap(lib_a, &x));
            CU_ASSERT(strstr(qkt_last_error(err, sizeof(err)), "key agreement") != NULL);
        }
        exchange_free(&x);
    }
}

static void test_crafted_ciphertexts(void)
{
    for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
        EXCHANGE x;
        unsigned char bad[CT_MAX + 1];
        char err[400];
        size_t sae_off = 4 + classical_len[i];

        CU_ASSERT_FATAL(exchange_keys(&x, lib_a, algs[i]));
        CU_ASSERT_FATAL(encap(lib_a, &x));
        CU_ASSERT(!decap(lib_b, &x, x.ct, 0)); /* EVP refuses an empty input itself */
        ERR_clear_error();
        for (size_t n = 1; n < x.ct_len; n++) {
            CU_ASSERT(!decap(lib_b, &x, x.ct, n));
            CU_ASSERT(strstr(qkt_last_error(err, sizeof(err)), "malformed") != NULL);
        }
        memcpy(bad, x.ct, x.ct_len);
        bad[x.ct_len] = '0';
        CU_ASSERT(!decap(lib_b, &x, bad, x.ct_len + 1));
        CU_ASSERT(strstr(qkt_last_error(err, sizeof(err)), "trailing") != NULL);
        memcpy(bad, x.ct, x.ct_len);
        bad[x.ct_len - 1] = 'z'; /* key ID no longer a UUID */
        CU_ASSERT(!decap(lib_b, &x, bad, x.ct_len));
        CU_ASSERT(strstr(qkt_last_error(err, sizeof(err)), "key ID") != NULL);
        memcpy(bad, x.ct, x.ct_len);
        bad[sae_off] = 65; /* SAE ID length beyond the limit */
        CU_ASSERT(!decap(lib_b, &x, bad, x.ct_len));
        CU_ASSERT(strstr(qkt_last_error(err, sizeof(err)), "SAE ID") != NULL);
        for (int r = 0; r < 50; r++) {
            size_t n = 1 + (size_t)(r * 11) % CT_MAX;
            CU_ASSERT_FATAL(RAND_bytes(bad, (int)sizeof(bad)) == 1);
            CU_ASSERT(!decap(lib_b, &x, bad, n));
            CU_ASSERT(qkt_last_error(err, sizeof(err))[0] != '\0');
        }
        /* none of that consumed the key: the genuine ciphertext still decapsulates */
        CU_ASSERT(decap(lib_b, &x, x.ct, x.ct_len));
        CU_ASSERT(x.ss_cli_len == x.ss_srv_len && memcmp(x.ss_cli, x.ss_srv, x.ss_srv_len) == 0);
        exchange_free(&x);
    }
}

/* Parent and child encapsulate after fork: different key IDs, different secrets. */
static void test_fork_no_equal_keys(void)
{
    EXCHANGE x, y;
    int fds[2];
    pid_t pid;
    int status;

    CU_ASSERT_FATAL(exchange_keys(&x, lib_a, "X25519-QKD"));
    CU_ASSERT_FATAL(pipe(fds) == 0);
    pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        int ok = encap(lib_a, &x);
        ssize_t w = write(fds[1], &x, sizeof(x));
        _exit(ok && w == (ssize_t)sizeof(x) ? 0 : 1);
    }
    close(fds[1]);
    CU_ASSERT(encap(lib_a, &x));
    CU_ASSERT(read(fds[0], &y, sizeof(y)) == (ssize_t)sizeof(y));
    close(fds[0]);
    CU_ASSERT(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    {
        char kx[65], ky[65];
        ct_key_id(x.ct, x.ct_len, kx);
        ct_key_id(y.ct, y.ct_len, ky);
        CU_ASSERT(kx[0] != '\0' && strcmp(kx, ky) != 0);
        CU_ASSERT(memcmp(x.ss_srv, y.ss_srv, x.ss_srv_len) != 0);
        CU_ASSERT(memcmp(x.ss_srv + 32, y.ss_srv + 32, 32) != 0); /* the QKD halves too */
    }
    /* both are genuine keys of the link: the client decapsulates each */
    CU_ASSERT(decap(lib_b, &x, x.ct, x.ct_len) && memcmp(x.ss_cli, x.ss_srv, x.ss_srv_len) == 0);
    CU_ASSERT(decap(lib_b, &x, y.ct, y.ct_len) && memcmp(x.ss_cli, y.ss_srv, y.ss_srv_len) == 0);
    y.client = y.peer = NULL;
    exchange_free(&x);
}

enum { THREADS = 8, PAIRS = 1000 };
static char thread_key_ids[THREADS * PAIRS][65];

static void *thread_pairs(void *arg)
{
    size_t t = (size_t)arg;
    EXCHANGE x;
    int bad = 0;

    if (!exchange_keys(&x, lib_a, "X25519-QKD"))
        return (void *)1;
    for (size_t i = 0; i < PAIRS && !bad; i++) {
        bad = !encap(lib_a, &x) || !decap(lib_b, &x, x.ct, x.ct_len) ||
              x.ss_cli_len != x.ss_srv_len || memcmp(x.ss_cli, x.ss_srv, x.ss_srv_len) != 0;
        ct_key_id(x.ct, x.ct_len, thread_key_ids[t * PAIRS + i]);
    }
    if (bad)
        ERR_print_errors_fp(stderr);
    exchange_free(&x);
    return (void *)(size_t)bad;
}

static int cmp_ids(const void *a, const void *b)
{
    return strcmp(a, b);
}

static void test_threads_no_key_reuse(void)
{
    pthread_t th[THREADS];
    void *rv;
    int dup = 0;

    for (size_t t = 0; t < THREADS; t++)
        CU_ASSERT_FATAL(pthread_create(&th[t], NULL, thread_pairs, (void *)t) == 0);
    for (size_t t = 0; t < THREADS; t++) {
        CU_ASSERT(pthread_join(th[t], &rv) == 0);
        CU_ASSERT(rv == NULL);
    }
    qsort(thread_key_ids, THREADS * PAIRS, sizeof(thread_key_ids[0]), cmp_ids);
    for (size_t i = 0; i < THREADS * PAIRS; i++) {
        CU_ASSERT(thread_key_ids[i][0] != '\0');
        if (i > 0 && strcmp(thread_key_ids[i], thread_key_ids[i - 1]) == 0)
            dup++;
    }
    CU_ASSERT_EQUAL(dup, 0);
}

static int suite_init(void)
{
    const char *fast = "qkd.rate_limit = 1000000\nqkd.rate_burst = 1000000";

    lib_a = qkt_libctx("a", "SAE_A", "SAE_B", fast);
    lib_b = qkt_libctx("b", "SAE_B", "SAE_A", fast);
    lib_a_slow = qkt_libctx("a-slow", "SAE_A", "SAE_B", "qkd.rate_limit = 1\nqkd.rate_burst = 1");
    lib_b_nopeer = qkt_libctx("b-nopeer", "SAE_B", "SAE_Z", fast);
    return lib_a == NULL || lib_b == NULL || lib_a_slow == NULL || lib_b_nopeer == NULL;
}

static int suite_clean(void)
{
    OSSL_LIB_CTX_free(lib_a);
    OSSL_LIB_CTX_free(lib_b);
    OSSL_LIB_CTX_free(lib_a_slow);
    OSSL_LIB_CTX_free(lib_b_nopeer);
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
    s = CU_add_suite("provider_kem", suite_init, suite_clean);
    CU_add_test(s, "round trip, every variant", test_roundtrip_all_variants);
    CU_add_test(s, "size queries cost no key", test_size_query_costs_no_key);
    CU_add_test(s, "replayed key ID refused", test_replayed_key_id);
    CU_add_test(s, "peers refused both ways", test_peers_refused);
    CU_add_test(s, "crafted key shares refused", test_crafted_key_shares);
    CU_add_test(s, "crafted ciphertexts refused", test_crafted_ciphertexts);
    CU_add_test(s, "fork: no equal keys", test_fork_no_equal_keys);
    CU_add_test(s, "8 threads x 1000 pairs, no key reuse", test_threads_no_key_reuse);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    failed = (int)(CU_get_number_of_failures() + CU_get_number_of_suites_failed());
    CU_cleanup_registry();
    return failed != 0;
}
