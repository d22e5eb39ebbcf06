/*
 * qkey key new PEER / qkey key get PEER KEY_ID: one QKD key by hand (ETSI GS QKD 014 enc_keys
 * and dec_keys through the key source). Both PRINT THE KEY: it is a secret, meant for tests,
 * demos and piping into a program that consumes it. The hex text lives in locked memory and is
 * written with write(2), so no copy stays in a stdio buffer.
 */
#include <string.h>
#include <unistd.h>

#include "qkey/secmem.h"
#include "qkey_cli.h"

static void key_usage(FILE *out)
{
    fprintf(out,
            "usage: qkey key new [--conf FILE] PEER\n"
            "       qkey key get [--conf FILE] PEER KEY_ID\n"
            "  new: make a QKD key shared with PEER (an SAE ID in qkd.peers); prints\n"
            "       'KEY_ID KEY_HEX' on one line\n"
            "  get: fetch the key that PEER made for us under KEY_ID; prints 'KEY_HEX'\n"
            "  The printed key is a SECRET: keep the output private. A key is delivered once:\n"
            "  a second get of the same KEY_ID fails.\n");
}

/* Print "[KEY_ID ]HEX\n" from locked memory. */
static int print_key(const QKS_KEY *key, int with_id)
{
    static const char digits[] = "0123456789abcdef";
    size_t idlen = with_id ? strlen(key->key_id) + 1 : 0;
    size_t n = idlen + 2 * key->len + 1;
    char *line = qks_secure_alloc(n);
    int ok;

    if (line == NULL) {
        qkey_report("key", QKS_ERR_NOMEM);
        return 0;
    }
    if (with_id) {
        memcpy(line, key->key_id, idlen - 1);
        line[idlen - 1] = ' ';
    }
    for (size_t i = 0; i < key->len; i++) {
        line[idlen + 2 * i] = digits[key->key[i] >> 4];
        line[idlen + 2 * i + 1] = digits[key->key[i] & 15];
    }
    line[n - 1] = '\n';
    ok = qkey_write_all(STDOUT_FILENO, line, n);
    qks_secure_free(line, n);
    if (!ok)
        perror("qkey key: write to stdout");
    return ok;
}

int qkey_cmd_key(const QKEY_OPTS *gopts, int argc, char **argv)
{
    QKEY_OPTS opts = *gopts;
    char *pos[3];
    int npos, rc, ret = QKEY_EXIT_FAIL, is_new;
    QKS_CTX *ctx = NULL;
    QKS_KEY *key = NULL;
    char what[160];

    rc = qkey_parse_args(argc, argv, NULL, &opts, pos, 3, &npos);
    if (rc < 0) {
        key_usage(stdout);
        return QKEY_EXIT_OK;
    }
    if (rc != QKEY_EXIT_OK || npos < 1) {
        key_usage(stderr);
        return QKEY_EXIT_USAGE;
    }
    is_new = strcmp(pos[0], "new") == 0;
    if (!(is_new && npos == 2) && !(strcmp(pos[0], "get") == 0 && npos == 3)) {
        key_usage(stderr);
        return QKEY_EXIT_USAGE;
    }
    /* Outside input: refuse malformed IDs before anything is opened or requested. */
    if (!qks_valid_sae_id(pos[1])) {
        fprintf(stderr, "qkey key: '%s' is not a valid SAE ID (1-%d of A-Z a-z 0-9 . _ : @ -)\n",
                pos[1], QKS_SAE_ID_MAX);
        return QKEY_EXIT_USAGE;
    }
    if (!is_new && !qks_valid_key_id(pos[2])) {
        fprintf(stderr, "qkey key: '%s' is not a valid key ID (a UUID)\n", pos[2]);
        return QKEY_EXIT_USAGE;
    }
    if (!qkey_open(&opts, &ctx))
        return QKEY_EXIT_FAIL;
    if (is_new) {
        rc = qks_key_new(ctx, pos[1], &key);
        snprintf(what, sizeof(what), "key new for %s", pos[1]);
    } else {
        rc = qks_key_get(ctx, pos[1], pos[2], &key);
        snprintf(what, sizeof(what), "key get %s from %s", pos[2], pos[1]);
    }
    if (rc != QKS_OK) {
        qkey_report(what, rc);
        goto done;
    }
    if (isatty(STDOUT_FILENO))
        fprintf(stderr, "qkey: the line below is a secret key; clear your terminal after use\n");
    if (print_key(key, is_new))
        ret = QKEY_EXIT_OK;
done:
    qks_key_free(key);
    qks_ctx_free(ctx);
    return ret;
}
