/*
 * Operations with key pairs (Current Mechanisms 3.0, 2.1 RSA, 2.3 EC): signatures (RSA PKCS #1
 * v1.5 and PSS, raw or hash-and-sign over SHA-2; ECDSA, raw or over SHA-2; EdDSA), RSA
 * encryption (PKCS #1 v1.5 and OAEP). CKM_ECDH1_DERIVE is ecdh.c's.
 * Each operation holds its own OpenSSL context made at init from a copy of the key, so it
 * outlives any change to the key object (internal.h, object lifetime).
 * Formats are the spec's, not OpenSSL's: an ECDSA signature is r || s, each as long as the
 * group order.
 * Hash-and-sign mechanisms take any number of C_*Update calls; the others take their input
 * whole (RSA block, hash, or the EdDSA message), collected up to QKT_ASYM_MAX_IN bytes.
 */
#include <string.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/rsa.h>

#include "internal.h"

#define QKT_ASYM_MAX_IN (1UL << 20)

enum { RAW, HASHED, EDDSA };

/* The mechanisms, one row each: the key type, how input is taken, the hash, the RSA padding. */
static const struct {
    CK_MECHANISM_TYPE mech;
    CK_KEY_TYPE kt;
    int input;
    CK_MECHANISM_TYPE hash; /* HASHED: the digest mechanism */
    int pad;                /* RSA padding mode, 0 for EC */
} asym_mechs[] = {
    {CKM_RSA_PKCS, CKK_RSA, RAW, 0, RSA_PKCS1_PADDING},
    {CKM_RSA_PKCS_OAEP, CKK_RSA, RAW, 0, RSA_PKCS1_OAEP_PADDING},
    {CKM_RSA_PKCS_PSS, CKK_RSA, RAW, 0, RSA_PKCS1_PSS_PADDING},
    {CKM_SHA256_RSA_PKCS, CKK_RSA, HASHED, CKM_SHA256, RSA_PKCS1_PADDING},
    {CKM_SHA384_RSA_PKCS, CKK_RSA, HASHED, CKM_SHA384, RSA_PKCS1_PADDING},
    {CKM_SHA512_RSA_PKCS, CKK_RSA, HASHED, CKM_SHA512, RSA_PKCS1_PADDING},
    {CKM_SHA256_RSA_PKCS_PSS, CKK_RSA, HASHED, CKM_SHA256, RSA_PKCS1_PSS_PADDING},
    {CKM_SHA384_RSA_PKCS_PSS, CKK_RSA, HASHED, CKM_SHA384, RSA_PKCS1_PSS_PADDING},
    {CKM_SHA512_RSA_PKCS_PSS, CKK_RSA, HASHED, CKM_SHA512, RSA_PKCS1_PSS_PADDING},
    {CKM_ECDSA, CKK_EC, RAW, 0, 0},
    /* SHA-1 here only, for clients that sign with it (OpenSC pkcs11-tool --test-ec); no SHA-1
     * digest, HMAC, KDF, OAEP or PSS hash is offered */
    {CKM_ECDSA_SHA1, CKK_EC, HASHED, CKM_SHA_1, 0},
    {CKM_ECDSA_SHA256, CKK_EC, HASHED, CKM_SHA256, 0},
    {CKM_ECDSA_SHA384, CKK_EC, HASHED, CKM_SHA384, 0},
    {CKM_ECDSA_SHA512, CKK_EC, HASHED, CKM_SHA512, 0},
    {CKM_EDDSA, CKK_EC_EDWARDS, EDDSA, 0, 0},
};
#define N_ASYM (sizeof(asym_mechs) / sizeof(asym_mechs[0]))

static int row_of(CK_MECHANISM_TYPE mech)
{
    for (size_t i = 0; i < N_ASYM; i++)
        if (asym_mechs[i].mech == mech)
            return (int)i;
    return -1;
}

int qkt_asym_mech(CK_MECHANISM_TYPE mech)
{
    return row_of(mech) >= 0;
}

CK_KEY_TYPE qkt_asym_key_type(CK_MECHANISM_TYPE mech)
{
    int r = row_of(mech);
    return r < 0 ? CK_UNAVAILABLE_INFORMATION : asym_mechs[r].kt;
}

/* CKG_MGF1_* to the digest mechanism of the same hash. */
static CK_MECHANISM_TYPE mgf_hash(CK_RSA_PKCS_MGF_TYPE mgf)
{
    return mgf == CKG_MGF1_SHA256   ? CKM_SHA256
           : mgf == CKG_MGF1_SHA384 ? CKM_SHA384
           : mgf == CKG_MGF1_SHA512 ? CKM_SHA512
                                    : 0;
}

