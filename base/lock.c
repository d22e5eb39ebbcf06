/*
 * The fork-safe lock of keysource (see internal.h): the lock word holds the owning pid, so a
 * child that inherits a lock taken by a parent thread can take it over. No pthread_atfork,
 * which a module that can be unloaded must not register.
 */
#include <sched.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base.h"

#ifndef MADV_WIPEONFORK
#define MADV_WIPEONFORK 18
#endif

/*
 * getpid() is a real system call (glibc stopped caching it), and on virtual machines one costs
 * microseconds; every entry point checks for fork. So the pid is cached in a MADV_WIPEONFORK
 * page: a forked child reads 0 there and asks the kernel once. Where the kernel lacks
 * MADV_WIPEONFORK (< 4.14) every call asks the kernel.
 */
typedef struct {
    atomic_int pid;
} PID_PAGE;

static _Atomic(PID_PAGE *) pid_page;
static atomic_int pid_page_state; /* 0 untried, 1 mapped, -1 not available */

static PID_PAGE *pid_page_get(void)
{
    PID_PAGE *pg = atomic_load_explicit(&pid_page, memory_order_acquire);
    if (pg != NULL || atomic_load(&pid_page_state) < 0)
        return pg;
    size_t len = (size_t)sysconf(_SC_PAGESIZE);
    void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) {
        atomic_store(&pid_page_state, -1);
        return NULL;
    }
    if (madvise(m, len, MADV_WIPEONFORK) != 0) {
        (void)munmap(m, len); /* unusable for fork detection; unmapping cannot matter */
        atomic_store(&pid_page_state, -1);
        return NULL;
    }
    PID_PAGE *expected = NULL;
    if (!atomic_compare_exchange_strong(&pid_page, &expected, (PID_PAGE *)m)) {
        (void)munmap(m, len); /* another thread won the race; use its page */
        return expected;
    }
    atomic_store(&pid_page_state, 1);
    return m;
}

int qks_getpid(void)
{
    PID_PAGE *pg = pid_page_get();
    int pid;

    if (pg == NULL)
        return (int)getpid();
    pid = atomic_load_explicit(&pg->pid, memory_order_relaxed);
    if (pid == 0) { /* first use, or a fresh child: the page was wiped */
        pid = (int)getpid();
        atomic_store_explicit(&pg->pid, pid, memory_order_relaxed);
    }
    return pid;
}

void qks_lock(QKS_LOCK *l)
{
    int me = qks_getpid();

    for (unsigned spins = 0;; spins++) {
        int owner = 0;
        if (atomic_compare_exchange_weak_explicit(&l->owner, &owner, me, memory_order_acquire,
                                                  memory_order_relaxed))
            return;
        /* Held by a process that is not us: a parent thread held it when we were forked and
         * it can never be released here. Take it over. */
        if (owner != 0 && owner != me &&
            atomic_compare_exchange_strong_explicit(&l->owner, &owner, me, memory_order_acquire,
                                                    memory_order_relaxed))
            return;
        if (spins > 16)
            sched_yield();
    }
}

void qks_unlock(QKS_LOCK *l)
{
    atomic_store_explicit(&l->owner, 0, memory_order_release);
}
