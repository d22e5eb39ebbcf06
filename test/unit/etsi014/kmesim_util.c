/*
 * Test helpers around a real qkey-kme-sim (see kmesim_util.h).
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kmesim_util.h"

static int run_wait(char *const argv[])
{
    pid_t pid = fork();
    int st = 0;

    if (pid == 0) {
        int fd = open("/dev/null", 1);

        if (fd >= 0)
            dup2(fd, 1);
        execv(argv[0], argv);
        _exit(127);
    }
    if (pid < 0 || waitpid(pid, &st, 0) != pid)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int read_port(const char *dir, const char *name)
{
    char path[512], line[256];
    FILE *f;
    int port = 0;

    snprintf(path, sizeof(path), "%s/kme.conf", dir);
    if ((f = fopen(path, "r")) == NULL)
        return 0;
    while (fgets(line, sizeof(line), f) != NULL) {
        char key[64];
        int v;

        if (sscanf(line, "%63s = %d", key, &v) == 2 && strcmp(key, name) == 0)
            port = v;
    }
    fclose(f);
    return port;
}

int test_kme_init(TEST_KME *k, const char *kmesim, const char *const *args)
{
    char *argv[32];
    int n = 0;

    memset(k, 0, sizeof(*k));
    snprintf(k->dir, sizeof(k->dir), "/tmp/qkey-etsi-XXXXXX");
    if (mkdtemp(k->dir) == NULL)
        return -1;
    argv[n++] = (char *)kmesim;
    argv[n++] = "init";
    argv[n++] = k->dir;
    for (int i = 0; args != NULL && args[i] != NULL && n < 30; i++)
        argv[n++] = (char *)args[i];
    argv[n] = NULL;
    if (run_wait(argv) != 0)
        return -1;
    k->port_a = read_port(k->dir, "port_a");
    k->port_b = read_port(k->dir, "port_b");
    return k->port_a > 0 && k->port_b > 0 ? 0 : -1;
}

static int port_open(int port)
{
    struct sockaddr_in sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0), ok;

    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
    close(fd);
    return ok;
}

/* simulators still running when the test exits (a fatal assertion skipped their stop) */
static pid_t running[16];

static void kill_running(void)
{
    for (int i = 0; i < 16; i++)
        if (running[i] > 0) {
            kill(running[i], SIGTERM);
            waitpid(running[i], NULL, 0);
            running[i] = 0;
        }
}

static void track(pid_t pid, pid_t gone)
{
    static int registered;

    if (!registered && atexit(kill_running) == 0)
        registered = 1;
    for (int i = 0; i < 16; i++)
        if (running[i] == gone) {
            running[i] = pid;
            return;
        }
}

int test_kme_start(TEST_KME *k, const char *kmesim)
{
    pid_t pid = fork();

    if (pid == 0) {
        char log[300];
        int fd;

        /* the simulator dies with the test, and logs to DIR/kme.log */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        snprintf(log, sizeof(log), "%s/kme.log", k->dir);
        if ((fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600)) >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execl(kmesim, kmesim, "run", k->dir, (char *)NULL);
        _exit(127);
    }
    if (pid < 0)
        return -1;
    k->pid = pid;
    track(pid, 0);
    for (int i = 0; i < 200; i++) {
        struct timespec ts = {0, 10 * 1000 * 1000};

        if (port_open(k->port_a) && port_open(k->port_b))
            return 0;
        nanosleep(&ts, NULL);
    }
    return -1;
}

void test_kme_stop(TEST_KME *k)
{
    if (k->pid > 0) {
        kill(k->pid, SIGTERM);
        waitpid(k->pid, NULL, 0);
        track(0, k->pid);
        k->pid = 0;
    }
}

void test_kme_cleanup(TEST_KME *k)
{
    char cmd[400];

    test_kme_stop(k);
    if (k->dir[0] != '\0' && strncmp(k->dir, "/tmp/qkey-etsi-", 15) == 0) {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", k->dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", k->dir);
    }
}

void test_kme_fault(TEST_KME *k, const char *json)
{
    char path[512], tmp[520];
    FILE *f;

    snprintf(path, sizeof(path), "%s/fault.json", k->dir);
    if (json == NULL) {
        unlink(path);
        return;
    }
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    if ((f = fopen(tmp, "w")) != NULL) {
        fputs(json, f);
        fclose(f);
        rename(tmp, path);
    }
}

int test_drv_open(TEST_KME *k, char side, QHW_QKD **out, ...)
{
    QKS_CONFIG *cfg = qks_config_new();
    const QHW_QKD_METHOD *m = qhw_qkd_find("etsi014");
    char v[512];
    va_list ap;
    const char *key;
    int rc;

    if (cfg == NULL || m == NULL)
        return QKS_ERR_INTERNAL;
    qks_config_set(cfg, "qkd.driver", "etsi014");
    qks_config_set(cfg, "qkd.sae_id", side == 'a' ? "SAE_A" : "SAE_B");
    qks_config_set(cfg, "qkd.peers", side == 'a' ? "SAE_B" : "SAE_A");
    snprintf(v, sizeof(v), "https://127.0.0.1:%d", side == 'a' ? k->port_a : k->port_b);
    qks_config_set(cfg, "qkd.kme_url", v);
    snprintf(v, sizeof(v), "%s/ca.pem", k->dir);
    qks_config_set(cfg, "qkd.ca", v);
    snprintf(v, sizeof(v), "%s/sae-%c.pem", k->dir, side);
    qks_config_set(cfg, "qkd.cert", v);
    snprintf(v, sizeof(v), "%s/sae-%c.key", k->dir, side);
    qks_config_set(cfg, "qkd.key", v);
    qks_config_set(cfg, "qkd.timeout_ms", "2000");
    va_start(ap, out);
    while ((key = va_arg(ap, const char *)) != NULL)
        qks_config_set(cfg, key, va_arg(ap, const char *));
    va_end(ap);
    rc = m->open(cfg, out);
    qks_config_free(cfg);
    return rc;
}
