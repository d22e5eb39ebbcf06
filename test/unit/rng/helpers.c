/* Helpers shared by the RNG unit suites: configs, temp files, random test data. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "helpers.h"

static char tmpdir[256];

static void cleanup(void)
{
    char cmd[300];

    if (tmpdir[0] != '\0') {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", tmpdir);
    }
}

const char *rng_test_dir(void)
{
    if (tmpdir[0] == '\0') {
        snprintf(tmpdir, sizeof(tmpdir), "/tmp/qkey-rng-test-XXXXXX");
        if (mkdtemp(tmpdir) == NULL) {
            perror("mkdtemp");
            exit(2);
        }
        atexit(cleanup);
    }
    return tmpdir;
}

const char *rng_test_file(const char *name, const unsigned char *data, size_t len)
{
    static char paths[4][512];
    static int next;
    char *p = paths[next++ % 4];
    FILE *f;

    snprintf(p, 512, "%s/%s", rng_test_dir(), name);
    if ((f = fopen(p, "wb")) == NULL || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        perror(p);
        exit(2);
    }
    return p;
}

void rng_test_random(unsigned char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = getrandom(buf, len > 256 ? 256 : len, 0);
        if (n <= 0)
            exit(2);
        buf += n;
        len -= (size_t)n;
    }
}

static QKS_CONFIG *vconfig(const char *key, va_list ap)
{
    QKS_CONFIG *cfg = qks_config_new();

    while (cfg != NULL && key != NULL) {
        const char *val = va_arg(ap, const char *);
        qks_config_set(cfg, key, val);
        key = va_arg(ap, const char *);
    }
    return cfg;
}

QKS_CONFIG *rng_test_config(const char *key, ...)
{
    va_list ap;
    QKS_CONFIG *cfg;

    va_start(ap, key);
    cfg = vconfig(key, ap);
    va_end(ap);
    return cfg;
}

int rng_test_open(QHW_RNG **out, const char *key, ...)
{
    va_list ap;
    QKS_CONFIG *cfg;
    int rc;

    va_start(ap, key);
    cfg = vconfig(key, ap);
    va_end(ap);
    rc = qhw_rng_open(cfg, out);
    qks_config_free(cfg);
    return rc;
}
