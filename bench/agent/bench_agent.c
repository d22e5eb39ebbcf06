/*
 * qkeyd benchmarks, each with its baseline in the same run:
 *  1. full TLS 1.3 handshakes/s in memory (client and server SSL over a BIO pair, one process):
 *     x25519_qkd with keys through two qkeyd agents (etsi014 to a qkey-kme-sim pair, agent A
 *     with its shared pool, qkd.prefetch = 32) against plain x25519, measured round-robin; ratio.
 *  2. the latency of a pooled key: qks_key_new through the agent (qkd.driver = agent), median
 *     and tail over many keys; one in 32 refills the pool from the KME.
 *  3. where a handshake's time goes: a key by ID through agent B (qks_key_get: one dec_keys round
 *     trip to KME B, which no pool can hold) against a pooled key.
 * Everything comes from `qkey-kme-sim init --agent`.
 * Usage: bench_agent PATH/TO/qkey-kme-sim PATH/TO/qkeyd [SECONDS per measurement, default 2]
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "../common/tls_mem.h"

#include "qkey/qks.h"

static char dir[64];

/* DIR/OUT: DIR/IN with the client's own per-peer rate limit lifted (the agent has its own). */
static int write_cnf(const char *in_name, const char *out_name)
{
    char in[128], out[128], line[1024];
    FILE *f, *g;

    snprintf(in, sizeof(in), "%s/%s", dir, in_name);
    snprintf(out, sizeof(out), "%s/%s", dir, out_name);
    if ((f = fopen(in, "r")) == NULL || (g = fopen(out, "w")) == NULL) {
        if (f != NULL)
            fclose(f);
        return 0;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        fputs(line, g);
        if (strncmp(line, "qkd.driver", 10) == 0)
            fprintf(g, "qkd.rate_limit = 1000000\nqkd.rate_burst = 1000000\n");
        else if (strncmp(line, "driver = agent", 14) == 0)
            fprintf(g, "rate_limit = 1000000\nrate_burst = 1000000\n");
    }
    fclose(f);
    return fclose(g) == 0;
}

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

static pid_t spawn(const char *prog, const char *arg1, const char *arg2)
{
    pid_t p = fork();

    if (p == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (freopen("/dev/null", "w", stdout) == NULL || freopen("/dev/null", "w", stderr) == NULL)
            _exit(127);
        execl(prog, prog, arg1, arg2, (char *)NULL);
        _exit(127);
    }
    return p;
}

