/*
 * qkey-kme-sim: a pair of ETSI GS QKD 014 key-management entities (KME A and KME B) in one
 * process, sharing one key store, each serving its own SAEs over HTTPS with client-certificate
 * authentication. Private header of tools/kme-sim/.
 */
#ifndef QKEY_KMESIM_H
/* connection bounds of each KME (server.c); docs/kme-sim.md */
#define KMESIM_UNAUTH_TIMEOUT_S 5  /* until TLS is done and a request has come */
#define KMESIM_KEEPALIVE_S      60 /* idle keep-alive of an authenticated client */
#define KMESIM_MAX_CONNECTIONS  512
#define KMESIM_MAX_PER_CLIENT   64 /* per client IP address */
#define QKEY_KMESIM_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define KMESIM_ID_MAX       64   /* SAE / KME IDs: bytes without NUL */
#define KMESIM_MAX_KEYS     1024 /* hard bound on keys in one request */
#define KMESIM_MAX_BODY     (64 * 1024)
#define KMESIM_KEY_ID_LEN   36
#define KMESIM_KEY_BITS_MAX 8192

/* ---- configuration (DIR/kme.conf, read with OpenSSL NCONF) ------------------------------- */
enum kmesim_profile { KMESIM_CONSTANT = 0, KMESIM_SATELLITE = 1 };

typedef struct kmesim_config_st {
    char dir[4096];
    /* [kme] */
    char kme_id[2][KMESIM_ID_MAX + 1]; /* KME_A, KME_B */
    char sae_id[2][KMESIM_ID_MAX + 1]; /* the SAE each KME serves */
    int port[2];
    long key_size; /* default key size in bits */
    long min_key_size, max_key_size;
    long max_key_per_request;
    long max_sae_id_count;
    /* [supply] */
    enum kmesim_profile profile;
    double rate_bps;           /* constant profile */
    long capacity_keys;        /* max_key_count: store capacity in keys of key_size bits */
    long initial_keys;         /* store content at init */
    double time_scale;         /* simulated seconds per real second */
    double pass_seconds;       /* satellite: pass length */
    double period_seconds;     /* satellite: time between pass starts */
    double first_pass_seconds; /* satellite: start of the first pass after init */
    double peak_bps;           /* satellite: rate at culmination */
} KMESIM_CONFIG;

int kmesim_config_load(const char *dir, KMESIM_CONFIG *cfg, char *err, size_t errlen);
void kmesim_config_defaults(KMESIM_CONFIG *cfg);

/* ---- key supply (supply.c): bits produced by the link between two simulated times --------- */
/* Cumulative bits the link produced from simulated time 0 to t (seconds). */
double kmesim_supply_bits(const KMESIM_CONFIG *cfg, double t);
/* Current rate in bit/s at simulated time t, and whether a satellite pass is under way. */
double kmesim_supply_rate(const KMESIM_CONFIG *cfg, double t, int *in_pass);
/* Simulated seconds from t to the start of the next pass (0 when in a pass or constant). */
double kmesim_next_pass_in(const KMESIM_CONFIG *cfg, double t);

/* ---- the shared key store (store.c, SQLite in DIR/store.db) ------------------------------ */
typedef struct kmesim_store_st KMESIM_STORE;

typedef struct kmesim_key_st {
    char key_id[KMESIM_KEY_ID_LEN + 1];
    size_t len;
    unsigned char key[KMESIM_KEY_BITS_MAX / 8];
} KMESIM_KEY;

typedef struct kmesim_stats_st {
    double sim_time;       /* simulated seconds since init */
    double budget_bits;    /* key material available for new keys */
    long stored_key_count; /* budget in keys of key_size bits */
    long pending_keys;     /* issued at enc_keys, not yet delivered at dec_keys */
    double rate_bps;       /* current supply rate */
    int in_pass;
    double next_pass_in_s;         /* simulated seconds */
    double consumption_keys_per_s; /* keys issued per real second (recent) */
    long issued_total, delivered_total;
} KMESIM_STATS;

int kmesim_store_open(const KMESIM_CONFIG *cfg, int create, KMESIM_STORE **out, char *err,
                      size_t errlen);
void kmesim_store_close(KMESIM_STORE *st);
/* enc_keys: take number*bits from the budget and record the keys for (master, slave).
 * Returns 0, or 503 when the store holds too little, or 500. keys[] filled on success. */
int kmesim_store_issue(KMESIM_STORE *st, const char *master, const char *slave, size_t bits,
                       size_t number, KMESIM_KEY *keys);
/* dec_keys: deliver the keys with these IDs that `master` obtained for `slave`, once; all or
 * nothing. Returns 0, 400 (unknown / not for this SAE / repeated), or 500. */
int kmesim_store_deliver(KMESIM_STORE *st, const char *master, const char *slave,
                         const char *const *key_ids, size_t number, KMESIM_KEY *keys);
void kmesim_store_stats(KMESIM_STORE *st, KMESIM_STATS *out);

/* ---- request parsing (request.c; fuzzed) ------------------------------------------------- */
enum kmesim_op { KMESIM_OP_STATUS = 1, KMESIM_OP_ENC = 2, KMESIM_OP_DEC = 3 };

typedef struct kmesim_request_st {
    enum kmesim_op op;
    char sae_id[KMESIM_ID_MAX + 1]; /* the SAE named in the URL */
    long number;                    /* enc_keys */
    long size;                      /* enc_keys, bits; 0 = default */
    size_t n_key_ids;               /* dec_keys */
    char key_ids[KMESIM_MAX_KEYS][KMESIM_KEY_ID_LEN + 1];
} KMESIM_REQUEST;

/*
 * Parse one ETSI 014 request: `url` is the path (/api/v1/keys/{SAE}/{op}), `get_number`,
 * `get_size`, `get_key_id` the GET query values (NULL when absent), `body` the POST body.
 * Returns 0 or an HTTP status (400, 404, 405) with a message in err.
 */
int kmesim_parse_request(const char *method, const char *url, const char *get_number,
                         const char *get_size, const char *get_key_id, const char *body,
                         size_t body_len, KMESIM_REQUEST *req, char *err, size_t errlen);
int kmesim_valid_id(const char *s);
int kmesim_valid_uuid(const char *s);

/* ---- fault injection (fault.c): DIR/fault.json, re-read when it changes ------------------ */
enum kmesim_fault_kind {
    KMESIM_FAULT_NONE = 0,
    KMESIM_FAULT_DELAY,
    KMESIM_FAULT_DROP,
    KMESIM_FAULT_503,
    KMESIM_FAULT_MALFORMED,
    KMESIM_FAULT_WRONG_SIZE,
    KMESIM_FAULT_DUPLICATE_IDS,
};

typedef struct kmesim_fault_st {
    enum kmesim_fault_kind kind;
    long delay_ms;
} KMESIM_FAULT;

/* The fault to apply to the next request at KME `kme` (0 = A, 1 = B); consumes one count. */
void kmesim_fault_next(const char *dir, int kme, KMESIM_FAULT *out);

/* ---- server (server.c) and init (init.c) ------------------------------------------------- */
int kmesim_run(const char *dir);
int kmesim_init(const char *dir, int argc, char **argv);

#endif /* QKEY_KMESIM_H */
