/*
 * The KMS seal pattern (Vault-style auto-unseal through PKCS#11), against libqkey-pkcs11.so
 * and SoftHSM2 with the same code: find-or-generate a token AES-256 key and an HMAC key by
 * label (sensitive, non-extractable), seal a secret with AES-GCM + HMAC-SHA256, restart the
 * module (C_Finalize / C_Initialize, as a KMS restart does), find the same keys again by label
 * and unseal. A second "boot" must find the keys rather than make new ones.
 */
#include <stdio.h>
#include <string.h>
#include <CUnit/Basic.h>

#include "p11_harness.h"

#define F p11.f
static CK_BBOOL yes = CK_TRUE, no = CK_FALSE;

static CK_OBJECT_HANDLE find_key(CK_SESSION_HANDLE s, const char *label)
{
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_ATTRIBUTE q[] = {{CKA_CLASS, &cls, sizeof(cls)}, {CKA_LABEL, (void *)label, strlen(label)}};
    CK_OBJECT_HANDLE h[2];
    CK_ULONG n = 0;
    if (F->C_FindObjectsInit(s, q, 2) != CKR_OK)
        return CK_INVALID_HANDLE;
    (void)F->C_FindObjects(s, h, 2, &n);
    (void)F->C_FindObjectsFinal(s);
    return n == 1 ? h[0] : CK_INVALID_HANDLE;
}

/* Find the key by label or generate it; *made says which. */
static CK_OBJECT_HANDLE find_or_generate(CK_SESSION_HANDLE s, const char *label, int hmac,
                                         int *made)
{
    CK_OBJECT_HANDLE h = find_key(s, label);
    CK_ULONG len = 32;
    CK_MECHANISM m = {hmac ? CKM_GENERIC_SECRET_KEY_GEN : CKM_AES_KEY_GEN, NULL, 0};
    CK_ATTRIBUTE tpl[] = {
        {CKA_LABEL, (void *)label, strlen(label)},
        {CKA_VALUE_LEN, &len, sizeof(len)},
        BOOL_ATTR(CKA_TOKEN, yes),
        BOOL_ATTR(CKA_PRIVATE, yes),
        BOOL_ATTR(CKA_SENSITIVE, yes),
        BOOL_ATTR(CKA_EXTRACTABLE, no),
        BOOL_ATTR(CKA_ENCRYPT, yes),
        BOOL_ATTR(CKA_DECRYPT, yes),
        BOOL_ATTR(CKA_SIGN, yes),
        BOOL_ATTR(CKA_VERIFY, yes),
    };
    *made = 0;
    if (h != CK_INVALID_HANDLE)
        return h;
    /* an HMAC key may not encrypt, an AES key need not sign */
    if (F->C_GenerateKey(s, &m, tpl, hmac ? 6 : 8, &h) != CKR_OK)
        return CK_INVALID_HANDLE;
    if (hmac) {
        CK_ATTRIBUTE sv[] = {BOOL_ATTR(CKA_SIGN, yes), BOOL_ATTR(CKA_VERIFY, yes)};
        if (F->C_SetAttributeValue(s, h, sv, 2) != CKR_OK)
            return CK_INVALID_HANDLE;
    }
    *made = 1;
    return h;
}

static CK_BYTE iv[12] = {9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2};
static CK_BYTE sealed[128], tag[32];
static CK_ULONG sealed_len, tag_len;
static const char secret[] = "vault root key share #1";

static void test_seal(void)
{
    CK_SESSION_HANDLE s = p11_session(1);
    int made_aes, made_mac;
    CK_OBJECT_HANDLE aes = find_or_generate(s, "kms-seal-aes", 0, &made_aes);
    CK_OBJECT_HANDLE mac = find_or_generate(s, "kms-seal-hmac", 1, &made_mac);
    CU_ASSERT_NOT_EQUAL_FATAL(aes, CK_INVALID_HANDLE);
    CU_ASSERT_NOT_EQUAL_FATAL(mac, CK_INVALID_HANDLE);
    CU_ASSERT_TRUE(made_aes && made_mac);
    /* the key never leaves */
    CK_BYTE v[32];
    CK_ATTRIBUTE q[] = {{CKA_VALUE, v, sizeof(v)}};
    EXPECT(F->C_GetAttributeValue(s, aes, q, 1), CKR_ATTRIBUTE_SENSITIVE);

    CK_GCM_PARAMS gcm = {iv, sizeof(iv), 96, (CK_BYTE *)"kms", 3, 128};
    CK_MECHANISM mg = {CKM_AES_GCM, &gcm, sizeof(gcm)}, mh = {CKM_SHA256_HMAC, NULL, 0};
    sealed_len = sizeof(sealed);
    EXPECT(F->C_EncryptInit(s, &mg, aes), CKR_OK);
    EXPECT(F->C_Encrypt(s, (CK_BYTE *)secret, sizeof(secret), sealed, &sealed_len), CKR_OK);
    tag_len = sizeof(tag);
    EXPECT(F->C_SignInit(s, &mh, mac), CKR_OK);
    EXPECT(F->C_Sign(s, sealed, sealed_len, tag, &tag_len), CKR_OK);
    (void)F->C_CloseAllSessions(p11.slot);
}

static void test_unseal_after_restart(void)
{
    CU_ASSERT_EQUAL_FATAL(p11_restart(), 0);
    CK_SESSION_HANDLE s = p11_session(1);
    int made_aes, made_mac;
    CK_OBJECT_HANDLE aes = find_or_generate(s, "kms-seal-aes", 0, &made_aes);
    CK_OBJECT_HANDLE mac = find_or_generate(s, "kms-seal-hmac", 1, &made_mac);
    CU_ASSERT_FALSE(made_aes || made_mac); /* found, not made again */
    CK_GCM_PARAMS gcm = {iv, sizeof(iv), 96, (CK_BYTE *)"kms", 3, 128};
    CK_MECHANISM mg = {CKM_AES_GCM, &gcm, sizeof(gcm)}, mh = {CKM_SHA256_HMAC, NULL, 0};
    EXPECT(F->C_VerifyInit(s, &mh, mac), CKR_OK);
    EXPECT(F->C_Verify(s, sealed, sealed_len, tag, tag_len), CKR_OK);
    CK_BYTE out[128];
    CK_ULONG n = sizeof(out);
    EXPECT(F->C_DecryptInit(s, &mg, aes), CKR_OK);
    EXPECT(F->C_Decrypt(s, sealed, sealed_len, out, &n), CKR_OK);
    CU_ASSERT(n == sizeof(secret) && memcmp(out, secret, n) == 0);
    /* without login the private keys are not there at all */
    EXPECT(F->C_Logout(s), CKR_OK);
    CU_ASSERT_EQUAL(find_key(s, "kms-seal-aes"), CK_INVALID_HANDLE);
    (void)F->C_CloseAllSessions(p11.slot);
}

int main(int argc, char **argv)
{
    const char *which = argc > 1 ? argv[1] : "qkey";
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    if (p11_setup(which, "kms") != 0) {
        fprintf(stderr, "%s: cannot set up a token\n", which);
        p11_teardown();
        return 1;
    }
    CU_pSuite suite = CU_add_suite(which, NULL, NULL);
    CU_add_test(suite, "seal with token keys found or made by label", test_seal);
    CU_add_test(suite, "unseal after a restart", test_unseal_after_restart);
    int rc = p11_run(which);
    p11_teardown();
    return rc;
}