static int wait_socket(char side)
{
    char path[128];
    struct stat st;

    snprintf(path, sizeof(path), "%s/qkeyd-%c.sock", dir, side);
    for (int i = 0; i < 200; i++) {
        if (stat(path, &st) == 0)
            return 1;
        usleep(25000);
    }
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static QKS_CTX *client(const char *name)
{
    QKS_CONFIG *cfg = qks_config_new();
    QKS_CTX *ctx = NULL;
    char path[128];

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (cfg == NULL || qks_config_load_file(cfg, path) != QKS_OK ||
        qks_ctx_new(cfg, &ctx) != QKS_OK)
        fprintf(stderr, "agent client %s: %s\n", name, qks_last_error());
    qks_config_free(cfg);
    return ctx;
}

/* n keys made through agent A (us_new) and, when us_get is set, fetched by ID through agent B
 * (us_get): latencies in microseconds, each sorted. */
static int key_latency(size_t n, double *us_new, double *us_get)
{
    QKS_CTX *a = client("qkey-a-bench.conf"), *b = us_get ? client("qkey-b-bench.conf") : NULL;
    int ok = a != NULL && (us_get == NULL || b != NULL);

    for (size_t i = 0; ok && i < n + 1; i++) {
        QKS_KEY *k = NULL, *kb = NULL;
        double t0 = bench_now(), t1;
        ok = qks_key_new(a, "SAE_B", &k) == QKS_OK;
        t1 = bench_now();
        if (ok && b != NULL)
            ok = qks_key_get(b, "SAE_A", k->key_id, &kb) == QKS_OK;
        if (i > 0) { /* the first one connects */
            us_new[i - 1] = (t1 - t0) * 1e6;
            if (us_get != NULL)
                us_get[i - 1] = (bench_now() - t1) * 1e6;
        }
        qks_key_free(k);
        qks_key_free(kb);
    }
    if (!ok)
        fprintf(stderr, "keys through the agents: %s\n", qks_last_error());
    qks_ctx_free(a);
    qks_ctx_free(b);
    qsort(us_new, n, sizeof(*us_new), cmp_double);
    if (us_get != NULL)
        qsort(us_get, n, sizeof(*us_get), cmp_double);
    return ok;
}

int main(int argc, char **argv)
{
    double secs = argc > 3 ? atof(argv[3]) : 2.0, plain, qkd, *us = NULL, *ug = NULL;
    OSSL_LIB_CTX *a = NULL, *b = NULL;
    pid_t sim = -1, ag_a = -1, ag_b = -1;
    char cmd[512], conf[128];
    size_t nkeys;
    long rounds;
    int rc = 1;

    if (argc < 3) {
        fprintf(stderr, "usage: %s PATH/TO/qkey-kme-sim PATH/TO/qkeyd [SECONDS]\n", argv[0]);
        return 2;
    }
    snprintf(dir, sizeof(dir), "/tmp/qkey-bench-agent-XXXXXX");
    if (mkdtemp(dir) == NULL || !bench_make_cert())
        return 1;
    snprintf(cmd, sizeof(cmd),
             "'%s' init %s --rate 0 --initial 1000000 --capacity 1000000 --agent --grant root "
             ">/dev/null",
             argv[1], dir);
    if (getuid() != 0) /* the agents serve whoever runs the benchmark */
        snprintf(cmd, sizeof(cmd),
                 "'%s' init %s --rate 0 --initial 1000000 --capacity 1000000 --agent --grant %u "
                 ">/dev/null",
                 argv[1], dir, (unsigned)getuid());
    if (system(cmd) != 0) {
        fprintf(stderr, "qkey-kme-sim init --agent failed\n");
        return 1;
    }
    sim = spawn(argv[1], "run", dir);
    usleep(500 * 1000);
    snprintf(conf, sizeof(conf), "%s/qkeyd-a.conf", dir);
    ag_a = spawn(argv[2], "--conf", conf);
    snprintf(conf, sizeof(conf), "%s/qkeyd-b.conf", dir);
    ag_b = spawn(argv[2], "--conf", conf);
    if (!wait_socket('a') || !wait_socket('b')) {
        fprintf(stderr, "qkeyd did not start\n");
        goto done;
    }
    if (!write_cnf("sae-a.cnf", "sae-a-bench.cnf") || !write_cnf("sae-b.cnf", "sae-b-bench.cnf") ||
        !write_cnf("qkey-a.conf", "qkey-a-bench.conf") ||
        !write_cnf("qkey-b.conf", "qkey-b-bench.conf") || (a = libctx("sae-a-bench.cnf")) == NULL ||
        (b = libctx("sae-b-bench.cnf")) == NULL)
        goto done;
    HS_SETUP hs[2] = {{.srv = a, .cli = b, .group = "x25519"},
                      {.srv = a, .cli = b, .group = "x25519_qkd"}};
    if (!bench_hs_rates(hs, 2, secs * 2, &rounds) || rounds == 0) {
        ERR_print_errors_fp(stderr);
        goto done;
    }
    plain = (double)rounds / hs[0].t;
    qkd = (double)rounds / hs[1].t;
    printf("TLS 1.3 full handshakes/s (in memory, one process, ECDSA P-256 certificate)\n");
    printf("  x25519                                         %8.1f /s\n", plain);
    printf("  x25519_qkd through qkeyd (pool, prefetch 32)   %8.1f /s\n", qkd);
    printf("  ratio x25519_qkd via agent / x25519 = %.3f (target >= 0.7)\n",
           plain > 0 ? qkd / plain : 0);
    nkeys = secs >= 1 ? 20000 : 500;
    if ((us = calloc(nkeys, sizeof(*us))) == NULL || !key_latency(nkeys, us, NULL))
        goto done;
    printf("a key from the agent's pool (qks_key_new, qkd.driver = agent), %zu keys\n", nkeys);
    printf("  median %.1f us, p90 %.1f us, p99 %.1f us, max %.1f us (target: median < 50 us)\n",
           us[nkeys / 2], us[nkeys * 9 / 10], us[nkeys * 99 / 100], us[nkeys - 1]);
    nkeys = nkeys / 10;
    if ((ug = calloc(nkeys, sizeof(*ug))) == NULL || !key_latency(nkeys, us, ug))
        goto done;
    printf("where a handshake's time goes, %zu key pairs (new at agent A, by ID at agent B)\n",
           nkeys);
    printf("  new (pool): median %.1f us; by ID (dec_keys at KME B): median %.1f us, p90 %.1f us\n",
           us[nkeys / 2], ug[nkeys / 2], ug[nkeys * 9 / 10]);
    rc = plain > 0 && qkd > 0 ? 0 : 1;
done:
    free(us);
    free(ug);
    OSSL_LIB_CTX_free(a);
    OSSL_LIB_CTX_free(b);
    for (pid_t *p = (pid_t[]){ag_a, ag_b, sim}, *e = p + 3; p < e; p++)
        if (*p > 0) {
            kill(*p, SIGTERM);
            waitpid(*p, NULL, 0);
        }
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    bench_free_cert();
    return rc;
}
