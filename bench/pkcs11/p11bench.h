/*
 * Shared by the token benchmarks (bench_pkcs11.c, asym.c): a PKCS#11 module loaded with a fresh
 * token and a logged-in R/W session, the qkey and SoftHSM2 configurations in one temporary
 * directory, and the rate of an operation.
 */
#ifndef QKEY_BENCH_P11BENCH_H
#define QKEY_BENCH_P11BENCH_H

#include <p11-kit/pkcs11.h>

#define P11B_SOFTHSM "/usr/lib/softhsm/libsofthsm2.so"

typedef struct p11b_mod {
    const char *name;
    CK_FUNCTION_LIST *f;
    CK_SLOT_ID slot;
    CK_SESSION_HANDLE s;
    CK_OBJECT_HANDLE key, rsa, ec; /* the keys a benchmark makes after p11b_load */
} P11B_MOD;

/* Print "PROG: MODULE: WHAT failed (CK_RV 0x..)" and exit 1. */
void p11b_die(const P11B_MOD *m, const char *what, CK_RV rv) __attribute__((noreturn));
/* dlopen path, C_Initialize, C_InitToken "bench", user PIN set, a R/W session logged in. */
void p11b_load(P11B_MOD *m, const char *path, const char *name);
/* Operations per second of op over at least secs seconds (after one warm-up call). */
double p11b_rate(P11B_MOD *m, void (*op)(P11B_MOD *), double secs);
/* mkdtemp(dir) holding a qkey token config (sim RNG, SQLite store; $QKEY_CONF) and a SoftHSM2
 * token directory ($SOFTHSM2_CONF). 0 on success. */
int p11b_dirs(char *dir);
/* Remove what p11b_dirs made; 0 on success. */
int p11b_rmdir(const char *dir);

extern const char *p11b_prog; /* program name for messages */

#endif
