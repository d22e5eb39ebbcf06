/*
 * qkey status [--json] [--watch S [--count N]] [--config OPENSSL_CNF] [--conf QKEY_CONF]
 *   The key source's status (qks_status_json: SAE ID, driver, peers, counters, RNG health) as a
 *   summary for people (status_human.c) or JSON, and
 *   for an openssl.cnf (--config or $OPENSSL_CONF) the checks of status_ossl.c: provider qkey
 *   loaded, DRBG chain seeded from QRNG, configured QKD groups really offered.
 * The key source comes from --conf / $QKEY_CONF when given, else from the qkey provider's
 * section of the openssl.cnf, else from /etc/qkey/qkey.conf.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "qkey_cli.h"

static void status_usage(FILE *out)
{
    fprintf(out,
            "usage: qkey status [--json] [--watch SECONDS [--count N]] [--config OPENSSL_CNF]\n"
            "                   [--conf QKEY_CONF]\n"
            "  Prints a summary of the key source: per peer keys stored, supply, consumption,\n"
            "  time to empty, next pass, failures and fallbacks; RNG source and health.\n"
            "  --json: everything as one compact JSON object (for machines).\n"
            "  --watch SECONDS: redraw every SECONDS (--count N: N times, then exit).\n"
            "  With an openssl.cnf (--config, else $OPENSSL_CONF) also proves, in a fresh\n"
            "  library context loaded from it, that provider qkey is loaded, that a reseed of\n"
            "  OpenSSL's primary DRBG draws from QRNG, and that every group of its Groups line\n"
            "  is offered in a ClientHello. Exit code 3 when one of those checks fails.\n");
}

/* The key source's status object, or NULL after printing why. */
static json_t *keysource_status(const QKEY_OPTS *opts, int explicit_conf, const char *cnf,
                                char *note, size_t notelen)
{
    QKS_CONFIG *cfg = NULL;
    QKS_CTX *ctx = NULL;
    char *text = NULL, err[512];
    json_t *obj = NULL;
    json_error_t jerr;
    int rc;

    if (explicit_conf || cnf == NULL) {
        if (!qkey_open(opts, &ctx))
            return NULL;
    } else {
        cfg = qks_config_new();
        if (cfg == NULL || !qkey_cnf_keysource(cnf, cfg, err, sizeof(err))) {
            snprintf(note, notelen, "PROBLEM: %s", cfg ? err : "out of memory");
            qks_config_free(cfg);
            return NULL;
        }
        rc = qks_ctx_new(cfg, &ctx);
        qks_config_free(cfg);
        if (rc != QKS_OK) {
            snprintf(note, notelen,
                     "PROBLEM: the qkey section of %s cannot open a key source: %s: %s", cnf,
                     qks_strerror(rc), qks_last_error());
            return NULL;
        }
    }
    rc = qks_status_json(ctx, &text);
    if (rc != QKS_OK) {
        qkey_report("status", rc);
    } else if ((obj = json_loads(text, 0, &jerr)) == NULL || !json_is_object(obj)) {
        fprintf(stderr, "qkey status: the key source gave malformed JSON: %s\n", jerr.text);
        json_decref(obj);
        obj = NULL;
    }
    free(text);
    qks_ctx_free(ctx);
    return obj;
}

static json_t *str_or_null(const char *s)
{
    return s != NULL ? json_string(s) : json_null();
}

