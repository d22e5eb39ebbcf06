/*
 * CUnit suite of the etsi014 driver against a real qkey-kme-sim pair started by the test:
 * key delivery and access control, every injected fault, a KME that is down or presents a
 * certificate from another CA, exhaustion, prefetch, fork, restart persistence.
 * Usage: test_etsi014 PATH-TO-qkey-kme-sim
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "qkey/secmem.h"
#include "kmesim_util.h"

static const char *kmesim;
static TEST_KME kme;   /* rate 0, 200 keys: every count below is exact */
static TEST_KME other; /* a second link: its CA is "another CA" for kme */

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long stored(QHW_QKD *drv, const char *peer)
{
    json_t *o = json_object();
    long n = -1;

    if (drv->meth->status(drv, peer, o) == QKS_OK)
        n = (long)json_integer_value(json_object_get(o, "stored_key_count"));
    json_decref(o);
    return n;
}

static int init_suite(void)
{
    static const char *const args[] = {"--rate", "0", "--initial", "200", NULL};
    static const char *const args2[] = {"--rate", "0", "--initial", "10", NULL};

    if (test_kme_init(&kme, kmesim, args) != 0 || test_kme_start(&kme, kmesim) != 0)
        return -1;
    return test_kme_init(&other, kmesim, args2);
}

static int clean_suite(void)
{
    test_kme_fault(&kme, NULL);
    test_kme_cleanup(&kme);
    test_kme_cleanup(&other);
    return 0;
}

/* enc_keys at KME A by SAE_A, dec_keys at KME B by SAE_B: same key, once; the store shrinks by
 * exactly one key */
static void test_roundtrip(void)
{
    QHW_QKD *a = NULL, *b = NULL;
    QKS_KEY *ka = NULL, *kb = NULL, *again = NULL;
    const char *id;
    long before, after;

    CU_ASSERT_FATAL(test_drv_open(&kme, 'a', &a, NULL) == QKS_OK);
    CU_ASSERT_FATAL(test_drv_open(&kme, 'b', &b, NULL) == QKS_OK);
    before = stored(a, "SAE_B");
    CU_ASSERT(before > 0);
    CU_ASSERT_FATAL(a->meth->enc_keys(a, "SAE_B", 32, 1, &ka) == QKS_OK);
    CU_ASSERT(ka->len == 32);
    CU_ASSERT(qks_valid_key_id(ka->key_id));
    CU_ASSERT(strcmp(ka->peer, "SAE_B") == 0);
    id = ka->key_id;
    after = stored(a, "SAE_B");
    CU_ASSERT_EQUAL(after, before - 1);
    CU_ASSERT_FATAL(b->meth->dec_keys(b, "SAE_A", &id, 1, &kb) == QKS_OK);
    CU_ASSERT(kb->len == 32 && memcmp(ka->key, kb->key, 32) == 0);
    CU_ASSERT(strcmp(kb->key_id, ka->key_id) == 0);
    /* delivered once */
    CU_ASSERT_EQUAL(b->meth->dec_keys(b, "SAE_A", &id, 1, &again), QKS_ERR_KEY_UNKNOWN);
    CU_ASSERT(again == NULL);
    CU_ASSERT(strstr(qks_last_error(), "answered 400") != NULL);
    /* the connection is kept alive across requests */
    {
        json_t *o = json_object();

        a->meth->status(a, "SAE_B", o);
        CU_ASSERT_EQUAL(json_integer_value(json_object_get(o, "kme_connects")), 1);
        CU_ASSERT(json_is_object(json_object_get(o, "kme")));
        CU_ASSERT_STRING_EQUAL(
            json_string_value(json_object_get(json_object_get(o, "kme"), "source_KME_ID")),
            "KME_A");
        json_decref(o);
    }
    qks_key_free(ka);
    qks_key_free(kb);
    a->meth->close(a);
    b->meth->close(b);
}

