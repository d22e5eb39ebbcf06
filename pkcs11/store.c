/*
 * The token store: what the token keeps across processes and nodes, on one of two backends
 * (storedb.h): SQLite (token.store = PATH, the default; ":memory:" when unset, a token that
 * lives as long as the process) or PostgreSQL (token.store = postgresql://... or
 * postgresql:CONNINFO), shared by every node of a cluster. This file is the same for both: it
 * encodes objects (attr.c), seals everything sensitive under the PIN-derived token key before it
 * reaches a backend (seal.c), and hands rows to the object cache (objstore.c).
 *
 * Schema (both backends): meta(name, value) for the token's label, serial, salts, wrapped token
 * keys and PIN failure counters; objects(handle, uid, attrs, sealed) with handles never
 * reused, attrs = the public attributes, sealed = the secret value under the token key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "storedb.h"

/* 1 if token.store names a PostgreSQL server rather than a file. */
static int is_pg(const char *where)
{
    return strncmp(where, "postgresql://", 13) == 0 || strncmp(where, "postgres://", 11) == 0 ||
           strncmp(where, "postgresql:", 11) == 0;
}

CK_RV qkt_store_open(const char *where)
{
    QKT_LIB *lib = qkt_lib;
    const QKT_DB_METHOD *m = is_pg(where) ? &qkt_db_pg : &qkt_db_sqlite;
    CK_RV rv;

    if ((lib->store_path = strdup(where)) == NULL)
        return CKR_HOST_MEMORY;
    if ((rv = m->open(where, &lib->db)) != CKR_OK)
        return rv;
    lib->data_version = -1;
    return CKR_OK;
}

void qkt_store_close(void)
{
    if (qkt_lib->db != NULL)
        qkt_lib->db->meth->close(qkt_lib->db);
    qkt_lib->db = NULL;
}

#define DB (qkt_lib->db)

CK_RV qkt_store_begin(void)
{
    return DB->meth->begin(DB);
}

CK_RV qkt_store_commit(void)
{
    return DB->meth->commit(DB);
}

void qkt_store_rollback(void)
{
    DB->meth->rollback(DB);
}

CK_RV qkt_meta_get(const char *name, unsigned char **val, size_t *len)
{
    return DB->meth->meta_get(DB, name, val, len);
}

CK_RV qkt_meta_put(const char *name, const void *val, size_t len)
{
    return DB->meth->meta_put(DB, name, val, len);
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

/* The row of obj: encoded attributes and, for a secret, its sealed value; caller frees both. */
static CK_RV encode_row(const QKT_OBJ *obj, unsigned char **a, size_t *alen, unsigned char **s,
                        size_t *slen)
{
    CK_RV rv;

    *a = *s = NULL;
    *alen = *slen = 0;
    if ((rv = qkt_attr_encode(obj, a, alen)) != CKR_OK)
        return rv;
    if (!qkt_obj_needs_seal(obj))
        return CKR_OK;
    if (obj->sealed != NULL) {
        if ((*s = malloc(obj->sealed_len ? obj->sealed_len : 1)) == NULL)
            return CKR_HOST_MEMORY;
        memcpy(*s, obj->sealed, obj->sealed_len);
        *slen = obj->sealed_len;
        return CKR_OK;
    }
    return qkt_obj_seal(obj, s, slen);
}

CK_RV qkt_store_insert(QKT_OBJ *obj)
{
    const QKT_ATTR *uid = qkt_obj_attr(obj, CKA_UNIQUE_ID);
    unsigned char *a, *s;
    size_t alen, slen;
    CK_RV rv = encode_row(obj, &a, &alen, &s, &slen);

    if (rv == CKR_OK)
        rv = DB->meth->insert(DB, (const char *)uid->val, uid->len, a, alen, s, slen, &obj->handle);
    free(a);
    free(s);
    return rv;
}

CK_RV qkt_store_update(const QKT_OBJ *obj)
{
    unsigned char *a, *s;
    size_t alen, slen;
    CK_RV rv = encode_row(obj, &a, &alen, &s, &slen);

    if (rv == CKR_OK)
        rv = DB->meth->update(DB, obj->handle, a, alen, s, slen);
    free(a);
    free(s);
    return rv;
}

CK_RV qkt_store_delete(CK_OBJECT_HANDLE h)
{
    return DB->meth->remove(DB, h);
}

CK_RV qkt_store_delete_all(void)
{
    return DB->meth->remove_all(DB);
}

long long qkt_store_version(void)
{
    return DB->meth->version(DB);
}

static CK_RV load_row(void *arg, CK_OBJECT_HANDLE h, const unsigned char *attrs, size_t alen,
                      const unsigned char *sealed, size_t slen)
{
    QKT_OBJ **list = arg, *obj = qkt_obj_new();
    CK_RV rv;

    if (obj == NULL)
        return CKR_HOST_MEMORY;
    obj->handle = h;
    rv = qkt_attr_decode(obj, attrs, alen);
    if (rv == CKR_OK && sealed != NULL) {
        if ((obj->sealed = malloc(slen ? slen : 1)) == NULL) {
            rv = CKR_HOST_MEMORY;
        } else {
            if (slen > 0)
                memcpy(obj->sealed, sealed, slen);
            obj->sealed_len = slen;
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
    CK_RV rv = DB->meth->load(DB, load_row, &list);

    *out = NULL;
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
