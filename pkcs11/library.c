/*
 * Library life cycle: C_Initialize, C_Finalize, C_GetInfo (the top of the token's file order;
 * the state they build and publish is state.c). Configuration comes from `config=FILE` in
 * pInitArgs->pReserved (p11-kit's x-init-reserved), else $QKEY_CONF, else /etc/qkey/qkey.conf when
 * it exists; the token's crypto runs in its own OSSL_LIB_CTX with the default provider loaded
 * explicitly and no OpenSSL config, so the module behaves the same inside any OpenSSL program.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <openssl/provider.h>

#include "internal.h"

/* Serialises C_Initialize/C_Finalize against each other (concurrent C_Initialize is safe). */
static pthread_mutex_t init_mutex = PTHREAD_MUTEX_INITIALIZER;
/* C_Initialize calls in this process not yet matched by C_Finalize (see C_Initialize). */

/* A forked child abandons its parent's state without touching it (the parent's database
 * handle, sessions and keys); it stays reachable here so leak checkers do not complain. */
static QKT_LIB *abandoned[8];

static void fork_guard_new(QKT_LIB *lib)
{
    long page = sysconf(_SC_PAGESIZE);
    void *p = mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return;
    if (madvise(p, (size_t)page, MADV_WIPEONFORK) != 0) {
        munmap(p, (size_t)page);
        return;
    }
    *(unsigned char *)p = 1;
    lib->fork_guard = p;
}

static void lib_free(QKT_LIB *lib)
{
    if (lib == NULL)
        return;
    qkt_lib = lib; /* the modules below work on the global */
    qkt_session_close_all();
    qkt_objects_free_all();
    free(lib->sessions);
    if (lib->tk != NULL)
        qks_secure_free(lib->tk, QKT_KEY_LEN);
    qkt_random_free();
    qkt_cipher_cache_free();
    qkt_md_cache_free();
    qkt_mac_cache_free();
    qkt_store_close();
    free(lib->store_path);
    OSSL_PROVIDER_unload(lib->seedprov);
    OSSL_PROVIDER_unload(lib->deflt);
    OSSL_LIB_CTX_free(lib->libctx);
    qks_ctx_free(lib->qks);
    if (lib->fork_guard != NULL)
        munmap((void *)lib->fork_guard, (size_t)sysconf(_SC_PAGESIZE));
    free(lib);
    qkt_lib = NULL;
}

/*
 * pInitArgs->pReserved is NULL in the spec; p11-kit passes a module's x-init-reserved string
 * there. Anything else a caller puts there (a pointer to a structure, a freed or wild pointer)
 * must be refused, never dereferenced: the string is copied through a pipe, where the kernel
 * answers EFAULT for memory that is not readable instead of the process faulting, and it must
 * be printable text ending within QKT_RESERVED_MAX bytes. 1 when *out
 * holds the copy.
 */
#define QKT_RESERVED_MAX 4096

static int reserved_copy(const void *p, char out[QKT_RESERVED_MAX])
{
    int fd[2], ok = 0;

    if (pipe2(fd, O_CLOEXEC) != 0)
        return 0;
    /* A byte at a time: never past the string's NUL, into memory that is not the caller's
     * string (a few dozen system calls, once per C_Initialize). */
    for (size_t i = 0; i < QKT_RESERVED_MAX; i++) {
        if (write(fd[1], (const char *)p + i, 1) != 1 || read(fd[0], out + i, 1) != 1)
            break;
        if (out[i] == '\0') {
            ok = 1;
            break;
        }
        if (out[i] < 0x20 || out[i] > 0x7e)
            break;
    }
    close(fd[0]);
    close(fd[1]);
    return ok;
}

/* "config=FILE" (p11-kit x-init-reserved); other words are ignored for forward compatibility. */
static char *reserved_config(const char *reserved)
{
    const char *p = reserved;
    while (p != NULL && *p != '\0') {
        while (*p == ' ' || *p == ',' || *p == ';')
            p++;
        size_t n = strcspn(p, " ,;");
        if (n > 7 && strncmp(p, "config=", 7) == 0)
            return strndup(p + 7, n - 7);
        p += n;
    }
    return NULL;
}

