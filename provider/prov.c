/*
 * qkey provider entry: OSSL_provider_init, the provider's own parameters, and every
 * OSSL_ALGORITHM array. At init the provider reads its configuration (openssl.cnf section or a
 * standalone file) and opens the key source: files only, no network, no blocking. A bad
 * configuration fails the provider's load with the reason on the error queue, so a program
 * that names qkey in its openssl.cnf never runs without it unnoticed.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/params.h>

#include "internal.h"

static OSSL_FUNC_provider_teardown_fn qkp_teardown;
static OSSL_FUNC_provider_gettable_params_fn qkp_gettable_params;
static OSSL_FUNC_provider_get_params_fn qkp_get_params;
static OSSL_FUNC_provider_query_operation_fn qkp_query;
static OSSL_FUNC_provider_get_reason_strings_fn qkp_reason_strings_fn;

/* Provider parameters for `qkey status` (docs/provider.md "Provider parameters"). */
#define QKP_PARAM_SEED_CALLS    "qkey-seed-calls"    /* uint64: successful QRNG get_seed calls */
#define QKP_PARAM_SEED_FAILURES "qkey-seed-failures" /* uint64: failed QRNG draws */
#define QKP_PARAM_SAE_ID        "qkey-sae-id"        /* utf8: this host's SAE ID, "" if none */
#define QKP_PARAM_QKD           "qkey-qkd"           /* int: 1 if QKD groups are offered */
#define QKP_PARAM_ERROR         "qkey-error"         /* utf8: why the config was rejected, or "" */

int qkp_ready(const QKP_PROV *prov)
{
    if (prov->qks != NULL)
        return 1;
    QKP_RAISE(prov, QKP_R_CONFIG, "%s", prov->config_error);
    return 0;
}

size_t qkp_key_bytes(const QKP_PROV *prov)
{
    return prov->qks != NULL ? qks_ctx_key_bytes(prov->qks) : 32;
}

static const OSSL_ALGORITHM qkp_rands[] = {
    {"QRNG", "provider=qkey", qkp_rand_functions, "quantum random seed source"},
    {NULL, NULL, NULL, NULL}};

static const OSSL_ALGORITHM qkp_kems[] = {
    {"QKD", "provider=qkey", qkp_kem_functions, "QKD key KEM"},
    {"X25519-QKD", "provider=qkey", qkp_kem_functions, "X25519 + QKD hybrid KEM"},
    {"X448-QKD", "provider=qkey", qkp_kem_functions, "X448 + QKD hybrid KEM"},
    {"P-256-QKD", "provider=qkey", qkp_kem_functions, "ECDH P-256 + QKD hybrid KEM"},
    {"P-384-QKD", "provider=qkey", qkp_kem_functions, "ECDH P-384 + QKD hybrid KEM"},
    {"X25519MLKEM768-QKD", "provider=qkey", qkp_kem_functions, "X25519MLKEM768 + QKD KEM"},
    {"SecP256r1MLKEM768-QKD", "provider=qkey", qkp_kem_functions, "SecP256r1MLKEM768 + QKD KEM"},
    {"SecP384r1MLKEM1024-QKD", "provider=qkey", qkp_kem_functions, "SecP384r1MLKEM1024 + QKD KEM"},
    {NULL, NULL, NULL, NULL}};

static const OSSL_ALGORITHM qkp_keymgmts[] = {
    {"QKD", "provider=qkey", qkp_qkd_keymgmt_functions, "QKD KEM keys"},
    {"X25519-QKD", "provider=qkey", qkp_x25519_keymgmt_functions, "X25519 + QKD KEM keys"},
    {"X448-QKD", "provider=qkey", qkp_x448_keymgmt_functions, "X448 + QKD KEM keys"},
    {"P-256-QKD", "provider=qkey", qkp_p256_keymgmt_functions, "P-256 + QKD KEM keys"},
    {"P-384-QKD", "provider=qkey", qkp_p384_keymgmt_functions, "P-384 + QKD KEM keys"},
    {"X25519MLKEM768-QKD", "provider=qkey", qkp_x25519mlkem768_keymgmt_functions,
     "X25519MLKEM768 + QKD KEM keys (where libcrypto offers X25519MLKEM768)"},
    {"SecP256r1MLKEM768-QKD", "provider=qkey", qkp_p256mlkem768_keymgmt_functions,
     "SecP256r1MLKEM768 + QKD KEM keys"},
    {"SecP384r1MLKEM1024-QKD", "provider=qkey", qkp_p384mlkem1024_keymgmt_functions,
     "SecP384r1MLKEM1024 + QKD KEM keys"},
    {NULL, NULL, NULL, NULL}};

