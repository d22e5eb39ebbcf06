/*
 * keysource error domain: names of QKS_ERR_* codes and the per-thread detail of the last
 * failure. Details are written by qks_set_error() from every layer below the front ends and
 * never contain key material.
 */
#include <stdarg.h>
#include <stdio.h>

#include "base.h"

#define QKS_ERROR_DETAIL_MAX 512

static _Thread_local char last_error[QKS_ERROR_DETAIL_MAX];

const char *qks_strerror(int err)
{
    switch (err) {
    case QKS_OK:
        return "success";
    case QKS_ERR_INVALID:
        return "invalid argument or malformed input";
    case QKS_ERR_NOMEM:
        return "out of memory";
    case QKS_ERR_CONFIG:
        return "configuration error";
    case QKS_ERR_IO:
        return "I/O error";
    case QKS_ERR_PEER_DENIED:
        return "peer not allowed";
    case QKS_ERR_RATE_LIMITED:
        return "peer key rate limit reached";
    case QKS_ERR_NO_KEY:
        return "no key available on the link";
    case QKS_ERR_KEY_UNKNOWN:
        return "key ID unknown or already delivered";
    case QKS_ERR_KME:
        return "KME refused the request";
    case QKS_ERR_UNREACHABLE:
        return "KME unreachable";
    case QKS_ERR_TIMEOUT:
        return "timed out";
    case QKS_ERR_AUTH:
        return "authentication failed";
    case QKS_ERR_HEALTH:
        return "RNG health test failure";
    case QKS_ERR_HEALTH_PERMANENT:
        return "RNG health test failure (permanent)";
    case QKS_ERR_DEVICE:
        return "device failure";
    case QKS_ERR_UNSUPPORTED:
        return "operation not supported";
    case QKS_ERR_ENTROPY:
        return "no certified entropy";
    case QKS_ERR_INTERNAL:
        return "internal error";
    case QKS_ERR_RESERVE:
        return "link at its reserve (qkd.reserve)";
    default:
        return "unknown error";
    }
}

const char *qks_last_error(void)
{
    return last_error;
}

void qks_clear_error(void)
{
    last_error[0] = '\0';
}

int qks_set_error(int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    /* Truncation is fine: the detail is for people, and the buffer is always terminated. */
    (void)vsnprintf(last_error, sizeof(last_error), fmt, ap);
    va_end(ap);
    return code;
}
