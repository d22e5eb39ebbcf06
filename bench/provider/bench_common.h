/*
 * Shared by the provider benchmarks: an openssl.cnf per SAE of a simulated link in a temporary
 * directory, loaded into its own library context, and a monotonic clock.
 */
#ifndef QKEY_BENCH_PROVIDER_COMMON_H
#define QKEY_BENCH_PROVIDER_COMMON_H

#include <openssl/evp.h>

#include "../common/tls_mem.h" /* bench_now */

/* The module argument as OpenSSL must see it: a relative path made absolute. */
const char *bench_module_path(const char *arg);
/* New library context from DIR/NAME.cnf for SAE `sae` (peers `peers`), loading qkey from
 * `module` with `[random] seed = QRNG` when seed_qrng is set; NULL (errors printed) on failure.
 * module NULL: a context with the default provider only. */
OSSL_LIB_CTX *bench_libctx(const char *dir, const char *name, const char *module, const char *sae,
                           const char *peers, int seed_qrng);
/* mkdtemp'ed directory under $TMPDIR (default /tmp; the sim link lives there); bench_rmdir
 * removes it. */
const char *bench_tmpdir(void);
void bench_rmdir(const char *dir);

#endif