/* several keys in one request, and one dec_keys for several IDs */
static void test_batch(void)
{
    QHW_QKD *a = NULL, *b = NULL;
    QKS_KEY *ka[5] = {0}, *kb[5] = {0};
    const char *ids[5];

    CU_ASSERT_FATAL(test_drv_open(&kme, 'a', &a, NULL) == QKS_OK);
    CU_ASSERT_FATAL(test_drv_open(&kme, 'b', &b, NULL) == QKS_OK);
    CU_ASSERT_FATAL(a->meth->enc_keys(a, "SAE_B", 32, 5, ka) == QKS_OK);
    for (int i = 0; i < 5; i++)
        ids[4 - i] = ka[i]->key_id; /* reversed: the answer follows the order asked */
    CU_ASSERT_FATAL(b->meth->dec_keys(b, "SAE_A", ids, 5, kb) == QKS_OK);
    for (int i = 0; i < 5; i++) {
        CU_ASSERT(strcmp(kb[4 - i]->key_id, ka[i]->key_id) == 0);
        CU_ASSERT(memcmp(kb[4 - i]->key, ka[i]->key, 32) == 0);
    }
    for (int i = 0; i < 5; i++) {
        qks_key_free(ka[i]);
        qks_key_free(kb[i]);
    }
    a->meth->close(a);
    b->meth->close(b);
}

/* access control: a key goes only to its slave SAE; an SAE only talks to its own KME */
static void test_access_control(void)
{
    QHW_QKD *a = NULL, *a_at_b = NULL, *b = NULL;
    QKS_KEY *k = NULL, *stolen = NULL;
    const char *id;
    char url[64];

    CU_ASSERT_FATAL(test_drv_open(&kme, 'a', &a, NULL) == QKS_OK);
    CU_ASSERT_FATAL(a->meth->enc_keys(a, "SAE_B", 32, 1, &k) == QKS_OK);
    id = k->key_id;
    /* SAE_A asks its own KME for the key it issued to SAE_B: refused */
    CU_ASSERT_EQUAL(a->meth->dec_keys(a, "SAE_B", &id, 1, &stolen), QKS_ERR_KEY_UNKNOWN);
    /* SAE_A's certificate at KME B: refused, 401 */
    snprintf(url, sizeof(url), "https://127.0.0.1:%d", kme.port_b);
    CU_ASSERT_FATAL(test_drv_open(&kme, 'a', &a_at_b, "qkd.kme_url", url, NULL) == QKS_OK);
    CU_ASSERT_EQUAL(a_at_b->meth->dec_keys(a_at_b, "SAE_A", &id, 1, &stolen), QKS_ERR_AUTH);
    CU_ASSERT(strstr(qks_last_error(), "answered 401: SAE SAE_A is not served by KME_B") != NULL);
    CU_ASSERT(stolen == NULL);
    /* the slave still gets it afterwards */
    CU_ASSERT_FATAL(test_drv_open(&kme, 'b', &b, NULL) == QKS_OK);
    CU_ASSERT_EQUAL(b->meth->dec_keys(b, "SAE_A", &id, 1, &stolen), QKS_OK);
    CU_ASSERT(stolen != NULL && memcmp(stolen->key, k->key, 32) == 0);
    /* malformed IDs never reach the KME */
    {
        const char *bad = "../../admin";
        QKS_KEY *x = NULL;

        CU_ASSERT_EQUAL(b->meth->dec_keys(b, "SAE_A", &bad, 1, &x), QKS_ERR_INVALID);
        CU_ASSERT_EQUAL(a->meth->enc_keys(a, "SAE_B/../x", 32, 1, &x), QKS_ERR_INVALID);
    }
    qks_key_free(k);
    qks_key_free(stolen);
    a->meth->close(a);
    a_at_b->meth->close(a_at_b);
    b->meth->close(b);
}

/* Each injected fault: a clean error naming the KME and the cause, no key, store intact for
 * the next request. */