static json_t *ossl_json(const QKEY_OSSL_REPORT *r, int ok)
{
    json_t *o = json_object();
    json_object_set_new(o, "config", json_string(r->config));
    json_object_set_new(o, "loaded", json_boolean(r->loaded));
    if (!r->loaded)
        json_object_set_new(o, "error", json_string(r->load_error));
    json_object_set_new(o, "provider_qkey", json_boolean(r->provider_loaded));
    if (r->provider_error[0])
        json_object_set_new(o, "provider_error", json_string(r->provider_error));
    json_t *seed = json_object();
    json_object_set_new(seed, "qrng_in_chain", json_boolean(r->qrng_in_chain));
    json_object_set_new(seed, "reseed_ok", json_boolean(r->reseed_ok));
    if (r->reseed_error[0])
        json_object_set_new(seed, "error", json_string(r->reseed_error));
    if (r->seed_counter_found) {
        json_object_set_new(seed, "get_seed_before", json_integer((json_int_t)r->seeds_before));
        json_object_set_new(seed, "get_seed_after", json_integer((json_int_t)r->seeds_after));
        json_object_set_new(seed, "failures", json_integer((json_int_t)r->seed_failures));
    }
    json_object_set_new(o, "seed", seed);
    json_t *g = json_object();
    json_object_set_new(g, "configured", str_or_null(r->groups_configured));
    json_object_set_new(g, "offered", str_or_null(r->groups_offered));
    json_object_set_new(g, "codepoints", str_or_null(r->groups_codepoints));
    json_object_set_new(g, "dropped", str_or_null(r->groups_dropped));
    json_object_set_new(g, "downgrade", json_boolean(r->groups_dropped != NULL));
    if (r->groups_error[0])
        json_object_set_new(g, "error", json_string(r->groups_error));
    json_object_set_new(g, "pq_offered", str_or_null(r->pq_offered));
    json_object_set_new(g, "pq_default", str_or_null(r->pq_default));
    json_object_set_new(g, "pq_downgrade", json_boolean(r->pq_downgrade));
    json_object_set_new(g, "pq_downgrade_allowed", json_boolean(r->pq_allowed));
    json_object_set_new(g, "mlkem_qkd_absent",
                        str_or_null(r->mlkem_qkd_absent[0] ? r->mlkem_qkd_absent : NULL));
    json_object_set_new(o, "groups", g);
    json_object_set_new(o, "ok", json_boolean(ok));
    return o;
}

/* Human report of the openssl.cnf checks on stdout, problems on stderr. */
static void ossl_print(const QKEY_OSSL_REPORT *r)
{
    printf("openssl.cnf %s\n", r->config);
    if (!r->loaded) {
        printf("  cannot be loaded: %s\n", r->load_error);
        return;
    }
    if (r->provider_error[0])
        printf("  provider qkey:    loaded, but its configuration was REJECTED: %s\n",
               r->provider_error);
    else
        printf("  provider qkey:    %s\n", r->provider_loaded ? "loaded" : "NOT LOADED");
    if (r->qrng_in_chain)
        printf("  DRBG seed chain:  draws from QRNG (a forced reseed of the primary DRBG with "
               "prediction resistance made QRNG get_seed calls %llu -> %llu)\n",
               (unsigned long long)r->seeds_before, (unsigned long long)r->seeds_after);
    else if (!r->reseed_ok)
        printf("  DRBG seed chain:  RESEED FAILED (OpenSSL fails closed): %s\n", r->reseed_error);
    else if (!r->provider_loaded)
        printf("  DRBG seed chain:  NOT FROM QRNG (no qkey provider: OpenSSL seeds from the OS)\n");
    else if (!r->seed_counter_found)
        printf("  DRBG seed chain:  UNPROVEN (provider qkey does not report its get_seed "
               "counter)\n");
    else
        printf("  DRBG seed chain:  NOT FROM QRNG (a reseed did not call QRNG: add [random] "
               "seed = QRNG and seed_properties = provider=qkey)\n");
    printf("  groups configured: %s\n",
           r->groups_configured ? r->groups_configured : "(none: OpenSSL's defaults)");
    if (r->groups_error[0])
        printf("  groups offered:    UNKNOWN: %s\n", r->groups_error);
    else
        printf("  groups offered:    %s\n  code points:       %s\n",
               r->groups_offered ? r->groups_offered : "(none)",
               r->groups_codepoints ? r->groups_codepoints : "(none)");
    if (r->groups_dropped)
        printf("  DOWNGRADE: %s configured but not offered%s\n", r->groups_dropped,
               r->provider_loaded ? "" : " (provider qkey is not loaded)");
    printf("  post-quantum:      %s offered; with no configuration this OpenSSL offers %s\n",
           r->pq_offered ? r->pq_offered : "none", r->pq_default ? r->pq_default : "none");
    if (r->pq_downgrade)
        printf("  %s: this configuration offers fewer post-quantum groups than OpenSSL's own "
               "defaults (%s)%s\n",
               r->pq_allowed ? "PQ downgrade (allowed by tls.allow_pq_downgrade)"
                             : "POST-QUANTUM DOWNGRADE",
               r->pq_default ? r->pq_default : "none",
               r->pq_allowed ? ""
                             : "; put x25519mlkem768_qkd and X25519MLKEM768 in Groups, or "
                               "set tls.allow_pq_downgrade = yes in the qkey section if "
                               "deliberate");
    if (r->mlkem_qkd_absent[0])
        printf("  ML-KEM + QKD groups: absent: %s\n", r->mlkem_qkd_absent);
}

