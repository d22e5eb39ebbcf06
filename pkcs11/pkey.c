/*
 * Key-pair objects and OpenSSL keys (Current Mechanisms 3.0, 2.1 RSA, 2.3 EC): how a CKO_PUBLIC_KEY
 * or CKO_PRIVATE_KEY object holds its key, and the conversions both ways.
 *   - A public key's attributes (CKA_MODULUS and CKA_PUBLIC_EXPONENT, or CKA_EC_PARAMS and
 *     CKA_EC_POINT) are public; the token works from CKA_PUBLIC_KEY_INFO (the DER
 *     SubjectPublicKeyInfo), which it writes itself from the key.
 *   - A private key's secret is one value: its PKCS#8 PrivateKeyInfo, kept as the object's
 *     CKA_VALUE (locked memory, sealed under the token key in the store like a secret key's
 *     value). The parts the spec names (CKA_PRIVATE_EXPONENT, CKA_PRIME_1 ..., an EC key's
 *     CKA_VALUE) are never stored: C_CreateObject makes them into the key, and
 *     C_GetAttributeValue of a key that is neither sensitive nor unextractable reads them back
 *     from it (qkt_pkey_part).
 * Every key is made and read in the token's library context.
 */
#include <string.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/params.h>
#include <openssl/x509.h>

#include "internal.h"

/* The curves, one row each: OpenSSL's key type and group, the PKCS#11 key type, the OID, and
 * the name RFC 8410 curves may also be given by in CKA_EC_PARAMS (a PrintableString). */
static const struct {
    const char *evp;   /* EVP key type */
    const char *group; /* OSSL_PKEY_PARAM_GROUP_NAME for CKK_EC, else NULL */
    CK_KEY_TYPE kt;
    int nid;
    const char *printable;
    size_t field; /* bytes of a coordinate (EC) */
} curves[] = {
    {"EC", "prime256v1", CKK_EC, NID_X9_62_prime256v1, NULL, 32},
    {"EC", "secp384r1", CKK_EC, NID_secp384r1, NULL, 48},
    {"EC", "secp521r1", CKK_EC, NID_secp521r1, NULL, 66},
    {"ED25519", NULL, CKK_EC_EDWARDS, NID_ED25519, "edwards25519", 32},
    {"ED448", NULL, CKK_EC_EDWARDS, NID_ED448, "edwards448", 57},
    {"X25519", NULL, CKK_EC_MONTGOMERY, NID_X25519, "curve25519", 32},
    {"X448", NULL, CKK_EC_MONTGOMERY, NID_X448, "curve448", 56},
};
#define N_CURVES (sizeof(curves) / sizeof(curves[0]))

/* The curve row of CKA_EC_PARAMS (an OID, or the RFC 8410 name) for key type kt, or -1. */
int qkt_curve_of_params(CK_KEY_TYPE kt, const unsigned char *der, size_t len)
{
    const unsigned char *p = der;
    int nid = NID_undef;

    if (der == NULL || len == 0 || len > 64)
        return -1;
    if (der[0] == V_ASN1_OBJECT) {
        ASN1_OBJECT *o = d2i_ASN1_OBJECT(NULL, &p, (long)len);
        if (o != NULL && p == der + len)
            nid = OBJ_obj2nid(o);
        ASN1_OBJECT_free(o);
    } else if (der[0] == V_ASN1_PRINTABLESTRING) {
        ASN1_PRINTABLESTRING *s = d2i_ASN1_PRINTABLESTRING(NULL, &p, (long)len);
        for (size_t i = 0; s != NULL && p == der + len && i < N_CURVES; i++)
            if (curves[i].printable != NULL &&
                (size_t)ASN1_STRING_length(s) == strlen(curves[i].printable) &&
                memcmp(ASN1_STRING_get0_data(s), curves[i].printable,
                       strlen(curves[i].printable)) == 0)
                nid = curves[i].nid;
        ASN1_STRING_free(s);
    }
    for (size_t i = 0; i < N_CURVES; i++)
        if (curves[i].nid == nid && nid != NID_undef && curves[i].kt == kt)
            return (int)i;
    return -1;
}

static int curve_of_pkey(const EVP_PKEY *pkey)
{
    char group[64];

    if (EVP_PKEY_is_a(pkey, "EC")) {
        if (!EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                            NULL))
            return -1;
        int nid = OBJ_sn2nid(group);
        for (size_t i = 0; i < N_CURVES; i++)
            if (curves[i].kt == CKK_EC && curves[i].nid == nid)
                return (int)i;
        return -1;
    }
    for (size_t i = 0; i < N_CURVES; i++)
        if (curves[i].kt != CKK_EC && EVP_PKEY_is_a(pkey, curves[i].evp))
            return (int)i;
    return -1;
}

