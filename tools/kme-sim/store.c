/*
 * The key store both simulated KMEs share: SQLite in DIR/store.db (mode 0600), so a restart
 * keeps the budget and every key issued at enc_keys but not yet delivered at dec_keys.
 *
 * Model: the link distils key material into a budget of bits (supply.c), capped at
 * capacity_keys * key_size. enc_keys takes number*size bits from the budget, draws the keys
 * (both ends of a real link hold the same bits; here the one store stands for both) and records
 * them for (master SAE, slave SAE). dec_keys hands each key to its slave SAE once and deletes it.
 * The history table keeps every key ID (never key material) with its SAEs and the times it was
 * issued and delivered, so tests can count keys per handshake and see that no ID repeats.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <sqlite3.h>

#include "kmesim.h"
#include "safedir.h"

#define RATE_WINDOW 10.0 /* real seconds over which the consumption rate is measured */
#define RATE_SLOTS  1024

/*
 * The store's SQL, prepared once per store (SQLITE_PREPARE_PERSISTENT) instead of per request:
 * parsing the same dozen statements on every enc_keys and dec_keys was a fifth of the
 * simulator's time per request.
 */
enum {
    Q_BEGIN,
    Q_COMMIT,
    Q_ROLLBACK,
    Q_META_SET,
    Q_META_GET,
    Q_KEY_INSERT,
    Q_HIST_INSERT,
    Q_KEY_SELECT,
    Q_KEY_DELETE,
    Q_HIST_DELIVERED,
    Q_KEY_COUNT,
    Q_N
};
static const char *const sql_text[Q_N] = {
    "BEGIN IMMEDIATE",
    "COMMIT",
    "ROLLBACK",
    "INSERT OR REPLACE INTO meta(name, value) VALUES(?, ?)",
    "SELECT value FROM meta WHERE name = ?",
    "INSERT INTO keys(key_id, master, slave, key) VALUES(?,?,?,?)",
    "INSERT INTO history(key_id, master, slave, issued) VALUES(?,?,?,?)",
    "SELECT key FROM keys WHERE key_id = ? AND master = ? AND slave = ?",
    "DELETE FROM keys WHERE key_id = ?",
    "UPDATE history SET delivered = ? WHERE key_id = ?",
    "SELECT COUNT(*) FROM keys",
};

struct kmesim_store_st {
    KMESIM_CONFIG cfg;
    sqlite3 *db;
    sqlite3_stmt *q[Q_N];
    pthread_mutex_t lock;
    double sim_time;    /* simulated time of the last advance */
    double real_anchor; /* real (monotonic) time of the last advance */
    double budget_bits;
    long issued_total, delivered_total;
    double issue_times[RATE_SLOTS]; /* ring of real times of recent issues */
    size_t issue_head;
    double started;
};

