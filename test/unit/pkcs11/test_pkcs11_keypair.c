/*
 * Key pairs through the function list, against libqkey-pkcs11.so and SoftHSM2 with the same
 * expectations (so what the two tokens share gives the same result on both):
 *   Ed25519 signature                  RFC 8032 section 7.1, test 1
 *   X25519 key agreement               RFC 7748 section 6.1
 *   RSA PKCS #1 v1.5 (raw and SHA-256) byte-identical to OpenSSL with the same key; PSS and
 *                                      OAEP cross-checked with OpenSSL both ways
 *   ECDSA P-256 and ECDH               cross-checked with OpenSSL both ways
 *   generated pairs                    RSA-2048, P-256/384/521, Ed25519: attributes the spec
 *                                      requires, signatures OpenSSL verifies
 *   AES-KWP wrap of a private key      PKCS#8, unwrapped key signs the same
 *   token key pairs                    survive a restart; the store never holds a private
 *                                      part in clear
 *   bad input                          the spec's error codes
 * Mechanisms a module does not list are skipped there.
 */
#include <stdio.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <CUnit/Basic.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

#include "p11_harness.h"
#include "pkcs11_3_0.h"

#define F p11.f
static CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
static CK_OBJECT_CLASS c_priv = CKO_PRIVATE_KEY, c_pub = CKO_PUBLIC_KEY, c_sec = CKO_SECRET_KEY;
static CK_KEY_TYPE k_rsa = CKK_RSA, k_ec = CKK_EC, k_ed = CKK_EC_EDWARDS, k_x = CKK_EC_MONTGOMERY,
                   k_gen = CKK_GENERIC_SECRET;
static const unsigned char oid_p256[] = {0x06, 0x08, 0x2a, 0x86, 0x48,
                                         0xce, 0x3d, 0x03, 0x01, 0x07};
static const unsigned char oid_ed25519[] = {0x06, 0x03, 0x2b, 0x65, 0x70};
static const unsigned char oid_x25519[] = {0x06, 0x03, 0x2b, 0x65, 0x6e};

static CK_ULONG attr_len(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_TYPE t,
                         unsigned char *buf, CK_ULONG cap)
{
    CK_ATTRIBUTE a = {t, buf, cap};
    return F->C_GetAttributeValue(s, h, &a, 1) == CKR_OK ? a.ulValueLen : 0;
}

static CK_BBOOL attr_bool(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_TYPE t)
{
    CK_BBOOL v = 2;
    CK_ATTRIBUTE a = {t, &v, sizeof(v)};
    EXPECT(F->C_GetAttributeValue(s, h, &a, 1), CKR_OK);
    return v;
}

/* DER OCTET STRING of a short raw point (the CKA_EC_POINT form). */
static size_t octets(const unsigned char *raw, size_t len, unsigned char *out)
{
    out[0] = 0x04;
    out[1] = (unsigned char)len;
    memcpy(out + 2, raw, len);
    return len + 2;
}

static CK_RV sign(CK_SESSION_HANDLE s, CK_MECHANISM *m, CK_OBJECT_HANDLE k, const void *msg,
                  size_t len, unsigned char *sig, CK_ULONG *siglen)
{
    CK_RV rv = F->C_SignInit(s, m, k);
    return rv != CKR_OK ? rv : F->C_Sign(s, (CK_BYTE_PTR)msg, len, sig, siglen);
}

static CK_RV verify(CK_SESSION_HANDLE s, CK_MECHANISM *m, CK_OBJECT_HANDLE k, const void *msg,
                    size_t len, const unsigned char *sig, CK_ULONG siglen)
{
    CK_RV rv = F->C_VerifyInit(s, m, k);
    return rv != CKR_OK ? rv : F->C_Verify(s, (CK_BYTE_PTR)msg, len, (CK_BYTE_PTR)sig, siglen);
}

static void test_ed25519_rfc8032(void)
{
    unsigned char sk[32], pk[32], want[64], sig[128], pt[40];
    CK_ULONG siglen = sizeof(sig);
    CK_MECHANISM m = {CKM_EDDSA, NULL, 0};
    CK_OBJECT_HANDLE priv, pub;
    CK_SESSION_HANDLE s;

    if (!p11_has_mech(CKM_EDDSA))
        return;
    s = p11_session(1);
    p11_unhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60", sk);
    p11_unhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", pk);
    p11_unhex("e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bac"
              "c61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
              want);
    CK_ATTRIBUTE tpriv[] = {{CKA_CLASS, &c_priv, sizeof(c_priv)},
                            {CKA_KEY_TYPE, &k_ed, sizeof(k_ed)},
                            {CKA_EC_PARAMS, (void *)oid_ed25519, sizeof(oid_ed25519)},
                            {CKA_VALUE, sk, sizeof(sk)},
                            BOOL_ATTR(CKA_SIGN, yes)};
    CK_ATTRIBUTE tpub[] = {{CKA_CLASS, &c_pub, sizeof(c_pub)},
                           {CKA_KEY_TYPE, &k_ed, sizeof(k_ed)},
                           {CKA_EC_PARAMS, (void *)oid_ed25519, sizeof(oid_ed25519)},
                           {CKA_EC_POINT, pt, (CK_ULONG)octets(pk, 32, pt)},
                           BOOL_ATTR(CKA_VERIFY, yes)};
    EXPECT(F->C_CreateObject(s, tpriv, 5, &priv), CKR_OK);
    EXPECT(F->C_CreateObject(s, tpub, 5, &pub), CKR_OK);
    EXPECT(sign(s, &m, priv, "", 0, sig, &siglen), CKR_OK);
    CU_ASSERT_EQUAL(siglen, 64);
    CU_ASSERT_EQUAL(memcmp(sig, want, 64), 0);
    EXPECT(verify(s, &m, pub, "", 0, want, 64), CKR_OK);
    want[10] ^= 1;
    EXPECT(verify(s, &m, pub, "", 0, want, 64), CKR_SIGNATURE_INVALID);
    F->C_CloseSession(s);
}