static CK_RV load_config(const char *reserved, QKS_CONFIG **out)
{
    char *path = reserved_config(reserved);
    int explicit = path != NULL || getenv("QKEY_CONF") != NULL;
    QKS_CONFIG *cfg = qks_config_new();
    CK_RV rv = CKR_OK;

    if (cfg == NULL) {
        free(path);
        return CKR_HOST_MEMORY;
    }
    if (path == NULL && (path = strdup(qks_config_default_path())) == NULL) {
        rv = CKR_HOST_MEMORY;
        goto done;
    }
    /* Without an explicit file, a missing /etc/qkey/qkey.conf means defaults: p11-kit loads
     * every registered module into every program, which must not fail because of us. */
    if (!explicit && access(path, F_OK) != 0)
        goto done;
    int err = qks_config_load_file(cfg, path);
    if (err != QKS_OK) {
        qkt_debug("%s: %s", path, qks_last_error());
        rv = CKR_GENERAL_ERROR;
    }
done:
    free(path);
    if (rv != CKR_OK) {
        qks_config_free(cfg);
        cfg = NULL;
    }
    *out = cfg;
    return rv;
}

static CK_RV lib_new(const char *reserved, QKT_LIB **out)
{
    QKS_CONFIG *cfg = NULL;
    QKT_LIB *lib = calloc(1, sizeof(*lib));
    CK_RV rv;
    long v;

    if (lib == NULL)
        return CKR_HOST_MEMORY;
    lib->pid = getpid();
    fork_guard_new(lib);
    lib->login = (CK_USER_TYPE)-1;
    lib->next_session = 1;
    lib->next_object = 1;
    qkt_lib = lib;
    if ((rv = load_config(reserved, &cfg)) != CKR_OK)
        goto err;
    /* Installed but not configured (the packages' /etc/qkey/qkey.conf names nothing): the
     * module loads, so p11-kit lists it, and its slot shows no token until a source of
     * randomness or keys is configured. Never a simulated source by default. */
    if (qks_config_get(cfg, "rng.source") == NULL && qks_config_get(cfg, "qkd.driver") == NULL) {
        qkt_debug("no token: the configuration names neither rng.source nor qkd.driver "
                  "(qkey.conf(5))");
        qks_config_free(cfg);
        lib->absent = 1;
        *out = lib;
        return CKR_OK;
    }
    int err = qks_ctx_new(cfg, &lib->qks);
    qks_config_free(cfg);
    if (err != QKS_OK) {
        qkt_debug("%s", qks_last_error());
        rv = CKR_GENERAL_ERROR;
        goto err;
    }
    const QKS_CONFIG *c = qks_ctx_config(lib->qks);
    rv = CKR_GENERAL_ERROR;
    if (qks_config_get_long(c, "token.pin_min", QKT_PIN_MIN_DEFAULT, 1, 255, &v) != QKS_OK)
        goto cfgerr;
    lib->pin_min = v;
    if (qks_config_get_long(c, "token.pin_max", QKT_PIN_MAX_DEFAULT, lib->pin_min, 255, &v) !=
        QKS_OK)
        goto cfgerr;
    lib->pin_max = v;
    if (qks_config_get_long(c, "token.max_login_attempts", QKT_MAX_TRIES_DFLT, 1, 1000, &v) !=
        QKS_OK)
        goto cfgerr;
    lib->max_tries = v;

    if ((lib->libctx = OSSL_LIB_CTX_new()) == NULL ||
        (lib->deflt = OSSL_PROVIDER_load(lib->libctx, "default")) == NULL) {
        rv = CKR_GENERAL_ERROR;
        goto err;
    }
    /* Before anything draws from libctx: its DRBGs are seeded from the QRNG (seedsrc.c). */
    if (qks_config_get(c, "rng.source") != NULL &&
        (rv = qkt_seed_install(lib->libctx, lib->qks, &lib->seedprov)) != CKR_OK)
        goto err;
    const char *store = qks_config_get(c, "token.store");
    if ((rv = qkt_store_open(store != NULL ? store : ":memory:")) != CKR_OK)
        goto err;
    if ((rv = qkt_token_load()) != CKR_OK)
        goto err;
    *out = lib;
    return CKR_OK;
cfgerr:
    qkt_debug("[token]: %s", qks_last_error());
err:
    lib_free(lib);
    return rv;
}