const char *qkt_curve_evp(int curve)
{
    return curves[curve].evp;
}

const char *qkt_curve_group(int curve)
{
    return curves[curve].group;
}

size_t qkt_curve_field(int curve)
{
    return curves[curve].field;
}

CK_KEY_TYPE qkt_pkey_type(const EVP_PKEY *pkey)
{
    int c;
    if (EVP_PKEY_is_a(pkey, "RSA"))
        return CKK_RSA;
    c = curve_of_pkey(pkey);
    return c < 0 ? CK_UNAVAILABLE_INFORMATION : curves[c].kt;
}

/* ---- from a key to attributes ---------------------------------------------------------- */
static CK_RV set_bn(QKT_OBJ *obj, CK_ATTRIBUTE_TYPE t, const EVP_PKEY *pkey, const char *name)
{
    BIGNUM *bn = NULL;
    unsigned char *buf;
    CK_RV rv = CKR_FUNCTION_FAILED;
    int n;

    if (!EVP_PKEY_get_bn_param(pkey, name, &bn))
        return CKR_FUNCTION_FAILED;
    n = BN_num_bytes(bn);
    if ((buf = OPENSSL_malloc(n > 0 ? (size_t)n : 1)) != NULL) {
        BN_bn2bin(bn, buf);
        rv = qkt_obj_set(obj, t, buf, (CK_ULONG)n);
        OPENSSL_free(buf);
    }
    BN_free(bn);
    return rv;
}

/* DER encodings: i2d into a fresh buffer, then into the object. */
static CK_RV set_der(QKT_OBJ *obj, CK_ATTRIBUTE_TYPE t, int len, unsigned char *der)
{
    CK_RV rv = len > 0 ? qkt_obj_set(obj, t, der, (CK_ULONG)len) : CKR_FUNCTION_FAILED;
    OPENSSL_free(der);
    return rv;
}

static CK_RV set_ec_params(QKT_OBJ *obj, int curve)
{
    unsigned char *der = NULL;
    int len = i2d_ASN1_OBJECT(OBJ_nid2obj(curves[curve].nid), &der);
    return set_der(obj, CKA_EC_PARAMS, len, der);
}

static CK_RV set_ec_point(QKT_OBJ *obj, const EVP_PKEY *pkey)
{
    unsigned char pt[160], *der = NULL;
    size_t len;
    ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
    int dlen = -1;

    if (os != NULL &&
        EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt), &len) &&
        ASN1_OCTET_STRING_set(os, pt, (int)len))
        dlen = i2d_ASN1_OCTET_STRING(os, &der);
    ASN1_OCTET_STRING_free(os);
    return set_der(obj, CKA_EC_POINT, dlen, der);
}

static CK_RV set_pkcs8(QKT_OBJ *obj, const EVP_PKEY *pkey, int curve)
{
    PKCS8_PRIV_KEY_INFO *p8 = NULL;
    unsigned char *buf, *p;
    int len;
    CK_RV rv = CKR_FUNCTION_FAILED;

    if (curve >= 0) { /* pkey_der.c: the same bytes, without an encoder chain */
        if ((len = qkt_der_pkcs8(pkey, curves[curve].kt, curves[curve].nid, curves[curve].field,
                                 &buf)) <= 0)
            return CKR_FUNCTION_FAILED;
        rv = qkt_obj_set(obj, CKA_VALUE, buf, (CK_ULONG)len);
        qkt_secret_free(buf, (size_t)len);
        return rv;
    }
    if ((p8 = EVP_PKEY2PKCS8(pkey)) == NULL || (len = i2d_PKCS8_PRIV_KEY_INFO(p8, NULL)) <= 0)
        goto done;
    if ((buf = qkt_secret_alloc((size_t)len)) == NULL) {
        rv = CKR_HOST_MEMORY;
        goto done;
    }
    p = buf;
    if (i2d_PKCS8_PRIV_KEY_INFO(p8, &p) == len)
        rv = qkt_obj_set(obj, CKA_VALUE, buf, (CK_ULONG)len); /* CKA_VALUE: locked memory */
    qkt_secret_free(buf, (size_t)len);
done:
    PKCS8_PRIV_KEY_INFO_free(p8); /* frees the key octets with clear_free */
    return rv;
}

