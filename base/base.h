/*
 * base: the layer under everything else (keysource/README order: base <- hwdrv <- keysource <-
 * provider, pkcs11, tools). Errors, the configuration store, the fork-safe lock, secure memory
 * and key objects: what the drivers and the key API both need. Nothing in base/ calls upward;
 * test/layers/check_layers.sh proves it on every build.
 */
#ifndef QKEY_BASE_H
#define QKEY_BASE_H

#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>

#include "qkey/qks.h"
#include "qkey/secmem.h"

/* ---- errors ------------------------------------------------------------------------------ */
/* Record the calling thread's error detail (printf-style) and return code. Never pass secrets. */
int qks_set_error(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- key objects ------------------------------------------------------------------------- */
/* Allocate a QKS_KEY with `len` bytes of locked key memory (zeroed); NULL on failure. Freed
 * with qks_key_free(). */
QKS_KEY *qks_key_alloc(size_t len);

/* ---- fork-safe lock ---------------------------------------------------------------------- */
/*
 * A short-section spin lock whose word holds the owner's pid. A forked child that inherits the
 * lock held by a parent thread (which does not exist in the child) sees a foreign pid and takes
 * the lock over, so fork never leaves a lock that nobody can release. Sections under it are a
 * few instructions long (counters, bitmaps); never hold it across I/O.
 */
typedef struct {
    atomic_int owner; /* 0 = free, else the pid of the holding process */
} QKS_LOCK;           /* zero-initialised = unlocked (static storage or calloc) */

/* This process's pid without a system call per check (cached in a wipe-on-fork page). */
int qks_getpid(void);
void qks_lock(QKS_LOCK *l);
void qks_unlock(QKS_LOCK *l);

/* ---- configuration ----------------------------------------------------------------------- */
typedef struct {
    char *key;   /* "section.name" */
    char *value; /* never a secret: credentials are file paths */
} QKS_CONFIG_ITEM;

struct qks_config_st {
    QKS_CONFIG_ITEM *items;
    size_t n, cap;
};

/* 1 if "section" is a section qkey knows ([qkd] [rng] [token] [tls]). */
int qks_config_section_known(const char *section, size_t len);
/* 1 if "section.name" is a known key (exact entry or known prefix). */
int qks_config_key_known(const char *key);
/* Copy every item of src into dst (dst values are overridden). */
int qks_config_copy(QKS_CONFIG *dst, const QKS_CONFIG *src);
/*
 * Split a qkd.peers-style list (comma and/or white space separated). Calls fn for each
 * element (not NUL-terminated: ptr + len). Stops and returns fn's non-zero result.
 */
int qks_list_foreach(const char *list, int (*fn)(const char *item, size_t len, void *arg),
                     void *arg);

/* ---- secure memory ----------------------------------------------------------------------- */
typedef struct {
    size_t pool_pages;          /* locked pool pages mapped */
    size_t slots_in_use;        /* pool slots currently allocated */
    size_t large_in_use;        /* dedicated mappings (allocations above the largest slot) */
    size_t lock_failures;       /* mlock() refusals (RLIMIT_MEMLOCK): memory still usable */
    size_t dontdump_failures;   /* madvise(MADV_DONTDUMP) refusals */
    size_t wipeonfork_failures; /* madvise(MADV_WIPEONFORK) refusals (kernel < 4.14) */
    int last_lock_errno;        /* errno of the last mlock failure, 0 if none */
} QKS_SECMEM_STATS;

void qks_secmem_stats(QKS_SECMEM_STATS *out);

#endif /* QKEY_BASE_H */
