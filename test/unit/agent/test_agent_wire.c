/*
 * The qkeyd protocol codec (hwdrv/agent/wire.c, docs/agent.md): the bytes of docs/agent.md's
 * examples, round trips, and every error path a hostile peer can reach.
 */
#include <string.h>
#include <CUnit/Basic.h>

#include "base.h"
#include "agent_wire.h"

#define UUID "0a3e7c1b-5d2f-4e8a-9b6c-1f2e3d4c5b6a"

static void test_header_bytes(void)
{
    /* docs/agent.md, "Example": NEW_KEY request 7 with a 9-byte body */
    static const unsigned char want[QAG_HDR_LEN] = {0x51, 0x4b, 0x41, 0x47, 0x01, 0x01, 0x00, 0x00,
                                                    0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00, 0x09};
    unsigned char out[QAG_HDR_LEN];
    QAG_HDR h = {QAG_VERSION, QAG_OP_NEW_KEY, 0, 7, 9}, back;

    qag_hdr_encode(out, &h);
    CU_ASSERT(memcmp(out, want, sizeof(want)) == 0);
    CU_ASSERT_EQUAL(qag_hdr_decode(out, 0, &back), QKS_OK);
    CU_ASSERT(back.op == QAG_OP_NEW_KEY && back.request_id == 7 && back.body_len == 9);
    /* a request where a reply is expected, and the other way round */
    CU_ASSERT_EQUAL(qag_hdr_decode(out, 1, &back), QKS_ERR_INVALID);
    h.op |= QAG_REPLY;
    h.status = qag_status_from_err(QKS_ERR_NO_KEY);
    qag_hdr_encode(out, &h);
    CU_ASSERT_EQUAL(out[6], 0x00);
    CU_ASSERT_EQUAL(out[7], 0x07);
    CU_ASSERT_EQUAL(qag_hdr_decode(out, 1, &back), QKS_OK);
    CU_ASSERT_EQUAL(qag_err_from_status(back.status), QKS_ERR_NO_KEY);
    CU_ASSERT_EQUAL(qag_hdr_decode(out, 0, &back), QKS_ERR_INVALID);
}

static void test_header_errors(void)
{
    unsigned char b[QAG_HDR_LEN];
    QAG_HDR h = {QAG_VERSION, QAG_OP_RANDOM, 0, 1, 4}, back;

    qag_hdr_encode(b, &h);
    b[0] ^= 1; /* magic */
    CU_ASSERT_EQUAL(qag_hdr_decode(b, 0, &back), QKS_ERR_INVALID);
    CU_ASSERT(strstr(qks_last_error(), "magic") != NULL);
    qag_hdr_encode(b, &h);
    b[4] = 2; /* version */
    CU_ASSERT_EQUAL(qag_hdr_decode(b, 0, &back), QKS_ERR_INVALID);
    CU_ASSERT(strstr(qks_last_error(), "version 2") != NULL);
    qag_hdr_encode(b, &h);
    b[5] = 9; /* op */
    CU_ASSERT_EQUAL(qag_hdr_decode(b, 0, &back), QKS_ERR_INVALID);
    b[5] = 0;
    CU_ASSERT_EQUAL(qag_hdr_decode(b, 0, &back), QKS_ERR_INVALID);
    qag_hdr_encode(b, &h);
    b[7] = 1; /* status in a request */
    CU_ASSERT_EQUAL(qag_hdr_decode(b, 0, &back), QKS_ERR_INVALID);
    h.body_len = QAG_BODY_MAX + 1;
    qag_hdr_encode(b, &h);
    CU_ASSERT_EQUAL(qag_hdr_decode(b, 0, &back), QKS_ERR_INVALID);
    h.body_len = QAG_BODY_MAX;
    qag_hdr_encode(b, &h);
    CU_ASSERT_EQUAL(qag_hdr_decode(b, 0, &back), QKS_OK);
}

