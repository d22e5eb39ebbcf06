/*
 * Conformance cases: wrong sessions, states, templates and lengths must give the exact CKR_
 * codes of PKCS#11 Base 3.0. Written once against the function list and run against
 * libqkey-pkcs11.so and SoftHSM2 (argv[1]: qkey | softhsm). Mechanisms a module does not list
 * are skipped there. Where the two modules answer differently and the spec decides, the case
 * says which module the spec backs.
 */
#include <stdio.h>
#include <string.h>
#include <CUnit/Basic.h>

#include "p11_harness.h"

static CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
static const unsigned char key16[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

#define F     p11.f
#define END() (void)F->C_CloseAllSessions(p11.slot)

static void test_session_handles(void)
{
    CK_SESSION_INFO info;
    CK_SESSION_HANDLE s;
    EXPECT(F->C_GetSessionInfo(0x7777777, &info), CKR_SESSION_HANDLE_INVALID);
    EXPECT(F->C_CloseSession(0x7777777), CKR_SESSION_HANDLE_INVALID);
    EXPECT(F->C_OpenSession(p11.slot, 0, NULL, NULL, &s), CKR_SESSION_PARALLEL_NOT_SUPPORTED);
    EXPECT(F->C_OpenSession(0x7777777, CKF_SERIAL_SESSION, NULL, NULL, &s), CKR_SLOT_ID_INVALID);
    EXPECT(F->C_OpenSession(p11.slot, CKF_SERIAL_SESSION, NULL, NULL, NULL), CKR_ARGUMENTS_BAD);
    s = p11_session(0);
    EXPECT(F->C_GetSessionInfo(s, &info), CKR_OK);
    CU_ASSERT_EQUAL(info.state, CKS_RW_PUBLIC_SESSION);
    EXPECT(F->C_CloseSession(s), CKR_OK);
    EXPECT(F->C_CloseSession(s), CKR_SESSION_HANDLE_INVALID);
    END();
}

static void test_login_states(void)
{
    CK_SESSION_HANDLE ro, rw = p11_session(0);
    CK_SESSION_INFO info;
    /* Base 3.0, 5.6 C_Logout: CKR_USER_NOT_LOGGED_IN. SoftHSM2 2.6.1 answers CKR_OK: the spec
     * is on our side. */
    EXPECT(F->C_Logout(rw), p11.is_qkey ? CKR_USER_NOT_LOGGED_IN : CKR_OK);
    EXPECT(F->C_Login(rw, CKU_USER, (CK_UTF8CHAR *)"000000", 6), CKR_PIN_INCORRECT);
    EXPECT(F->C_Login(rw, 77, (CK_UTF8CHAR *)USER_PIN, 6), CKR_USER_TYPE_INVALID);
    EXPECT(F->C_Login(rw, CKU_USER, (CK_UTF8CHAR *)USER_PIN, 6), CKR_OK);
    EXPECT(F->C_Login(rw, CKU_USER, (CK_UTF8CHAR *)USER_PIN, 6), CKR_USER_ALREADY_LOGGED_IN);
    EXPECT(F->C_Login(rw, CKU_SO, (CK_UTF8CHAR *)SO_PIN, 8), CKR_USER_ANOTHER_ALREADY_LOGGED_IN);
    EXPECT(F->C_GetSessionInfo(rw, &info), CKR_OK);
    CU_ASSERT_EQUAL(info.state, CKS_RW_USER_FUNCTIONS);
    EXPECT(F->C_Logout(rw), CKR_OK);
    /* SO login while a read-only session exists */
    EXPECT(F->C_OpenSession(p11.slot, CKF_SERIAL_SESSION, NULL, NULL, &ro), CKR_OK);
    EXPECT(F->C_Login(rw, CKU_SO, (CK_UTF8CHAR *)SO_PIN, 8), CKR_SESSION_READ_ONLY_EXISTS);
    EXPECT(F->C_CloseSession(ro), CKR_OK);
    EXPECT(F->C_Login(rw, CKU_SO, (CK_UTF8CHAR *)SO_PIN, 8), CKR_OK);
    EXPECT(F->C_OpenSession(p11.slot, CKF_SERIAL_SESSION, NULL, NULL, &ro),
           CKR_SESSION_READ_WRITE_SO_EXISTS);
    EXPECT(F->C_GetSessionInfo(rw, &info), CKR_OK);
    CU_ASSERT_EQUAL(info.state, CKS_RW_SO_FUNCTIONS);
    END();
    /* closing the last session logged the SO out */
    rw = p11_session(0);
    EXPECT(F->C_GetSessionInfo(rw, &info), CKR_OK);
    CU_ASSERT_EQUAL(info.state, CKS_RW_PUBLIC_SESSION);
    END();
}

static void test_pin_rules(void)
{
    CK_SESSION_HANDLE s = p11_session(1);
    /* C_InitPIN needs the SO; C_SetPIN changes the user's PIN after checking the old one */
    EXPECT(F->C_InitPIN(s, (CK_UTF8CHAR *)"654321", 6), CKR_USER_NOT_LOGGED_IN);
    EXPECT(F->C_SetPIN(s, (CK_UTF8CHAR *)"999999", 6, (CK_UTF8CHAR *)"654321", 6),
           CKR_PIN_INCORRECT);
    EXPECT(F->C_SetPIN(s, (CK_UTF8CHAR *)USER_PIN, 6, (CK_UTF8CHAR *)"1", 1), CKR_PIN_LEN_RANGE);
    EXPECT(F->C_SetPIN(s, (CK_UTF8CHAR *)USER_PIN, 6, (CK_UTF8CHAR *)"654321", 6), CKR_OK);
    EXPECT(F->C_Logout(s), CKR_OK);
    EXPECT(F->C_Login(s, CKU_USER, (CK_UTF8CHAR *)USER_PIN, 6), CKR_PIN_INCORRECT);
    EXPECT(F->C_Login(s, CKU_USER, (CK_UTF8CHAR *)"654321", 6), CKR_OK);
    EXPECT(F->C_SetPIN(s, (CK_UTF8CHAR *)"654321", 6, (CK_UTF8CHAR *)USER_PIN, 6), CKR_OK);
    END();
}

static void test_create_templates(void)
{
    CK_SESSION_HANDLE s = p11_session(1), ro;
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_KEY_TYPE aes = CKK_AES;
    CK_ULONG len = 16;
    CK_OBJECT_HANDLE h;
    CK_ATTRIBUTE no_class[] = {{CKA_KEY_TYPE, &aes, sizeof(aes)}, {CKA_VALUE, (void *)key16, 16}};
    CK_ATTRIBUTE bad_len[] = {{CKA_CLASS, &cls, sizeof(cls)},
                              {CKA_KEY_TYPE, &aes, sizeof(aes)},
                              {CKA_VALUE, (void *)key16, 15}};
    CK_ATTRIBUTE bad_bool[] = {{CKA_CLASS, &cls, sizeof(cls)},
                               {CKA_KEY_TYPE, &aes, sizeof(aes)},
                               {CKA_VALUE, (void *)key16, 16},
                               {CKA_SENSITIVE, &len, sizeof(len)}};
    CK_ATTRIBUTE no_value[] = {{CKA_CLASS, &cls, sizeof(cls)}, {CKA_KEY_TYPE, &aes, sizeof(aes)}};
    CK_ATTRIBUTE token[] = {{CKA_CLASS, &cls, sizeof(cls)},
                            {CKA_KEY_TYPE, &aes, sizeof(aes)},
                            {CKA_VALUE, (void *)key16, 16},
                            BOOL_ATTR(CKA_TOKEN, yes)};
    CK_ATTRIBUTE local[] = {{CKA_CLASS, &cls, sizeof(cls)},
                            {CKA_KEY_TYPE, &aes, sizeof(aes)},
                            {CKA_VALUE, (void *)key16, 16},
                            BOOL_ATTR(CKA_LOCAL, yes)};
    EXPECT(F->C_CreateObject(s, no_class, 2, &h), CKR_TEMPLATE_INCOMPLETE);
    EXPECT(F->C_CreateObject(s, no_value, 2, &h), CKR_TEMPLATE_INCOMPLETE);
    /* An AES key is 16, 24 or 32 bytes (Current Mechanisms 3.0, 2.10.1). SoftHSM2 2.6.1
     * accepts 15: the spec is on our side. */
    EXPECT(F->C_CreateObject(s, bad_len, 3, &h),
           p11.is_qkey ? CKR_ATTRIBUTE_VALUE_INVALID : CKR_OK);
    EXPECT(F->C_CreateObject(s, bad_bool, 4, &h), CKR_ATTRIBUTE_VALUE_INVALID);
    EXPECT(F->C_CreateObject(s, local, 4, &h), CKR_ATTRIBUTE_READ_ONLY);
    EXPECT(F->C_CreateObject(s, token, 4, NULL), CKR_ARGUMENTS_BAD);
    EXPECT(F->C_OpenSession(p11.slot, CKF_SERIAL_SESSION, NULL, NULL, &ro), CKR_OK);
    EXPECT(F->C_CreateObject(ro, token, 4, &h), CKR_SESSION_READ_ONLY);
    EXPECT(F->C_CreateObject(s, token, 4, &h), CKR_OK);
    EXPECT(F->C_DestroyObject(ro, h), CKR_SESSION_READ_ONLY);
    EXPECT(F->C_DestroyObject(s, h), CKR_OK);
    EXPECT(F->C_DestroyObject(s, h), CKR_OBJECT_HANDLE_INVALID);
    END();
}

static void test_get_attribute_rules(void)
{
    CK_SESSION_HANDLE s = p11_session(1);
    CK_BYTE label[] = "a-label", buf[64];
    CK_OBJECT_CLASS cls;
    CK_ATTRIBUTE extra[] = {BOOL_ATTR(CKA_SENSITIVE, yes), {CKA_LABEL, label, 7}};
    CK_OBJECT_HANDLE h = p11_aes_key(s, key16, 16, extra, 2);
    CU_ASSERT_NOT_EQUAL_FATAL(h, CK_INVALID_HANDLE);

    /* Base 3.0, 5.7 case 3: NULL pValue -> length */
    CK_ATTRIBUTE q1[] = {{CKA_LABEL, NULL, 0}};
    EXPECT(F->C_GetAttributeValue(s, h, q1, 1), CKR_OK);
    CU_ASSERT_EQUAL(q1[0].ulValueLen, 7);
    /* case 5: too small */
    CK_ATTRIBUTE q2[] = {{CKA_LABEL, buf, 3}};
    EXPECT(F->C_GetAttributeValue(s, h, q2, 1), CKR_BUFFER_TOO_SMALL);
    CU_ASSERT_EQUAL(q2[0].ulValueLen, CK_UNAVAILABLE_INFORMATION);
    /* case 1: sensitive; the other attributes are still returned */
    CK_ATTRIBUTE q3[] = {{CKA_VALUE, buf, sizeof(buf)}, {CKA_CLASS, &cls, sizeof(cls)}};
    EXPECT(F->C_GetAttributeValue(s, h, q3, 2), CKR_ATTRIBUTE_SENSITIVE);
    CU_ASSERT_EQUAL(q3[0].ulValueLen, CK_UNAVAILABLE_INFORMATION);
    CU_ASSERT_EQUAL(q3[1].ulValueLen, sizeof(cls));
    CU_ASSERT_EQUAL(cls, CKO_SECRET_KEY);
    /* case 2: not an attribute of this object (a certificate attribute on a key) */
    CK_ATTRIBUTE q4[] = {{CKA_CERTIFICATE_TYPE, buf, sizeof(buf)}};
    EXPECT(F->C_GetAttributeValue(s, h, q4, 1), CKR_ATTRIBUTE_TYPE_INVALID);
    CU_ASSERT_EQUAL(q4[0].ulValueLen, CK_UNAVAILABLE_INFORMATION);
    EXPECT(F->C_GetAttributeValue(s, 0x7777777, q1, 1), CKR_OBJECT_HANDLE_INVALID);
    EXPECT(F->C_GetAttributeValue(s, h, NULL, 1), CKR_ARGUMENTS_BAD);
    END();
}

static void test_set_attribute_rules(void)
{
    CK_SESSION_HANDLE s = p11_session(1);
    CK_ATTRIBUTE extra[] = {BOOL_ATTR(CKA_SENSITIVE, yes), BOOL_ATTR(CKA_EXTRACTABLE, no)};
    CK_OBJECT_HANDLE h = p11_aes_key(s, key16, 16, extra, 2);
    CK_KEY_TYPE gen = CKK_GENERIC_SECRET;
    CK_ATTRIBUTE unsens[] = {BOOL_ATTR(CKA_SENSITIVE, no)};
    CK_ATTRIBUTE extract[] = {BOOL_ATTR(CKA_EXTRACTABLE, yes)};
    CK_ATTRIBUTE ktype[] = {{CKA_KEY_TYPE, &gen, sizeof(gen)}};
    CK_ATTRIBUTE label[] = {{CKA_LABEL, "renamed", 7}};
    EXPECT(F->C_SetAttributeValue(s, h, unsens, 1), CKR_ATTRIBUTE_READ_ONLY);
    EXPECT(F->C_SetAttributeValue(s, h, extract, 1), CKR_ATTRIBUTE_READ_ONLY);
    EXPECT(F->C_SetAttributeValue(s, h, ktype, 1), CKR_ATTRIBUTE_READ_ONLY);
    EXPECT(F->C_SetAttributeValue(s, h, label, 1), CKR_OK);
    /* not modifiable: Base 3.0 says CKR_ACTION_PROHIBITED */
    CK_ATTRIBUTE fixed[] = {BOOL_ATTR(CKA_MODIFIABLE, no)};
    CK_OBJECT_HANDLE k2 = p11_aes_key(s, key16, 16, fixed, 1);
    EXPECT(F->C_SetAttributeValue(s, k2, label, 1), CKR_ACTION_PROHIBITED);
    END();
}

static void test_copy_destroy_rules(void)
{
    CK_SESSION_HANDLE s = p11_session(1);
    CK_ATTRIBUTE nocopy[] = {BOOL_ATTR(CKA_COPYABLE, no)};
    CK_ATTRIBUTE nodestroy[] = {BOOL_ATTR(CKA_DESTROYABLE, no)};
    CK_ATTRIBUTE lbl[] = {{CKA_LABEL, "copy", 4}};
    CK_OBJECT_HANDLE a = p11_aes_key(s, key16, 16, nocopy, 1), b, c;
    EXPECT(F->C_CopyObject(s, a, lbl, 1, &b), CKR_ACTION_PROHIBITED);
    c = p11_aes_key(s, key16, 16, nodestroy, 1);
    EXPECT(F->C_DestroyObject(s, c), CKR_ACTION_PROHIBITED);
    CK_OBJECT_HANDLE d = p11_aes_key(s, key16, 16, NULL, 0);
    EXPECT(F->C_CopyObject(s, d, lbl, 1, &b), CKR_OK);
    CU_ASSERT_NOT_EQUAL(b, d);
    END();
}

static void test_find_rules(void)
{
    CK_SESSION_HANDLE s = p11_session(1);
    CK_OBJECT_HANDLE found[4];
    CK_ULONG n = 0;
    CK_ATTRIBUTE lbl[] = {{CKA_LABEL, "find-me", 7}};
    CK_ATTRIBUTE extra[] = {{CKA_LABEL, "find-me", 7}, BOOL_ATTR(CKA_PRIVATE, yes)};
    CK_OBJECT_HANDLE h = p11_aes_key(s, key16, 16, extra, 2);
    EXPECT(F->C_FindObjects(s, found, 4, &n), CKR_OPERATION_NOT_INITIALIZED);
    EXPECT(F->C_FindObjectsFinal(s), CKR_OPERATION_NOT_INITIALIZED);
    EXPECT(F->C_FindObjectsInit(s, lbl, 1), CKR_OK);
    EXPECT(F->C_FindObjectsInit(s, lbl, 1), CKR_OPERATION_ACTIVE);
    EXPECT(F->C_FindObjects(s, found, 4, &n), CKR_OK);
    CU_ASSERT_EQUAL(n, 1);
    CU_ASSERT_EQUAL(found[0], h);
    EXPECT(F->C_FindObjectsFinal(s), CKR_OK);
    /* a private object disappears with the login */
    EXPECT(F->C_Logout(s), CKR_OK);
    EXPECT(F->C_FindObjectsInit(s, lbl, 1), CKR_OK);
    EXPECT(F->C_FindObjects(s, found, 4, &n), CKR_OK);
    CU_ASSERT_EQUAL(n, 0);
    EXPECT(F->C_FindObjectsFinal(s), CKR_OK);
    CK_ATTRIBUTE q[] = {{CKA_LABEL, NULL, 0}};
    EXPECT(F->C_GetAttributeValue(s, h, q, 1), CKR_OBJECT_HANDLE_INVALID);
    END();
}

static void test_operation_states(void)
{
    CK_SESSION_HANDLE s = p11_session(1);
    CK_BYTE iv[12] = {0}, in[32] = {0}, out[64];
    CK_ULONG outlen;
    CK_GCM_PARAMS gcm = {iv, sizeof(iv), 96, NULL, 0, 128};
    CK_MECHANISM m = {CKM_AES_GCM, &gcm, sizeof(gcm)};
    CK_ATTRIBUTE noenc[] = {BOOL_ATTR(CKA_ENCRYPT, no)};
    CK_OBJECT_HANDLE k = p11_aes_key(s, key16, 16, NULL, 0);
    CK_OBJECT_HANDLE k_noenc = p11_aes_key(s, key16, 16, noenc, 1);

    outlen = sizeof(out);
    EXPECT(F->C_Encrypt(s, in, sizeof(in), out, &outlen), CKR_OPERATION_NOT_INITIALIZED);
    EXPECT(F->C_EncryptInit(s, &m, k_noenc), CKR_KEY_FUNCTION_NOT_PERMITTED);
    /* Base 3.0, 5.8 C_EncryptInit lists CKR_KEY_HANDLE_INVALID; SoftHSM2 2.6.1 answers
     * CKR_OBJECT_HANDLE_INVALID, which C_EncryptInit does not list. */
    EXPECT(F->C_EncryptInit(s, &m, 0x7777777),
           p11.is_qkey ? CKR_KEY_HANDLE_INVALID : CKR_OBJECT_HANDLE_INVALID);
    CK_MECHANISM bogus = {0x7FFFFFF0UL, NULL, 0};
    EXPECT(F->C_EncryptInit(s, &bogus, k), CKR_MECHANISM_INVALID);
    if (!p11_has_mech(CKM_AES_GCM)) {
        END();
        return;
    }
    EXPECT(F->C_EncryptInit(s, &m, k), CKR_OK);
    EXPECT(F->C_EncryptInit(s, &m, k), CKR_OPERATION_ACTIVE);
    /* length query and a short buffer keep the operation; success ends it */
    EXPECT(F->C_Encrypt(s, in, sizeof(in), NULL, &outlen), CKR_OK);
    CU_ASSERT_EQUAL(outlen, sizeof(in) + 16);
    outlen = 10;
    EXPECT(F->C_Encrypt(s, in, sizeof(in), out, &outlen), CKR_BUFFER_TOO_SMALL);
    CU_ASSERT_EQUAL(outlen, sizeof(in) + 16);
    outlen = sizeof(out);
    EXPECT(F->C_Encrypt(s, in, sizeof(in), out, &outlen), CKR_OK);
    CU_ASSERT_EQUAL(outlen, sizeof(in) + 16);
    EXPECT(F->C_Encrypt(s, in, sizeof(in), out, &outlen), CKR_OPERATION_NOT_INITIALIZED);
    /* a tampered tag is refused and no plaintext comes out */
    out[3] ^= 1;
    CK_BYTE pt[64];
    CK_ULONG ptlen = sizeof(pt);
    EXPECT(F->C_DecryptInit(s, &m, k), CKR_OK);
    /* Base 3.0, 5.9: CKR_ENCRYPTED_DATA_INVALID; SoftHSM2 2.6.1 answers CKR_GENERAL_ERROR. */
    EXPECT(F->C_Decrypt(s, out, outlen, pt, &ptlen),
           p11.is_qkey ? CKR_ENCRYPTED_DATA_INVALID : CKR_GENERAL_ERROR);
    EXPECT(F->C_Decrypt(s, out, outlen, pt, &ptlen), CKR_OPERATION_NOT_INITIALIZED);
    /* Base 3.0, 5.2: a call that fails with CKR_ARGUMENTS_BAD ends its operation too.
     * SoftHSM2 2.6.1 keeps the operation, against 5.2: checked on qkey only. */
    if (p11.is_qkey) {
        CK_MECHANISM sha = {CKM_SHA256, NULL, 0};
        CK_BYTE md[32];
        CK_ULONG mdlen = sizeof(md);
        EXPECT(F->C_DigestInit(s, &sha), CKR_OK);
        EXPECT(F->C_Digest(s, in, sizeof(in), md, NULL), CKR_ARGUMENTS_BAD);
        EXPECT(F->C_DigestUpdate(s, in, sizeof(in)), CKR_OPERATION_NOT_INITIALIZED);
        EXPECT(F->C_DigestInit(s, &sha), CKR_OK);
        EXPECT(F->C_DigestUpdate(s, in, sizeof(in)), CKR_OK);
        EXPECT(F->C_DigestFinal(s, md, NULL), CKR_ARGUMENTS_BAD);
        EXPECT(F->C_DigestFinal(s, md, &mdlen), CKR_OPERATION_NOT_INITIALIZED);
        EXPECT(F->C_EncryptInit(s, &m, k), CKR_OK);
        EXPECT(F->C_Encrypt(s, NULL, 5, out, &outlen), CKR_ARGUMENTS_BAD);
        EXPECT(F->C_EncryptInit(s, &m, k), CKR_OK); /* not CKR_OPERATION_ACTIVE: it ended */
        outlen = sizeof(out);
        EXPECT(F->C_Encrypt(s, in, sizeof(in), out, &outlen), CKR_OK);
    }
    END();
}

static void test_mac_verify(void)
{
    CK_SESSION_HANDLE s = p11_session(1);
    CK_BYTE data[] = "message", mac[64];
    CK_ULONG maclen = sizeof(mac);
    CK_MECHANISM m = {CKM_SHA256_HMAC, NULL, 0};
    static const unsigned char key32[32] = {7}; /* SoftHSM2 wants >= 32 bytes for HMAC-SHA256 */
    CK_OBJECT_HANDLE k = p11_secret(s, CKK_GENERIC_SECRET, key32, 32, NULL, 0);
    CU_ASSERT_NOT_EQUAL_FATAL(k, CK_INVALID_HANDLE);
    EXPECT(F->C_SignInit(s, &m, k), CKR_OK);
    EXPECT(F->C_Sign(s, data, 7, mac, &maclen), CKR_OK);
    CU_ASSERT_EQUAL(maclen, 32);
    EXPECT(F->C_VerifyInit(s, &m, k), CKR_OK);
    EXPECT(F->C_Verify(s, data, 7, mac, 32), CKR_OK);
    mac[0] ^= 1;
    EXPECT(F->C_VerifyInit(s, &m, k), CKR_OK);
    EXPECT(F->C_Verify(s, data, 7, mac, 32), CKR_SIGNATURE_INVALID);
    EXPECT(F->C_VerifyInit(s, &m, k), CKR_OK);
    EXPECT(F->C_Verify(s, data, 7, mac, 31), CKR_SIGNATURE_LEN_RANGE);
    /* an AES key is not an HMAC key */
    CK_OBJECT_HANDLE a = p11_aes_key(s, key16, 16, NULL, 0);
    EXPECT(F->C_SignInit(s, &m, a), CKR_KEY_TYPE_INCONSISTENT);
    END();
}

static void test_generate_key_rules(void)
{
    CK_SESSION_HANDLE s = p11_session(1);
    CK_MECHANISM m = {CKM_AES_KEY_GEN, NULL, 0};
    CK_ULONG len = 32, bad = 20;
    CK_OBJECT_HANDLE h;
    CK_ATTRIBUTE nolen[] = {BOOL_ATTR(CKA_ENCRYPT, yes)};
    CK_ATTRIBUTE badlen[] = {{CKA_VALUE_LEN, &bad, sizeof(bad)}};
    CK_ATTRIBUTE ok[] = {{CKA_VALUE_LEN, &len, sizeof(len)}, BOOL_ATTR(CKA_SENSITIVE, yes)};
    EXPECT(F->C_GenerateKey(s, &m, nolen, 1, &h), CKR_TEMPLATE_INCOMPLETE);
    EXPECT(F->C_GenerateKey(s, &m, badlen, 1, &h), CKR_ATTRIBUTE_VALUE_INVALID);
    EXPECT(F->C_GenerateKey(s, &m, ok, 2, &h), CKR_OK);
    CK_BBOOL as = CK_FALSE, local = CK_FALSE;
    CK_ATTRIBUTE q[] = {BOOL_ATTR(CKA_ALWAYS_SENSITIVE, as), BOOL_ATTR(CKA_LOCAL, local)};
    EXPECT(F->C_GetAttributeValue(s, h, q, 2), CKR_OK);
    CU_ASSERT_TRUE(as);
    CU_ASSERT_TRUE(local);
    END();
}

static void test_random(void)
{
    CK_SESSION_HANDLE s = p11_session(0);
    CK_BYTE a[32] = {0}, b[32] = {0}, zero[32] = {0};
    EXPECT(F->C_GenerateRandom(s, a, sizeof(a)), CKR_OK);
    EXPECT(F->C_SeedRandom(s, (CK_BYTE *)"seed", 4), CKR_OK);
    EXPECT(F->C_GenerateRandom(s, b, sizeof(b)), CKR_OK);
    CU_ASSERT_NOT_EQUAL(memcmp(a, b, 32), 0);
    CU_ASSERT_NOT_EQUAL(memcmp(a, zero, 32), 0);
    EXPECT(F->C_GenerateRandom(s, NULL, 4), CKR_ARGUMENTS_BAD);
    EXPECT(F->C_GenerateRandom(0x7777777, a, 4), CKR_SESSION_HANDLE_INVALID);
    END();
}

static void test_not_initialised(void)
{
    CK_INFO info;
    CK_ULONG n;
    EXPECT(F->C_Finalize((void *)1), CKR_ARGUMENTS_BAD);
    EXPECT(F->C_Finalize(NULL), CKR_OK);
    EXPECT(F->C_GetInfo(&info), CKR_CRYPTOKI_NOT_INITIALIZED);
    EXPECT(F->C_GetSlotList(CK_TRUE, NULL, &n), CKR_CRYPTOKI_NOT_INITIALIZED);
    EXPECT(F->C_Finalize(NULL), CKR_CRYPTOKI_NOT_INITIALIZED);
    CK_C_INITIALIZE_ARGS partial = {0};
    partial.CreateMutex = (CK_CREATEMUTEX)1;
    EXPECT(F->C_Initialize(&partial), CKR_ARGUMENTS_BAD);
    if (p11.is_qkey) {
        /* every function but C_Initialize and C_GetFunctionList, called with null arguments
         * (which they must not reach): CKR_CRYPTOKI_NOT_INITIALIZED. The list is walked as
         * the array of pointers it is; each is called with six zero arguments, which the
         * x86-64 and AArch64 calling conventions pass in registers whatever the function takes.
         * (qkey only: SoftHSM2 answers some, e.g. C_WaitForSlotEvent, before its check.) */
        typedef CK_RV (*ANY)(CK_ULONG, CK_ULONG, CK_ULONG, CK_ULONG, CK_ULONG, CK_ULONG);
        const char *base = (const char *)&F->C_Initialize;
        const char *end = (const char *)(&F->C_WaitForSlotEvent + 1);
        for (const char *q = base; q < end; q += sizeof(void *)) {
            ANY fn;
            memcpy(&fn, q, sizeof(fn));
            if (q == base || q == (const char *)&F->C_GetFunctionList)
                continue;
            CK_RV rv = fn(0, 0, 0, 0, 0, 0);
            if (rv != CKR_CRYPTOKI_NOT_INITIALIZED)
                fprintf(stderr, "  function %zu of the list -> 0x%lx before C_Initialize\n",
                        (size_t)(q - base) / sizeof(void *), rv);
            CU_ASSERT_EQUAL(rv, CKR_CRYPTOKI_NOT_INITIALIZED);
        }
    }
    EXPECT(F->C_Initialize(NULL), CKR_OK);
    /* one initialisation per process (Base 3.0, 5.4); the first C_Finalize ends it */
    EXPECT(F->C_Initialize(NULL), CKR_CRYPTOKI_ALREADY_INITIALIZED);
    EXPECT(F->C_Finalize(NULL), CKR_OK);
    EXPECT(F->C_GetInfo(&info), CKR_CRYPTOKI_NOT_INITIALIZED);
    EXPECT(F->C_Initialize(NULL), CKR_OK);
}

int main(int argc, char **argv)
{
    const char *which = argc > 1 ? argv[1] : "qkey";
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    if (p11_setup(which, "conform") != 0) {
        fprintf(stderr, "%s: cannot set up a token\n", which);
        p11_teardown();
        return 1;
    }
    CU_pSuite suite = CU_add_suite(which, NULL, NULL);
    CU_add_test(suite, "session handles", test_session_handles);
    CU_add_test(suite, "login states", test_login_states);
    CU_add_test(suite, "PIN rules", test_pin_rules);
    CU_add_test(suite, "create templates", test_create_templates);
    CU_add_test(suite, "C_GetAttributeValue rules", test_get_attribute_rules);
    CU_add_test(suite, "C_SetAttributeValue rules", test_set_attribute_rules);
    CU_add_test(suite, "copy and destroy rules", test_copy_destroy_rules);
    CU_add_test(suite, "find rules", test_find_rules);
    CU_add_test(suite, "operation states", test_operation_states);
    CU_add_test(suite, "MAC verify", test_mac_verify);
    CU_add_test(suite, "generate key rules", test_generate_key_rules);
    CU_add_test(suite, "random", test_random);
    CU_add_test(suite, "not initialised", test_not_initialised);
    int rc = p11_run(which);
    p11_teardown();
    return rc;
}
