/*
 * Where the qkey provider is, and how a generated openssl.cnf names it. Shared by `qkey sim init`
 * and `qkey-kme-sim init`, so both find the same module and write the same `module =` line.
 */
#ifndef QKEY_TOOLS_MODULE_PATH_H
#define QKEY_TOOLS_MODULE_PATH_H

#include <stddef.h>

/* Directory of the running executable (from /proc/self/exe). 1 on success. */
int qkt_exe_dir(char *buf, size_t len);

/*
 * The provider module, absolute: $QKEY_PROVIDER_MODULE (made absolute), else qkey.so at the
 * install layout's place relative to this executable (build and install trees have the same
 * layout: <exe dir>/QKEY_MODULES_REL/qkey.so) when that file exists, else the compile-time
 * install path. 1 on success, 0 when it does not fit in buf or cannot be resolved.
 */
int qkt_provider_module(char *buf, size_t len);

/*
 * The `module = PATH` line for an openssl.cnf provider section, or a comment line when `module`
 * is qkey.so in OpenSSL's own modules directory (`openssl version -m`, and no $OPENSSL_MODULES):
 * there OpenSSL finds the provider by its name alone, as for a packaged install. Returns 1 for
 * the short form, 0 for the full line, -1 when the line does not fit in buf.
 */
int qkt_module_line(const char *module, char *buf, size_t len);

#endif
