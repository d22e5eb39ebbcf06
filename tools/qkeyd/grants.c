/*
 * Who may ask qkeyd for what. agent.grant.<peer SAE> lists the users (name or uid), @groups and
 * `*` that may have keys shared with that peer (new keys and keys by ID); agent.random lists
 * those that may have random bytes. Names are resolved to ids once, at start-up: a name that
 * does not exist is a configuration error, not a silent refusal later. A client is identified
 * by the kernel (SO_PEERCRED) and matched by uid, primary gid and supplementary groups.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "qkeyd.h"

#define GRANT_PREFIX "agent.grant."

static int parse_uint(const char *s, unsigned *out)
{
    char *end;
    unsigned long v;

    if (*s < '0' || *s > '9')
        return 0;
    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno != 0 || *end != '\0' || v > 0x7fffffffUL)
        return 0;
    *out = (unsigned)v;
    return 1;
}

/* One token of a grant list into w; 0 and a reason when it names nobody. */
static int resolve(const char *key, const char *tok, QKD_WHO *w, char *why, size_t why_len)
{
    char buf[4096];

    if (strcmp(tok, "*") == 0) {
        w->kind = QKD_WHO_ANY;
        return 1;
    }
    if (tok[0] == '@') {
        struct group gr, *res = NULL;
        if (parse_uint(tok + 1, &w->id)) {
            w->kind = QKD_WHO_GID;
            return 1;
        }
        if (getgrnam_r(tok + 1, &gr, buf, sizeof(buf), &res) != 0 || res == NULL) {
            snprintf(why, why_len, "%s: no group named '%s' on this host", key, tok + 1);
            return 0;
        }
        w->kind = QKD_WHO_GID;
        w->id = (unsigned)gr.gr_gid;
        return 1;
    }
    struct passwd pw, *res = NULL;
    if (parse_uint(tok, &w->id)) {
        w->kind = QKD_WHO_UID;
        return 1;
    }
    if (getpwnam_r(tok, &pw, buf, sizeof(buf), &res) != 0 || res == NULL) {
        snprintf(why, why_len, "%s: no user named '%s' on this host (groups are written @name)",
                 key, tok);
        return 0;
    }
    w->kind = QKD_WHO_UID;
    w->id = (unsigned)pw.pw_uid;
    return 1;
}

static int acl_parse(const char *key, const char *list, QKD_ACL *a, char *why, size_t why_len)
{
    char *copy, *save = NULL;
    int ok = 1;

    a->who = NULL;
    a->n = 0;
    if (list == NULL)
        return 1;
    if ((copy = strdup(list)) == NULL) {
        snprintf(why, why_len, "out of memory");
        return 0;
    }
    for (char *tok = strtok_r(copy, " \t,", &save); tok != NULL && ok;
         tok = strtok_r(NULL, " \t,", &save)) {
        QKD_WHO *nw = realloc(a->who, (a->n + 1) * sizeof(*nw));
        if (nw == NULL) {
            snprintf(why, why_len, "out of memory");
            ok = 0;
            break;
        }
        a->who = nw;
        if ((ok = resolve(key, tok, &a->who[a->n], why, why_len)))
            a->n++;
    }
    free(copy);
    return ok;
}

/* 1 if SAE ID `sae` is listed in qkd.peers. */
static int in_peers(const char *peers, const char *sae)
{
    size_t n = strlen(sae);

    for (const char *p = peers; p != NULL && *p != '\0';) {
        p += strspn(p, " \t,");
        size_t len = strcspn(p, " \t,");
        if (len == n && strncmp(p, sae, n) == 0)
            return 1;
        p += len;
    }
    return 0;
}