/* RSA padding parameters on a context already initialised for its operation. */
static CK_RV rsa_setup(EVP_PKEY_CTX *pctx, const CK_MECHANISM *mech, int row, size_t *hashlen)
{
    int pad = asym_mechs[row].pad;

    if (EVP_PKEY_CTX_set_rsa_padding(pctx, pad) <= 0)
        return CKR_FUNCTION_FAILED;
    if (pad == RSA_PKCS1_PSS_PADDING) {
        const CK_RSA_PKCS_PSS_PARAMS *p = mech->pParameter;
        if (p == NULL || mech->ulParameterLen != sizeof(*p))
            return CKR_MECHANISM_PARAM_INVALID;
        const EVP_MD *md = qkt_md_for(p->hashAlg), *mgf = qkt_md_for(mgf_hash(p->mgf));
        CK_MECHANISM_TYPE want = asym_mechs[row].hash;
        if (md == NULL || mgf == NULL || (want != 0 && want != p->hashAlg) ||
            p->sLen > (CK_ULONG)EVP_PKEY_get_size(EVP_PKEY_CTX_get0_pkey(pctx)))
            return CKR_MECHANISM_PARAM_INVALID;
        if ((want == 0 && EVP_PKEY_CTX_set_signature_md(pctx, md) <= 0) ||
            EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, mgf) <= 0 ||
            EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, (int)p->sLen) <= 0)
            return CKR_MECHANISM_PARAM_INVALID;
        *hashlen = (size_t)EVP_MD_get_size(md);
    } else if (pad == RSA_PKCS1_OAEP_PADDING) {
        const CK_RSA_PKCS_OAEP_PARAMS *p = mech->pParameter;
        if (p == NULL || mech->ulParameterLen != sizeof(*p))
            return CKR_MECHANISM_PARAM_INVALID;
        const EVP_MD *md = qkt_md_for(p->hashAlg), *mgf = qkt_md_for(mgf_hash(p->mgf));
        if (md == NULL || mgf == NULL || (p->source != 0 && p->source != CKZ_DATA_SPECIFIED) ||
            (p->pSourceData == NULL && p->ulSourceDataLen != 0) || p->ulSourceDataLen > 4096)
            return CKR_MECHANISM_PARAM_INVALID;
        if (EVP_PKEY_CTX_set_rsa_oaep_md(pctx, md) <= 0 ||
            EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, mgf) <= 0)
            return CKR_MECHANISM_PARAM_INVALID;
        if (p->ulSourceDataLen > 0) {
            unsigned char *label = OPENSSL_memdup(p->pSourceData, p->ulSourceDataLen);
            if (label == NULL ||
                EVP_PKEY_CTX_set0_rsa_oaep_label(pctx, label, (int)p->ulSourceDataLen) <= 0) {
                OPENSSL_free(label);
                return CKR_FUNCTION_FAILED;
            }
        }
    } else if (mech->pParameter != NULL || mech->ulParameterLen != 0) {
        return CKR_MECHANISM_PARAM_INVALID;
    }
    return CKR_OK;
}

/* EdDSA: plain Ed25519/Ed448 only (CK_EDDSA_PARAMS, if given, without prehash or context). */
static CK_RV eddsa_param(const CK_MECHANISM *mech)
{
    const QKT_CK_EDDSA_PARAMS *p = mech->pParameter;
    if (p == NULL && mech->ulParameterLen == 0)
        return CKR_OK;
    if (p == NULL || mech->ulParameterLen != sizeof(*p) || p->phFlag || p->ulContextDataLen != 0)
        return CKR_MECHANISM_PARAM_INVALID;
    return CKR_OK;
}

static size_t sig_len(const EVP_PKEY *pkey, CK_KEY_TYPE kt)
{
    if (kt == CKK_EC)
        return 2 * (size_t)((EVP_PKEY_get_bits(pkey) + 7) / 8);
    return (size_t)EVP_PKEY_get_size(pkey); /* RSA: the modulus; EdDSA: 64 or 114 */
}

