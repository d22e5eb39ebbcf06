/*
 * qkey-only behaviour the spec leaves to the token: a forked child that calls C_Initialize
 * gets CKR_OK and fresh state, never its parent's sessions or keys, and the parent carries on;
 * a user PIN locks after token.max_login_attempts failures (flags on the way) and the SO
 * unlocks it with C_InitPIN.
 */
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <CUnit/Basic.h>

#include "p11_harness.h"

#define F p11.f

/* Runs in the child; exit status = number of the first failed check (0: all good). */
static int child(CK_SESSION_HANDLE parent_s, CK_OBJECT_HANDLE parent_key)
{
    CK_SESSION_INFO info;
    CK_SESSION_HANDLE s;
    CK_ATTRIBUTE q = {CKA_LABEL, NULL, 0};
    if (F->C_GetSessionInfo(parent_s, &info) != CKR_CRYPTOKI_NOT_INITIALIZED)
        return 1;
    if (F->C_Initialize(NULL) != CKR_OK)
        return 2;
    if (F->C_GetSessionInfo(parent_s, &info) != CKR_SESSION_HANDLE_INVALID)
        return 3;
    if (F->C_OpenSession(p11.slot, CKF_SERIAL_SESSION, NULL, NULL, &s) != CKR_OK)
        return 4;
    if (F->C_GetAttributeValue(s, parent_key, &q, 1) != CKR_OBJECT_HANDLE_INVALID)
        return 5; /* the parent's session key is not here */
    if (F->C_GetSessionInfo(s, &info) != CKR_OK || info.state != CKS_RO_PUBLIC_SESSION)
        return 6; /* not logged in, though the parent is */
    CK_BYTE r[16];
    if (F->C_GenerateRandom(s, r, sizeof(r)) != CKR_OK)
        return 7;
    if (F->C_Finalize(NULL) != CKR_OK)
        return 8;
    return 0;
}

static void test_fork(void)
{
    static const CK_BYTE k[16] = {1};
    CK_SESSION_HANDLE s = p11_session(1);
    CK_ATTRIBUTE lbl = {CKA_LABEL, "parent", 6};
    CK_OBJECT_HANDLE key = p11_aes_key(s, k, 16, &lbl, 1);
    CU_ASSERT_NOT_EQUAL_FATAL(key, CK_INVALID_HANDLE);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0)
        _exit(child(s, key));
    int status = -1;
    CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
    CU_ASSERT_TRUE(WIFEXITED(status));
    if (WEXITSTATUS(status) != 0)
        fprintf(stderr, "  child failed check %d\n", WEXITSTATUS(status));
    CU_ASSERT_EQUAL(WEXITSTATUS(status), 0);
    /* the parent's session and key are untouched */
    CK_BYTE buf[16];
    CK_ATTRIBUTE q = {CKA_LABEL, buf, sizeof(buf)};
    EXPECT(F->C_GetAttributeValue(s, key, &q, 1), CKR_OK);
    CU_ASSERT(q.ulValueLen == 6 && memcmp(buf, "parent", 6) == 0);
    (void)F->C_CloseAllSessions(p11.slot);
}

/* A locked user PIN: even the right PIN is refused; the SO sets a new one, which unlocks. */
static void expect_locked_then_so_unlock(CK_SESSION_HANDLE s)
{
    EXPECT(F->C_Login(s, CKU_USER, (CK_UTF8CHAR *)USER_PIN, 6), CKR_PIN_LOCKED);
    EXPECT(F->C_Login(s, CKU_SO, (CK_UTF8CHAR *)SO_PIN, 8), CKR_OK);
    EXPECT(F->C_InitPIN(s, (CK_UTF8CHAR *)USER_PIN, 6), CKR_OK);
    EXPECT(F->C_Logout(s), CKR_OK);
    EXPECT(F->C_Login(s, CKU_USER, (CK_UTF8CHAR *)USER_PIN, 6), CKR_OK);
}

