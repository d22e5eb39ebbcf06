/*
 * The token store: one SQLite database (token.store; ":memory:" when unset, a token that lives
 * as long as the process). WAL journal and a busy timeout so several processes share it;
 * every change is one transaction, so a crash leaves the old or the new state, never half.
 * Token objects are cached in memory; PRAGMA data_version tells when another connection
 * changed the database, and the cache is then reloaded.
 *
 * Schema: meta(name, value) for the token's label, serial, salts, wrapped token keys and PIN
 * failure counters; objects(handle, uid, attrs, sealed) with handle = rowid (never reused:
 * AUTOINCREMENT), attrs = the public attributes (attr.c encoding), sealed = the secret value
 * under the token key (seal.c).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

#define BUSY_TIMEOUT_MS 10000

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS meta(name TEXT PRIMARY KEY, value BLOB);"
    "CREATE TABLE IF NOT EXISTS objects(handle INTEGER PRIMARY KEY AUTOINCREMENT,"
    " uid TEXT UNIQUE NOT NULL, attrs BLOB NOT NULL, sealed BLOB);";

static CK_RV db_error(const char *what)
{
    qkt_debug("token store %s: %s", what, sqlite3_errmsg(qkt_lib->db));
    return CKR_DEVICE_ERROR;
}

static CK_RV exec(const char *sql)
{
    if (sqlite3_exec(qkt_lib->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return db_error(sql);
    return CKR_OK;
}

CK_RV qkt_store_open(const char *path)
{
    QKT_LIB *lib = qkt_lib;
    int memory = strcmp(path, ":memory:") == 0;

    if (!memory) {
        /* Create the file owner-only before SQLite does (it would honour the umask). */
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0) {
            qkt_debug("token.store %s: cannot open", path);
            return CKR_GENERAL_ERROR;
        }
        close(fd);
    }
    if ((lib->store_path = strdup(path)) == NULL)
        return CKR_HOST_MEMORY;
    if (sqlite3_open_v2(path, &lib->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        db_error("open");
        return CKR_GENERAL_ERROR;
    }
    sqlite3_busy_timeout(lib->db, BUSY_TIMEOUT_MS);
    if (!memory && exec("PRAGMA journal_mode=WAL") != CKR_OK)
        return CKR_GENERAL_ERROR;
    if (exec("PRAGMA synchronous=FULL") != CKR_OK || exec(schema) != CKR_OK)
        return CKR_GENERAL_ERROR;
    lib->data_version = -1;
    return CKR_OK;
}

void qkt_store_close(void)
{
    if (qkt_lib->db != NULL)
        sqlite3_close_v2(qkt_lib->db);
    qkt_lib->db = NULL;
}

CK_RV qkt_store_begin(void)
{
    return exec("BEGIN IMMEDIATE");
}

CK_RV qkt_store_commit(void)
{
    return exec("COMMIT");
}

void qkt_store_rollback(void)
{
    (void)sqlite3_exec(qkt_lib->db, "ROLLBACK", NULL, NULL, NULL); /* nothing else to do */
}

static sqlite3_stmt *prepare(const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(qkt_lib->db, sql, -1, &st, NULL) != SQLITE_OK) {
        db_error(sql);
        return NULL;
    }
    return st;
}

CK_RV qkt_meta_get(const char *name, unsigned char **val, size_t *len)
{
    sqlite3_stmt *st = prepare("SELECT value FROM meta WHERE name = ?");
    CK_RV rv = CKR_OK;
    int r;

    *val = NULL;
    *len = 0;
    if (st == NULL)
        return CKR_DEVICE_ERROR;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    if ((r = sqlite3_step(st)) == SQLITE_ROW) {
        int n = sqlite3_column_bytes(st, 0);
        if ((*val = malloc(n + 1)) == NULL) {
            rv = CKR_HOST_MEMORY;
        } else {
            if (n > 0)
                memcpy(*val, sqlite3_column_blob(st, 0), n);
            (*val)[n] = 0;
            *len = n;
        }
    } else if (r != SQLITE_DONE) {
        rv = db_error("read meta");
    }
    sqlite3_finalize(st);
    return rv;
}

CK_RV qkt_meta_put(const char *name, const void *val, size_t len)
{
    sqlite3_stmt *st = prepare(val != NULL ? "INSERT OR REPLACE INTO meta VALUES(?, ?)"
                                           : "DELETE FROM meta WHERE name = ?");
    CK_RV rv = CKR_OK;

    if (st == NULL)
        return CKR_DEVICE_ERROR;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    if (val != NULL)
        sqlite3_bind_blob(st, 2, len ? val : "", (int)len, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE)
        rv = db_error("write meta");
    sqlite3_finalize(st);
    return rv;
}

CK_RV qkt_meta_get_long(const char *name, long dflt, long *out)
{
    unsigned char *v;
    size_t n;
    CK_RV rv = qkt_meta_get(name, &v, &n);
    if (rv != CKR_OK)
        return rv;
    *out = v != NULL ? strtol((char *)v, NULL, 10) : dflt;
    free(v);
    return CKR_OK;
}

CK_RV qkt_meta_put_long(const char *name, long v)
{
    char buf[32];
    int n = snprintf(buf, sizeof(buf), "%ld", v);
    return qkt_meta_put(name, buf, (size_t)n);
}

