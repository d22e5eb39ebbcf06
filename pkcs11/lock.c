/*
 * The token's one library lock. PKCS#11 Base 3.0, 5.4 (C_Initialize): with CKF_OS_LOCKING_OK
 * the library may use the OS's primitives; with the application's four mutex callbacks and no
 * CKF_OS_LOCKING_OK it must use those (we do); with neither, the application promises not to
 * call from several threads, and a pthread mutex costs nothing. A partial set of callbacks is
 * CKR_ARGUMENTS_BAD.
 */
#include <pthread.h>
#include <string.h>

#include "internal.h"

static pthread_mutex_t os_mutex = PTHREAD_MUTEX_INITIALIZER;
static CK_C_INITIALIZE_ARGS app;
static void *app_mutex;
static int use_app;

CK_RV qkt_lock_setup(const CK_C_INITIALIZE_ARGS *args)
{
    /* A forked child may inherit the mutex locked by a parent thread that does not exist here:
     * start from a fresh one. */
    pthread_mutex_init(&os_mutex, NULL);
    use_app = 0;
    app_mutex = NULL;
    if (args == NULL)
        return CKR_OK;
    int given = (args->CreateMutex != NULL) + (args->DestroyMutex != NULL) +
                (args->LockMutex != NULL) + (args->UnlockMutex != NULL);
    if (given != 0 && given != 4)
        return CKR_ARGUMENTS_BAD;
    if (given == 0 || (args->flags & CKF_OS_LOCKING_OK))
        return CKR_OK;
    app = *args;
    if (app.CreateMutex(&app_mutex) != CKR_OK || app_mutex == NULL)
        return CKR_CANT_LOCK;
    use_app = 1;
    return CKR_OK;
}

void qkt_lock_teardown(void)
{
    if (use_app && app_mutex != NULL)
        (void)app.DestroyMutex(app_mutex); /* nothing to do about a failure at teardown */
    use_app = 0;
    app_mutex = NULL;
}

void qkt_lock(void)
{
    if (use_app)
        (void)app.LockMutex(app_mutex); /* the application's mutex: its failure is its bug */
    else
        pthread_mutex_lock(&os_mutex);
}

void qkt_unlock(void)
{
    if (use_app)
        (void)app.UnlockMutex(app_mutex);
    else
        pthread_mutex_unlock(&os_mutex);
}
