/*
 * qcall unit tests: what a peer can send (signalling messages, KEM ciphertexts) is refused with
 * a reason when malformed and read exactly when well formed; the key exchange gives both sides
 * the same SRTP keys and a clear reason when the algorithm is missing.
 */
#include <stdlib.h>
#include <string.h>
#include <CUnit/Basic.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include "qcall.h"

/* ---- signalling messages */
static size_t field(uint8_t *p, uint8_t tag, const void *v, size_t len)
{
    p[0] = tag;
    p[1] = (uint8_t)(len >> 8);
    p[2] = (uint8_t)len;
    memcpy(p + 3, v, len);
    return 3 + len;
}

static size_t u32field(uint8_t *p, uint8_t tag, uint32_t x)
{
    uint8_t b[4] = {(uint8_t)(x >> 24), (uint8_t)(x >> 16), (uint8_t)(x >> 8), (uint8_t)x};

    return field(p, tag, b, 4);
}

/* INVITE body with the given window; kex name given. */
static size_t invite(uint8_t *p, const char *kex, uint32_t window)
{
    uint8_t port[2] = {0x9c, 0x40};
    size_t n = 0;

    n += field(p + n, 1, kex, strlen(kex));
    n += field(p + n, 4, port, 2);
    n += u32field(p + n, 5, 7);
    n += u32field(p + n, 6, 50);
    n += u32field(p + n, 7, window);
    return n;
}

static const char *refuse(uint8_t type, const uint8_t *body, size_t len)
{
    QCALL_MSG m;
    const char *why = NULL;

    if (qcall_msg_parse(type, body, len, &m, &why))
        return "(accepted)";
    return why ? why : "(no reason)";
}

static void test_msg_roundtrip(void)
{
    uint8_t buf[QCALL_MAX_MSG + 3], blob[100];
    QCALL_MSG in = {.type = QCALL_MSG_INVITE,
                    .media_port = 40000,
                    .call_no = 3,
                    .frames = 50,
                    .window = 32},
              out;
    const char *why = NULL;
    size_t n;

    strcpy(in.kex, "X25519-QKD");
    n = qcall_msg_encode(&in, buf, sizeof(buf));
    CU_ASSERT_FATAL(n > 3);
    CU_ASSERT_FATAL(qcall_msg_parse(buf[0], buf + 3, n - 3, &out, &why));
    CU_ASSERT_STRING_EQUAL(out.kex, "X25519-QKD");
    CU_ASSERT_EQUAL(out.media_port, 40000);
    CU_ASSERT_EQUAL(out.call_no, 3);
    CU_ASSERT_EQUAL(out.window, 32);

    memset(blob, 0xab, sizeof(blob));
    in = (QCALL_MSG){.type = QCALL_MSG_ACCEPT, .blob = blob, .blob_len = 100, .media_port = 9};
    n = qcall_msg_encode(&in, buf, sizeof(buf));
    CU_ASSERT_FATAL(qcall_msg_parse(buf[0], buf + 3, n - 3, &out, &why));
    CU_ASSERT_EQUAL(out.blob_len, 100);
    CU_ASSERT_EQUAL(memcmp(out.blob, blob, 100), 0);

    /* A message that does not fit the buffer is not written at all. */
    CU_ASSERT_EQUAL(qcall_msg_encode(&in, buf, 50), 0);
}

