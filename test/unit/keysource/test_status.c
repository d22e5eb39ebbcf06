/* Suite "status": qks_status_json reports what `qkey status` shows, and no secret. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/sim.h"
#include "util.h"

static json_t *status(QKS_CTX *ctx, char **text)
{
    json_error_t err;
    CU_ASSERT_EQUAL_FATAL(qks_status_json(ctx, text), QKS_OK);
    json_t *j = json_loads(*text, 0, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    return j;
}

static json_t *peer(json_t *root, const char *sae)
{
    json_t *peers = json_object_get(root, "peers"), *p;
    size_t i;
    json_array_foreach(peers, i, p)
    {
        if (strcmp(json_string_value(json_object_get(p, "sae_id")), sae) == 0)
            return p;
    }
    return NULL;
}

static long long num(json_t *obj, const char *path1, const char *path2)
{
    json_t *v = json_object_get(obj, path1);
    if (path2 != NULL)
        v = json_object_get(v, path2);
    return json_is_integer(v) ? json_integer_value(v) : -1;
}

static void test_status_fields(void)
{
    const char *dir = tu_tmpdir();
    QKS_CTX *a =
        tu_sim_ctx(dir, "SAE_A", "SAE_B SAE_C", "qkd.rate_limit", "1", "qkd.rate_burst", "2", NULL);
    QKS_CTX *b = tu_sim_ctx(dir, "SAE_B", "SAE_A", NULL);
    QKS_KEY *k1 = NULL, *k2 = NULL, *k3 = NULL, *kb = NULL;
    char *text = NULL, hex[65];

    CU_ASSERT_EQUAL_FATAL(qks_key_new(a, "SAE_B", &k1), QKS_OK);
    CU_ASSERT_EQUAL_FATAL(qks_key_new(a, "SAE_B", &k2), QKS_OK);
    CU_ASSERT_EQUAL(qks_key_new(a, "SAE_B", &k3), QKS_ERR_RATE_LIMITED);
    CU_ASSERT_EQUAL(qks_key_new(a, "SAE_EVE", &k3), QKS_ERR_PEER_DENIED);

    json_t *j = status(a, &text);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "version")), qks_version());
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "sae_id")), "SAE_A");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "driver")), "sim");
    CU_ASSERT_EQUAL(num(j, "key_bits", NULL), 256);
    CU_ASSERT_EQUAL(num(j, "peers_denied", NULL), 1);
    json_t *pb = peer(j, "SAE_B"), *pc = peer(j, "SAE_C");
    CU_ASSERT_PTR_NOT_NULL_FATAL(pb);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pc);
    CU_ASSERT_EQUAL(num(pb, "keys_issued", NULL), 2);
    CU_ASSERT_EQUAL(num(pb, "rate_limited", NULL), 1);
    CU_ASSERT_EQUAL(num(pb, "link", "stored_key_count"), 2);
    CU_ASSERT_EQUAL(num(pb, "link", "keys_waiting_for_peer"), 2);
    CU_ASSERT_STRING_EQUAL(
        json_string_value(json_object_get(json_object_get(pb, "link"), "sim_link_mode")), "0700");
    CU_ASSERT(json_is_true(json_object_get(json_object_get(pb, "link"), "sim_link_writable")));
    CU_ASSERT_EQUAL(num(pc, "keys_issued", NULL), 0);
    CU_ASSERT_EQUAL(num(pc, "link", "stored_key_count"), 0);
    CU_ASSERT(json_is_object(json_object_get(j, "rng")));
    CU_ASSERT(json_is_string(json_object_get(json_object_get(j, "rng"), "state")));
    CU_ASSERT(json_is_boolean(json_object_get(json_object_get(j, "memory"), "locked")));
    CU_ASSERT(json_is_true(json_object_get(json_object_get(j, "memory"), "wipeonfork")));
    /* no key bytes in the status */
    for (size_t i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", k1->key[i]);
    CU_ASSERT(!tu_contains(text, hex));
    json_decref(j);
    free(text);

    /* the slave's view: one key waits for it, then none after the get */
    j = status(b, &text);
    CU_ASSERT_EQUAL(num(peer(j, "SAE_A"), "link", "keys_waiting_for_us"), 2);
    json_decref(j);
    free(text);
    CU_ASSERT_EQUAL(qks_key_get(b, "SAE_A", k1->key_id, &kb), QKS_OK);
    j = status(b, &text);
    CU_ASSERT_EQUAL(num(peer(j, "SAE_A"), "keys_fetched", NULL), 1);
    CU_ASSERT_EQUAL(num(peer(j, "SAE_A"), "link", "stored_key_count"), 1);
    json_decref(j);
    free(text);

    qks_key_free(k1);
    qks_key_free(k2);
    qks_key_free(kb);
    qks_ctx_free(a);
    qks_ctx_free(b);
}

/* A driver that cannot answer its status (a KME down) shows up as an error field of that peer;
 * the status itself still succeeds. The sim link cannot be made to fail its status, so its
 * method table is wrapped with a status that reports the KME unreachable. */
static int unreachable_status(QHW_QKD *drv, const char *peer, json_t *out)
{
    (void)drv;
    (void)out;
    return qks_set_error(QKS_ERR_UNREACHABLE, "KME https://127.0.0.1:1 unreachable for %s", peer);
}

static void test_status_driver_error(void)
{
    QKS_CTX *a = tu_sim_ctx(tu_tmpdir(), "SAE_A", "SAE_B", NULL);
    QHW_QKD_METHOD failing = qhw_qkd_sim_method;
    const QHW_QKD_METHOD *real = a->qkd->meth;
    char *text = NULL;

    failing.status = unreachable_status;
    a->qkd->meth = &failing;
    json_t *j = status(a, &text);
    json_t *link = json_object_get(peer(j, "SAE_B"), "link");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(link, "error")),
                           qks_strerror(QKS_ERR_UNREACHABLE));
    CU_ASSERT(tu_contains(json_string_value(json_object_get(link, "error_detail")), "SAE_B"));
    json_decref(j);
    free(text);
    a->qkd->meth = real;
    qks_ctx_free(a);
}

static void test_status_rng_only(void)
{
    QKS_CONFIG *cfg = qks_config_new();
    QKS_CTX *ctx = NULL;
    char *text = NULL;
    qks_config_set(cfg, "rng.source", "sim");
    CU_ASSERT_EQUAL_FATAL(qks_ctx_new(cfg, &ctx), QKS_OK);
    json_t *j = status(ctx, &text);
    CU_ASSERT(json_is_null(json_object_get(j, "driver")));
    CU_ASSERT_PTR_NULL(json_object_get(j, "peers"));
    CU_ASSERT(json_is_object(json_object_get(j, "rng")));
    json_decref(j);
    free(text);
    qks_ctx_free(ctx);
    qks_config_free(cfg);
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    CU_pSuite s = CU_add_suite("status", NULL, NULL);
    CU_add_test(s, "status fields and counters", test_status_fields);
    CU_add_test(s, "driver status failure is a field", test_status_driver_error);
    CU_add_test(s, "RNG-only status", test_status_rng_only);
    return tu_run();
}
