/* Shared by the provider benchmarks (see bench_common.h). */
#include "bench_common.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>

const char *bench_module_path(const char *arg)
{
    static char abs[PATH_MAX];

    /* OpenSSL resolves a relative module path against its modules directory, not the cwd */
    if (arg[0] != '/' && strchr(arg, '/') != NULL && realpath(arg, abs) != NULL)
        return abs;
    return arg;
}

OSSL_LIB_CTX *bench_libctx(const char *dir, const char *name, const char *module, const char *sae,
                           const char *peers, int seed_qrng)
{
    char path[512];
    FILE *f;
    OSSL_LIB_CTX *lib;

    module = module != NULL ? bench_module_path(module) : NULL;
    snprintf(path, sizeof(path), "%s/%s.cnf", dir, name);
    if ((f = fopen(path, "w")) == NULL)
        return NULL;
    fprintf(f,
            "openssl_conf = openssl_init\n\n[openssl_init]\nproviders = provider_sect\n%s\n"
            "[provider_sect]\ndefault = default_sect\n%s\n[default_sect]\nactivate = 1\n\n",
            seed_qrng ? "random = random_sect\n" : "", module != NULL ? "qkey = qkey_sect\n" : "");
    if (module != NULL)
        fprintf(f,
                "[qkey_sect]\nmodule = %s\nactivate = 1\nqkd.driver = sim\nqkd.sae_id = %s\n"
                "qkd.sim_link = %s/link\nqkd.peers = %s\nqkd.rate_limit = 1000000\n"
                "qkd.rate_burst = 1000000\nqkd.prefetch = %s\nrng.source = sim\n\n",
                module, sae, dir, peers,
                getenv("QKEY_BENCH_PREFETCH") != NULL ? getenv("QKEY_BENCH_PREFETCH") : "1");
    if (seed_qrng)
        fprintf(f, "[random_sect]\nseed = QRNG\nseed_properties = provider=qkey\n");
    fclose(f);
    if ((lib = OSSL_LIB_CTX_new()) == NULL || !OSSL_LIB_CTX_load_config(lib, path)) {
        ERR_print_errors_fp(stderr);
        OSSL_LIB_CTX_free(lib);
        return NULL;
    }
    return lib;
}

const char *bench_tmpdir(void)
{
    static char dir[256];
    const char *tmp = getenv("TMPDIR"); /* where the sim link lives: its file I/O is measured */

    snprintf(dir, sizeof(dir), "%s/qkey-bench-XXXXXX",
             tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
    return mkdtemp(dir);
}

void bench_rmdir(const char *dir)
{
    char cmd[300];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}
