/*
 * Benchmark: one key's worth of locked memory (32 bytes, as a TLS handshake's QKD key needs)
 * from qkey's slot pool, against the baseline of a dedicated mapping per key with the same
 * protection (mmap + mlock + MADV_DONTDUMP + MADV_WIPEONFORK ... munmap). Both run here, in the
 * same process, and the ratio is printed.  Usage: bench_secmem [iterations]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#ifndef MADV_WIPEONFORK
#define MADV_WIPEONFORK 18
#endif

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *baseline_alloc(size_t page)
{
    void *p = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    (void)mlock(p, page);                    /* as the pool does: a refusal is not fatal */
    (void)madvise(p, page, MADV_DONTDUMP);   /* same protection as the pool */
    (void)madvise(p, page, MADV_WIPEONFORK); /* same protection as the pool */
    return p;
}

static void baseline_free(void *p, size_t page)
{
    qks_wipe(p, 32);
    (void)munmap(p, page); /* benchmark: a failure would only leak address space */
}

int main(int argc, char **argv)
{
    long iters = argc > 1 ? atol(argv[1]) : 200000;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    double t0, pool_s, base_s;
    volatile unsigned char sink = 0;

    if (iters <= 0)
        iters = 200000;
    /* warm the pool so its one-time page mapping is not counted */
    qks_secure_free(qks_secure_alloc(32), 32);

    t0 = now_s();
    for (long i = 0; i < iters; i++) {
        unsigned char *k = qks_secure_alloc(32);
        if (k == NULL)
            return 1;
        k[0] = (unsigned char)i;
        sink ^= k[0];
        qks_secure_free(k, 32);
    }
    pool_s = now_s() - t0;

    t0 = now_s();
    for (long i = 0; i < iters; i++) {
        unsigned char *k = baseline_alloc(page);
        if (k == NULL)
            return 1;
        k[0] = (unsigned char)i;
        sink ^= k[0];
        baseline_free(k, page);
    }
    base_s = now_s() - t0;

    printf("secure alloc+free of a 32-byte key, %ld iterations\n", iters);
    printf("  qkey slot pool:                      %8.1f ns/key\n", pool_s / iters * 1e9);
    printf("  baseline mmap+mlock+madvise+munmap:  %8.1f ns/key\n", base_s / iters * 1e9);
    printf("  speed-up (baseline / pool):          %8.1fx\n", base_s / pool_s);
    return sink == 255 ? 0 : 0;
}
