/*
 * qkeyd: start-up and the accept loop.
 *   qkeyd [--conf FILE]            run (foreground; systemd's Type=simple or socket activation)
 *   qkeyd --check [--conf] FILE    validate the configuration, open the key source (credential
 *                                  files, devices; no network), print what would be served
 *   qkeyd --metrics [--conf FILE]  the running agent's figures in Prometheus text format
 * Before anything is read the process is made non-dumpable (no core, no ptrace by the same
 * user, /proc/PID/mem closed) with RLIMIT_CORE 0: the KME private key and pooled keys live here.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "qkeyd.h"

#define DEFAULT_SOCKET     "/run/qkey/qkeyd.sock"
#define METRICS_PERIOD_SEC 10

static QKD_AGENT *the_agent; /* for the signal handler only */

static void on_signal(int sig)
{
    (void)sig;
    if (the_agent != NULL)
        atomic_store(&the_agent->stop, 1);
}

static void usage(FILE *out)
{
    fprintf(out, "usage: qkeyd [--conf FILE]            serve keys and random bytes to this host\n"
                 "       qkeyd --check [--conf] FILE    validate a configuration and exit\n"
                 "       qkeyd --metrics [--conf FILE]  the running agent's figures (Prometheus)\n"
                 "       qkeyd --help | --version\n"
                 "The configuration is a qkey.conf(5) file with [qkd], [rng] and [agent] "
                 "sections\n(default: $QKEY_CONF, else /etc/qkey/qkey.conf).\n");
}

