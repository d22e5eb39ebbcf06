/*
 * A host program for the etsi014 tests that, unlike `qkey`, leaves SIGPIPE at its default
 * action, as the KMS and HSM clients that load qkey's token do: if the driver ever raised
 * SIGPIPE, this process would die of it (exit status 141 from the shell).
 *   e14_client CONF new PEER          prints KEY_ID
 *   e14_client CONF get PEER KEY_ID   prints "ok"
 * Exit 0 on success, else 100 - QKS_ERR_* (so QKS_ERR_NO_KEY = -7 gives 107); the driver's
 * error detail goes to stderr.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "qkey/qks.h"

int main(int argc, char **argv)
{
    QKS_CONFIG *cfg = qks_config_new();
    QKS_CTX *ctx = NULL;
    QKS_KEY *key = NULL;
    int rc;

    signal(SIGPIPE, SIG_DFL); /* whatever our parent set */
    if (argc < 4 || cfg == NULL)
        return 2;
    if ((rc = qks_config_load_file(cfg, argv[1])) != QKS_OK ||
        (rc = qks_ctx_new(cfg, &ctx)) != QKS_OK) {
        fprintf(stderr, "e14_client: %s\n", qks_last_error());
        return 100 - rc;
    }
    if (strcmp(argv[2], "new") == 0)
        rc = qks_key_new(ctx, argv[3], &key);
    else if (argc == 5)
        rc = qks_key_get(ctx, argv[3], argv[4], &key);
    else
        return 2;
    if (rc != QKS_OK)
        fprintf(stderr, "e14_client: %s\n", qks_last_error());
    else
        printf("%s\n", strcmp(argv[2], "new") == 0 ? key->key_id : "ok");
    qks_key_free(key);
    qks_ctx_free(ctx);
    qks_config_free(cfg);
    return rc == QKS_OK ? 0 : 100 - rc;
}
