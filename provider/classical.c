/*
 * qkey provider: the classical half of the hybrid QKD KEM (X25519, X448, ECDH P-256/P-384,
 * and OpenSSL's hybrid ML-KEM KEMs X25519MLKEM768, SecP256r1MLKEM768, SecP384r1MLKEM1024),
 * done with EVP in the provider's child library context, so whatever provider the application
 * loaded for those algorithms (default, FIPS) does the work: no ML-KEM or X25519 code here.
 * ECDH private keys leave OpenSSL's objects only as raw bytes into qkey's locked memory; a
 * hybrid ML-KEM key pair stays in its EVP_PKEY for the one handshake it serves.
 */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/param_build.h>

#include "internal.h"
#include "qkey/secmem.h"

EVP_PKEY *qkp_classical_keygen(QKP_PROV *prov, const QKP_VARIANT *v)
{
    EVP_PKEY *pkey;

    if (v->curve != NULL)
        pkey = EVP_PKEY_Q_keygen(prov->libctx, NULL, v->classical, v->curve);
    else
        pkey = EVP_PKEY_Q_keygen(prov->libctx, NULL, v->classical);
    if (pkey == NULL)
        QKP_RAISE(prov, QKP_R_INTERNAL,
                  "%s key generation failed (is the default provider loaded?)",
                  v->curve != NULL ? v->curve : v->classical);
    return pkey;
}

int qkp_classical_export(QKP_PROV *prov, const QKP_VARIANT *v, EVP_PKEY *pkey, unsigned char *pub,
                         unsigned char *priv)
{
    size_t n = 0;
    BIGNUM *bn = NULL;
    int ok = 0;

    if (v->kem) {
        if (priv != NULL ||
            (pub != NULL && (!EVP_PKEY_get_octet_string_param(
                                 pkey, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, pub, v->pub_len, &n) ||
                             n != v->pub_len)))
            goto done;
    } else if (v->curve == NULL) {
        n = v->pub_len;
        if (pub != NULL && (!EVP_PKEY_get_raw_public_key(pkey, pub, &n) || n != v->pub_len))
            goto done;
        n = v->priv_len;
        if (priv != NULL && (!EVP_PKEY_get_raw_private_key(pkey, priv, &n) || n != v->priv_len))
            goto done;
    } else {
        if (pub != NULL && (!EVP_PKEY_get_octet_string_param(
                                pkey, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, pub, v->pub_len, &n) ||
                            n != v->pub_len || pub[0] != 0x04))
            goto done;
        if (priv != NULL && (!EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_PRIV_KEY, &bn) ||
                             BN_bn2binpad(bn, priv, (int)v->priv_len) != (int)v->priv_len))
            goto done;
    }
    ok = 1;
done:
    BN_clear_free(bn);
    if (!ok)
        QKP_RAISE(prov, QKP_R_INTERNAL, "cannot export the %s key", v->alg);
    return ok;
}

/*
 * Key from raw parts in the child libctx. Giving the public key with the private one spares
 * OpenSSL a scalar multiplication to recompute it (X25519/X448 import does that otherwise).
 */
static EVP_PKEY *fromdata(QKP_PROV *prov, const QKP_VARIANT *v, const unsigned char *priv,
                          const unsigned char *pub)
{
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    EVP_PKEY *pkey = NULL;
    BIGNUM *bn = NULL;

    if (bld == NULL ||
        (v->curve != NULL &&
         !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, v->curve, 0)) ||
        !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, v->pub_len))
        goto done;
    if (priv != NULL && v->curve != NULL) {
        if ((bn = BN_secure_new()) == NULL || BN_bin2bn(priv, (int)v->priv_len, bn) == NULL ||
            !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, bn))
            goto done;
    } else if (priv != NULL && !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PRIV_KEY,
                                                                 priv, v->priv_len)) {
        goto done;
    }
    if ((params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
        (ctx = EVP_PKEY_CTX_new_from_name(prov->libctx, v->classical, NULL)) == NULL ||
        EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, &pkey, priv != NULL ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY,
                          params) <= 0)
        pkey = NULL;
done:
    EVP_PKEY_CTX_free(ctx);
    if (params != NULL && priv != NULL && v->curve == NULL) {
        /* the builder copied the raw private key into a plain allocation: wipe it */
        OSSL_PARAM *p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_PRIV_KEY);
        if (p != NULL && p->data != NULL)
            qks_wipe(p->data, p->data_size);
    }
    OSSL_PARAM_free(params); /* a secure BN's bytes are cleared by the builder's secure part */
    OSSL_PARAM_BLD_free(bld);
    BN_clear_free(bn);
    return pkey;
}