static void expect_fault(const char *json, int want_rc, const char *want_text, size_t number)
{
    QHW_QKD *a = NULL;
    QKS_KEY *k[2] = {0}, *ok = NULL;
    char url[64];

    CU_ASSERT_FATAL(test_drv_open(&kme, 'a', &a, "qkd.timeout_ms", "600", NULL) == QKS_OK);
    CU_ASSERT_FATAL(a->meth->enc_keys(a, "SAE_B", 32, 1, &ok) == QKS_OK); /* warm connection */
    qks_key_free(ok);
    test_kme_fault(&kme, json);
    CU_ASSERT_EQUAL(a->meth->enc_keys(a, "SAE_B", 32, number, k), want_rc);
    CU_ASSERT(k[0] == NULL && k[1] == NULL);
    snprintf(url, sizeof(url), "KME https://127.0.0.1:%d", kme.port_a);
    if (strstr(qks_last_error(), url) == NULL || strstr(qks_last_error(), want_text) == NULL) {
        fprintf(stderr, "\n  fault %s: got \"%s\"\n", json, qks_last_error());
        CU_FAIL("error detail does not name the KME and the cause");
    }
    test_kme_fault(&kme, NULL);
    ok = NULL;
    CU_ASSERT_EQUAL(a->meth->enc_keys(a, "SAE_B", 32, 1, &ok), QKS_OK); /* service resumes */
    qks_key_free(ok);
    a->meth->close(a);
}

static void test_faults(void)
{
    double t0;

    expect_fault("{\"fault\":\"503\"}", QKS_ERR_NO_KEY, "answered 503: injected fault", 1);
    expect_fault("{\"fault\":\"malformed\"}", QKS_ERR_KME, "answer is not JSON", 1);
    expect_fault("{\"fault\":\"wrong_size\"}", QKS_ERR_KME, "not 32 bytes of base64", 1);
    expect_fault("{\"fault\":\"duplicate_ids\"}", QKS_ERR_KME, "appears twice", 2);
    expect_fault("{\"fault\":\"duplicate_ids\"}", QKS_ERR_KME, "2 keys, 1 were requested", 1);
    expect_fault("{\"fault\":\"drop\"}", QKS_ERR_KME, "closed the connection", 1);
    t0 = now_s();
    expect_fault("{\"fault\":\"delay\",\"delay_ms\":1500}", QKS_ERR_TIMEOUT,
                 "no answer within qkd.timeout_ms = 600", 1);
    /* bounded by the timeout (plus the two good requests around it), not by the delay */
    CU_ASSERT(now_s() - t0 < 1.4);
}

/* dec_keys and status retry once on a fresh connection; enc_keys never repeats silently */
static void test_no_silent_enc_retry(void)
{
    QHW_QKD *a = NULL;
    QKS_KEY *k = NULL;
    long before;

    CU_ASSERT_FATAL(test_drv_open(&kme, 'a', &a, NULL) == QKS_OK);
    before = stored(a, "SAE_B");
    test_kme_fault(&kme, "{\"fault\":\"drop\",\"count\":1}");
    CU_ASSERT_EQUAL(a->meth->enc_keys(a, "SAE_B", 32, 1, &k), QKS_ERR_KME);
    test_kme_fault(&kme, NULL);
    CU_ASSERT_EQUAL(stored(a, "SAE_B"), before); /* a dropped request consumed nothing */
    test_kme_fault(&kme, "{\"fault\":\"drop\",\"count\":1}");
    CU_ASSERT_EQUAL(stored(a, "SAE_B"), before); /* status: retried once, succeeds */
    test_kme_fault(&kme, NULL);
    a->meth->close(a);
}

static void test_kme_down_and_back(void)
{
    QHW_QKD *a = NULL;
    QKS_KEY *k = NULL;
    double t0;

    CU_ASSERT_FATAL(test_drv_open(&kme, 'a', &a, NULL) == QKS_OK);
    CU_ASSERT_EQUAL(a->meth->enc_keys(a, "SAE_B", 32, 1, &k), QKS_OK);
    qks_key_free(k);
    k = NULL;
    test_kme_stop(&kme);
    t0 = now_s();
    CU_ASSERT_EQUAL(a->meth->enc_keys(a, "SAE_B", 32, 1, &k), QKS_ERR_UNREACHABLE);
    CU_ASSERT(now_s() - t0 < 0.5); /* connection refused is immediate */
    CU_ASSERT(strstr(qks_last_error(), "unreachable: Connection refused") != NULL);
    CU_ASSERT(k == NULL);
    CU_ASSERT_FATAL(test_kme_start(&kme, kmesim) == 0);
    CU_ASSERT_EQUAL(a->meth->enc_keys(a, "SAE_B", 32, 1, &k), QKS_OK);
    qks_key_free(k);
    a->meth->close(a);
}

