/*
 * bench_pkcs11: libqkey-pkcs11.so against SoftHSM2, same process, same run, same calls:
 *   random   C_GenerateRandom, 32 bytes
 *   gcm4k    C_EncryptInit + C_Encrypt, AES-256-GCM, 4 KiB (a session key)
 *   object   C_CreateObject + C_DestroyObject of a private, sensitive token AES key
 * Prints operations per second for each module and the ratio qkey / SoftHSM2 (>= 1.0: qkey
 * is at least as fast). usage: bench_pkcs11 [SECONDS_PER_CASE (default 1)]
 * With QKEY_BENCH_PG=postgresql://... (bench/pkcs11/stores.sh starts a server) the qkey token
 * is measured a second time on that PostgreSQL store, in the same run: columns qkey (SQLite
 * file), qkey-pg, SoftHSM2 (file backend), and the ratios pg/SQLite and pg/SoftHSM2.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <p11-kit/pkcs11.h>

#define SOFTHSM "/usr/lib/softhsm/libsofthsm2.so"

typedef struct {
    const char *name;
    CK_FUNCTION_LIST *f;
    CK_SLOT_ID slot;
    CK_SESSION_HANDLE s;
    CK_OBJECT_HANDLE key;
} MOD;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static int die(const char *what, CK_RV rv)
{
    fprintf(stderr, "bench_pkcs11: %s failed (0x%lx)\n", what, rv);
    exit(1);
}

static void load(MOD *m, const char *path, const char *name)
{
    CK_C_INITIALIZE_ARGS args = {NULL, NULL, NULL, NULL, CKF_OS_LOCKING_OK, NULL};
    CK_C_GetFunctionList gfl;
    void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    CK_SLOT_ID slots[8];
    CK_ULONG n = 8;
    CK_BYTE label[32];
    CK_RV rv;

    m->name = name;
    if (dl == NULL || (gfl = (CK_C_GetFunctionList)dlsym(dl, "C_GetFunctionList")) == NULL ||
        gfl(&m->f) != CKR_OK) {
        fprintf(stderr, "bench_pkcs11: cannot load %s\n", path);
        exit(1);
    }
    if ((rv = m->f->C_Initialize(&args)) != CKR_OK)
        die("C_Initialize", rv);
    if ((rv = m->f->C_GetSlotList(CK_FALSE, slots, &n)) != CKR_OK || n == 0)
        die("C_GetSlotList", rv);
    memset(label, ' ', sizeof(label));
    memcpy(label, "bench", 5);
    if ((rv = m->f->C_InitToken(slots[0], (CK_UTF8CHAR *)"12345678", 8, label)) != CKR_OK)
        die("C_InitToken", rv);
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
        die("token set-up", rv);
    static const CK_BYTE k[32] = {1, 2, 3, 4};
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_KEY_TYPE aes = CKK_AES;
    CK_BBOOL yes = CK_TRUE;
    CK_ATTRIBUTE tpl[] = {{CKA_CLASS, &cls, sizeof(cls)},
                          {CKA_KEY_TYPE, &aes, sizeof(aes)},
                          {CKA_VALUE, (void *)k, 32},
                          {CKA_ENCRYPT, &yes, 1}};
    if ((rv = m->f->C_CreateObject(m->s, tpl, 4, &m->key)) != CKR_OK)
        die("session key", rv);
}

static void op_random(MOD *m)
{
    CK_BYTE buf[32];
    CK_RV rv = m->f->C_GenerateRandom(m->s, buf, sizeof(buf));
    if (rv != CKR_OK)
        die("C_GenerateRandom", rv);
}

static void op_gcm(MOD *m)
{
    static CK_BYTE in[4096], out[4096 + 16], iv[12];
    CK_GCM_PARAMS p = {iv, 12, 96, NULL, 0, 128};
    CK_MECHANISM mech = {CKM_AES_GCM, &p, sizeof(p)};
    CK_ULONG n = sizeof(out);
    CK_RV rv;
    iv[0]++;
    if ((rv = m->f->C_EncryptInit(m->s, &mech, m->key)) != CKR_OK ||
        (rv = m->f->C_Encrypt(m->s, in, sizeof(in), out, &n)) != CKR_OK)
        die("AES-GCM", rv);
}

static void op_object(MOD *m)
{
    static const CK_BYTE k[32] = {5, 6, 7};
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_KEY_TYPE aes = CKK_AES;
    CK_BBOOL yes = CK_TRUE;
    CK_ATTRIBUTE tpl[] = {{CKA_CLASS, &cls, sizeof(cls)}, {CKA_KEY_TYPE, &aes, sizeof(aes)},
                          {CKA_VALUE, (void *)k, 32},     {CKA_TOKEN, &yes, 1},
                          {CKA_PRIVATE, &yes, 1},         {CKA_SENSITIVE, &yes, 1},
                          {CKA_LABEL, "bench", 5}};
    CK_OBJECT_HANDLE h;
    CK_RV rv;
    if ((rv = m->f->C_CreateObject(m->s, tpl, 7, &h)) != CKR_OK ||
        (rv = m->f->C_DestroyObject(m->s, h)) != CKR_OK)
        die("token object create+destroy", rv);
}

static double rate(MOD *m, void (*op)(MOD *), double secs)
{
    unsigned long n = 0;
    double t0 = now(), t;
    op(m); /* warm-up */
    do {
        for (int i = 0; i < 8; i++)
            op(m);
        n += 8;
    } while ((t = now() - t0) < secs);
    return n / t;
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 1.0;
    char dir[] = "/tmp/qkey-bench-XXXXXX", path[512], cmd[600];
    const char *qmod = getenv("QKEY_P11_MODULE") ? getenv("QKEY_P11_MODULE") : QKEY_P11_MODULE_PATH;
    MOD q, h;
    FILE *fp;

    if (mkdtemp(dir) == NULL)
        return 1;
    snprintf(path, sizeof(path), "%s/qkey.conf", dir);
    fp = fopen(path, "w");
    fprintf(fp, "[rng]\nsource = sim\n[token]\nstore = %s/token.db\n", dir);
    fclose(fp);
    setenv("QKEY_CONF", path, 1);
    snprintf(path, sizeof(path), "%s/hsm", dir);
    mkdir(path, 0700);
    snprintf(cmd, sizeof(cmd), "%s/softhsm2.conf", dir);
    fp = fopen(cmd, "w");
    fprintf(fp, "directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n", path);
    fclose(fp);
    setenv("SOFTHSM2_CONF", cmd, 1);

    static const struct {
        const char *name;
        void (*op)(MOD *);
    } cases[] = {{"C_GenerateRandom 32 B", op_random},
                 {"AES-256-GCM encrypt 4 KiB", op_gcm},
                 {"token object create+destroy", op_object}};
    enum { NCASES = sizeof(cases) / sizeof(cases[0]) };
    double rq[NCASES], rp[NCASES], rh[NCASES];
    const char *pg = getenv("QKEY_BENCH_PG");

    load(&q, qmod, "qkey");
    for (size_t i = 0; i < NCASES; i++)
        rq[i] = rate(&q, cases[i].op, secs);
    q.f->C_Finalize(NULL);
    if (pg != NULL) { /* the same module again, now on the PostgreSQL store */
        snprintf(path, sizeof(path), "%s/qkey-pg.conf", dir);
        fp = fopen(path, "w");
        fprintf(fp, "[rng]\nsource = sim\n[token]\nstore = %s\n", pg);
        fclose(fp);
        setenv("QKEY_CONF", path, 1);
        load(&q, qmod, "qkey-pg");
        for (size_t i = 0; i < NCASES; i++)
            rp[i] = rate(&q, cases[i].op, secs);
        q.f->C_Finalize(NULL);
    }
    load(&h, SOFTHSM, "softhsm2");
    for (size_t i = 0; i < NCASES; i++)
        rh[i] = rate(&h, cases[i].op, secs);
    if (pg == NULL) {
        printf("%-30s %14s %14s %8s\n", "case", "qkey ops/s", "softhsm2 ops/s", "ratio");
        for (size_t i = 0; i < NCASES; i++)
            printf("%-30s %14.0f %14.0f %8.2f\n", cases[i].name, rq[i], rh[i], rq[i] / rh[i]);
    } else {
        printf("%-30s %12s %12s %12s %9s %9s\n", "case", "qkey-sqlite", "qkey-pg", "softhsm2",
               "pg/sqlite", "pg/softhsm");
        for (size_t i = 0; i < NCASES; i++)
            printf("%-30s %12.0f %12.0f %12.0f %9.2f %9.2f\n", cases[i].name, rq[i], rp[i], rh[i],
                   rp[i] / rq[i], rp[i] / rh[i]);
    }
    h.f->C_Finalize(NULL);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : 1;
}
