/*
 * Known-answer tests for every mechanism the token lists, from published vectors, run through
 * the function list against libqkey-pkcs11.so and SoftHSM2 (mechanisms a module does not list
 * are skipped there):
 *   SHA-256/384/512 ("abc")            FIPS 180-2 appendix examples
 *   HMAC-SHA-256/384/512               RFC 4231 test case 2
 *   AES-CMAC                           RFC 4493 examples 1 and 2
 *   AES-GCM                            GCM spec (McGrew-Viega) test case 4 (with AAD)
 *   AES-CBC-PAD, AES-CTR               NIST SP 800-38A F.2.1 / F.5.1 (first block)
 *   AES key wrap with padding (KWP)    RFC 5649 section 6
 *   HKDF-SHA256                        RFC 5869 test case 1
 */
#include <stdio.h>
#include <string.h>
#include <CUnit/Basic.h>
#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "p11_harness.h"
#include "pkcs11_3_0.h" /* the SP 800-108 parameter layouts */

#ifndef CKM_AES_KEY_WRAP_KWP
#define CKM_AES_KEY_WRAP_KWP 0x0000210BUL
#endif
#ifndef CKM_HKDF_DERIVE
#define CKM_HKDF_DERIVE 0x0000402AUL
#endif
#define F p11.f
static CK_BBOOL yes = CK_TRUE;

typedef struct {
    CK_BBOOL bExtract, bExpand;
    CK_MECHANISM_TYPE prfHashMechanism;
    CK_ULONG ulSaltType;
    CK_BYTE_PTR pSalt;
    CK_ULONG ulSaltLen;
    CK_OBJECT_HANDLE hSaltKey;
    CK_BYTE_PTR pInfo;
    CK_ULONG ulInfoLen;
} HKDF_PARAMS;

static int skip(CK_MECHANISM_TYPE m)
{
    if (p11_has_mech(m))
        return 0;
    fprintf(stderr, "  [%s does not list mechanism 0x%lx: skipped]\n", p11.name, m);
    return 1;
}

static void check_hex(const CK_BYTE *got, CK_ULONG len, const char *hex)
{
    unsigned char want[256];
    size_t n = p11_unhex(hex, want);
    CU_ASSERT_EQUAL(len, n);
    CU_ASSERT(len == n && memcmp(got, want, n) == 0);
}

static void digest_kat(CK_MECHANISM_TYPE mech, const char *hex)
{
    CK_SESSION_HANDLE s = p11_session(0);
    CK_MECHANISM m = {mech, NULL, 0};
    CK_BYTE out[64];
    CK_ULONG n = sizeof(out);
    if (skip(mech))
        return;
    /* single part */
    EXPECT(F->C_DigestInit(s, &m), CKR_OK);
    EXPECT(F->C_Digest(s, (CK_BYTE *)"abc", 3, out, &n), CKR_OK);
    check_hex(out, n, hex);
    /* multi part */
    n = sizeof(out);
    EXPECT(F->C_DigestInit(s, &m), CKR_OK);
    EXPECT(F->C_DigestUpdate(s, (CK_BYTE *)"a", 1), CKR_OK);
    EXPECT(F->C_DigestUpdate(s, (CK_BYTE *)"bc", 2), CKR_OK);
    EXPECT(F->C_DigestFinal(s, out, &n), CKR_OK);
    check_hex(out, n, hex);
    F->C_CloseSession(s);
}