static void test_x25519_rfc7748(void)
{
    unsigned char a_sk[32], b_pk[32], want[32], got[64];
    CK_OBJECT_HANDLE priv, z;
    CK_SESSION_HANDLE s;

    if (!p11_has_mech(CKM_EC_MONTGOMERY_KEY_PAIR_GEN) || !p11_has_mech(CKM_ECDH1_DERIVE))
        return;
    s = p11_session(1);
    p11_unhex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a", a_sk);
    p11_unhex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f", b_pk);
    p11_unhex("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742", want);
    CK_ATTRIBUTE tpriv[] = {{CKA_CLASS, &c_priv, sizeof(c_priv)},
                            {CKA_KEY_TYPE, &k_x, sizeof(k_x)},
                            {CKA_EC_PARAMS, (void *)oid_x25519, sizeof(oid_x25519)},
                            {CKA_VALUE, a_sk, sizeof(a_sk)},
                            BOOL_ATTR(CKA_DERIVE, yes)};
    EXPECT(F->C_CreateObject(s, tpriv, 5, &priv), CKR_OK);
    CK_ECDH1_DERIVE_PARAMS p = {CKD_NULL, 0, NULL, sizeof(b_pk), b_pk};
    CK_MECHANISM m = {CKM_ECDH1_DERIVE, &p, sizeof(p)};
    CK_ATTRIBUTE tz[] = {{CKA_CLASS, &c_sec, sizeof(c_sec)},
                         {CKA_KEY_TYPE, &k_gen, sizeof(k_gen)},
                         BOOL_ATTR(CKA_SENSITIVE, no),
                         BOOL_ATTR(CKA_EXTRACTABLE, yes)};
    EXPECT(F->C_DeriveKey(s, &m, priv, tz, 4, &z), CKR_OK);
    CU_ASSERT_EQUAL(attr_len(s, z, CKA_VALUE, got, sizeof(got)), 32);
    CU_ASSERT_EQUAL(memcmp(got, want, 32), 0);
    /* an all-zero (small-order) peer point gives no key (qkey; RFC 7748 section 6.1) */
    memset(b_pk, 0, sizeof(b_pk));
    if (p11.is_qkey)
        EXPECT(F->C_DeriveKey(s, &m, priv, tz, 4, &z), CKR_MECHANISM_PARAM_INVALID);
    F->C_CloseSession(s);
}

/* ---- RSA, with a key OpenSSL made ------------------------------------------------------ */
typedef struct {
    unsigned char v[8][520];
    CK_ULONG len[8]; /* n e d p q dp dq qinv */
} RSA_PARTS;

static EVP_PKEY *rsa_key;
static RSA_PARTS parts;

static int rsa_parts_of(EVP_PKEY *k, RSA_PARTS *out)
{
    static const char *const names[] = {
        OSSL_PKEY_PARAM_RSA_N,         OSSL_PKEY_PARAM_RSA_E,
        OSSL_PKEY_PARAM_RSA_D,         OSSL_PKEY_PARAM_RSA_FACTOR1,
        OSSL_PKEY_PARAM_RSA_FACTOR2,   OSSL_PKEY_PARAM_RSA_EXPONENT1,
        OSSL_PKEY_PARAM_RSA_EXPONENT2, OSSL_PKEY_PARAM_RSA_COEFFICIENT1};
    for (int i = 0; i < 8; i++) {
        BIGNUM *bn = NULL;
        if (EVP_PKEY_get_bn_param(k, names[i], &bn) != 1)
            return 0;
        out->len[i] = (CK_ULONG)BN_bn2bin(bn, out->v[i]);
        BN_free(bn);
    }
    return 1;
}

/* Import the OpenSSL key: a private key (extractable, not sensitive) and its public key. */
static void rsa_import(CK_SESSION_HANDLE s, CK_BBOOL token, CK_OBJECT_HANDLE *priv,
                       CK_OBJECT_HANDLE *pub)
{
    static const CK_ATTRIBUTE_TYPE t[] = {CKA_MODULUS,    CKA_PUBLIC_EXPONENT, CKA_PRIVATE_EXPONENT,
                                          CKA_PRIME_1,    CKA_PRIME_2,         CKA_EXPONENT_1,
                                          CKA_EXPONENT_2, CKA_COEFFICIENT};
    CK_ATTRIBUTE tpl[16] = {
        {CKA_CLASS, &c_priv, sizeof(c_priv)}, {CKA_KEY_TYPE, &k_rsa, sizeof(k_rsa)},
        BOOL_ATTR(CKA_TOKEN, token),          BOOL_ATTR(CKA_SENSITIVE, no),
        BOOL_ATTR(CKA_EXTRACTABLE, yes),      BOOL_ATTR(CKA_SIGN, yes),
        BOOL_ATTR(CKA_DECRYPT, yes),          {CKA_LABEL, "rsa-imported", 12}};
    for (int i = 0; i < 8; i++)
        tpl[8 + i] = (CK_ATTRIBUTE){t[i], parts.v[i], parts.len[i]};
    EXPECT(F->C_CreateObject(s, tpl, 16, priv), CKR_OK);
    CK_ATTRIBUTE tpub[] = {{CKA_CLASS, &c_pub, sizeof(c_pub)},
                           {CKA_KEY_TYPE, &k_rsa, sizeof(k_rsa)},
                           BOOL_ATTR(CKA_TOKEN, token),
                           BOOL_ATTR(CKA_VERIFY, yes),
                           BOOL_ATTR(CKA_ENCRYPT, yes),
                           {CKA_MODULUS, parts.v[0], parts.len[0]},
                           {CKA_PUBLIC_EXPONENT, parts.v[1], parts.len[1]}};
    EXPECT(F->C_CreateObject(s, tpub, 7, pub), CKR_OK);
}

