/*
 * The etsi014 driver's HTTP/1.1 framing (hwdrv/etsi014/wire.c), case by case: the answers KMEs
 * give in the wild (HTTP/1.0 with Connection: close, chunked, 100 Continue, HTML error pages)
 * and the malformed ones that must be refused.
 */
#include <string.h>
#include <CUnit/Basic.h>

#include "etsi014.h"

static int head(const char *s, E14_HTTP_HEAD *h)
{
    return e14_http_parse_head(s, strlen(s), h);
}

static void test_request(void)
{
    char buf[512];
    int n = e14_http_request(buf, sizeof(buf), "kme.example", "8443", "/api/v1/keys/B/enc_keys",
                             "{\"number\":1}");

    CU_ASSERT_FATAL(n > 0);
    CU_ASSERT(strncmp(buf, "POST /api/v1/keys/B/enc_keys HTTP/1.1\r\nHost: kme.example:8443\r\n",
                      62) == 0);
    CU_ASSERT(strstr(buf, "\r\nContent-Length: 12\r\n\r\n{\"number\":1}") != NULL);
    CU_ASSERT(strstr(buf, "Connection") == NULL); /* HTTP/1.1: keep-alive is the default */
    n = e14_http_request(buf, sizeof(buf), "h", "1", "/status", NULL);
    CU_ASSERT_STRING_EQUAL(buf,
                           "GET /status HTTP/1.1\r\nHost: h:1\r\nAccept: application/json\r\n\r\n");
    CU_ASSERT_EQUAL(e14_http_request(buf, 20, "h", "1", "/status", NULL), -1);
}

static void test_heads(void)
{
    E14_HTTP_HEAD h;

    CU_ASSERT_EQUAL(head("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", &h), 1);
    CU_ASSERT(h.status == 200 && h.content_length == 5 && h.keep_alive && !h.chunked);
    /* HTTP/1.0, as Flask/Werkzeug KMEs answer: closes after the answer */
    CU_ASSERT_EQUAL(head("HTTP/1.0 400 BAD REQUEST\r\nContent-Length: 3\r\n\r\n", &h), 1);
    CU_ASSERT(h.status == 400 && !h.keep_alive);
    CU_ASSERT_EQUAL(
        head("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n", &h), 1);
    CU_ASSERT(h.keep_alive);
    CU_ASSERT_EQUAL(
        head("HTTP/1.1 200 OK\r\nConnection: upgrade, close\r\nContent-Length: 1\r\n\r\n", &h), 1);
    CU_ASSERT(!h.keep_alive);
    /* no length, not chunked: the body ends at close, so the connection cannot be reused */
    CU_ASSERT_EQUAL(head("HTTP/1.1 200 OK\r\n\r\n", &h), 1);
    CU_ASSERT(h.content_length == -1 && !h.keep_alive);
    CU_ASSERT_EQUAL(
        head("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 9\r\n\r\n", &h), 1);
    CU_ASSERT(h.chunked && h.content_length == -1 && h.keep_alive);
    CU_ASSERT_EQUAL(head("HTTP/1.1 204 No Content\r\n\r\n", &h), 1);
    CU_ASSERT(h.content_length == 0 && h.keep_alive);
    CU_ASSERT_EQUAL(head("HTTP/1.1 503 Service Unavailable\n\n", &h), 1); /* bare LF */
    CU_ASSERT_EQUAL(h.status, 503);
    /* incomplete */
    CU_ASSERT_EQUAL(head("HTTP/1.1 200 OK\r\nContent-Len", &h), 0);
    CU_ASSERT_EQUAL(head("", &h), 0);
    /* malformed: refused, never guessed */
    CU_ASSERT_EQUAL(head("HTTP/2 200\r\n\r\n", &h), -1);
    CU_ASSERT_EQUAL(head("HTTP/1.1 2000 OK\r\n\r\n", &h), -1);
    CU_ASSERT_EQUAL(head("HTTP/1.1 099 x\r\n\r\n", &h), -1);
    CU_ASSERT_EQUAL(head("SSH-2.0-OpenSSH\r\n\r\n", &h), -1);
    CU_ASSERT_EQUAL(head("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n", &h),
                    -1);
    CU_ASSERT_EQUAL(head("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", &h), -1);
    CU_ASSERT_EQUAL(head("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n", &h),
                    -1);
    CU_ASSERT_EQUAL(head("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", &h), -1);
    CU_ASSERT_EQUAL(head("HTTP/1.1 200 OK\r\nX: a\r\n folded\r\n\r\n", &h), -1);
    {
        static char big[E14_HTTP_HEAD_MAX + 100];
        memset(big, 'a', sizeof(big) - 1);
        memcpy(big, "HTTP/1.1 200 OK\r\nX: ", 20);
        CU_ASSERT_EQUAL(head(big, &h), -1); /* a head that never ends */
    }
}

static void test_chunked(void)
{
    char b[128];
    size_t out, used;
    const char *enc = "4\r\n{\"a\"\r\n3;x=y\r\n:1}\r\n0\r\nTrailer: z\r\n\r\nNEXT";

    strcpy(b, enc);
    CU_ASSERT_EQUAL(e14_http_dechunk(b, strlen(b), &out, &used), 1);
    CU_ASSERT(out == 7 && memcmp(b, "{\"a\":1}", 7) == 0);
    CU_ASSERT_EQUAL(used, strlen(enc) - 4);              /* "NEXT" is not part of it */
    for (size_t cut = 0; cut < strlen(enc) - 4; cut++) { /* partial: 0 and untouched */
        strcpy(b, enc);
        CU_ASSERT_EQUAL(e14_http_dechunk(b, cut, &out, &used), 0);
        CU_ASSERT_STRING_EQUAL(b, enc);
    }
    strcpy(b, "zz\r\n");
    CU_ASSERT_EQUAL(e14_http_dechunk(b, strlen(b), &out, &used), -1);
    strcpy(b, "3\r\nabcX\r\n0\r\n\r\n"); /* data longer than announced */
    CU_ASSERT_EQUAL(e14_http_dechunk(b, strlen(b), &out, &used), -1);
    strcpy(b, "fffffffffffffff\r\n");
    CU_ASSERT_EQUAL(e14_http_dechunk(b, strlen(b), &out, &used), -1);
}

static void test_exhausted(void)
{
    CU_ASSERT(e14_says_exhausted("Number of keys requested exceeds the generated key count"));
    CU_ASSERT(e14_says_exhausted("Not enough keys available"));
    CU_ASSERT(e14_says_exhausted("INSUFFICIENT KEY MATERIAL"));
    CU_ASSERT(!e14_says_exhausted("size shall be a multiple of 8"));
    CU_ASSERT(!e14_says_exhausted(""));
}

int main(void)
{
    CU_pSuite s;
    unsigned failed;

    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    s = CU_add_suite("etsi014 HTTP/1.1 framing", NULL, NULL);
    CU_add_test(s, "requests", test_request);
    CU_add_test(s, "answer heads", test_heads);
    CU_add_test(s, "chunked bodies", test_chunked);
    CU_add_test(s, "exhaustion phrases", test_exhausted);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
