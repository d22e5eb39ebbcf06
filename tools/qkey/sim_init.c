/*
 * qkey sim init DIR: a ready-made simulated QKD link, so a user needs no manual config.
 *   DIR/link          the directory both ends of the embedded link share (qkd.sim_link)
 *   DIR/sae-a.cnf     complete openssl.cnf for SAE_A: default + qkey providers, QRNG seed
 *   DIR/sae-b.cnf     the same for SAE_B
 *   DIR/qkey-a.conf   standalone key-source config for SAE_A (token, `qkey` commands)
 *   DIR/qkey-b.conf   the same for SAE_B
 * With --agent [--grant LIST] the link is the agents': DIR/qkeyd-a.conf, qkeyd-b.conf (0600) name
 * it for qkeyd, and the four files above say qkd.driver = agent and rng.source = agent
 * (docs/agent.md).
 * Every path written is absolute. Nothing is replaced without --force, and nothing is written
 * until every check has passed. Exactly one line per file sets the RNG source, so a user (or a
 * test) can point it elsewhere with one substitution.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pwd.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "qkey_cli.h"
#include "pq_groups.h"
#include "safedir.h"

#define LINK_MODE 0700 /* see docs/config.md "Simulated link": owner only */

typedef struct {
    const char *sae_id, *peer, *tag; /* "SAE_A", "SAE_B", "a" */
} SIM_SIDE;

static const SIM_SIDE sides[2] = {{"SAE_A", "SAE_B", "a"}, {"SAE_B", "SAE_A", "b"}};
static const char *const sim_files[] = {"sae-a.cnf", "sae-b.cnf", "qkey-a.conf", "qkey-b.conf",
                                        NULL};

static void sim_usage(FILE *out)
{
    fprintf(out,
            "usage: qkey sim init [--force] [--owner USER] [--agent [--grant LIST]] DIR\n"
            "  Writes a simulated QKD link between SAE_A and SAE_B into DIR:\n"
            "    DIR/sae-a.cnf, DIR/sae-b.cnf    openssl.cnf files (OPENSSL_CONF=...) that load\n"
            "                                    the qkey provider and seed OpenSSL from QRNG\n"
            "    DIR/qkey-a.conf, DIR/qkey-b.conf  key-source configs (QKEY_CONF=...) for the\n"
            "                                    PKCS#11 token and the qkey commands\n"
            "    DIR/link                        the link's shared state\n"
            "  --force replaces an existing link (its keys are lost) and the four files.\n"
            "  --owner USER gives DIR/link to USER (mode 0700), e.g. www-data for an nginx\n"
            "  whose workers drop to that user; root processes reach it regardless.\n"
            "  --agent: only qkeyd opens the link and the RNG: writes DIR/qkeyd-a.conf and\n"
            "  DIR/qkeyd-b.conf (run qkeyd --conf on each) and makes the four files clients\n"
            "  of the agents (qkd.driver = agent, rng.source = agent).\n"
            "  --grant LIST: with --agent, the users and @groups the agents serve (default\n"
            "  root).\n"
            "  The provider module named in the .cnf files is $QKEY_PROVIDER_MODULE if set.\n");
}

/* Characters that openssl.cnf (NCONF) would interpret in a value: refuse rather than mangle. */
static int cnf_safe(const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x20 || c == 0x7f || strchr("$#\\\"'", c) != NULL)
            return 0;
    }
    return 1;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    return (flag == FTW_DP ? rmdir(path) : unlink(path)) == 0 ? 0 : -1;
}

/* The key-source lines of a client: the sim link itself, or the agent that holds it. */
static void source_lines(char *out, size_t cap, const SIM_SIDE *s, const char *dir, int agent,
                         int cnf)
{
    const char *q = cnf ? "qkd." : "", *r = cnf ? "rng." : "", *a = cnf ? "agent." : "";
    const char *rs = cnf ? "" : "\n[rng]\n", *as = cnf ? "" : "\n[agent]\n";

    if (agent)
        snprintf(out, cap,
                 "%sdriver = agent\n%ssae_id = %s\n%speers = %s\n%s%ssource = agent\n%s"
                 "%ssocket = %s/qkeyd-%s.sock\n",
                 q, q, s->sae_id, q, s->peer, rs, r, as, a, dir, s->tag);
    else
        snprintf(out, cap,
                 "%sdriver = sim\n%ssae_id = %s\n%ssim_link = %s/link\n%speers = %s\n%s"
                 "%ssource = sim\n",
                 q, q, s->sae_id, q, dir, q, s->peer, rs, r);
}