static void test_pin_lockout(void)
{
    CK_SESSION_HANDLE s = p11_session(0);
    CK_TOKEN_INFO ti;
    for (int i = 0; i < 9; i++)
        EXPECT(F->C_Login(s, CKU_USER, (CK_UTF8CHAR *)"000000", 6), CKR_PIN_INCORRECT);
    EXPECT(F->C_GetTokenInfo(p11.slot, &ti), CKR_OK);
    CU_ASSERT_TRUE(ti.flags & CKF_USER_PIN_COUNT_LOW);
    CU_ASSERT_TRUE(ti.flags & CKF_USER_PIN_FINAL_TRY);
    EXPECT(F->C_Login(s, CKU_USER, (CK_UTF8CHAR *)"000000", 6), CKR_PIN_INCORRECT);
    EXPECT(F->C_GetTokenInfo(p11.slot, &ti), CKR_OK);
    CU_ASSERT_TRUE(ti.flags & CKF_USER_PIN_LOCKED);
    expect_locked_then_so_unlock(s);
    EXPECT(F->C_GetTokenInfo(p11.slot, &ti), CKR_OK);
    CU_ASSERT_FALSE(ti.flags & (CKF_USER_PIN_LOCKED | CKF_USER_PIN_COUNT_LOW));
    (void)F->C_CloseAllSessions(p11.slot);
}

/* 150 processes try a wrong PIN at the same moment: no more than token.max_login_attempts
 * (10 by default) are checked, the rest are told the PIN is locked, and so is the right PIN. */
#define RACERS 150
static void test_pin_race(void)
{
    int go[2], incorrect = 0, locked = 0, other = 0;
    pid_t pids[RACERS];
    CK_SESSION_HANDLE s;
    CK_TOKEN_INFO ti;

    CU_ASSERT_FATAL(pipe(go) == 0);
    fflush(NULL);
    for (int i = 0; i < RACERS; i++) {
        if ((pids[i] = fork()) == 0) {
            char c;
            CK_SESSION_HANDLE cs;
            close(go[1]);
            if (read(go[0], &c, 1) < 0) /* EOF when the parent closes: all start at once */
                _exit(3);
            /* a forked child starts afresh (Base 3.0, 5.4): initialise and find the token */
            CK_SLOT_ID slots[4];
            CK_ULONG n = 4;
            if (F->C_Initialize(NULL) != CKR_OK || F->C_GetSlotList(CK_TRUE, slots, &n) != CKR_OK ||
                n == 0 || F->C_OpenSession(slots[0], CKF_SERIAL_SESSION, NULL, NULL, &cs) != CKR_OK)
                _exit(4);
            CK_RV rv = F->C_Login(cs, CKU_USER, (CK_UTF8CHAR *)"000000", 6);
            _exit(rv == CKR_PIN_INCORRECT ? 0 : rv == CKR_PIN_LOCKED ? 1 : 2);
        }
        CU_ASSERT_FATAL(pids[i] > 0);
    }
    close(go[0]);
    close(go[1]);
    for (int i = 0; i < RACERS; i++) {
        int st = -1;
        waitpid(pids[i], &st, 0);
        int code = WIFEXITED(st) ? WEXITSTATUS(st) : 9;
        incorrect += code == 0;
        locked += code == 1;
        other += code > 1;
    }
    printf("\n  %d wrong PINs checked, %d refused as locked, %d other\n", incorrect, locked, other);
    CU_ASSERT(incorrect >= 1 && incorrect <= 10);
    CU_ASSERT_EQUAL(incorrect + locked, RACERS);
    CU_ASSERT_EQUAL(other, 0);
    s = p11_session(0);
    EXPECT(F->C_GetTokenInfo(p11.slot, &ti), CKR_OK);
    CU_ASSERT_TRUE(ti.flags & CKF_USER_PIN_LOCKED);
    expect_locked_then_so_unlock(s);
    (void)F->C_CloseAllSessions(p11.slot);
}

