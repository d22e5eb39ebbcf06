/*
 * A long-lived client of qkeyd for the restart test: one key-source context (qkd.driver =
 * agent) asks for keys in a loop for SECONDS and prints one line per attempt, "ok KEY_ID" or
 * "err CODE DETAIL", continuing after failures, so a test sees the same process fail while the
 * agent is down and recover once it is back. It first forks a child that takes keys through
 * the inherited context (the child must open its own connection, never use the parent's).
 * No key material is printed. Usage: agent_load CONF PEER SECONDS
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "qkey/qks.h"

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int one(QKS_CTX *ctx, const char *peer, const char *who)
{
    QKS_KEY *k = NULL;
    int rc = qks_key_new(ctx, peer, &k);

    if (rc == QKS_OK)
        printf("%sok %s\n", who, k->key_id);
    else
        printf("%serr %d %s\n", who, rc, qks_last_error());
    fflush(stdout);
    qks_key_free(k);
    return rc;
}

int main(int argc, char **argv)
{
    QKS_CONFIG *cfg = qks_config_new();
    QKS_CTX *ctx = NULL;
    double end;
    pid_t child;
    int status = 0;

    if (argc != 4 || cfg == NULL || qks_config_load_file(cfg, argv[1]) != QKS_OK ||
        qks_ctx_new(cfg, &ctx) != QKS_OK) {
        fprintf(stderr, "agent_load: %s\n",
                argc != 4 ? "usage: agent_load CONF PEER SECONDS" : qks_last_error());
        return 2;
    }
    qks_config_free(cfg);
    (void)one(ctx, argv[2], ""); /* the parent's connection exists before the fork */
    if ((child = fork()) == 0) {
        int bad = 0;
        for (int i = 0; i < 5; i++)
            bad |= one(ctx, argv[2], "child ") != QKS_OK;
        qks_ctx_free(ctx);
        _exit(bad);
    }
    waitpid(child, &status, 0);
    printf("child exit %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : 128);
    end = now() + atof(argv[3]);
    while (now() < end) {
        /* 5 ms between keys keeps the sim link's store (2,048 slots) from filling up; 20 ms
         * after a failure (agent down) */
        usleep(one(ctx, argv[2], "") == QKS_OK ? 5000 : 20000);
    }
    qks_ctx_free(ctx);
    return 0;
}
