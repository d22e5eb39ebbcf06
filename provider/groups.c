/*
 * qkey provider: the TLS-GROUP capability. libssl 3.0 asks every provider for it when an
 * SSL_CTX is created and adds each group it can fetch a key manager for; the names then work in
 * `Groups =` / `-groups` lines. QKD groups are TLS 1.3 KEM groups, never DTLS, with code points
 * from the private-use range (config: tls.codepoint.<group>). The ML-KEM + QKD groups are offered
 * only where the running libcrypto offers the hybrid ML-KEM KEM by name. Without a QKD driver the
 * provider offers no group (a Groups line naming one is then dropped by libssl, see
 * docs/provider.md).
 */
#include <string.h>
#include <strings.h>

#include <openssl/core_names.h>
#include <openssl/params.h>
#include <openssl/prov_ssl.h>

#include "internal.h"

static int group_security_bits(const QKP_PROV *prov, const QKP_VARIANT *v)
{
    int qkd_bits = (int)qkp_key_bytes(prov) * 8 / 2;

    return v->classical_bits > qkd_bits ? v->classical_bits : qkd_bits;
}

static int tls_groups(QKP_PROV *prov, OSSL_CALLBACK *cb, void *arg)
{
    for (int i = 0; i < QKP_NVARIANTS; i++) {
        const QKP_VARIANT *v = &qkp_variants[i];
        unsigned int id = prov->codepoint[i];
        unsigned int secbits = (unsigned)group_security_bits(prov, v);
        unsigned int is_kem = 1;
        if (!qkp_variant_available(prov, v))
            continue; /* e.g. X25519MLKEM768-QKD on a libcrypto without ML-KEM (3.0) */
        int min_tls = TLS1_3_VERSION, max_tls = 0, min_dtls = -1, max_dtls = -1;
        OSSL_PARAM p[] = {
            OSSL_PARAM_construct_utf8_string(OSSL_CAPABILITY_TLS_GROUP_NAME, (char *)v->group, 0),
            OSSL_PARAM_construct_utf8_string(OSSL_CAPABILITY_TLS_GROUP_NAME_INTERNAL,
                                             (char *)v->alg, 0),
            OSSL_PARAM_construct_uint(OSSL_CAPABILITY_TLS_GROUP_ID, &id),
            OSSL_PARAM_construct_utf8_string(OSSL_CAPABILITY_TLS_GROUP_ALG, (char *)v->alg, 0),
            OSSL_PARAM_construct_uint(OSSL_CAPABILITY_TLS_GROUP_SECURITY_BITS, &secbits),
            OSSL_PARAM_construct_uint(OSSL_CAPABILITY_TLS_GROUP_IS_KEM, &is_kem),
            OSSL_PARAM_construct_int(OSSL_CAPABILITY_TLS_GROUP_MIN_TLS, &min_tls),
            OSSL_PARAM_construct_int(OSSL_CAPABILITY_TLS_GROUP_MAX_TLS, &max_tls),
            OSSL_PARAM_construct_int(OSSL_CAPABILITY_TLS_GROUP_MIN_DTLS, &min_dtls),
            OSSL_PARAM_construct_int(OSSL_CAPABILITY_TLS_GROUP_MAX_DTLS, &max_dtls),
            OSSL_PARAM_construct_end()};

        if (!cb(p, arg))
            return 0;
    }
    return 1;
}

int qkp_get_capabilities(void *provctx, const char *capability, OSSL_CALLBACK *cb, void *arg)
{
    QKP_PROV *prov = provctx;

    if (strcasecmp(capability, "TLS-GROUP") == 0)
        return prov->has_qkd ? tls_groups(prov, cb, arg) : 1;
    return 1; /* no other capability: nothing to report is not an error */
}