EVP_PKEY *qkp_classical_load_pub(QKP_PROV *prov, const QKP_VARIANT *v, const unsigned char *pub,
                                 size_t len)
{
    EVP_PKEY *pkey = NULL;

    if (len != v->pub_len)
        goto bad;
    ERR_set_mark();
    if (v->curve == NULL) {
        pkey = EVP_PKEY_new_raw_public_key_ex(prov->libctx, v->classical, NULL, pub, len);
    } else if (pub[0] == 0x04) { /* uncompressed points only, as TLS 1.3 requires */
        /* the import refuses a point off the curve; P-256 and P-384 have cofactor 1, so a point
         * on the curve has the right order (SP 800-56A 5.6.2.3.4 partial validation suffices) */
        pkey = fromdata(prov, v, NULL, pub);
    }
    ERR_pop_to_mark();
    if (pkey != NULL)
        return pkey;
bad:
    QKP_RAISE(prov, QKP_R_BAD_CLASSICAL, "%s public key rejected (%zu bytes, not a valid %s)",
              v->alg, len, v->curve != NULL ? "uncompressed point on the curve" : "key");
    return NULL;
}

EVP_PKEY *qkp_classical_load_priv(QKP_PROV *prov, const QKP_VARIANT *v, const unsigned char *priv,
                                  const unsigned char *pub)
{
    EVP_PKEY *pkey;

    pkey = fromdata(prov, v, priv, pub);
    if (pkey == NULL)
        QKP_RAISE(prov, QKP_R_INTERNAL, "cannot load the %s private key", v->alg);
    return pkey;
}

int qkp_classical_derive(QKP_PROV *prov, const QKP_VARIANT *v, EVP_PKEY *mine, EVP_PKEY *peer,
                         unsigned char *out)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(prov->libctx, mine, NULL);
    size_t n = v->secret_len;
    int ok;

    ERR_set_mark();
    ok = ctx != NULL && EVP_PKEY_derive_init(ctx) > 0 && EVP_PKEY_derive_set_peer(ctx, peer) > 0 &&
         EVP_PKEY_derive(ctx, out, &n) > 0 && n == v->secret_len;
    ERR_pop_to_mark();
    EVP_PKEY_CTX_free(ctx);
    if (!ok) {
        qks_wipe(out, v->secret_len);
        QKP_RAISE(prov, QKP_R_BAD_CLASSICAL,
                  "%s key agreement failed (low-order or invalid peer key)", v->alg);
    }
    return ok;
}

int qkp_variant_available(QKP_PROV *prov, const QKP_VARIANT *v)
{
    int a = atomic_load(&prov->available[v->id]);

    if (a == 0) {
        EVP_KEM *kem = NULL;
        EVP_KEYMGMT *km = NULL;

        if (!v->kem) {
            a = 1;
        } else {
            ERR_set_mark();
            kem = EVP_KEM_fetch(prov->libctx, v->classical, NULL);
            km = EVP_KEYMGMT_fetch(prov->libctx, v->classical, NULL);
            ERR_pop_to_mark();
            a = kem != NULL && km != NULL ? 1 : 2;
            EVP_KEM_free(kem);
            EVP_KEYMGMT_free(km);
        }
        atomic_store(&prov->available[v->id], a);
    }
    return a == 1;
}

int qkp_classical_encap(QKP_PROV *prov, const QKP_VARIANT *v, EVP_PKEY *peer, unsigned char *ct,
                        unsigned char *out)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(prov->libctx, peer, NULL);
    size_t ctlen = v->ct_len, n = v->secret_len;
    int ok;

    ERR_set_mark();
    ok = ctx != NULL && EVP_PKEY_encapsulate_init(ctx, NULL) > 0 &&
         EVP_PKEY_encapsulate(ctx, ct, &ctlen, out, &n) > 0 && ctlen == v->ct_len &&
         n == v->secret_len;
    ERR_pop_to_mark();
    EVP_PKEY_CTX_free(ctx);
    if (!ok) {
        qks_wipe(out, v->secret_len);
        QKP_RAISE(prov, QKP_R_BAD_CLASSICAL, "%s encapsulation to the client's key failed",
                  v->classical);
    }
    return ok;
}

int qkp_classical_decap(QKP_PROV *prov, const QKP_VARIANT *v, EVP_PKEY *mine,
                        const unsigned char *ct, size_t ct_len, unsigned char *out)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(prov->libctx, mine, NULL);
    size_t n = v->secret_len;
    int ok;

    ERR_set_mark();
    ok = ctx != NULL && ct_len == v->ct_len && EVP_PKEY_decapsulate_init(ctx, NULL) > 0 &&
         EVP_PKEY_decapsulate(ctx, out, &n, ct, ct_len) > 0 && n == v->secret_len;
    ERR_pop_to_mark();
    EVP_PKEY_CTX_free(ctx);
    if (!ok) {
        qks_wipe(out, v->secret_len);
        QKP_RAISE(prov, QKP_R_BAD_CLASSICAL,
                  "%s decapsulation failed (the server's key share part is not valid)",
                  v->classical);
    }
    return ok;
}
