/*
 * The token says nothing on its own: loaded into a program with a broken configuration,
 * C_Initialize fails with nothing written to stderr; with QKEY_PKCS11_DEBUG=1 it says why.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <CUnit/Basic.h>
#include <p11-kit/pkcs11.h>

static const char *module;
static char conf[] = "/tmp/qkey-quiet-XXXXXX";

/* C_Initialize in a child whose stderr is a pipe; returns what it wrote (static buffer). */
static const char *init_stderr(int debug, CK_RV *rv)
{
    static char out[4096];
    int p[2], st;
    ssize_t n, got = 0;
    pid_t pid;

    out[0] = '\0';
    if (pipe(p) != 0 || (pid = fork()) < 0)
        return NULL;
    if (pid == 0) {
        CK_FUNCTION_LIST *f;
        CK_C_GetFunctionList gfl;
        void *dl;
        dup2(p[1], 2);
        close(p[0]);
        setenv("QKEY_CONF", conf, 1);
        if (debug)
            setenv("QKEY_PKCS11_DEBUG", "1", 1);
        else
            unsetenv("QKEY_PKCS11_DEBUG");
        if ((dl = dlopen(module, RTLD_NOW)) == NULL ||
            (gfl = (CK_C_GetFunctionList)dlsym(dl, "C_GetFunctionList")) == NULL ||
            gfl(&f) != CKR_OK)
            _exit(250);
        _exit((int)(f->C_Initialize(NULL) & 0xff)); /* CKR_GENERAL_ERROR = 5 */
    }
    close(p[1]);
    while ((n = read(p[0], out + got, sizeof(out) - 1 - (size_t)got)) > 0)
        got += n;
    out[got] = '\0';
    close(p[0]);
    waitpid(pid, &st, 0);
    *rv = WIFEXITED(st) ? (CK_RV)WEXITSTATUS(st) : 255;
    return out;
}

static void test_quiet(void)
{
    CK_RV rv;
    const char *err = init_stderr(0, &rv);

    CU_ASSERT_FATAL(err != NULL);
    CU_ASSERT_EQUAL(rv, CKR_GENERAL_ERROR);
    CU_ASSERT_STRING_EQUAL(err, "");
    err = init_stderr(1, &rv);
    CU_ASSERT_EQUAL(rv, CKR_GENERAL_ERROR);
    CU_ASSERT(strstr(err, "qkey-pkcs11: ") != NULL && strstr(err, "no_such_key") != NULL);
}

int main(void)
{
    CU_pSuite s;
    unsigned failed;
    int fd;

    if ((module = getenv("QKEY_P11_MODULE")) == NULL || (fd = mkstemp(conf)) < 0)
        return 2;
    if (write(fd, "[qkd]\nno_such_key = 1\n", 22) != 22)
        return 2;
    close(fd);
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    s = CU_add_suite("quiet", NULL, NULL);
    CU_add_test(s, "no stderr unless QKEY_PKCS11_DEBUG", test_quiet);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    unlink(conf);
    return failed ? 1 : 0;
}
