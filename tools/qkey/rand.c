/*
 * qkey rand N: N bytes of the quantum RNG pipeline (qks_random) to stdout, in chunks, from a
 * locked buffer that is wiped after each write. Fails closed: the first health, device or
 * entropy error ends the output and the exit code is 1, with the pipeline's reason.
 */
#include <string.h>
#include <unistd.h>

#include "qkey/secmem.h"
#include "qkey_cli.h"

#define RAND_CHUNK 65536
#define RAND_MAX_N                                                                                 \
    (UINT64_C(1) << 40) /* 1 TiB: a bound against typos, not a limit of the pipeline */

static void rand_usage(FILE *out)
{
    fprintf(out, "usage: qkey rand [--conf FILE] N\n"
                 "  N bytes of the quantum RNG pipeline to stdout (suffix k, M, G: binary units).\n"
                 "  Exit code 1, with the health test's reason, when the source fails.\n");
}

int qkey_cmd_rand(const QKEY_OPTS *gopts, int argc, char **argv)
{
    QKEY_OPTS opts = *gopts;
    char *pos[1];
    int npos, rc, ret = QKEY_EXIT_FAIL;
    uint64_t n, done = 0;
    QKS_CTX *ctx = NULL;
    unsigned char *buf = NULL;

    rc = qkey_parse_args(argc, argv, NULL, &opts, pos, 1, &npos);
    if (rc < 0) {
        rand_usage(stdout);
        return QKEY_EXIT_OK;
    }
    if (rc != QKEY_EXIT_OK || npos != 1) {
        rand_usage(stderr);
        return QKEY_EXIT_USAGE;
    }
    if (!qkey_parse_count(pos[0], RAND_MAX_N, &n)) {
        fprintf(stderr, "qkey rand: '%s' is not a byte count (1 .. 2^40, suffix k, M, G)\n",
                pos[0]);
        return QKEY_EXIT_USAGE;
    }
    if (!qkey_open(&opts, &ctx))
        return QKEY_EXIT_FAIL;
    buf = qks_secure_alloc(RAND_CHUNK);
    if (buf == NULL) {
        qkey_report("rand", QKS_ERR_NOMEM);
        goto done;
    }
    while (done < n) {
        size_t len = n - done < RAND_CHUNK ? (size_t)(n - done) : RAND_CHUNK;
        rc = qks_random(ctx, buf, len);
        if (rc != QKS_OK) {
            char what[96];
            snprintf(what, sizeof(what), "rand: stopped after %llu of %llu bytes",
                     (unsigned long long)done, (unsigned long long)n);
            qkey_report(what, rc);
            goto done;
        }
        /* write(2), not stdio: no copy of the random bytes left in a stdio buffer. */
        if (!qkey_write_all(STDOUT_FILENO, buf, len)) {
            perror("qkey rand: write to stdout");
            goto done;
        }
        qks_wipe(buf, len);
        done += len;
    }
    ret = QKEY_EXIT_OK;
done:
    qks_secure_free(buf, RAND_CHUNK);
    qks_ctx_free(ctx);
    return ret;
}
