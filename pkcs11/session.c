/*
 * Sessions (PKCS#11 Base 3.0, 5.6): the table of open sessions, each with at most one operation
 * of each kind and one object search: opening, lookup and state. Closing is session_close.c,
 * high in the file order, since it ends operations, searches, session objects and the login.
 */
#include <stdlib.h>

#include "internal.h"

CK_RV qkt_session_open(CK_FLAGS flags, CK_SESSION_HANDLE *out)
{
    QKT_LIB *lib = qkt_lib;
    QKT_SESSION *s;

    if (lib->login == CKU_SO && !(flags & CKF_RW_SESSION))
        return CKR_SESSION_READ_WRITE_SO_EXISTS;
    if (lib->nsessions == lib->cap_sessions) {
        size_t cap = lib->cap_sessions ? lib->cap_sessions * 2 : 16;
        QKT_SESSION **n = realloc(lib->sessions, cap * sizeof(*n));
        if (n == NULL)
            return CKR_HOST_MEMORY;
        lib->sessions = n;
        lib->cap_sessions = cap;
    }
    if ((s = calloc(1, sizeof(*s))) == NULL)
        return CKR_HOST_MEMORY;
    s->handle = QKT_SESSION_HBIT | (lib->next_session++ & ~QKT_SESSION_HBIT);
    s->flags = flags & (CKF_RW_SESSION | CKF_SERIAL_SESSION);
    lib->sessions[lib->nsessions++] = s;
    *out = s->handle;
    return CKR_OK;
}

size_t qkt_session_index(CK_SESSION_HANDLE h)
{
    QKT_LIB *lib = qkt_lib;
    for (size_t i = 0; i < lib->nsessions; i++)
        if (lib->sessions[i]->handle == h)
            return i;
    return (size_t)-1;
}

CK_RV qkt_session_get(CK_SESSION_HANDLE h, QKT_SESSION **out)
{
    size_t i = qkt_session_index(h);
    if (i == (size_t)-1)
        return CKR_SESSION_HANDLE_INVALID;
    *out = qkt_lib->sessions[i];
    return CKR_OK;
}

size_t qkt_session_count(int rw_only)
{
    size_t n = 0;
    for (size_t i = 0; i < qkt_lib->nsessions; i++)
        if (!rw_only || (qkt_lib->sessions[i]->flags & CKF_RW_SESSION))
            n++;
    return n;
}

int qkt_session_rw(const QKT_SESSION *s)
{
    return (s->flags & CKF_RW_SESSION) != 0;
}

CK_STATE qkt_session_state(const QKT_SESSION *s)
{
    int rw = qkt_session_rw(s);
    switch (qkt_lib->login) {
    case CKU_SO:
        return CKS_RW_SO_FUNCTIONS;
    case CKU_USER:
        return rw ? CKS_RW_USER_FUNCTIONS : CKS_RO_USER_FUNCTIONS;
    default:
        return rw ? CKS_RW_PUBLIC_SESSION : CKS_RO_PUBLIC_SESSION;
    }
}
