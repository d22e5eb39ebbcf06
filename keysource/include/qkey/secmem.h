/*
 * qkey secret memory: the one place key material and random buffers live.
 * Pages are mmap'ed, mlock'ed, MADV_DONTDUMP (never in a core dump) and MADV_WIPEONFORK
 * (a forked child sees zeros, never its parent's keys). OpenSSL's secure heap is off in most
 * programs, so qkey does not rely on it.
 */
#ifndef QKEY_SECMEM_H
#define QKEY_SECMEM_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Zeroed, locked, non-dumpable, wiped-on-fork memory of n bytes; NULL on failure. */
void *qks_secure_alloc(size_t n);
/* Wipe and release what qks_secure_alloc gave. NULL is fine. The allocation is found by p
 * alone (n is not needed, kept for the callers); a pointer it did not give out, or gave out
 * and took back, aborts the process: a secret could otherwise stay unwiped. */
void qks_secure_free(void *p, size_t n);
/* Wipe n bytes at p so the compiler cannot elide it. The one wipe helper of the project. */
void qks_wipe(void *p, size_t n);
/* Constant-time comparison: 0 if equal. */
int qks_memcmp_ct(const void *a, const void *b, size_t n);

#ifdef __cplusplus
}
#endif
#endif /* QKEY_SECMEM_H */
