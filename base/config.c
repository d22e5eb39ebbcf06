/*
 * QKS_CONFIG: the key/value store behind both homes of qkey's configuration ("qkd.driver = x"
 * set one by one from an openssl.cnf provider section, or INI sections read with OpenSSL
 * NCONF from a standalone file). Unknown sections and unknown keys in known sections are
 * errors that name the key and the file.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/conf.h>
#include <openssl/err.h>

#include "base.h"

#define QKS_CONFIG_VALUE_MAX 4096
#define QKS_DEFAULT_CONF     "/etc/qkey/qkey.conf"

QKS_CONFIG *qks_config_new(void)
{
    QKS_CONFIG *cfg = calloc(1, sizeof(*cfg));
    if (cfg == NULL)
        qks_set_error(QKS_ERR_NOMEM, "out of memory for the configuration");
    return cfg;
}

void qks_config_free(QKS_CONFIG *cfg)
{
    if (cfg == NULL)
        return;
    for (size_t i = 0; i < cfg->n; i++) {
        free(cfg->items[i].key);
        free(cfg->items[i].value);
    }
    free(cfg->items);
    free(cfg);
}

static QKS_CONFIG_ITEM *config_find(const QKS_CONFIG *cfg, const char *key)
{
    for (size_t i = 0; i < cfg->n; i++)
        if (strcmp(cfg->items[i].key, key) == 0)
            return &cfg->items[i];
    return NULL;
}

/* Check "section.name" against the table; origin names the file (or NULL) for the message. */
static int config_check_key(const char *key, const char *origin)
{
    const char *dot = strchr(key, '.');
    const char *in = origin != NULL ? " in " : "";

    if (origin == NULL)
        origin = "";
    if (dot == NULL || dot == key || dot[1] == '\0')
        return qks_set_error(QKS_ERR_CONFIG,
                             "configuration key '%s'%s%s is not of the form section.name", key, in,
                             origin);
    if (!qks_config_section_known(key, (size_t)(dot - key)))
        return qks_set_error(QKS_ERR_CONFIG,
                             "unknown configuration section [%.*s]%s%s (key '%s'; known "
                             "sections: qkd, rng, token, tls, agent)",
                             (int)(dot - key), key, in, origin, key);
    if (!qks_config_key_known(key))
        return qks_set_error(QKS_ERR_CONFIG, "unknown configuration key '%s'%s%s", key, in, origin);
    return QKS_OK;
}

static int config_put(QKS_CONFIG *cfg, const char *key, const char *value)
{
    QKS_CONFIG_ITEM *it = config_find(cfg, key);
    char *v = strdup(value);

    if (v == NULL)
        return qks_set_error(QKS_ERR_NOMEM, "out of memory for configuration key %s", key);
    if (it != NULL) {
        free(it->value);
        it->value = v;
        return QKS_OK;
    }
    if (cfg->n == cfg->cap) {
        size_t ncap = cfg->cap ? cfg->cap * 2 : 16;
        QKS_CONFIG_ITEM *ni = realloc(cfg->items, ncap * sizeof(*ni));
        if (ni == NULL) {
            free(v);
            return qks_set_error(QKS_ERR_NOMEM, "out of memory for configuration key %s", key);
        }
        cfg->items = ni;
        cfg->cap = ncap;
    }
    cfg->items[cfg->n].key = strdup(key);
    if (cfg->items[cfg->n].key == NULL) {
        free(v);
        return qks_set_error(QKS_ERR_NOMEM, "out of memory for configuration key %s", key);
    }
    cfg->items[cfg->n].value = v;
    cfg->n++;
    return QKS_OK;
}

int qks_config_set(QKS_CONFIG *cfg, const char *key, const char *value)
{
    int rc;

    if (cfg == NULL || key == NULL || value == NULL)
        return qks_set_error(QKS_ERR_INVALID, "qks_config_set: NULL argument");
    if ((rc = config_check_key(key, NULL)) != QKS_OK)
        return rc;
    if (strlen(value) > QKS_CONFIG_VALUE_MAX)
        return qks_set_error(QKS_ERR_CONFIG, "value of %s is longer than %d bytes", key,
                             QKS_CONFIG_VALUE_MAX);
    return config_put(cfg, key, value);
}