CK_RV qkt_asym_init(QKT_OP *op, const CK_MECHANISM *mech, const QKT_OBJ *key)
{
    int row = row_of(mech->mechanism), sign = op->kind == QKT_SIGN;
    CK_KEY_TYPE kt = asym_mechs[row].kt;
    const char *mdname = NULL;
    size_t hashlen = 0;
    EVP_PKEY *pkey = NULL;
    CK_RV rv;

    op->asym = 1;
    op->asym_input = asym_mechs[row].input;
    if ((rv = qkt_pkey_of(key, &pkey)) != CKR_OK)
        return rv;
    if (kt == CKK_RSA && EVP_PKEY_get_bits(pkey) < 2048) {
        rv = CKR_KEY_SIZE_RANGE;
        goto done;
    }
    if (kt == CKK_EC_EDWARDS && (rv = eddsa_param(mech)) != CKR_OK)
        goto done;
    if (kt == CKK_EC && (mech->pParameter != NULL || mech->ulParameterLen != 0)) {
        rv = CKR_MECHANISM_PARAM_INVALID;
        goto done;
    }
    op->out_len = sig_len(pkey, kt);
    rv = CKR_FUNCTION_FAILED;
    if (op->asym_input == RAW) {
        int ok;
        if ((op->pctx = EVP_PKEY_CTX_new_from_pkey(qkt_lib->libctx, pkey, NULL)) == NULL)
            goto done;
        switch (op->kind) {
        case QKT_SIGN:
            ok = EVP_PKEY_sign_init(op->pctx);
            break;
        case QKT_VERIFY:
            ok = EVP_PKEY_verify_init(op->pctx);
            break;
        case QKT_ENCRYPT:
            ok = EVP_PKEY_encrypt_init(op->pctx);
            break;
        default:
            ok = EVP_PKEY_decrypt_init(op->pctx);
        }
        if (ok <= 0)
            goto done;
        if (kt == CKK_RSA && (rv = rsa_setup(op->pctx, mech, row, &hashlen)) != CKR_OK)
            goto done;
        op->asym_hashlen = hashlen; /* raw PSS: the input is a hash of this length */
    } else {
        EVP_PKEY_CTX *pctx = NULL;
        if (asym_mechs[row].input == HASHED) /* SHA-1: for CKM_ECDSA_SHA1 alone, see the row */
            mdname = asym_mechs[row].hash == CKM_SHA_1 ? "SHA1" : qkt_md_name(asym_mechs[row].hash);
        if ((op->md = EVP_MD_CTX_new()) == NULL)
            goto done;
        if ((sign ? EVP_DigestSignInit_ex(op->md, &pctx, mdname, qkt_lib->libctx, NULL, pkey, NULL)
                  : EVP_DigestVerifyInit_ex(op->md, &pctx, mdname, qkt_lib->libctx, NULL, pkey,
                                            NULL)) <= 0)
            goto done;
        if (kt == CKK_RSA && (rv = rsa_setup(pctx, mech, row, &hashlen)) != CKR_OK)
            goto done;
    }
    rv = CKR_OK;
done:
    EVP_PKEY_free(pkey); /* the contexts keep their own reference */
    return rv;
}

/* Input: digested as it comes (hash-and-sign), else collected for the final step. */
CK_RV qkt_asym_update(QKT_OP *op, const CK_BYTE *in, CK_ULONG inlen)
{
    if (op->asym_input == HASHED)
        return (op->kind == QKT_SIGN ? EVP_DigestSignUpdate(op->md, in, inlen)
                                     : EVP_DigestVerifyUpdate(op->md, in, inlen)) > 0
                   ? CKR_OK
                   : CKR_FUNCTION_FAILED;
    if (inlen > QKT_ASYM_MAX_IN - op->buflen)
        return CKR_DATA_LEN_RANGE;
    if (op->buflen + inlen > op->bufcap) {
        size_t cap = op->buflen + inlen < 256 ? 256 : 2 * (op->buflen + inlen);
        unsigned char *nb = qkt_secret_alloc(cap); /* it may be plaintext: locked memory */
        if (nb == NULL)
            return CKR_HOST_MEMORY;
        if (op->buflen)
            memcpy(nb, op->buf, op->buflen);
        if (op->buf != NULL)
            qkt_secret_free(op->buf, op->bufcap);
        op->buf = nb;
        op->bufcap = cap;
    }
    if (inlen)
        memcpy(op->buf + op->buflen, in, inlen);
    op->buflen += inlen;
    return CKR_OK;
}

/* ECDSA: OpenSSL's DER signature to r || s, and back. */
static int ecdsa_to_raw(const unsigned char *der, size_t derlen, unsigned char *out, size_t n)
{
    const unsigned char *p = der;
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)derlen);
    int ok = sig != NULL && BN_bn2binpad(ECDSA_SIG_get0_r(sig), out, (int)(n / 2)) > 0 &&
             BN_bn2binpad(ECDSA_SIG_get0_s(sig), out + n / 2, (int)(n / 2)) > 0;
    ECDSA_SIG_free(sig);
    return ok;
}