static size_t ossl_sign(EVP_PKEY *k, const char *md, int pad, const void *msg, size_t len,
                        unsigned char *sig)
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pc = NULL;
    size_t n = 1024;
    int ok = EVP_DigestSignInit_ex(c, &pc, md, NULL, NULL, k, NULL) == 1 &&
             (pad == 0 || EVP_PKEY_CTX_set_rsa_padding(pc, pad) == 1) &&
             (pad != RSA_PKCS1_PSS_PADDING ||
              EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, RSA_PSS_SALTLEN_DIGEST) == 1) &&
             EVP_DigestSign(c, sig, &n, msg, len) == 1;
    EVP_MD_CTX_free(c);
    return ok ? n : 0;
}

static int ossl_verify(EVP_PKEY *k, const char *md, int pad, const void *msg, size_t len,
                       const unsigned char *sig, size_t siglen)
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pc = NULL;
    int ok = EVP_DigestVerifyInit_ex(c, &pc, md, NULL, NULL, k, NULL) == 1 &&
             (pad == 0 || EVP_PKEY_CTX_set_rsa_padding(pc, pad) == 1) &&
             EVP_DigestVerify(c, sig, siglen, msg, len) == 1;
    EVP_MD_CTX_free(c);
    return ok;
}

static void test_rsa_cross(void)
{
    unsigned char sig[600], want[600], buf[600], ct[600];
    CK_ULONG siglen = sizeof(sig), n;
    CK_OBJECT_HANDLE priv, pub;
    CK_SESSION_HANDLE s = p11_session(1);
    CK_MECHANISM m = {CKM_SHA256_RSA_PKCS, NULL, 0};

    rsa_import(s, CK_FALSE, &priv, &pub);
    /* PKCS #1 v1.5 is deterministic: the token's signature is OpenSSL's, byte for byte */
    size_t wl = ossl_sign(rsa_key, "SHA256", RSA_PKCS1_PADDING, "abc", 3, want);
    CU_ASSERT_EQUAL_FATAL(wl, 256);
    EXPECT(sign(s, &m, priv, "abc", 3, sig, &siglen), CKR_OK);
    CU_ASSERT(siglen == wl && memcmp(sig, want, wl) == 0);
    /* multi-part gives the same */
    EXPECT(F->C_SignInit(s, &m, priv), CKR_OK);
    EXPECT(F->C_SignUpdate(s, (CK_BYTE_PTR) "a", 1), CKR_OK);
    EXPECT(F->C_SignUpdate(s, (CK_BYTE_PTR) "bc", 2), CKR_OK);
    siglen = sizeof(sig);
    EXPECT(F->C_SignFinal(s, sig, &siglen), CKR_OK);
    CU_ASSERT(siglen == wl && memcmp(sig, want, wl) == 0);
    /* a length query and a too-small buffer keep the operation and take no input: the
     * signature that follows is still over "abc" (Base 3.0, 5.2) */
    EXPECT(F->C_SignInit(s, &m, priv), CKR_OK);
    siglen = 0;
    EXPECT(F->C_Sign(s, (CK_BYTE_PTR) "abc", 3, NULL, &siglen), CKR_OK);
    CU_ASSERT_EQUAL(siglen, 256);
    siglen = 10;
    EXPECT(F->C_Sign(s, (CK_BYTE_PTR) "abc", 3, sig, &siglen), CKR_BUFFER_TOO_SMALL);
    siglen = sizeof(sig);
    EXPECT(F->C_Sign(s, (CK_BYTE_PTR) "abc", 3, sig, &siglen), CKR_OK);
    CU_ASSERT(siglen == wl && memcmp(sig, want, wl) == 0);
    /* raw CKM_RSA_PKCS over the DigestInfo gives the same signature */
    unsigned char di[51];
    p11_unhex("3031300d060960864801650304020105000420", di);
    EVP_Digest("abc", 3, di + 19, NULL, EVP_sha256(), NULL);
    CK_MECHANISM raw = {CKM_RSA_PKCS, NULL, 0};
    siglen = sizeof(sig);
    EXPECT(sign(s, &raw, priv, di, sizeof(di), sig, &siglen), CKR_OK);
    CU_ASSERT(siglen == wl && memcmp(sig, want, wl) == 0);
    EXPECT(verify(s, &m, pub, "abc", 3, want, wl), CKR_OK);
    EXPECT(verify(s, &m, pub, "abd", 3, want, wl), CKR_SIGNATURE_INVALID);
    EXPECT(verify(s, &m, pub, "abc", 3, want, wl - 1), CKR_SIGNATURE_LEN_RANGE);
    /* PSS: the token signs, OpenSSL verifies (salt = hash length) */
    CK_RSA_PKCS_PSS_PARAMS pss = {CKM_SHA256, CKG_MGF1_SHA256, 32};
    CK_MECHANISM mp = {CKM_SHA256_RSA_PKCS_PSS, &pss, sizeof(pss)};
    siglen = sizeof(sig);
    EXPECT(sign(s, &mp, priv, "abc", 3, sig, &siglen), CKR_OK);
    CU_ASSERT(ossl_verify(rsa_key, "SHA256", RSA_PKCS1_PSS_PADDING, "abc", 3, sig, siglen));
    wl = ossl_sign(rsa_key, "SHA256", RSA_PKCS1_PSS_PADDING, "abc", 3, want);
    EXPECT(verify(s, &mp, pub, "abc", 3, want, wl), CKR_OK);
    /* OAEP: OpenSSL encrypts, the token decrypts; and the other way. (SoftHSM 2.6 takes OAEP
     * with SHA-1 only, which qkey does not offer.) */
    if (!p11.is_qkey) {
        F->C_CloseSession(s);
        return;
    }
    CK_RSA_PKCS_OAEP_PARAMS oaep = {CKM_SHA256, CKG_MGF1_SHA256, CKZ_DATA_SPECIFIED, NULL, 0};
    CK_MECHANISM mo = {CKM_RSA_PKCS_OAEP, &oaep, sizeof(oaep)};
    EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new(rsa_key, NULL);
    size_t ctl = sizeof(ct);
    CU_ASSERT(EVP_PKEY_encrypt_init(pc) == 1 &&
              EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_OAEP_PADDING) == 1 &&
              EVP_PKEY_CTX_set_rsa_oaep_md(pc, EVP_sha256()) == 1 &&
              EVP_PKEY_encrypt(pc, ct, &ctl, (const unsigned char *)"secret", 6) == 1);
    EXPECT(F->C_DecryptInit(s, &mo, priv), CKR_OK);
    n = sizeof(buf);
    EXPECT(F->C_Decrypt(s, ct, ctl, buf, &n), CKR_OK);
    CU_ASSERT(n == 6 && memcmp(buf, "secret", 6) == 0);
    EXPECT(F->C_EncryptInit(s, &mo, pub), CKR_OK);
    n = sizeof(ct);
    EXPECT(F->C_Encrypt(s, (CK_BYTE_PTR) "other", 5, ct, &n), CKR_OK);
    ctl = sizeof(buf);
    CU_ASSERT(EVP_PKEY_decrypt_init(pc) == 1 &&
              EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_OAEP_PADDING) == 1 &&
              EVP_PKEY_CTX_set_rsa_oaep_md(pc, EVP_sha256()) == 1 &&
              EVP_PKEY_decrypt(pc, buf, &ctl, ct, n) == 1 && ctl == 5 &&
              memcmp(buf, "other", 5) == 0);
    EVP_PKEY_CTX_free(pc);
    /* a tampered ciphertext is refused */
    ct[7] ^= 1;
    EXPECT(F->C_DecryptInit(s, &mo, priv), CKR_OK);
    n = sizeof(buf);
    EXPECT(F->C_Decrypt(s, ct, 256, buf, &n), CKR_ENCRYPTED_DATA_INVALID);
    /* the parts of a non-sensitive, extractable key read back as given; an imported key is
     * not local */
    CU_ASSERT_EQUAL(attr_len(s, priv, CKA_PRIME_1, buf, sizeof(buf)), parts.len[3]);
    CU_ASSERT_EQUAL(memcmp(buf, parts.v[3], parts.len[3]), 0);
    CU_ASSERT_EQUAL(attr_bool(s, priv, CKA_LOCAL), CK_FALSE);
    CU_ASSERT_EQUAL(attr_bool(s, priv, CKA_ALWAYS_SENSITIVE), CK_FALSE);
    F->C_CloseSession(s);
}