const char *qks_config_get(const QKS_CONFIG *cfg, const char *key)
{
    const QKS_CONFIG_ITEM *it;

    if (cfg == NULL || key == NULL)
        return NULL;
    it = config_find(cfg, key);
    return it != NULL ? it->value : NULL;
}

const char *qks_config_key_at(const QKS_CONFIG *cfg, size_t i)
{
    return cfg != NULL && i < cfg->n ? cfg->items[i].key : NULL;
}

int qks_config_get_long(const QKS_CONFIG *cfg, const char *key, long dflt, long min, long max,
                        long *out)
{
    const char *v = qks_config_get(cfg, key);
    char *end = NULL;
    long n;

    if (out == NULL)
        return qks_set_error(QKS_ERR_INVALID, "qks_config_get_long: NULL output");
    if (v == NULL) {
        *out = dflt;
        return QKS_OK;
    }
    errno = 0;
    n = strtol(v, &end, 10);
    while (end != NULL && (*end == ' ' || *end == '\t'))
        end++;
    if (errno != 0 || end == v || *end != '\0' || *v == '\0')
        return qks_set_error(QKS_ERR_CONFIG, "%s = '%s' is not a number", key, v);
    if (n < min || n > max)
        return qks_set_error(QKS_ERR_CONFIG, "%s = %ld is out of range [%ld, %ld]", key, n, min,
                             max);
    *out = n;
    return QKS_OK;
}

int qks_config_copy(QKS_CONFIG *dst, const QKS_CONFIG *src)
{
    for (size_t i = 0; i < src->n; i++) {
        int rc = config_put(dst, src->items[i].key, src->items[i].value);
        if (rc != QKS_OK)
            return rc;
    }
    return QKS_OK;
}

const char *qks_config_default_path(void)
{
    /* secure_getenv: a set-uid program must not read a configuration its caller names. */
    const char *p = secure_getenv("QKEY_CONF");
    return p != NULL && *p != '\0' ? p : QKS_DEFAULT_CONF;
}

/* The reason OpenSSL put on its error queue for a failed NCONF_load. */
static const char *conf_reason(void)
{
    unsigned long e = ERR_peek_last_error();
    const char *r = e != 0 ? ERR_reason_error_string(e) : NULL;
    return r != NULL ? r : "syntax error";
}

/* Read one section into tmp, checking every key against the table. */
static int load_section(CONF *conf, const char *section, const char *path, QKS_CONFIG *tmp)
{
    STACK_OF(CONF_VALUE) *values = NCONF_get_section(conf, section);
    int is_default = strcmp(section, "default") == 0;
    char key[256];

    if (values == NULL)
        return QKS_OK;
    if (!is_default && !qks_config_section_known(section, strlen(section)))
        return qks_set_error(QKS_ERR_CONFIG,
                             "config file %s: unknown section [%s] (known sections: qkd, rng, "
                             "token, tls)",
                             path, section);
    for (int i = 0; i < sk_CONF_VALUE_num(values); i++) {
        const CONF_VALUE *cv = sk_CONF_VALUE_value(values, i);
        int rc;
        if (cv->name == NULL || cv->value == NULL)
            continue;
        if (is_default)
            return qks_set_error(QKS_ERR_CONFIG,
                                 "config file %s: key '%s' is outside a section (write it under "
                                 "[qkd], [rng], [token] or [tls])",
                                 path, cv->name);
        if (snprintf(key, sizeof(key), "%s.%s", section, cv->name) >= (int)sizeof(key))
            return qks_set_error(QKS_ERR_CONFIG, "config file %s: key name in [%s] too long", path,
                                 section);
        if ((rc = config_check_key(key, path)) != QKS_OK)
            return rc;
        if (strlen(cv->value) > QKS_CONFIG_VALUE_MAX)
            return qks_set_error(QKS_ERR_CONFIG,
                                 "config file %s: value of %s is longer than %d "
                                 "bytes",
                                 path, key, QKS_CONFIG_VALUE_MAX);
        if ((rc = config_put(tmp, key, cv->value)) != QKS_OK)
            return rc;
    }
    return QKS_OK;
}