/* Two processes on one token store: this one wraps a token key under another token key, while
 * a second process commits (creates and destroys token objects) in a loop. A commit by the
 * other process between the two key lookups of one C_WrapKey used to free the first key (the
 * cache was rebuilt at each lookup): ASan saw a use-after-free. Every wrap must give the same
 * bytes. */
static void test_two_processes_wrap(void)
{
    static const CK_BYTE kek[32] = {7}, val[32] = {9};
    CK_BBOOL yes = CK_TRUE;
    CK_ATTRIBUTE tok[] = {{CKA_TOKEN, &yes, 1}, {CKA_WRAP, &yes, 1}, {CKA_EXTRACTABLE, &yes, 1}};
    CK_SESSION_HANDLE s = p11_session(1);
    CK_OBJECT_HANDLE w = p11_aes_key(s, kek, 32, tok, 3), k = p11_aes_key(s, val, 32, tok, 3);
    CK_MECHANISM m = {0x0000210BUL /* CKM_AES_KEY_WRAP_KWP, PKCS#11 3.0 */, NULL, 0};
    CK_BYTE first[64], out[64];
    CK_ULONG n1 = sizeof(first), n;
    int same = 0, rounds = 0;
    pid_t pid;

    CU_ASSERT_FATAL(w != CK_INVALID_HANDLE && k != CK_INVALID_HANDLE);
    EXPECT(F->C_WrapKey(s, &m, w, k, first, &n1), CKR_OK);
    fflush(NULL);
    if ((pid = fork()) == 0) { /* the writer: a commit every few hundred microseconds */
        CK_SLOT_ID slots[4];
        CK_ULONG ns = 4;
        CK_SESSION_HANDLE cs;
        if (F->C_Initialize(NULL) != CKR_OK || F->C_GetSlotList(CK_TRUE, slots, &ns) != CKR_OK ||
            F->C_OpenSession(slots[0], CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &cs) !=
                CKR_OK ||
            F->C_Login(cs, CKU_USER, (CK_UTF8CHAR *)USER_PIN, 6) != CKR_OK)
            _exit(2);
        for (int i = 0; i < 400; i++) {
            CK_OBJECT_CLASS cls = CKO_DATA;
            CK_ATTRIBUTE t[] = {{CKA_CLASS, &cls, sizeof(cls)}, {CKA_TOKEN, &yes, 1}};
            CK_OBJECT_HANDLE h;
            if (F->C_CreateObject(cs, t, 2, &h) != CKR_OK || F->C_DestroyObject(cs, h) != CKR_OK)
                _exit(3);
        }
        _exit(0);
    }
    CU_ASSERT_FATAL(pid > 0);
    for (int st; waitpid(pid, &st, WNOHANG) == 0; rounds++) {
        n = sizeof(out);
        if (F->C_WrapKey(s, &m, w, k, out, &n) == CKR_OK && n == n1 && memcmp(out, first, n) == 0)
            same++;
    }
    printf("\n  %d wraps during the other process's 800 commits, %d identical\n", rounds, same);
    CU_ASSERT(rounds > 0);
    CU_ASSERT_EQUAL(same, rounds);
    (void)F->C_CloseAllSessions(p11.slot);
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    if (p11_setup("qkey", "fork") != 0) {
        p11_teardown();
        return 1;
    }
    CU_pSuite suite = CU_add_suite("qkey", NULL, NULL);
    CU_add_test(suite, "forked child gets fresh state", test_fork);
    CU_add_test(suite, "user PIN lockout and SO unlock", test_pin_lockout);
    CU_add_test(suite, "150 processes, wrong PIN at once: lockout holds", test_pin_race);
    CU_add_test(suite, "two processes: wraps while the other commits", test_two_processes_wrap);
    int rc = p11_run("qkey");
    p11_teardown();
    return rc;
}
