/*
 * CKM_SP800_108_COUNTER_KDF (NIST SP 800-108 counter mode; Current Mechanisms 3.0, 2.42): a
 * QKD root key (or any secret with CKA_DERIVE) derives named sub-keys, the same at both sites.
 * PRF: HMAC-SHA-256/384/512 or AES-CMAC. The PRF input is the caller's list of data parameters
 * in its order: the iteration counter (8-32 bits, either byte order), the derived length L
 * (8-64 bits, sum of keys or of segments), byte arrays (label, separator, context).
 *
 * Written here on EVP_MAC rather than with OpenSSL's KBKDF because KBKDF fixes the layout
 * (counter || label || 0x00 || context || L, big-endian) while PKCS#11 lets the caller order and
 * size every field; the suite checks the KBKDF layout against OpenSSL's KBKDF. Additional
 * derived keys (ulAdditionalDerivedKeys) are not offered: CKR_MECHANISM_PARAM_INVALID.
 */
#include <string.h>
#include <openssl/core_names.h>

#include "internal.h"

#define MAX_PARAMS 32

/* Append v as a w-bit integer (w a multiple of 8), big- or little-endian. */
static size_t put_int(unsigned char *p, uint64_t v, CK_ULONG w, CK_BBOOL little)
{
    size_t n = w / 8;
    for (size_t i = 0; i < n; i++) {
        unsigned char b = (unsigned char)(v >> (8 * i));
        p[little ? i : n - 1 - i] = b;
    }
    return n;
}

static CK_RV check_params(const QKT_CK_SP800_108_KDF_PARAMS *p, size_t *fixed)
{
    int iter = 0, dkm = 0;

    *fixed = 0;
    if (p->ulAdditionalDerivedKeys != 0 || p->ulNumberOfDataParams == 0 ||
        p->ulNumberOfDataParams > MAX_PARAMS || p->pDataParams == NULL)
        return CKR_MECHANISM_PARAM_INVALID;
    for (CK_ULONG i = 0; i < p->ulNumberOfDataParams; i++) {
        const QKT_CK_PRF_DATA_PARAM *d = &p->pDataParams[i];
        switch (d->type) {
        case CK_SP800_108_ITERATION_VARIABLE: {
            const QKT_CK_SP800_108_COUNTER_FORMAT *f = d->pValue;
            if (iter++ || f == NULL || d->ulValueLen != sizeof(*f) || f->ulWidthInBits == 0 ||
                f->ulWidthInBits > 32 || f->ulWidthInBits % 8 != 0)
                return CKR_MECHANISM_PARAM_INVALID;
            *fixed += f->ulWidthInBits / 8;
            break;
        }
        case CK_SP800_108_DKM_LENGTH: {
            const QKT_CK_SP800_108_DKM_LENGTH_FORMAT *f = d->pValue;
            if (dkm++ || f == NULL || d->ulValueLen != sizeof(*f) || f->ulWidthInBits == 0 ||
                f->ulWidthInBits > 64 || f->ulWidthInBits % 8 != 0 ||
                (f->dkmLengthMethod != CK_SP800_108_DKM_LENGTH_SUM_OF_KEYS &&
                 f->dkmLengthMethod != CK_SP800_108_DKM_LENGTH_SUM_OF_SEGMENTS))
                return CKR_MECHANISM_PARAM_INVALID;
            *fixed += f->ulWidthInBits / 8;
            break;
        }
        case CK_SP800_108_BYTE_ARRAY:
            if (d->pValue == NULL || d->ulValueLen == 0 || d->ulValueLen > 4096)
                return CKR_MECHANISM_PARAM_INVALID;
            *fixed += d->ulValueLen;
            break;
        default: /* CK_SP800_108_OPTIONAL_COUNTER belongs to the feedback and pipeline modes */
            return CKR_MECHANISM_PARAM_INVALID;
        }
    }
    return iter == 1 ? CKR_OK : CKR_MECHANISM_PARAM_INVALID; /* counter mode needs the counter */
}

/* The PRF as an EVP_MAC context keyed with the base key; *h its output length. */
static EVP_MAC_CTX *prf_new(CK_MECHANISM_TYPE prf, const QKT_ATTR *key, size_t *h)
{
    int cmac = prf == CKM_AES_CMAC;
    EVP_MAC *mac = EVP_MAC_fetch(qkt_lib->libctx, cmac ? "CMAC" : "HMAC", NULL);
    EVP_MAC_CTX *ctx = mac != NULL ? EVP_MAC_CTX_new(mac) : NULL;
    char cipher[16];
    OSSL_PARAM params[2];

    EVP_MAC_free(mac);
    if (ctx == NULL)
        return NULL;
    if (cmac) {
        snprintf(cipher, sizeof(cipher), "AES-%zu-CBC", key->len * 8);
        params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, cipher, 0);
    } else {
        params[0] =
            OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)qkt_md_name(prf), 0);
    }
    params[1] = OSSL_PARAM_construct_end();
    if (!EVP_MAC_init(ctx, key->val, key->len, params)) {
        EVP_MAC_CTX_free(ctx);
        return NULL;
    }
    *h = EVP_MAC_CTX_get_mac_size(ctx);
    return ctx;
}

