/*
 * Token store backend: PostgreSQL, shared by every node of a cluster (token.store =
 * postgresql://USER@HOST:PORT/DB?sslmode=verify-full&sslrootcert=..., or postgresql:CONNINFO
 * such as postgresql:service=qkey). Every node's token sees the same objects, PIN counters and
 * lockout; rows hold only what store.c gives (public attributes and sealed secrets).
 *
 * libpq is loaded with dlopen on first use of such a store, not linked: p11-kit loads the token
 * into every program that uses PKCS#11, and only those configured for PostgreSQL should carry
 * libpq and what it brings (Kerberos, LDAP). Its types come from libpq-fe.h at build time.
 *
 * Transactions: begin() is BEGIN + LOCK TABLE qkey_meta IN EXCLUSIVE MODE, which excludes every
 * other writer of the meta table (PIN counters) on every node until commit, as SQLite's BEGIN
 * IMMEDIATE does for processes; reads go on. Changes: a statement trigger on qkey_objects bumps
 * qkey_version.v, which version() reads, so each node refreshes its object cache when any node
 * changed the objects. A lost connection is reset before the next statement; the statement that
 * met it fails with CKR_DEVICE_ERROR and its reason, and a transaction it was in is gone (the
 * server rolled it back), so nothing half-made remains.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "storedb.h"

#ifndef QKEY_HAVE_LIBPQ
static CK_RV none_open(const char *where, QKT_DB **out)
{
    (void)where;
    *out = NULL;
    qkt_debug("token.store names PostgreSQL, but this token was built without libpq-dev");
    return CKR_GENERAL_ERROR;
}

const QKT_DB_METHOD qkt_db_pg = {.name = "postgresql", .open = none_open};
#else
#include <libpq-fe.h>

/* The libpq functions used, resolved once from libpq.so.5. */
static struct {
    PGconn *(*connectdb)(const char *);
    ConnStatusType (*status)(const PGconn *);
    char *(*error_message)(const PGconn *);
    void (*finish)(PGconn *);
    void (*reset)(PGconn *);
    PGresult *(*exec)(PGconn *, const char *);
    PGresult *(*exec_params)(PGconn *, const char *, int, const Oid *, const char *const *,
                             const int *, const int *, int);
    ExecStatusType (*result_status)(const PGresult *);
    char *(*result_error)(const PGresult *);
    void (*clear)(PGresult *);
    int (*ntuples)(const PGresult *);
    char *(*getvalue)(const PGresult *, int, int);
    int (*getlength)(const PGresult *, int, int);
    int (*getisnull)(const PGresult *, int, int);
    char *(*cmd_tuples)(PGresult *);
    PQnoticeProcessor (*set_notice_processor)(PGconn *, PQnoticeProcessor, void *);
} pq;
static pthread_once_t pq_once = PTHREAD_ONCE_INIT;
static int pq_ok;
static char pq_why[256]; /* why libpq could not be loaded, for every later attempt to say */

static void pq_load(void)
{
    void *h = dlopen("libpq.so.5", RTLD_NOW | RTLD_LOCAL);
    if (h == NULL) {
        const char *e = dlerror();
        snprintf(pq_why, sizeof(pq_why), "%s", e != NULL ? e : "libpq.so.5: not found");
        return;
    }
#define SYM(field, name)                                                                           \
    if ((*(void **)&pq.field = dlsym(h, name)) == NULL) {                                          \
        snprintf(pq_why, sizeof(pq_why), "libpq.so.5 lacks %s", name);                             \
        dlclose(h);                                                                                \
        return;                                                                                    \
    }
    SYM(connectdb, "PQconnectdb");
    SYM(status, "PQstatus");
    SYM(error_message, "PQerrorMessage");
    SYM(finish, "PQfinish");
    SYM(reset, "PQreset");
    SYM(exec, "PQexec");
    SYM(exec_params, "PQexecParams");
    SYM(result_status, "PQresultStatus");
    SYM(result_error, "PQresultErrorMessage");
    SYM(clear, "PQclear");
    SYM(ntuples, "PQntuples");
    SYM(getvalue, "PQgetvalue");
    SYM(getlength, "PQgetlength");
    SYM(getisnull, "PQgetisnull");
    SYM(cmd_tuples, "PQcmdTuples");
    SYM(set_notice_processor, "PQsetNoticeProcessor");
#undef SYM
    pq_ok = 1; /* the handle stays open for the process: libpq keeps global state */
}

