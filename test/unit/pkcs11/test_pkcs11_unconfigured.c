/*
 * Installed but not configured (the packages' /etc/qkey/qkey.conf names nothing): the module
 * initialises, so p11-kit lists it beside the others, and its one slot holds no token until the
 * configuration names a source; nothing simulated stands in by default. Once rng.source is
 * set, the same slot holds the token.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <CUnit/Basic.h>
#include <p11-kit/pkcs11.h>

static const char *module;
static char dir[] = "/tmp/qkey-unconf-XXXXXX";
static char conf[512];

static CK_FUNCTION_LIST *load(void **dl)
{
    CK_FUNCTION_LIST *f = NULL;
    CK_C_GetFunctionList gfl;

    if ((*dl = dlopen(module, RTLD_NOW | RTLD_LOCAL)) == NULL ||
        (gfl = (CK_C_GetFunctionList)dlsym(*dl, "C_GetFunctionList")) == NULL || gfl(&f) != CKR_OK)
        return NULL;
    return f;
}

static void write_conf(const char *text)
{
    FILE *f = fopen(conf, "w");
    CU_ASSERT_FATAL(f != NULL);
    fputs(text, f);
    fclose(f);
    setenv("QKEY_CONF", conf, 1);
}

static void test_no_token_until_configured(void)
{
    void *dl;
    CK_FUNCTION_LIST *f = load(&dl);
    CK_SLOT_ID slots[2];
    CK_ULONG n = 2;
    CK_SLOT_INFO si;
    CK_TOKEN_INFO ti;
    CK_SESSION_HANDLE h;
    CK_MECHANISM_INFO mi;

    CU_ASSERT_FATAL(f != NULL);
    write_conf("# installed, nothing configured yet\n[token]\nlabel = idle\n");
    CU_ASSERT_EQUAL_FATAL(f->C_Initialize(NULL), CKR_OK);
    CU_ASSERT_EQUAL(f->C_GetSlotList(CK_TRUE, NULL, &n), CKR_OK);
    CU_ASSERT_EQUAL(n, 0);
    n = 2;
    CU_ASSERT_EQUAL(f->C_GetSlotList(CK_FALSE, slots, &n), CKR_OK);
    CU_ASSERT_EQUAL_FATAL(n, 1);
    CU_ASSERT_EQUAL(f->C_GetSlotInfo(slots[0], &si), CKR_OK);
    CU_ASSERT_EQUAL(si.flags & CKF_TOKEN_PRESENT, 0);
    CU_ASSERT(memcmp(si.slotDescription, "qkey: no token", 14) == 0);
    CU_ASSERT_EQUAL(f->C_GetTokenInfo(slots[0], &ti), CKR_TOKEN_NOT_PRESENT);
    CU_ASSERT_EQUAL(f->C_OpenSession(slots[0], CKF_SERIAL_SESSION, NULL, NULL, &h),
                    CKR_TOKEN_NOT_PRESENT);
    CU_ASSERT_EQUAL(f->C_InitToken(slots[0], (CK_UTF8CHAR *)"12345678", 8,
                                   (CK_UTF8CHAR *)"x                               "),
                    CKR_TOKEN_NOT_PRESENT);
    n = 0;
    CU_ASSERT_EQUAL(f->C_GetMechanismList(slots[0], NULL, &n), CKR_TOKEN_NOT_PRESENT);
    CU_ASSERT_EQUAL(f->C_GetMechanismInfo(slots[0], CKM_AES_GCM, &mi), CKR_TOKEN_NOT_PRESENT);
    CU_ASSERT_EQUAL(f->C_Finalize(NULL), CKR_OK);

    /* configured: the same slot holds the token */
    char text[600];
    snprintf(text, sizeof(text), "[rng]\nsource = sim\n[token]\nstore = %s/t.db\n", dir);
    write_conf(text);
    CU_ASSERT_EQUAL_FATAL(f->C_Initialize(NULL), CKR_OK);
    n = 2;
    CU_ASSERT_EQUAL(f->C_GetSlotList(CK_TRUE, slots, &n), CKR_OK);
    CU_ASSERT_EQUAL(n, 1);
    CU_ASSERT_EQUAL(f->C_GetSlotInfo(slots[0], &si), CKR_OK);
    CU_ASSERT_NOT_EQUAL(si.flags & CKF_TOKEN_PRESENT, 0);
    CU_ASSERT_EQUAL(f->C_GetTokenInfo(slots[0], &ti), CKR_OK);
    CU_ASSERT_EQUAL(f->C_Finalize(NULL), CKR_OK);
    dlclose(dl);
}

int main(void)
{
    CU_pSuite s;
    unsigned failed;
    char db[600];

    if ((module = getenv("QKEY_P11_MODULE")) == NULL || mkdtemp(dir) == NULL)
        return 2;
    snprintf(conf, sizeof(conf), "%s/qkey.conf", dir);
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    s = CU_add_suite("pkcs11_unconfigured", NULL, NULL);
    CU_add_test(s, "no token until configured", test_no_token_until_configured);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    unlink(conf);
    snprintf(db, sizeof(db), "%s/t.db", dir);
    unlink(db);
    rmdir(dir);
    return failed ? 1 : 0;
}
