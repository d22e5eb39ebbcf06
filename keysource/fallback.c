/*
 * The fallback policy (docs/fallback.md): who may complete a hybrid handshake without a QKD key
 * (qkd.fallback on the server, qkd.accept_fallback on the client), and the record of every
 * time it happened: a per-peer counter in this process and, with qkd.fallback_log, one line per
 * fallback appended to a file, which `qkey status` counts across processes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

int qks_ctx_fallback(const QKS_CTX *ctx)
{
    return ctx != NULL && ctx->fallback;
}

int qks_ctx_accept_fallback(const QKS_CTX *ctx)
{
    return ctx != NULL && ctx->accept_fallback;
}

void qks_fallback_note(QKS_CTX *ctx, const char *peer, int as_server, const char *cause)
{
    QKS_PEER *p;
    char line[256], when[32];
    struct tm tm;
    time_t now = time(NULL);
    int fd, n;

    if (ctx == NULL)
        return;
    if ((p = qks_ctx_peer(ctx, peer)) != NULL) {
        qks_lock(&ctx->lock);
        p->fallbacks++;
        qks_unlock(&ctx->lock);
    }
    if (ctx->fallback_log[0] == '\0')
        return;
    gmtime_r(&now, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    /* one write(2) per line with O_APPEND: lines from many processes do not interleave */
    n = snprintf(line, sizeof(line), "%s pid=%ld sae=%s peer=%s role=%s cause=%s\n", when,
                 (long)getpid(), ctx->sae_id, qks_valid_sae_id(peer) ? peer : "?",
                 as_server ? "server" : "client", cause);
    fd = open(ctx->fallback_log, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return; /* the counter above still has it; status shows the log cannot be written */
    if (n > 0 && write(fd, line, (size_t)(n < (int)sizeof(line) ? n : (int)sizeof(line) - 1)) < 0)
        (void)errno; /* nothing more to do: logging must not fail a handshake */
    close(fd);
}

long qks_fallback_logged(const QKS_CTX *ctx, const char *peer)
{
    char pat[QKS_SAE_ID_MAX + 16], *line = NULL;
    size_t cap = 0;
    long count = 0;
    FILE *f;
    int fd;

    if (ctx == NULL || ctx->fallback_log[0] == '\0')
        return -1;
    if ((fd = open(ctx->fallback_log, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
        return errno == ENOENT ? 0 : -1;
    if ((f = fdopen(fd, "r")) == NULL) {
        close(fd);
        return -1;
    }
    snprintf(pat, sizeof(pat), " peer=%s ", peer);
    while (getline(&line, &cap, f) > 0)
        count += strstr(line, pat) != NULL;
    free(line);
    fclose(f);
    return count;
}