CK_RV C_Initialize(CK_VOID_PTR pInitArgs)
{
    const CK_C_INITIALIZE_ARGS *args = pInitArgs;
    QKT_LIB *lib = NULL;
    CK_RV rv;

    char checked[QKT_RESERVED_MAX];
    const char *reserved = NULL;

    if (args != NULL) {
        int given = (args->CreateMutex != NULL) + (args->DestroyMutex != NULL) +
                    (args->LockMutex != NULL) + (args->UnlockMutex != NULL);
        if (given != 0 && given != 4)
            return CKR_ARGUMENTS_BAD;
        if (args->pReserved != NULL) {
            if (!reserved_copy(args->pReserved, checked))
                return CKR_ARGUMENTS_BAD;
            reserved = checked;
        }
    }
    pthread_mutex_lock(&init_mutex);
    if (qkt_lib != NULL) {
        if (qkt_lib_ours(qkt_lib)) {
            /* Base 3.0, 5.4: one initialisation per process. p11-kit's proxy, which most
             * programs load modules through, already counts its own users. */
            rv = CKR_CRYPTOKI_ALREADY_INITIALIZED;
            goto done;
        }
        /* Forked child: forget the parent's state, never use or free it. */
        for (size_t i = 0; i < sizeof(abandoned) / sizeof(abandoned[0]); i++)
            if (abandoned[i] == NULL) {
                abandoned[i] = qkt_lib;
                break;
            }
        qkt_lib = NULL;
    }
    if ((rv = qkt_lock_setup(args)) != CKR_OK)
        goto done;
    rv = lib_new(reserved, &lib);
    if (rv != CKR_OK) {
        qkt_lock_teardown();
        goto done;
    }
    qkt_publish(lib); /* entry points see the library only now, fully built */
done:
    pthread_mutex_unlock(&init_mutex);
    return rv;
}

CK_RV C_Finalize(CK_VOID_PTR pReserved)
{
    CK_RV rv;

    if (pReserved != NULL)
        return CKR_ARGUMENTS_BAD;
    pthread_mutex_lock(&init_mutex);
    if ((rv = qkt_enter()) == CKR_OK) {
        QKT_LIB *lib = qkt_lib;
        qkt_publish(NULL); /* entry points stop seeing it before anything is freed */
        lib_free(lib);
        qkt_leave();
        qkt_lock_teardown();
    }
    pthread_mutex_unlock(&init_mutex);
    return rv;
}

CK_RV C_GetInfo(CK_INFO_PTR pInfo)
{
    if (!qkt_initialised())
        return CKR_CRYPTOKI_NOT_INITIALIZED;
    if (pInfo == NULL)
        return CKR_ARGUMENTS_BAD;
    memset(pInfo, 0, sizeof(*pInfo));
    pInfo->cryptokiVersion.major = 3;
    pInfo->cryptokiVersion.minor = 0;
    qkt_padcpy(pInfo->manufacturerID, QKT_MANUFACTURER, sizeof(pInfo->manufacturerID));
    qkt_padcpy(pInfo->libraryDescription, "qkey QKD and QRNG token",
               sizeof(pInfo->libraryDescription));
    unsigned maj = 0, min = 0;
    (void)sscanf(qks_version(), "%u.%u", &maj, &min); /* a malformed version reads as 0.0 */
    pInfo->libraryVersion.major = (CK_BYTE)maj;
    pInfo->libraryVersion.minor = (CK_BYTE)min;
    return CKR_OK;
}