CK_RV qkt_pkey_attrs(QKT_OBJ *obj, const EVP_PKEY *pkey)
{
    CK_KEY_TYPE kt = qkt_pkey_type(pkey);
    int priv = qkt_obj_class(obj) == CKO_PRIVATE_KEY;
    unsigned char *der = NULL;
    CK_RV rv;

    if (kt == CK_UNAVAILABLE_INFORMATION)
        return CKR_KEY_TYPE_INCONSISTENT;
    if ((rv = qkt_obj_set_ulong(obj, CKA_KEY_TYPE, kt)) != CKR_OK)
        return rv;
    int curve = kt == CKK_RSA ? -1 : curve_of_pkey(pkey);
    if (kt != CKK_RSA && curve < 0)
        return CKR_KEY_TYPE_INCONSISTENT;
    int len = curve < 0 ? i2d_PUBKEY(pkey, &der) /* before set_der reads der */
                        : qkt_der_spki(pkey, curves[curve].kt, curves[curve].nid, &der);
    if ((rv = set_der(obj, CKA_PUBLIC_KEY_INFO, len, der)) != CKR_OK)
        return rv;
    if (kt == CKK_RSA) {
        if ((rv = set_bn(obj, CKA_MODULUS, pkey, OSSL_PKEY_PARAM_RSA_N)) ||
            (rv = set_bn(obj, CKA_PUBLIC_EXPONENT, pkey, OSSL_PKEY_PARAM_RSA_E)))
            return rv;
        if (!priv && (rv = qkt_obj_set_ulong(obj, CKA_MODULUS_BITS,
                                             (CK_ULONG)EVP_PKEY_get_bits(pkey))) != CKR_OK)
            return rv;
    } else {
        if ((rv = set_ec_params(obj, curve)) != CKR_OK)
            return rv;
        if (!priv && (rv = set_ec_point(obj, pkey)) != CKR_OK)
            return rv;
    }
    return priv ? set_pkcs8(obj, pkey, curve) : CKR_OK;
}

/* ---- from an object to a key ----------------------------------------------------------- */
CK_RV qkt_pkey_of(const QKT_OBJ *key, EVP_PKEY **out)
{
    /* The parsed key is a cache, not part of the object's value: filling it leaves the object
     * as it was to every caller (hence the cast). Parsing (OpenSSL's decoders) costs more than
     * a P-256 signature, so it is done once per object, under the library lock like every use
     * of the object. */
    QKT_OBJ *obj = (QKT_OBJ *)key;
    const QKT_ATTR *a;
    const unsigned char *p;

    *out = NULL;
    if (obj->pkey == NULL) {
        if (qkt_obj_class(obj) == CKO_PRIVATE_KEY) {
            if ((a = qkt_obj_attr(obj, CKA_VALUE)) == NULL)
                return CKR_GENERAL_ERROR;
            p = a->val;
            PKCS8_PRIV_KEY_INFO *p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, (long)a->len);
            if (p8 != NULL)
                obj->pkey = EVP_PKCS82PKEY_ex(p8, qkt_lib->libctx, NULL);
            PKCS8_PRIV_KEY_INFO_free(p8);
        } else {
            if ((a = qkt_obj_attr(obj, CKA_PUBLIC_KEY_INFO)) == NULL)
                return CKR_GENERAL_ERROR;
            p = a->val;
            obj->pkey = d2i_PUBKEY_ex(NULL, &p, (long)a->len, qkt_lib->libctx, NULL);
        }
        if (obj->pkey == NULL)
            return CKR_DEVICE_ERROR; /* a store we did not write */
    }
    if (!EVP_PKEY_up_ref(obj->pkey))
        return CKR_HOST_MEMORY;
    *out = obj->pkey;
    return CKR_OK;
}

/* ---- private parts read back (non-sensitive, extractable keys only) --------------------- */
static const struct {
    CK_ATTRIBUTE_TYPE type;
    const char *param; /* a BIGNUM parameter of an RSA key */
} rsa_parts[] = {
    {CKA_PRIVATE_EXPONENT, OSSL_PKEY_PARAM_RSA_D},
    {CKA_PRIME_1, OSSL_PKEY_PARAM_RSA_FACTOR1},
    {CKA_PRIME_2, OSSL_PKEY_PARAM_RSA_FACTOR2},
    {CKA_EXPONENT_1, OSSL_PKEY_PARAM_RSA_EXPONENT1},
    {CKA_EXPONENT_2, OSSL_PKEY_PARAM_RSA_EXPONENT2},
    {CKA_COEFFICIENT, OSSL_PKEY_PARAM_RSA_COEFFICIENT1},
};