/* ---- EC, with a key OpenSSL made ------------------------------------------------------- */
static size_t ec_raw_to_der(const unsigned char *raw, size_t n, unsigned char *der)
{
    ECDSA_SIG *sig = ECDSA_SIG_new();
    unsigned char *p = der;
    ECDSA_SIG_set0(sig, BN_bin2bn(raw, (int)(n / 2), NULL),
                   BN_bin2bn(raw + n / 2, (int)(n / 2), NULL));
    int len = i2d_ECDSA_SIG(sig, &p);
    ECDSA_SIG_free(sig);
    return len > 0 ? (size_t)len : 0;
}

static void test_ec_cross(void)
{
    unsigned char d[32], q[65], qder[80], sig[200], der[200], z1[64], z2[64];
    size_t ql, dl, zl = sizeof(z2);
    BIGNUM *bn = NULL;
    CK_ULONG siglen = sizeof(sig);
    CK_OBJECT_HANDLE priv, pub, z;
    CK_SESSION_HANDLE s = p11_session(1);
    EVP_PKEY *k = EVP_EC_gen("P-256"), *peer = EVP_EC_gen("P-256");

    CU_ASSERT_FATAL(k != NULL && peer != NULL);
    CU_ASSERT_FATAL(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_PRIV_KEY, &bn) == 1);
    BN_bn2binpad(bn, d, 32);
    BN_free(bn);
    CU_ASSERT_FATAL(
        EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, q, sizeof(q), &ql) == 1);
    CK_ATTRIBUTE tpriv[] = {{CKA_CLASS, &c_priv, sizeof(c_priv)},
                            {CKA_KEY_TYPE, &k_ec, sizeof(k_ec)},
                            {CKA_EC_PARAMS, (void *)oid_p256, sizeof(oid_p256)},
                            {CKA_VALUE, d, sizeof(d)},
                            BOOL_ATTR(CKA_SIGN, yes),
                            BOOL_ATTR(CKA_DERIVE, yes)};
    CK_ATTRIBUTE tpub[] = {{CKA_CLASS, &c_pub, sizeof(c_pub)},
                           {CKA_KEY_TYPE, &k_ec, sizeof(k_ec)},
                           {CKA_EC_PARAMS, (void *)oid_p256, sizeof(oid_p256)},
                           {CKA_EC_POINT, qder, (CK_ULONG)octets(q, ql, qder)},
                           BOOL_ATTR(CKA_VERIFY, yes)};
    EXPECT(F->C_CreateObject(s, tpriv, 6, &priv), CKR_OK);
    EXPECT(F->C_CreateObject(s, tpub, 5, &pub), CKR_OK);
    /* the token signs r || s; OpenSSL verifies it as DER */
    CK_MECHANISM m = {CKM_ECDSA_SHA256, NULL, 0};
    if (p11_has_mech(CKM_ECDSA_SHA256)) {
        EXPECT(sign(s, &m, priv, "abc", 3, sig, &siglen), CKR_OK);
        CU_ASSERT_EQUAL(siglen, 64);
        dl = ec_raw_to_der(sig, siglen, der);
        CU_ASSERT(ossl_verify(k, "SHA256", 0, "abc", 3, der, dl));
    }
    /* CKM_ECDSA over a hash; OpenSSL's signature verifies in the token */
    unsigned char h[32];
    EVP_Digest("abc", 3, h, NULL, EVP_sha256(), NULL);
    CK_MECHANISM raw = {CKM_ECDSA, NULL, 0};
    siglen = sizeof(sig);
    EXPECT(sign(s, &raw, priv, h, 32, sig, &siglen), CKR_OK);
    EXPECT(verify(s, &raw, pub, h, 32, sig, siglen), CKR_OK);
    dl = ec_raw_to_der(sig, siglen, der);
    CU_ASSERT(ossl_verify(k, "SHA256", 0, "abc", 3, der, dl));
    h[0] ^= 1;
    EXPECT(verify(s, &raw, pub, h, 32, sig, siglen), CKR_SIGNATURE_INVALID);
    /* ECDH: the token's secret is OpenSSL's */
    unsigned char pq[65];
    size_t pql;
    EVP_PKEY_get_octet_string_param(peer, OSSL_PKEY_PARAM_PUB_KEY, pq, sizeof(pq), &pql);
    CK_ECDH1_DERIVE_PARAMS p = {CKD_NULL, 0, NULL, (CK_ULONG)pql, pq};
    CK_MECHANISM md = {CKM_ECDH1_DERIVE, &p, sizeof(p)};
    CK_ATTRIBUTE tz[] = {{CKA_CLASS, &c_sec, sizeof(c_sec)},
                         {CKA_KEY_TYPE, &k_gen, sizeof(k_gen)},
                         BOOL_ATTR(CKA_SENSITIVE, no),
                         BOOL_ATTR(CKA_EXTRACTABLE, yes)};
    EXPECT(F->C_DeriveKey(s, &md, priv, tz, 4, &z), CKR_OK);
    CU_ASSERT_EQUAL(attr_len(s, z, CKA_VALUE, z1, sizeof(z1)), 32);
    EVP_PKEY_CTX *dc = EVP_PKEY_CTX_new(peer, NULL);
    CU_ASSERT(EVP_PKEY_derive_init(dc) == 1 && EVP_PKEY_derive_set_peer(dc, k) == 1 &&
              EVP_PKEY_derive(dc, z2, &zl) == 1 && zl == 32);
    CU_ASSERT_EQUAL(memcmp(z1, z2, 32), 0);
    EVP_PKEY_CTX_free(dc);
    /* a point off the curve is refused (qkey checks it; Current Mechanisms 2.3.14) */
    pq[40] ^= 1;
    if (p11.is_qkey)
        EXPECT(F->C_DeriveKey(s, &md, priv, tz, 4, &z), CKR_MECHANISM_PARAM_INVALID);
    EVP_PKEY_free(k);
    EVP_PKEY_free(peer);
    F->C_CloseSession(s);
}

