/*
 * `qkey-kme-sim init DIR [options]`: a ready-made ETSI 014 link for tests and demos.
 * Writes, with OpenSSL:
 *   DIR/ca.pem, ca.key                   the test CA (P-256)
 *   DIR/kme-a.pem/.key, kme-b.pem/.key   KME server certificates for 127.0.0.1 and localhost
 *   DIR/sae-a.pem/.key, sae-b.pem/.key   SAE client certificates, CN = SAE_A / SAE_B
 *   DIR/kme.conf                         the KME pair (ports picked free now, key supply model)
 *   DIR/sae-a.cnf, sae-b.cnf             complete openssl.cnf files loading the qkey provider
 *   DIR/qkey-a.conf, qkey-b.conf         standalone [qkd] [rng] [token] files
 *   DIR/store.db                         the shared key store
 * With --agent the credentials go to the agents only: DIR/qkeyd-a.conf, qkeyd-b.conf (0600: the
 * etsi014 driver with qkd.prefetch, grants, journal) for qkeyd, and the four client files say
 * qkd.driver = agent and rng.source = agent (no key file, no device; docs/agent.md).
 * Private keys are 0600; all files are owned by the caller (root for a server's master process).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "kmesim.h"
#include "module_path.h"
#include "pq_groups.h"
#include "safedir.h"

enum cert_kind { CERT_CA, CERT_SERVER, CERT_CLIENT };

/* --agent [--grant LIST]: write qkeyd configurations and credential-free client files */
typedef struct {
    int on;
    char grant[256]; /* users and @groups granted keys and random bytes */
} INIT_AGENT;

static int add_ext(X509 *crt, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX v3;
    X509_EXTENSION *ext;
    int ok;

    X509V3_set_ctx(&v3, issuer, crt, NULL, NULL, 0);
    if ((ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value)) == NULL)
        return 0;
    ok = X509_add_ext(crt, ext, -1);
    X509_EXTENSION_free(ext);
    return ok;
}

static X509 *make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key,
                       enum cert_kind kind)
{
    X509 *crt = X509_new();
    X509_NAME *name = X509_NAME_new();
    ASN1_INTEGER *serial = ASN1_INTEGER_new();
    BIGNUM *bn = BN_new();
    int ok = 0;

    if (crt == NULL || name == NULL || serial == NULL || bn == NULL)
        goto done;
    if (!BN_rand(bn, 120, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) || !BN_to_ASN1_INTEGER(bn, serial))
        goto done;
    if (!X509_set_version(crt, 2) || !X509_set_serialNumber(crt, serial) ||
        !X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"qkey test", -1,
                                    -1, 0) ||
        !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1,
                                    0) ||
        !X509_set_subject_name(crt, name) ||
        !X509_set_issuer_name(crt, issuer ? X509_get_subject_name(issuer) : name) ||
        !X509_gmtime_adj(X509_getm_notBefore(crt), -3600) ||
        !X509_gmtime_adj(X509_getm_notAfter(crt), 3650L * 24 * 3600) || !X509_set_pubkey(crt, key))
        goto done;
    if (issuer == NULL)
        issuer = crt;
    if (!add_ext(crt, issuer, NID_subject_key_identifier, "hash") ||
        !add_ext(crt, issuer, NID_authority_key_identifier, "keyid:always"))
        goto done;
    switch (kind) {
    case CERT_CA:
        ok = add_ext(crt, issuer, NID_basic_constraints, "critical,CA:TRUE") &&
             add_ext(crt, issuer, NID_key_usage, "critical,keyCertSign,cRLSign");
        break;
    case CERT_SERVER:
        ok = add_ext(crt, issuer, NID_basic_constraints, "critical,CA:FALSE") &&
             add_ext(crt, issuer, NID_key_usage, "critical,digitalSignature") &&
             add_ext(crt, issuer, NID_ext_key_usage, "serverAuth") &&
             add_ext(crt, issuer, NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost");
        break;
    case CERT_CLIENT:
        ok = add_ext(crt, issuer, NID_basic_constraints, "critical,CA:FALSE") &&
             add_ext(crt, issuer, NID_key_usage, "critical,digitalSignature") &&
             add_ext(crt, issuer, NID_ext_key_usage, "clientAuth");
        break;
    }
    if (ok)
        ok = X509_sign(crt, issuer_key ? issuer_key : key, EVP_sha256()) > 0;
done:
    X509_NAME_free(name);
    ASN1_INTEGER_free(serial);
    BN_free(bn);
    if (!ok) {
        X509_free(crt);
        crt = NULL;
    }
    return crt;
}