/* restart keeps undelivered keys */
static void test_restart_persists(void)
{
    QHW_QKD *a = NULL, *b = NULL;
    QKS_KEY *ka = NULL, *kb = NULL;
    const char *id;

    CU_ASSERT_FATAL(test_drv_open(&kme, 'a', &a, NULL) == QKS_OK);
    CU_ASSERT_FATAL(a->meth->enc_keys(a, "SAE_B", 32, 1, &ka) == QKS_OK);
    test_kme_stop(&kme);
    CU_ASSERT_FATAL(test_kme_start(&kme, kmesim) == 0);
    CU_ASSERT_FATAL(test_drv_open(&kme, 'b', &b, NULL) == QKS_OK);
    id = ka->key_id;
    CU_ASSERT_EQUAL(b->meth->dec_keys(b, "SAE_A", &id, 1, &kb), QKS_OK);
    CU_ASSERT(kb != NULL && memcmp(ka->key, kb->key, 32) == 0);
    qks_key_free(ka);
    qks_key_free(kb);
    a->meth->close(a);
    b->meth->close(b);
}

/* a KME certificate from another CA, and a name that does not match: refused, naming the KME */
static void test_wrong_ca_and_name(void)
{
    QHW_QKD *a = NULL;
    QKS_KEY *k = NULL;
    char ca[512];

    snprintf(ca, sizeof(ca), "%s/ca.pem", other.dir);
    CU_ASSERT_FATAL(test_drv_open(&kme, 'a', &a, "qkd.ca", ca, NULL) == QKS_OK);
    CU_ASSERT_EQUAL(a->meth->enc_keys(a, "SAE_B", 32, 1, &k), QKS_ERR_AUTH);
    CU_ASSERT(strstr(qks_last_error(), "certificate rejected") != NULL);
    CU_ASSERT(strstr(qks_last_error(), "KME https://127.0.0.1:") != NULL);
    a->meth->close(a);
    CU_ASSERT_FATAL(test_drv_open(&kme, 'a', &a, "qkd.kme_server_name", "kme.example.org", NULL) ==
                    QKS_OK);
    CU_ASSERT_EQUAL(a->meth->enc_keys(a, "SAE_B", 32, 1, &k), QKS_ERR_AUTH);
    CU_ASSERT(strstr(qks_last_error(), "hostname mismatch") != NULL);
    a->meth->close(a);
    /* localhost is in the KME certificate: accepted as the verified name */
    CU_ASSERT_FATAL(test_drv_open(&kme, 'a', &a, "qkd.kme_server_name", "localhost", NULL) ==
                    QKS_OK);
    CU_ASSERT_EQUAL(a->meth->enc_keys(a, "SAE_B", 32, 1, &k), QKS_OK);
    qks_key_free(k);
    a->meth->close(a);
    /* our client certificate from another CA: the KME answers 401 */
    {
        char cert[512], key[512];

        snprintf(cert, sizeof(cert), "%s/sae-a.pem", other.dir);
        snprintf(key, sizeof(key), "%s/sae-a.key", other.dir);
        CU_ASSERT_FATAL(test_drv_open(&kme, 'a', &a, "qkd.cert", cert, "qkd.key", key, NULL) ==
                        QKS_OK);
        k = NULL;
        CU_ASSERT_EQUAL(a->meth->enc_keys(a, "SAE_B", 32, 1, &k), QKS_ERR_AUTH);
        CU_ASSERT(strstr(qks_last_error(), "answered 401") != NULL);
        a->meth->close(a);
    }
}

/* A client certificate OpenSSL cannot use: every request fails at TLS set-up with that cause,
 * 1,000 times, without leaking (LeakSanitizer in the ASan build) or drifting to another cause. */
