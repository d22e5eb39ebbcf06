/*
 * The table of configuration keys qkey knows. A key in a known section that is not listed
 * here is an error naming the key (a typo must never fall back to a default silently).
 * Other parts add their keys here, one line each.
 */
#include <string.h>

#include "base.h"

typedef struct {
    const char *name; /* "section.name", or a prefix ending in '_' or '.' when prefix is set */
    int prefix;       /* 1: every key starting with name is known */
} QKS_CONFIG_KEY;

static const char *const known_sections[] = {"qkd", "rng", "token", "tls", "agent", NULL};

static const QKS_CONFIG_KEY known_keys[] = {
    /* [qkd] */
    {"qkd.driver", 0},
    {"qkd.sae_id", 0},
    {"qkd.kme_url", 0},
    {"qkd.ca", 0},
    {"qkd.cert", 0},
    {"qkd.key", 0},
    {"qkd.sim_link", 0},
    {"qkd.peers", 0},
    {"qkd.key_bits", 0},
    {"qkd.timeout_ms", 0},
    {"qkd.rate_limit", 0},
    {"qkd.rate_burst", 0},
    {"qkd.on_exhausted", 0},
    {"qkd.prefetch", 0},
    {"qkd.reserve", 0},         /* keys per peer kept from TLS (docs/fallback.md) */
    {"qkd.fallback", 0},        /* none | classical (server) */
    {"qkd.accept_fallback", 0}, /* no | yes (client) */
    {"qkd.fallback_log", 0},    /* file that every fallback is appended to */
    {"qkd.kme_server_name", 0},
    {"qkd.sim_max_keys", 0}, /* sim driver: bound on undelivered keys per pair (exhaustion) */
    /* [rng] */
    {"rng.source", 0},
    {"rng.min_entropy", 0},
    {"rng.alpha_log2", 0},
    {"rng.extractor", 0},
    {"rng.eps_log2", 0},
    {"rng.timeout_ms", 0},
    {"rng.diqrng_block_rounds", 0},
    {"rng.diqrng_conf_log2", 0},
    {"rng.diqrng_efficiency", 0},
    {"rng.diqrng_test_prob", 0},
    {"rng.diqrng_visibility", 0},
    {"rng.toeplitz_seed_file", 0},
    {"rng.feed_kernel", 0},      /* qkeyd: credit the kernel's pool (docs/agent.md) */
    {"rng.feed_bytes", 0},       /* qkeyd: bytes per RNDADDENTROPY */
    {"rng.feed_interval_ms", 0}, /* qkeyd: pause between two feeds */
    /* prefixes: driver tuning keys, known in a file; an openssl.cnf section can only carry the
     * whole names above (the provider asks for each by name) */
    {"rng.sim_", 1},
    {"rng.diqrng_", 1},
    {"rng.toeplitz_", 1},
    /* [token] */
    {"token.store", 0},
    {"token.label", 0},
    {"token.pin_min", 0},
    {"token.pin_max", 0},
    {"token.max_login_attempts", 0},
    /* [tls] */
    {"tls.codepoint.", 1},
    {"tls.allow_pq_downgrade", 0}, /* read by `qkey status` (docs/config.md) */
    /* [agent]: qkeyd and its clients (docs/agent.md) */
    {"agent.socket", 0},       /* the agent's UNIX socket (clients and qkeyd) */
    {"agent.random", 0},       /* qkeyd: users and @groups granted random bytes */
    {"agent.journal", 0},      /* qkeyd: file every handed-out key ID is appended to */
    {"agent.metrics_file", 0}, /* qkeyd: Prometheus text file, rewritten every 10 s */
    {"agent.metrics_port", 0}, /* qkeyd: opt-in HTTP /metrics on 127.0.0.1:PORT */
    {"agent.grant.", 1},       /* qkeyd: agent.grant.<peer SAE> = users and @groups */
    {NULL, 0},
};

int qks_config_section_known(const char *section, size_t len)
{
    for (size_t i = 0; known_sections[i] != NULL; i++)
        if (strlen(known_sections[i]) == len && strncmp(known_sections[i], section, len) == 0)
            return 1;
    return 0;
}

const char *qks_config_known_key(size_t i, int *prefix)
{
    if (i >= sizeof(known_keys) / sizeof(known_keys[0]) - 1)
        return NULL;
    if (prefix != NULL)
        *prefix = known_keys[i].prefix;
    return known_keys[i].name;
}

int qks_config_key_known(const char *key)
{
    for (size_t i = 0; known_keys[i].name != NULL; i++) {
        const QKS_CONFIG_KEY *k = &known_keys[i];
        if (k->prefix) {
            size_t n = strlen(k->name);
            if (strncmp(key, k->name, n) == 0 && key[n] != '\0')
                return 1;
        } else if (strcmp(key, k->name) == 0) {
            return 1;
        }
    }
    return 0;
}