typedef struct {
    QKT_DB base;
    PGconn *conn;
} PG_DB;

static PGconn *C(QKT_DB *d)
{
    return ((PG_DB *)d)->conn;
}

/* libpq's messages end with a newline; the debug line adds its own. */
static CK_RV pg_error(const char *what, const char *msg)
{
    int n = (int)strcspn(msg != NULL ? msg : "", "\n");
    qkt_debug("token store (postgresql) %s: %.*s", what, n, msg != NULL ? msg : "");
    return CKR_DEVICE_ERROR;
}

/* A dropped connection is re-established before the next statement. */
static int connected(QKT_DB *d)
{
    if (pq.status(C(d)) == CONNECTION_OK)
        return 1;
    pq.reset(C(d));
    return pq.status(C(d)) == CONNECTION_OK;
}

/* r when the statement succeeded; else NULL, after reporting why and freeing r. */
static PGresult *succeeded(QKT_DB *d, const char *what, PGresult *r)
{
    ExecStatusType st = r != NULL ? pq.result_status(r) : PGRES_FATAL_ERROR;

    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        return r;
    pg_error(what, r != NULL ? pq.result_error(r) : pq.error_message(C(d)));
    if (r != NULL)
        pq.clear(r);
    return NULL;
}

/* Run sql with n parameters (binary), binary results. NULL after reporting the error. */
static PGresult *run(QKT_DB *d, const char *what, const char *sql, int n, const char *const *vals,
                     const int *lens)
{
    static const int binary[8] = {1, 1, 1, 1, 1, 1, 1, 1};
    PGresult *r;

    if (!connected(d)) {
        pg_error(what, pq.error_message(C(d)));
        return NULL;
    }
    r = pq.exec_params(C(d), sql, n, NULL, vals, lens, n ? binary : NULL, 1);
    return succeeded(d, what, r);
}

/* A statement (or several) without parameters or results. */
static CK_RV run0(QKT_DB *d, const char *what, const char *sql)
{
    PGresult *r;

    if (!connected(d))
        return pg_error(what, pq.error_message(C(d)));
    if ((r = succeeded(d, what, pq.exec(C(d), sql))) == NULL)
        return CKR_DEVICE_ERROR;
    pq.clear(r);
    return CKR_OK;
}

static void be64(unsigned char out[8], uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        out[i] = (unsigned char)v;
}

static uint64_t from_be64(const char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | (unsigned char)p[i];
    return v;
}

/* A notice from the server (e.g. "relation already exists, skipping") is not ours to print. */
static void quiet(void *arg, const char *msg)
{
    (void)arg;
    (void)msg;
}

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS qkey_meta(name TEXT PRIMARY KEY, value BYTEA);"
    "CREATE TABLE IF NOT EXISTS qkey_objects(handle BIGSERIAL PRIMARY KEY,"
    " uid TEXT UNIQUE NOT NULL, attrs BYTEA NOT NULL, sealed BYTEA);"
    "CREATE TABLE IF NOT EXISTS qkey_version(one INT PRIMARY KEY CHECK (one = 1),"
    " v BIGINT NOT NULL);"
    "INSERT INTO qkey_version VALUES (1, 0) ON CONFLICT DO NOTHING;"
    "CREATE OR REPLACE FUNCTION qkey_bump() RETURNS trigger LANGUAGE plpgsql AS"
    " $$ BEGIN UPDATE qkey_version SET v = v + 1 WHERE one = 1; RETURN NULL; END $$;"
    "DROP TRIGGER IF EXISTS qkey_objects_changed ON qkey_objects;"
    "CREATE TRIGGER qkey_objects_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE"
    " ON qkey_objects FOR EACH STATEMENT EXECUTE FUNCTION qkey_bump();";

static void pg_close(QKT_DB *d)
{
    if (d == NULL)
        return;
    if (C(d) != NULL)
        pq.finish(C(d));
    free(d);
}