/* ---- generated pairs -------------------------------------------------------------------- */
/* The public key of a generated pair as OpenSSL sees it, from the spec's attributes. */
static EVP_PKEY *public_of(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE pub, CK_KEY_TYPE kt,
                           const char *group)
{
    unsigned char a[600], b[600];
    CK_ULONG al, bl;
    EVP_PKEY *k = NULL;
    EVP_PKEY_CTX *c;

    if (kt == CKK_RSA) {
        al = attr_len(s, pub, CKA_MODULUS, a, sizeof(a));
        bl = attr_len(s, pub, CKA_PUBLIC_EXPONENT, b, sizeof(b));
        BIGNUM *n = BN_bin2bn(a, (int)al, NULL), *e = BN_bin2bn(b, (int)bl, NULL);
        OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n);
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e);
        OSSL_PARAM *p = OSSL_PARAM_BLD_to_param(bld);
        c = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
        EVP_PKEY_fromdata_init(c);
        EVP_PKEY_fromdata(c, &k, EVP_PKEY_PUBLIC_KEY, p);
        OSSL_PARAM_free(p);
        OSSL_PARAM_BLD_free(bld);
        BN_free(n);
        BN_free(e);
    } else {
        /* a DER OCTET STRING: short length, or 0x81 and one length byte (P-521) */
        al = attr_len(s, pub, CKA_EC_POINT, a, sizeof(a));
        size_t hdr = al > 3 && a[1] == 0x81 ? 3 : 2;
        CU_ASSERT_FATAL(al > hdr && a[0] == 0x04 && a[hdr - 1] + hdr == al);
        if (kt == CKK_EC_EDWARDS)
            return EVP_PKEY_new_raw_public_key_ex(NULL, group, NULL, a + hdr, al - hdr);
        OSSL_PARAM p[] = {
            OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)group, 0),
            OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, a + hdr, al - hdr),
            OSSL_PARAM_END};
        c = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
        EVP_PKEY_fromdata_init(c);
        EVP_PKEY_fromdata(c, &k, EVP_PKEY_PUBLIC_KEY, p);
    }
    EVP_PKEY_CTX_free(c);
    return k;
}

