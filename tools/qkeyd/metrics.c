/*
 * The agent's figures in the Prometheus text exposition format (version 0.0.4), from the same
 * status object STATUS returns: for node_exporter's textfile collector (agent.metrics_file,
 * rewritten atomically) or `qkeyd --metrics`. One table names every metric.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "qkeyd.h"

typedef struct {
    char *buf;
    size_t len, cap;
} OUT;

static void out_printf(OUT *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void out_printf(OUT *o, const char *fmt, ...)
{
    va_list ap;
    int n;

    for (;;) {
        va_start(ap, fmt);
        n = vsnprintf(o->buf ? o->buf + o->len : NULL, o->buf ? o->cap - o->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0)
            return;
        if (o->buf != NULL && o->len + (size_t)n < o->cap) {
            o->len += (size_t)n;
            return;
        }
        size_t cap = (o->cap + (size_t)n + 1) * 2;
        char *nb = realloc(o->buf, cap);
        if (nb == NULL)
            return;
        o->buf = nb;
        o->cap = cap;
    }
}

/* Label values come from user names and SAE IDs: escape what the format requires. */
static void label(OUT *o, const char *s)
{
    for (; s != NULL && *s; s++) {
        if (*s == '\\' || *s == '"')
            out_printf(o, "\\%c", *s);
        else if (*s == '\n')
            out_printf(o, "\\n");
        else
            out_printf(o, "%c", *s);
    }
}

typedef struct {
    const char *name, *type, *help, *field;
} METRIC;

/* per user: agent.users[] */
static const METRIC user_metrics[] = {
    {"qkeyd_user_keys_new_total", "counter", "keys made for this user (NEW_KEY)", "keys_new"},
    {"qkeyd_user_keys_get_total", "counter", "keys fetched by ID for this user (GET_KEY)",
     "keys_get"},
    {"qkeyd_user_random_bytes_total", "counter", "random bytes served to this user",
     "random_bytes"},
    {"qkeyd_user_refusals_total", "counter", "requests refused: no grant", "refusals"},
    {"qkeyd_user_errors_total", "counter", "requests the key source failed", "errors"},
};
_Static_assert(sizeof(user_metrics) / sizeof(user_metrics[0]) == 5, "user metrics");

/* per peer: keysource.peers[] (pool: link.prefetched, when the driver keeps one) */
static const METRIC peer_metrics[] = {
    {"qkeyd_peer_keys_issued_total", "counter", "keys made with this peer", "keys_issued"},
    {"qkeyd_peer_keys_fetched_total", "counter", "keys fetched by ID from this peer",
     "keys_fetched"},
    {"qkeyd_peer_key_failures_total", "counter", "failed key requests to the link", "key_failures"},
    {"qkeyd_peer_rate_limited_total", "counter", "NEW_KEY refused by qkd.rate_limit",
     "rate_limited"},
};

/* the kernel feed: agent.feed */
static const METRIC feed_metrics[] = {
    {"qkeyd_feed_bytes_total", "counter", "QRNG bytes mixed into the kernel with RNDADDENTROPY",
     "bytes"},
    {"qkeyd_feed_entropy_bits_total", "counter", "entropy credited to the kernel, bits",
     "entropy_bits"},
    {"qkeyd_feed_calls_total", "counter", "RNDADDENTROPY calls", "calls"},
    {"qkeyd_feed_running", "gauge", "1 while the kernel feed runs", "running"},
};

static json_int_t num(const json_t *o, const char *field)
{
    const json_t *v = json_object_get(o, field);

    if (json_is_boolean(v))
        return json_is_true(v);
    return json_is_integer(v) ? json_integer_value(v) : 0;
}

static void family(OUT *o, const METRIC *m)
{
    out_printf(o, "# HELP %s %s\n# TYPE %s %s\n", m->name, m->help, m->name, m->type);
}

