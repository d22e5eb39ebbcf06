/*
 * Reading an openssl.cnf the way OpenSSL does (NCONF, with .include and $var expansion), for
 * `qkey status`: the Groups line that ssl_conf's system_default applies to every SSL_CTX, and
 * the key-source keys of the qkey provider's section.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/conf.h>
#include <openssl/err.h>

#include "qkey_cli.h"

/* The value of `name` in `section`, or NULL (no error left on the queue). */
static const char *cnf_get(const CONF *conf, const char *section, const char *name)
{
    const char *v;

    ERR_set_mark();
    v = NCONF_get_string(conf, section, name);
    ERR_pop_to_mark();
    return v;
}

static CONF *cnf_load(const char *path)
{
    CONF *conf = NCONF_new_ex(NULL, NULL);
    long line = 0;

    if (conf == NULL)
        return NULL;
    if (NCONF_load(conf, path, &line) <= 0) {
        NCONF_free(conf);
        return NULL;
    }
    return conf;
}

/* The section named by `key` inside the openssl_conf init section, or NULL. */
static const char *init_subsection(const CONF *conf, const char *key)
{
    const char *init = cnf_get(conf, NULL, "openssl_conf");
    return init != NULL ? cnf_get(conf, init, key) : NULL;
}

int qkey_cnf_groups(const char *path, char **groups_out)
{
    CONF *conf = cnf_load(path);
    const char *ssl, *sysdef;
    STACK_OF(CONF_VALUE) * vals;

    *groups_out = NULL;
    if (conf == NULL)
        return 0;
    ssl = init_subsection(conf, "ssl_conf");
    sysdef = ssl != NULL ? cnf_get(conf, ssl, "system_default") : NULL;
    vals = sysdef != NULL ? NCONF_get_section(conf, sysdef) : NULL;
    /* SSL_CONF_cmd file names "Groups" and its older alias "Curves"; the last one wins. */
    for (int i = 0; vals != NULL && i < sk_CONF_VALUE_num(vals); i++) {
        const CONF_VALUE *v = sk_CONF_VALUE_value(vals, i);
        if (strcasecmp(v->name, "Groups") == 0 || strcasecmp(v->name, "Curves") == 0) {
            free(*groups_out);
            *groups_out = strdup(v->value);
            if (*groups_out == NULL) {
                NCONF_free(conf);
                return 0;
            }
        }
    }
    NCONF_free(conf);
    return 1;
}

int qkey_cnf_keysource(const char *path, QKS_CONFIG *cfg, char *err, size_t errlen)
{
    CONF *conf = cnf_load(path);
    const char *provs, *sect;
    STACK_OF(CONF_VALUE) * vals;
    int rc;

    if (conf == NULL) {
        snprintf(err, errlen, "cannot read %s", path);
        return 0;
    }
    provs = init_subsection(conf, "providers");
    sect = provs != NULL ? cnf_get(conf, provs, "qkey") : NULL;
    vals = sect != NULL ? NCONF_get_section(conf, sect) : NULL;
    if (vals == NULL) {
        snprintf(err, errlen, "%s loads no provider named qkey", path);
        NCONF_free(conf);
        return 0;
    }
    /* Keys set inline first: they win over a `config =` file, as in the provider. */
    for (int i = 0; i < sk_CONF_VALUE_num(vals); i++) {
        const CONF_VALUE *v = sk_CONF_VALUE_value(vals, i);
        if (strchr(v->name, '.') == NULL)
            continue; /* module, activate, identity, config: the provider's own keys */
        rc = qks_config_set(cfg, v->name, v->value);
        if (rc != QKS_OK) {
            /* OpenSSL 3.0 hands a provider only the keys it asks for by name, so the provider
             * itself never sees such a line: a typo here is silently ignored at run time. */
            snprintf(err, errlen, "%s: '%s = %s': %s (the provider never sees this line)", path,
                     v->name, v->value, qks_last_error()[0] ? qks_last_error() : qks_strerror(rc));
            NCONF_free(conf);
            return 0;
        }
    }
    for (int i = 0; i < sk_CONF_VALUE_num(vals); i++) {
        const CONF_VALUE *v = sk_CONF_VALUE_value(vals, i);
        if (strcmp(v->name, "config") != 0)
            continue;
        rc = qks_config_load_file(cfg, v->value);
        if (rc != QKS_OK) {
            snprintf(err, errlen, "%s: config = %s: %s: %s", path, v->value, qks_strerror(rc),
                     qks_last_error());
            NCONF_free(conf);
            return 0;
        }
    }
    NCONF_free(conf);
    return 1;
}