static void test_tls_setup_failure_repeated(void)
{
    QHW_QKD *a = NULL;
    QKS_KEY *k = NULL;
    char notcert[512];
    int same = 0;

    snprintf(notcert, sizeof(notcert), "%s/sae-a.key", kme.dir); /* a PEM, but not a certificate */
    CU_ASSERT_FATAL(test_drv_open(&kme, 'a', &a, "qkd.cert", notcert, NULL) == QKS_OK);
    for (int i = 0; i < 1000; i++) {
        int rc = a->meth->enc_keys(a, "SAE_B", 32, 1, &k);
        same +=
            rc == QKS_ERR_CONFIG && strstr(qks_last_error(), "qkd.cert is not a usable") != NULL;
    }
    CU_ASSERT_EQUAL(same, 1000);
    if (same != 1000)
        fprintf(stderr, "  last: %s\n", qks_last_error());
    a->meth->close(a);
}

static void test_config_errors(void)
{
    QHW_QKD *a = NULL;

    CU_ASSERT_EQUAL(test_drv_open(&kme, 'a', &a, "qkd.kme_url", "http://127.0.0.1:1", NULL),
                    QKS_ERR_CONFIG);
    CU_ASSERT_EQUAL(test_drv_open(&kme, 'a', &a, "qkd.key", "/nonexistent/key.pem", NULL),
                    QKS_ERR_IO);
    CU_ASSERT(strstr(qks_last_error(), "qkd.key = /nonexistent/key.pem") != NULL);
    CU_ASSERT(a == NULL);
}

/* key sizes outside the KME's min/max are refused before any enc_keys request */
static void test_key_size_limits(void)
{
    QHW_QKD *a = NULL;
    QKS_KEY *k = NULL;
    long before;

    CU_ASSERT_FATAL(test_drv_open(&kme, 'a', &a, NULL) == QKS_OK);
    before = stored(a, "SAE_B");
    CU_ASSERT_EQUAL(a->meth->enc_keys(a, "SAE_B", 4, 1, &k), QKS_ERR_INVALID);
    CU_ASSERT(strstr(qks_last_error(), "64 to 1024 bits") != NULL);
    CU_ASSERT_EQUAL(stored(a, "SAE_B"), before);
    a->meth->close(a);
}

/* bounded prefetch: keys fetched ahead in secure memory, counted in status, dropped in a forked
 * child, which opens its own connection and leaves the parent's alone */
static void test_prefetch_and_fork(void)
{
    QHW_QKD *a = NULL;
    QKS_KEY *k = NULL;
    json_t *o;
    long before;
    pid_t pid;
    int st = -1;

    CU_ASSERT_FATAL(test_drv_open(&kme, 'a', &a, "qkd.prefetch", "4", NULL) == QKS_OK);
    before = stored(a, "SAE_B");
    CU_ASSERT_FATAL(a->meth->enc_keys(a, "SAE_B", 32, 1, &k) == QKS_OK);
    qks_key_free(k);
    CU_ASSERT_EQUAL(stored(a, "SAE_B"), before - 5); /* 1 + 4 prefetched */
    for (int i = 0; i < 2; i++) {
        k = NULL;
        CU_ASSERT(a->meth->enc_keys(a, "SAE_B", 32, 1, &k) == QKS_OK);
        qks_key_free(k);
    }
    o = json_object();
    a->meth->status(a, "SAE_B", o);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(o, "prefetched")), 2);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(o, "stored_key_count")), before - 5);
    json_decref(o);
    fflush(NULL);
    pid = fork();
    if (pid == 0) {
        json_t *c = json_object();
        int bad = 0;

        a->meth->after_fork(a);
        bad |= a->meth->status(a, "SAE_B", c) != QKS_OK;
        bad |= json_integer_value(json_object_get(c, "prefetched")) != 0;
        bad |= json_integer_value(json_object_get(c, "kme_connects")) != 1; /* its own */
        if (bad)
            fprintf(stderr, "\n  child: %s (%s)\n", json_dumps(c, JSON_COMPACT), qks_last_error());
        json_decref(c);
        _exit(bad);
    }
    CU_ASSERT_FATAL(pid > 0);
    waitpid(pid, &st, 0);
    CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    /* the parent's connection is intact: same connection, prefetched keys still there */
    o = json_object();
    a->meth->status(a, "SAE_B", o);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(o, "kme_connects")), 1);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(o, "prefetched")), 2);
    json_decref(o);
    a->meth->close(a); /* wipes the prefetched keys */
}

