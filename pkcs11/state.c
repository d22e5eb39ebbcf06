/*
 * The token's state and the entry/leave discipline every entry point follows: the bottom of the
 * token's file order (pkcs11/internal.h). library.c builds a QKT_LIB under its init mutex while
 * `qkt_lib` points at it for the modules that fill it, and publishes it with qkt_publish() only
 * when it is complete: entry points test the published pointer (qkt_initialised), so no call
 * from another thread ever sees a half-built library, and C_Finalize unpublishes it before
 * anything is freed.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

QKT_LIB *qkt_lib;
static QKT_LIB *published;

void qkt_publish(QKT_LIB *lib)
{
    __atomic_store_n(&published, lib, __ATOMIC_RELEASE);
}

/* 1 if lib was made by this process (not inherited across fork). */
int qkt_lib_ours(const QKT_LIB *lib)
{
    if (lib->fork_guard != NULL)
        return *lib->fork_guard == 1;
    return lib->pid == getpid();
}

int qkt_initialised(void)
{
    QKT_LIB *lib = __atomic_load_n(&published, __ATOMIC_ACQUIRE);
    return lib != NULL && qkt_lib_ours(lib);
}

int qkt_token_absent(void)
{
    QKT_LIB *lib = __atomic_load_n(&published, __ATOMIC_ACQUIRE);
    return lib != NULL && lib->absent;
}

CK_RV qkt_enter(void)
{
    if (!qkt_initialised())
        return CKR_CRYPTOKI_NOT_INITIALIZED;
    qkt_lock();
    if (!qkt_initialised()) {
        qkt_unlock();
        return CKR_CRYPTOKI_NOT_INITIALIZED;
    }
    qkt_lib->synced = 0; /* one refresh of the token-object cache per entry point, at most */
    return CKR_OK;
}

void qkt_leave(void)
{
    if (qkt_lib != NULL)
        qkt_lib->synced = 0; /* outside an entry point every lookup refreshes, as before */
    qkt_unlock();
}

/* A library loaded into someone else's program says nothing on its own: why C_Initialize or an
 * operation failed goes to stderr only when QKEY_PKCS11_DEBUG is set (docs/pkcs11.md). */
void qkt_debug(const char *fmt, ...)
{
    va_list ap;

    if (getenv("QKEY_PKCS11_DEBUG") == NULL)
        return;
    va_start(ap, fmt);
    fputs("qkey-pkcs11: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

void qkt_padcpy(CK_UTF8CHAR *dst, const char *src, size_t n)
{
    size_t len = strlen(src);
    memset(dst, ' ', n);
    memcpy(dst, src, len < n ? len : n);
}
