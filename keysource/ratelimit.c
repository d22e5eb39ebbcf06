/*
 * Per-peer token bucket on QKD key consumption: an anonymous TLS ClientHello makes the server
 * call qks_key_new, so without a bound anyone could drain a QKD link. Each allowed peer has a
 * bucket of qkd.rate_burst tokens refilled at qkd.rate_limit tokens per second.
 */
#include <time.h>

#include "internal.h"

uint64_t qks_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void qks_bucket_reset(QKS_BUCKET *b, double burst, uint64_t now_ns)
{
    b->tokens = burst;
    b->last_ns = now_ns;
}

int qks_bucket_take(QKS_BUCKET *b, double rate, double burst, uint64_t now_ns)
{
    if (now_ns > b->last_ns) {
        b->tokens += (double)(now_ns - b->last_ns) * rate / 1e9;
        if (b->tokens > burst)
            b->tokens = burst;
        b->last_ns = now_ns;
    }
    if (b->tokens < 1.0)
        return 0;
    b->tokens -= 1.0;
    return 1;
}