int qkd_grants_load(const QKS_CONFIG *cfg, QKD_GRANTS *g, char *why, size_t why_len)
{
    const char *peers = qks_config_get(cfg, "qkd.peers"), *key;
    const size_t plen = strlen(GRANT_PREFIX);

    memset(g, 0, sizeof(*g));
    for (size_t i = 0; (key = qks_config_key_at(cfg, i)) != NULL; i++) {
        const char *sae = key + plen;
        QKD_PEER_GRANT *np;

        if (strncmp(key, GRANT_PREFIX, plen) != 0)
            continue;
        if (!qks_valid_sae_id(sae) || !in_peers(peers, sae)) {
            snprintf(why, why_len, "%s: %s is not a peer in qkd.peers (%s)", key, sae,
                     peers != NULL ? peers : "empty");
            goto err;
        }
        if ((np = realloc(g->peers, (g->npeers + 1) * sizeof(*np))) == NULL) {
            snprintf(why, why_len, "out of memory");
            goto err;
        }
        g->peers = np;
        memset(&np[g->npeers], 0, sizeof(*np));
        snprintf(np[g->npeers].sae_id, sizeof(np[g->npeers].sae_id), "%s", sae);
        g->npeers++;
        if (!acl_parse(key, qks_config_get(cfg, key), &np[g->npeers - 1].acl, why, why_len))
            goto err;
    }
    if (!acl_parse("agent.random", qks_config_get(cfg, "agent.random"), &g->random, why, why_len))
        goto err;
    return QKS_OK;
err:
    qkd_grants_free(g);
    return QKS_ERR_CONFIG;
}

void qkd_grants_free(QKD_GRANTS *g)
{
    for (size_t i = 0; i < g->npeers; i++)
        free(g->peers[i].acl.who);
    free(g->peers);
    free(g->random.who);
    memset(g, 0, sizeof(*g));
}

int qkd_client_from_fd(int fd, QKD_CLIENT *c)
{
    struct ucred cr;
    socklen_t len = sizeof(cr);
    struct passwd pw, *res = NULL;
    char buf[4096];

    memset(c, 0, sizeof(*c));
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0)
        return -1;
    c->pid = cr.pid;
    c->uid = cr.uid;
    c->gid = cr.gid;
    c->groups[0] = cr.gid;
    c->ngroups = 1;
    if (getpwuid_r(cr.uid, &pw, buf, sizeof(buf), &res) == 0 && res != NULL) {
        int n = (int)(sizeof(c->groups) / sizeof(c->groups[0]));
        snprintf(c->user, sizeof(c->user), "%s", pw.pw_name);
        /* the user's groups as the group database has them now (as a login would get them) */
        if (getgrouplist(pw.pw_name, cr.gid, c->groups, &n) >= 0)
            c->ngroups = n;
    } else {
        snprintf(c->user, sizeof(c->user), "%u", (unsigned)cr.uid);
    }
    return 0;
}

static int acl_allows(const QKD_ACL *a, const QKD_CLIENT *c)
{
    for (size_t i = 0; i < a->n; i++) {
        const QKD_WHO *w = &a->who[i];
        if (w->kind == QKD_WHO_ANY || (w->kind == QKD_WHO_UID && w->id == (unsigned)c->uid))
            return 1;
        if (w->kind == QKD_WHO_GID)
            for (int j = 0; j < c->ngroups; j++)
                if ((unsigned)c->groups[j] == w->id)
                    return 1;
    }
    return 0;
}

int qkd_may_key(const QKD_GRANTS *g, const QKD_CLIENT *c, const char *peer)
{
    for (size_t i = 0; i < g->npeers; i++)
        if (strcmp(g->peers[i].sae_id, peer) == 0)
            return acl_allows(&g->peers[i].acl, c);
    return 0;
}

int qkd_may_random(const QKD_GRANTS *g, const QKD_CLIENT *c)
{
    return acl_allows(&g->random, c);
}

/* The status (counters of every user, pool levels) is for root and for whoever holds a grant. */
int qkd_may_status(const QKD_GRANTS *g, const QKD_CLIENT *c)
{
    if (c->uid == 0 || qkd_may_random(g, c))
        return 1;
    for (size_t i = 0; i < g->npeers; i++)
        if (acl_allows(&g->peers[i].acl, c))
            return 1;
    return 0;
}

void qkd_acl_describe(const QKD_ACL *a, char *out, size_t cap)
{
    size_t used = 0;

    out[0] = '\0';
    if (a->n == 0) {
        snprintf(out, cap, "nobody");
        return;
    }
    for (size_t i = 0; i < a->n && used < cap; i++) {
        const QKD_WHO *w = &a->who[i];
        int k;
        if (w->kind == QKD_WHO_ANY)
            k = snprintf(out + used, cap - used, "%s*", i ? ", " : "");
        else
            k = snprintf(out + used, cap - used, "%s%s%u", i ? ", " : "",
                         w->kind == QKD_WHO_GID ? "gid " : "uid ", w->id);
        if (k < 0)
            break;
        used += (size_t)k;
    }
}
