/*
 * Token store backend: one SQLite database file (token.store = PATH; ":memory:" when unset, a
 * token that lives as long as the process). WAL journal and a busy timeout so several processes
 * share it; every change is one transaction, so a crash leaves the old or the new state, never
 * half. PRAGMA data_version tells when another connection changed the database.
 *
 * Schema: meta(name, value) for the token's label, serial, salts, wrapped token keys and PIN
 * failure counters; objects(handle, uid, attrs, sealed) with handle = rowid (never reused:
 * AUTOINCREMENT).
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sqlite3.h>

#include "internal.h"
#include "storedb.h"

#define BUSY_TIMEOUT_MS 10000

typedef struct {
    QKT_DB base;
    sqlite3 *db;
} SQL_DB;

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS meta(name TEXT PRIMARY KEY, value BLOB);"
    "CREATE TABLE IF NOT EXISTS objects(handle INTEGER PRIMARY KEY AUTOINCREMENT,"
    " uid TEXT UNIQUE NOT NULL, attrs BLOB NOT NULL, sealed BLOB);";

static sqlite3 *H(QKT_DB *d)
{
    return ((SQL_DB *)d)->db;
}

static CK_RV db_error(sqlite3 *db, const char *what)
{
    qkt_debug("token store %s: %s", what, sqlite3_errmsg(db));
    return CKR_DEVICE_ERROR;
}

static CK_RV exec(sqlite3 *db, const char *sql)
{
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return db_error(db, sql);
    return CKR_OK;
}

static sqlite3_stmt *prepare(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        db_error(db, sql);
        return NULL;
    }
    return st;
}

static void sql_close(QKT_DB *d)
{
    if (d == NULL)
        return;
    if (H(d) != NULL)
        sqlite3_close_v2(H(d));
    free(d);
}

static CK_RV sql_open(const char *path, QKT_DB **out)
{
    int memory = strcmp(path, ":memory:") == 0;
    SQL_DB *d = calloc(1, sizeof(*d));

    *out = NULL;
    if (d == NULL)
        return CKR_HOST_MEMORY;
    d->base.meth = &qkt_db_sqlite;
    if (!memory) {
        /* Create the file owner-only before SQLite does (it would honour the umask). */
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0) {
            qkt_debug("token.store %s: cannot open", path);
            free(d);
            return CKR_GENERAL_ERROR;
        }
        close(fd);
    }
    if (sqlite3_open_v2(path, &d->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        db_error(d->db, "open");
        sql_close(&d->base);
        return CKR_GENERAL_ERROR;
    }
    sqlite3_busy_timeout(d->db, BUSY_TIMEOUT_MS);
    if ((!memory && exec(d->db, "PRAGMA journal_mode=WAL") != CKR_OK) ||
        exec(d->db, "PRAGMA synchronous=FULL") != CKR_OK || exec(d->db, schema) != CKR_OK) {
        sql_close(&d->base);
        return CKR_GENERAL_ERROR;
    }
    *out = &d->base;
    return CKR_OK;
}

static CK_RV sql_begin(QKT_DB *d)
{
    return exec(H(d), "BEGIN IMMEDIATE");
}

static CK_RV sql_commit(QKT_DB *d)
{
    return exec(H(d), "COMMIT");
}

static void sql_rollback(QKT_DB *d)
{
    (void)sqlite3_exec(H(d), "ROLLBACK", NULL, NULL, NULL); /* nothing else to do */
}

static CK_RV sql_meta_get(QKT_DB *d, const char *name, unsigned char **val, size_t *len)
{
    sqlite3_stmt *st = prepare(H(d), "SELECT value FROM meta WHERE name = ?");
    CK_RV rv = CKR_OK;
    int r;

    *val = NULL;
    *len = 0;
    if (st == NULL)
        return CKR_DEVICE_ERROR;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    if ((r = sqlite3_step(st)) == SQLITE_ROW) {
        int n = sqlite3_column_bytes(st, 0);
        if ((*val = malloc((size_t)n + 1)) == NULL) {
            rv = CKR_HOST_MEMORY;
        } else {
            if (n > 0)
                memcpy(*val, sqlite3_column_blob(st, 0), (size_t)n);
            (*val)[n] = 0;
            *len = (size_t)n;
        }
    } else if (r != SQLITE_DONE) {
        rv = db_error(H(d), "read meta");
    }
    sqlite3_finalize(st);
    return rv;
}

static CK_RV sql_meta_put(QKT_DB *d, const char *name, const void *val, size_t len)
{
    sqlite3_stmt *st = prepare(H(d), val != NULL ? "INSERT OR REPLACE INTO meta VALUES(?, ?)"
                                                 : "DELETE FROM meta WHERE name = ?");
    CK_RV rv = CKR_OK;

    if (st == NULL)
        return CKR_DEVICE_ERROR;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    if (val != NULL)
        sqlite3_bind_blob(st, 2, len ? val : "", (int)len, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE)
        rv = db_error(H(d), "write meta");
    sqlite3_finalize(st);
    return rv;
}

