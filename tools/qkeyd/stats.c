/*
 * qkeyd's accounting: counters per user (keys made, keys fetched, random bytes, refusals,
 * errors), the key journal (agent.journal: one line per key handed out, so a restart does not
 * erase the record that no key ID went out twice), and the status every STATUS request,
 * `qkey status` and the Prometheus output are made from. No secret ever reaches any of them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "qkeyd.h"

/* Under a->lock: the entry of uid, made on first use (the last slot absorbs an overflow). */
static QKD_USER_STATS *user_entry(QKD_AGENT *a, const QKD_CLIENT *c)
{
    for (size_t i = 0; i < a->nusers; i++)
        if (a->users[i].uid == c->uid)
            return &a->users[i];
    if (a->nusers == QKD_MAX_USERS)
        return &a->users[QKD_MAX_USERS - 1];
    QKD_USER_STATS *u = &a->users[a->nusers++];
    memset(u, 0, sizeof(*u));
    u->uid = c->uid;
    snprintf(u->user, sizeof(u->user), "%s", c->user);
    return u;
}

void qkd_count(QKD_AGENT *a, const QKD_CLIENT *c, QKD_CNT what, uint64_t n)
{
    pthread_mutex_lock(&a->lock);
    QKD_USER_STATS *u = user_entry(a, c);
    switch (what) {
    case QKD_CNT_NEW:
        u->keys_new += n;
        break;
    case QKD_CNT_GET:
        u->keys_get += n;
        break;
    case QKD_CNT_RANDOM:
        u->random_bytes += n;
        break;
    case QKD_CNT_REFUSED:
        u->refusals += n;
        break;
    case QKD_CNT_ERROR:
        u->errors += n;
        break;
    }
    pthread_mutex_unlock(&a->lock);
}

void qkd_journal(QKD_AGENT *a, const QKD_CLIENT *c, const char *op, const char *peer,
                 const char *key_id)
{
    char line[256];
    int n;

    if (a->journal_fd < 0)
        return;
    n = snprintf(line, sizeof(line), "%lld %u %s %s %s\n", (long long)time(NULL), (unsigned)c->uid,
                 op, peer, key_id);
    /* one write of an O_APPEND file: lines from concurrent clients never interleave; a failed
     * journal write is reported in the status, never a reason to withhold the key */
    if (n > 0 && write(a->journal_fd, line, (size_t)n) != n) {
        pthread_mutex_lock(&a->lock);
        a->journal_failures++;
        pthread_mutex_unlock(&a->lock);
    }
}

static json_t *users_json(QKD_AGENT *a)
{
    json_t *arr = json_array();

    for (size_t i = 0; arr != NULL && i < a->nusers; i++) {
        const QKD_USER_STATS *u = &a->users[i];
        json_array_append_new(
            arr, json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I}", "user", u->user, "uid",
                           (json_int_t)u->uid, "keys_new", (json_int_t)u->keys_new, "keys_get",
                           (json_int_t)u->keys_get, "random_bytes", (json_int_t)u->random_bytes,
                           "refusals", (json_int_t)u->refusals, "errors", (json_int_t)u->errors));
    }
    return arr;
}

char *qkd_status_json(QKD_AGENT *a)
{
    char *ks_text = NULL, *out = NULL;
    json_t *root = json_object(), *ag = json_object(), *ks = NULL;

    if (root == NULL || ag == NULL)
        goto done;
    if (qks_status_json(a->ks, &ks_text) == QKS_OK)
        ks = json_loads(ks_text, 0, NULL);
    free(ks_text);
    pthread_mutex_lock(&a->lock);
    json_object_set_new(ag, "socket", json_string(a->socket_path));
    json_object_set_new(ag, "pid", json_integer(getpid()));
    json_object_set_new(ag, "started", json_integer((json_int_t)a->started));
    json_object_set_new(ag, "clients", json_integer((json_int_t)a->nclients));
    json_object_set_new(ag, "connections", json_integer((json_int_t)a->connections));
    json_object_set_new(ag, "connections_refused",
                        json_integer((json_int_t)a->refused_connections));
    json_object_set_new(ag, "journal_failures", json_integer((json_int_t)a->journal_failures));
    json_object_set_new(ag, "users", users_json(a));
    pthread_mutex_unlock(&a->lock);
    json_object_set_new(ag, "feed", qkd_feed_json(a));
    json_object_set_new(root, "agent", ag);
    ag = NULL;
    json_object_set_new(root, "keysource", ks != NULL ? ks : json_null());
    out = json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS);
done:
    json_decref(ag);
    json_decref(root);
    return out;
}