static double now_real(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int exec(sqlite3 *db, const char *sql)
{
    return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

/* Statement q, reset and ready to bind; NULL if it cannot be prepared. */
static sqlite3_stmt *stmt(KMESIM_STORE *st, int q)
{
    if (st->q[q] == NULL && sqlite3_prepare_v3(st->db, sql_text[q], -1, SQLITE_PREPARE_PERSISTENT,
                                               &st->q[q], NULL) != SQLITE_OK)
        return NULL;
    sqlite3_reset(st->q[q]);
    sqlite3_clear_bindings(st->q[q]);
    return st->q[q];
}

/* Run a statement without parameters or rows (BEGIN, COMMIT, ROLLBACK). */
static int run(KMESIM_STORE *st, int q)
{
    sqlite3_stmt *s = stmt(st, q);
    int rc = s != NULL && sqlite3_step(s) == SQLITE_DONE ? 0 : -1;

    if (s != NULL)
        sqlite3_reset(s);
    return rc;
}

static int meta_set(KMESIM_STORE *st, const char *name, double v)
{
    sqlite3_stmt *s = stmt(st, Q_META_SET);
    int rc = -1;

    if (s == NULL)
        return -1;
    sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_double(s, 2, v);
    if (sqlite3_step(s) == SQLITE_DONE)
        rc = 0;
    sqlite3_reset(s);
    return rc;
}

static int meta_get(KMESIM_STORE *st, const char *name, double *v)
{
    sqlite3_stmt *s = stmt(st, Q_META_GET);
    int rc = -1;

    if (s == NULL)
        return -1;
    sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    if (sqlite3_step(s) == SQLITE_ROW) {
        *v = sqlite3_column_double(s, 0);
        rc = 0;
    }
    sqlite3_reset(s);
    return rc;
}

static int save_meta(KMESIM_STORE *st)
{
    return meta_set(st, "budget_bits", st->budget_bits) || meta_set(st, "sim_time", st->sim_time) ||
                   meta_set(st, "issued_total", (double)st->issued_total) ||
                   meta_set(st, "delivered_total", (double)st->delivered_total)
               ? -1
               : 0;
}

/* Bring the budget up to the current simulated time. Caller holds the lock. */
static void advance(KMESIM_STORE *st)
{
    double real = now_real();
    double sim = st->sim_time + (real - st->real_anchor) * st->cfg.time_scale;
    double cap = (double)st->cfg.capacity_keys * (double)st->cfg.key_size;
    double supply = kmesim_supply_bits(&st->cfg, sim) - kmesim_supply_bits(&st->cfg, st->sim_time);

    st->budget_bits = fmin(cap, st->budget_bits + fmax(0, supply));
    st->sim_time = sim;
    st->real_anchor = real;
}

int kmesim_store_open(const KMESIM_CONFIG *cfg, int create, KMESIM_STORE **out, char *err,
                      size_t errlen)
{
    KMESIM_STORE *st = calloc(1, sizeof(*st));
    char path[4200];
    double v;

    *out = NULL;
    if (st == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    st->cfg = *cfg;
    pthread_mutex_init(&st->lock, NULL);
    snprintf(path, sizeof(path), "%s/store.db", cfg->dir);
    if (create)
        (void)remove(path); /* init starts a fresh link; a missing file is fine */
    /* never through a symbolic link, never someone else's file: it receives key material */
    if (!qsd_check_file(path, err, errlen))
        goto err;
    if (sqlite3_open_v2(path, &st->db,
                        SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0) |
                            SQLITE_OPEN_FULLMUTEX | SQLITE_OPEN_NOFOLLOW,
                        NULL) != SQLITE_OK) {
        snprintf(err, errlen, "cannot open key store %s: %s", path,
                 st->db ? sqlite3_errmsg(st->db) : "out of memory");
        goto err;
    }
    { /* key material: owner only, on the file itself (O_NOFOLLOW), never a link's target */
        int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 || fchmod(fd, 0600) != 0) {
            snprintf(err, errlen, "cannot restrict key store %s to its owner: %s", path,
                     strerror(errno));
            if (fd >= 0)
                close(fd);
            goto err;
        }
        close(fd);
    }
    sqlite3_busy_timeout(st->db, 2000);
    if (exec(st->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;") ||
        exec(st->db, "CREATE TABLE IF NOT EXISTS meta(name TEXT PRIMARY KEY, value REAL);"
                     "CREATE TABLE IF NOT EXISTS keys(key_id TEXT PRIMARY KEY,"
                     " master TEXT NOT NULL, slave TEXT NOT NULL, key BLOB NOT NULL);"
                     "CREATE TABLE IF NOT EXISTS history(key_id TEXT PRIMARY KEY,"
                     " master TEXT NOT NULL, slave TEXT NOT NULL, issued INTEGER NOT NULL,"
                     " delivered INTEGER);")) {
        snprintf(err, errlen, "key store %s: %s", path, sqlite3_errmsg(st->db));
        goto err;
    }
    if (create) {
        st->budget_bits = (double)cfg->initial_keys * (double)cfg->key_size;
        if (save_meta(st)) {
            snprintf(err, errlen, "key store %s: %s", path, sqlite3_errmsg(st->db));
            goto err;
        }
    } else {
        if (meta_get(st, "budget_bits", &st->budget_bits) ||
            meta_get(st, "sim_time", &st->sim_time)) {
            snprintf(err, errlen, "key store %s is not initialised (run init first)", path);
            goto err;
        }
        if (meta_get(st, "issued_total", &v) == 0)
            st->issued_total = (long)v;
        if (meta_get(st, "delivered_total", &v) == 0)
            st->delivered_total = (long)v;
    }
    st->real_anchor = st->started = now_real();
    *out = st;
    return 0;
err:
    kmesim_store_close(st);
    return -1;
}

void kmesim_store_close(KMESIM_STORE *st)
{
    if (st == NULL)
        return;
    if (st->db != NULL) {
        pthread_mutex_lock(&st->lock);
        advance(st);
        (void)save_meta(st); /* best effort at shutdown; every change was committed already */
        pthread_mutex_unlock(&st->lock);
        for (int q = 0; q < Q_N; q++)
            sqlite3_finalize(st->q[q]);
        sqlite3_close(st->db);
    }
    pthread_mutex_destroy(&st->lock);
    free(st);
}

/* RFC 4122 version-4 UUID from the DRBG. */
static int new_uuid(char out[KMESIM_KEY_ID_LEN + 1])
{
    unsigned char u[16];

    if (RAND_bytes(u, sizeof(u)) != 1)
        return -1;
    u[6] = (u[6] & 0x0f) | 0x40;
    u[8] = (u[8] & 0x3f) | 0x80;
    snprintf(out, KMESIM_KEY_ID_LEN + 1,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0], u[1],
             u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14],
             u[15]);
    return 0;
}