static CK_RV run(const QKT_CK_SP800_108_KDF_PARAMS *p, const QKT_ATTR *key, unsigned char *out,
                 size_t len)
{
    size_t h = 0, fixed, done = 0;
    EVP_MAC_CTX *base = prf_new(p->prfType, key, &h), *c = NULL;
    unsigned char *input = NULL, block[64];
    CK_RV rv = check_params(p, &fixed);

    if (rv != CKR_OK || base == NULL || h == 0 || h > sizeof(block)) {
        rv = rv != CKR_OK ? rv : CKR_FUNCTION_FAILED;
        goto done;
    }
    uint64_t blocks = (len + h - 1) / h;
    if ((input = qkt_secret_alloc(fixed)) == NULL) {
        rv = CKR_HOST_MEMORY;
        goto done;
    }
    for (uint64_t i = 1; i <= blocks; i++) {
        size_t at = 0, got = 0;
        for (CK_ULONG k = 0; k < p->ulNumberOfDataParams; k++) {
            const QKT_CK_PRF_DATA_PARAM *d = &p->pDataParams[k];
            if (d->type == CK_SP800_108_ITERATION_VARIABLE) {
                const QKT_CK_SP800_108_COUNTER_FORMAT *f = d->pValue;
                if (f->ulWidthInBits < 32 && i >> f->ulWidthInBits) {
                    rv = CKR_TEMPLATE_INCONSISTENT; /* the counter would wrap */
                    goto done;
                }
                at += put_int(input + at, i, f->ulWidthInBits, f->bLittleEndian);
            } else if (d->type == CK_SP800_108_DKM_LENGTH) {
                const QKT_CK_SP800_108_DKM_LENGTH_FORMAT *f = d->pValue;
                uint64_t bits = f->dkmLengthMethod == CK_SP800_108_DKM_LENGTH_SUM_OF_SEGMENTS
                                    ? blocks * h * 8
                                    : (uint64_t)len * 8;
                at += put_int(input + at, bits, f->ulWidthInBits, f->bLittleEndian);
            } else {
                memcpy(input + at, d->pValue, d->ulValueLen);
                at += d->ulValueLen;
            }
        }
        if ((c = EVP_MAC_CTX_dup(base)) == NULL || !EVP_MAC_update(c, input, at) ||
            !EVP_MAC_final(c, block, &got, sizeof(block)) || got != h) {
            rv = CKR_FUNCTION_FAILED;
            goto done;
        }
        EVP_MAC_CTX_free(c);
        c = NULL;
        memcpy(out + done, block, len - done < h ? len - done : h);
        done += len - done < h ? len - done : h;
    }
done:
    qks_wipe(block, sizeof(block));
    if (input != NULL)
        qkt_secret_free(input, fixed);
    EVP_MAC_CTX_free(c);
    EVP_MAC_CTX_free(base);
    return rv;
}

CK_RV qkt_sp800_108(QKT_SESSION *s, const CK_MECHANISM *mech, CK_OBJECT_HANDLE h,
                    const CK_ATTRIBUTE *tpl, CK_ULONG n, CK_OBJECT_HANDLE *out)
{
    const QKT_CK_SP800_108_KDF_PARAMS *p = mech->pParameter;
    QKT_OBJ *base;
    unsigned char *val = NULL;
    CK_ULONG len = 0, kt = CKK_GENERIC_SECRET;
    size_t fixed;
    CK_RV rv;

    if (p == NULL || mech->ulParameterLen != sizeof(*p) ||
        (p->prfType != CKM_AES_CMAC && qkt_md_name(p->prfType) == NULL))
        return CKR_MECHANISM_PARAM_INVALID;
    if ((rv = check_params(p, &fixed)) != CKR_OK)
        return rv;
    if ((rv = qkt_key_get(s, h, &base)) != CKR_OK)
        return rv;
    /* HMAC takes any secret as its key (a QKD key is an AES key); CMAC an AES key */
    CK_KEY_TYPE bt = qkt_obj_ulong(base, CKA_KEY_TYPE, CK_UNAVAILABLE_INFORMATION);
    if (p->prfType != CKM_AES_CMAC && bt != CKK_AES && bt != CKK_HKDF)
        bt = CKK_GENERIC_SECRET;
    if ((rv = qkt_key_usable(base, CKA_DERIVE, mech->mechanism,
                             p->prfType == CKM_AES_CMAC ? CKK_AES : bt)) != CKR_OK)
        return rv;
    rv = qkt_tpl_ulong(tpl, n, CKA_KEY_TYPE, &kt);
    if (rv != CKR_OK && rv != CKR_TEMPLATE_INCOMPLETE)
        return rv;
    rv = qkt_tpl_value_len(tpl, n, &len);
    if (rv == CKR_TEMPLATE_INCOMPLETE && kt == CKK_DES3)
        len = 24;
    else if (rv != CKR_OK)
        return rv;
    if (qkt_key_len_check(kt, len) != CKR_OK)
        return CKR_TEMPLATE_INCONSISTENT;
    if ((val = qkt_secret_alloc(len)) == NULL)
        return CKR_HOST_MEMORY;
    if ((rv = run(p, qkt_obj_attr(base, CKA_VALUE), val, len)) == CKR_OK)
        rv = qkt_derived_add(s, base, tpl, n, kt, val, len, out);
    qkt_secret_free(val, len);
    return rv;
}