/* One status report; returns the exit code. */
static int status_once(const QKEY_OPTS *opts, const char *cnf, int json, int explicit_conf)
{
    int ret = QKEY_EXIT_OK;
    char note[600] = "";
    json_t *ks, *out;
    QKEY_OSSL_REPORT rep;

    ks = keysource_status(opts, explicit_conf, cnf, note, sizeof(note));
    if (ks == NULL && note[0] == '\0')
        ret = QKEY_EXIT_FAIL;
    else if (ks == NULL)
        ret = QKEY_EXIT_CHECK; /* the provider section itself is wrong (typo, no qkey) */
    out = ks != NULL ? ks : json_object();
    if (!json && ks != NULL)
        qkey_status_summary(stdout, ks);
    else if (!json && note[0])
        printf("key source: %s\n", note);
    if (cnf != NULL) {
        int ok;
        qkey_ossl_check(cnf, &rep);
        ok = rep.loaded && rep.provider_loaded && !rep.provider_error[0] && rep.qrng_in_chain &&
             !rep.groups_dropped && !rep.groups_error[0] && (!rep.pq_downgrade || rep.pq_allowed);
        if (!rep.loaded)
            ret = QKEY_EXIT_FAIL;
        else if (!ok && ret == QKEY_EXIT_OK)
            ret = QKEY_EXIT_CHECK;
        json_t *oj = ossl_json(&rep, ok && ret == QKEY_EXIT_OK);
        if (note[0])
            json_object_set_new(oj, "keysource_error", json_string(note));
        json_object_set_new(out, "openssl", oj);
        if (!json) {
            ossl_print(&rep);
            if (ret == QKEY_EXIT_OK)
                printf("result: OK: OpenSSL with this config loads qkey, seeds from QRNG, "
                       "offers every configured group and no fewer post-quantum groups than "
                       "its defaults\n");
            else {
                fflush(stdout);
                fprintf(stderr, "qkey status: %s is not what it claims: see above\n", cnf);
            }
        }
        qkey_ossl_report_clear(&rep);
    }
    if (json && (ks != NULL || cnf != NULL)) {
        char *s = json_dumps(out, JSON_COMPACT | JSON_PRESERVE_ORDER);
        printf("%s\n", s ? s : "{}");
        free(s);
    }
    json_decref(out);
    fflush(stdout);
    return ret;
}

int qkey_cmd_status(const QKEY_OPTS *gopts, int argc, char **argv)
{
    QKEY_OPTS opts = *gopts;
    const char *cnf = NULL, *watch = NULL, *count_s = NULL;
    int json = 0, npos, rc, ret, explicit_conf;
    long count = 0;
    double every = 0;
    char *pos[1], *end;
    const QKEY_OPTDEF defs[] = {{"json", NULL, &json},
                                {"config", &cnf, NULL},
                                {"watch", &watch, NULL},
                                {"count", &count_s, NULL},
                                {NULL, NULL, NULL}};

    rc = qkey_parse_args(argc, argv, defs, &opts, pos, 0, &npos);
    if (rc < 0) {
        status_usage(stdout);
        return QKEY_EXIT_OK;
    }
    if (rc == QKEY_EXIT_OK && watch != NULL &&
        ((every = strtod(watch, &end)) < 0.1 || every > 86400 || *end != '\0'))
        rc = QKEY_EXIT_USAGE;
    if (rc == QKEY_EXIT_OK && count_s != NULL &&
        ((count = strtol(count_s, &end, 10)) < 1 || *end != '\0'))
        rc = QKEY_EXIT_USAGE;
    if (rc != QKEY_EXIT_OK) {
        status_usage(stderr);
        return QKEY_EXIT_USAGE;
    }
    if (cnf == NULL && getenv("OPENSSL_CONF") != NULL && getenv("OPENSSL_CONF")[0] != '\0')
        cnf = getenv("OPENSSL_CONF");
    explicit_conf = opts.conf != NULL || (getenv("QKEY_CONF") && getenv("QKEY_CONF")[0]);
    for (long i = 0;; i++) {
        if (watch != NULL && !json && isatty(STDOUT_FILENO))
            printf("\033[H\033[2J"); /* redraw in place on a terminal */
        ret = status_once(&opts, cnf, json, explicit_conf);
        if (watch == NULL || (count > 0 && i + 1 >= count))
            break;
        if (!json && !isatty(STDOUT_FILENO))
            printf("---\n");
        fflush(stdout);
        struct timespec ts = {(time_t)every, (long)((every - (double)(time_t)every) * 1e9)};
        nanosleep(&ts, NULL);
    }
    return ret;
}
