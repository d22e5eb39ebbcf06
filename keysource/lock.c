/*
 * The fork-safe lock of keysource (see internal.h): the lock word holds the owning pid, so a
 * child that inherits a lock taken by a parent thread can take it over. No pthread_atfork,
 * which a module that can be unloaded must not register.
 */
#include <sched.h>
#include <unistd.h>

#include "internal.h"

void qks_lock(QKS_LOCK *l)
{
    int me = (int)getpid();

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