static const OSSL_ALGORITHM *qkp_query(void *provctx, int operation_id, int *no_cache)
{
    QKP_PROV *prov = provctx;

    *no_cache = 0;
    switch (operation_id) {
    case OSSL_OP_RAND:
        return qkp_rands;
    case OSSL_OP_KEM:
        return prov->has_qkd ? qkp_kems : NULL;
    case OSSL_OP_KEYMGMT:
        return prov->has_qkd ? qkp_keymgmts : NULL;
    default:
        return NULL;
    }
}

static const OSSL_PARAM *qkp_gettable_params(void *provctx)
{
    static const OSSL_PARAM gettable[] = {OSSL_PARAM_utf8_ptr(OSSL_PROV_PARAM_NAME, NULL, 0),
                                          OSSL_PARAM_utf8_ptr(OSSL_PROV_PARAM_VERSION, NULL, 0),
                                          OSSL_PARAM_utf8_ptr(OSSL_PROV_PARAM_BUILDINFO, NULL, 0),
                                          OSSL_PARAM_int(OSSL_PROV_PARAM_STATUS, NULL),
                                          OSSL_PARAM_uint64(QKP_PARAM_SEED_CALLS, NULL),
                                          OSSL_PARAM_uint64(QKP_PARAM_SEED_FAILURES, NULL),
                                          OSSL_PARAM_utf8_ptr(QKP_PARAM_SAE_ID, NULL, 0),
                                          OSSL_PARAM_int(QKP_PARAM_QKD, NULL),
                                          OSSL_PARAM_utf8_ptr(QKP_PARAM_ERROR, NULL, 0),
                                          OSSL_PARAM_END};
    return gettable;
}

static int qkp_get_params(void *provctx, OSSL_PARAM params[])
{
    QKP_PROV *prov = provctx;
    OSSL_PARAM *p;
    const char *sae = prov->qks != NULL ? qks_ctx_sae_id(prov->qks) : NULL;

    if ((p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_NAME)) != NULL &&
        !OSSL_PARAM_set_utf8_ptr(p, "qkey: QKD keys and quantum randomness"))
        return 0;
    if ((p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_VERSION)) != NULL &&
        !OSSL_PARAM_set_utf8_ptr(p, qks_version()))
        return 0;
    if ((p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_BUILDINFO)) != NULL &&
        !OSSL_PARAM_set_utf8_ptr(p, qks_version()))
        return 0;
    if ((p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_STATUS)) != NULL &&
        !OSSL_PARAM_set_int(p, prov->qks != NULL))
        return 0;
    if ((p = OSSL_PARAM_locate(params, QKP_PARAM_ERROR)) != NULL &&
        !OSSL_PARAM_set_utf8_ptr(p, prov->config_error))
        return 0;
    if ((p = OSSL_PARAM_locate(params, QKP_PARAM_SEED_CALLS)) != NULL &&
        !OSSL_PARAM_set_uint64(p, atomic_load(&prov->seed_calls)))
        return 0;
    if ((p = OSSL_PARAM_locate(params, QKP_PARAM_SEED_FAILURES)) != NULL &&
        !OSSL_PARAM_set_uint64(p, atomic_load(&prov->seed_failures)))
        return 0;
    if ((p = OSSL_PARAM_locate(params, QKP_PARAM_SAE_ID)) != NULL &&
        !OSSL_PARAM_set_utf8_ptr(p, sae != NULL ? sae : ""))
        return 0;
    if ((p = OSSL_PARAM_locate(params, QKP_PARAM_QKD)) != NULL &&
        !OSSL_PARAM_set_int(p, prov->has_qkd))
        return 0;
    return 1;
}

static const OSSL_ITEM *qkp_reason_strings_fn(void *provctx)
{
    return qkp_reason_strings;
}

static void qkp_teardown(void *provctx)
{
    QKP_PROV *prov = provctx;

    if (prov == NULL)
        return;
    qks_ctx_free(prov->qks);
    OSSL_LIB_CTX_free(prov->libctx);
    OPENSSL_free(prov);
}

