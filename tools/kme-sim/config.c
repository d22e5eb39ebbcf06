/*
 * qkey-kme-sim configuration: DIR/kme.conf, an INI file read with OpenSSL NCONF.
 * [kme]    kme_a, kme_b, sae_a, sae_b, port_a, port_b, key_size, min_key_size, max_key_size,
 *          max_key_per_request, max_sae_id_count
 * [supply] profile (constant|satellite), rate_bps, capacity_keys, initial_keys, time_scale,
 *          pass_seconds, period_seconds, first_pass_seconds, peak_bps
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/conf.h>
#include <openssl/err.h>

#include "kmesim.h"

void kmesim_config_defaults(KMESIM_CONFIG *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    strcpy(cfg->kme_id[0], "KME_A");
    strcpy(cfg->kme_id[1], "KME_B");
    strcpy(cfg->sae_id[0], "SAE_A");
    strcpy(cfg->sae_id[1], "SAE_B");
    cfg->key_size = 256;
    cfg->min_key_size = 64;
    cfg->max_key_size = 1024;
    cfg->max_key_per_request = 128;
    cfg->max_sae_id_count = 0;
    cfg->profile = KMESIM_CONSTANT;
    cfg->rate_bps = 1e6; /* metro fibre link, ~1 Mbit/s of secret key */
    cfg->capacity_keys = 100000;
    cfg->initial_keys = 10000;
    cfg->time_scale = 1.0;
    /* Micius-like low-earth-orbit passes: ~6 minutes of link, a few passes a day */
    cfg->pass_seconds = 360;
    cfg->period_seconds = 6 * 3600;
    cfg->first_pass_seconds = 600;
    cfg->peak_bps = 1.1e5;
}

static int get_str(CONF *conf, const char *sect, const char *name, char *out, size_t outlen,
                   char *err, size_t errlen)
{
    const char *v = NCONF_get_string(conf, sect, name);

    if (v == NULL)
        return 0;
    if (strlen(v) >= outlen || !kmesim_valid_id(v)) {
        snprintf(err, errlen, "[%s] %s: not a valid ID: %s", sect, name, v);
        return -1;
    }
    strcpy(out, v);
    return 0;
}

static int get_num(CONF *conf, const char *sect, const char *name, double min, double max,
                   double *out, char *err, size_t errlen)
{
    const char *v = NCONF_get_string(conf, sect, name);
    char *end;
    double d;

    if (v == NULL)
        return 0;
    errno = 0;
    d = strtod(v, &end);
    if (errno != 0 || end == v || *end != '\0' || !(d >= min && d <= max)) {
        snprintf(err, errlen, "[%s] %s = %s: expected a number in [%g, %g]", sect, name, v, min,
                 max);
        return -1;
    }
    *out = d;
    return 0;
}

static int get_long(CONF *conf, const char *sect, const char *name, long min, long max, long *out,
                    char *err, size_t errlen)
{
    double d = (double)*out;

    if (get_num(conf, sect, name, (double)min, (double)max, &d, err, errlen) != 0)
        return -1;
    *out = (long)d;
    return 0;
}

int kmesim_config_load(const char *dir, KMESIM_CONFIG *cfg, char *err, size_t errlen)
{
    char path[4200];
    CONF *conf = NULL;
    long eline = 0, port;
    const char *profile;
    int rc = -1;

    kmesim_config_defaults(cfg);
    if (strlen(dir) >= sizeof(cfg->dir)) {
        snprintf(err, errlen, "directory name too long");
        return -1;
    }
    strcpy(cfg->dir, dir);
    snprintf(path, sizeof(path), "%s/kme.conf", dir);
    conf = NCONF_new(NULL);
    if (conf == NULL || NCONF_load(conf, path, &eline) <= 0) {
        snprintf(err, errlen, "cannot read %s%s (line %ld)", path, eline ? ": syntax error" : "",
                 eline);
        goto done;
    }
    ERR_set_mark();
    for (int i = 0; i < 2; i++) {
        char name[16];

        snprintf(name, sizeof(name), "kme_%c", 'a' + i);
        if (get_str(conf, "kme", name, cfg->kme_id[i], sizeof(cfg->kme_id[i]), err, errlen))
            goto done;
        snprintf(name, sizeof(name), "sae_%c", 'a' + i);
        if (get_str(conf, "kme", name, cfg->sae_id[i], sizeof(cfg->sae_id[i]), err, errlen))
            goto done;
        snprintf(name, sizeof(name), "port_%c", 'a' + i);
        port = 0;
        if (get_long(conf, "kme", name, 1, 65535, &port, err, errlen))
            goto done;
        if (port == 0) {
            snprintf(err, errlen, "%s: [kme] %s missing", path, name);
            goto done;
        }
        cfg->port[i] = (int)port;
    }
    if (get_long(conf, "kme", "key_size", 8, KMESIM_KEY_BITS_MAX, &cfg->key_size, err, errlen) ||
        get_long(conf, "kme", "min_key_size", 8, KMESIM_KEY_BITS_MAX, &cfg->min_key_size, err,
                 errlen) ||
        get_long(conf, "kme", "max_key_size", 8, KMESIM_KEY_BITS_MAX, &cfg->max_key_size, err,
                 errlen) ||
        get_long(conf, "kme", "max_key_per_request", 1, KMESIM_MAX_KEYS, &cfg->max_key_per_request,
                 err, errlen) ||
        get_long(conf, "kme", "max_sae_id_count", 0, 0, &cfg->max_sae_id_count, err, errlen))
        goto done;
    if (cfg->key_size % 8 || cfg->min_key_size % 8 || cfg->max_key_size % 8 ||
        cfg->min_key_size > cfg->key_size || cfg->key_size > cfg->max_key_size) {
        snprintf(err, errlen, "%s: key sizes must be multiples of 8 with min <= key <= max", path);
        goto done;
    }
    profile = NCONF_get_string(conf, "supply", "profile");
    if (profile != NULL && strcmp(profile, "satellite") == 0) {
        cfg->profile = KMESIM_SATELLITE;
    } else if (profile != NULL && strcmp(profile, "constant") != 0) {
        snprintf(err, errlen, "%s: [supply] profile must be constant or satellite", path);
        goto done;
    }
    if (get_num(conf, "supply", "rate_bps", 0, 1e12, &cfg->rate_bps, err, errlen) ||
        get_long(conf, "supply", "capacity_keys", 1, 100000000L, &cfg->capacity_keys, err,
                 errlen) ||
        get_long(conf, "supply", "initial_keys", 0, 100000000L, &cfg->initial_keys, err, errlen) ||
        get_num(conf, "supply", "time_scale", 1e-3, 1e9, &cfg->time_scale, err, errlen) ||
        get_num(conf, "supply", "pass_seconds", 1, 1e7, &cfg->pass_seconds, err, errlen) ||
        get_num(conf, "supply", "period_seconds", 1, 1e9, &cfg->period_seconds, err, errlen) ||
        get_num(conf, "supply", "first_pass_seconds", 0, 1e9, &cfg->first_pass_seconds, err,
                errlen) ||
        get_num(conf, "supply", "peak_bps", 0, 1e12, &cfg->peak_bps, err, errlen))
        goto done;
    if (cfg->pass_seconds > cfg->period_seconds) {
        snprintf(err, errlen, "%s: pass_seconds must not exceed period_seconds", path);
        goto done;
    }
    rc = 0;
done:
    ERR_pop_to_mark();
    NCONF_free(conf);
    return rc;
}
