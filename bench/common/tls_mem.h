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

/* Monotonic seconds. */
double bench_now(void);

/*
 * Handshakes/s of several setups measured round-robin, one handshake each in turn, with each
 * setup's time summed separately: load from other processes then hits all of them alike (a
 * KME round trip on a busy 2-core machine costs whatever the scheduler makes it cost).
 * One warm-up handshake per setup first (first KME connections, first prefetch). *count is the
 * number of rounds; h[i].t the seconds setup i spent. 1 on success.
 */
typedef struct {
    OSSL_LIB_CTX *srv, *cli;
    const char *group;
    SSL_CTX *sctx, *cctx;
    double t;
} HS_SETUP;
int bench_hs_rates(HS_SETUP *h, size_t n, double seconds, long *count);

#endif