static void harden(void)
{
    struct rlimit no_core = {0, 0};

    /* no core file, no ptrace attach by the same uid, /proc/PID/mem and environ root-only */
    (void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    (void)setrlimit(RLIMIT_CORE, &no_core);
    signal(SIGPIPE, SIG_IGN); /* our own process: a vanished client must not end the agent */
}

/* Load and validate everything; on failure print the reason and return 0. */
static int agent_open(QKD_AGENT *a, const char *path)
{
    char why[512];
    const char *drv, *journal;
    int rc;

    memset(a, 0, sizeof(*a));
    a->listen_fd = a->journal_fd = a->metrics_fd = -1;
    for (size_t i = 0; i < QKD_MAX_CLIENTS; i++)
        a->client_fds[i] = -1;
    pthread_mutex_init(&a->lock, NULL);
    if ((a->cfg = qks_config_new()) == NULL ||
        (rc = qks_config_load_file(a->cfg, path)) != QKS_OK) {
        fprintf(stderr, "qkeyd: cannot read %s: %s\n", path, qks_last_error());
        return 0;
    }
    drv = qks_config_get(a->cfg, "qkd.driver");
    if (drv != NULL && strcmp(drv, "agent") == 0) {
        fprintf(stderr,
                "qkeyd: %s: qkd.driver = agent is a client's setting; the agent needs "
                "a real driver (etsi014 or sim)\n",
                path);
        return 0;
    }
    if (qks_config_get(a->cfg, "rng.source") != NULL &&
        strcmp(qks_config_get(a->cfg, "rng.source"), "agent") == 0) {
        fprintf(stderr, "qkeyd: %s: rng.source = agent is a client's setting\n", path);
        return 0;
    }
    if (qkd_grants_load(a->cfg, &a->grants, why, sizeof(why)) != QKS_OK ||
        qkd_feed_config(a, why, sizeof(why)) != QKS_OK) {
        fprintf(stderr, "qkeyd: %s: %s\n", path, why);
        return 0;
    }
    a->socket_path = qks_config_get(a->cfg, "agent.socket");
    if (a->socket_path == NULL)
        a->socket_path = DEFAULT_SOCKET;
    if (a->socket_path[0] != '/' ||
        strlen(a->socket_path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
        fprintf(stderr, "qkeyd: agent.socket = '%s': an absolute path under 108 bytes expected\n",
                a->socket_path);
        return 0;
    }
    a->metrics_file = qks_config_get(a->cfg, "agent.metrics_file");
    if (qks_config_get_long(a->cfg, "agent.metrics_port", 0, 1, 65535, &a->metrics_port) !=
        QKS_OK) {
        fprintf(stderr, "qkeyd: %s: agent.metrics_port: a TCP port (1-65535) expected\n", path);
        return 0;
    }
    if ((rc = qks_ctx_new(a->cfg, &a->ks)) != QKS_OK) {
        fprintf(stderr, "qkeyd: %s: cannot open the key source: %s: %s\n", path, qks_strerror(rc),
                qks_last_error());
        return 0;
    }
    if ((journal = qks_config_get(a->cfg, "agent.journal")) != NULL &&
        (a->journal_fd = open(journal, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600)) < 0) {
        fprintf(stderr, "qkeyd: agent.journal = %s: %s\n", journal, strerror(errno));
        return 0;
    }
    return 1;
}

static void agent_close(QKD_AGENT *a)
{
    qks_ctx_free(a->ks); /* wipes every pooled key */
    qkd_grants_free(&a->grants);
    qks_config_free(a->cfg);
    if (a->journal_fd >= 0)
        close(a->journal_fd);
    pthread_mutex_destroy(&a->lock);
}

static void summary(const QKD_AGENT *a)
{
    char acl[512];
    const char *sae = qks_ctx_sae_id(a->ks);

    printf("qkeyd configuration is valid\n");
    printf("  socket:  %s\n", a->socket_path);
    printf("  SAE:     %s (driver %s)\n", sae ? sae : "none",
           qks_config_get(a->cfg, "qkd.driver") ? qks_config_get(a->cfg, "qkd.driver") : "none");
    for (size_t i = 0; i < a->grants.npeers; i++) {
        qkd_acl_describe(&a->grants.peers[i].acl, acl, sizeof(acl));
        printf("  peer %s: keys for %s\n", a->grants.peers[i].sae_id, acl);
    }
    qkd_acl_describe(&a->grants.random, acl, sizeof(acl));
    printf("  random:  %s (rng.source = %s)\n", acl,
           qks_config_get(a->cfg, "rng.source") ? qks_config_get(a->cfg, "rng.source") : "none");
    printf("  feed:    %s\n", strcmp(a->feed.state, "off") == 0 ? "off" : "rng.feed_kernel = yes");
}

/* systemd socket activation (sd_listen_fds(3) protocol, without libsystemd): fd 3. */
static int listen_fd_from_systemd(void)
{
    const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");

    if (pid == NULL || fds == NULL || atol(pid) != (long)getpid() || atoi(fds) < 1)
        return -1;
    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_FDNAMES");
    return 3;
}

static int listen_on(QKD_AGENT *a)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct stat st;
    int fd;

    if ((a->listen_fd = listen_fd_from_systemd()) >= 0)
        return 1;
    strcpy(sa.sun_path, a->socket_path);
    /* the agent unlinks and binds there: a directory another user may write to could swap the
     * path under it (as root) or answer in its place */
    {
        char parent[sizeof(sa.sun_path)];
        snprintf(parent, sizeof(parent), "%s", a->socket_path);
        *strrchr(parent, '/') = '\0';
        if (stat(parent[0] ? parent : "/", &st) != 0 || !S_ISDIR(st.st_mode) ||
            (st.st_uid != 0 && st.st_uid != geteuid()) || (st.st_mode & 0022) != 0) {
            fprintf(stderr,
                    "qkeyd: agent.socket = %s: its directory must exist, belong to root or to "
                    "this user and be writable by no one else (like /run/qkey, mode 0755)\n",
                    a->socket_path);
            return 0;
        }
    }
    if (lstat(a->socket_path, &st) == 0) {
        int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int alive = probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0;
        if (probe >= 0)
            close(probe);
        if (alive) {
            fprintf(stderr, "qkeyd: another agent serves %s\n", a->socket_path);
            return 0;
        }
        if (!S_ISSOCK(st.st_mode)) {
            fprintf(stderr, "qkeyd: %s exists and is not a socket\n", a->socket_path);
            return 0;
        }
        (void)unlink(a->socket_path); /* a stale socket of an agent that died */
    }
    if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
        bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 128) != 0) {
        fprintf(stderr, "qkeyd: cannot listen on %s: %s\n", a->socket_path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return 0;
    }
    /* anyone may connect: the grants decide, by the uid the kernel vouches for */
    (void)chmod(a->socket_path, 0666);
    a->listen_fd = fd;
    a->own_socket = 1;
    return 1;
}

static int metrics_main(const char *conf)
{
    /* a client of the running agent: the same STATUS `qkey status` reads */
    QKS_CONFIG *cfg = qks_config_new();
    QKS_CTX *ctx = NULL;
    char *js = NULL, *text = NULL;
    json_t *st = NULL;
    int rc, ok = 0;

    if (cfg == NULL || qks_config_load_file(cfg, conf) != QKS_OK) {
        fprintf(stderr, "qkeyd: cannot read %s: %s\n", conf, qks_last_error());
        goto done;
    }
    /* a context whose only source is the agent: rng.source = agent reads its whole status */
    QKS_CONFIG *client = qks_config_new();
    if (client == NULL)
        goto done;
    if (qks_config_get(cfg, "agent.socket") != NULL)
        (void)qks_config_set(client, "agent.socket", qks_config_get(cfg, "agent.socket"));
    (void)qks_config_set(client, "rng.source", "agent");
    rc = qks_ctx_new(client, &ctx);
    qks_config_free(client);
    if (rc != QKS_OK || qks_status_json(ctx, &js) != QKS_OK ||
        (st = json_loads(js, 0, NULL)) == NULL) {
        fprintf(stderr, "qkeyd --metrics: %s\n", qks_last_error());
        goto done;
    }
    {
        json_t *rng = json_object_get(st, "rng"), *err = json_object_get(rng, "agent_error");
        if (json_is_string(err) || !json_is_object(json_object_get(rng, "agent_status"))) {
            fprintf(stderr, "qkeyd --metrics: %s\n",
                    json_is_string(err) ? json_string_value(err) : "no status from the agent");
            goto done;
        }
        text = qkd_metrics_render(json_object_get(rng, "agent_status"));
    }
    if (text != NULL) {
        fputs(text, stdout);
        ok = 1;
    }
done:
    free(text);
    free(js);
    json_decref(st);
    qks_ctx_free(ctx);
    qks_config_free(cfg);
    return ok ? 0 : 1;
}