static void generate_one(CK_MECHANISM_TYPE gen, CK_KEY_TYPE kt, CK_ULONG bits,
                         const unsigned char *oid, size_t oidlen, const char *group,
                         CK_MECHANISM_TYPE signmech, const char *md)
{
    CK_SESSION_HANDLE s;
    CK_OBJECT_HANDLE pub, priv;
    CK_MECHANISM g = {gen, NULL, 0}, m = {signmech, NULL, 0};
    unsigned char sig[600], der[200], buf[600];
    CK_ULONG siglen = sizeof(sig);

    if (!p11_has_mech(gen) || !p11_has_mech(signmech))
        return;
    s = p11_session(1);
    CK_ATTRIBUTE tpub[] = {BOOL_ATTR(CKA_VERIFY, yes),
                           kt == CKK_RSA ? (CK_ATTRIBUTE){CKA_MODULUS_BITS, &bits, sizeof(bits)}
                                         : (CK_ATTRIBUTE){CKA_EC_PARAMS, (void *)oid, oidlen}};
    CK_ATTRIBUTE tpriv[] = {BOOL_ATTR(CKA_SIGN, yes), BOOL_ATTR(CKA_SENSITIVE, yes),
                            BOOL_ATTR(CKA_EXTRACTABLE, no), BOOL_ATTR(CKA_PRIVATE, yes)};
    EXPECT(F->C_GenerateKeyPair(s, &g, tpub, 2, tpriv, 4, &pub, &priv), CKR_OK);
    CU_ASSERT_EQUAL(attr_bool(s, priv, CKA_LOCAL), CK_TRUE);
    CU_ASSERT_EQUAL(attr_bool(s, pub, CKA_LOCAL), CK_TRUE);
    CU_ASSERT_EQUAL(attr_bool(s, priv, CKA_ALWAYS_SENSITIVE), CK_TRUE);
    CU_ASSERT_EQUAL(attr_bool(s, priv, CKA_NEVER_EXTRACTABLE), CK_TRUE);
    CK_ATTRIBUTE part = {kt == CKK_RSA ? CKA_PRIVATE_EXPONENT : CKA_VALUE, buf, sizeof(buf)};
    EXPECT(F->C_GetAttributeValue(s, priv, &part, 1), CKR_ATTRIBUTE_SENSITIVE);
    CU_ASSERT_EQUAL(part.ulValueLen, CK_UNAVAILABLE_INFORMATION);
    if (kt == CKK_RSA) {
        CK_ULONG got = 0;
        CK_ATTRIBUTE a = {CKA_MODULUS_BITS, &got, sizeof(got)};
        EXPECT(F->C_GetAttributeValue(s, pub, &a, 1), CKR_OK);
        CU_ASSERT_EQUAL(got, bits);
    }
    EXPECT(sign(s, &m, priv, "quantum", 7, sig, &siglen), CKR_OK);
    EXPECT(verify(s, &m, pub, "quantum", 7, sig, siglen), CKR_OK);
    EVP_PKEY *k = public_of(s, pub, kt, group);
    CU_ASSERT_FATAL(k != NULL);
    if (kt == CKK_EC) {
        size_t dl = ec_raw_to_der(sig, siglen, der);
        CU_ASSERT(ossl_verify(k, md, 0, "quantum", 7, der, dl));
    } else {
        CU_ASSERT(ossl_verify(k, md, 0, "quantum", 7, sig, siglen));
    }
    EVP_PKEY_free(k);
    F->C_CloseSession(s);
}

static void test_generate(void)
{
    static const unsigned char p384[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22};
    static const unsigned char p521[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23};
    generate_one(CKM_RSA_PKCS_KEY_PAIR_GEN, CKK_RSA, 2048, NULL, 0, NULL, CKM_SHA256_RSA_PKCS,
                 "SHA256");
    generate_one(CKM_EC_KEY_PAIR_GEN, CKK_EC, 0, oid_p256, sizeof(oid_p256), "P-256",
                 CKM_ECDSA_SHA256, "SHA256");
    generate_one(CKM_EC_KEY_PAIR_GEN, CKK_EC, 0, p384, sizeof(p384), "P-384", CKM_ECDSA_SHA384,
                 "SHA384");
    generate_one(CKM_EC_KEY_PAIR_GEN, CKK_EC, 0, p521, sizeof(p521), "P-521", CKM_ECDSA_SHA512,
                 "SHA512");
    generate_one(CKM_EC_EDWARDS_KEY_PAIR_GEN, CKK_EC_EDWARDS, 0, oid_ed25519, sizeof(oid_ed25519),
                 "ED25519", CKM_EDDSA, NULL);
}

/* ---- wrapping a private key ------------------------------------------------------------- */
static void test_wrap_private(void)
{
    static const unsigned char kek_val[32] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11,
                                              12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
                                              23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
    unsigned char wrapped[4096], s1[600], s2[600];
    CK_ULONG wl = sizeof(wrapped), l1 = sizeof(s1), l2 = sizeof(s2);
    CK_OBJECT_HANDLE priv, pub, kek, back, gpub, gpriv;
    CK_SESSION_HANDLE s;
    CK_MECHANISM kwp = {CKM_AES_KEY_WRAP_KWP, NULL, 0}, m = {CKM_SHA256_RSA_PKCS, NULL, 0};

    if (!p11_has_mech(CKM_AES_KEY_WRAP_KWP))
        return;
    s = p11_session(1);
    rsa_import(s, CK_FALSE, &priv, &pub);
    CK_ATTRIBUTE kx[] = {BOOL_ATTR(CKA_WRAP, yes), BOOL_ATTR(CKA_UNWRAP, yes)};
    kek = p11_aes_key(s, kek_val, 32, kx, 2);
    EXPECT(F->C_WrapKey(s, &kwp, kek, priv, wrapped, &wl), CKR_OK);
    CK_ATTRIBUTE tpl[] = {{CKA_CLASS, &c_priv, sizeof(c_priv)},
                          {CKA_KEY_TYPE, &k_rsa, sizeof(k_rsa)},
                          BOOL_ATTR(CKA_SIGN, yes)};
    EXPECT(F->C_UnwrapKey(s, &kwp, kek, wrapped, wl, tpl, 3, &back), CKR_OK);
    EXPECT(sign(s, &m, priv, "abc", 3, s1, &l1), CKR_OK);
    EXPECT(sign(s, &m, back, "abc", 3, s2, &l2), CKR_OK);
    CU_ASSERT(l1 == l2 && memcmp(s1, s2, l1) == 0);
    /* the unwrapped value is checked: one changed byte and it does not open */
    wrapped[5] ^= 1;
    EXPECT(F->C_UnwrapKey(s, &kwp, kek, wrapped, wl, tpl, 3, &back), CKR_WRAPPED_KEY_INVALID);
    /* a key made unextractable never leaves */
    if (p11_has_mech(CKM_EC_KEY_PAIR_GEN)) {
        CK_MECHANISM g = {CKM_EC_KEY_PAIR_GEN, NULL, 0};
        CK_ATTRIBUTE tpub[] = {{CKA_EC_PARAMS, (void *)oid_p256, sizeof(oid_p256)}};
        CK_ATTRIBUTE tpriv[] = {BOOL_ATTR(CKA_EXTRACTABLE, no)};
        EXPECT(F->C_GenerateKeyPair(s, &g, tpub, 1, tpriv, 1, &gpub, &gpriv), CKR_OK);
        wl = sizeof(wrapped);
        EXPECT(F->C_WrapKey(s, &kwp, kek, gpriv, wrapped, &wl), CKR_KEY_UNEXTRACTABLE);
    }
    F->C_CloseSession(s);
}