static void test_msg_refused(void)
{
    uint8_t b[512] = {0}, port0[2] = {0, 0}, ctl[] = "bad\nname";
    size_t n;

    CU_ASSERT_STRING_EQUAL(refuse(99, b, 0), "unknown message type");
    CU_ASSERT_STRING_EQUAL(refuse(QCALL_MSG_KEY, b, 0), "required field missing");
    CU_ASSERT_STRING_EQUAL(refuse(QCALL_MSG_KEY, (const uint8_t *)"\x03\x00", 2),
                           "truncated field header");
    CU_ASSERT_STRING_EQUAL(refuse(QCALL_MSG_KEY, (const uint8_t *)"\x03\x00\x09xy", 5),
                           "field length past the end of the message");
    CU_ASSERT_STRING_EQUAL(refuse(QCALL_MSG_KEY, (const uint8_t *)"\x63\x00\x00", 3),
                           "unknown field");
    n = field(b, 3, "", 0);
    CU_ASSERT_STRING_EQUAL(refuse(QCALL_MSG_KEY, b, n), "empty key field");
    n = field(b, 3, "k", 1);
    n += field(b + n, 3, "k", 1);
    CU_ASSERT_STRING_EQUAL(refuse(QCALL_MSG_KEY, b, n), "duplicate field");
    n = field(b, 3, "k", 1);
    n += u32field(b + n, 8, 1);
    CU_ASSERT_STRING_EQUAL(refuse(QCALL_MSG_KEY, b, n), "field not allowed in this message");
    n = field(b, 2, ctl, sizeof(ctl) - 1);
    CU_ASSERT_STRING_EQUAL(refuse(QCALL_MSG_ERROR, b, n), "bad error reason");
    n = invite(b, "X25519", 0);
    CU_ASSERT_STRING_EQUAL(refuse(QCALL_MSG_INVITE, b, n), "window out of range (1..4096)");
    n = invite(b, "X25519", 4097);
    CU_ASSERT_STRING_EQUAL(refuse(QCALL_MSG_INVITE, b, n), "window out of range (1..4096)");
    n = invite(b, "X25519\x01", 1);
    CU_ASSERT_STRING_EQUAL(refuse(QCALL_MSG_INVITE, b, n), "bad algorithm name");
    n = field(b, 3, "k", 1);
    n += field(b + n, 4, port0, 2);
    CU_ASSERT_STRING_EQUAL(refuse(QCALL_MSG_ACCEPT, b, n), "bad media port");
    n = field(b, 8, "abc", 3);
    CU_ASSERT_STRING_EQUAL(refuse(QCALL_MSG_BYE, b, n), "bad counter field");
    n = invite(b, "X25519", 1);
    CU_ASSERT_STRING_EQUAL(refuse(QCALL_MSG_INVITE, b, n), "(accepted)");
}

/* ---- key ID from a KEM ciphertext (docs/kem-wire-format.md) */
static const char uuid[] = "3fa85f64-5717-4562-b3fc-2c963f66afa6";

static size_t ciphertext(uint8_t *p, size_t classical, const char *sae, const char *key_id)
{
    size_t n = 0;

    p[n++] = 1;
    p[n++] = 1;
    p[n++] = (uint8_t)(classical >> 8);
    p[n++] = (uint8_t)classical;
    memset(p + n, 0x42, classical);
    n += classical;
    p[n++] = (uint8_t)strlen(sae);
    memcpy(p + n, sae, strlen(sae));
    n += strlen(sae);
    p[n++] = (uint8_t)strlen(key_id);
    memcpy(p + n, key_id, strlen(key_id));
    return n + strlen(key_id);
}

static void test_key_id(void)
{
    uint8_t ct[256];
    char id[QCALL_MAX_KEY_ID];
    size_t n = ciphertext(ct, 32, "SAE_A", uuid);

    CU_ASSERT_FATAL(qcall_key_id(ct, n, id, sizeof(id)));
    CU_ASSERT_STRING_EQUAL(id, uuid);
    n = ciphertext(ct, 0, "SAE_A", uuid); /* pure QKD: no classical part */
    CU_ASSERT(qcall_key_id(ct, n, id, sizeof(id)));

    n = ciphertext(ct, 32, "SAE_A", uuid);
    CU_ASSERT_FALSE(qcall_key_id(ct, n - 1, id, sizeof(id))); /* truncated */
    ct[n] = '0';
    CU_ASSERT_FALSE(qcall_key_id(ct, n + 1, id, sizeof(id))); /* trailing byte */
    CU_ASSERT_FALSE(qcall_key_id(ct, n, id, 10));             /* does not fit */
    CU_ASSERT_FALSE(qcall_key_id(NULL, 0, id, sizeof(id)));
    ct[0] = 2;
    CU_ASSERT_FALSE(qcall_key_id(ct, n, id, sizeof(id))); /* unknown format version */
    n = ciphertext(ct, 32, "", uuid);
    CU_ASSERT_FALSE(qcall_key_id(ct, n, id, sizeof(id))); /* empty SAE ID */
    n = ciphertext(ct, 32, "SAE_A", "3fa85f64-5717-4562-b3fc-2c963f66afa\n");
    CU_ASSERT_FALSE(qcall_key_id(ct, n, id, sizeof(id))); /* not UUID characters */
    n = ciphertext(ct, 32, "SAE_A", uuid);
    ct[2] = 0xff; /* classical length past the end */
    CU_ASSERT_FALSE(qcall_key_id(ct, n, id, sizeof(id)));
}