static int serve(QKD_AGENT *a)
{
    struct sigaction sa = {.sa_handler = on_signal};
    time_t next_metrics = 0;

    the_agent = a;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    a->started = time(NULL);
    if (!listen_on(a))
        return 1;
    if (a->metrics_port > 0) {
        char why[256];
        if (!qkd_metrics_listen(a, why, sizeof(why))) {
            fprintf(stderr, "qkeyd: %s\n", why);
            return 1;
        }
    }
    if (qkd_feed_start(a) != QKS_OK)
        fprintf(stderr, "qkeyd: the kernel feed could not start\n");
    fprintf(stderr, "qkeyd: serving %s (SAE %s)\n", a->socket_path,
            qks_ctx_sae_id(a->ks) ? qks_ctx_sae_id(a->ks) : "none");
    while (!atomic_load(&a->stop)) {
        struct pollfd p[2] = {{.fd = a->listen_fd, .events = POLLIN},
                              {.fd = a->metrics_fd, .events = POLLIN}};
        int r = poll(p, a->metrics_fd >= 0 ? 2 : 1, 500);
        if (a->metrics_file != NULL && time(NULL) >= next_metrics) {
            qkd_metrics_write(a);
            next_metrics = time(NULL) + METRICS_PERIOD_SEC;
        }
        if (r <= 0)
            continue;
        if (p[0].revents & POLLIN) {
            int fd = accept4(a->listen_fd, NULL, NULL, SOCK_CLOEXEC);
            if (fd >= 0)
                (void)qkd_serve_start(a, fd); /* a refused connection is counted there */
        }
        if (a->metrics_fd >= 0 && (p[1].revents & POLLIN)) {
            int fd = accept4(a->metrics_fd, NULL, NULL, SOCK_CLOEXEC);
            if (fd >= 0) {
                qkd_metrics_answer(a, fd);
                close(fd);
            }
        }
    }
    fprintf(stderr, "qkeyd: stopping\n");
    close(a->listen_fd);
    if (a->metrics_fd >= 0)
        close(a->metrics_fd);
    if (a->own_socket)
        (void)unlink(a->socket_path);
    qkd_feed_stop(a);
    {
        long timeout_ms = 10000;
        (void)qks_config_get_long(a->cfg, "qkd.timeout_ms", 10000, 1, 3600000, &timeout_ms);
        size_t left = qkd_serve_stop_all(a, timeout_ms + 1000);
        if (left > 0) {
            /* a thread still inside the key source: freeing it under that thread is worse
             * than leaving the pool to the kernel, which frees the (locked) pages at exit */
            fprintf(stderr, "qkeyd: %zu requests did not finish; exiting without freeing\n", left);
            _exit(1);
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *conf = NULL;
    int check = 0, metrics = 0, rc;
    QKD_AGENT *a;

    harden();
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--conf") == 0 && i + 1 < argc)
            conf = argv[++i];
        else if (strncmp(argv[i], "--conf=", 7) == 0)
            conf = argv[i] + 7;
        else if (strcmp(argv[i], "--check") == 0)
            check = 1;
        else if (strcmp(argv[i], "--metrics") == 0)
            metrics = 1;
        else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--version") == 0) {
            printf("qkeyd %s\n", qks_version());
            return 0;
        } else if (check && conf == NULL && argv[i][0] != '-')
            conf = argv[i];
        else {
            fprintf(stderr, "qkeyd: unexpected argument '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    if (conf == NULL)
        conf = qks_config_default_path();
    if (metrics)
        return metrics_main(conf);
    if ((a = calloc(1, sizeof(*a))) == NULL)
        return 1;
    if (!agent_open(a, conf)) {
        rc = 1;
    } else if (check) {
        summary(a);
        rc = 0;
    } else {
        rc = serve(a);
    }
    agent_close(a);
    free(a);
    return rc;
}
