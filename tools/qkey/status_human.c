/*
 * `qkey status` for people: a summary of the key source's status object (qks_status_json), per
 * peer: keys stored, supply and consumption rates, time to empty, next pass when the KME
 * reports one, fallbacks and failures; then the RNG's source and health. --json gives the whole
 * object to machines; this view only reads it.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "qkey_cli.h"

static double num(const json_t *o, const char *key, double dflt)
{
    const json_t *v = o != NULL ? json_object_get(o, key) : NULL;

    return json_is_number(v) ? json_number_value(v) : dflt;
}

static const char *str(const json_t *o, const char *key, const char *dflt)
{
    const json_t *v = o != NULL ? json_object_get(o, key) : NULL;

    return json_is_string(v) ? json_string_value(v) : dflt;
}

/* "3 h 20 min", "12 min", "45 s"; "-" when unknown */
static const char *duration(double s, char *buf, size_t len)
{
    if (!(s >= 0) || isinf(s))
        snprintf(buf, len, "-");
    else if (s >= 86400)
        snprintf(buf, len, "%.1f days", s / 86400);
    else if (s >= 3600)
        snprintf(buf, len, "%d h %02d min", (int)(s / 3600), (int)fmod(s / 60, 60));
    else if (s >= 60)
        snprintf(buf, len, "%d min", (int)(s / 60 + 0.5));
    else
        snprintf(buf, len, "%.0f s", s);
    return buf;
}

static void print_peer(FILE *out, const json_t *p)
{
    const json_t *link = json_object_get(p, "link");
    const json_t *ext = json_object_get(json_object_get(link, "kme"), "status_extension");
    double stored = num(link, "stored_key_count", -1), max = num(link, "max_key_count", -1);
    double consumption =
        num(ext, "consumption_keys_per_s", num(link, "consumption_keys_per_s", -1));
    double supply = num(ext, "supply_bps", -1), key_bits = num(link, "key_bits", 256);
    double next_pass = num(ext, "next_pass_in_s", -1), empty = num(link, "seconds_until_empty", -1);
    double logged = num(p, "fallbacks_logged", -1);
    char b1[32], b2[32];

    fprintf(out, "  peer %s\n", str(p, "sae_id", "?"));
    if (str(link, "error", NULL) != NULL) {
        fprintf(out, "    link:         UNAVAILABLE: %s: %s\n", str(link, "error", ""),
                str(link, "error_detail", ""));
    } else if (stored >= 0) {
        fprintf(out, "    keys stored:  %.0f", stored);
        if (max > 0)
            fprintf(out, " of %.0f", max);
        fprintf(out, "\n");
    }
    if (supply >= 0)
        fprintf(out, "    supply:       %.1f keys/s%s\n", supply / (key_bits > 0 ? key_bits : 256),
                json_is_true(json_object_get(ext, "in_pass")) ? " (in a pass)" : "");
    if (consumption >= 0)
        fprintf(out, "    consumption:  %.2f keys/s\n", consumption);
    if (empty >= 0 || stored >= 0)
        fprintf(out, "    time to empty: %s\n", duration(empty, b1, sizeof(b1)));
    if (next_pass >= 0)
        fprintf(out, "    next pass in: %s\n", duration(next_pass, b2, sizeof(b2)));
    fprintf(out,
            "    this process: %.0f keys made, %.0f fetched, %.0f failures, %.0f rate-limited, "
            "%.0f refused at the reserve, %.0f fallbacks\n",
            num(p, "keys_issued", 0), num(p, "keys_fetched", 0), num(p, "key_failures", 0),
            num(p, "rate_limited", 0), num(p, "reserve_refusals", 0), num(p, "fallbacks", 0));
    if (logged >= 0)
        fprintf(out, "    fallbacks logged (all processes): %.0f\n", logged);
    if (json_is_object(json_object_get(link, "agent_peer"))) {
        const json_t *ap = json_object_get(link, "agent_peer");
        const json_t *al = json_object_get(ap, "link");
        fprintf(out, "    agent (all clients): %.0f keys made, %.0f fetched, %.0f failures",
                num(ap, "keys_issued", 0), num(ap, "keys_fetched", 0), num(ap, "key_failures", 0));
        if (json_is_number(json_object_get(al, "prefetched")))
            fprintf(out, "; pool %.0f of %.0f keys", num(al, "prefetched", 0),
                    num(al, "prefetch", 0));
        fprintf(out, "\n");
    }
}

/* qkeyd's own figures, when the RNG source is the agent (docs/agent.md). */
static void print_agent(FILE *out, const json_t *st)
{
    const json_t *ag = json_object_get(st, "agent"), *feed = json_object_get(ag, "feed"), *u;
    size_t i;

    fprintf(out, "agent: qkeyd pid %.0f at %s, %.0f clients now, %.0f connections\n",
            num(ag, "pid", 0), str(ag, "socket", "?"), num(ag, "clients", 0),
            num(ag, "connections", 0));
    json_array_foreach(json_object_get(ag, "users"), i, u)
    {
        fprintf(out,
                "  user %s: %.0f keys made, %.0f fetched, %.0f random bytes, %.0f refused, "
                "%.0f errors\n",
                str(u, "user", "?"), num(u, "keys_new", 0), num(u, "keys_get", 0),
                num(u, "random_bytes", 0), num(u, "refusals", 0), num(u, "errors", 0));
    }
    fprintf(out, "  kernel feed: %s; %.0f bytes fed, %.0f bits credited\n", str(feed, "state", "?"),
            num(feed, "bytes", 0), num(feed, "entropy_bits", 0));
}

void qkey_status_summary(FILE *out, const json_t *ks)
{
    const json_t *peers = json_object_get(ks, "peers"), *rng = json_object_get(ks, "rng");
    const json_t *mem = json_object_get(ks, "memory");
    size_t i;
    const json_t *p;

    fprintf(out, "qkey %s: SAE %s, QKD driver %s", str(ks, "version", "?"), str(ks, "sae_id", "-"),
            str(ks, "driver", "none"));
    if (json_is_number(json_object_get(ks, "key_bits")))
        fprintf(out, ", %.0f-bit keys", num(ks, "key_bits", 0));
    fprintf(out, "\n");
    if (str(ks, "driver", NULL) != NULL)
        fprintf(
            out,
            "  policy: on_exhausted = %s, reserve = %.0f, fallback = %s, accept_fallback = %s\n",
            str(ks, "on_exhausted", "fail"), num(ks, "reserve", 0), str(ks, "fallback", "none"),
            str(ks, "accept_fallback", "no"));
    json_array_foreach(peers, i, p) print_peer(out, p);
    if (rng != NULL)
        fprintf(out, "RNG: source %s, %s; health: %s%s%s\n", str(rng, "source", "?"),
                str(rng, "conditioning", "no conditioning"),
                str(rng, "health", str(rng, "state", "?")),
                str(rng, "error_detail", NULL) ? ": " : "", str(rng, "error_detail", ""));
    if (json_is_object(json_object_get(rng, "agent_status")))
        print_agent(out, json_object_get(rng, "agent_status"));
    else if (str(rng, "agent_error", NULL) != NULL)
        fprintf(out, "agent: UNAVAILABLE: %s\n", str(rng, "agent_error", ""));
    if (mem != NULL)
        fprintf(out, "key memory: %s, %s\n",
                json_is_true(json_object_get(mem, "locked")) ? "locked" : "NOT LOCKED",
                json_is_true(json_object_get(mem, "dontdump")) ? "kept out of core dumps"
                                                               : "MAY APPEAR IN CORE DUMPS");
}
