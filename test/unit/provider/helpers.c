/* Helpers of the provider's CUnit suites (see helpers.h). */
#include "helpers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dlfcn.h>
#include <unistd.h>

#include <openssl/err.h>

const char *qkt_provider_path;
char qkt_dir[256];

void qkt_pin_module(void)
{
    /* a deliberate, never-closed reference: RTLD_NODELETE keeps the mapping */
    (void)dlopen(qkt_provider_path, RTLD_NOW | RTLD_NODELETE);
}

int qkt_setup_dir(void)
{
    if (qkt_dir[0] != '\0')
        return 1;
    snprintf(qkt_dir, sizeof(qkt_dir), "/tmp/qkey-prov-test-XXXXXX");
    return mkdtemp(qkt_dir) != NULL;
}

void qkt_cleanup_dir(void)
{
    char cmd[300];

    if (qkt_dir[0] == '\0')
        return;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", qkt_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", qkt_dir);
}

OSSL_LIB_CTX *qkt_libctx(const char *name, const char *sae, const char *peers, const char *extra)
{
    char path[512];
    FILE *f;
    OSSL_LIB_CTX *lib;

    if (!qkt_setup_dir())
        return NULL;
    snprintf(path, sizeof(path), "%s/%s.cnf", qkt_dir, name);
    if ((f = fopen(path, "w")) == NULL)
        return NULL;
    fprintf(f,
            "openssl_conf = openssl_init\n\n[openssl_init]\nproviders = provider_sect\n"
            "random = random_sect\n\n[provider_sect]\ndefault = default_sect\nqkey = qkey_sect\n\n"
            "[default_sect]\nactivate = 1\n\n[qkey_sect]\nmodule = %s\nactivate = 1\n"
            "qkd.driver = sim\nqkd.sae_id = %s\nqkd.sim_link = %s/link\nqkd.peers = %s\n"
            "rng.source = sim\n%s\n\n[random_sect]\nseed = QRNG\nseed_properties = provider=qkey\n",
            qkt_provider_path, sae, qkt_dir, peers, extra != NULL ? extra : "");
    fclose(f);
    if ((lib = OSSL_LIB_CTX_new()) == NULL || !OSSL_LIB_CTX_load_config(lib, path)) {
        ERR_print_errors_fp(stderr);
        OSSL_LIB_CTX_free(lib);
        return NULL;
    }
    return lib;
}

const char *qkt_last_error(char *buf, size_t len)
{
    const char *data = NULL;
    int flags = 0;
    unsigned long e = ERR_peek_last_error_data(&data, &flags);

    buf[0] = '\0';
    if (e != 0)
        snprintf(buf, len, "%s: %s", ERR_reason_error_string(e) ? ERR_reason_error_string(e) : "?",
                 (flags & ERR_TXT_STRING) && data != NULL ? data : "");
    ERR_clear_error();
    return buf;
}

EVP_PKEY *qkt_client_key(OSSL_LIB_CTX *lib, const char *alg, unsigned char *pub, size_t *pub_len)
{
    EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new_from_name(lib, alg, NULL);
    EVP_PKEY *key = NULL;
    unsigned char *enc = NULL;
    size_t n;

    /* as libssl does for a KEM group: keygen by name (its group name set by libssl is optional) */
    if (pctx == NULL || EVP_PKEY_keygen_init(pctx) <= 0 || EVP_PKEY_keygen(pctx, &key) <= 0) {
        EVP_PKEY_CTX_free(pctx);
        return NULL;
    }
    EVP_PKEY_CTX_free(pctx);
    n = EVP_PKEY_get1_encoded_public_key(key, &enc);
    if (n == 0 || n > *pub_len) {
        OPENSSL_free(enc);
        EVP_PKEY_free(key);
        return NULL;
    }
    memcpy(pub, enc, n);
    *pub_len = n;
    OPENSSL_free(enc);
    return key;
}

/* As libssl does for a KEM key share: paramgen by name, then set the encoded public key. */
EVP_PKEY *qkt_server_peer(OSSL_LIB_CTX *lib, const char *alg, const unsigned char *pub,
                          size_t pub_len)
{
    EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new_from_name(lib, alg, NULL);
    EVP_PKEY *peer = NULL;

    if (pctx == NULL || EVP_PKEY_paramgen_init(pctx) <= 0 || EVP_PKEY_paramgen(pctx, &peer) <= 0 ||
        EVP_PKEY_set1_encoded_public_key(peer, pub, pub_len) <= 0) {
        EVP_PKEY_free(peer);
        peer = NULL;
    }
    EVP_PKEY_CTX_free(pctx);
    return peer;
}

int qkt_encap(OSSL_LIB_CTX *lib, EVP_PKEY *peer, unsigned char *ct, size_t *ct_len,
              unsigned char *secret, size_t *secret_len)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(lib, peer, NULL);
    int ok = ctx != NULL && EVP_PKEY_encapsulate_init(ctx, NULL) > 0 &&
             EVP_PKEY_encapsulate(ctx, ct, ct_len, secret, secret_len) > 0;

    EVP_PKEY_CTX_free(ctx);
    return ok;
}

int qkt_decap(OSSL_LIB_CTX *lib, EVP_PKEY *key, const unsigned char *ct, size_t ct_len,
              unsigned char *secret, size_t *secret_len)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(lib, key, NULL);
    int ok = ctx != NULL && EVP_PKEY_decapsulate_init(ctx, NULL) > 0 &&
             EVP_PKEY_decapsulate(ctx, secret, secret_len, ct, ct_len) > 0;

    EVP_PKEY_CTX_free(ctx);
    return ok;
}
