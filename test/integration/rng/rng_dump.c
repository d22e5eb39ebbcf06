/*
 * rng_dump: write N bytes of qhw_rng_generate output to stdout, for the statistical batteries
 * (rngtest, dieharder) in this directory, then the pipeline's status JSON to stderr when
 * QKEY_RNG_STATUS is set. Usage: rng_dump BYTES [rng.KEY=VALUE ...]
 * Requests go in 4,096-byte calls, as a consumer of the pipeline would make them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qhw.h"

int main(int argc, char **argv)
{
    QKS_CONFIG *cfg = qks_config_new();
    QHW_RNG *rng = NULL;
    unsigned char buf[4096];
    long long left;
    int rc;

    if (argc < 2 || (left = atoll(argv[1])) <= 0 || cfg == NULL) {
        fprintf(stderr, "usage: rng_dump BYTES [rng.KEY=VALUE ...]\n");
        return 2;
    }
    for (int i = 2; i < argc; i++) {
        char *eq = strchr(argv[i], '=');
        if (eq == NULL) {
            fprintf(stderr, "rng_dump: expected KEY=VALUE, got %s\n", argv[i]);
            return 2;
        }
        *eq = '\0';
        qks_config_set(cfg, argv[i], eq + 1);
    }
    if ((rc = qhw_rng_open(cfg, &rng)) != QKS_OK) {
        fprintf(stderr, "rng_dump: open: %d: %s\n", rc, qks_last_error());
        return 1;
    }
    while (left > 0) {
        size_t n = left > (long long)sizeof(buf) ? sizeof(buf) : (size_t)left;
        if ((rc = qhw_rng_generate(rng, buf, n)) != QKS_OK) {
            fprintf(stderr, "rng_dump: generate: %d: %s\n", rc, qks_last_error());
            break;
        }
        if (fwrite(buf, 1, n, stdout) != n)
            break;
        left -= (long long)n;
    }
    if (getenv("QKEY_RNG_STATUS") != NULL) {
        json_t *st = json_object();
        char *txt;
        qhw_rng_status(rng, st);
        txt = json_dumps(st, JSON_INDENT(1) | JSON_REAL_PRECISION(6));
        fprintf(stderr, "%s\n", txt ? txt : "{}");
        free(txt);
        json_decref(st);
    }
    qhw_rng_free(rng);
    qks_config_free(cfg);
    return left == 0 ? 0 : 1;
}