static void write_cnf(FILE *f, const SIM_SIDE *s, const char *dir, const char *module, int agent)
{
    char modline[PATH_MAX + 64], lines[3 * PATH_MAX];

    if (qkt_module_line(module, modline, sizeof(modline)) < 0)
        snprintf(modline, sizeof(modline), "module = %s\n", module); /* cannot happen: PATH_MAX */
    fprintf(f,
            "# openssl.cnf for %s on the simulated QKD link in %s\n"
            "# (written by `qkey sim init`). Use it with any unmodified OpenSSL 3 program:\n"
            "#   OPENSSL_CONF=%s/sae-%s.cnf openssl s_client -groups x25519_qkd ...\n"
            "# Check it with: OPENSSL_CONF=%s/sae-%s.cnf qkey status\n"
            "openssl_conf = openssl_init\n"
            "\n"
            "[openssl_init]\n"
            "providers = provider_sect\n"
            "ssl_conf = ssl_sect\n"
            "random = random_sect\n"
            "\n"
            "[provider_sect]\n"
            "default = default_sect\n"
            "qkey = qkey_sect\n"
            "\n"
            "[default_sect]\n"
            "activate = 1\n"
            "\n"
            "# The qkey provider and its key source (keys as in docs/config.md).\n"
            "[qkey_sect]\n"
            "%s"
            "activate = 1\n"
            "%s"
            "\n"
            "# TLS 1.3 offers the QKD groups first, never fewer post-quantum groups than OpenSSL's "
            "defaults.\n"
            "[ssl_sect]\n"
            "system_default = tls_sect\n"
            "\n"
            "[tls_sect]\n"
            "Groups = %s\n"
            "\n"
            "# OpenSSL's DRBG chain seeds from the quantum RNG pipeline (fails closed).\n"
            "[random_sect]\n"
            "seed = QRNG\n"
            "seed_properties = provider=qkey\n",
            s->sae_id, dir, dir, s->tag, dir, s->tag, modline,
            (source_lines(lines, sizeof(lines), s, dir, agent, 1), lines), qkt_default_groups());
}

static void write_conf(FILE *f, const SIM_SIDE *s, const char *dir, int agent)
{
    char lines[3 * PATH_MAX];

    fprintf(f,
            "# qkey key-source config for %s on the simulated QKD link in %s\n"
            "# (written by `qkey sim init`). Used by the PKCS#11 token and the qkey commands:\n"
            "#   QKEY_CONF=%s/qkey-%s.conf qkey status\n"
            "[qkd]\n"
            "%s"
            "\n"
            "[token]\n"
            "store = %s/token-%s.db\n"
            "label = qk%s\n",
            s->sae_id, dir, dir, s->tag,
            (source_lines(lines, sizeof(lines), s, dir, agent, 0), lines), dir, s->tag, s->tag);
}

/* qkeyd's configuration for one side (0600): the only file naming the link and the RNG. */
static void write_agent_conf(FILE *f, const SIM_SIDE *s, const char *dir, const char *grant)
{
    fprintf(f,
            "# qkeyd, the key agent for %s on the simulated QKD link in %s\n"
            "# (written by `qkey sim init --agent`): qkeyd --conf %s/qkeyd-%s.conf\n"
            "[qkd]\n"
            "driver = sim\n"
            "sae_id = %s\n"
            "sim_link = %s/link\n"
            "peers = %s\n"
            "\n"
            "[rng]\n"
            "source = sim\n"
            "\n"
            "[agent]\n"
            "socket = %s/qkeyd-%s.sock\n"
            "grant.%s = %s\n"
            "random = %s\n"
            "journal = %s/qkeyd-%s.journal\n",
            s->sae_id, dir, dir, s->tag, s->sae_id, dir, s->peer, dir, s->tag, s->peer, grant,
            grant, dir, s->tag);
}

typedef enum { SIM_CNF, SIM_CONF, SIM_AGENT_CNF, SIM_AGENT_CONF, SIM_QKEYD } SIM_FILE_KIND;

