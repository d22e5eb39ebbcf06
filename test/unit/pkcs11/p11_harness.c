/*
 * Test harness: load a PKCS#11 module with dlopen, give it a fresh token in a temporary
 * directory (qkey: a token.store and a simulated RNG; SoftHSM2: a SOFTHSM2_CONF token dir),
 * initialise it with C_InitToken / C_InitPIN through the function list.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <CUnit/Basic.h>

#include "p11_harness.h"

#define SOFTHSM_MODULE "/usr/lib/softhsm/libsofthsm2.so"

P11 p11;
static void *dl;
static CK_C_INITIALIZE_ARGS init_args = {NULL, NULL, NULL, NULL, CKF_OS_LOCKING_OK, NULL};

static int write_file(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    if (fp == NULL)
        return -1;
    fputs(text, fp);
    return fclose(fp);
}

static int find_slot(const char *label)
{
    CK_SLOT_ID slots[16];
    CK_ULONG n = 16;
    if (p11.f->C_GetSlotList(CK_TRUE, slots, &n) != CKR_OK)
        return -1;
    for (CK_ULONG i = 0; i < n; i++) {
        CK_TOKEN_INFO ti;
        if (p11.f->C_GetTokenInfo(slots[i], &ti) != CKR_OK)
            continue;
        if ((ti.flags & CKF_TOKEN_INITIALIZED) &&
            strncmp((char *)ti.label, label, strlen(label)) == 0) {
            p11.slot = slots[i];
            return 0;
        }
    }
    return -1;
}

int p11_setup(const char *which, const char *label)
{
    char path[512], text[1024], padded[32];
    const char *module;
    CK_C_GetFunctionList gfl;
    CK_SESSION_HANDLE s;

    memset(&p11, 0, sizeof(p11));
    p11.name = which;
    p11.is_qkey = strcmp(which, "qkey") == 0;
    snprintf(p11.dir, sizeof(p11.dir), "/tmp/qkey-p11test-XXXXXX");
    if (mkdtemp(p11.dir) == NULL)
        return -1;
    if (p11.is_qkey) {
        module = getenv("QKEY_P11_MODULE");
        snprintf(path, sizeof(path), "%s/qkey.conf", p11.dir);
        /* QKEY_P11_STORE (on_pg.sh: a PostgreSQL database) replaces the SQLite file */
        char store[600];
        if (getenv("QKEY_P11_STORE") != NULL)
            snprintf(store, sizeof(store), "%s", getenv("QKEY_P11_STORE"));
        else
            snprintf(store, sizeof(store), "%s/token.db", p11.dir);
        snprintf(text, sizeof(text),
                 "[qkd]\ndriver = sim\nsae_id = SAE_A\nsim_link = %s/link\npeers = SAE_B\n"
                 "[rng]\nsource = sim\n[token]\nstore = %s\n",
                 p11.dir, store);
        if (module == NULL || write_file(path, text) != 0)
            return -1;
        setenv("QKEY_CONF", path, 1);
    } else {
        module = SOFTHSM_MODULE;
        snprintf(path, sizeof(path), "%s/tokens", p11.dir);
        mkdir(path, 0700);
        snprintf(text, sizeof(text),
                 "directories.tokendir = %s\nobjectstore.backend = file\n"
                 "log.level = ERROR\n",
                 path);
        snprintf(path, sizeof(path), "%s/softhsm2.conf", p11.dir);
        if (write_file(path, text) != 0)
            return -1;
        setenv("SOFTHSM2_CONF", path, 1);
    }
    if ((dl = dlopen(module, RTLD_NOW | RTLD_LOCAL)) == NULL) {
        fprintf(stderr, "%s: %s\n", module, dlerror());
        return -1;
    }
    gfl = (CK_C_GetFunctionList)dlsym(dl, "C_GetFunctionList");
    if (gfl == NULL || gfl(&p11.f) != CKR_OK || p11.f->C_Initialize(&init_args) != CKR_OK)
        return -1;
    CK_SLOT_ID slots[16];
    CK_ULONG n = 16;
    if (p11.f->C_GetSlotList(CK_FALSE, slots, &n) != CKR_OK || n == 0)
        return -1;
    memset(padded, ' ', sizeof(padded));
    memcpy(padded, label, strlen(label));
    if (p11.f->C_InitToken(slots[0], (CK_UTF8CHAR *)SO_PIN, strlen(SO_PIN),
                           (CK_UTF8CHAR *)padded) != CKR_OK)
        return -1;
    snprintf(p11.label, sizeof(p11.label), "%s", label);
    if (find_slot(label) != 0)
        return -1;
    if (p11.f->C_OpenSession(p11.slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s) !=
            CKR_OK ||
        p11.f->C_Login(s, CKU_SO, (CK_UTF8CHAR *)SO_PIN, strlen(SO_PIN)) != CKR_OK ||
        p11.f->C_InitPIN(s, (CK_UTF8CHAR *)USER_PIN, strlen(USER_PIN)) != CKR_OK ||
        p11.f->C_Logout(s) != CKR_OK || p11.f->C_CloseSession(s) != CKR_OK)
        return -1;
    return 0;
}