/* ---- token key pairs: kept across a restart, never in clear in the store ---------------- */
static const unsigned char *needle;
static size_t needle_len;
static int found;

static int scan(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st, (void)ftw;
    if (type != FTW_F)
        return 0;
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return 0;
    static unsigned char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    for (size_t i = 0; i + needle_len <= n; i++)
        if (memcmp(buf + i, needle, needle_len) == 0)
            found = 1;
    return 0;
}

static int in_store(const unsigned char *v, size_t len)
{
    needle = v;
    needle_len = len;
    found = 0;
    nftw(p11.dir, scan, 8, FTW_PHYS);
    return found;
}

static void test_token_pairs(void)
{
    unsigned char sig[600];
    CK_ULONG siglen = sizeof(sig), count = 0;
    CK_OBJECT_HANDLE priv, pub, h;
    CK_MECHANISM m = {CKM_SHA256_RSA_PKCS, NULL, 0};
    CK_SESSION_HANDLE s = p11_session(1);

    rsa_import(s, CK_TRUE, &priv, &pub);
    F->C_CloseSession(s);
    CU_ASSERT_FATAL(p11_restart() == 0);
    s = p11_session(1);
    CK_ATTRIBUTE find[] = {{CKA_CLASS, &c_priv, sizeof(c_priv)}, {CKA_LABEL, "rsa-imported", 12}};
    EXPECT(F->C_FindObjectsInit(s, find, 2), CKR_OK);
    EXPECT(F->C_FindObjects(s, &h, 1, &count), CKR_OK);
    EXPECT(F->C_FindObjectsFinal(s), CKR_OK);
    CU_ASSERT_EQUAL_FATAL(count, 1);
    EXPECT(sign(s, &m, h, "abc", 3, sig, &siglen), CKR_OK);
    CU_ASSERT(ossl_verify(rsa_key, "SHA256", 0, "abc", 3, sig, siglen));
    F->C_CloseSession(s);
    /* the modulus is public; the private exponent and the primes are sealed (a store in the
     * token's directory: SQLite here, SoftHSM2's files; pg_nodes checks PostgreSQL's) */
    if (getenv("QKEY_P11_STORE") != NULL)
        return;
    CU_ASSERT(in_store(parts.v[0] + 8, 16));
    CU_ASSERT(!in_store(parts.v[2] + 8, 16));
    CU_ASSERT(!in_store(parts.v[3] + 8, 16));
}

/* ---- CKA_ALWAYS_AUTHENTICATE: the PIN again for each signature (Base 3.0, 4.9) ----------- */
static void test_always_authenticate(void)
{
    CK_SESSION_HANDLE s;
    CK_OBJECT_HANDLE pub, priv;
    CK_MECHANISM g = {CKM_EC_KEY_PAIR_GEN, NULL, 0},
                 m = {CKM_ECDSA, NULL, 0}; /* over a hash: SoftHSM2 lacks ECDSA_SHA256 */
    unsigned char sig[200], h32[32] = {7};
    CK_ULONG sl = sizeof(sig);

    if (!p11_has_mech(CKM_EC_KEY_PAIR_GEN))
        return;
    s = p11_session(1);
    CK_ATTRIBUTE tpub[] = {{CKA_EC_PARAMS, (void *)oid_p256, sizeof(oid_p256)}};
    CK_ATTRIBUTE tpriv[] = {BOOL_ATTR(CKA_SIGN, yes), BOOL_ATTR(CKA_ALWAYS_AUTHENTICATE, yes)};
    EXPECT(F->C_GenerateKeyPair(s, &g, tpub, 1, tpriv, 2, &pub, &priv), CKR_OK);
    /* no context login: refused (and the operation is over) */
    EXPECT(sign(s, &m, priv, h32, 32, sig, &sl), CKR_USER_NOT_LOGGED_IN);
    /* a context login with no operation to authorise */
    EXPECT(F->C_Login(s, CKU_CONTEXT_SPECIFIC, (CK_UTF8CHAR *)USER_PIN, 6),
           CKR_OPERATION_NOT_INITIALIZED);
    EXPECT(F->C_SignInit(s, &m, priv), CKR_OK);
    EXPECT(F->C_Login(s, CKU_CONTEXT_SPECIFIC, (CK_UTF8CHAR *)"654321", 6), CKR_PIN_INCORRECT);
    EXPECT(F->C_Login(s, CKU_CONTEXT_SPECIFIC, (CK_UTF8CHAR *)USER_PIN, 6), CKR_OK);
    sl = sizeof(sig);
    EXPECT(F->C_Sign(s, (CK_BYTE_PTR)h32, 32, sig, &sl), CKR_OK);
    EXPECT(verify(s, &m, pub, h32, 32, sig, sl), CKR_OK);
    /* once per operation: the next signature asks again */
    sl = sizeof(sig);
    EXPECT(sign(s, &m, priv, h32, 32, sig, &sl), CKR_USER_NOT_LOGGED_IN);
    F->C_CloseSession(s);
}

