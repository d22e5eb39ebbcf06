/*
 * Closing sessions (PKCS#11 Base 3.0, 5.6): a closed session's operations and search end and the
 * session objects it made are destroyed; closing the last session logs the application out.
 */
#include <stdlib.h>

#include "internal.h"

static void session_free(QKT_SESSION *s)
{
    qkt_op_free(s->enc);
    qkt_op_free(s->dec);
    qkt_op_free(s->digest);
    qkt_op_free(s->sign);
    qkt_op_free(s->verify);
    qkt_find_free(s->find);
    free(s);
}

static void after_last_session(void)
{
    if (qkt_lib->nsessions == 0 && qkt_lib->login != (CK_USER_TYPE)-1)
        (void)qkt_logout(); /* Base 3.0, 5.6: closing the last session logs out; cannot fail */
}

CK_RV qkt_session_close(CK_SESSION_HANDLE h)
{
    QKT_LIB *lib = qkt_lib;
    size_t i = qkt_session_index(h);
    if (i == (size_t)-1)
        return CKR_SESSION_HANDLE_INVALID;
    QKT_SESSION *s = lib->sessions[i];
    lib->sessions[i] = lib->sessions[--lib->nsessions];
    qkt_objects_drop_session(s->handle);
    session_free(s);
    after_last_session();
    return CKR_OK;
}

void qkt_session_close_all(void)
{
    QKT_LIB *lib = qkt_lib;
    while (lib->nsessions > 0) {
        QKT_SESSION *s = lib->sessions[--lib->nsessions];
        qkt_objects_drop_session(s->handle);
        session_free(s);
    }
    after_last_session();
}
