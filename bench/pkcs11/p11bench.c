/*
 * The token benchmarks' common part (p11bench.h).
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "p11bench.h"

const char *p11b_prog = "bench";

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

void p11b_die(const P11B_MOD *m, const char *what, CK_RV rv)
{
    fprintf(stderr, "%s: %s: %s failed (CK_RV 0x%lx)\n", p11b_prog, m->name, what, rv);
    exit(1);
}

void p11b_load(P11B_MOD *m, const char *path, const char *name)
{
    CK_C_INITIALIZE_ARGS args = {NULL, NULL, NULL, NULL, CKF_OS_LOCKING_OK, NULL};
    CK_C_GetFunctionList gfl;
    void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    CK_SLOT_ID slots[8];
    CK_ULONG n = 8;
    CK_BYTE label[32];
    CK_RV rv;

    memset(m, 0, sizeof(*m));
    m->name = name;
    if (dl == NULL || (gfl = (CK_C_GetFunctionList)dlsym(dl, "C_GetFunctionList")) == NULL ||
        gfl(&m->f) != CKR_OK) {
        fprintf(stderr, "%s: cannot load %s\n", p11b_prog, path);
        exit(1);
    }
    if ((rv = m->f->C_Initialize(&args)) != CKR_OK)
        p11b_die(m, "C_Initialize", rv);
    if ((rv = m->f->C_GetSlotList(CK_FALSE, slots, &n)) != CKR_OK || n == 0)
        p11b_die(m, "C_GetSlotList", rv);
    memset(label, ' ', sizeof(label));
    memcpy(label, "bench", 5);
    if ((rv = m->f->C_InitToken(slots[0], (CK_UTF8CHAR *)"12345678", 8, label)) != CKR_OK)
        p11b_die(m, "C_InitToken", rv);
    n = 8;
    m->f->C_GetSlotList(CK_TRUE, slots, &n);
    for (CK_ULONG i = 0; i < n; i++) {
        CK_TOKEN_INFO ti;
        if (m->f->C_GetTokenInfo(slots[i], &ti) == CKR_OK && !memcmp(ti.label, "bench", 5))
            m->slot = slots[i];
    }
    if ((rv = m->f->C_OpenSession(m->slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL,
                                  &m->s)) ||
        (rv = m->f->C_Login(m->s, CKU_SO, (CK_UTF8CHAR *)"12345678", 8)) ||
        (rv = m->f->C_InitPIN(m->s, (CK_UTF8CHAR *)"123456", 6)) || (rv = m->f->C_Logout(m->s)) ||
        (rv = m->f->C_Login(m->s, CKU_USER, (CK_UTF8CHAR *)"123456", 6)))
        p11b_die(m, "token set-up", rv);
}

double p11b_rate(P11B_MOD *m, void (*op)(P11B_MOD *), double secs)
{
    unsigned long n = 0;
    double t0 = now(), t;
    op(m); /* warm-up */
    do {
        for (int i = 0; i < 4; i++)
            op(m);
        n += 4;
    } while ((t = now() - t0) < secs);
    return (double)n / t;
}

int p11b_dirs(char *dir)
{
    char path[512], conf[600];
    FILE *fp;

    if (mkdtemp(dir) == NULL)
        return -1;
    snprintf(path, sizeof(path), "%s/qkey.conf", dir);
    if ((fp = fopen(path, "w")) == NULL)
        return -1;
    fprintf(fp, "[rng]\nsource = sim\n[token]\nstore = %s/token.db\n", dir);
    fclose(fp);
    setenv("QKEY_CONF", path, 1);
    snprintf(path, sizeof(path), "%s/hsm", dir);
    mkdir(path, 0700);
    snprintf(conf, sizeof(conf), "%s/softhsm2.conf", dir);
    if ((fp = fopen(conf, "w")) == NULL)
        return -1;
    fprintf(fp, "directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n", path);
    fclose(fp);
    setenv("SOFTHSM2_CONF", conf, 1);
    return 0;
}

int p11b_rmdir(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}