/* One answer of C_GetAttributeValue (the spec's cases) from bytes in locked memory. */
static CK_RV answer(CK_ATTRIBUTE *a, const unsigned char *v, size_t len)
{
    if (a->pValue == NULL) {
        a->ulValueLen = len;
        return CKR_OK;
    }
    if (a->ulValueLen < len) {
        a->ulValueLen = CK_UNAVAILABLE_INFORMATION;
        return CKR_BUFFER_TOO_SMALL;
    }
    memcpy(a->pValue, v, len);
    a->ulValueLen = len;
    return CKR_OK;
}

CK_RV qkt_pkey_part(const QKT_OBJ *obj, CK_ATTRIBUTE *a)
{
    const char *param = NULL;
    unsigned char *buf = NULL;
    size_t len = 0, cap = 1024;
    BIGNUM *bn = NULL;
    EVP_PKEY *pkey;
    CK_RV rv = qkt_pkey_of(obj, &pkey);

    if (rv != CKR_OK)
        return rv;
    if (EVP_PKEY_is_a(pkey, "RSA")) {
        for (size_t i = 0; i < sizeof(rsa_parts) / sizeof(rsa_parts[0]); i++)
            if (rsa_parts[i].type == a->type)
                param = rsa_parts[i].param;
    } else if (a->type == CKA_VALUE) {
        param = EVP_PKEY_is_a(pkey, "EC") ? OSSL_PKEY_PARAM_PRIV_KEY : "";
    }
    rv = CKR_ATTRIBUTE_TYPE_INVALID;
    if (param == NULL || (buf = qkt_secret_alloc(cap)) == NULL)
        goto done;
    if (*param == '\0') { /* RFC 8410 curves: the raw private key */
        len = cap;
        if (EVP_PKEY_get_raw_private_key(pkey, buf, &len))
            rv = answer(a, buf, len);
    } else if (EVP_PKEY_get_bn_param(pkey, param, &bn) && BN_num_bytes(bn) <= (int)cap) {
        len = (size_t)BN_bn2bin(bn, buf);
        rv = answer(a, buf, len);
    }
done:
    if (rv == CKR_ATTRIBUTE_TYPE_INVALID)
        a->ulValueLen = CK_UNAVAILABLE_INFORMATION;
    BN_clear_free(bn);
    if (buf != NULL)
        qkt_secret_free(buf, cap);
    EVP_PKEY_free(pkey);
    return rv;
}

/* ---- C_CreateObject: a key from the parts a template gives -------------------------------- */
static const CK_ATTRIBUTE *part(const CK_ATTRIBUTE *tpl, CK_ULONG n, CK_ATTRIBUTE_TYPE t)
{
    const CK_ATTRIBUTE *a = qkt_tpl_find(tpl, n, t);
    return a != NULL && a->pValue != NULL && a->ulValueLen > 0 && a->ulValueLen <= 4096 ? a : NULL;
}

static int push_bn(OSSL_PARAM_BLD *bld, const char *name, const CK_ATTRIBUTE *a, BIGNUM **keep)
{
    BIGNUM *bn = BN_secure_new();
    if (bn == NULL || BN_bin2bn(a->pValue, (int)a->ulValueLen, bn) == NULL ||
        !OSSL_PARAM_BLD_push_BN(bld, name, bn)) {
        BN_clear_free(bn);
        return 0;
    }
    *keep = bn; /* the builder points at it until OSSL_PARAM_BLD_to_param */
    return 1;
}

/* CKA_EC_POINT: the DER OCTET STRING the spec asks for, or (as some callers give) the raw point. */
int qkt_ec_point_raw(const unsigned char *v, size_t len, const unsigned char **raw, size_t *rawlen)
{
    const unsigned char *p = v;
    ASN1_OCTET_STRING *os = d2i_ASN1_OCTET_STRING(NULL, &p, (long)len);
    size_t off = 0;

    if (os != NULL && p == v + len)
        off = len - (size_t)ASN1_STRING_length(os); /* the contents end the encoding */
    ASN1_OCTET_STRING_free(os);
    *raw = v + off;
    *rawlen = len - off;
    return *rawlen > 0;
}

