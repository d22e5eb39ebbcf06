/*
 * In-memory TLS 1.3 handshakes for the benchmarks (bench/common/tls_mem.c).
 */
#ifndef QKEY_BENCH_TLS_MEM_H
#define QKEY_BENCH_TLS_MEM_H

#include <openssl/ssl.h>

/* Self-signed P-256 server certificate for bench_make_ctx; 1 on success. */
int bench_make_cert(void);
/* TLS 1.3-only context in `lib` offering only `groups`, no session cache or tickets; the server
 * side carries the certificate. NULL (errors printed) on failure. */
SSL_CTX *bench_make_ctx(OSSL_LIB_CTX *lib, int server, const char *groups);
/* One full handshake over a BIO pair; 1 on success (errors printed otherwise). */
int bench_handshake(SSL_CTX *cctx, SSL_CTX *sctx);
void bench_free_cert(void);

#endif
