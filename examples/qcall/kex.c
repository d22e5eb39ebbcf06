/*
 * qcall key exchange: one KEM operation per call, through the EVP API only.
 *
 * With OPENSSL_CONF loading the qkey provider, the algorithm "X25519-QKD" is a KEM whose shared
 * secret is X25519's secret followed by a fresh QKD key; this file does not know that, and works
 * the same with any KEM a provider offers. X25519/X448 (which OpenSSL 3.0 offers for key
 * agreement only) run as ECDH through EVP_PKEY_derive: that is the classical baseline.
 * Shared secrets live in OpenSSL's secure heap (locked, not dumped) when main() enabled it.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include "qcall.h"

#define QCALL_HKDF_INFO "qcall srtp"

void qcall_ossl_err(char *err, size_t errlen, const char *what)
{
    size_t off;
    unsigned long e;
    const char *data = NULL;
    int flags = 0;

    off = (size_t)snprintf(err, errlen, "%s", what);
    while ((e = ERR_get_error_all(NULL, NULL, NULL, &data, &flags)) != 0) {
        const char *reason = ERR_reason_error_string(e);
        int n;

        if (off >= errlen)
            continue; /* drain the queue even when the text is full */
        n = snprintf(err + off, errlen - off, ": %s%s%s%s", reason ? reason : "",
                     (flags & ERR_TXT_STRING) && data && *data && reason ? " (" : "",
                     (flags & ERR_TXT_STRING) && data ? data : "",
                     (flags & ERR_TXT_STRING) && data && *data && reason ? ")" : "");
        if (n > 0)
            off += (size_t)n;
    }
}

int qcall_kex_init(QCALL_KEX *kex, const char *name)
{
    if (strlen(name) >= sizeof(kex->name))
        return 0;
    strcpy(kex->name, name);
    kex->is_kem = strcasecmp(name, "X25519") != 0 && strcasecmp(name, "X448") != 0;
    return 1;
}

static EVP_PKEY *keygen(const char *name)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, name, NULL);
    EVP_PKEY *pkey = NULL;

    if (ctx == NULL || EVP_PKEY_keygen_init(ctx) <= 0 || EVP_PKEY_keygen(ctx, &pkey) <= 0)
        pkey = NULL;
    EVP_PKEY_CTX_free(ctx);
    return pkey;
}

/*
 * The peer's public key as an EVP_PKEY of the same type: an empty key from paramgen, then
 * EVP_PKEY_set1_encoded_public_key -- the same path libssl takes for a TLS key share.
 */
static EVP_PKEY *peer_key(const char *name, const uint8_t *pub, size_t pub_len)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, name, NULL);
    EVP_PKEY *pkey = NULL;

    if (ctx == NULL || EVP_PKEY_paramgen_init(ctx) <= 0 || EVP_PKEY_paramgen(ctx, &pkey) <= 0 ||
        EVP_PKEY_set1_encoded_public_key(pkey, pub, pub_len) != 1) {
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }
    EVP_PKEY_CTX_free(ctx);
    return pkey;
}

int qcall_kex_keygen(const QCALL_KEX *kex, EVP_PKEY **pair, uint8_t **pub, size_t *pub_len,
                     char *err, size_t errlen)
{
    *pub = NULL;
    *pair = keygen(kex->name);
    if (*pair == NULL) {
        char what[192];
        EVP_KEYMGMT *km = EVP_KEYMGMT_fetch(NULL, kex->name, NULL);

        if (km == NULL) {
            ERR_clear_error();
            snprintf(err, errlen,
                     "no provider offers %s (does OPENSSL_CONF load the provider that has it?)",
                     kex->name);
            return 0;
        }
        EVP_KEYMGMT_free(km);
        snprintf(what, sizeof(what), "cannot generate a %s key pair", kex->name);
        qcall_ossl_err(err, errlen, what);
        return 0;
    }
    *pub_len = EVP_PKEY_get1_encoded_public_key(*pair, pub);
    if (*pub_len == 0) {
        qcall_ossl_err(err, errlen, "cannot encode the public key");
        EVP_PKEY_free(*pair);
        *pair = NULL;
        return 0;
    }
    return 1;
}

/* ECDH: own is our key pair, peer the other side's public key; secret in the secure heap. */
static int derive(EVP_PKEY *own, EVP_PKEY *peer, uint8_t **secret, size_t *secret_len)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, own, NULL);
    int ok = 0;

    *secret = NULL;
    if (ctx == NULL || EVP_PKEY_derive_init(ctx) <= 0 || EVP_PKEY_derive_set_peer(ctx, peer) <= 0 ||
        EVP_PKEY_derive(ctx, NULL, secret_len) <= 0)
        goto done;
    if ((*secret = OPENSSL_secure_malloc(*secret_len)) == NULL ||
        EVP_PKEY_derive(ctx, *secret, secret_len) <= 0)
        goto done;
    ok = 1;