static CK_RV fromdata(const char *type, OSSL_PARAM_BLD *bld, int sel, EVP_PKEY **out)
{
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(qkt_lib->libctx, type, NULL);
    CK_RV rv = CKR_ATTRIBUTE_VALUE_INVALID;

    if (params != NULL && ctx != NULL && EVP_PKEY_fromdata_init(ctx) > 0 &&
        EVP_PKEY_fromdata(ctx, out, sel, params) > 0)
        rv = CKR_OK;
    for (OSSL_PARAM *q = params; q != NULL && q->key != NULL; q++)
        OPENSSL_cleanse(q->data, q->data_size); /* private parts (OSSL_PARAM_clear_free is 3.2+) */
    OSSL_PARAM_free(params);
    EVP_PKEY_CTX_free(ctx);
    return rv;
}

static CK_RV rsa_import(int priv, const CK_ATTRIBUTE *tpl, CK_ULONG n, OSSL_PARAM_BLD *bld,
                        BIGNUM **bns, EVP_PKEY **out)
{
    static const CK_ATTRIBUTE_TYPE crt[] = {CKA_PRIME_1, CKA_PRIME_2, CKA_EXPONENT_1,
                                            CKA_EXPONENT_2, CKA_COEFFICIENT};
    static const char *const crt_names[] = {
        OSSL_PKEY_PARAM_RSA_FACTOR1, OSSL_PKEY_PARAM_RSA_FACTOR2, OSSL_PKEY_PARAM_RSA_EXPONENT1,
        OSSL_PKEY_PARAM_RSA_EXPONENT2, OSSL_PKEY_PARAM_RSA_COEFFICIENT1};
    const CK_ATTRIBUTE *mod = part(tpl, n, CKA_MODULUS), *e = part(tpl, n, CKA_PUBLIC_EXPONENT);
    const CK_ATTRIBUTE *d = part(tpl, n, CKA_PRIVATE_EXPONENT);
    int have = 0;

    if (mod == NULL || e == NULL || (priv && d == NULL))
        return CKR_TEMPLATE_INCOMPLETE;
    if (mod->ulValueLen * 8 > 4096 + 8)
        return CKR_ATTRIBUTE_VALUE_INVALID;
    if (!push_bn(bld, OSSL_PKEY_PARAM_RSA_N, mod, &bns[0]) ||
        !push_bn(bld, OSSL_PKEY_PARAM_RSA_E, e, &bns[1]) ||
        (priv && !push_bn(bld, OSSL_PKEY_PARAM_RSA_D, d, &bns[2])))
        return CKR_HOST_MEMORY;
    for (size_t i = 0; priv && i < 5; i++)
        have += part(tpl, n, crt[i]) != NULL;
    if (have != 0 && have != 5)
        return CKR_TEMPLATE_INCOMPLETE; /* the CRT parts all or none */
    for (size_t i = 0; have && i < 5; i++)
        if (!push_bn(bld, crt_names[i], part(tpl, n, crt[i]), &bns[3 + i]))
            return CKR_HOST_MEMORY;
    return fromdata("RSA", bld, priv ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, out);
}

/* An EC private key is given as its scalar alone: the public point is computed from it. */
static CK_RV ec_public_of(int curve, const BIGNUM *d, unsigned char *pt, size_t *ptlen)
{
    EC_GROUP *g = EC_GROUP_new_by_curve_name_ex(qkt_lib->libctx, NULL, curves[curve].nid);
    EC_POINT *q = g != NULL ? EC_POINT_new(g) : NULL;
    CK_RV rv = CKR_ATTRIBUTE_VALUE_INVALID;

    if (q != NULL && !BN_is_zero(d) && BN_cmp(d, EC_GROUP_get0_order(g)) < 0 &&
        EC_POINT_mul(g, q, d, NULL, NULL, NULL) &&
        (*ptlen = EC_POINT_point2oct(g, q, POINT_CONVERSION_UNCOMPRESSED, pt, *ptlen, NULL)) > 0)
        rv = CKR_OK;
    EC_POINT_free(q);
    EC_GROUP_free(g);
    return rv;
}

