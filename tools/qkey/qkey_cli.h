/*
 * qkey command line: declarations shared by the subcommand files (one file per subcommand)
 * and by the unit tests, which link the same code as the static library qkeycli.
 */
#ifndef QKEY_CLI_H
#define QKEY_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "module_path.h"
#include "qkey/qks.h"

/* Exit codes (documented in `qkey --help` and docs/config.md). */
enum {
    QKEY_EXIT_OK = 0,    /* done */
    QKEY_EXIT_FAIL = 1,  /* the operation failed (key source, OpenSSL, I/O) */
    QKEY_EXIT_USAGE = 2, /* bad command line */
    QKEY_EXIT_CHECK = 3  /* `qkey status`: a check failed (downgrade, seed not from QRNG) */
};

/* Options that every subcommand accepts (before or after the subcommand name). */
typedef struct {
    const char *conf; /* --conf FILE: the standalone qkey.conf; NULL: $QKEY_CONF or default */
} QKEY_OPTS;

/* ---- subcommands (argv[0] is the subcommand name) ---------------------------------------- */
int qkey_cmd_sim(const QKEY_OPTS *opts, int argc, char **argv);
int qkey_cmd_status(const QKEY_OPTS *opts, int argc, char **argv);
int qkey_cmd_key(const QKEY_OPTS *opts, int argc, char **argv);
int qkey_cmd_rand(const QKEY_OPTS *opts, int argc, char **argv);
int qkey_cmd_inject(const QKEY_OPTS *opts, int argc, char **argv);
/* Top-level dispatcher: what main() runs. */
int qkey_main(int argc, char **argv);
void qkey_usage(FILE *out);

/* ---- helpers (cli.c) --------------------------------------------------------------------- */
/* Print "qkey: WHAT: <error name>[: <detail>]" to stderr. */
void qkey_report(const char *what, int rc);
/* The qkey.conf path in effect: --conf, else $QKEY_CONF, else /etc/qkey/qkey.conf. */
const char *qkey_conf_path(const QKEY_OPTS *opts);
/* Load the qkey.conf in effect and open a key source; reports failures itself. */
int qkey_open(const QKEY_OPTS *opts, QKS_CTX **out);
/*
 * Parse a byte count: decimal digits with an optional binary suffix k/K, m/M, g/G.
 * 1 on success (value in *out, 1 <= value <= max), 0 on anything else.
 */
int qkey_parse_count(const char *s, uint64_t max, uint64_t *out);
/* One option a subcommand accepts: "--name" (flag) or "--name VALUE" / "--name=VALUE". */
typedef struct {
    const char *name;   /* without the leading "--" */
    const char **value; /* where VALUE goes, for an option with an argument; else NULL */
    int *flag;          /* set to 1 for a flag; else NULL */
} QKEY_OPTDEF;

/*
 * Split argv[1..] of a subcommand into options (defs, plus --conf for every subcommand) and
 * positional arguments (up to maxpos into pos). "--" ends the options. Returns QKEY_EXIT_OK,
 * QKEY_EXIT_USAGE after printing why, or -1 when -h/--help was asked for (nothing printed).
 */
int qkey_parse_args(int argc, char **argv, const QKEY_OPTDEF *defs, QKEY_OPTS *opts, char **pos,
                    int maxpos, int *npos);
/* Write all of buf to fd (retrying on EINTR and short writes). 1 on success. */
int qkey_write_all(int fd, const void *buf, size_t len);

/* ---- sim init (sim_init.c) --------------------------------------------------------------- */
/*
 * Write a simulated link into dir (created if missing): dir/link, dir/sae-a.cnf, dir/sae-b.cnf,
 * dir/qkey-a.conf, dir/qkey-b.conf. `module` is the provider's absolute path. Refuses to
 * replace an existing link or file unless force is set. On failure returns 0 with a message
 * in err.
 */
