/*
 * C_Initialize never dereferences a pReserved that is not a readable, printable string (p11-kit's
 * x-init-reserved): a wild pointer, binary data, or a string running into an unmapped page get
 * CKR_ARGUMENTS_BAD and no crash; "config=FILE" still names the configuration.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <CUnit/Basic.h>
#include <p11-kit/pkcs11.h>

static CK_FUNCTION_LIST *f;
static char dir[] = "/tmp/qkey-reserved-XXXXXX";

static CK_RV init_with(void *reserved)
{
    CK_C_INITIALIZE_ARGS a = {NULL, NULL, NULL, NULL, CKF_OS_LOCKING_OK, reserved};
    return f->C_Initialize(&a);
}

static void test_garbage_refused(void)
{
    long page = sysconf(_SC_PAGESIZE);
    unsigned char *m =
        mmap(NULL, (size_t)page * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    static const unsigned char binary[] = {0x01, 0x02, 0xff, 0x00};

    CU_ASSERT_FATAL(m != MAP_FAILED);
    CU_ASSERT_EQUAL(init_with((void *)0x10), CKR_ARGUMENTS_BAD);           /* unmapped */
    CU_ASSERT_EQUAL(init_with((void *)binary), CKR_ARGUMENTS_BAD);         /* not text */
    memset(m, 'A', (size_t)page);                                          /* no NUL before ... */
    CU_ASSERT_EQUAL_FATAL(mprotect(m + page, (size_t)page, PROT_NONE), 0); /* ... a hole */
    CU_ASSERT_EQUAL(init_with(m), CKR_ARGUMENTS_BAD);
    CU_ASSERT_EQUAL(init_with(m + page - 3), CKR_ARGUMENTS_BAD);
    m[page - 1] = '\0'; /* a string ending at the page's last byte is read */
    CU_ASSERT_EQUAL(init_with(m + page - 8), CKR_OK);
    CU_ASSERT_EQUAL(f->C_Finalize(NULL), CKR_OK);
    munmap(m, (size_t)page * 2);
    /* nothing was initialised by the refused calls */
    CK_INFO info;
    CU_ASSERT_EQUAL(f->C_GetInfo(&info), CKR_CRYPTOKI_NOT_INITIALIZED);
}

static void test_config_string(void)
{
    char conf[600], text[700], reserved[700];
    FILE *fp;
    CK_SLOT_ID slot;
    CK_ULONG n = 1;

    snprintf(conf, sizeof(conf), "%s/qkey.conf", dir);
    snprintf(text, sizeof(text), "[rng]\nsource = sim\n[token]\nstore = %s/t.db\n", dir);
    CU_ASSERT_FATAL((fp = fopen(conf, "w")) != NULL);
    fputs(text, fp);
    fclose(fp);
    unsetenv("QKEY_CONF");
    snprintf(reserved, sizeof(reserved), "config=%s", conf);
    CU_ASSERT_EQUAL_FATAL(init_with(reserved), CKR_OK);
    CU_ASSERT_EQUAL(f->C_GetSlotList(CK_TRUE, &slot, &n), CKR_OK);
    CU_ASSERT_EQUAL(n, 1); /* the file named there configured a token */
    CU_ASSERT_EQUAL(f->C_Finalize(NULL), CKR_OK);
}

int main(void)
{
    const char *module = getenv("QKEY_P11_MODULE");
    CK_C_GetFunctionList gfl;
    void *dl;
    unsigned failed;
    char cmd[600];

    if (module == NULL || mkdtemp(dir) == NULL || (dl = dlopen(module, RTLD_NOW)) == NULL ||
        (gfl = (CK_C_GetFunctionList)dlsym(dl, "C_GetFunctionList")) == NULL || gfl(&f) != CKR_OK)
        return 2;
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    CU_pSuite s = CU_add_suite("pkcs11_reserved", NULL, NULL);
    CU_add_test(s, "garbage pReserved refused, no crash", test_garbage_refused);
    CU_add_test(s, "config=FILE in pReserved", test_config_string);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    dlclose(dl);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return failed == 0 && system(cmd) == 0 ? 0 : 1;
}