int qks_config_load_file(QKS_CONFIG *cfg, const char *path)
{
    CONF *conf = NULL;
    STACK_OF(OPENSSL_CSTRING) *sections = NULL;
    QKS_CONFIG *tmp = NULL;
    long eline = 0;
    struct stat st;
    int rc = QKS_OK;

    qks_clear_error();
    if (cfg == NULL || path == NULL)
        return qks_set_error(QKS_ERR_INVALID, "qks_config_load_file: NULL argument");
    /* Probe first so a missing or unreadable file gets the system's reason (and a directory,
     * which NCONF would read as an include directory, is refused). */
    if (stat(path, &st) != 0 || access(path, R_OK) != 0)
        return qks_set_error(QKS_ERR_CONFIG, "cannot read config file %s: %s", path,
                             strerror(errno));
    if (!S_ISREG(st.st_mode))
        return qks_set_error(QKS_ERR_CONFIG, "config file %s is not a regular file", path);

    ERR_set_mark(); /* NCONF reports on OpenSSL's queue: keep the application's queue clean */
    if ((tmp = qks_config_new()) == NULL) {
        rc = QKS_ERR_NOMEM;
        goto done;
    }
    if ((conf = NCONF_new(NULL)) == NULL) {
        rc = qks_set_error(QKS_ERR_NOMEM, "out of memory reading config file %s", path);
        goto done;
    }
    if (NCONF_load(conf, path, &eline) <= 0) {
        if (eline > 0)
            rc = qks_set_error(QKS_ERR_CONFIG, "config file %s line %ld: %s", path, eline,
                               conf_reason());
        else
            rc = qks_set_error(QKS_ERR_CONFIG, "config file %s: %s", path, conf_reason());
        goto done;
    }
    if (NCONF_get_string(conf, NULL, "openssl_conf") != NULL) {
        rc = qks_set_error(QKS_ERR_CONFIG,
                           "config file %s is an openssl.cnf: give it to OpenSSL (OPENSSL_CONF) "
                           "with the qkey keys in its provider section, or name a qkey file "
                           "with [qkd] [rng] [token] [tls] sections",
                           path);
        goto done;
    }
    if ((sections = NCONF_get_section_names(conf)) == NULL) {
        rc = qks_set_error(QKS_ERR_NOMEM, "out of memory reading config file %s", path);
        goto done;
    }
    for (int i = 0; i < sk_OPENSSL_CSTRING_num(sections); i++) {
        const char *section = sk_OPENSSL_CSTRING_value(sections, i);
        if ((rc = load_section(conf, section, path, tmp)) != QKS_OK)
            goto done;
    }
    /* All or nothing: only a file that read cleanly reaches cfg; earlier keys win. */
    for (size_t i = 0; i < tmp->n; i++) {
        if (config_find(cfg, tmp->items[i].key) != NULL)
            continue;
        if ((rc = config_put(cfg, tmp->items[i].key, tmp->items[i].value)) != QKS_OK)
            goto done;
    }
done:
    sk_OPENSSL_CSTRING_free(sections);
    NCONF_free(conf);
    qks_config_free(tmp);
    ERR_pop_to_mark();
    return rc;
}

int qks_list_foreach(const char *list, int (*fn)(const char *item, size_t len, void *arg),
                     void *arg)
{
    static const char sep[] = ", \t\r\n";
    const char *p = list;

    if (list == NULL)
        return 0;
    while (*p != '\0') {
        size_t skip = strspn(p, sep), len;
        p += skip;
        len = strcspn(p, sep);
        if (len > 0) {
            int rc = fn(p, len, arg);
            if (rc != 0)
                return rc;
        }
        p += len;
    }
    return 0;
}