/* Bind attrs and sealed value of obj to parameters 1 and 2; caller frees *a and *s. */
static CK_RV bind_object(sqlite3_stmt *st, const QKT_OBJ *obj, unsigned char **a, unsigned char **s)
{
    size_t alen = 0, slen = 0;
    CK_RV rv;

    *a = *s = NULL;
    if ((rv = qkt_attr_encode(obj, a, &alen)) != CKR_OK)
        return rv;
    if (qkt_obj_needs_seal(obj)) {
        if (obj->sealed != NULL) {
            if ((*s = malloc(obj->sealed_len)) == NULL)
                return CKR_HOST_MEMORY;
            memcpy(*s, obj->sealed, obj->sealed_len);
            slen = obj->sealed_len;
        } else if ((rv = qkt_obj_seal(obj, s, &slen)) != CKR_OK) {
            return rv;
        }
    }
    sqlite3_bind_blob(st, 1, *a, (int)alen, SQLITE_STATIC);
    if (*s != NULL)
        sqlite3_bind_blob(st, 2, *s, (int)slen, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 2);
    return CKR_OK;
}

CK_RV qkt_store_insert(QKT_OBJ *obj)
{
    sqlite3_stmt *st = prepare("INSERT INTO objects(attrs, sealed, uid) VALUES(?, ?, ?)");
    const QKT_ATTR *uid = qkt_obj_attr(obj, CKA_UNIQUE_ID);
    unsigned char *a = NULL, *s = NULL;
    CK_RV rv;

    if (st == NULL)
        return CKR_DEVICE_ERROR;
    if ((rv = bind_object(st, obj, &a, &s)) != CKR_OK)
        goto done;
    sqlite3_bind_text(st, 3, (const char *)uid->val, (int)uid->len, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE) {
        rv = db_error("insert object");
        goto done;
    }
    obj->handle = (CK_OBJECT_HANDLE)sqlite3_last_insert_rowid(qkt_lib->db);
done:
    sqlite3_finalize(st);
    free(a);
    free(s);
    return rv;
}

CK_RV qkt_store_update(const QKT_OBJ *obj)
{
    sqlite3_stmt *st = prepare("UPDATE objects SET attrs = ?, sealed = ? WHERE handle = ?");
    unsigned char *a = NULL, *s = NULL;
    CK_RV rv;

    if (st == NULL)
        return CKR_DEVICE_ERROR;
    if ((rv = bind_object(st, obj, &a, &s)) != CKR_OK)
        goto done;
    sqlite3_bind_int64(st, 3, (sqlite3_int64)obj->handle);
    if (sqlite3_step(st) != SQLITE_DONE)
        rv = db_error("update object");
    else if (sqlite3_changes(qkt_lib->db) != 1)
        rv = CKR_OBJECT_HANDLE_INVALID; /* another process destroyed it */
done:
    sqlite3_finalize(st);
    free(a);
    free(s);
    return rv;
}

CK_RV qkt_store_delete(CK_OBJECT_HANDLE h)
{
    sqlite3_stmt *st = prepare("DELETE FROM objects WHERE handle = ?");
    CK_RV rv = CKR_OK;
    if (st == NULL)
        return CKR_DEVICE_ERROR;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)h);
    if (sqlite3_step(st) != SQLITE_DONE)
        rv = db_error("delete object");
    sqlite3_finalize(st);
    return rv;
}

CK_RV qkt_store_delete_all(void)
{
    return exec("DELETE FROM objects");
}

long long qkt_store_version(void)
{
    sqlite3_stmt *st = prepare("PRAGMA data_version");
    long long v = -2;
    if (st != NULL && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static CK_RV load_row(sqlite3_stmt *st, QKT_OBJ **list)
{
    QKT_OBJ *obj = qkt_obj_new();
    CK_RV rv;

    if (obj == NULL)
        return CKR_HOST_MEMORY;
    obj->handle = (CK_OBJECT_HANDLE)sqlite3_column_int64(st, 0);
    rv = qkt_attr_decode(obj, sqlite3_column_blob(st, 1), (size_t)sqlite3_column_bytes(st, 1));
    if (rv == CKR_OK && sqlite3_column_type(st, 2) != SQLITE_NULL) {
        size_t n = (size_t)sqlite3_column_bytes(st, 2);
        if ((obj->sealed = malloc(n ? n : 1)) == NULL)
            rv = CKR_HOST_MEMORY;
        else {
            if (n > 0)
                memcpy(obj->sealed, sqlite3_column_blob(st, 2), n);
            obj->sealed_len = n;
        }
    }
    if (rv != CKR_OK) {
        qkt_obj_free(obj);
        return rv;
    }
    obj->next = *list;
    *list = obj;
    return CKR_OK;
}

CK_RV qkt_store_load_all(QKT_OBJ **out)
{
    QKT_OBJ *list = NULL;
    sqlite3_stmt *st;
    CK_RV rv = CKR_OK;
    int r = SQLITE_DONE;

    *out = NULL;
    if ((st = prepare("SELECT handle, attrs, sealed FROM objects")) == NULL)
        return CKR_DEVICE_ERROR;
    while (rv == CKR_OK && (r = sqlite3_step(st)) == SQLITE_ROW)
        rv = load_row(st, &list);
    if (rv == CKR_OK && r != SQLITE_DONE)
        rv = db_error("read objects");
    sqlite3_finalize(st);
    if (rv != CKR_OK) {
        while (list != NULL) {
            QKT_OBJ *next = list->next;
            qkt_obj_free(list);
            list = next;
        }
        return rv;
    }
    *out = list;
    return CKR_OK;
}