/* Write one file through a temporary name and rename(2), so no reader sees half a file. */
static int write_file(const char *dir, const char *name, const SIM_SIDE *s, SIM_FILE_KIND kind,
                      const char *arg, char *err, size_t errlen)
{
    char path[PATH_MAX], tmp[PATH_MAX + 8];
    int fd;
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    (void)unlink(tmp); /* a leftover of an interrupted run; absence is the normal case */
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
              kind == SIM_QKEYD ? 0600 : 0644);
    if (fd < 0 || (f = fdopen(fd, "w")) == NULL) {
        snprintf(err, errlen, "cannot create %s: %s", tmp, strerror(errno));
        if (fd >= 0)
            close(fd);
        return 0;
    }
    switch (kind) {
    case SIM_CNF:
    case SIM_AGENT_CNF:
        write_cnf(f, s, dir, arg, kind == SIM_AGENT_CNF);
        break;
    case SIM_CONF:
    case SIM_AGENT_CONF:
        write_conf(f, s, dir, kind == SIM_AGENT_CONF);
        break;
    case SIM_QKEYD:
        write_agent_conf(f, s, dir, arg);
        break;
    }
    if (ferror(f) | (fclose(f) != 0) || rename(tmp, path) != 0) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        (void)unlink(tmp); /* best effort: the error above is what the user acts on */
        return 0;
    }
    return 1;
}

int qkey_sim_write(const char *dir_in, const char *module, int force, char *err, size_t errlen)
{
    char dir[PATH_MAX], path[PATH_MAX + 32];
    struct stat st;

    if (dir_in == NULL || dir_in[0] == '\0' || module == NULL || module[0] != '/') {
        snprintf(err, errlen, "need a directory and an absolute provider module path");
        return 0;
    }
    /* a directory someone else prepared could hold their sae-a.cnf or link/keys.qsl */
    if (!qsd_prepare_dir(dir_in, 0755, err, errlen))
        return 0;
    if (realpath(dir_in, dir) == NULL || stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s is not a usable directory", dir_in);
        return 0;
    }
    if (strlen(dir) > PATH_MAX - 64) {
        snprintf(err, errlen, "%s: path too long", dir);
        return 0;
    }
    if (!cnf_safe(dir) || !cnf_safe(module)) {
        snprintf(err, errlen,
                 "%s holds a character openssl.cnf cannot carry ($ # \\ \" ' or a "
                 "control character): choose another directory",
                 cnf_safe(dir) ? module : dir);
        return 0;
    }
    /* Check everything before writing anything. */
    snprintf(path, sizeof(path), "%s/link", dir);
    if (lstat(path, &st) == 0) {
        if (!force) {
            snprintf(err, errlen,
                     "%s already exists (a link with its keys): add --force to "
                     "replace it",
                     path);
            return 0;
        }
        if (nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS) != 0) {
            snprintf(err, errlen, "cannot remove the old link %s: %s", path, strerror(errno));
            return 0;
        }
    }
    for (int i = 0; sim_files[i] != NULL && !force; i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, sim_files[i]);
        if (lstat(path, &st) == 0) {
            snprintf(err, errlen, "%s already exists: add --force to replace it", path);
            return 0;
        }
    }
    snprintf(path, sizeof(path), "%s/link", dir);
    if (mkdir(path, LINK_MODE) != 0) {
        snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
        return 0;
    }
    for (int i = 0; i < 2; i++) {
        if (!write_file(dir, sim_files[i], &sides[i], SIM_CNF, module, err, errlen) ||
            !write_file(dir, sim_files[2 + i], &sides[i], SIM_CONF, NULL, err, errlen))
            return 0;
    }
    return 1;
}

int qkey_sim_write_agent(const char *dir_in, const char *module, const char *grant, char *err,
                         size_t errlen)
{
    char dir[PATH_MAX], name[32];

    if (realpath(dir_in, dir) == NULL || !cnf_safe(grant) || strpbrk(grant, "=[]\n") != NULL) {
        snprintf(err, errlen,
                 "%s: not a directory, or a grant list with characters a config "
                 "line cannot hold",
                 dir_in);
        return 0;
    }
    for (int i = 0; i < 2; i++) {
        snprintf(name, sizeof(name), "qkeyd-%s.conf", sides[i].tag);
        if (!write_file(dir, name, &sides[i], SIM_QKEYD, grant, err, errlen) ||
            !write_file(dir, sim_files[i], &sides[i], SIM_AGENT_CNF, module, err, errlen) ||
            !write_file(dir, sim_files[2 + i], &sides[i], SIM_AGENT_CONF, NULL, err, errlen))
            return 0;
    }
    return 1;
}

