/*
 * `qkey status --config openssl.cnf`: what an unmodified program using that openssl.cnf really
 * gets, checked in a fresh OSSL_LIB_CTX loaded from it:
 *   1. is provider qkey loaded?
 *   2. does OpenSSL's DRBG chain draw from QRNG? OpenSSL 3.0 silently falls back to OS entropy
 *      when the seed source cannot be fetched, so we force a reseed of the primary DRBG with
 *      prediction resistance and check that the provider's count of successful get_seed calls
 *      grew (the counter is a provider-level gettable parameter, docs/provider.md);
 *   3. are the configured TLS groups really offered? OpenSSL 3.0 drops a Groups line naming a
 *      group whose provider is missing, silently; we build a ClientHello in that context over
 *      a memory BIO and read its supported_groups;
 *   4. does it keep the post-quantum protection OpenSSL gives with no configuration (3.5 offers
 *      X25519MLKEM768)? A ClientHello of a fresh, unconfigured context is the baseline.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/core_names.h>
#include <openssl/conf.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/provider.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include "qkey_cli.h"

/* The provider's gettable counter of successful QRNG get_seed calls (docs/provider.md). */
#define QKEY_SEED_COUNTER_PARAM  "qkey-seed-calls"    /* uint64: successful get_seed calls */
#define QKEY_SEED_FAILURES_PARAM "qkey-seed-failures" /* uint64: failed QRNG draws */
#define QKEY_ERROR_PARAM         "qkey-error"         /* UTF8 ptr: why the config was rejected */

/* The first error on OpenSSL's queue as one line, with its detail; the queue is cleared. */
static void ossl_error(char *buf, size_t len)
{
    const char *data = NULL, *reason;
    int flags = 0;
    unsigned long e = ERR_get_error_all(NULL, NULL, NULL, &data, &flags);

    if (e == 0) {
        snprintf(buf, len, "no reason given by OpenSSL");
    } else {
        reason = ERR_reason_error_string(e);
        snprintf(buf, len, "%s%s%s%s", reason != NULL ? reason : "error",
                 (flags & ERR_TXT_STRING) && data[0] ? " (" : "",
                 (flags & ERR_TXT_STRING) ? data : "",
                 (flags & ERR_TXT_STRING) && data[0] ? ")" : "");
    }
    ERR_clear_error();
}

typedef struct {
    OSSL_PROVIDER *qkey;
} PROV_FIND;

static int find_qkey_cb(OSSL_PROVIDER *prov, void *arg)
{
    PROV_FIND *f = arg;
    if (strcmp(OSSL_PROVIDER_get0_name(prov), "qkey") == 0)
        f->qkey = prov;
    return 1;
}

static int read_counter(OSSL_PROVIDER *prov, const char *name, uint64_t *v)
{
    OSSL_PARAM params[2];

    *v = 0;
    params[0] = OSSL_PARAM_construct_uint64(name, v);
    params[1] = OSSL_PARAM_construct_end();
    if (!OSSL_PROVIDER_get_params(prov, params) || !OSSL_PARAM_modified(&params[0])) {
        ERR_clear_error();
        return 0;
    }
    return 1;
}

/* The provider's own verdict on its configuration: a rejected config leaves it loaded but
 * failing every operation (docs/provider.md), with the reason in qkey-error. */
static void read_provider_error(OSSL_PROVIDER *prov, char *buf, size_t len)
{
    const char *reason = NULL;
    OSSL_PARAM params[2];

    params[0] = OSSL_PARAM_construct_utf8_ptr(QKEY_ERROR_PARAM, (char **)&reason, 0);
    params[1] = OSSL_PARAM_construct_end();
    if (OSSL_PROVIDER_get_params(prov, params) && OSSL_PARAM_modified(&params[0]) &&
        reason != NULL && reason[0] != '\0')
        snprintf(buf, len, "%s", reason);
    ERR_clear_error();
}

/* ---- TLS groups: names by code point, from every provider's TLS-GROUP capability ---------- */
typedef struct {
    char name[64];
    unsigned id;
} GROUP_NAME;