static void test_requests(void)
{
    unsigned char b[512];
    QAG_REQUEST r;
    size_t n;

    n = qag_body_new_key(b, sizeof(b), "SAE_B", QKS_PURPOSE_TLS, 32);
    CU_ASSERT_EQUAL(n, 3 + 1 + 5);
    CU_ASSERT(b[0] == 1 && b[1] == 0 && b[2] == 32 && b[3] == 5 && memcmp(b + 4, "SAE_B", 5) == 0);
    CU_ASSERT_EQUAL(qag_parse_request(QAG_OP_NEW_KEY, b, n, &r), QKS_OK);
    CU_ASSERT(strcmp(r.peer, "SAE_B") == 0 && r.purpose == QKS_PURPOSE_TLS && r.key_bytes == 32);
    /* truncated at every length, and one trailing byte */
    for (size_t cut = 0; cut < n; cut++)
        CU_ASSERT_EQUAL(qag_parse_request(QAG_OP_NEW_KEY, b, cut, &r), QKS_ERR_INVALID);
    CU_ASSERT_EQUAL(qag_parse_request(QAG_OP_NEW_KEY, b, n + 1, &r), QKS_ERR_INVALID);
    b[0] = 7; /* purpose */
    CU_ASSERT_EQUAL(qag_parse_request(QAG_OP_NEW_KEY, b, n, &r), QKS_ERR_INVALID);
    b[0] = 0;
    b[1] = 0xff; /* key bytes > QKS_KEY_MAX */
    CU_ASSERT_EQUAL(qag_parse_request(QAG_OP_NEW_KEY, b, n, &r), QKS_ERR_INVALID);
    b[1] = 0;
    b[4] = '/'; /* a peer outside the SAE ID charset */
    CU_ASSERT_EQUAL(qag_parse_request(QAG_OP_NEW_KEY, b, n, &r), QKS_ERR_INVALID);
    b[4] = '\0'; /* an embedded NUL */
    CU_ASSERT_EQUAL(qag_parse_request(QAG_OP_NEW_KEY, b, n, &r), QKS_ERR_INVALID);
    CU_ASSERT_EQUAL(qag_body_new_key(b, sizeof(b), "../x", 0, 32), 0);
    CU_ASSERT_EQUAL(qag_body_new_key(b, 5, "SAE_B", 0, 32), 0);

    n = qag_body_get_key(b, sizeof(b), "SAE_A", UUID, 32);
    CU_ASSERT_EQUAL(n, 2 + 1 + 5 + 1 + 36);
    CU_ASSERT_EQUAL(qag_parse_request(QAG_OP_GET_KEY, b, n, &r), QKS_OK);
    CU_ASSERT(strcmp(r.key_id, UUID) == 0 && strcmp(r.peer, "SAE_A") == 0);
    for (size_t cut = 0; cut < n; cut++)
        CU_ASSERT_EQUAL(qag_parse_request(QAG_OP_GET_KEY, b, cut, &r), QKS_ERR_INVALID);
    b[n - 1] = 'g'; /* not a UUID */
    CU_ASSERT_EQUAL(qag_parse_request(QAG_OP_GET_KEY, b, n, &r), QKS_ERR_INVALID);
    CU_ASSERT_EQUAL(qag_body_get_key(b, sizeof(b), "SAE_A", "not-a-uuid", 32), 0);

    n = qag_body_random(b, sizeof(b), 65536);
    CU_ASSERT(n == 4 && b[0] == 0 && b[1] == 1 && b[2] == 0 && b[3] == 0);
    CU_ASSERT_EQUAL(qag_parse_request(QAG_OP_RANDOM, b, n, &r), QKS_OK);
    CU_ASSERT_EQUAL(r.n, 65536);
    b[3] = 1; /* 65537 */
    CU_ASSERT_EQUAL(qag_parse_request(QAG_OP_RANDOM, b, n, &r), QKS_ERR_INVALID);
    memset(b, 0, 4);
    CU_ASSERT_EQUAL(qag_parse_request(QAG_OP_RANDOM, b, 4, &r), QKS_ERR_INVALID);
    CU_ASSERT_EQUAL(qag_body_random(b, sizeof(b), 0), 0);
    CU_ASSERT_EQUAL(qag_body_random(b, sizeof(b), 65537), 0);

    CU_ASSERT_EQUAL(qag_parse_request(QAG_OP_STATUS, b, 0, &r), QKS_OK);
    CU_ASSERT_EQUAL(qag_parse_request(QAG_OP_STATUS, b, 1, &r), QKS_ERR_INVALID);
    CU_ASSERT_EQUAL(qag_parse_request(QAG_OP_RNG_STATE, b, 0, &r), QKS_OK);
    CU_ASSERT_EQUAL(qag_parse_request(QAG_OP_RNG_STATE, b, 4, &r), QKS_ERR_INVALID);
    CU_ASSERT_EQUAL(qag_parse_request(6, b, 0, &r), QKS_ERR_INVALID);
    CU_ASSERT_EQUAL(qag_parse_request(9, b, 0, &r), QKS_ERR_INVALID);
}

