/*
 * The DER a key-pair object keeps (pkey.c) for EC, Edwards and Montgomery keys, assembled from
 * the key's raw parameters with OpenSSL's ASN.1 types:
 *   - SubjectPublicKeyInfo (RFC 5480 2, RFC 8410 4): CKA_PUBLIC_KEY_INFO;
 *   - PKCS#8 PrivateKeyInfo (RFC 5208 5) around RFC 5915's ECPrivateKey (without parameters,
 *     with the public key) or RFC 8410's CurvePrivateKey: a private key's CKA_VALUE.
 * The bytes are those OpenSSL's encoders write (i2d_PUBKEY, EVP_PKEY2PKCS8), but OpenSSL 3.0
 * builds an encoder chain for every call, about 70 us: three of them made a P-256 key pair
 * cost 2.5 times SoftHSM2's. RSA keys keep the encoders; their generation takes milliseconds.
 */
#include <string.h>
#include <openssl/core_names.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "internal.h"

/* A DER tag and length (short form, or long form up to 64 KiB) at p (if not NULL); returns
 * how many bytes they take. */
static size_t der_header(unsigned char *p, unsigned char tag, size_t len)
{
    size_t n = len < 0x80 ? 2 : len < 0x100 ? 3 : 4;
    if (p != NULL) {
        p[0] = tag;
        if (n == 2) {
            p[1] = (unsigned char)len;
        } else {
            p[1] = (unsigned char)(0x80 | (n - 2));
            for (size_t i = n - 1; i >= 2; i--, len >>= 8)
                p[i] = (unsigned char)len;
        }
    }
    return n;
}

/* The algorithm: id-ecPublicKey with the named curve as parameter, or the RFC 8410 curve OID
 * with no parameter. The objects are OpenSSL's static ones (freeing them does nothing). */
static void algorithm(CK_KEY_TYPE kt, int nid, ASN1_OBJECT **alg, int *ptype, void **pval)
{
    *alg = OBJ_nid2obj(kt == CKK_EC ? NID_X9_62_id_ecPublicKey : nid);
    *ptype = kt == CKK_EC ? V_ASN1_OBJECT : V_ASN1_UNDEF;
    *pval = kt == CKK_EC ? OBJ_nid2obj(nid) : NULL;
}

int qkt_der_spki(const EVP_PKEY *pkey, CK_KEY_TYPE kt, int nid, unsigned char **der)
{
    unsigned char pub[160], *penc = NULL;
    size_t publen;
    X509_PUBKEY *pk = X509_PUBKEY_new();
    ASN1_OBJECT *alg;
    void *pval;
    int ptype, len = -1;

    if (pk == NULL ||
        !EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub),
                                         &publen) ||
        (penc = OPENSSL_memdup(pub, publen)) == NULL)
        goto done;
    algorithm(kt, nid, &alg, &ptype, &pval);
    if (!X509_PUBKEY_set0_param(pk, alg, ptype, pval, penc, (int)publen))
        goto done;
    penc = NULL; /* pk holds it */
    len = i2d_X509_PUBKEY(pk, der);
done:
    OPENSSL_free(penc);
    X509_PUBKEY_free(pk);
    return len;
}

/* The inner private key: ECPrivateKey { 1, d as `field` octets, [1] publicKey } or
 * CurvePrivateKey (an OCTET STRING of the raw key). In OpenSSL's heap, cleared when freed. */
static unsigned char *inner_private(const EVP_PKEY *pkey, CK_KEY_TYPE kt, size_t field,
                                    size_t *outlen)
{
    unsigned char pub[160], *out = NULL, *p;
    size_t publen, rawlen = 0;
    BIGNUM *d = NULL;

    if (kt != CKK_EC) {
        if (!EVP_PKEY_get_raw_private_key(pkey, NULL, &rawlen) || rawlen > 0x7f ||
            (out = OPENSSL_malloc(2 + rawlen)) == NULL)
            return NULL;
        der_header(out, V_ASN1_OCTET_STRING, rawlen);
        if (!EVP_PKEY_get_raw_private_key(pkey, out + 2, &rawlen)) {
            OPENSSL_clear_free(out, 2 + rawlen);
            return NULL;
        }
        *outlen = 2 + rawlen;
        return out;
    }
    if (!EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub),
                                         &publen) ||
        !EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_PRIV_KEY, &d))
        goto done;
    size_t bits = der_header(NULL, V_ASN1_BIT_STRING, 1 + publen) + 1 + publen;
    size_t body = 3 + der_header(NULL, V_ASN1_OCTET_STRING, field) + field +
                  der_header(NULL, 0xa1, bits) + bits;
    *outlen = der_header(NULL, V_ASN1_SEQUENCE | V_ASN1_CONSTRUCTED, body) + body;
    if ((out = OPENSSL_malloc(*outlen)) == NULL)
        goto done;
    p = out + der_header(out, V_ASN1_SEQUENCE | V_ASN1_CONSTRUCTED, body);
    memcpy(p, "\x02\x01\x01", 3); /* version ecPrivkeyVer1 */
    p += 3;
    p += der_header(p, V_ASN1_OCTET_STRING, field);
    if (BN_bn2binpad(d, p, (int)field) != (int)field) {
        OPENSSL_clear_free(out, *outlen);
        out = NULL;
        goto done;
    }
    p += field;
    p += der_header(p, 0xa1, bits); /* [1] EXPLICIT */
    p += der_header(p, V_ASN1_BIT_STRING, 1 + publen);
    *p++ = 0; /* no unused bits */
    memcpy(p, pub, publen);
done:
    BN_clear_free(d);
    return out;
}

int qkt_der_pkcs8(const EVP_PKEY *pkey, CK_KEY_TYPE kt, int nid, size_t field, unsigned char **der)
{
    PKCS8_PRIV_KEY_INFO *p8 = PKCS8_PRIV_KEY_INFO_new();
    size_t innerlen = 0;
    unsigned char *inner = p8 != NULL ? inner_private(pkey, kt, field, &innerlen) : NULL;
    ASN1_OBJECT *alg;
    void *pval;
    int ptype, len = -1;

    if (inner == NULL)
        goto done;
    algorithm(kt, nid, &alg, &ptype, &pval);
    if (!PKCS8_pkey_set0(p8, alg, 0, ptype, pval, inner, (int)innerlen))
        goto done;
    inner = NULL; /* p8 holds it, and clears it when freed */
    if ((len = i2d_PKCS8_PRIV_KEY_INFO(p8, NULL)) <= 0 ||
        (*der = qkt_secret_alloc((size_t)len)) == NULL) {
        len = -1;
        goto done;
    }
    unsigned char *p = *der;
    if (i2d_PKCS8_PRIV_KEY_INFO(p8, &p) != len) {
        qkt_secret_free(*der, (size_t)len);
        *der = NULL;
        len = -1;
    }
done:
    OPENSSL_clear_free(inner, innerlen);
    PKCS8_PRIV_KEY_INFO_free(p8);
    return len;
}