int kmesim_store_issue(KMESIM_STORE *st, const char *master, const char *slave, size_t bits,
                       size_t number, KMESIM_KEY *keys)
{
    sqlite3_stmt *s, *h;
    int rc = 500, in_tx = 0;
    double need = (double)bits * (double)number;

    pthread_mutex_lock(&st->lock);
    advance(st);
    if (need > st->budget_bits) {
        rc = 503;
        goto done;
    }
    if (run(st, Q_BEGIN))
        goto done;
    in_tx = 1;
    if ((s = stmt(st, Q_KEY_INSERT)) == NULL || (h = stmt(st, Q_HIST_INSERT)) == NULL)
        goto done;
    for (size_t i = 0; i < number; i++) {
        keys[i].len = bits / 8;
        if (new_uuid(keys[i].key_id) || RAND_bytes(keys[i].key, (int)keys[i].len) != 1)
            goto done;
        sqlite3_reset(s);
        sqlite3_bind_text(s, 1, keys[i].key_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, master, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 3, slave, -1, SQLITE_STATIC);
        sqlite3_bind_blob(s, 4, keys[i].key, (int)keys[i].len, SQLITE_STATIC);
        if (sqlite3_step(s) != SQLITE_DONE)
            goto done;
        /* key IDs only, never key material: tests check that no ID is issued twice */
        sqlite3_reset(h);
        sqlite3_bind_text(h, 1, keys[i].key_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(h, 2, master, -1, SQLITE_STATIC);
        sqlite3_bind_text(h, 3, slave, -1, SQLITE_STATIC);
        sqlite3_bind_int64(h, 4, (sqlite3_int64)time(NULL));
        if (sqlite3_step(h) != SQLITE_DONE)
            goto done;
    }
    st->budget_bits -= need;
    st->issued_total += (long)number;
    if (save_meta(st) || run(st, Q_COMMIT))
        goto done;
    in_tx = 0;
    for (size_t i = 0; i < number; i++)
        st->issue_times[st->issue_head++ % RATE_SLOTS] = st->real_anchor;
    rc = 0;
done:
    sqlite3_reset(st->q[Q_KEY_INSERT]); /* no-ops on NULL */
    sqlite3_reset(st->q[Q_HIST_INSERT]);
    if (in_tx)
        (void)run(st, Q_ROLLBACK); /* nothing was handed out */
    if (rc == 500) {
        double v = 0;

        /* reload the committed figures: the in-memory copies may have been changed */
        (void)meta_get(st, "budget_bits", &st->budget_bits);
        if (meta_get(st, "issued_total", &v) == 0)
            st->issued_total = (long)v;
    }
    if (rc != 0)
        OPENSSL_cleanse(keys, sizeof(*keys) * number);
    pthread_mutex_unlock(&st->lock);
    return rc;
}

int kmesim_store_deliver(KMESIM_STORE *st, const char *master, const char *slave,
                         const char *const *key_ids, size_t number, KMESIM_KEY *keys)
{
    sqlite3_stmt *sel, *del, *h;
    int rc = 500, in_tx = 0;

    pthread_mutex_lock(&st->lock);
    if (run(st, Q_BEGIN))
        goto done;
    in_tx = 1;
    if ((sel = stmt(st, Q_KEY_SELECT)) == NULL || (del = stmt(st, Q_KEY_DELETE)) == NULL ||
        (h = stmt(st, Q_HIST_DELIVERED)) == NULL)
        goto done;
    for (size_t i = 0; i < number; i++) {
        const void *blob;
        int len;

        sqlite3_reset(sel);
        sqlite3_bind_text(sel, 1, key_ids[i], -1, SQLITE_STATIC);
        sqlite3_bind_text(sel, 2, master, -1, SQLITE_STATIC);
        sqlite3_bind_text(sel, 3, slave, -1, SQLITE_STATIC);
        if (sqlite3_step(sel) != SQLITE_ROW) {
            rc = 400; /* unknown, already delivered, or issued to another SAE: same answer */
            goto done;
        }
        blob = sqlite3_column_blob(sel, 0);
        len = sqlite3_column_bytes(sel, 0);
        if (blob == NULL || len <= 0 || (size_t)len > sizeof(keys[i].key))
            goto done;
        memcpy(keys[i].key, blob, (size_t)len);
        keys[i].len = (size_t)len;
        snprintf(keys[i].key_id, sizeof(keys[i].key_id), "%s", key_ids[i]);
        sqlite3_reset(del);
        sqlite3_bind_text(del, 1, key_ids[i], -1, SQLITE_STATIC);
        /* a repeated ID in one request finds no row the second time: 400, all rolled back */
        if (sqlite3_step(del) != SQLITE_DONE)
            goto done;
        sqlite3_reset(h);
        sqlite3_bind_int64(h, 1, (sqlite3_int64)time(NULL));
        sqlite3_bind_text(h, 2, key_ids[i], -1, SQLITE_STATIC);
        if (sqlite3_step(h) != SQLITE_DONE)
            goto done;
    }
    st->delivered_total += (long)number;
    if (save_meta(st) || run(st, Q_COMMIT)) {
        st->delivered_total -= (long)number;
        goto done;
    }
    in_tx = 0;
    rc = 0;
done:
    sqlite3_reset(st->q[Q_KEY_SELECT]); /* ends its read; no-ops on NULL */
    sqlite3_reset(st->q[Q_KEY_DELETE]);
    sqlite3_reset(st->q[Q_HIST_DELIVERED]);
    if (in_tx)
        (void)run(st, Q_ROLLBACK); /* all or nothing: no key leaves the store */
    if (rc != 0)
        OPENSSL_cleanse(keys, sizeof(*keys) * number);
    pthread_mutex_unlock(&st->lock);
    return rc;
}

void kmesim_store_stats(KMESIM_STORE *st, KMESIM_STATS *out)
{
    sqlite3_stmt *s;
    double window, recent = 0;

    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&st->lock);
    advance(st);
    out->sim_time = st->sim_time;
    out->budget_bits = st->budget_bits;
    out->stored_key_count = (long)floor(st->budget_bits / (double)st->cfg.key_size);
    out->rate_bps = kmesim_supply_rate(&st->cfg, st->sim_time, &out->in_pass);
    out->next_pass_in_s = kmesim_next_pass_in(&st->cfg, st->sim_time);
    out->issued_total = st->issued_total;
    out->delivered_total = st->delivered_total;
    window = fmin(RATE_WINDOW, fmax(1e-3, st->real_anchor - st->started));
    for (size_t i = 0; i < RATE_SLOTS; i++)
        if (st->issue_times[i] > 0 && st->real_anchor - st->issue_times[i] <= window)
            recent++;
    out->consumption_keys_per_s = recent / window;
    if ((s = stmt(st, Q_KEY_COUNT)) != NULL && sqlite3_step(s) == SQLITE_ROW)
        out->pending_keys = sqlite3_column_int64(s, 0);
    if (s != NULL)
        sqlite3_reset(s);
    pthread_mutex_unlock(&st->lock);
}
