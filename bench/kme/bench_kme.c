/*
 * KME benchmarks, each with its baseline in the same run:
 *  1. full TLS 1.3 handshakes/s in memory (client and server SSL over a BIO pair, one process):
 *     x25519_qkd with every key fetched over loopback HTTPS (mTLS, keep-alive) from a
 *     qkey-kme-sim pair (enc_keys at KME A, dec_keys at KME B) against plain x25519; ratio.
 *  2. ETSI 014 requests/s the simulator serves over mTLS with keep-alive, through the etsi014
 *     driver: enc_keys + dec_keys of one key, and of 64 keys per request.
 * The two libssl sides load the files `qkey-kme-sim init` writes (sae-a.cnf, sae-b.cnf).
 * Usage: bench_kme PATH/TO/qkey-kme-sim [SECONDS per measurement, default 2]
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "../common/tls_mem.h"

#include "qhw.h"

static char dir[64];

static OSSL_LIB_CTX *libctx(const char *cnf)
{
    OSSL_LIB_CTX *lib = OSSL_LIB_CTX_new();
    char path[128];

    snprintf(path, sizeof(path), "%s/%s", dir, cnf);
    if (lib == NULL || !OSSL_LIB_CTX_load_config(lib, path)) {
        ERR_print_errors_fp(stderr);
        OSSL_LIB_CTX_free(lib);
        return NULL;
    }
    return lib;
}

/*
 * DIR/OUT: sae-a.cnf with `extra` added to the qkey section. The benchmark lifts the per-peer
 * rate limit on new keys (default 200/s, burst 400), which would otherwise end a measurement
 * with "over its key rate limit" at about 400 handshakes/s.
 */
static int write_cnf(const char *name, const char *extra)
{
    char in[128], out[128], line[1024];
    FILE *f, *g;

    snprintf(in, sizeof(in), "%s/sae-a.cnf", dir);
    snprintf(out, sizeof(out), "%s/%s", dir, name);
    if ((f = fopen(in, "r")) == NULL || (g = fopen(out, "w")) == NULL) {
        if (f != NULL)
            fclose(f);
        return 0;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        fputs(line, g);
        if (strncmp(line, "qkd.driver", 10) == 0)
            fprintf(g, "qkd.rate_limit = 1000000\nqkd.rate_burst = 1000000\n%s", extra);
    }
    fclose(f);
    return fclose(g) == 0;
}

static int kme_port(const char *name)
{
    char path[128], line[256], key[64];
    FILE *f;
    int v, port = 0;

    snprintf(path, sizeof(path), "%s/kme.conf", dir);
    if ((f = fopen(path, "r")) == NULL)
        return 0;
    while (fgets(line, sizeof(line), f) != NULL)
        if (sscanf(line, "%63s = %d", key, &v) == 2 && strcmp(key, name) == 0)
            port = v;
    fclose(f);
    return port;
}

static QHW_QKD *driver(char side)
{
    QKS_CONFIG *cfg = qks_config_new();
    QHW_QKD *d = NULL;
    char v[256];

    qks_config_set(cfg, "qkd.driver", "etsi014");
    qks_config_set(cfg, "qkd.sae_id", side == 'a' ? "SAE_A" : "SAE_B");
    qks_config_set(cfg, "qkd.peers", side == 'a' ? "SAE_B" : "SAE_A");
    snprintf(v, sizeof(v), "https://127.0.0.1:%d", kme_port(side == 'a' ? "port_a" : "port_b"));
    qks_config_set(cfg, "qkd.kme_url", v);
    snprintf(v, sizeof(v), "%s/ca.pem", dir);
    qks_config_set(cfg, "qkd.ca", v);
    snprintf(v, sizeof(v), "%s/sae-%c.pem", dir, side);
    qks_config_set(cfg, "qkd.cert", v);
    snprintf(v, sizeof(v), "%s/sae-%c.key", dir, side);
    qks_config_set(cfg, "qkd.key", v);
    if (qhw_qkd_find("etsi014")->open(cfg, &d) != QKS_OK)
        fprintf(stderr, "etsi014: %s\n", qks_last_error());
    qks_config_free(cfg);
    return d;
}