int qkey_sim_write(const char *dir, const char *module, int force, char *err, size_t errlen);
/* After qkey_sim_write: DIR/qkeyd-a.conf, qkeyd-b.conf for qkeyd (granting `grant`), and the four
 * client files rewritten as clients of those agents. */
int qkey_sim_write_agent(const char *dir, const char *module, const char *grant, char *err,
                         size_t errlen);
/* Give dir/link to user (chown, keeping mode 0700). 0 with a message in err on failure. */
int qkey_sim_chown_link(const char *dir, const char *user, char *err, size_t errlen);

/* ---- openssl.cnf checks (status_ossl.c, cnf.c, hello.c) ------------------------------------ */
typedef struct {
    char *config;             /* the openssl.cnf checked */
    int loaded;               /* OSSL_LIB_CTX_load_config succeeded */
    char load_error[256];     /* why not */
    int provider_loaded;      /* provider "qkey" available in that library context */
    char provider_error[256]; /* the provider's qkey-error: why it rejected its config */
    int seed_counter_found;   /* the provider exposes its get_seed counter */
    uint64_t seeds_before;    /* the counter before the forced reseed */
    uint64_t seeds_after;     /* ... and after */
    uint64_t seed_failures;   /* the provider's count of failed QRNG draws, after the reseed */
    int reseed_ok;            /* EVP_RAND_reseed of the primary DRBG succeeded */
    char reseed_error[256];   /* why not */
    int qrng_in_chain;        /* the reseed drew from QRNG */
    char *groups_configured;  /* the Groups/Curves line of ssl_conf's system_default, or NULL */
    char *groups_offered;     /* the groups a client built in that context offers, ':'-joined */
    char *groups_codepoints;  /* the same as "name=0xNNNN" (TLS code points), space-joined */
    char *groups_dropped;     /* configured groups missing from the offer, ':'-joined, or NULL */
    char groups_error[256];   /* could not build the ClientHello */
    /* post-quantum: groups named *MLKEM* (ML-KEM hybrids, with or without QKD) */
    char *pq_offered;           /* offered in this configuration, ':'-joined, or NULL */
    char *pq_default;           /* what this OpenSSL offers with no configuration, or NULL */
    int pq_downgrade;           /* fewer PQ groups than the defaults */
    int pq_allowed;             /* tls.allow_pq_downgrade = yes in the qkey section */
    char mlkem_qkd_absent[200]; /* why the ML-KEM + QKD groups are absent, "" if present */
} QKEY_OSSL_REPORT;

/* Run every check on the openssl.cnf at path. Fills rep (free with qkey_ossl_report_clear). */
void qkey_ossl_check(const char *path, QKEY_OSSL_REPORT *rep);
void qkey_ossl_report_clear(QKEY_OSSL_REPORT *rep);

/*
 * The Groups (or Curves) value of the system_default section of ssl_conf in the openssl.cnf
 * at path, as written (malloc'ed), or NULL when the file sets none. 0 when the file cannot be
 * read or parsed, 1 otherwise.
 */
int qkey_cnf_groups(const char *path, char **groups_out);

/*
 * The key-source config of the qkey provider in the openssl.cnf at path: the section's
 * "qkd.*"/"rng.*"/... keys, then its `config =` file. 0 with a message in err on failure.
 */
int qkey_cnf_keysource(const char *path, QKS_CONFIG *cfg, char *err, size_t errlen);

/*
 * Find the supported_groups extension (RFC 8446 4.2.7) in a TLS record carrying a ClientHello.
 * On success returns 1 and sets *ids to point into buf at the 2-byte group code points and
 * *count to their number. 0 when buf is not a well-formed ClientHello with that extension.
 */
/* status_human.c: the key source's status object as a summary for people. */
void qkey_status_summary(FILE *out, const json_t *ks);

int qkey_hello_groups(const unsigned char *buf, size_t len, const unsigned char **ids,
                      size_t *count);

#endif /* QKEY_CLI_H */