static FILE *open_out(const char *dir, const char *name, mode_t mode)
{
    char path[4200];
    int fd;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    (void)unlink(path); /* a stale file of another mode or owner is replaced */
    if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)) < 0) {
        fprintf(stderr, "qkey-kme-sim: cannot create %s: %s\n", path, strerror(errno));
        return NULL;
    }
    return fdopen(fd, "w");
}

static int write_pem(const char *dir, const char *base, X509 *crt, EVP_PKEY *key)
{
    char name[256];
    FILE *f;
    int ok;

    snprintf(name, sizeof(name), "%s.pem", base);
    if ((f = open_out(dir, name, 0644)) == NULL)
        return -1;
    ok = PEM_write_X509(f, crt);
    ok &= fclose(f) == 0;
    snprintf(name, sizeof(name), "%s.key", base);
    if (!ok || (f = open_out(dir, name, 0600)) == NULL)
        return -1;
    ok = PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
    ok &= fclose(f) == 0;
    return ok ? 0 : -1;
}

static int free_port(void)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
        port = ntohs(sa.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

/* qkeyd's configuration for side i: the only file that names the credentials. */
static int write_agent_conf(const char *dir, const KMESIM_CONFIG *cfg, int i, const INIT_AGENT *ag)
{
    char name[64], side = (char)('a' + i);
    FILE *f;

    snprintf(name, sizeof(name), "qkeyd-%c.conf", side);
    if ((f = open_out(dir, name, 0600)) == NULL)
        return -1;
    fprintf(f,
            "# qkeyd, the key agent for %s at %s (written by qkey-kme-sim init --agent).\n"
            "# The only file that names the KME credentials: qkeyd --conf %s/%s\n"
            "[qkd]\n"
            "driver = etsi014\n"
            "sae_id = %s\n"
            "kme_url = https://127.0.0.1:%d\n"
            "ca = %s/ca.pem\n"
            "cert = %s/sae-%c.pem\n"
            "key = %s/sae-%c.key\n"
            "peers = %s\n"
            "timeout_ms = 3000\n"
            "prefetch = 32\n"
            "rate_limit = 100000\n"
            "rate_burst = 100000\n"
            "\n[rng]\n"
            "source = sim\n"
            "\n[agent]\n"
            "socket = %s/qkeyd-%c.sock\n"
            "grant.%s = %s\n"
            "random = %s\n"
            "journal = %s/qkeyd-%c.journal\n",
            cfg->sae_id[i], cfg->kme_id[i], dir, name, cfg->sae_id[i], cfg->port[i], dir, dir, side,
            dir, side, cfg->sae_id[1 - i], dir, side, cfg->sae_id[1 - i], ag->grant, ag->grant, dir,
            side);
    return fclose(f) == 0 ? 0 : -1;
}

/* The key-source lines of a client: etsi014 with the credentials, or the agent without. */
static void source_lines(char *out, size_t cap, const char *dir, const KMESIM_CONFIG *cfg, int i,
                         const INIT_AGENT *ag, int cnf)
{
    const char *q = cnf ? "qkd." : "", *r = cnf ? "rng." : "", *a = cnf ? "agent." : "";
    const char *rs = cnf ? "" : "\n[rng]\n", *as = cnf ? "" : "\n[agent]\n";
    char side = (char)('a' + i);

    if (ag->on)
        snprintf(out, cap,
                 "%sdriver = agent\n%ssae_id = %s\n%speers = %s\n%stimeout_ms = 3000\n%s"
                 "%ssource = agent\n%s%ssocket = %s/qkeyd-%c.sock\n",
                 q, q, cfg->sae_id[i], q, cfg->sae_id[1 - i], q, rs, r, as, a, dir, side);
    else
        snprintf(out, cap,
                 "%sdriver = etsi014\n%ssae_id = %s\n%skme_url = https://127.0.0.1:%d\n"
                 "%sca = %s/ca.pem\n%scert = %s/sae-%c.pem\n%skey = %s/sae-%c.key\n"
                 "%speers = %s\n%stimeout_ms = 3000\n%s%ssource = sim\n",
                 q, q, cfg->sae_id[i], q, cfg->port[i], q, dir, q, dir, side, q, dir, side, q,
                 cfg->sae_id[1 - i], q, rs, r);
}

static int write_client_files(const char *dir, const KMESIM_CONFIG *cfg, int i, const char *module,
                              const INIT_AGENT *ag)
{
    char name[64];
    char side = (char)('a' + i);
    char modline[PATH_MAX + 64], lines[3 * PATH_MAX];
    FILE *f;
    int ok;

    if (qkt_module_line(module, modline, sizeof(modline)) < 0)
        return -1;
    if (ag->on && write_agent_conf(dir, cfg, i, ag) != 0)
        return -1;

    /* standalone file for the token and the qkey CLI */
    snprintf(name, sizeof(name), "qkey-%c.conf", side);
    if ((f = open_out(dir, name, 0644)) == NULL)
        return -1;
    fprintf(f,
            "# qkey configuration for %s at %s (written by qkey-kme-sim init)\n"
            "[qkd]\n"
            "%s"
            "\n[token]\n"
            "store = %s/token-%c.db\n"
            "label = qk%c\n",
            cfg->sae_id[i], cfg->kme_id[i],
            (source_lines(lines, sizeof(lines), dir, cfg, i, ag, 0), lines), dir, side, side);
    ok = fclose(f) == 0;
    /* complete openssl.cnf: default provider + qkey provider, DRBG seeded from QRNG */
    snprintf(name, sizeof(name), "sae-%c.cnf", side);
    if (!ok || (f = open_out(dir, name, 0644)) == NULL)
        return -1;
    fprintf(f,
            "# OpenSSL configuration for %s: QKD keys from %s (ETSI GS QKD 014) and the qkey\n"
            "# QRNG as the DRBG seed source. Written by qkey-kme-sim init; use with\n"
            "#   OPENSSL_CONF=%s/sae-%c.cnf\n"
            "openssl_conf = openssl_init\n"
            "\n[openssl_init]\n"
            "providers = provider_sect\n"
            "ssl_conf = ssl_sect\n"
            "random = random_sect\n"
            "\n[provider_sect]\n"
            "default = default_sect\n"
            "qkey = qkey_sect\n"
            "\n[default_sect]\n"
            "activate = 1\n"
            "\n[qkey_sect]\n"
            "%s"
            "activate = 1\n"
            "%s"
            "\n# TLS 1.3 offers the QKD groups first, never fewer post-quantum groups than "
            "OpenSSL's defaults.\n"
            "[ssl_sect]\n"
            "system_default = tls_sect\n"
            "\n[tls_sect]\n"
            "Groups = %s\n"
            "\n# OpenSSL's DRBG chain seeds from the quantum RNG pipeline (fails closed).\n"
            "[random_sect]\n"
            "seed = QRNG\n"
            "seed_properties = provider=qkey\n",
            cfg->sae_id[i], cfg->kme_id[i], dir, side, modline,
            (source_lines(lines, sizeof(lines), dir, cfg, i, ag, 1), lines), qkt_default_groups());
    ok = fclose(f) == 0;
    return ok ? 0 : -1;
}

static int write_kme_conf(const char *dir, const KMESIM_CONFIG *c)
{
    FILE *f = open_out(dir, "kme.conf", 0644);

    if (f == NULL)
        return -1;
    fprintf(f,
            "# qkey-kme-sim: two ETSI GS QKD 014 KMEs sharing one key store\n"
            "[kme]\n"
            "kme_a = %s\nkme_b = %s\nsae_a = %s\nsae_b = %s\nport_a = %d\nport_b = %d\n"
            "key_size = %ld\nmin_key_size = %ld\nmax_key_size = %ld\n"
            "max_key_per_request = %ld\nmax_sae_id_count = 0\n"
            "\n# key supply: profile = constant (rate_bps) or satellite (passes of pass_seconds\n"
            "# every period_seconds, rate peak_bps at culmination); time_scale = simulated\n"
            "# seconds per real second; capacity_keys = max_key_count\n"
            "[supply]\n"
            "profile = %s\nrate_bps = %.0f\ncapacity_keys = %ld\ninitial_keys = %ld\n"
            "time_scale = %g\npass_seconds = %g\nperiod_seconds = %g\n"
            "first_pass_seconds = %g\npeak_bps = %.0f\n",
            c->kme_id[0], c->kme_id[1], c->sae_id[0], c->sae_id[1], c->port[0], c->port[1],
            c->key_size, c->min_key_size, c->max_key_size, c->max_key_per_request,
            c->profile == KMESIM_SATELLITE ? "satellite" : "constant", c->rate_bps,
            c->capacity_keys, c->initial_keys, c->time_scale, c->pass_seconds, c->period_seconds,
            c->first_pass_seconds, c->peak_bps);
    return fclose(f) == 0 ? 0 : -1;
}

static int parse_opts(int argc, char **argv, KMESIM_CONFIG *c, INIT_AGENT *ag)
{
    static const struct option opts[] = {
        {"profile", required_argument, NULL, 'p'},
        {"rate", required_argument, NULL, 'r'},
        {"capacity", required_argument, NULL, 'c'},
        {"initial", required_argument, NULL, 'i'},
        {"time-scale", required_argument, NULL, 't'},
        {"pass", required_argument, NULL, 'P'},
        {"period", required_argument, NULL, 'T'},
        {"first-pass", required_argument, NULL, 'F'},
        {"peak", required_argument, NULL, 'k'},
        {"max-per-request", required_argument, NULL, 'm'},
        {"agent", no_argument, NULL, 'A'},
        {"grant", required_argument, NULL, 'G'},
        {NULL, 0, NULL, 0},
    };
    int o;

    optind = 1;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'p':
            if (strcmp(optarg, "satellite") == 0)
                c->profile = KMESIM_SATELLITE;
            else if (strcmp(optarg, "constant") == 0)
                c->profile = KMESIM_CONSTANT;
            else
                return -1;
            break;
        case 'r':
            c->rate_bps = atof(optarg);
            break;
        case 'c':
            c->capacity_keys = atol(optarg);
            break;
        case 'i':
            c->initial_keys = atol(optarg);
            break;
        case 't':
            c->time_scale = atof(optarg);
            break;
        case 'P':
            c->pass_seconds = atof(optarg);
            break;
        case 'T':
            c->period_seconds = atof(optarg);
            break;
        case 'F':
            c->first_pass_seconds = atof(optarg);
            break;
        case 'k':
            c->peak_bps = atof(optarg);
            break;
        case 'm':
            c->max_key_per_request = atol(optarg);
            break;
        case 'A':
            ag->on = 1;
            break;
        case 'G':
            /* written into qkeyd-X.conf: one line, the grant list's own characters only */
            if (strlen(optarg) >= sizeof(ag->grant) || strpbrk(optarg, "\n\r=[]#;") != NULL)
                return -1;
            snprintf(ag->grant, sizeof(ag->grant), "%s", optarg);
            break;
        default:
            return -1;
        }
    }
    if (c->initial_keys > c->capacity_keys)
        c->initial_keys = c->capacity_keys;
    return 0;
}

