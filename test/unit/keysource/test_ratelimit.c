/* Suite "ratelimit": the token bucket and its use on qks_key_new per peer. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util.h"

static void test_bucket(void)
{
    QKS_BUCKET b;
    uint64_t t = 1000000000ull;
    qks_bucket_reset(&b, 3, t);
    CU_ASSERT(qks_bucket_take(&b, 1, 3, t));
    CU_ASSERT(qks_bucket_take(&b, 1, 3, t));
    CU_ASSERT(qks_bucket_take(&b, 1, 3, t));
    CU_ASSERT(!qks_bucket_take(&b, 1, 3, t));
    CU_ASSERT(!qks_bucket_take(&b, 1, 3, t + 500000000ull)); /* half a token */
    CU_ASSERT(qks_bucket_take(&b, 1, 3, t + 1000000000ull));
    CU_ASSERT(!qks_bucket_take(&b, 1, 3, t + 1000000000ull));
    /* a long pause refills to the burst, never beyond */
    t += 100 * 1000000000ull;
    for (int i = 0; i < 3; i++)
        CU_ASSERT(qks_bucket_take(&b, 1, 3, t));
    CU_ASSERT(!qks_bucket_take(&b, 1, 3, t));
    /* a clock that goes backwards gives nothing */
    CU_ASSERT(!qks_bucket_take(&b, 1, 3, t - 5000000000ull));
}

static void test_key_new_limited_per_peer(void)
{
    const char *dir = tu_tmpdir();
    QKS_CTX *a =
        tu_sim_ctx(dir, "SAE_A", "SAE_B SAE_C", "qkd.rate_limit", "1", "qkd.rate_burst", "5", NULL);
    QKS_CTX *b =
        tu_sim_ctx(dir, "SAE_B", "SAE_A", "qkd.rate_limit", "1", "qkd.rate_burst", "2", NULL);
    QKS_KEY *k[6] = {0}, *extra = NULL;
    int ok = 0;

    for (int i = 0; i < 5; i++)
        ok += qks_key_new(a, "SAE_B", &k[i]) == QKS_OK;
    CU_ASSERT_EQUAL(ok, 5);
    CU_ASSERT_EQUAL(qks_key_new(a, "SAE_B", &k[5]), QKS_ERR_RATE_LIMITED);
    CU_ASSERT_PTR_NULL(k[5]);
    CU_ASSERT(tu_contains(qks_last_error(), "SAE_B"));
    CU_ASSERT(tu_contains(qks_last_error(), "qkd.rate_limit"));
    /* another peer has its own bucket */
    CU_ASSERT_EQUAL(qks_key_new(a, "SAE_C", &extra), QKS_OK);
    qks_key_free(extra);
    /* get is not limited: the slave fetches all 5 although its own burst is 2 */
    ok = 0;
    for (int i = 0; i < 5; i++) {
        QKS_KEY *kb = NULL;
        ok += qks_key_get(b, "SAE_A", k[i]->key_id, &kb) == QKS_OK;
        qks_key_free(kb);
    }
    CU_ASSERT_EQUAL(ok, 5);
    /* a refused request for a denied peer takes no token: still limited, not denied */
    CU_ASSERT_EQUAL(qks_key_new(a, "SAE_EVE", &extra), QKS_ERR_PEER_DENIED);
    for (int i = 0; i < 5; i++)
        qks_key_free(k[i]);
    qks_ctx_free(a);
    qks_ctx_free(b);
}

static void test_refill(void)
{
    const char *dir = tu_tmpdir();
    QKS_CTX *a =
        tu_sim_ctx(dir, "SAE_A", "SAE_B", "qkd.rate_limit", "20", "qkd.rate_burst", "1", NULL);
    QKS_KEY *k = NULL;
    CU_ASSERT_EQUAL(qks_key_new(a, "SAE_B", &k), QKS_OK);
    qks_key_free(k);
    k = NULL;
    CU_ASSERT_EQUAL(qks_key_new(a, "SAE_B", &k), QKS_ERR_RATE_LIMITED);
    struct timespec ts = {0, 120 * 1000000}; /* 20/s: one token after 50 ms */
    nanosleep(&ts, NULL);
    CU_ASSERT_EQUAL(qks_key_new(a, "SAE_B", &k), QKS_OK);
    qks_key_free(k);
    qks_ctx_free(a);
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    CU_pSuite s = CU_add_suite("ratelimit", NULL, NULL);
    CU_add_test(s, "token bucket", test_bucket);
    CU_add_test(s, "key_new limited per peer, get not", test_key_new_limited_per_peer);
    CU_add_test(s, "bucket refills", test_refill);
    return tu_run();
}
