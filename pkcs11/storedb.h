/*
 * The token store's backends: raw rows in, raw rows out. store.c above them encodes objects,
 * seals secrets (nothing sensitive reaches a backend in clear) and keeps the cache policy;
 * a backend only stores bytes, in transactions, and tells when anything changed.
 *   sqlite      a file (token.store = PATH, or ":memory:"): store_sqlite.c
 *   postgresql  a server shared by every node (token.store = postgresql://...): store_pg.c
 * Every method reports a failure with qkt_debug() and CKR_DEVICE_ERROR unless said otherwise.
 */
#ifndef QKEY_PKCS11_STOREDB_H
#define QKEY_PKCS11_STOREDB_H

#include <stddef.h>

#include "pkcs11_3_0.h"

typedef struct qkt_db_st QKT_DB;

/* One stored object: handle, encoded public attributes, sealed secret (NULL when none). */
typedef CK_RV (*QKT_DB_ROW)(void *arg, CK_OBJECT_HANDLE h, const unsigned char *attrs, size_t alen,
                            const unsigned char *sealed, size_t slen);

typedef struct {
    const char *name;
    CK_RV (*open)(const char *where, QKT_DB **out); /* creates the schema when missing */
    void (*close)(QKT_DB *db);
    /* A write transaction that excludes every other writer, in every process and on every
     * node, until commit or rollback (PIN counters are read and charged inside one). */
    CK_RV (*begin)(QKT_DB *db);
    CK_RV (*commit)(QKT_DB *db);
    void (*rollback)(QKT_DB *db);
    /* *val NULL when absent; else malloc'd with a NUL after the len bytes */
    CK_RV (*meta_get)(QKT_DB *db, const char *name, unsigned char **val, size_t *len);
    CK_RV (*meta_put)(QKT_DB *db, const char *name, const void *val, size_t len); /* NULL: delete */
    /* A new handle, never reused; uid unique (CKA_UNIQUE_ID) */
    CK_RV(*insert)
    (QKT_DB *db, const char *uid, size_t uidlen, const unsigned char *attrs, size_t alen,
     const unsigned char *sealed, size_t slen, CK_OBJECT_HANDLE *h);
    /* CKR_OBJECT_HANDLE_INVALID when another process or node destroyed it */
    CK_RV(*update)
    (QKT_DB *db, CK_OBJECT_HANDLE h, const unsigned char *attrs, size_t alen,
     const unsigned char *sealed, size_t slen);
    CK_RV (*remove)(QKT_DB *db, CK_OBJECT_HANDLE h);
    CK_RV (*remove_all)(QKT_DB *db);
    /* Changes whenever any connection changed the objects (or anything); -2 when unreadable */
    long long (*version)(QKT_DB *db);
    CK_RV (*load)(QKT_DB *db, QKT_DB_ROW row, void *arg); /* every object */
} QKT_DB_METHOD;

struct qkt_db_st {
    const QKT_DB_METHOD *meth; /* every backend's handle starts with its method table */
};

extern const QKT_DB_METHOD qkt_db_sqlite;
extern const QKT_DB_METHOD qkt_db_pg;

#endif
