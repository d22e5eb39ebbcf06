/*
 * Resident memory (VmRSS) that loading qkey.so with the sim driver adds to a process that
 * already uses OpenSSL's default provider: measured before and after loading it (config from
 * a standalone file named by QKEY_CONF) and after first use (a QRNG draw, a QKD KEM key pair).
 * Target: <= 4 MiB.
 * Usage: bench_prov_rss PATH/TO/qkey.so
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/provider.h>
#include <openssl/rand.h>

#include "bench_common.h"

static long vmrss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;

    while (f != NULL && fgets(line, sizeof(line), f) != NULL)
        if (strncmp(line, "VmRSS:", 6) == 0)
            kib = atol(line + 6);
    if (f != NULL)
        fclose(f);
    return kib;
}

int main(int argc, char **argv)
{
    const char *dir;
    char conf[256];
    FILE *f;
    OSSL_PROVIDER *def, *qkey;
    EVP_RAND *qrng;
    EVP_RAND_CTX *ctx;
    EVP_PKEY_CTX *pctx;
    EVP_PKEY *key = NULL;
    unsigned char buf[64];
    long base, loaded, used;

    if (argc < 2) {
        fprintf(stderr, "usage: %s PATH/TO/qkey.so\n", argv[0]);
        return 2;
    }
    if ((dir = bench_tmpdir()) == NULL)
        return 1;
    snprintf(conf, sizeof(conf), "%s/qkey.conf", dir);
    if ((f = fopen(conf, "w")) == NULL)
        return 1;
    fprintf(f,
            "[qkd]\ndriver = sim\nsae_id = SAE_A\nsim_link = %s/link\npeers = SAE_B\n\n"
            "[rng]\nsource = sim\n",
            dir);
    fclose(f);
    setenv("QKEY_CONF", conf, 1); /* no inline keys: the provider reads the default file */
    def = OSSL_PROVIDER_load(NULL, "default");
    if (def == NULL || RAND_bytes(buf, sizeof(buf)) != 1)
        return 1;
    base = vmrss_kib();
    if ((qkey = OSSL_PROVIDER_load(NULL, bench_module_path(argv[1]))) == NULL) {
        ERR_print_errors_fp(stderr);
        return 1;
    }
    loaded = vmrss_kib();
    qrng = EVP_RAND_fetch(NULL, "QRNG", NULL);
    ctx = qrng != NULL ? EVP_RAND_CTX_new(qrng, NULL) : NULL;
    pctx = EVP_PKEY_CTX_new_from_name(NULL, "X25519-QKD", NULL);
    if (ctx == NULL || !EVP_RAND_instantiate(ctx, 256, 0, NULL, 0, NULL) ||
        !EVP_RAND_generate(ctx, buf, sizeof(buf), 256, 0, NULL, 0) || pctx == NULL ||
        EVP_PKEY_keygen_init(pctx) <= 0 || EVP_PKEY_keygen(pctx, &key) <= 0) {
        ERR_print_errors_fp(stderr);
        return 1;
    }
    used = vmrss_kib();
    printf("VmRSS with the default provider:        %6ld KiB\n", base);
    printf("  + qkey.so loaded (sim driver, sim RNG): %6ld KiB (+%ld KiB)\n", loaded,
           loaded - base);
    printf("  + first use (QRNG draw, KEM key pair):  %6ld KiB (+%ld KiB)\n", used, used - base);
    printf("added by qkey: %.2f MiB (target <= 4 MiB)\n", (double)(used - base) / 1024);
    EVP_PKEY_free(key);
    EVP_PKEY_CTX_free(pctx);
    EVP_RAND_CTX_free(ctx);
    EVP_RAND_free(qrng);
    OSSL_PROVIDER_unload(qkey);
    OSSL_PROVIDER_unload(def);
    bench_rmdir(dir);
    return 0;
}
