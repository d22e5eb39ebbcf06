/*
 * Helpers of the provider's CUnit suites: a simulated link in a temporary directory and one
 * OpenSSL library context per SAE, each loading the qkey.so under test from an openssl.cnf.
 */
#ifndef QKEY_TEST_PROVIDER_HELPERS_H
#define QKEY_TEST_PROVIDER_HELPERS_H

#include <stddef.h>
#include <openssl/evp.h>

extern const char *qkt_provider_path; /* argv[1] */
extern char qkt_dir[256];             /* the temporary link directory */

/* Keep qkey.so mapped after OpenSSL unloads it, so sanitizer reports at exit name its
 * functions (diagnostics only; OpenSSL loads it by path as usual). */
void qkt_pin_module(void);
/* Make the temporary directory (once). */
int qkt_setup_dir(void);
/* Remove it. */
void qkt_cleanup_dir(void);
/* Write DIR/NAME.cnf for SAE `sae` with peers, extra provider-section lines (may be NULL), and
 * load it into a new library context; NULL on failure (errors printed). */
OSSL_LIB_CTX *qkt_libctx(const char *name, const char *sae, const char *peers, const char *extra);
/* Reason text of the newest error on the queue ("" if none), for asserting on causes. The
 * queue is cleared. */
const char *qkt_last_error(char *buf, size_t len);

/* Client: new KEM key; its encoded public key into pub (returns length, 0 on failure). */
EVP_PKEY *qkt_client_key(OSSL_LIB_CTX *lib, const char *alg, unsigned char *pub, size_t *pub_len);
/* Server: the client's public key from its encoding; NULL (error queued) if refused. */
EVP_PKEY *qkt_server_peer(OSSL_LIB_CTX *lib, const char *alg, const unsigned char *pub,
                          size_t pub_len);
/* Encapsulate to peer; ct/secret sizes in/out. 1 on success. */
int qkt_encap(OSSL_LIB_CTX *lib, EVP_PKEY *peer, unsigned char *ct, size_t *ct_len,
              unsigned char *secret, size_t *secret_len);
/* Decapsulate with key. 1 on success. */
int qkt_decap(OSSL_LIB_CTX *lib, EVP_PKEY *key, const unsigned char *ct, size_t ct_len,
              unsigned char *secret, size_t *secret_len);

#endif
