/*
 * qkey provider: configuration from the provider's openssl.cnf section. OpenSSL 3.0 hands a
 * provider its section's keys only by name (core_get_params), so qkp_config_key_list names
 * every key the provider asks for, from keysource's one table; keys outside it go in a
 * standalone file named by
 * `config = FILE` (docs/provider.md). Precedence: inline keys, then `config = FILE`; with
 * neither, the default file (qks_config_default_path()) if it exists.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

/* The keys to ask the core for: `config`, every whole key of keysource's one table
 * (qks_config_known_key), and tls.codepoint.<group> for each variant of ours. Prefix families
 * (rng.sim_*) cannot be asked for by name: they belong in `config = FILE`. */
size_t qkp_config_key_list(const char **out, size_t max, char (*cp)[QKP_CODEPOINT_KEY_MAX])
{
    size_t n = 0;
    const char *k;
    int prefix;

    if (n < max)
        out[n++] = "config";
    for (size_t i = 0; (k = qks_config_known_key(i, &prefix)) != NULL; i++)
        if (!prefix && n < max)
            out[n++] = k;
    for (int v = 0; v < QKP_NVARIANTS && n < max; v++) {
        snprintf(cp[v], QKP_CODEPOINT_KEY_MAX, "tls.codepoint.%s", qkp_variants[v].group);
        out[n++] = cp[v];
    }
    return n;
}

/* Parse a code point override: 0xFE00..0xFEFF (the TLS private-use range). */
static int parse_codepoint(const char *s, uint16_t *out)
{
    char *end;
    unsigned long v;

    errno = 0;
    v = strtoul(s, &end, 0);
    if (errno != 0 || end == s || *end != '\0' || v < 0xFE00 || v > 0xFEFF)
        return 0;
    *out = (uint16_t)v;
    return 1;
}

static int resolve_codepoints(const QKS_CONFIG *cfg, uint16_t codepoint[QKP_NVARIANTS], char *why,
                              size_t why_len)
{
    for (int i = 0; i < QKP_NVARIANTS; i++) {
        char key[64];
        const char *s;

        snprintf(key, sizeof(key), "tls.codepoint.%s", qkp_variants[i].group);
        codepoint[i] = qkp_variants[i].codepoint;
        if ((s = qks_config_get(cfg, key)) != NULL && !parse_codepoint(s, &codepoint[i])) {
            snprintf(why, why_len, "%s = %s: expected a code point in 0xFE00..0xFEFF", key, s);
            return 0;
        }
    }
    for (int i = 0; i < QKP_NVARIANTS; i++)
        for (int j = i + 1; j < QKP_NVARIANTS; j++)
            if (codepoint[i] == codepoint[j]) {
                snprintf(why, why_len, "groups %s and %s share code point 0x%04X",
                         qkp_variants[i].group, qkp_variants[j].group, codepoint[i]);
                return 0;
            }
    return 1;
}

int qkp_config_build(const char *const *keys, const char *const *values, size_t n, QKS_CONFIG **out,
                     uint16_t codepoint[QKP_NVARIANTS], char *why, size_t why_len)
{
    QKS_CONFIG *cfg = qks_config_new();
    const char *file = NULL;
    size_t inline_keys = 0;
    int rv;

    *out = NULL;
    if (cfg == NULL) {
        snprintf(why, why_len, "out of memory");
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (keys[i] == NULL || values[i] == NULL)
            continue;
        if (strcmp(keys[i], "config") == 0) {
            file = values[i];
            continue;
        }
        if ((rv = qks_config_set(cfg, keys[i], values[i])) != QKS_OK) {
            snprintf(why, why_len, "%s: %s: %s", keys[i], qks_strerror(rv), qks_last_error());
            goto err;
        }
        inline_keys++;
    }
    if (file == NULL && inline_keys == 0) {
        const char *dflt = qks_config_default_path();
        if (dflt != NULL && access(dflt, F_OK) == 0)
            file = dflt;
    }
    if (file != NULL && (rv = qks_config_load_file(cfg, file)) != QKS_OK) {
        snprintf(why, why_len, "config file %s: %s: %s", file, qks_strerror(rv), qks_last_error());
        goto err;
    }
    if (!resolve_codepoints(cfg, codepoint, why, why_len))
        goto err;
    *out = cfg;
    return 1;
err:
    qks_config_free(cfg);
    return 0;
}
