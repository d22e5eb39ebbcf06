/*
 * qkey inject ARGS...: runs qkey-inject (the token part's tool that copies QKD keys into a
 * PKCS#11 token the user already has), found next to this executable or on PATH. --conf is
 * passed on as QKEY_CONF.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qkey_cli.h"

int qkey_cmd_inject(const QKEY_OPTS *opts, int argc, char **argv)
{
    char dir[PATH_MAX], path[PATH_MAX + 32];

    if (opts->conf != NULL && setenv("QKEY_CONF", opts->conf, 1) != 0) {
        perror("qkey inject: setenv");
        return QKEY_EXIT_FAIL;
    }
    argv[0] = "qkey-inject";
    if (qkt_exe_dir(dir, sizeof(dir))) {
        snprintf(path, sizeof(path), "%s/qkey-inject", dir);
        if (access(path, X_OK) == 0) {
            execv(path, argv);
            fprintf(stderr, "qkey inject: cannot run %s: %s\n", path, strerror(errno));
            return QKEY_EXIT_FAIL;
        }
    }
    execvp("qkey-inject", argv);
    fprintf(stderr,
            "qkey inject: qkey-inject is not installed (%s): it ships with the PKCS#11 "
            "token part\n",
            strerror(errno));
    (void)argc; /* argv is NULL-terminated; execv needs no count */
    return QKEY_EXIT_FAIL;
}
