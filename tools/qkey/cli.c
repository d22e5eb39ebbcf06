/*
 * qkey command line: the dispatcher, the usage text and the helpers every subcommand uses
 * (opening the key source, error reports, byte counts).
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/ssl.h>

#include "qkey_cli.h"

void qkey_usage(FILE *out)
{
    fprintf(
        out,
        "usage: qkey [--conf FILE] COMMAND [ARGS]\n"
        "\n"
        "commands:\n"
        "  sim init DIR [--force]     write a simulated QKD link: DIR/sae-a.cnf, DIR/sae-b.cnf\n"
        "                             (openssl.cnf files) and DIR/qkey-a.conf, DIR/qkey-b.conf\n"
        "  status [--json] [--config OPENSSL_CNF]\n"
        "                             the key source's status; with --config (or\n"
        "                             $OPENSSL_CONF) also prove that OpenSSL loads qkey, seeds\n"
        "                             its DRBGs from QRNG and offers the configured QKD groups\n"
        "  key new PEER               make a QKD key shared with PEER; prints KEY_ID and the\n"
        "                             key in hex: THE KEY IS A SECRET, keep the output private\n"
        "  key get PEER KEY_ID        fetch the key PEER made for us; prints the key in hex\n"
        "                             (a SECRET); a key ID is delivered once\n"
        "  rand N                     N bytes (suffix k, M, G: binary units) of the quantum\n"
        "                             RNG pipeline to stdout; fails closed on a health error\n"
        "  inject ARGS...             run qkey-inject (copy QKD keys into another PKCS#11 token)\n"
        "\n"
        "options:\n"
        "  --conf FILE                the qkey.conf to use (default: $QKEY_CONF, else %s)\n"
        "  -h, --help                 this text\n"
        "  --version                  print the version\n"
        "\n"
        "exit codes: 0 done, 1 the operation failed, 2 bad command line,\n"
        "            3 a `status` check failed (downgrade or seed not from QRNG)\n",
        "/etc/qkey/qkey.conf");
}

void qkey_report(const char *what, int rc)
{
    const char *detail = qks_last_error();
    if (detail != NULL && detail[0] != '\0')
        fprintf(stderr, "qkey: %s: %s: %s\n", what, qks_strerror(rc), detail);
    else
        fprintf(stderr, "qkey: %s: %s\n", what, qks_strerror(rc));
}

const char *qkey_conf_path(const QKEY_OPTS *opts)
{
    if (opts != NULL && opts->conf != NULL)
        return opts->conf;
    return qks_config_default_path();
}

int qkey_open(const QKEY_OPTS *opts, QKS_CTX **out)
{
    const char *path = qkey_conf_path(opts);
    QKS_CONFIG *cfg = qks_config_new();
    char what[PATH_MAX + 64];
    int rc;

    *out = NULL;
    if (cfg == NULL) {
        qkey_report("cannot allocate a configuration", QKS_ERR_NOMEM);
        return 0;
    }
    rc = qks_config_load_file(cfg, path);
    if (rc != QKS_OK) {
        snprintf(what, sizeof(what), "cannot read %s (set QKEY_CONF or --conf)", path);
        qkey_report(what, rc);
        qks_config_free(cfg);
        return 0;
    }
    rc = qks_ctx_new(cfg, out);
    qks_config_free(cfg);
    if (rc != QKS_OK) {
        snprintf(what, sizeof(what), "cannot open the key source of %s", path);
        qkey_report(what, rc);
        return 0;
    }
    return 1;
}

int qkey_parse_count(const char *s, uint64_t max, uint64_t *out)
{
    uint64_t v = 0, unit = 1;
    const char *p = s;

    if (s == NULL || *s < '0' || *s > '9')
        return 0;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (v > (UINT64_MAX - 9) / 10)
            return 0;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    switch (*p) {
    case '\0':
        break;
    case 'k':
    case 'K':
        unit = 1024;
        p++;
        break;
    case 'm':
    case 'M':
        unit = 1024 * 1024;
        p++;
        break;
    case 'g':
    case 'G':
        unit = 1024 * 1024 * 1024;
        p++;
        break;
    default:
        return 0;
    }
    if (*p != '\0' || v == 0 || v > max / unit)
        return 0;
    *out = v * unit;
    return 1;
}

static const QKEY_OPTDEF *find_opt(const QKEY_OPTDEF *defs, const char *name, size_t len)
{
    for (; defs != NULL && defs->name != NULL; defs++)
        if (strlen(defs->name) == len && strncmp(defs->name, name, len) == 0)
            return defs;
    return NULL;
}

int qkey_parse_args(int argc, char **argv, const QKEY_OPTDEF *defs, QKEY_OPTS *opts, char **pos,
                    int maxpos, int *npos)
{
    int only_pos = 0;

    *npos = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (only_pos || a[0] != '-' || a[1] == '\0') {
            if (*npos >= maxpos) {
                fprintf(stderr, "qkey %s: unexpected argument '%s'\n", argv[0], a);
                return QKEY_EXIT_USAGE;
            }
            pos[(*npos)++] = argv[i];
            continue;
        }
        if (strcmp(a, "--") == 0) {
            only_pos = 1;
            continue;
        }
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)
            return -1;
        if (a[1] != '-') {
            fprintf(stderr, "qkey %s: unknown option '%s'\n", argv[0], a);
            return QKEY_EXIT_USAGE;
        }
        const char *name = a + 2, *eq = strchr(name, '=');
        size_t len = eq != NULL ? (size_t)(eq - name) : strlen(name);
        const char **value = NULL;
        const QKEY_OPTDEF *d = find_opt(defs, name, len);

        if (len == 4 && strncmp(name, "conf", 4) == 0)
            value = &opts->conf;
        else if (d != NULL && d->value != NULL)
            value = d->value;
        if (value != NULL) {
            if (eq != NULL) {
                *value = eq + 1;
            } else if (i + 1 < argc) {
                *value = argv[++i];
            } else {
                fprintf(stderr, "qkey %s: option '%s' needs a value\n", argv[0], a);
                return QKEY_EXIT_USAGE;
            }
        } else if (d != NULL && d->flag != NULL && eq == NULL) {
            *d->flag = 1;
        } else {
            fprintf(stderr, "qkey %s: unknown option '%s'\n", argv[0], a);
            return QKEY_EXIT_USAGE;
        }
    }
    return QKEY_EXIT_OK;
}

int qkey_write_all(int fd, const void *buf, size_t len)
{
    const unsigned char *p = buf;

    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return 0;
        }
        p += n;
        len -= (size_t)n;
    }
    return 1;
}

int qkey_main(int argc, char **argv)
{
    QKEY_OPTS opts = {NULL};
    int i = 1;

    /* qkey reads its own configs explicitly: never let $OPENSSL_CONF load the qkey provider
     * into the default library context behind our back (status checks a fresh one). */
    if (!OPENSSL_init_ssl(OPENSSL_INIT_NO_LOAD_CONFIG, NULL)) {
        fprintf(stderr, "qkey: cannot initialise OpenSSL\n");
        return QKEY_EXIT_FAIL;
    }

    /* Global options before the subcommand; subcommands accept --conf too. */
    while (i < argc && argv[i][0] == '-') {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            qkey_usage(stdout);
            return QKEY_EXIT_OK;
        } else if (strcmp(argv[i], "--version") == 0) {
            printf("qkey %s\n", qks_version());
            return QKEY_EXIT_OK;
        } else if (strcmp(argv[i], "--conf") == 0 && i + 1 < argc) {
            opts.conf = argv[i + 1];
            i += 2;
        } else if (strncmp(argv[i], "--conf=", 7) == 0) {
            opts.conf = argv[i] + 7;
            i++;
        } else {
            fprintf(stderr, "qkey: unknown option %s\n", argv[i]);
            qkey_usage(stderr);
            return QKEY_EXIT_USAGE;
        }
    }
    if (i >= argc) {
        qkey_usage(stderr);
        return QKEY_EXIT_USAGE;
    }
    argc -= i;
    argv += i;
    if (strcmp(argv[0], "sim") == 0)
        return qkey_cmd_sim(&opts, argc, argv);
    if (strcmp(argv[0], "status") == 0)
        return qkey_cmd_status(&opts, argc, argv);
    if (strcmp(argv[0], "key") == 0)
        return qkey_cmd_key(&opts, argc, argv);
    if (strcmp(argv[0], "rand") == 0)
        return qkey_cmd_rand(&opts, argc, argv);
    if (strcmp(argv[0], "inject") == 0)
        return qkey_cmd_inject(&opts, argc, argv);
    if (strcmp(argv[0], "help") == 0) {
        qkey_usage(stdout);
        return QKEY_EXIT_OK;
    }
    fprintf(stderr, "qkey: unknown command '%s'\n", argv[0]);
    qkey_usage(stderr);
    return QKEY_EXIT_USAGE;
}