/* ---- bad input ---------------------------------------------------------------------------- */
static void test_errors(void)
{
    static const unsigned char secp256k1[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x0a};
    CK_SESSION_HANDLE s = p11_session(1);
    CK_OBJECT_HANDLE pub, priv;
    CK_ULONG bits = 1024;
    CK_MECHANISM rsa = {CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0}, ec = {CKM_EC_KEY_PAIR_GEN, NULL, 0};
    CK_ATTRIBUTE small[] = {{CKA_MODULUS_BITS, &bits, sizeof(bits)}};
    CK_ATTRIBUTE none[] = {BOOL_ATTR(CKA_VERIFY, yes)};
    CK_ATTRIBUTE k1[] = {{CKA_EC_PARAMS, (void *)secp256k1, sizeof(secp256k1)}};

    /* a template without the size or curve */
    EXPECT(F->C_GenerateKeyPair(s, &rsa, none, 1, none, 0, &pub, &priv), CKR_TEMPLATE_INCOMPLETE);
    if (p11.is_qkey) {
        /* qkey's own limits (docs/pkcs11.md): RSA from 2048 bits, the NIST curves and RFC 8410 */
        EXPECT(F->C_GenerateKeyPair(s, &rsa, small, 1, none, 0, &pub, &priv), CKR_KEY_SIZE_RANGE);
        EXPECT(F->C_GenerateKeyPair(s, &ec, k1, 1, none, 0, &pub, &priv), CKR_CURVE_NOT_SUPPORTED);
        /* a point not on the curve, a scalar out of range */
        unsigned char pt[67] = {0x04, 65, 0x04};
        memset(pt + 3, 0x11, 64);
        CK_ATTRIBUTE tpub[] = {{CKA_CLASS, &c_pub, sizeof(c_pub)},
                               {CKA_KEY_TYPE, &k_ec, sizeof(k_ec)},
                               {CKA_EC_PARAMS, (void *)oid_p256, sizeof(oid_p256)},
                               {CKA_EC_POINT, pt, sizeof(pt)}};
        EXPECT(F->C_CreateObject(s, tpub, 4, &pub), CKR_ATTRIBUTE_VALUE_INVALID);
        unsigned char big[32];
        memset(big, 0xff, sizeof(big));
        CK_ATTRIBUTE tpriv[] = {{CKA_CLASS, &c_priv, sizeof(c_priv)},
                                {CKA_KEY_TYPE, &k_ec, sizeof(k_ec)},
                                {CKA_EC_PARAMS, (void *)oid_p256, sizeof(oid_p256)},
                                {CKA_VALUE, big, sizeof(big)}};
        EXPECT(F->C_CreateObject(s, tpriv, 4, &priv), CKR_ATTRIBUTE_VALUE_INVALID);
        /* an RSA key whose parts do not agree */
        CK_ATTRIBUTE bad[] = {{CKA_CLASS, &c_priv, sizeof(c_priv)},
                              {CKA_KEY_TYPE, &k_rsa, sizeof(k_rsa)},
                              {CKA_MODULUS, parts.v[0], parts.len[0]},
                              {CKA_PUBLIC_EXPONENT, parts.v[1], parts.len[1]},
                              {CKA_PRIVATE_EXPONENT, parts.v[2], parts.len[2]},
                              {CKA_PRIME_1, parts.v[4], parts.len[4]},
                              {CKA_PRIME_2, parts.v[4], parts.len[4]},
                              {CKA_EXPONENT_1, parts.v[5], parts.len[5]},
                              {CKA_EXPONENT_2, parts.v[6], parts.len[6]},
                              {CKA_COEFFICIENT, parts.v[7], parts.len[7]}};
        EXPECT(F->C_CreateObject(s, bad, 10, &priv), CKR_ATTRIBUTE_VALUE_INVALID);
        /* a private part may never be set afterwards */
        CK_OBJECT_HANDLE ipriv, ipub;
        rsa_import(s, CK_FALSE, &ipriv, &ipub);
        CK_ATTRIBUTE set = {CKA_PRIVATE_EXPONENT, parts.v[2], parts.len[2]};
        EXPECT(F->C_SetAttributeValue(s, ipriv, &set, 1), CKR_ATTRIBUTE_READ_ONLY);
        /* a public key does not sign */
        CK_MECHANISM m = {CKM_SHA256_RSA_PKCS, NULL, 0};
        EXPECT(F->C_SignInit(s, &m, ipub), CKR_KEY_FUNCTION_NOT_PERMITTED);
        /* a raw PKCS #1 block longer than the modulus allows */
        unsigned char in[300] = {0}, out[600];
        CK_ULONG ol = sizeof(out);
        CK_MECHANISM raw = {CKM_RSA_PKCS, NULL, 0};
        EXPECT(sign(s, &raw, ipriv, in, 250, out, &ol), CKR_DATA_LEN_RANGE);
        /* PSS parameters that do not match the mechanism */
        CK_RSA_PKCS_PSS_PARAMS pss = {CKM_SHA384, CKG_MGF1_SHA256, 32};
        CK_MECHANISM mp = {CKM_SHA256_RSA_PKCS_PSS, &pss, sizeof(pss)};
        EXPECT(F->C_SignInit(s, &mp, ipriv), CKR_MECHANISM_PARAM_INVALID);
    }
    F->C_CloseSession(s);
}

int main(int argc, char **argv)
{
    const char *which = argc > 1 ? argv[1] : "qkey";
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    if ((rsa_key = EVP_RSA_gen(2048)) == NULL || !rsa_parts_of(rsa_key, &parts))
        return 2;
    if (p11_setup(which, "pairs") != 0) {
        fprintf(stderr, "%s: cannot set up a token\n", which);
        p11_teardown();
        return 1;
    }
    CU_pSuite suite = CU_add_suite(which, NULL, NULL);
    CU_add_test(suite, "Ed25519 (RFC 8032 7.1 test 1)", test_ed25519_rfc8032);
    CU_add_test(suite, "X25519 (RFC 7748 6.1)", test_x25519_rfc7748);
    CU_add_test(suite, "RSA PKCS#1, PSS, OAEP against OpenSSL", test_rsa_cross);
    CU_add_test(suite, "ECDSA P-256 and ECDH against OpenSSL", test_ec_cross);
    CU_add_test(suite, "generated pairs: attributes, OpenSSL verifies", test_generate);
    CU_add_test(suite, "AES-KWP wrap and unwrap of a private key", test_wrap_private);
    CU_add_test(suite, "token pairs across a restart, sealed in the store", test_token_pairs);
    CU_add_test(suite, "CKA_ALWAYS_AUTHENTICATE: a context login per signature",
                test_always_authenticate);
    CU_add_test(suite, "bad input", test_errors);
    int rc = p11_run(which);
    p11_teardown();
    EVP_PKEY_free(rsa_key);
    return rc;
}