static CK_RV pg_open(const char *where, QKT_DB **out)
{
    const char *conninfo = where;
    PG_DB *d;

    *out = NULL;
    pthread_once(&pq_once, pq_load);
    if (!pq_ok) {
        qkt_debug("token.store names PostgreSQL but libpq cannot be loaded (apt-get install "
                  "libpq5): %s",
                  pq_why);
        return CKR_GENERAL_ERROR;
    }
    if (strncmp(where, "postgresql:", 11) == 0 && strncmp(where, "postgresql://", 13) != 0)
        conninfo = where + 11; /* postgresql:service=qkey -> service=qkey */
    if ((d = calloc(1, sizeof(*d))) == NULL)
        return CKR_HOST_MEMORY;
    d->base.meth = &qkt_db_pg;
    d->conn = pq.connectdb(conninfo);
    if (d->conn == NULL || pq.status(d->conn) != CONNECTION_OK) {
        pg_error("connect", d->conn != NULL ? pq.error_message(d->conn) : "out of memory");
        pg_close(&d->base);
        return CKR_DEVICE_ERROR;
    }
    pq.set_notice_processor(d->conn, quiet, NULL);
    /* Nodes starting at once: the schema is made under one advisory lock, in one transaction. */
    if (run0(&d->base, "begin", "BEGIN") != CKR_OK ||
        run0(&d->base, "lock", "SELECT pg_advisory_xact_lock(7170657901)") != CKR_OK ||
        run0(&d->base, "schema", schema) != CKR_OK ||
        run0(&d->base, "commit", "COMMIT") != CKR_OK) {
        pg_close(&d->base);
        return CKR_DEVICE_ERROR;
    }
    *out = &d->base;
    return CKR_OK;
}

static CK_RV pg_begin(QKT_DB *d)
{
    if (run0(d, "begin", "BEGIN") != CKR_OK)
        return CKR_DEVICE_ERROR;
    if (run0(d, "lock", "LOCK TABLE qkey_meta IN EXCLUSIVE MODE") != CKR_OK) {
        (void)run0(d, "rollback", "ROLLBACK");
        return CKR_DEVICE_ERROR;
    }
    return CKR_OK;
}

static CK_RV pg_commit(QKT_DB *d)
{
    return run0(d, "commit", "COMMIT");
}

static void pg_rollback(QKT_DB *d)
{
    (void)run0(d, "rollback", "ROLLBACK"); /* a lost connection already rolled it back */
}

static CK_RV pg_meta_get(QKT_DB *d, const char *name, unsigned char **val, size_t *len)
{
    const char *v[1] = {name};
    int l[1] = {(int)strlen(name)};
    PGresult *r = run(d, "read meta", "SELECT value FROM qkey_meta WHERE name = $1", 1, v, l);
    CK_RV rv = CKR_OK;

    *val = NULL;
    *len = 0;
    if (r == NULL)
        return CKR_DEVICE_ERROR;
    if (pq.ntuples(r) == 1 && !pq.getisnull(r, 0, 0)) {
        int n = pq.getlength(r, 0, 0);
        if ((*val = malloc((size_t)n + 1)) == NULL) {
            rv = CKR_HOST_MEMORY;
        } else {
            memcpy(*val, pq.getvalue(r, 0, 0), (size_t)n);
            (*val)[n] = 0;
            *len = (size_t)n;
        }
    }
    pq.clear(r);
    return rv;
}

static CK_RV pg_meta_put(QKT_DB *d, const char *name, const void *val, size_t len)
{
    const char *v[2] = {name, val != NULL ? val : ""};
    int l[2] = {(int)strlen(name), (int)len};
    PGresult *r = val != NULL
                      ? run(d, "write meta",
                            "INSERT INTO qkey_meta VALUES($1, $2) ON CONFLICT (name) DO UPDATE SET "
                            "value = $2",
                            2, v, l)
                      : run(d, "write meta", "DELETE FROM qkey_meta WHERE name = $1", 1, v, l);
    if (r == NULL)
        return CKR_DEVICE_ERROR;
    pq.clear(r);
    return CKR_OK;
}

