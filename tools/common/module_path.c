/* Where the qkey provider is, and how a generated openssl.cnf names it (module_path.h). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "module_path.h"

#if !defined(QKEY_MODULES_REL) || !defined(QKEY_PROVIDER_INSTALLED)
#error "QKEY_MODULES_REL and QKEY_PROVIDER_INSTALLED name the install layout (set by CMake)"
#endif

int qkt_exe_dir(char *buf, size_t len)
{
    ssize_t n;
    char *slash;

    if (len < 2)
        return 0;
    n = readlink("/proc/self/exe", buf, len - 1);
    if (n <= 0 || (size_t)n >= len - 1)
        return 0;
    buf[n] = '\0';
    slash = strrchr(buf, '/');
    if (slash == NULL)
        return 0;
    if (slash == buf)
        slash[1] = '\0';
    else
        *slash = '\0';
    return 1;
}

int qkt_provider_module(char *buf, size_t len)
{
    const char *env = getenv("QKEY_PROVIDER_MODULE");
    char dir[PATH_MAX], cand[PATH_MAX + 64], real[PATH_MAX];
    struct stat st;

    if (env != NULL && env[0] != '\0') {
        /* An explicit choice: make it absolute, since the config outlives the cwd. */
        if (env[0] == '/')
            return (size_t)snprintf(buf, len, "%s", env) < len;
        if (realpath(env, real) == NULL)
            return 0;
        return (size_t)snprintf(buf, len, "%s", real) < len;
    }
    if (qkt_exe_dir(dir, sizeof(dir))) {
        snprintf(cand, sizeof(cand), "%s/%s/qkey.so", dir, QKEY_MODULES_REL);
        if (stat(cand, &st) == 0 && S_ISREG(st.st_mode) && realpath(cand, real) != NULL)
            return (size_t)snprintf(buf, len, "%s", real) < len;
    }
    return (size_t)snprintf(buf, len, "%s", QKEY_PROVIDER_INSTALLED) < len;
}

/* 1 if `module` is <OpenSSL's modules directory>/qkey.so (both resolved). */
static int in_system_dir(const char *module)
{
    const char *sysdir = OPENSSL_info(OPENSSL_INFO_MODULES_DIR);
    char a[PATH_MAX], b[PATH_MAX], cand[PATH_MAX + 16];

    /* $OPENSSL_MODULES moves the search elsewhere for this process; a config written under
     * it must not depend on the default directory. */
    if (sysdir == NULL || getenv("OPENSSL_MODULES") != NULL)
        return 0;
    snprintf(cand, sizeof(cand), "%s/qkey.so", sysdir);
    if (realpath(cand, a) == NULL || realpath(module, b) == NULL)
        return 0;
    return strcmp(a, b) == 0;
}

int qkt_module_line(const char *module, char *buf, size_t len)
{
    int n;

    if (in_system_dir(module)) {
        n = snprintf(buf, len, "# module: none needed, OpenSSL finds qkey.so in %s\n",
                     OPENSSL_info(OPENSSL_INFO_MODULES_DIR));
        return n >= 0 && (size_t)n < len ? 1 : -1;
    }
    n = snprintf(buf, len, "module = %s\n", module);
    return n >= 0 && (size_t)n < len ? 0 : -1;
}
