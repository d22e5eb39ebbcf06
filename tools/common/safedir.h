/*
 * Directories that tools write secrets and configuration into (qkey sim init, qkey-kme-sim
 * init/run): trusted only when made by us, or owned by the invoking user and writable by no one
 * else, and never reached through a symbolic link.
 */
#ifndef QKEY_TOOLS_SAFEDIR_H
#define QKEY_TOOLS_SAFEDIR_H

#include <stddef.h>
#include <sys/types.h>

/* Make `dir` (mode `mode`) or accept an existing one that is a real directory (not a symbolic
 * link), owned by the effective user and not writable by group or others, in a parent that
 * others cannot swap it in (not writable by others unless sticky, like /tmp). 1 on success;
 * 0 with a message naming the path and the reason in err. */
int qsd_prepare_dir(const char *dir, mode_t mode, char *err, size_t errlen);

/* The same checks on an existing directory, without creating it. */
int qsd_check_dir(const char *dir, char *err, size_t errlen);

/* An existing file in a checked directory that we are about to open as our own store: absent
 * (1), or a regular file (not a symbolic link) owned by the effective user (1); else 0 with
 * the reason in err. */
int qsd_check_file(const char *path, char *err, size_t errlen);

#endif
