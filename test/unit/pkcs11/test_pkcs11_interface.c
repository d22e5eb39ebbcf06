/*
 * The PKCS#11 3.0 interface entry points as a 3.0 application sees them: dlsym
 * C_GetInterfaceList / C_GetInterface from libqkey-pkcs11.so and use them through the ABI of
 * Base 3.0, 3.6 (name, function list, flags). Built against whichever header the platform has
 * (p11-kit 0.24's 2.40 one on Debian 12, p11-kit 0.25's 3.0 one on Debian 13), so a mismatch
 * between the exported functions and the system header shows up here on both.
 */
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <CUnit/Basic.h>
#include "p11_harness.h"

typedef struct { /* CK_INTERFACE, Base 3.0, 3.6: the ABI, independent of the header */
    char *name;
    void *functions;
    CK_FLAGS flags;
} ABI_INTERFACE;
typedef CK_RV (*get_list_fn)(ABI_INTERFACE *, CK_ULONG *);
typedef CK_RV (*get_one_fn)(unsigned char *, CK_VERSION *, ABI_INTERFACE **, CK_FLAGS);

static void *dl;
static get_list_fn get_list;
static get_one_fn get_one;

static void test_list(void)
{
    ABI_INTERFACE list[4];
    CK_ULONG n = 0;

    CU_ASSERT_EQUAL(get_list(NULL, NULL), CKR_ARGUMENTS_BAD);
    CU_ASSERT_EQUAL(get_list(NULL, &n), CKR_OK);
    CU_ASSERT_EQUAL(n, 2);
    n = 1;
    CU_ASSERT_EQUAL(get_list(list, &n), CKR_BUFFER_TOO_SMALL);
    CU_ASSERT_EQUAL(n, 2);
    n = 4;
    CU_ASSERT_EQUAL_FATAL(get_list(list, &n), CKR_OK);
    CU_ASSERT_EQUAL_FATAL(n, 2);
    for (CK_ULONG i = 0; i < n; i++) {
        const CK_VERSION *v = list[i].functions;
        CU_ASSERT_STRING_EQUAL(list[i].name, "PKCS 11");
        CU_ASSERT(v->major == 3 || (v->major == 2 && v->minor == 40));
    }
}

static void test_get(void)
{
    ABI_INTERFACE *itf = NULL;
    CK_VERSION v240 = {2, 40}, v31 = {3, 1};
    CK_FUNCTION_LIST *f;
    CK_INFO info;

    /* NULL name: the default interface, 3.0 */
    CU_ASSERT_EQUAL_FATAL(get_one(NULL, NULL, &itf, 0), CKR_OK);
    f = itf->functions;
    CU_ASSERT_EQUAL(f->version.major, 3);
    CU_ASSERT_EQUAL(f->version.minor, 0);
    /* the 3.0 list starts with the 2.40 functions, the same the harness initialised: use one */
    CU_ASSERT_EQUAL(f->C_GetInfo(&info), CKR_OK);
    CU_ASSERT_EQUAL(info.cryptokiVersion.major, 3);
    CU_ASSERT_EQUAL(get_one((unsigned char *)"PKCS 11", &v240, &itf, 0), CKR_OK);
    CU_ASSERT_EQUAL(((CK_VERSION *)itf->functions)->major, 2);
    CU_ASSERT_NOT_EQUAL(get_one((unsigned char *)"Vendor X", NULL, &itf, 0), CKR_OK);
    CU_ASSERT_NOT_EQUAL(get_one(NULL, &v31, &itf, 0), CKR_OK);
    CU_ASSERT_EQUAL(get_one(NULL, NULL, NULL, 0), CKR_ARGUMENTS_BAD);
}

int main(void)
{
    const char *module = getenv("QKEY_P11_MODULE");
    CU_pSuite s;
    unsigned failed;

    if (module == NULL || p11_setup("qkey", "iface") != 0 ||
        (dl = dlopen(module, RTLD_NOW | RTLD_LOCAL)) == NULL) /* the harness's handle */
        return 2;
    get_list = (get_list_fn)dlsym(dl, "C_GetInterfaceList");
    get_one = (get_one_fn)dlsym(dl, "C_GetInterface");
    if (get_list == NULL || get_one == NULL)
        return 3;
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 4;
    s = CU_add_suite("PKCS#11 3.0 interfaces", NULL, NULL);
    CU_add_test(s, "C_GetInterfaceList", test_list);
    CU_add_test(s, "C_GetInterface", test_get);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    p11_teardown();
    dlclose(dl);
    return failed ? 1 : 0;
}