int kmesim_init(const char *dir_arg, int argc, char **argv)
{
    KMESIM_CONFIG cfg, check;
    KMESIM_STORE *store = NULL;
    EVP_PKEY *ca_key = NULL, *key = NULL;
    X509 *ca = NULL, *crt = NULL;
    char dir[PATH_MAX], module[PATH_MAX], err[512];
    static const char *bases[4] = {"kme-a", "kme-b", "sae-a", "sae-b"};
    INIT_AGENT ag = {0, "root"};
    int rc = 1;

    kmesim_config_defaults(&cfg);
    if (parse_opts(argc, argv, &cfg, &ag) != 0) {
        fprintf(stderr, "qkey-kme-sim init: bad option (see qkey-kme-sim --help)\n");
        return 2;
    }
    /* a directory someone else prepared could hold their sae-a.cnf or a store.db link */
    if (!qsd_prepare_dir(dir_arg, 0755, err, sizeof(err))) {
        fprintf(stderr, "qkey-kme-sim init: %s\n", err);
        return 1;
    }
    if (realpath(dir_arg, dir) == NULL) {
        fprintf(stderr, "qkey-kme-sim: %s: %s\n", dir_arg, strerror(errno));
        return 1;
    }
    snprintf(cfg.dir, sizeof(cfg.dir), "%s", dir);
    cfg.port[0] = free_port();
    do
        cfg.port[1] = free_port();
    while (cfg.port[1] == cfg.port[0]);
    if (cfg.port[0] <= 0 || cfg.port[1] <= 0) {
        fprintf(stderr, "qkey-kme-sim: no free TCP port on 127.0.0.1\n");
        return 1;
    }
    ca_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    if (ca_key == NULL ||
        (ca = make_cert(ca_key, "qkey test KME CA", NULL, NULL, CERT_CA)) == NULL ||
        write_pem(dir, "ca", ca, ca_key) != 0)
        goto done;
    for (int i = 0; i < 4; i++) {
        const char *cn = i < 2 ? cfg.kme_id[i] : cfg.sae_id[i - 2];

        if ((key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL ||
            (crt = make_cert(key, cn, ca, ca_key, i < 2 ? CERT_SERVER : CERT_CLIENT)) == NULL ||
            write_pem(dir, bases[i], crt, key) != 0)
            goto done;
        X509_free(crt);
        EVP_PKEY_free(key);
        crt = NULL;
        key = NULL;
    }
    if (!qkt_provider_module(module, sizeof(module))) {
        fprintf(stderr, "qkey-kme-sim: cannot name the provider module (QKEY_PROVIDER_MODULE)\n");
        goto done;
    }
    if (write_kme_conf(dir, &cfg) != 0 || write_client_files(dir, &cfg, 0, module, &ag) != 0 ||
        write_client_files(dir, &cfg, 1, module, &ag) != 0)
        goto done;
    /* read the file back as `run` will, then create the store */
    if (kmesim_config_load(dir, &check, err, sizeof(err)) != 0 ||
        kmesim_store_open(&check, 1, &store, err, sizeof(err)) != 0) {
        fprintf(stderr, "qkey-kme-sim: %s\n", err);
        goto done;
    }
    printf("qkey-kme-sim: link in %s: %s (SAE %s) on port %d, %s (SAE %s) on port %d\n"
           "  OPENSSL_CONF=%s/sae-a.cnf and %s/sae-b.cnf; provider %s\n",
           dir, cfg.kme_id[0], cfg.sae_id[0], cfg.port[0], cfg.kme_id[1], cfg.sae_id[1],
           cfg.port[1], dir, dir, module);
    if (ag.on)
        printf("  agents: qkeyd --conf %s/qkeyd-a.conf and qkeyd-b.conf (they alone hold the "
               "credentials; keys and random bytes for %s)\n",
               dir, ag.grant);
    rc = 0;
done:
    if (rc != 0 && ERR_peek_error() != 0) {
        fprintf(stderr, "qkey-kme-sim: OpenSSL error while writing the test PKI:\n");
        ERR_print_errors_fp(stderr);
    }
    kmesim_store_close(store);
    X509_free(crt);
    EVP_PKEY_free(key);
    X509_free(ca);
    EVP_PKEY_free(ca_key);
    return rc;
}