char *qkd_metrics_render(const json_t *status)
{
    const json_t *ag = json_object_get(status, "agent"), *ks = json_object_get(status, "keysource");
    const json_t *users = json_object_get(ag, "users"), *peers = json_object_get(ks, "peers");
    const json_t *feed = json_object_get(ag, "feed"), *e;
    OUT o = {NULL, 0, 0};
    size_t i;

    for (size_t m = 0; m < sizeof(user_metrics) / sizeof(user_metrics[0]); m++) {
        family(&o, &user_metrics[m]);
        json_array_foreach(users, i, e)
        {
            out_printf(&o, "%s{user=\"", user_metrics[m].name);
            label(&o, json_string_value(json_object_get(e, "user")));
            out_printf(&o, "\"} %lld\n", (long long)num(e, user_metrics[m].field));
        }
    }
    for (size_t m = 0; m < sizeof(peer_metrics) / sizeof(peer_metrics[0]); m++) {
        family(&o, &peer_metrics[m]);
        json_array_foreach(peers, i, e)
        {
            out_printf(&o, "%s{peer=\"", peer_metrics[m].name);
            label(&o, json_string_value(json_object_get(e, "sae_id")));
            out_printf(&o, "\"} %lld\n", (long long)num(e, peer_metrics[m].field));
        }
    }
    out_printf(&o, "# HELP qkeyd_pool_keys keys waiting in the agent's pool for this peer\n"
                   "# TYPE qkeyd_pool_keys gauge\n");
    json_array_foreach(peers, i, e)
    {
        out_printf(&o, "qkeyd_pool_keys{peer=\"");
        label(&o, json_string_value(json_object_get(e, "sae_id")));
        out_printf(&o, "\"} %lld\n", (long long)num(json_object_get(e, "link"), "prefetched"));
    }
    for (size_t m = 0; m < sizeof(feed_metrics) / sizeof(feed_metrics[0]); m++) {
        family(&o, &feed_metrics[m]);
        out_printf(&o, "%s %lld\n", feed_metrics[m].name,
                   (long long)num(feed, feed_metrics[m].field));
    }
    out_printf(&o,
               "# HELP qkeyd_clients client connections now\n# TYPE qkeyd_clients gauge\n"
               "qkeyd_clients %lld\n",
               (long long)num(ag, "clients"));
    out_printf(&o,
               "# HELP qkeyd_rng_ok 1 when the agent's RNG pipeline is healthy\n"
               "# TYPE qkeyd_rng_ok gauge\nqkeyd_rng_ok %d\n",
               json_is_string(json_object_get(json_object_get(ks, "rng"), "state")) &&
                   strcmp(json_string_value(json_object_get(json_object_get(ks, "rng"), "state")),
                          qks_strerror(QKS_OK)) == 0);
    return o.buf;
}

void qkd_metrics_write(QKD_AGENT *a)
{
    char tmp[4200], *text = NULL, *js;
    json_t *st = NULL;
    int fd;

    if (a->metrics_file == NULL || (js = qkd_status_json(a)) == NULL)
        return;
    st = json_loads(js, 0, NULL);
    free(js);
    if (st == NULL || (text = qkd_metrics_render(st)) == NULL)
        goto done;
    snprintf(tmp, sizeof(tmp), "%s.tmp", a->metrics_file);
    if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0)
        goto done;
    /* node_exporter reads whole files: a partial one is never renamed into place */
    if (write(fd, text, strlen(text)) == (ssize_t)strlen(text) && close(fd) == 0)
        (void)rename(tmp, a->metrics_file); /* a failure leaves the last good file */
    else
        (void)unlink(tmp);
done:
    free(text);
    json_decref(st);
}

int qkd_metrics_listen(QKD_AGENT *a, char *why, size_t why_len)
{
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)a->metrics_port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), on = 1;

    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)); /* restart in TIME_WAIT */
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 16) != 0) {
        snprintf(why, why_len, "agent.metrics_port = %ld: cannot listen on 127.0.0.1: %s",
                 a->metrics_port, strerror(errno));
        if (fd >= 0)
            close(fd);
        return 0;
    }
    a->metrics_fd = fd;
    return 1;
}

/* One HTTP/1.0 exchange, bounded: 4 KiB of request, 1 s each way; GET /metrics or 404. */
void qkd_metrics_answer(QKD_AGENT *a, int fd)
{
    static const char ok[] = "HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n"
                             "Connection: close\r\n\r\n";
    static const char nf[] = "HTTP/1.0 404 Not Found\r\nConnection: close\r\n\r\n"
                             "qkeyd serves /metrics only\n";
    struct timeval tv = {1, 0};
    char req[4096], *text = NULL, *js;
    size_t got = 0;
    json_t *st;

    (void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    while (got < sizeof(req) - 1) {
        ssize_t n = recv(fd, req + got, sizeof(req) - 1 - got, 0);
        if (n <= 0)
            break;
        got += (size_t)n;
        req[got] = '\0';
        if (strstr(req, "\r\n\r\n") != NULL || strstr(req, "\n\n") != NULL)
            break;
    }
    req[got] = '\0';
    if (strncmp(req, "GET /metrics ", 13) != 0 && strncmp(req, "GET /metrics\r", 13) != 0) {
        (void)send(fd, nf, sizeof(nf) - 1, MSG_NOSIGNAL); /* a scraper that gives up is fine */
        return;
    }
    if ((js = qkd_status_json(a)) != NULL && (st = json_loads(js, 0, NULL)) != NULL) {
        text = qkd_metrics_render(st);
        json_decref(st);
    }
    free(js);
    if (text != NULL && send(fd, ok, sizeof(ok) - 1, MSG_NOSIGNAL) == (ssize_t)(sizeof(ok) - 1))
        (void)send(fd, text, strlen(text), MSG_NOSIGNAL);
    free(text);
}