static void test_sha(void)
{
    digest_kat(CKM_SHA256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    digest_kat(CKM_SHA384, "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed"
                           "8086072ba1e7cc2358baeca134c825a7");
    digest_kat(CKM_SHA512, "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
                           "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
}

static void mac_kat(CK_MECHANISM_TYPE mech, CK_KEY_TYPE kt, const char *key_hex, const CK_BYTE *msg,
                    CK_ULONG msglen, const char *hex)
{
    CK_SESSION_HANDLE s = p11_session(1);
    CK_MECHANISM m = {mech, NULL, 0};
    unsigned char key[64];
    size_t klen = p11_unhex(key_hex, key);
    CK_BYTE out[64], want[64];
    CK_ULONG n = sizeof(out);
    CK_MECHANISM_INFO info;
    if (skip(mech)) {
        F->C_CloseSession(s);
        return;
    }
    /* a module may refuse keys below its advertised minimum (SoftHSM2: 32 bytes for HMAC) */
    if (F->C_GetMechanismInfo(p11.slot, mech, &info) == CKR_OK && klen < info.ulMinKeySize) {
        fprintf(stderr, "  [%s: %zu-byte key below the minimum %lu of 0x%lx: skipped]\n", p11.name,
                klen, info.ulMinKeySize, mech);
        F->C_CloseSession(s);
        return;
    }
    CK_OBJECT_HANDLE k = p11_secret(s, kt, key, klen, NULL, 0);
    CU_ASSERT_NOT_EQUAL_FATAL(k, CK_INVALID_HANDLE);
    EXPECT(F->C_SignInit(s, &m, k), CKR_OK);
    EXPECT(F->C_Sign(s, (CK_BYTE *)msg, msglen, out, &n), CKR_OK);
    check_hex(out, n, hex);
    /* multi part, then verify */
    n = sizeof(out);
    EXPECT(F->C_SignInit(s, &m, k), CKR_OK);
    if (msglen > 1)
        EXPECT(F->C_SignUpdate(s, (CK_BYTE *)msg, 1), CKR_OK);
    EXPECT(F->C_SignUpdate(s, (CK_BYTE *)msg + (msglen > 1), msglen - (msglen > 1)), CKR_OK);
    EXPECT(F->C_SignFinal(s, out, &n), CKR_OK);
    check_hex(out, n, hex);
    size_t wl = p11_unhex(hex, want);
    EXPECT(F->C_VerifyInit(s, &m, k), CKR_OK);
    EXPECT(F->C_Verify(s, (CK_BYTE *)msg, msglen, want, wl), CKR_OK);
    F->C_CloseSession(s);
}

static void test_hmac(void)
{
    static const CK_BYTE msg[] = "what do ya want for nothing?";
    mac_kat(CKM_SHA256_HMAC, CKK_GENERIC_SECRET, "4a656665", msg, 28,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    mac_kat(CKM_SHA384_HMAC, CKK_GENERIC_SECRET, "4a656665", msg, 28,
            "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e"
            "8e2240ca5e69e2c78b3239ecfab21649");
    mac_kat(CKM_SHA512_HMAC, CKK_GENERIC_SECRET, "4a656665", msg, 28,
            "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
            "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737");
}

static void test_cmac(void)
{
    unsigned char m1[16];
    p11_unhex("6bc1bee22e409f96e93d7e117393172a", m1);
    mac_kat(CKM_AES_CMAC, CKK_AES, "2b7e151628aed2a6abf7158809cf4f3c", m1, 16,
            "070a16b46b4d4144f79bdd9dd04a287c");
    mac_kat(CKM_AES_CMAC, CKK_AES, "2b7e151628aed2a6abf7158809cf4f3c", (CK_BYTE *)"", 0,
            "bb1d6929e95937287fa37d129b756746");
}

/* Encrypt single-part and compare, decrypt back (single and multi-part). */
static void cipher_kat(CK_MECHANISM *m, const char *key_hex, const char *pt_hex, const char *ct_hex,
                       size_t cmp_len)
{
    CK_SESSION_HANDLE s = p11_session(1);
    unsigned char key[32], pt[128], want[160];
    size_t klen = p11_unhex(key_hex, key), ptlen = p11_unhex(pt_hex, pt);
    size_t wlen = p11_unhex(ct_hex, want);
    CK_BYTE ct[160], back[160];
    CK_ULONG n = sizeof(ct), b = sizeof(back), part;
    if (skip(m->mechanism)) {
        F->C_CloseSession(s);
        return;
    }
    int des3 = m->mechanism == CKM_DES3_ECB || m->mechanism == CKM_DES3_CBC ||
               m->mechanism == CKM_DES3_CBC_PAD;
    CK_OBJECT_HANDLE k = p11_secret(s, des3 ? CKK_DES3 : CKK_AES, key, klen, NULL, 0);
    CU_ASSERT_NOT_EQUAL_FATAL(k, CK_INVALID_HANDLE);
    EXPECT(F->C_EncryptInit(s, m, k), CKR_OK);
    EXPECT(F->C_Encrypt(s, pt, ptlen, ct, &n), CKR_OK);
    CU_ASSERT(n >= cmp_len && memcmp(ct, want, cmp_len ? cmp_len : wlen) == 0);
    if (cmp_len == 0)
        CU_ASSERT_EQUAL(n, wlen);
    EXPECT(F->C_DecryptInit(s, m, k), CKR_OK);
    EXPECT(F->C_Decrypt(s, ct, n, back, &b), CKR_OK);
    CU_ASSERT(b == ptlen && memcmp(back, pt, ptlen) == 0);
    /* multi-part decryption in two pieces */
    EXPECT(F->C_DecryptInit(s, m, k), CKR_OK);
    b = sizeof(back);
    EXPECT(F->C_DecryptUpdate(s, ct, 7, back, &b), CKR_OK);
    part = b;
    b = sizeof(back) - part;
    EXPECT(F->C_DecryptUpdate(s, ct + 7, n - 7, back + part, &b), CKR_OK);
    part += b;
    b = sizeof(back) - part;
    EXPECT(F->C_DecryptFinal(s, back + part, &b), CKR_OK);
    part += b;
    CU_ASSERT(part == ptlen && memcmp(back, pt, ptlen) == 0);
    F->C_CloseSession(s);
}

static void test_gcm(void)
{
    unsigned char iv[12], aad[20];
    p11_unhex("cafebabefacedbaddecaf888", iv);
    p11_unhex("feedfacedeadbeeffeedfacedeadbeefabaddad2", aad);
    CK_GCM_PARAMS p = {iv, 12, 96, aad, 20, 128};
    CK_MECHANISM m = {CKM_AES_GCM, &p, sizeof(p)};
    cipher_kat(&m, "feffe9928665731c6d6a8f9467308308",
               "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
               "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
               "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
               "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091"
               "5bc94fbc3221a5db94fae95ae7121a47",
               0);
}

static void test_cbc_ctr(void)
{
    unsigned char iv[16], ctr[16];
    p11_unhex("000102030405060708090a0b0c0d0e0f", iv);
    CK_MECHANISM cbc = {CKM_AES_CBC_PAD, iv, 16};
    cipher_kat(&cbc, "2b7e151628aed2a6abf7158809cf4f3c", "6bc1bee22e409f96e93d7e117393172a",
               "7649abac8119b246cee98e9b12e9197d", 16);
    CK_AES_CTR_PARAMS cp;
    cp.ulCounterBits = 128;
    p11_unhex("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff", ctr);
    memcpy(cp.cb, ctr, 16);
    CK_MECHANISM m = {CKM_AES_CTR, &cp, sizeof(cp)};
    cipher_kat(&m, "2b7e151628aed2a6abf7158809cf4f3c", "6bc1bee22e409f96e93d7e117393172a",
               "874d6191b620e3261bef6864990db6ce", 0);
}

/* 3DES: the SP 800-67 example (ECB, "The qufck brown fox jump"); CBC and CBC_PAD with the same
 * key and data, as OpenSSL computes them (openssl enc -des-ede3-cbc); and generated keys: 24
 * bytes with odd parity, usable at once. */
static void test_des3(void)
{
    static const char key[] = "0123456789abcdef23456789abcdef01456789abcdef0123",
                      pt[] = "54686520717566636b2062726f776e20666f78206a756d70";
    unsigned char iv[8];
    CK_MECHANISM ecb = {CKM_DES3_ECB, NULL, 0};
    cipher_kat(&ecb, key, pt, "a826fd8ce53b855fcce21c8112256fe668d5c05dd9b6b900", 0);
    p11_unhex("f69f2445df4f9b17", iv);
    CK_MECHANISM cbc = {CKM_DES3_CBC, iv, 8}, pad = {CKM_DES3_CBC_PAD, iv, 8};
    cipher_kat(&cbc, key, pt, "a5c282bad0de3774becd2e04386b589fb5057d8552fc4336", 0);
    cipher_kat(&pad, key, pt, "a5c282bad0de3774becd2e04386b589fb5057d8552fc4336af45148b1b044b00",
               0);
    if (skip(CKM_DES3_KEY_GEN))
        return;
    CK_SESSION_HANDLE s = p11_session(1);
    CK_MECHANISM gen = {CKM_DES3_KEY_GEN, NULL, 0};
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_ATTRIBUTE tpl[] = {{CKA_CLASS, &cls, sizeof(cls)},
                          BOOL_ATTR(CKA_ENCRYPT, yes),
                          BOOL_ATTR(CKA_EXTRACTABLE, yes),
                          {CKA_SENSITIVE, &(CK_BBOOL){CK_FALSE}, 1}};
    CK_OBJECT_HANDLE k;
    CK_BYTE v[32], ct[16], in[16] = {0};
    CK_ULONG n = sizeof(ct);
    CK_ATTRIBUTE q[] = {{CKA_VALUE, v, sizeof(v)}};
    EXPECT(F->C_GenerateKey(s, &gen, tpl, 4, &k), CKR_OK);
    EXPECT(F->C_GetAttributeValue(s, k, q, 1), CKR_OK);
    CU_ASSERT_EQUAL(q[0].ulValueLen, 24);
    for (int i = 0; i < 24; i++)
        CU_ASSERT(__builtin_popcount(v[i]) % 2 == 1);
    EXPECT(F->C_EncryptInit(s, &ecb, k), CKR_OK);
    EXPECT(F->C_Encrypt(s, in, 16, ct, &n), CKR_OK);
    CU_ASSERT_EQUAL(n, 16);
    F->C_CloseSession(s);
}

/* SP 800-38A F.1.1, F.1.5 (ECB) and F.2.1 (CBC), two blocks each; whole blocks only */
static void test_ecb_cbc(void)
{
    static const char pt[] = "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51";
    unsigned char iv[16];
    CK_MECHANISM ecb = {CKM_AES_ECB, NULL, 0};
    cipher_kat(&ecb, "2b7e151628aed2a6abf7158809cf4f3c", pt,
               "3ad77bb40d7a3660a89ecaf32466ef97f5d3d58503b9699de785895a96fdbaaf", 0);
    cipher_kat(&ecb, "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4", pt,
               "f3eed1bdb5d2a03c064b5a7e3db181f8591ccb10d410ed26dc5ba74a31362870", 0);
    p11_unhex("000102030405060708090a0b0c0d0e0f", iv);
    CK_MECHANISM cbc = {CKM_AES_CBC, iv, 16};
    cipher_kat(&cbc, "2b7e151628aed2a6abf7158809cf4f3c", pt,
               "7649abac8119b246cee98e9b12e9197d5086cb9b507219ee95db113a917678b2", 0);
    if (skip(CKM_AES_ECB))
        return;
    /* a partial block is refused, in one part and at the end of several */
    CK_SESSION_HANDLE s = p11_session(1);
    unsigned char key[16] = {1}, in[20] = {0}, out[64];
    CK_ULONG n = sizeof(out);
    CK_OBJECT_HANDLE k = p11_aes_key(s, key, 16, NULL, 0);
    EXPECT(F->C_EncryptInit(s, &ecb, k), CKR_OK);
    EXPECT(F->C_Encrypt(s, in, 20, out, &n), CKR_DATA_LEN_RANGE);
    EXPECT(F->C_EncryptInit(s, &cbc, k), CKR_OK);
    n = sizeof(out);
    EXPECT(F->C_EncryptUpdate(s, in, 20, out, &n), CKR_OK);
    CU_ASSERT_EQUAL(n, 16);
    n = sizeof(out);
    EXPECT(F->C_EncryptFinal(s, out, &n), CKR_DATA_LEN_RANGE);
    EXPECT(F->C_DecryptInit(s, &ecb, k), CKR_OK);
    n = sizeof(out);
    EXPECT(F->C_Decrypt(s, in, 17, out, &n), CKR_ENCRYPTED_DATA_LEN_RANGE);
    F->C_CloseSession(s);
}

static void wrap_kat(CK_MECHANISM_TYPE mech, const char *kek_hex, const char *key_hex,
                     const char *wrapped_hex)
{
    CK_SESSION_HANDLE s = p11_session(1);
    unsigned char kek[32], key[32], want[48];
    size_t kekl = p11_unhex(kek_hex, kek), kl = p11_unhex(key_hex, key),
           wl = p11_unhex(wrapped_hex, want);
    CK_MECHANISM m = {mech, NULL, 0};
    CK_BYTE out[64];
    CK_ULONG n = sizeof(out);
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_KEY_TYPE gen = CKK_GENERIC_SECRET;
    CK_ATTRIBUTE ex[] = {BOOL_ATTR(CKA_EXTRACTABLE, yes)};
    if (skip(mech)) {
        F->C_CloseSession(s);
        return;
    }
    CK_OBJECT_HANDLE w = p11_aes_key(s, kek, kekl, NULL, 0);
    CK_OBJECT_HANDLE k = p11_secret(s, CKK_GENERIC_SECRET, key, kl, ex, 1), u;
    CU_ASSERT_NOT_EQUAL_FATAL(k, CK_INVALID_HANDLE);
    EXPECT(F->C_WrapKey(s, &m, w, k, NULL, &n), CKR_OK);
    CU_ASSERT_EQUAL(n, wl);
    n = sizeof(out);
    EXPECT(F->C_WrapKey(s, &m, w, k, out, &n), CKR_OK);
    check_hex(out, n, wrapped_hex);
    CK_ATTRIBUTE tpl[] = {{CKA_CLASS, &cls, sizeof(cls)},
                          {CKA_KEY_TYPE, &gen, sizeof(gen)},
                          BOOL_ATTR(CKA_EXTRACTABLE, yes),
                          BOOL_ATTR(CKA_SENSITIVE, ex[0].pValue)};
    tpl[3].pValue = &(CK_BBOOL){CK_FALSE};
    EXPECT(F->C_UnwrapKey(s, &m, w, want, wl, tpl, 4, &u), CKR_OK);
    CK_BYTE val[32];
    CK_ATTRIBUTE q[] = {{CKA_VALUE, val, sizeof(val)}};
    EXPECT(F->C_GetAttributeValue(s, u, q, 1), CKR_OK);
    CU_ASSERT(q[0].ulValueLen == kl && memcmp(val, key, kl) == 0);
    want[5] ^= 1;
    /* SoftHSM2 2.6.1 answers a tampered RFC 3394 value with CKR_GENERAL_ERROR */
    EXPECT(F->C_UnwrapKey(s, &m, w, want, wl, tpl, 4, &u),
           mech == CKM_AES_KEY_WRAP && !p11.is_qkey ? CKR_GENERAL_ERROR : CKR_WRAPPED_KEY_INVALID);
    F->C_CloseSession(s);
}

/* RFC 3394 4.1 (128-bit KEK, 128-bit key) and 4.6 (256-bit KEK, 256-bit key), as C_WrapKey /
 * C_UnwrapKey and as C_Encrypt; a key value that is not whole 8-byte blocks cannot be KW-wrapped */
static void test_kw(void)
{
    CK_MECHANISM kw = {CKM_AES_KEY_WRAP, NULL, 0};
    wrap_kat(CKM_AES_KEY_WRAP, "000102030405060708090a0b0c0d0e0f",
             "00112233445566778899aabbccddeeff",
             "1fa68b0a8112b447aef34bd8fb5a7b829d3e862371d2cfe5");
    wrap_kat(CKM_AES_KEY_WRAP, "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
             "00112233445566778899aabbccddeeff000102030405060708090a0b0c0d0e0f",
             "28c9f404c4b810f4cbccb35cfb87f8263f5786e2d80ed326cbc7f0e71a99f43bfb988b9b7a02dd21");
    if (p11.is_qkey) /* SoftHSM2 2.6.1 offers KW for wrapping only, not C_Encrypt */
        cipher_kat(&kw, "000102030405060708090a0b0c0d0e0f", "00112233445566778899aabbccddeeff",
                   "1fa68b0a8112b447aef34bd8fb5a7b829d3e862371d2cfe5", 0);
}

static void test_kwp(void)
{
    if (skip(CKM_AES_KEY_WRAP_KWP))
        return;
    wrap_kat(CKM_AES_KEY_WRAP_KWP, "5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8",
             "c37b7e6492584340bed12207808941155068f738",
             "138bdeaa9b8fa7fc61f97742e72248ee5ae6ae5360d1ae6a5f54f373fa543b6a");
    wrap_kat(CKM_AES_KEY_WRAP_KWP, "5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8",
             "466f7250617369", "afbeb0f07dfbf5419200f2ccb50bb24f");
}

static void test_hkdf(void)
{
    CK_SESSION_HANDLE s = p11_session(1);
    unsigned char ikm[22], salt[13], info[10];
    CK_ULONG len = 42;
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_KEY_TYPE gen = CKK_GENERIC_SECRET;
    CK_OBJECT_HANDLE out;
    if (skip(CKM_HKDF_DERIVE)) {
        F->C_CloseSession(s);
        return;
    }
    memset(ikm, 0x0b, sizeof(ikm));
    p11_unhex("000102030405060708090a0b0c", salt);
    p11_unhex("f0f1f2f3f4f5f6f7f8f9", info);
    CK_ATTRIBUTE d[] = {BOOL_ATTR(CKA_DERIVE, yes)};
    CK_OBJECT_HANDLE base = p11_secret(s, CKK_GENERIC_SECRET, ikm, 22, d, 1);
    HKDF_PARAMS p = {CK_TRUE, CK_TRUE, CKM_SHA256, 2 /* CKF_HKDF_SALT_DATA */, salt, 13,
                     0,       info,    10};
    CK_MECHANISM m = {CKM_HKDF_DERIVE, &p, sizeof(p)};
    CK_ATTRIBUTE tpl[] = {{CKA_CLASS, &cls, sizeof(cls)},
                          {CKA_KEY_TYPE, &gen, sizeof(gen)},
                          {CKA_VALUE_LEN, &len, sizeof(len)},
                          BOOL_ATTR(CKA_EXTRACTABLE, yes)};
    EXPECT(F->C_DeriveKey(s, &m, base, tpl, 4, &out), CKR_OK);
    CK_BYTE okm[64];
    CK_ATTRIBUTE q[] = {{CKA_VALUE, okm, sizeof(okm)}};
    EXPECT(F->C_GetAttributeValue(s, out, q, 1), CKR_OK);
    check_hex(
        okm, q[0].ulValueLen,
        "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
    /* base key without CKA_DERIVE */
    CK_OBJECT_HANDLE nod = p11_secret(s, CKK_GENERIC_SECRET, ikm, 22, NULL, 0);
    EXPECT(F->C_DeriveKey(s, &m, nod, tpl, 4, &out), CKR_KEY_FUNCTION_NOT_PERMITTED);
    F->C_CloseSession(s);
}

/* SP 800-108 counter mode in OpenSSL KBKDF's layout (counter32 || label || 0x00 || context ||
 * L32, big-endian), checked against OpenSSL's KBKDF computed here; with HMAC-SHA256 and
 * AES-CMAC, over two blocks; malformed parameters refused. */
static int kbkdf_openssl(int cmac, const unsigned char *key, size_t klen, unsigned char *out,
                         size_t len)
{
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "KBKDF", NULL);
    EVP_KDF_CTX *ctx = kdf != NULL ? EVP_KDF_CTX_new(kdf) : NULL;
    OSSL_PARAM p[7], *q = p;
    int ok;
    *q++ = OSSL_PARAM_construct_utf8_string("mode", "counter", 0);
    *q++ = OSSL_PARAM_construct_utf8_string("mac", cmac ? "CMAC" : "HMAC", 0);
    *q++ = cmac ? OSSL_PARAM_construct_utf8_string("cipher", "AES-256-CBC", 0)
                : OSSL_PARAM_construct_utf8_string("digest", "SHA256", 0);
    *q++ = OSSL_PARAM_construct_octet_string("key", (void *)key, klen);
    *q++ = OSSL_PARAM_construct_octet_string("salt", "label", 5);
    *q++ = OSSL_PARAM_construct_octet_string("info", "context", 7);
    *q = OSSL_PARAM_construct_end();
    ok = ctx != NULL && EVP_KDF_derive(ctx, out, len, p) > 0;
    EVP_KDF_CTX_free(ctx);
    EVP_KDF_free(kdf);
    return ok;
}

static void test_sp800_108(void)
{
    if (skip(CKM_SP800_108_COUNTER_KDF))
        return;
    CK_SESSION_HANDLE s = p11_session(1);
    unsigned char key[32], want[64], got[64];
    for (int i = 0; i < 32; i++)
        key[i] = (unsigned char)(0x40 + i);
    CK_ATTRIBUTE d[] = {BOOL_ATTR(CKA_DERIVE, yes)};
    CK_OBJECT_HANDLE base = p11_aes_key(s, key, 32, d, 1), out;
    QKT_CK_SP800_108_COUNTER_FORMAT ctr = {CK_FALSE, 32};
    QKT_CK_SP800_108_DKM_LENGTH_FORMAT dkm = {CK_SP800_108_DKM_LENGTH_SUM_OF_KEYS, CK_FALSE, 32};
    QKT_CK_PRF_DATA_PARAM dp[] = {{CK_SP800_108_ITERATION_VARIABLE, &ctr, sizeof(ctr)},
                                  {CK_SP800_108_BYTE_ARRAY, "label", 5},
                                  {CK_SP800_108_BYTE_ARRAY, "\0", 1},
                                  {CK_SP800_108_BYTE_ARRAY, "context", 7},
                                  {CK_SP800_108_DKM_LENGTH, &dkm, sizeof(dkm)}};
    QKT_CK_SP800_108_KDF_PARAMS kp = {CKM_SHA256_HMAC, 5, dp, 0, NULL};
    CK_MECHANISM m = {CKM_SP800_108_COUNTER_KDF, &kp, sizeof(kp)};
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_KEY_TYPE gen = CKK_GENERIC_SECRET;
    CK_ULONG len = 42;
    CK_ATTRIBUTE tpl[] = {{CKA_CLASS, &cls, sizeof(cls)},
                          {CKA_KEY_TYPE, &gen, sizeof(gen)},
                          {CKA_VALUE_LEN, &len, sizeof(len)},
                          BOOL_ATTR(CKA_EXTRACTABLE, yes)};
    CK_ATTRIBUTE q[] = {{CKA_VALUE, got, sizeof(got)}};
    for (int cmac = 0; cmac <= 1; cmac++) {
        kp.prfType = cmac ? CKM_AES_CMAC : CKM_SHA256_HMAC;
        CU_ASSERT_FATAL(kbkdf_openssl(cmac, key, 32, want, 42));
        EXPECT(F->C_DeriveKey(s, &m, base, tpl, 4, &out), CKR_OK);
        q[0].ulValueLen = sizeof(got);
        EXPECT(F->C_GetAttributeValue(s, out, q, 1), CKR_OK);
        CU_ASSERT(q[0].ulValueLen == 42 && memcmp(got, want, 42) == 0);
    }
    /* no counter, a feedback-mode counter, additional derived keys: refused */
    kp.ulNumberOfDataParams = 4;
    kp.pDataParams = dp + 1;
    EXPECT(F->C_DeriveKey(s, &m, base, tpl, 4, &out), CKR_MECHANISM_PARAM_INVALID);
    kp.ulNumberOfDataParams = 5;
    kp.pDataParams = dp;
    dp[0].type = CK_SP800_108_OPTIONAL_COUNTER;
    EXPECT(F->C_DeriveKey(s, &m, base, tpl, 4, &out), CKR_MECHANISM_PARAM_INVALID);
    dp[0].type = CK_SP800_108_ITERATION_VARIABLE;
    QKT_CK_DERIVED_KEY extra = {tpl, 4, &out};
    kp.ulAdditionalDerivedKeys = 1;
    kp.pAdditionalDerivedKeys = &extra;
    EXPECT(F->C_DeriveKey(s, &m, base, tpl, 4, &out), CKR_MECHANISM_PARAM_INVALID);
    F->C_CloseSession(s);
}

int main(int argc, char **argv)
{
    const char *which = argc > 1 ? argv[1] : "qkey";
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    if (p11_setup(which, "kat") != 0) {
        fprintf(stderr, "%s: cannot set up a token\n", which);
        p11_teardown();
        return 1;
    }
    CU_pSuite suite = CU_add_suite(which, NULL, NULL);
    CU_add_test(suite, "SHA-2 (FIPS 180-2)", test_sha);
    CU_add_test(suite, "HMAC (RFC 4231)", test_hmac);
    CU_add_test(suite, "AES-CMAC (RFC 4493)", test_cmac);
    CU_add_test(suite, "AES-GCM (GCM spec test case 4)", test_gcm);
    CU_add_test(suite, "AES-CBC-PAD and AES-CTR (SP 800-38A)", test_cbc_ctr);
    CU_add_test(suite, "AES-ECB and AES-CBC (SP 800-38A)", test_ecb_cbc);
    CU_add_test(suite, "3DES ECB, CBC, CBC_PAD (SP 800-67), key generation", test_des3);
    CU_add_test(suite, "AES-KWP (RFC 5649)", test_kwp);
    CU_add_test(suite, "AES-KW (RFC 3394)", test_kw);
    CU_add_test(suite, "HKDF (RFC 5869)", test_hkdf);
    CU_add_test(suite, "SP 800-108 counter KDF (against OpenSSL KBKDF)", test_sp800_108);
    int rc = p11_run(which);
    p11_teardown();
    return rc;
}