int p11_restart(void)
{
    if (p11.f->C_Finalize(NULL) != CKR_OK || p11.f->C_Initialize(&init_args) != CKR_OK)
        return -1;
    return find_slot(p11.label); /* slot IDs need not survive a restart */
}

void p11_teardown(void)
{
    char cmd[300];
    if (p11.f != NULL)
        (void)p11.f->C_Finalize(NULL); /* the test is over either way */
    p11.f = NULL;
    /* SoftHSM2 is never unloaded: its static destructors run at exit. */
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", p11.dir);
    if (p11.dir[0] != 0 && system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", p11.dir);
}

CK_SESSION_HANDLE p11_session(int login)
{
    CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
    CK_RV rv = p11.f->C_OpenSession(p11.slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s);
    if (rv == CKR_OK && login) {
        rv = p11.f->C_Login(s, CKU_USER, (CK_UTF8CHAR *)USER_PIN, strlen(USER_PIN));
        if (rv == CKR_USER_ALREADY_LOGGED_IN)
            rv = CKR_OK;
    }
    return rv == CKR_OK ? s : CK_INVALID_HANDLE;
}

int p11_has_mech(CK_MECHANISM_TYPE m)
{
    CK_MECHANISM_INFO info;
    return p11.f->C_GetMechanismInfo(p11.slot, m, &info) == CKR_OK;
}

CK_OBJECT_HANDLE p11_secret(CK_SESSION_HANDLE s, CK_KEY_TYPE kt, const unsigned char *val,
                            CK_ULONG len, const CK_ATTRIBUTE *extra, CK_ULONG nextra)
{
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_ATTRIBUTE tpl[24] = {
        {CKA_CLASS, &cls, sizeof(cls)},
        {CKA_KEY_TYPE, &kt, sizeof(kt)},
        {CKA_VALUE, (void *)val, len},
    };
    CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
    if (nextra)
        memcpy(tpl + 3, extra, nextra * sizeof(*extra));
    if (p11.f->C_CreateObject(s, tpl, 3 + nextra, &h) != CKR_OK)
        return CK_INVALID_HANDLE;
    return h;
}

CK_OBJECT_HANDLE p11_aes_key(CK_SESSION_HANDLE s, const unsigned char *val, CK_ULONG len,
                             const CK_ATTRIBUTE *extra, CK_ULONG nextra)
{
    return p11_secret(s, CKK_AES, val, len, extra, nextra);
}

size_t p11_unhex(const char *hex, unsigned char *buf)
{
    size_t n = 0;
    for (; hex[0] && hex[1]; hex += 2) {
        unsigned v;
        sscanf(hex, "%2x", &v);
        buf[n++] = (unsigned char)v;
    }
    return n;
}

int p11_run(const char *which)
{
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_suites_failed();
    CU_cleanup_registry();
    fprintf(stderr, "%s: %u failure(s)\n", which, failed);
    return failed ? 1 : 0;
}
