/* Helpers shared by the keysource unit suites. */
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <fcntl.h>

#include "util.h"

static char *dirs[64];
static size_t ndirs;
static pid_t owner;

const char *tu_tmpdir(void)
{
    char tmpl[] = "/tmp/qks-test-XXXXXX";
    char *d = mkdtemp(tmpl);
    if (d == NULL || ndirs == 64) {
        perror("mkdtemp");
        exit(2);
    }
    owner = getpid();
    dirs[ndirs] = strdup(d);
    return dirs[ndirs++];
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void tu_cleanup(void)
{
    if (getpid() != owner)
        return;
    for (size_t i = 0; i < ndirs; i++) {
        nftw(dirs[i], rm_one, 16, FTW_DEPTH | FTW_PHYS);
        free(dirs[i]);
    }
    ndirs = 0;
}

void tu_write(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        perror(path);
        exit(2);
    }
    fputs(text, f);
    fclose(f);
}

static int vctx(QKS_CTX **out, const char *link, const char *sae, const char *peers, va_list ap)
{
    QKS_CONFIG *cfg = qks_config_new();
    int rc;
    const char *k;

    *out = NULL;
    if (cfg == NULL)
        return QKS_ERR_NOMEM;
    if ((rc = qks_config_set(cfg, "qkd.driver", "sim")) != QKS_OK ||
        (rc = qks_config_set(cfg, "qkd.sim_link", link)) != QKS_OK ||
        (rc = qks_config_set(cfg, "qkd.sae_id", sae)) != QKS_OK ||
        (rc = qks_config_set(cfg, "qkd.peers", peers)) != QKS_OK ||
        (rc = qks_config_set(cfg, "rng.source", "sim")) != QKS_OK)
        goto done;
    while ((k = va_arg(ap, const char *)) != NULL) {
        const char *v = va_arg(ap, const char *);
        if ((rc = qks_config_set(cfg, k, v)) != QKS_OK)
            goto done;
    }
    rc = qks_ctx_new(cfg, out);
done:
    qks_config_free(cfg);
    return rc;
}

int tu_sim_ctx_rc(QKS_CTX **out, const char *link, const char *sae, const char *peers, ...)
{
    va_list ap;
    va_start(ap, peers);
    int rc = vctx(out, link, sae, peers, ap);
    va_end(ap);
    return rc;
}

QKS_CTX *tu_sim_ctx(const char *link, const char *sae, const char *peers, ...)
{
    QKS_CTX *ctx;
    va_list ap;
    va_start(ap, peers);
    int rc = vctx(&ctx, link, sae, peers, ap);
    va_end(ap);
    if (rc != QKS_OK)
        fprintf(stderr, "context for %s failed: %s: %s\n", sae, qks_strerror(rc), qks_last_error());
    CU_ASSERT_EQUAL_FATAL(rc, QKS_OK);
    return ctx;
}

int tu_run(void)
{
    unsigned failed;

    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    if (CU_get_number_of_tests_run() == 0)
        failed = 1;
    CU_cleanup_registry();
    tu_cleanup();
    return failed != 0;
}

int tu_contains(const char *haystack, const char *needle)
{
    return haystack != NULL && needle != NULL && strstr(haystack, needle) != NULL;
}

#define STORE_LEN (SIM_STORE_HDR + (size_t)SIM_SLOTS * sizeof(SIM_SLOT))

SIM_SLOT *tu_link_map(const char *dir)
{
    char path[600];
    unsigned char *m;
    int fd;

    snprintf(path, sizeof(path), "%s/%s", dir, SIM_STORE_FILE);
    if ((fd = open(path, O_RDWR | O_CLOEXEC)) < 0)
        return NULL;
    m = mmap(NULL, STORE_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    return m == MAP_FAILED ? NULL : (SIM_SLOT *)(m + SIM_STORE_HDR);
}

void tu_link_unmap(SIM_SLOT *slots)
{
    if (slots != NULL)
        munmap((unsigned char *)slots - SIM_STORE_HDR, STORE_LEN);
}

int tu_link_keys(const char *dir)
{
    SIM_SLOT *s = tu_link_map(dir);
    int n = 0;

    if (s == NULL)
        return -1;
    for (size_t i = 0; i < SIM_SLOTS; i++)
        n += (__atomic_load_n(&s[i].word, __ATOMIC_ACQUIRE) & 0xff) == SIM_READY;
    tu_link_unmap(s);
    return n;
}