/* Ask the core for every key of our openssl.cnf section and build the key source config. */
static int read_config(const OSSL_CORE_HANDLE *handle, OSSL_FUNC_core_get_params_fn *get_params,
                       QKS_CONFIG **cfg, uint16_t codepoint[QKP_NVARIANTS], char *why,
                       size_t why_len)
{
    enum { MAXKEYS = 128 };
    OSSL_PARAM params[MAXKEYS + 1];
    const char *keys[MAXKEYS], *values[MAXKEYS] = {0};
    char cp[QKP_NVARIANTS][QKP_CODEPOINT_KEY_MAX];
    size_t n = qkp_config_key_list(keys, MAXKEYS, cp);

    for (size_t i = 0; i < n; i++)
        params[i] = OSSL_PARAM_construct_utf8_ptr(keys[i], (char **)&values[i], 0);
    params[n] = OSSL_PARAM_construct_end();
    if (get_params != NULL && !get_params(handle, params)) {
        snprintf(why, why_len, "cannot read the provider's configuration section");
        return 0;
    }
    return qkp_config_build((const char *const *)keys, values, n, cfg, codepoint, why, why_len);
}

static const OSSL_DISPATCH qkp_dispatch[] = {
    {OSSL_FUNC_PROVIDER_TEARDOWN, (void (*)(void))qkp_teardown},
    {OSSL_FUNC_PROVIDER_GETTABLE_PARAMS, (void (*)(void))qkp_gettable_params},
    {OSSL_FUNC_PROVIDER_GET_PARAMS, (void (*)(void))qkp_get_params},
    {OSSL_FUNC_PROVIDER_QUERY_OPERATION, (void (*)(void))qkp_query},
    {OSSL_FUNC_PROVIDER_GET_REASON_STRINGS, (void (*)(void))qkp_reason_strings_fn},
    {OSSL_FUNC_PROVIDER_GET_CAPABILITIES, (void (*)(void))qkp_get_capabilities},
    {0, NULL}};

/*
 * A rejected configuration does not fail the load: OpenSSL 3.0 ignores a provider whose init
 * fails (even with config_diagnostics = 1), which would silently seed from the OS and drop the
 * QKD groups. Instead the provider loads in a failed state: status 0, "qkey-error" names the
 * reason, and every QRNG draw, key generation and KEM operation fails with that reason.
 */
__attribute__((visibility("default"))) int OSSL_provider_init(const OSSL_CORE_HANDLE *handle,
                                                              const OSSL_DISPATCH *in,
                                                              const OSSL_DISPATCH **out,
                                                              void **provctx)
{
    OSSL_FUNC_core_get_params_fn *get_params = NULL;
    QKS_CONFIG *cfg = NULL;
    QKP_PROV *prov = NULL;
    char why[400];
    int rv;

    qkp_errors_init(in);
    qkp_errors_set_handle(handle);
    for (const OSSL_DISPATCH *d = in; d->function_id != 0; d++)
        if (d->function_id == OSSL_FUNC_CORE_GET_PARAMS)
            get_params = OSSL_FUNC_core_get_params(d);
    if ((prov = OPENSSL_zalloc(sizeof(*prov))) == NULL)
        return 0;
    prov->handle = handle;
    if ((prov->libctx = OSSL_LIB_CTX_new_child(handle, in)) == NULL) {
        QKP_RAISE(NULL, QKP_R_INTERNAL, "qkey provider: cannot create a child library context");
        goto err;
    }
    for (int i = 0; i < QKP_NVARIANTS; i++)
        prov->codepoint[i] = qkp_variants[i].codepoint;
    if (!read_config(handle, get_params, &cfg, prov->codepoint, why, sizeof(why))) {
        snprintf(prov->config_error, sizeof(prov->config_error), "qkey configuration: %s", why);
    } else if ((rv = qks_ctx_new(cfg, &prov->qks)) != QKS_OK) {
        snprintf(prov->config_error, sizeof(prov->config_error),
                 "qkey cannot open the key source: %s: %s", qks_strerror(rv), qks_last_error());
        prov->qks = NULL;
    }
    qks_config_free(cfg);
    if (prov->qks == NULL) {
        QKP_RAISE(NULL, QKP_R_CONFIG, "%s", prov->config_error);
        prov->has_qkd = 1; /* offer the groups so that using them fails with the reason */
    } else {
        prov->has_qkd = qks_ctx_has_qkd(prov->qks);
    }
    *out = qkp_dispatch;
    *provctx = prov;
    return 1;
err:
    qkp_teardown(prov);
    return 0;
}
