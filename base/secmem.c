/*
 * qkey secret memory: a pool of locked pages cut into fixed-size slots, so that a key per TLS
 * handshake costs a bitmap scan, not an mmap + mlock system call pair.
 *
 * Every pool page is mmap'ed privately, mlock'ed (never swapped), MADV_DONTDUMP (never in a
 * core dump) and MADV_WIPEONFORK (a forked child reads zeros, never its parent's keys).
 * Allocations above the largest slot get their own mapping with the same properties.
 * mlock can fail under RLIMIT_MEMLOCK; the memory is still handed out (refusing would take
 * the service down) and the failure is counted for `qkey status`. Locks are not inherited
 * across fork, so the first allocation in a child locks the pool pages again.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "base.h"

#ifndef MADV_WIPEONFORK
#define MADV_WIPEONFORK 18
#endif

#define SM_MIN_SLOT       32u   /* smallest slot: 2^5 */
#define SM_MAX_SLOT       2048u /* largest slot: 2^11; larger requests get their own mapping */
#define SM_CLASSES        7     /* 32, 64, 128, 256, 512, 1024, 2048 */
#define SM_PAGE_MAX_SLOTS 128   /* 4096 / 32 */
#define SM_CHUNK          16    /* pages mapped at a time */

typedef struct {
    unsigned char *base; /* one page */
    unsigned slot_size;  /* 0 while the page is free for any class */
    unsigned nslots;
    unsigned used;
    uint64_t bitmap[SM_PAGE_MAX_SLOTS / 64];
} SM_PAGE;

typedef struct {
    void *base;
    size_t len;
} SM_LARGE;

static QKS_LOCK sm_lock; /* zero: unlocked */
static SM_PAGE *sm_pages;
static size_t sm_npages, sm_cap_pages;
static SM_LARGE *sm_large;
static size_t sm_nlarge, sm_cap_large;
static size_t sm_pagesize;
static int sm_pid; /* process that locked the pages */
static QKS_SECMEM_STATS sm_stats;

void qks_wipe(void *p, size_t n)
{
    if (p != NULL && n > 0)
        OPENSSL_cleanse(p, n);
}

int qks_memcmp_ct(const void *a, const void *b, size_t n)
{
    return CRYPTO_memcmp(a, b, n) != 0;
}

/* mlock(2) by system call: sanitizer runtimes replace mlock() with a no-op that reports
 * success, which would make the sanitizer build lie about locking. */
static int sm_mlock(void *base, size_t len)
{
    return (int)syscall(SYS_mlock, base, len);
}

/* Lock and mark a fresh mapping. Caller holds sm_lock. */
static void sm_protect(void *base, size_t len)
{
    if (sm_mlock(base, len) != 0) {
        sm_stats.lock_failures++;
        sm_stats.last_lock_errno = errno;
    }
    if (madvise(base, len, MADV_DONTDUMP) != 0)
        sm_stats.dontdump_failures++;
    if (madvise(base, len, MADV_WIPEONFORK) != 0)
        sm_stats.wipeonfork_failures++;
}

/* In a forked child the pool is mapped (and zeroed by WIPEONFORK) but no longer locked. */
static void sm_check_fork(void)
{
    int me = qks_getpid();
    if (sm_pid == me)
        return;
    if (sm_pid != 0) {
        for (size_t i = 0; i < sm_npages; i += 1)
            if (sm_mlock(sm_pages[i].base, sm_pagesize) != 0) {
                sm_stats.lock_failures++;
                sm_stats.last_lock_errno = errno;
            }
        for (size_t i = 0; i < sm_nlarge; i++)
            if (sm_mlock(sm_large[i].base, sm_large[i].len) != 0) {
                sm_stats.lock_failures++;
                sm_stats.last_lock_errno = errno;
            }
    }
    sm_pid = me;
}

static unsigned sm_class_size(size_t n)
{
    unsigned s = SM_MIN_SLOT;
    while (s < n)
        s <<= 1;
    return s;
}

/* Map a chunk of pages into the pool. Caller holds sm_lock. */
static int sm_grow(void)
{
    const size_t chunk = SM_CHUNK;
    if (sm_npages + chunk > sm_cap_pages) {
        size_t ncap = sm_cap_pages ? sm_cap_pages * 2 : 64;
        while (ncap < sm_npages + chunk)
            ncap *= 2;
        SM_PAGE *np = realloc(sm_pages, ncap * sizeof(*np));
        if (np == NULL)
            return 0;
        sm_pages = np;
        sm_cap_pages = ncap;
    }
    unsigned char *base =
        mmap(NULL, chunk * sm_pagesize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED)
        return 0;
    sm_protect(base, chunk * sm_pagesize);
    for (size_t i = 0; i < chunk; i++) {
        SM_PAGE *pg = &sm_pages[sm_npages++];
        memset(pg, 0, sizeof(*pg));
        pg->base = base + i * sm_pagesize;
    }
    sm_stats.pool_pages = sm_npages;
    return 1;
}

