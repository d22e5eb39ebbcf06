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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p11bench.h"

typedef P11B_MOD MOD;

/* The module with a session AES-256 key for the GCM case. */
static void load(MOD *m, const char *path, const char *name)
{
    static const CK_BYTE k[32] = {1, 2, 3, 4};
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_KEY_TYPE aes = CKK_AES;
    CK_BBOOL yes = CK_TRUE;
    CK_ATTRIBUTE tpl[] = {{CKA_CLASS, &cls, sizeof(cls)},
                          {CKA_KEY_TYPE, &aes, sizeof(aes)},
                          {CKA_VALUE, (void *)k, 32},
                          {CKA_ENCRYPT, &yes, 1}};
    CK_RV rv;

    p11b_load(m, path, name);
    if ((rv = m->f->C_CreateObject(m->s, tpl, 4, &m->key)) != CKR_OK)
        p11b_die(m, "session key", rv);
}

static void op_random(MOD *m)
{
    CK_BYTE buf[32];
    CK_RV rv = m->f->C_GenerateRandom(m->s, buf, sizeof(buf));
    if (rv != CKR_OK)
        p11b_die(m, "C_GenerateRandom", rv);
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
        p11b_die(m, "AES-GCM", rv);
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
        p11b_die(m, "token object create+destroy", rv);
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 1.0;
    char dir[] = "/tmp/qkey-bench-XXXXXX", path[600];
    const char *qmod = getenv("QKEY_P11_MODULE") ? getenv("QKEY_P11_MODULE") : QKEY_P11_MODULE_PATH;
    MOD q, h;
    FILE *fp;

    p11b_prog = "bench_pkcs11";
    if (p11b_dirs(dir) != 0)
        return 1;

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
        rq[i] = p11b_rate(&q, cases[i].op, secs);
    q.f->C_Finalize(NULL);
    if (pg != NULL) { /* the same module again, now on the PostgreSQL store */
        snprintf(path, sizeof(path), "%s/qkey-pg.conf", dir);
        fp = fopen(path, "w");
        fprintf(fp, "[rng]\nsource = sim\n[token]\nstore = %s\n", pg);
        fclose(fp);
        setenv("QKEY_CONF", path, 1);
        load(&q, qmod, "qkey-pg");
        for (size_t i = 0; i < NCASES; i++)
            rp[i] = p11b_rate(&q, cases[i].op, secs);
        q.f->C_Finalize(NULL);
    }
    load(&h, P11B_SOFTHSM, "softhsm2");
    for (size_t i = 0; i < NCASES; i++)
        rh[i] = p11b_rate(&h, cases[i].op, secs);
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
    return p11b_rmdir(dir) == 0 ? 0 : 1;
}