/* exhaustion: 503 with the KME's message -> QKS_ERR_NO_KEY */
static void test_exhaustion(void)
{
    static const char *const args[] = {"--rate", "0", "--initial", "3", NULL};
    TEST_KME small;
    QHW_QKD *a = NULL;
    QKS_KEY *k[3] = {0}, *none = NULL;

    CU_ASSERT_FATAL(test_kme_init(&small, kmesim, args) == 0);
    CU_ASSERT_FATAL(test_kme_start(&small, kmesim) == 0);
    CU_ASSERT_FATAL(test_drv_open(&small, 'a', &a, NULL) == QKS_OK);
    CU_ASSERT_EQUAL(a->meth->enc_keys(a, "SAE_B", 32, 3, k), QKS_OK);
    CU_ASSERT_EQUAL(a->meth->enc_keys(a, "SAE_B", 32, 1, &none), QKS_ERR_NO_KEY);
    CU_ASSERT(strstr(qks_last_error(), "answered 503: no key for SAE_B") != NULL);
    CU_ASSERT_EQUAL(stored(a, "SAE_B"), 0);
    for (int i = 0; i < 3; i++)
        qks_key_free(k[i]);
    a->meth->close(a);
    test_kme_cleanup(&small);
}

/* keysource's qkd.on_exhausted over this driver: "fail" gives QKS_ERR_NO_KEY at once, "wait"
 * waits (up to qkd.timeout_ms) for the link to distil the next key */
static QKS_CTX *ctx_for(TEST_KME *k, const char *on_exhausted)
{
    QKS_CONFIG *cfg = qks_config_new();
    QKS_CTX *ctx = NULL;
    char v[512];

    qks_config_set(cfg, "qkd.driver", "etsi014");
    qks_config_set(cfg, "qkd.sae_id", "SAE_A");
    qks_config_set(cfg, "qkd.peers", "SAE_B");
    snprintf(v, sizeof(v), "https://127.0.0.1:%d", k->port_a);
    qks_config_set(cfg, "qkd.kme_url", v);
    snprintf(v, sizeof(v), "%s/ca.pem", k->dir);
    qks_config_set(cfg, "qkd.ca", v);
    snprintf(v, sizeof(v), "%s/sae-a.pem", k->dir);
    qks_config_set(cfg, "qkd.cert", v);
    snprintf(v, sizeof(v), "%s/sae-a.key", k->dir);
    qks_config_set(cfg, "qkd.key", v);
    qks_config_set(cfg, "qkd.timeout_ms", "3000");
    qks_config_set(cfg, "qkd.on_exhausted", on_exhausted);
    qks_config_set(cfg, "rng.source", "sim");
    if (qks_ctx_new(cfg, &ctx) != QKS_OK)
        fprintf(stderr, "\n  qks_ctx_new: %s\n", qks_last_error());
    qks_config_free(cfg);
    return ctx;
}

static void test_on_exhausted(void)
{
    /* 1024 bit/s: a 256-bit key every 250 ms, nothing stored at the start */
    static const char *const args[] = {"--rate", "1024", "--initial", "0", NULL};
    TEST_KME slow;
    QKS_CTX *fail_ctx, *wait_ctx;
    QKS_KEY *k = NULL;
    double t0;

    CU_ASSERT_FATAL(test_kme_init(&slow, kmesim, args) == 0);
    CU_ASSERT_FATAL(test_kme_start(&slow, kmesim) == 0);
    fail_ctx = ctx_for(&slow, "fail");
    wait_ctx = ctx_for(&slow, "wait");
    CU_ASSERT_FATAL(fail_ctx != NULL && wait_ctx != NULL);
    /* drain what accrued while starting */
    while (qks_key_new(fail_ctx, "SAE_B", &k) == QKS_OK) {
        qks_key_free(k);
        k = NULL;
    }
    CU_ASSERT(strstr(qks_last_error(), "answered 503: no key for SAE_B") != NULL);
    t0 = now_s();
    CU_ASSERT_EQUAL(qks_key_new(wait_ctx, "SAE_B", &k), QKS_OK);
    CU_ASSERT(k != NULL && k->len == 32);
    CU_ASSERT(now_s() - t0 < 2.0); /* the next key came within ~250 ms, not at the timeout */
    qks_key_free(k);
    qks_ctx_free(fail_ctx);
    qks_ctx_free(wait_ctx);
    test_kme_cleanup(&slow);
}