typedef struct {
    GROUP_NAME *v;
    size_t n, cap;
} GROUP_TABLE;

static int group_cap_cb(const OSSL_PARAM params[], void *arg)
{
    GROUP_TABLE *t = arg;
    const OSSL_PARAM *pn = OSSL_PARAM_locate_const(params, OSSL_CAPABILITY_TLS_GROUP_NAME);
    const OSSL_PARAM *pi = OSSL_PARAM_locate_const(params, OSSL_CAPABILITY_TLS_GROUP_ID);
    const char *name = NULL;
    unsigned id = 0;

    if (pn == NULL || pi == NULL || !OSSL_PARAM_get_utf8_string_ptr(pn, &name) ||
        !OSSL_PARAM_get_uint(pi, &id))
        return 1; /* a malformed entry: skip it, the others still name their groups */
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 32;
        GROUP_NAME *nv = realloc(t->v, cap * sizeof(*nv));
        if (nv == NULL)
            return 0;
        t->v = nv;
        t->cap = cap;
    }
    snprintf(t->v[t->n].name, sizeof(t->v[t->n].name), "%s", name);
    t->v[t->n++].id = id;
    return 1;
}

static int group_prov_cb(OSSL_PROVIDER *prov, void *arg)
{
    return OSSL_PROVIDER_get_capabilities(prov, "TLS-GROUP", group_cap_cb, arg) || 1;
}

static const char *group_name(const GROUP_TABLE *t, unsigned id, char *buf, size_t len)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->v[i].id == id)
            return t->v[i].name;
    snprintf(buf, len, "0x%04x", id);
    return buf;
}

static int group_id(const GROUP_TABLE *t, const char *name, size_t len, unsigned *id)
{
    for (size_t i = 0; i < t->n; i++)
        if (strlen(t->v[i].name) == len && strncasecmp(t->v[i].name, name, len) == 0) {
            *id = t->v[i].id;
            return 1;
        }
    return 0;
}

/* Append "name" to a sep-joined malloc'ed list. */
static int list_add_sep(char **list, const char *name, size_t len, char sep)
{
    size_t old = *list != NULL ? strlen(*list) : 0;
    char *n = realloc(*list, old + len + 2);

    if (n == NULL)
        return 0;
    if (old > 0)
        n[old++] = sep;
    memcpy(n + old, name, len);
    n[old + len] = '\0';
    *list = n;
    return 1;
}

static int list_add(char **list, const char *name, size_t len)
{
    return list_add_sep(list, name, len, ':');
}

/* Build a ClientHello in lc (system_default applied by SSL_CTX_new_ex): the group table of
 * lc's providers, and *ids / *count point at the offered code points inside *ssl's output.
 * 0 with a reason in err. */
static int client_offer(OSSL_LIB_CTX *lc, GROUP_TABLE *table, SSL **ssl, const unsigned char **ids,
                        size_t *count, char *err, size_t errlen)
{
    SSL_CTX *ctx = NULL;
    BIO *rbio = NULL, *wbio = NULL;
    char *data;
    long dlen;
    int ok = 0;

    *ssl = NULL;
    OSSL_PROVIDER_do_all(lc, group_prov_cb, table);
    ctx = SSL_CTX_new_ex(lc, NULL, TLS_client_method());
    if (ctx == NULL || (*ssl = SSL_new(ctx)) == NULL || (rbio = BIO_new(BIO_s_mem())) == NULL ||
        (wbio = BIO_new(BIO_s_mem())) == NULL) {
        ossl_error(err, errlen);
        goto done;
    }
    SSL_set_bio(*ssl, rbio, wbio);
    rbio = wbio = NULL;
    SSL_set_connect_state(*ssl);
    (void)SSL_do_handshake(*ssl); /* stops wanting the ServerHello; the ClientHello is out */
    ERR_clear_error();
    dlen = BIO_get_mem_data(SSL_get_wbio(*ssl), &data);
    if (dlen <= 0 || !qkey_hello_groups((unsigned char *)data, (size_t)dlen, ids, count)) {
        snprintf(err, errlen, "could not build a ClientHello in this configuration");
        goto done;
    }
    ok = 1;
done:
    BIO_free(rbio);
    BIO_free(wbio);
    SSL_CTX_free(ctx); /* the SSL keeps its own reference */
    return ok;
}