static void bind_row(sqlite3_stmt *st, const unsigned char *a, size_t alen, const unsigned char *s,
                     size_t slen)
{
    sqlite3_bind_blob(st, 1, a, (int)alen, SQLITE_STATIC);
    if (s != NULL)
        sqlite3_bind_blob(st, 2, s, (int)slen, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 2);
}

static CK_RV sql_insert(QKT_DB *d, const char *uid, size_t uidlen, const unsigned char *a,
                        size_t alen, const unsigned char *s, size_t slen, CK_OBJECT_HANDLE *h)
{
    sqlite3_stmt *st = prepare(H(d), "INSERT INTO objects(attrs, sealed, uid) VALUES(?, ?, ?)");
    CK_RV rv = CKR_OK;

    if (st == NULL)
        return CKR_DEVICE_ERROR;
    bind_row(st, a, alen, s, slen);
    sqlite3_bind_text(st, 3, uid, (int)uidlen, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE)
        rv = db_error(H(d), "insert object");
    else
        *h = (CK_OBJECT_HANDLE)sqlite3_last_insert_rowid(H(d));
    sqlite3_finalize(st);
    return rv;
}

static CK_RV sql_update(QKT_DB *d, CK_OBJECT_HANDLE h, const unsigned char *a, size_t alen,
                        const unsigned char *s, size_t slen)
{
    sqlite3_stmt *st = prepare(H(d), "UPDATE objects SET attrs = ?, sealed = ? WHERE handle = ?");
    CK_RV rv = CKR_OK;

    if (st == NULL)
        return CKR_DEVICE_ERROR;
    bind_row(st, a, alen, s, slen);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)h);
    if (sqlite3_step(st) != SQLITE_DONE)
        rv = db_error(H(d), "update object");
    else if (sqlite3_changes(H(d)) != 1)
        rv = CKR_OBJECT_HANDLE_INVALID; /* another process destroyed it */
    sqlite3_finalize(st);
    return rv;
}

static CK_RV sql_remove(QKT_DB *d, CK_OBJECT_HANDLE h)
{
    sqlite3_stmt *st = prepare(H(d), "DELETE FROM objects WHERE handle = ?");
    CK_RV rv = CKR_OK;
    if (st == NULL)
        return CKR_DEVICE_ERROR;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)h);
    if (sqlite3_step(st) != SQLITE_DONE)
        rv = db_error(H(d), "delete object");
    sqlite3_finalize(st);
    return rv;
}

static CK_RV sql_remove_all(QKT_DB *d)
{
    return exec(H(d), "DELETE FROM objects");
}

static long long sql_version(QKT_DB *d)
{
    sqlite3_stmt *st = prepare(H(d), "PRAGMA data_version");
    long long v = -2;
    if (st != NULL && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static CK_RV sql_load(QKT_DB *d, QKT_DB_ROW row, void *arg)
{
    sqlite3_stmt *st = prepare(H(d), "SELECT handle, attrs, sealed FROM objects");
    CK_RV rv = CKR_OK;
    int r = SQLITE_DONE;

    if (st == NULL)
        return CKR_DEVICE_ERROR;
    while (rv == CKR_OK && (r = sqlite3_step(st)) == SQLITE_ROW) {
        const unsigned char *sealed = NULL;
        if (sqlite3_column_type(st, 2) != SQLITE_NULL &&
            (sealed = sqlite3_column_blob(st, 2)) == NULL)
            sealed = (const unsigned char *)""; /* an empty value, not an absent one */
        rv = row(arg, (CK_OBJECT_HANDLE)sqlite3_column_int64(st, 0), sqlite3_column_blob(st, 1),
                 (size_t)sqlite3_column_bytes(st, 1), sealed,
                 sealed != NULL ? (size_t)sqlite3_column_bytes(st, 2) : 0);
    }
    if (rv == CKR_OK && r != SQLITE_DONE)
        rv = db_error(H(d), "read objects");
    sqlite3_finalize(st);
    return rv;
}

const QKT_DB_METHOD qkt_db_sqlite = {
    .name = "sqlite",
    .open = sql_open,
    .close = sql_close,
    .begin = sql_begin,
    .commit = sql_commit,
    .rollback = sql_rollback,
    .meta_get = sql_meta_get,
    .meta_put = sql_meta_put,
    .insert = sql_insert,
    .update = sql_update,
    .remove = sql_remove,
    .remove_all = sql_remove_all,
    .version = sql_version,
    .load = sql_load,
};