static CK_RV ec_import(int priv, int curve, const CK_ATTRIBUTE *tpl, CK_ULONG n,
                       OSSL_PARAM_BLD *bld, BIGNUM **bns, EVP_PKEY **out)
{
    const CK_ATTRIBUTE *a = part(tpl, n, priv ? CKA_VALUE : CKA_EC_POINT);
    const unsigned char *raw;
    unsigned char pt[160];
    size_t rawlen, ptlen = sizeof(pt);
    CK_RV rv;

    if (a == NULL)
        return CKR_TEMPLATE_INCOMPLETE;
    if (curves[curve].kt != CKK_EC) { /* RFC 8410 keys: raw octets */
        if (!priv && !qkt_ec_point_raw(a->pValue, a->ulValueLen, &raw, &rawlen))
            return CKR_ATTRIBUTE_VALUE_INVALID;
        *out = priv ? EVP_PKEY_new_raw_private_key_ex(qkt_lib->libctx, curves[curve].evp, NULL,
                                                      a->pValue, a->ulValueLen)
                    : EVP_PKEY_new_raw_public_key_ex(qkt_lib->libctx, curves[curve].evp, NULL, raw,
                                                     rawlen);
        return *out != NULL ? CKR_OK : CKR_ATTRIBUTE_VALUE_INVALID;
    }
    if (!OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, curves[curve].group, 0))
        return CKR_HOST_MEMORY;
    if (priv) {
        if (!push_bn(bld, OSSL_PKEY_PARAM_PRIV_KEY, a, &bns[0]))
            return CKR_HOST_MEMORY;
        if ((rv = ec_public_of(curve, bns[0], pt, &ptlen)) != CKR_OK)
            return rv;
        raw = pt;
        rawlen = ptlen;
    } else if (!qkt_ec_point_raw(a->pValue, a->ulValueLen, &raw, &rawlen)) {
        return CKR_ATTRIBUTE_VALUE_INVALID;
    }
    if (!OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, raw, rawlen))
        return CKR_HOST_MEMORY;
    return fromdata("EC", bld, priv ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, out);
}

/* The key is checked as OpenSSL checks a key it is given: a point on the curve, an RSA key
 * whose parts agree. Bad parts are CKR_ATTRIBUTE_VALUE_INVALID, missing ones
 * CKR_TEMPLATE_INCOMPLETE. */
static CK_RV check(EVP_PKEY *pkey, int priv)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(qkt_lib->libctx, pkey, NULL);
    int ok;
    if (ctx == NULL)
        return CKR_HOST_MEMORY;
    if (EVP_PKEY_is_a(pkey, "RSA"))
        ok = priv ? EVP_PKEY_pairwise_check(ctx) : EVP_PKEY_public_check(ctx);
    else if (EVP_PKEY_is_a(pkey, "EC"))
        ok = priv ? EVP_PKEY_check(ctx) : EVP_PKEY_public_check(ctx);
    else
        ok = 1; /* RFC 8410 keys: any 32/57/56 octets are a key */
    EVP_PKEY_CTX_free(ctx);
    return ok > 0 ? CKR_OK : CKR_ATTRIBUTE_VALUE_INVALID;
}

CK_RV qkt_pkey_import(QKT_OBJ *obj, const CK_ATTRIBUTE *tpl, CK_ULONG n)
{
    int priv = qkt_obj_class(obj) == CKO_PRIVATE_KEY, curve = -1;
    CK_KEY_TYPE kt = qkt_obj_ulong(obj, CKA_KEY_TYPE, CK_UNAVAILABLE_INFORMATION);
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    BIGNUM *bns[8] = {0};
    EVP_PKEY *pkey = NULL;
    CK_RV rv;

    if (bld == NULL)
        return CKR_HOST_MEMORY;
    if (kt == CKK_RSA) {
        rv = rsa_import(priv, tpl, n, bld, bns, &pkey);
    } else if (kt == CKK_EC || kt == CKK_EC_EDWARDS || kt == CKK_EC_MONTGOMERY) {
        const QKT_ATTR *p = qkt_obj_attr(obj, CKA_EC_PARAMS);
        if (p == NULL)
            rv = CKR_TEMPLATE_INCOMPLETE;
        else if ((curve = qkt_curve_of_params(kt, p->val, p->len)) < 0)
            rv = CKR_CURVE_NOT_SUPPORTED;
        else
            rv = ec_import(priv, curve, tpl, n, bld, bns, &pkey);
    } else {
        rv = kt == CK_UNAVAILABLE_INFORMATION ? CKR_TEMPLATE_INCOMPLETE
                                              : CKR_ATTRIBUTE_VALUE_INVALID;
    }
    if (rv == CKR_OK && (rv = check(pkey, priv)) == CKR_OK)
        rv = qkt_pkey_attrs(obj, pkey);
    EVP_PKEY_free(pkey);
    for (size_t i = 0; i < sizeof(bns) / sizeof(bns[0]); i++)
        BN_clear_free(bns[i]);
    OSSL_PARAM_BLD_free(bld);
    return rv;
}