/* ---- key exchange: both ends derive the same SRTP keys; the directions differ */
static void test_kex_x25519(void)
{
    QCALL_KEX kex;
    EVP_PKEY *pair = NULL;
    uint8_t *pub = NULL, *ct = NULL, *s1 = NULL, *s2 = NULL;
    uint8_t k1[2 * QCALL_SRTP_MASTER], k2[2 * QCALL_SRTP_MASTER];
    size_t pub_len, ct_len, l1, l2;
    char err[512];

    CU_ASSERT_FATAL(qcall_kex_init(&kex, "X25519"));
    CU_ASSERT_FALSE(kex.is_kem);
    CU_ASSERT_FATAL(qcall_kex_keygen(&kex, &pair, &pub, &pub_len, err, sizeof(err)));
    CU_ASSERT_EQUAL(pub_len, 32);
    CU_ASSERT_FATAL(qcall_kex_encap(&kex, pub, pub_len, &ct, &ct_len, &s1, &l1, err, sizeof(err)));
    CU_ASSERT_FATAL(qcall_kex_decap(&kex, pair, ct, ct_len, &s2, &l2, err, sizeof(err)));
    CU_ASSERT_EQUAL_FATAL(l1, l2);
    CU_ASSERT_EQUAL(memcmp(s1, s2, l1), 0);
    CU_ASSERT_FATAL(qcall_kex_srtp_keys(s1, l1, k1, err, sizeof(err)));
    CU_ASSERT_FATAL(qcall_kex_srtp_keys(s2, l2, k2, err, sizeof(err)));
    CU_ASSERT_EQUAL(memcmp(k1, k2, sizeof(k1)), 0);
    CU_ASSERT_NOT_EQUAL(memcmp(k1, k1 + QCALL_SRTP_MASTER, QCALL_SRTP_MASTER), 0);

    /* A public key of the wrong size is refused with a reason, not used. */
    OPENSSL_free(ct);
    OPENSSL_secure_clear_free(s1, l1);
    CU_ASSERT_FALSE(
        qcall_kex_encap(&kex, pub, pub_len - 1, &ct, &ct_len, &s1, &l1, err, sizeof(err)));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "public key is not usable"));
    CU_ASSERT_PTR_NULL(ct);
    CU_ASSERT_PTR_NULL(s1);
    OPENSSL_secure_clear_free(s2, l2);
    OPENSSL_free(pub);
    EVP_PKEY_free(pair);
}

static void test_kex_missing(void)
{
    QCALL_KEX kex;
    EVP_PKEY *pair = NULL;
    uint8_t *pub = NULL;
    size_t pub_len;
    char err[512];

    CU_ASSERT_FATAL(qcall_kex_init(&kex, "NO-SUCH-KEM"));
    CU_ASSERT_TRUE(kex.is_kem);
    CU_ASSERT_FALSE(qcall_kex_keygen(&kex, &pair, &pub, &pub_len, err, sizeof(err)));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "no provider offers NO-SUCH-KEM"));
    CU_ASSERT_PTR_NULL(pair);
    CU_ASSERT_PTR_NULL(pub);
}

int main(void)
{
    CU_pSuite s;
    unsigned failed;

    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    s = CU_add_suite("qcall_wire", NULL, NULL);
    CU_add_test(s, "signalling round trip", test_msg_roundtrip);
    CU_add_test(s, "signalling refusals", test_msg_refused);
    CU_add_test(s, "key ID from ciphertext", test_key_id);
    CU_add_test(s, "X25519 key exchange and HKDF", test_kex_x25519);
    CU_add_test(s, "missing KEM", test_kex_missing);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    failed = CU_get_number_of_failures();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
