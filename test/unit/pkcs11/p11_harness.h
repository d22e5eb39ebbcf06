/*
 * Test harness for the token's conformance and known-answer suites: the same cases run against
 * libqkey-pkcs11.so and SoftHSM2 through nothing but the PKCS#11 function list.
 * A case that fails on SoftHSM2 marks a wrong test unless the spec says SoftHSM2 is wrong
 * (the case then says so and expects each module's answer separately).
 */
#ifndef QKEY_TEST_P11_HARNESS_H
#define QKEY_TEST_P11_HARNESS_H

#include <p11-kit/pkcs11.h>

#define SO_PIN   "12345678"
#define USER_PIN "123456"

typedef struct {
    const char *name; /* "qkey" or "softhsm" */
    int is_qkey;
    CK_FUNCTION_LIST *f;
    CK_SLOT_ID slot;
    char dir[256]; /* temporary directory holding the token */
    char label[33];
} P11;

extern P11 p11;

/* Load module `which` ("qkey": $QKEY_P11_MODULE, "softhsm": SoftHSM2) with a fresh,
 * initialised token labelled `label` and a user PIN. 0 on success. */
int p11_setup(const char *which, const char *label);
void p11_teardown(void);
/* Reload the module (same token): C_Finalize + C_Initialize, as a process restart would. */
int p11_restart(void);
/* A R/W session logged in as the user (or not, when login is 0). */
CK_SESSION_HANDLE p11_session(int login);
/* 1 if the module lists the mechanism. */
int p11_has_mech(CK_MECHANISM_TYPE m);
/* Session AES key with the given value; extra attributes appended. */
CK_OBJECT_HANDLE p11_aes_key(CK_SESSION_HANDLE s, const unsigned char *val, CK_ULONG len,
                             const CK_ATTRIBUTE *extra, CK_ULONG nextra);
CK_OBJECT_HANDLE p11_secret(CK_SESSION_HANDLE s, CK_KEY_TYPE kt, const unsigned char *val,
                            CK_ULONG len, const CK_ATTRIBUTE *extra, CK_ULONG nextra);
/* Hex helpers: decode into buf (returns length). */
size_t p11_unhex(const char *hex, unsigned char *buf);
/* Run the CUnit registry given; returns the process exit status. */
int p11_run(const char *which);

/* Assert a PKCS#11 call's result, printing the module's actual answer when it differs. */
#define EXPECT(call, want)                                                                         \
    do {                                                                                           \
        CK_RV _rv = (call);                                                                        \
        if (_rv != (CK_RV)(want))                                                                  \
            fprintf(stderr, "  [%s] line %d: %s -> 0x%lx, expected 0x%lx\n", p11.name, __LINE__,   \
                    #call, _rv, (CK_RV)(want));                                                    \
        CU_ASSERT_EQUAL(_rv, (CK_RV)(want));                                                       \
    } while (0)

#define BOOL_ATTR(t, v)                                                                            \
    {                                                                                              \
        (t), (CK_VOID_PTR) & (v), sizeof(CK_BBOOL)                                                 \
    }

#endif