int qkey_sim_chown_link(const char *dir, const char *user, char *err, size_t errlen)
{
    char path[PATH_MAX + 8];
    struct passwd *pw = getpwnam(user);

    if (pw == NULL) {
        snprintf(err, errlen, "no such user: %s", user);
        return 0;
    }
    snprintf(path, sizeof(path), "%s/link", dir);
    if (chown(path, pw->pw_uid, pw->pw_gid) != 0) {
        snprintf(err, errlen, "cannot give %s to %s: %s", path, user, strerror(errno));
        return 0;
    }
    /* The link's key store too: created now by opening the link, so it is the user's from the
     * start rather than whoever opens the link first (docs/sim-link.md). */
    static const char *const kv[] = {"qkd.driver", "sim",   "qkd.sae_id", "SAE_A",
                                     "qkd.peers",  "SAE_B", NULL};
    QKS_CONFIG *cfg = qks_config_new();
    QKS_CTX *ctx = NULL;
    int rc = cfg == NULL ? QKS_ERR_NOMEM : qks_config_set(cfg, "qkd.sim_link", path);
    for (int i = 0; kv[i] != NULL && rc == QKS_OK; i += 2)
        rc = qks_config_set(cfg, kv[i], kv[i + 1]);
    if (rc == QKS_OK)
        rc = qks_ctx_new(cfg, &ctx);
    qks_ctx_free(ctx);
    qks_config_free(cfg);
    if (rc != QKS_OK) {
        snprintf(err, errlen, "cannot create the key store in %s: %s", path, qks_last_error());
        return 0;
    }
    snprintf(path, sizeof(path), "%s/link/keys.qsl", dir);
    if (chown(path, pw->pw_uid, pw->pw_gid) != 0) {
        snprintf(err, errlen, "cannot give %s to %s: %s", path, user, strerror(errno));
        return 0;
    }
    return 1;
}

int qkey_cmd_sim(const QKEY_OPTS *gopts, int argc, char **argv)
{
    QKEY_OPTS opts = *gopts;
    int force = 0, agent = 0, npos, rc;
    const char *owner = NULL, *grant = NULL;
    char *pos[2], module[PATH_MAX], err[PATH_MAX + 256];
    const QKEY_OPTDEF defs[] = {{"force", NULL, &force},
                                {"owner", &owner, NULL},
                                {"agent", NULL, &agent},
                                {"grant", &grant, NULL},
                                {NULL, NULL, NULL}};

    rc = qkey_parse_args(argc, argv, defs, &opts, pos, 2, &npos);
    if (rc < 0) {
        sim_usage(stdout);
        return QKEY_EXIT_OK;
    }
    if (rc != QKEY_EXIT_OK || npos != 2 || strcmp(pos[0], "init") != 0) {
        sim_usage(stderr);
        return QKEY_EXIT_USAGE;
    }
    if (!qkt_provider_module(module, sizeof(module))) {
        fprintf(stderr, "qkey sim init: cannot name the provider module (QKEY_PROVIDER_MODULE)\n");
        return QKEY_EXIT_FAIL;
    }
    if (access(module, R_OK) != 0)
        fprintf(stderr, "qkey sim init: warning: provider module %s is not there (yet)\n", module);
    if (owner != NULL && getpwnam(owner) == NULL) {
        fprintf(stderr, "qkey sim init: no such user: %s\n", owner);
        return QKEY_EXIT_USAGE;
    }
    if (grant != NULL && !agent) {
        fprintf(stderr, "qkey sim init: --grant goes with --agent\n");
        return QKEY_EXIT_USAGE;
    }
    if (!qkey_sim_write(pos[1], module, force, err, sizeof(err)) ||
        (owner != NULL && !qkey_sim_chown_link(pos[1], owner, err, sizeof(err))) ||
        (agent &&
         !qkey_sim_write_agent(pos[1], module, grant ? grant : "root", err, sizeof(err)))) {
        fprintf(stderr, "qkey sim init: %s\n", err);
        return QKEY_EXIT_FAIL;
    }
    const char *shown = realpath(pos[1], module) != NULL ? module : pos[1];
    printf("simulated QKD link SAE_A <-> SAE_B written to %s\n"
           "  OPENSSL_CONF=%s/sae-a.cnf   (and sae-b.cnf)  for OpenSSL programs\n"
           "  QKEY_CONF=%s/qkey-a.conf    (and qkey-b.conf) for the PKCS#11 token and qkey\n",
           shown, shown, shown);
    if (agent)
        printf("  qkeyd --conf %s/qkeyd-a.conf (and qkeyd-b.conf): the agents alone open the link\n"
               "  and the RNG; the four files above are their clients\n",
               shown);
    return QKEY_EXIT_OK;
}