static void *sm_alloc_slot(size_t n)
{
    unsigned size = sm_class_size(n);
    SM_PAGE *pg = NULL;

    for (size_t i = 0; i < sm_npages && pg == NULL; i++)
        if (sm_pages[i].slot_size == size && sm_pages[i].used < sm_pages[i].nslots)
            pg = &sm_pages[i];
    for (size_t i = 0; i < sm_npages && pg == NULL; i++)
        if (sm_pages[i].slot_size == 0)
            pg = &sm_pages[i];
    if (pg == NULL) {
        if (!sm_grow())
            return NULL;
        pg = &sm_pages[sm_npages - 1];
    }
    if (pg->slot_size == 0) {
        pg->slot_size = size;
        pg->nslots = (unsigned)(sm_pagesize / size);
        if (pg->nslots > SM_PAGE_MAX_SLOTS)
            pg->nslots = SM_PAGE_MAX_SLOTS;
        pg->used = 0;
        memset(pg->bitmap, 0, sizeof(pg->bitmap));
    }
    for (unsigned s = 0; s < pg->nslots; s++) {
        uint64_t bit = (uint64_t)1 << (s % 64);
        if ((pg->bitmap[s / 64] & bit) == 0) {
            pg->bitmap[s / 64] |= bit;
            pg->used++;
            sm_stats.slots_in_use++;
            return pg->base + (size_t)s * size;
        }
    }
    return NULL; /* not reached: used < nslots */
}

static void *sm_alloc_large(size_t n)
{
    size_t len = (n + sm_pagesize - 1) / sm_pagesize * sm_pagesize;
    if (sm_nlarge == sm_cap_large) {
        size_t ncap = sm_cap_large ? sm_cap_large * 2 : 8;
        SM_LARGE *nl = realloc(sm_large, ncap * sizeof(*nl));
        if (nl == NULL)
            return NULL;
        sm_large = nl;
        sm_cap_large = ncap;
    }
    void *base = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED)
        return NULL;
    sm_protect(base, len);
    sm_large[sm_nlarge].base = base;
    sm_large[sm_nlarge].len = len;
    sm_nlarge++;
    sm_stats.large_in_use = sm_nlarge;
    return base;
}

void *qks_secure_alloc(size_t n)
{
    void *p;

    if (n == 0)
        n = 1;
    qks_lock(&sm_lock);
    if (sm_pagesize == 0)
        sm_pagesize = (size_t)sysconf(_SC_PAGESIZE);
    sm_check_fork();
    p = n <= SM_MAX_SLOT ? sm_alloc_slot(n) : sm_alloc_large(n);
    qks_unlock(&sm_lock);
    if (p != NULL)
        memset(p, 0, n); /* a freed slot is wiped already; this is for the contract's sake */
    return p;
}

/* Found by the pointer alone: a caller's size that disagrees with the allocation (it once
 * decided between the pool and the large mappings, so a wrong one wiped and freed nothing) no
 * longer matters. A pointer this allocator never gave out, or gave out and took back, is a bug
 * that could leave a secret unwiped or free someone else's memory: abort, loudly. */
void qks_secure_free(void *p, size_t n)
{
    unsigned char *c = p;
    int found = 0;

    (void)n;
    if (p == NULL)
        return;
    qks_lock(&sm_lock);
    for (size_t i = 0; i < sm_npages && !found; i++) {
        SM_PAGE *pg = &sm_pages[i];
        if (c < pg->base || c >= pg->base + sm_pagesize)
            continue;
        size_t off = (size_t)(c - pg->base);
        if (pg->slot_size == 0 || off % pg->slot_size != 0)
            break; /* inside the pool, but not the start of a slot */
        unsigned s = (unsigned)(off / pg->slot_size);
        uint64_t bit = (uint64_t)1 << (s % 64);
        if ((pg->bitmap[s / 64] & bit) == 0)
            break; /* a slot not in use: freed twice */
        qks_wipe(pg->base + (size_t)s * pg->slot_size, pg->slot_size);
        pg->bitmap[s / 64] &= ~bit;
        pg->used--;
        sm_stats.slots_in_use--;
        if (pg->used == 0)
            pg->slot_size = 0; /* the page may serve another size class next */
        found = 1;
    }
    for (size_t i = 0; i < sm_nlarge && !found; i++) {
        if (sm_large[i].base != p)
            continue;
        qks_wipe(sm_large[i].base, sm_large[i].len);
        /* munlock is implied by munmap; a failure would only leak address space. */
        (void)munmap(sm_large[i].base, sm_large[i].len);
        sm_large[i] = sm_large[--sm_nlarge];
        sm_stats.large_in_use = sm_nlarge;
        found = 1;
    }
    qks_unlock(&sm_lock);
    if (!found) {
        static const char msg[] = "qkey: qks_secure_free of a pointer it did not allocate\n";
        ssize_t w = write(2, msg, sizeof(msg) - 1);
        (void)w;
        abort();
    }
}

void qks_secmem_stats(QKS_SECMEM_STATS *out)
{
    qks_lock(&sm_lock);
    *out = sm_stats;
    qks_unlock(&sm_lock);
}

/*
 * When the module that holds this pool goes away (OpenSSL unloads qkey.so at exit, a program
 * dlcloses the token) the pool goes too: its pages are wiped and unmapped (they would otherwise
 * stay locked in the process) and its tables freed (their only reference would lie in the
 * unmapped module, which leak checkers then report). Only when nothing is in use: at process
 * exit another thread may still hold a key, and it keeps its page.
 */
__attribute__((destructor)) static void sm_unload(void)
{
    qks_lock(&sm_lock);
    if (sm_stats.slots_in_use == 0 && sm_nlarge == 0) {
        for (size_t i = 0; i < sm_npages; i += SM_CHUNK) { /* one mapping per sm_grow */
            qks_wipe(sm_pages[i].base, SM_CHUNK * sm_pagesize);
            (void)munmap(sm_pages[i].base, SM_CHUNK * sm_pagesize);
        }
        free(sm_pages);
        free(sm_large);
        sm_pages = NULL;
        sm_large = NULL;
        sm_npages = sm_cap_pages = sm_nlarge = sm_cap_large = 0;
        sm_stats.pool_pages = 0;
    }
    qks_unlock(&sm_lock);
}