static int is_pq(const char *name)
{
    return strcasestr(name, "mlkem") != NULL;
}

/* The post-quantum groups among the offered ones, ':'-joined (NULL if none). */
static int pq_names(const GROUP_TABLE *t, const unsigned char *ids, size_t count, char **out)
{
    char nbuf[16];

    for (size_t i = 0; i < count; i++) {
        const char *n =
            group_name(t, ((unsigned)ids[2 * i] << 8) | ids[2 * i + 1], nbuf, sizeof(nbuf));
        if (is_pq(n) && !list_add(out, n, strlen(n)))
            return 0;
    }
    return 1;
}

/* What this OpenSSL offers with no configuration at all: its own defaults. */
static void default_pq(QKEY_OSSL_REPORT *rep)
{
    OSSL_LIB_CTX *lc = OSSL_LIB_CTX_new(); /* no config file: the default provider only */
    GROUP_TABLE table = {NULL, 0, 0};
    const unsigned char *ids;
    size_t count;
    SSL *ssl = NULL;
    char err[256];

    if (lc != NULL && client_offer(lc, &table, &ssl, &ids, &count, err, sizeof(err)))
        (void)pq_names(&table, ids, count, &rep->pq_default);
    SSL_free(ssl);
    free(table.v);
    OSSL_LIB_CTX_free(lc);
    ERR_clear_error();
}

static void check_groups(OSSL_LIB_CTX *lc, QKEY_OSSL_REPORT *rep)
{
    GROUP_TABLE table = {NULL, 0, 0};
    SSL *ssl = NULL;
    const unsigned char *ids;
    char nbuf[16];
    size_t count;

    if (!client_offer(lc, &table, &ssl, &ids, &count, rep->groups_error, sizeof(rep->groups_error)))
        goto done;
    for (size_t i = 0; i < count; i++) {
        const char *n =
            group_name(&table, ((unsigned)ids[2 * i] << 8) | ids[2 * i + 1], nbuf, sizeof(nbuf));
        char cp[96];
        int cplen = snprintf(cp, sizeof(cp), "%s=0x%02x%02x", n, ids[2 * i], ids[2 * i + 1]);
        if (!list_add(&rep->groups_offered, n, strlen(n)) ||
            !list_add_sep(&rep->groups_codepoints, cp, (size_t)cplen, ' '))
            goto done;
    }
    if (!pq_names(&table, ids, count, &rep->pq_offered))
        goto done;
    /* the ML-KEM + QKD groups exist only where this libcrypto has the hybrid ML-KEM KEMs */
    {
        EVP_KEM *kem = EVP_KEM_fetch(lc, "X25519MLKEM768", NULL);
        unsigned id;
        if (kem == NULL)
            snprintf(rep->mlkem_qkd_absent, sizeof(rep->mlkem_qkd_absent),
                     "%s offers no X25519MLKEM768 (OpenSSL 3.5 or a provider with ML-KEM needed)",
                     OpenSSL_version(OPENSSL_VERSION));
        else if (!group_id(&table, "x25519mlkem768_qkd", 18, &id))
            snprintf(rep->mlkem_qkd_absent, sizeof(rep->mlkem_qkd_absent),
                     "provider qkey offers no x25519mlkem768_qkd (not loaded, or no QKD driver)");
        EVP_KEM_free(kem);
        ERR_clear_error();
    }
    /* Every configured group must be among the offered ones. */
    for (const char *p = rep->groups_configured; p != NULL && *p != '\0';) {
        size_t len = strcspn(p, ":,");
        unsigned id;
        int offered = 0;
        const char *name = p;

        if (len > 0 && name[0] == '?') { /* OpenSSL 3.3 "optional" marker */
            name++;
            len--;
        }
        if (len > 0 && group_id(&table, name, len, &id))
            for (size_t i = 0; i < count; i++)
                offered |= (((unsigned)ids[2 * i] << 8) | ids[2 * i + 1]) == id;
        if (len > 0 && !offered && !list_add(&rep->groups_dropped, name, len))
            goto done;
        p += len;
        p += *p != '\0';
    }
done:
    SSL_free(ssl);
    free(table.v);
}