done:
    if (!ok) {
        OPENSSL_secure_clear_free(*secret, *secret_len);
        *secret = NULL;
    }
    EVP_PKEY_CTX_free(ctx);
    return ok;
}

int qcall_kex_encap(const QCALL_KEX *kex, const uint8_t *pub, size_t pub_len, uint8_t **ct,
                    size_t *ct_len, uint8_t **secret, size_t *secret_len, char *err, size_t errlen)
{
    EVP_PKEY *peer = peer_key(kex->name, pub, pub_len), *own = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    size_t cap_ct = 0, cap_secret = 0;
    int ok = 0;

    *ct = *secret = NULL;
    *secret_len = 0;
    if (peer == NULL) {
        qcall_ossl_err(err, errlen, "the callee's public key is not usable");
        goto done;
    }
    if (!kex->is_kem) { /* ECDH: our own ephemeral public key plays the ciphertext */
        if ((own = keygen(kex->name)) == NULL || !derive(own, peer, secret, secret_len) ||
            (*ct_len = EVP_PKEY_get1_encoded_public_key(own, ct)) == 0) {
            qcall_ossl_err(err, errlen, "key agreement failed");
            goto done;
        }
        ok = 1;
        goto done;
    }
    /* The first call only learns upper bounds; the one real encapsulation follows. */
    if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, peer, NULL)) == NULL ||
        EVP_PKEY_encapsulate_init(ctx, NULL) <= 0 ||
        EVP_PKEY_encapsulate(ctx, NULL, &cap_ct, NULL, &cap_secret) <= 0) {
        qcall_ossl_err(err, errlen, "encapsulation not available");
        goto done;
    }
    *ct_len = cap_ct;
    *secret_len = cap_secret;
    if ((*ct = OPENSSL_malloc(cap_ct)) == NULL ||
        (*secret = OPENSSL_secure_malloc(cap_secret)) == NULL) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    if (EVP_PKEY_encapsulate(ctx, *ct, ct_len, *secret, secret_len) <= 0) {
        qcall_ossl_err(err, errlen, "encapsulation failed");
        goto done;
    }
    ok = 1;
done:
    if (!ok) {
        OPENSSL_free(*ct);
        OPENSSL_secure_clear_free(*secret, cap_secret > *secret_len ? cap_secret : *secret_len);
        *ct = *secret = NULL;
    }
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(peer);
    EVP_PKEY_free(own);
    return ok;
}

int qcall_kex_decap(const QCALL_KEX *kex, EVP_PKEY *pair, const uint8_t *ct, size_t ct_len,
                    uint8_t **secret, size_t *secret_len, char *err, size_t errlen)
{
    EVP_PKEY_CTX *ctx = NULL;
    EVP_PKEY *peer = NULL;
    size_t cap = 0;
    int ok = 0;

    *secret = NULL;
    *secret_len = 0;
    if (!kex->is_kem) {
        if ((peer = peer_key(kex->name, ct, ct_len)) == NULL ||
            !derive(pair, peer, secret, secret_len)) {
            qcall_ossl_err(err, errlen, "key agreement failed");
            goto done;
        }
        ok = 1;
        goto done;
    }
    if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pair, NULL)) == NULL ||
        EVP_PKEY_decapsulate_init(ctx, NULL) <= 0 ||
        EVP_PKEY_decapsulate(ctx, NULL, &cap, ct, ct_len) <= 0) {
        qcall_ossl_err(err, errlen, "decapsulation not available");
        goto done;
    }
    *secret_len = cap;
    if ((*secret = OPENSSL_secure_malloc(cap)) == NULL) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    if (EVP_PKEY_decapsulate(ctx, *secret, secret_len, ct, ct_len) <= 0) {
        qcall_ossl_err(err, errlen, "decapsulation failed");
        goto done;
    }
    ok = 1;
done:
    if (!ok) {
        OPENSSL_secure_clear_free(*secret, cap);
        *secret = NULL;
    }
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(peer);
    return ok;
}

int qcall_kex_srtp_keys(const uint8_t *secret, size_t secret_len,
                        uint8_t out[2 * QCALL_SRTP_MASTER], char *err, size_t errlen)
{
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    EVP_KDF_CTX *kctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    OSSL_PARAM params[4];
    int ok;

    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, "SHA256", 0);
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)secret, secret_len);
    params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, QCALL_HKDF_INFO,
                                                  strlen(QCALL_HKDF_INFO));
    params[3] = OSSL_PARAM_construct_end();
    ok = kctx != NULL && EVP_KDF_derive(kctx, out, 2 * QCALL_SRTP_MASTER, params) == 1;
    if (!ok)
        qcall_ossl_err(err, errlen, "HKDF failed");
    EVP_KDF_CTX_free(kctx);
    EVP_KDF_free(kdf);
    return ok;
}