static unsigned char *ecdsa_to_der(const unsigned char *raw, size_t n, int *derlen)
{
    ECDSA_SIG *sig = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(raw, (int)(n / 2), NULL), *s = BN_bin2bn(raw + n / 2, (int)(n / 2), NULL);
    unsigned char *der = NULL;

    *derlen = -1;
    if (sig != NULL && r != NULL && s != NULL && ECDSA_SIG_set0(sig, r, s)) {
        r = s = NULL;
        *derlen = i2d_ECDSA_SIG(sig, &der);
    }
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(sig);
    return *derlen > 0 ? der : NULL;
}

static int is_ecdsa(const QKT_OP *op)
{
    return qkt_asym_key_type(op->mech) == CKK_EC;
}

/* Sign: out has room for op->out_len bytes (mech.c checked). */
CK_RV qkt_asym_sign(QKT_OP *op, CK_BYTE *out, CK_ULONG *outlen)
{
    unsigned char buf[1024]; /* the largest signature: RSA-4096 (512), ECDSA DER P-521 (~139) */
    size_t len = sizeof(buf);
    int ok;

    if (op->asym_input == RAW && op->asym_hashlen != 0 && op->buflen != op->asym_hashlen)
        return CKR_DATA_LEN_RANGE; /* raw PSS signs a hash */
    if (op->asym_input == HASHED)
        ok = EVP_DigestSignFinal(op->md, buf, &len);
    else if (op->asym_input == EDDSA)
        ok = EVP_DigestSign(op->md, buf, &len, op->buf, op->buflen);
    else
        ok = EVP_PKEY_sign(op->pctx, buf, &len, op->buf, op->buflen);
    if (ok <= 0)
        return qkt_asym_key_type(op->mech) == CKK_RSA && op->asym_input == RAW
                   ? CKR_DATA_LEN_RANGE
                   : CKR_FUNCTION_FAILED;
    if (is_ecdsa(op)) {
        if (!ecdsa_to_raw(buf, len, out, op->out_len))
            return CKR_FUNCTION_FAILED;
        len = op->out_len;
    } else {
        memcpy(out, buf, len);
    }
    *outlen = (CK_ULONG)len;
    return CKR_OK;
}

CK_RV qkt_asym_verify(QKT_OP *op, const CK_BYTE *sig, CK_ULONG siglen)
{
    unsigned char *der = NULL;
    int derlen = (int)siglen, ok;

    if (siglen != op->out_len)
        return CKR_SIGNATURE_LEN_RANGE;
    if (op->asym_input == RAW && op->asym_hashlen != 0 && op->buflen != op->asym_hashlen)
        return CKR_DATA_LEN_RANGE;
    if (is_ecdsa(op) && (der = ecdsa_to_der(sig, siglen, &derlen)) == NULL)
        return CKR_SIGNATURE_INVALID;
    const unsigned char *s = der != NULL ? der : sig;
    if (op->asym_input == HASHED)
        ok = EVP_DigestVerifyFinal(op->md, s, (size_t)derlen);
    else if (op->asym_input == EDDSA)
        ok = EVP_DigestVerify(op->md, s, (size_t)derlen, op->buf, op->buflen);
    else
        ok = EVP_PKEY_verify(op->pctx, s, (size_t)derlen, op->buf, op->buflen);
    OPENSSL_free(der);
    return ok == 1 ? CKR_OK : CKR_SIGNATURE_INVALID;
}

/* Encrypt or decrypt the collected input. Decryption's length is known only after it: the
 * result is made in locked memory and copied when it fits (BUFFER_TOO_SMALL keeps the input). */
CK_RV qkt_asym_crypt(QKT_OP *op, CK_BYTE *out, CK_ULONG *outlen)
{
    size_t len = op->out_len;
    unsigned char *tmp = qkt_secret_alloc(len);
    CK_RV rv = CKR_OK;
    int ok;

    if (tmp == NULL)
        return CKR_HOST_MEMORY;
    if (op->kind == QKT_ENCRYPT)
        ok = EVP_PKEY_encrypt(op->pctx, tmp, &len, op->buf, op->buflen);
    else
        ok = EVP_PKEY_decrypt(op->pctx, tmp, &len, op->buf, op->buflen);
    if (ok <= 0)
        rv = op->kind == QKT_ENCRYPT     ? CKR_DATA_LEN_RANGE
             : op->buflen != op->out_len ? CKR_ENCRYPTED_DATA_LEN_RANGE
                                         : CKR_ENCRYPTED_DATA_INVALID;
    else if (out == NULL)
        *outlen = (CK_ULONG)len;
    else if (*outlen < len) {
        *outlen = (CK_ULONG)len;
        rv = CKR_BUFFER_TOO_SMALL;
    } else {
        memcpy(out, tmp, len);
        *outlen = (CK_ULONG)len;
    }
    qkt_secret_free(tmp, op->out_len);
    return rv;
}