/* Fewer post-quantum groups than this OpenSSL offers unconfigured is a downgrade, unless the
 * qkey section says tls.allow_pq_downgrade = yes. */
static void check_pq(const char *path, QKEY_OSSL_REPORT *rep)
{
    QKS_CONFIG *cfg = qks_config_new();
    size_t n_offered = 0, n_default = 0;
    const char *v;
    char err[256];

    default_pq(rep);
    for (const char *p = rep->pq_offered; p != NULL; p = strchr(p + 1, ':'))
        n_offered++;
    for (const char *p = rep->pq_default; p != NULL; p = strchr(p + 1, ':'))
        n_default++;
    if (cfg != NULL && qkey_cnf_keysource(path, cfg, err, sizeof(err)) &&
        (v = qks_config_get(cfg, "tls.allow_pq_downgrade")) != NULL)
        rep->pq_allowed =
            strcasecmp(v, "yes") == 0 || strcmp(v, "1") == 0 || strcasecmp(v, "true") == 0;
    qks_config_free(cfg);
    rep->pq_downgrade = n_offered < n_default;
}

void qkey_ossl_check(const char *path, QKEY_OSSL_REPORT *rep)
{
    OSSL_LIB_CTX *lc = NULL;
    PROV_FIND found = {NULL};
    EVP_RAND_CTX *primary;

    memset(rep, 0, sizeof(*rep));
    rep->config = strdup(path);
    if (!qkey_cnf_groups(path, &rep->groups_configured)) {
        snprintf(rep->load_error, sizeof(rep->load_error), "cannot read or parse %s", path);
        return;
    }
    OPENSSL_load_builtin_modules();
    lc = OSSL_LIB_CTX_new();
    if (lc == NULL || !OSSL_LIB_CTX_load_config(lc, path)) {
        ossl_error(rep->load_error, sizeof(rep->load_error));
        goto done;
    }
    rep->loaded = 1;
    OSSL_PROVIDER_do_all(lc, find_qkey_cb, &found);
    rep->provider_loaded = found.qkey != NULL;
    if (found.qkey != NULL)
        read_provider_error(found.qkey, rep->provider_error, sizeof(rep->provider_error));

    /* The seed chain. RAND_get0_primary instantiates (one get_seed); then count a reseed. */
    primary = RAND_get0_primary(lc);
    if (primary == NULL) {
        ossl_error(rep->reseed_error, sizeof(rep->reseed_error));
    } else {
        if (found.qkey != NULL)
            rep->seed_counter_found =
                read_counter(found.qkey, QKEY_SEED_COUNTER_PARAM, &rep->seeds_before);
        rep->reseed_ok = EVP_RAND_reseed(primary, 1, NULL, 0, NULL, 0);
        if (!rep->reseed_ok)
            ossl_error(rep->reseed_error, sizeof(rep->reseed_error));
        if (rep->seed_counter_found)
            rep->seed_counter_found =
                read_counter(found.qkey, QKEY_SEED_COUNTER_PARAM, &rep->seeds_after);
        if (found.qkey != NULL)
            (void)read_counter(found.qkey, QKEY_SEED_FAILURES_PARAM, &rep->seed_failures);
        rep->qrng_in_chain =
            rep->reseed_ok && rep->seed_counter_found && rep->seeds_after > rep->seeds_before;
    }
    check_groups(lc, rep);
    if (!rep->groups_error[0])
        check_pq(path, rep);
done:
    ERR_clear_error();
    OSSL_LIB_CTX_free(lc);
}

void qkey_ossl_report_clear(QKEY_OSSL_REPORT *rep)
{
    free(rep->config);
    free(rep->groups_configured);
    free(rep->groups_offered);
    free(rep->groups_codepoints);
    free(rep->groups_dropped);
    free(rep->pq_offered);
    free(rep->pq_default);
    memset(rep, 0, sizeof(*rep));
}