static CK_RV pg_insert(QKT_DB *d, const char *uid, size_t uidlen, const unsigned char *a,
                       size_t alen, const unsigned char *s, size_t slen, CK_OBJECT_HANDLE *h)
{
    const char *v[3] = {(const char *)a, (const char *)s, uid};
    int l[3] = {(int)alen, (int)slen, (int)uidlen};
    PGresult *r = run(d, "insert object",
                      "INSERT INTO qkey_objects(attrs, sealed, uid) VALUES($1, $2, $3)"
                      " RETURNING handle",
                      3, v, l);
    CK_RV rv = CKR_OK;

    if (r == NULL)
        return CKR_DEVICE_ERROR;
    if (pq.ntuples(r) != 1 || pq.getlength(r, 0, 0) != 8)
        rv = pg_error("insert object", "no handle returned");
    else
        *h = (CK_OBJECT_HANDLE)from_be64(pq.getvalue(r, 0, 0));
    pq.clear(r);
    return rv;
}

static CK_RV pg_update(QKT_DB *d, CK_OBJECT_HANDLE h, const unsigned char *a, size_t alen,
                       const unsigned char *s, size_t slen)
{
    unsigned char hb[8];
    const char *v[3] = {(const char *)a, (const char *)s, (const char *)hb};
    int l[3] = {(int)alen, (int)slen, 8};
    PGresult *r;
    CK_RV rv = CKR_OK;

    be64(hb, h);
    r = run(d, "update object", "UPDATE qkey_objects SET attrs = $1, sealed = $2 WHERE handle = $3",
            3, v, l);
    if (r == NULL)
        return CKR_DEVICE_ERROR;
    if (strcmp(pq.cmd_tuples(r), "1") != 0)
        rv = CKR_OBJECT_HANDLE_INVALID; /* another node destroyed it */
    pq.clear(r);
    return rv;
}

static CK_RV pg_remove(QKT_DB *d, CK_OBJECT_HANDLE h)
{
    unsigned char hb[8];
    const char *v[1] = {(const char *)hb};
    int l[1] = {8};
    PGresult *r;

    be64(hb, h);
    if ((r = run(d, "delete object", "DELETE FROM qkey_objects WHERE handle = $1", 1, v, l)) ==
        NULL)
        return CKR_DEVICE_ERROR;
    pq.clear(r);
    return CKR_OK;
}

static CK_RV pg_remove_all(QKT_DB *d)
{
    return run0(d, "delete objects", "DELETE FROM qkey_objects");
}

static long long pg_version(QKT_DB *d)
{
    PGresult *r = run(d, "read version", "SELECT v FROM qkey_version WHERE one = 1", 0, NULL, NULL);
    long long v = -2;

    if (r == NULL)
        return -2;
    if (pq.ntuples(r) == 1 && pq.getlength(r, 0, 0) == 8)
        v = (long long)from_be64(pq.getvalue(r, 0, 0));
    pq.clear(r);
    return v;
}

static CK_RV pg_load(QKT_DB *d, QKT_DB_ROW row, void *arg)
{
    PGresult *r =
        run(d, "read objects", "SELECT handle, attrs, sealed FROM qkey_objects", 0, NULL, NULL);
    CK_RV rv = CKR_OK;

    if (r == NULL)
        return CKR_DEVICE_ERROR;
    for (int i = 0; rv == CKR_OK && i < pq.ntuples(r); i++) {
        if (pq.getlength(r, i, 0) != 8) {
            rv = pg_error("read objects", "malformed handle");
            break;
        }
        rv = row(arg, (CK_OBJECT_HANDLE)from_be64(pq.getvalue(r, i, 0)),
                 (const unsigned char *)pq.getvalue(r, i, 1), (size_t)pq.getlength(r, i, 1),
                 pq.getisnull(r, i, 2) ? NULL : (const unsigned char *)pq.getvalue(r, i, 2),
                 (size_t)pq.getlength(r, i, 2));
    }
    pq.clear(r);
    return rv;
}

const QKT_DB_METHOD qkt_db_pg = {
    .name = "postgresql",
    .open = pg_open,
    .close = pg_close,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .meta_get = pg_meta_get,
    .meta_put = pg_meta_put,
    .insert = pg_insert,
    .update = pg_update,
    .remove = pg_remove,
    .remove_all = pg_remove_all,
    .version = pg_version,
    .load = pg_load,
};
#endif /* QKEY_HAVE_LIBPQ */
