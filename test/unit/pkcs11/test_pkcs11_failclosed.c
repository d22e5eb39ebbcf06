/*
 * Randomness fails closed through the token: with the RNG pointed at a stuck device (a file
 * of zeros: the SP 800-90B health tests fail), C_GenerateRandom, C_SeedRandom, key
 * generation and key-pair generation answer CKR_DEVICE_ERROR and hand out nothing; no other source
 * steps in. A real stuck input, not a mock (the rng part's own tests cover each health test). The
 * configuration comes the p11-kit way, `config=FILE` in pInitArgs->pReserved (x-init-reserved),
 * which wins over $QKEY_CONF.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <CUnit/Basic.h>

#include "p11_harness.h"

static char dir[] = "/tmp/qkey-p11fail-XXXXXX";
static char reserved[300];

static void test_stuck_source(void)
{
    CK_C_GetFunctionList gfl;
    CK_SESSION_HANDLE s;
    CK_BYTE buf[32], zero[32] = {0};
    void *dl = dlopen(getenv("QKEY_P11_MODULE"), RTLD_NOW | RTLD_LOCAL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dl);
    gfl = (CK_C_GetFunctionList)dlsym(dl, "C_GetFunctionList");
    CU_ASSERT_PTR_NOT_NULL_FATAL(gfl);
    CU_ASSERT_EQUAL_FATAL(gfl(&p11.f), CKR_OK);
    p11.name = "qkey";
    CK_C_INITIALIZE_ARGS args = {NULL, NULL, NULL, NULL, CKF_OS_LOCKING_OK, reserved};
    EXPECT(p11.f->C_Initialize(&args), CKR_OK);
    EXPECT(p11.f->C_OpenSession(1, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s), CKR_OK);
    memset(buf, 0, sizeof(buf));
    EXPECT(p11.f->C_GenerateRandom(s, buf, sizeof(buf)), CKR_DEVICE_ERROR);
    CU_ASSERT_EQUAL(memcmp(buf, zero, sizeof(buf)), 0);                     /* nothing handed out */
    EXPECT(p11.f->C_GenerateRandom(s, buf, sizeof(buf)), CKR_DEVICE_ERROR); /* latched */
    EXPECT(p11.f->C_SeedRandom(s, (CK_BYTE *)"more", 4), CKR_DEVICE_ERROR);
    /* key pairs come from the same source: none while it fails (session objects, no login) */
    static const CK_BYTE p256[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
    CK_BBOOL no = CK_FALSE;
    CK_ATTRIBUTE pub[] = {{CKA_EC_PARAMS, (void *)p256, sizeof(p256)}};
    CK_ATTRIBUTE priv[] = {{CKA_PRIVATE, &no, sizeof(no)}};
    CK_MECHANISM ec = {CKM_EC_KEY_PAIR_GEN, NULL, 0};
    CK_OBJECT_HANDLE hpub = CK_INVALID_HANDLE, hpriv = CK_INVALID_HANDLE;
    EXPECT(p11.f->C_GenerateKeyPair(s, &ec, pub, 1, priv, 1, &hpub, &hpriv), CKR_DEVICE_ERROR);
    CU_ASSERT(hpub == CK_INVALID_HANDLE && hpriv == CK_INVALID_HANDLE);
    CK_BYTE label[32];
    memset(label, ' ', sizeof(label));
    EXPECT(p11.f->C_CloseSession(s), CKR_OK);
    /* a new token key needs the RNG too */
    EXPECT(p11.f->C_InitToken(1, (CK_UTF8CHAR *)"12345678", 8, label), CKR_DEVICE_ERROR);
    EXPECT(p11.f->C_Finalize(NULL), CKR_OK);
}

int main(void)
{
    char path[256], zeros[256], text[512];
    FILE *fp;
    if (mkdtemp(dir) == NULL)
        return 2;
    snprintf(zeros, sizeof(zeros), "%s/zeros", dir);
    fp = fopen(zeros, "w");
    for (int i = 0; i < 1 << 20; i++)
        fputc(0, fp);
    fclose(fp);
    snprintf(path, sizeof(path), "%s/qkey.conf", dir);
    snprintf(text, sizeof(text), "[rng]\nsource = device:%s\n[token]\nstore = %s/t.db\n", zeros,
             dir);
    fp = fopen(path, "w");
    fputs(text, fp);
    fclose(fp);
    snprintf(reserved, sizeof(reserved), "config=%s", path);
    setenv("QKEY_CONF", "/nonexistent/qkey.conf", 1); /* would fail C_Initialize if read */
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    CU_pSuite suite = CU_add_suite("fail closed", NULL, NULL);
    CU_add_test(suite, "stuck RNG source", test_stuck_source);
    int rc = p11_run("qkey");
    snprintf(text, sizeof(text), "rm -rf '%s'", dir);
    if (system(text) != 0)
        rc = 1;
    return rc;
}