/* enc_keys at A + dec_keys at B of `batch` keys, repeated for `seconds`: requests/s, keys/s */
static void kme_rate(QHW_QKD *a, QHW_QKD *b, size_t batch, double seconds, double *req_s,
                     double *keys_s)
{
    QKS_KEY *ka[64], *kb[64];
    const char *ids[64];
    double t0 = bench_now(), t = t0;
    long pairs = 0;

    *req_s = *keys_s = 0;
    do {
        if (a->meth->enc_keys(a, "SAE_B", 32, batch, ka) != QKS_OK) {
            fprintf(stderr, "enc_keys: %s\n", qks_last_error());
            return;
        }
        for (size_t i = 0; i < batch; i++)
            ids[i] = ka[i]->key_id;
        if (b->meth->dec_keys(b, "SAE_A", ids, batch, kb) != QKS_OK) {
            fprintf(stderr, "dec_keys: %s\n", qks_last_error());
            return;
        }
        for (size_t i = 0; i < batch; i++) {
            qks_key_free(ka[i]);
            qks_key_free(kb[i]);
        }
        pairs++;
        t = bench_now();
    } while (t - t0 < seconds);
    *req_s = 2.0 * (double)pairs / (t - t0);
    *keys_s = (double)pairs * (double)batch / (t - t0);
}

int main(int argc, char **argv)
{
    double secs = argc > 2 ? atof(argv[2]) : 2.0, plain, qkd, qkd_pf, r1, k1, r64, k64;
    OSSL_LIB_CTX *a, *b, *apf;
    QHW_QKD *da, *db;
    pid_t sim;
    char cmd[512];
    int rc = 1;

    if (argc < 2) {
        fprintf(stderr, "usage: %s PATH/TO/qkey-kme-sim [SECONDS]\n", argv[0]);
        return 2;
    }
    snprintf(dir, sizeof(dir), "/tmp/qkey-bench-kme-XXXXXX");
    if (mkdtemp(dir) == NULL || !bench_make_cert())
        return 1;
    snprintf(cmd, sizeof(cmd),
             "'%s' init %s --rate 0 --initial 1000000 --capacity 1000000 >/dev/null", argv[1], dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "qkey-kme-sim init failed\n");
        return 1;
    }
    if ((sim = fork()) == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (freopen("/dev/null", "w", stdout) == NULL)
            _exit(127);
        execl(argv[1], argv[1], "run", dir, (char *)NULL);
        _exit(127);
    }
    usleep(500 * 1000);
    if (!write_cnf("sae-a-bench.cnf", "") ||
        !write_cnf("sae-a-prefetch.cnf", "qkd.prefetch = 32\n") ||
        (a = libctx("sae-a-bench.cnf")) == NULL || (b = libctx("sae-b.cnf")) == NULL ||
        (apf = libctx("sae-a-prefetch.cnf")) == NULL)
        goto done;
    HS_SETUP hs[3] = {{.srv = a, .cli = b, .group = "x25519"},
                      {.srv = a, .cli = b, .group = "x25519_qkd"},
                      {.srv = apf, .cli = b, .group = "x25519_qkd"}};
    long rounds;
    if (!bench_hs_rates(hs, 3, secs * 2, &rounds) || rounds == 0) {
        ERR_print_errors_fp(stderr);
        goto done;
    }
    plain = (double)rounds / hs[0].t;
    qkd = (double)rounds / hs[1].t;
    qkd_pf = (double)rounds / hs[2].t;
    printf("TLS 1.3 full handshakes/s (in memory, one process, ECDSA P-256 certificate)\n");
    printf("  x25519                         %8.1f /s\n", plain);
    printf("  x25519_qkd via KME pair (HTTPS) %8.1f /s\n", qkd);
    printf("  x25519_qkd, server qkd.prefetch = 32 %8.1f /s\n", qkd_pf);
    printf("  ratio x25519_qkd / x25519 = %.3f (target >= 0.5)\n", plain > 0 ? qkd / plain : 0);
    printf("  ratio x25519_qkd (prefetch) / x25519 = %.3f\n", plain > 0 ? qkd_pf / plain : 0);
    if ((da = driver('a')) == NULL || (db = driver('b')) == NULL)
        goto done;
    kme_rate(da, db, 1, secs, &r1, &k1);
    kme_rate(da, db, 64, secs, &r64, &k64);
    printf("ETSI 014 requests/s served by qkey-kme-sim (mTLS, keep-alive, etsi014 driver)\n");
    printf("  enc_keys+dec_keys, 1 key each    %8.1f requests/s  %9.1f keys/s\n", r1, k1);
    printf("  enc_keys+dec_keys, 64 keys each  %8.1f requests/s  %9.1f keys/s\n", r64, k64);
    printf("  ratio keys/s 64-key batches / single keys = %.1f\n", k1 > 0 ? k64 / k1 : 0);
    da->meth->close(da);
    db->meth->close(db);
    rc = plain > 0 && qkd > 0 && r1 > 0 ? 0 : 1;
    OSSL_LIB_CTX_free(a);
    OSSL_LIB_CTX_free(b);
    OSSL_LIB_CTX_free(apf);
done:
    kill(sim, SIGTERM);
    waitpid(sim, NULL, 0);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    bench_free_cert();
    return rc;
}