/* satellite passes: keys arrive only during passes; status shows the pass state */
static void test_satellite(void)
{
    /* 20000x: a 6-hour period is 1.08 s, a 6-minute pass 18 ms; first pass at 0.15 s */
    static const char *const args[] = {
        "--profile", "satellite",    "--initial", "0",      "--time-scale",
        "20000",     "--first-pass", "3000",      "--pass", "360",
        "--period",  "21600",        "--peak",    "100",    NULL};
    TEST_KME sat;
    QHW_QKD *a = NULL;
    long last = 0, steps = 0;
    int seen_out = 0;
    double t0;

    CU_ASSERT_FATAL(test_kme_init(&sat, kmesim, args) == 0);
    CU_ASSERT_FATAL(test_kme_start(&sat, kmesim) == 0);
    CU_ASSERT_FATAL(test_drv_open(&sat, 'a', &a, NULL) == QKS_OK);
    t0 = now_s();
    while (now_s() - t0 < 2.0) {
        json_t *o = json_object(), *ext;
        long n;
        int in_pass;

        CU_ASSERT_FATAL(a->meth->status(a, "SAE_B", o) == QKS_OK);
        ext = json_object_get(json_object_get(o, "kme"), "status_extension");
        n = (long)json_integer_value(json_object_get(o, "stored_key_count"));
        in_pass = json_is_true(json_object_get(ext, "in_pass"));
        if (!in_pass) {
            seen_out++;
            CU_ASSERT(json_real_value(json_object_get(ext, "supply_bps")) == 0);
            CU_ASSERT(json_real_value(json_object_get(ext, "next_pass_in_s")) > 0);
        }
        if (n > last)
            steps++; /* a pass (18 ms) shows as one step, or two when a sample falls inside */
        last = n;
        json_decref(o);
        usleep(50 * 1000);
    }
    /* 2 passes in 2 s (at 0.15 s and 1.23 s); each yields 2*peak*pass/pi bits = 89.5 keys */
    CU_ASSERT(seen_out > 10);
    CU_ASSERT(steps >= 2 && steps <= 4);
    CU_ASSERT(last >= 170 && last <= 185);
    if (last < 170 || last > 185 || steps < 2 || steps > 4)
        fprintf(stderr, "\n  satellite: %ld keys in %ld steps after 2 s\n", last, steps);
    a->meth->close(a);
    test_kme_cleanup(&sat);
}

int main(int argc, char **argv)
{
    CU_pSuite s;
    unsigned failed;

    if (argc != 2) {
        fprintf(stderr, "usage: %s PATH-TO-qkey-kme-sim\n", argv[0]);
        return 2;
    }
    kmesim = argv[1];
    signal(SIGPIPE, SIG_IGN);
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    s = CU_add_suite("etsi014 driver against qkey-kme-sim", init_suite, clean_suite);
    CU_add_test(s, "enc_keys/dec_keys round trip, once", test_roundtrip);
    CU_add_test(s, "batches keep the asked order", test_batch);
    CU_add_test(s, "access control", test_access_control);
    CU_add_test(s, "injected faults", test_faults);
    CU_add_test(s, "no silent enc_keys retry", test_no_silent_enc_retry);
    CU_add_test(s, "KME down and back", test_kme_down_and_back);
    CU_add_test(s, "restart keeps undelivered keys", test_restart_persists);
    CU_add_test(s, "KME certificate from another CA / wrong name", test_wrong_ca_and_name);
    CU_add_test(s, "config errors", test_config_errors);
    CU_add_test(s, "TLS set-up failure x1000: same cause, no leak",
                test_tls_setup_failure_repeated);
    CU_add_test(s, "key size limits", test_key_size_limits);
    CU_add_test(s, "prefetch and fork", test_prefetch_and_fork);
    CU_add_test(s, "exhaustion", test_exhaustion);
    CU_add_test(s, "satellite passes", test_satellite);
    CU_add_test(s, "keysource qkd.on_exhausted over etsi014", test_on_exhausted);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    failed = CU_get_number_of_failures() + CU_get_number_of_suites_failed();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