static void test_key_reply(void)
{
    unsigned char key[32], b[256], got[QKS_KEY_MAX];
    char id[QKS_KEY_ID_MAX + 1];
    size_t n, len;

    for (size_t i = 0; i < sizeof(key); i++)
        key[i] = (unsigned char)i;
    n = qag_body_key(b, sizeof(b), UUID, key, sizeof(key));
    CU_ASSERT_EQUAL(n, 1 + 36 + 2 + 32);
    CU_ASSERT_EQUAL(qag_parse_key(b, n, id, got, sizeof(got), &len), QKS_OK);
    CU_ASSERT(len == 32 && memcmp(got, key, 32) == 0 && strcmp(id, UUID) == 0);
    for (size_t cut = 0; cut < n; cut++)
        CU_ASSERT_EQUAL(qag_parse_key(b, cut, id, got, sizeof(got), &len), QKS_ERR_INVALID);
    CU_ASSERT_EQUAL(qag_parse_key(b, n, id, got, 16, &len), QKS_ERR_INVALID); /* too big */
    b[1 + 36 + 1] = 0;                                                        /* a key of 0 bytes */
    CU_ASSERT_EQUAL(qag_parse_key(b, n, id, got, sizeof(got), &len), QKS_ERR_INVALID);
    CU_ASSERT_EQUAL(len, 0);
    CU_ASSERT_EQUAL(qag_body_key(b, sizeof(b), "x", key, 32), 0);
    CU_ASSERT_EQUAL(qag_body_key(b, 40, UUID, key, 32), 0);
}

static void test_status_and_detail(void)
{
    char d[16];

    CU_ASSERT_EQUAL(qag_status_from_err(QKS_OK), 0);
    for (int e = QKS_ERR_INVALID; e >= QKS_ERR_RESERVE; e--)
        CU_ASSERT_EQUAL(qag_err_from_status(qag_status_from_err(e)), e);
    CU_ASSERT_EQUAL(qag_err_from_status(999), QKS_ERR_INTERNAL);
    CU_ASSERT_EQUAL(qag_status_from_err(-999), (uint16_t)-QKS_ERR_INTERNAL);
    qag_detail_copy(d, sizeof(d), (const unsigned char *)"ok\nfake\x1b[1m", 11);
    CU_ASSERT_STRING_EQUAL(d, "ok?fake?[1m");
    qag_detail_copy(d, sizeof(d), (const unsigned char *)"0123456789abcdefghij", 20);
    CU_ASSERT_EQUAL(strlen(d), 15);
}

int main(void)
{
    CU_pSuite s;
    unsigned failed;

    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    s = CU_add_suite("qkeyd protocol codec", NULL, NULL);
    CU_add_test(s, "header bytes", test_header_bytes);
    CU_add_test(s, "header errors", test_header_errors);
    CU_add_test(s, "request bodies", test_requests);
    CU_add_test(s, "key replies", test_key_reply);
    CU_add_test(s, "status codes and details", test_status_and_detail);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
