/*
 * qkey provider: the provider's reason table and the helpers that put a reason, with a detail a
 * person can act on, on the caller's OpenSSL error queue through the core's upcalls. Details
 * name causes (SAE IDs, key IDs, qks_last_error() text), never key material.
 */
#include <stdarg.h>
#include <stdio.h>

#include "internal.h"

static OSSL_FUNC_core_new_error_fn *core_new_error;
static OSSL_FUNC_core_set_error_debug_fn *core_set_error_debug;
static OSSL_FUNC_core_vset_error_fn *core_vset_error;
static const OSSL_CORE_HANDLE *init_handle; /* for errors raised before a provctx exists */

const OSSL_ITEM qkp_reason_strings[] = {
    {QKP_R_CONFIG, "qkey configuration rejected"},
    {QKP_R_KEYSOURCE, "qkey key source failure"},
    {QKP_R_MALFORMED_PUBKEY, "malformed QKD KEM public key (key share)"},
    {QKP_R_MALFORMED_CT, "malformed QKD KEM ciphertext"},
    {QKP_R_BAD_CLASSICAL, "classical key agreement rejected"},
    {QKP_R_PEER_DENIED, "peer SAE not allowed (qkd.peers)"},
    {QKP_R_KEY_UNAVAILABLE, "no QKD key available"},
    {QKP_R_RNG, "quantum random source failure"},
    {QKP_R_BUFFER_TOO_SMALL, "output buffer too small"},
    {QKP_R_WRONG_KEY, "wrong or incomplete QKD KEM key"},
    {QKP_R_NO_QKD, "no QKD driver configured (qkd.driver)"},
    {QKP_R_INTERNAL, "internal error in an OpenSSL call"},
    {QKP_R_BAD_GROUP, "group does not match this key type"},
    {QKP_R_BAD_STRENGTH, "requested strength exceeds the source's"},
    {0, NULL}};

void qkp_errors_init(const OSSL_DISPATCH *in)
{
    for (; in->function_id != 0; in++) {
        switch (in->function_id) {
        case OSSL_FUNC_CORE_NEW_ERROR:
            core_new_error = OSSL_FUNC_core_new_error(in);
            break;
        case OSSL_FUNC_CORE_SET_ERROR_DEBUG:
            core_set_error_debug = OSSL_FUNC_core_set_error_debug(in);
            break;
        case OSSL_FUNC_CORE_VSET_ERROR:
            core_vset_error = OSSL_FUNC_core_vset_error(in);
            break;
        default:
            break;
        }
    }
}

void qkp_errors_set_handle(const OSSL_CORE_HANDLE *handle)
{
    init_handle = handle;
}

static void vraise(const QKP_PROV *prov, const char *file, int line, const char *func, int reason,
                   const char *fmt, va_list ap)
{
    const OSSL_CORE_HANDLE *h = prov != NULL ? prov->handle : init_handle;

    if (core_new_error == NULL || core_vset_error == NULL || h == NULL)
        return;
    core_new_error(h);
    if (core_set_error_debug != NULL)
        core_set_error_debug(h, file, line, func);
    core_vset_error(h, reason, fmt, ap);
}

void qkp_raise_at(const QKP_PROV *prov, const char *file, int line, const char *func, int reason,
                  const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vraise(prov, file, line, func, reason, fmt, ap);
    va_end(ap);
}

void qkp_raise_qks_at(const QKP_PROV *prov, const char *file, int line, const char *func, int err,
                      const char *what)
{
    int reason;
    const char *detail = qks_last_error();

    switch (err) {
    case QKS_ERR_PEER_DENIED:
        reason = QKP_R_PEER_DENIED;
        break;
    case QKS_ERR_RATE_LIMITED:
    case QKS_ERR_NO_KEY:
    case QKS_ERR_KEY_UNKNOWN:
    case QKS_ERR_KME:
    case QKS_ERR_UNREACHABLE:
    case QKS_ERR_TIMEOUT:
    case QKS_ERR_AUTH:
        reason = QKP_R_KEY_UNAVAILABLE;
        break;
    case QKS_ERR_HEALTH:
    case QKS_ERR_HEALTH_PERMANENT:
    case QKS_ERR_DEVICE:
    case QKS_ERR_ENTROPY:
        reason = QKP_R_RNG;
        break;
    case QKS_ERR_CONFIG:
        reason = QKP_R_CONFIG;
        break;
    default:
        reason = QKP_R_KEYSOURCE;
        break;
    }
    qkp_raise_at(prov, file, line, func, reason, "%s: %s%s%s", what, qks_strerror(err),
                 detail[0] != '\0' ? ": " : "", detail);
}
