/*
 * Object management (PKCS#11 Base 3.0, 5.7): lookup by handle with the visibility rules
 * (private objects only while the user is logged in), creation, copy, destruction and
 * C_SetAttributeValue. Session objects live in memory (values in locked memory) and die with
 * their session; token objects go to the store (store.c) with their value sealed (seal.c).
 * Handles: token objects use their store rowid; session objects QKT_SOBJ_HBIT | n.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static int is_session_handle(CK_OBJECT_HANDLE h)
{
    return (h & QKT_SOBJ_HBIT) != 0;
}

int qkt_object_visible(const QKT_OBJ *obj)
{
    return !qkt_obj_is_private(obj) || qkt_lib->login == CKU_USER;
}

static QKT_OBJ *find_handle(CK_OBJECT_HANDLE h)
{
    for (QKT_OBJ *o = qkt_lib->objects; o != NULL; o = o->next)
        if (o->handle == h)
            return o;
    return NULL;
}

CK_RV qkt_object_get(QKT_SESSION *s, CK_OBJECT_HANDLE h, QKT_OBJ **out)
{
    QKT_OBJ *obj;
    CK_RV rv;
    (void)s;

    if (h == CK_INVALID_HANDLE)
        return CKR_OBJECT_HANDLE_INVALID;
    if (!is_session_handle(h) && (rv = qkt_objects_sync()) != CKR_OK)
        return rv;
    if ((obj = find_handle(h)) == NULL || !qkt_object_visible(obj))
        return CKR_OBJECT_HANDLE_INVALID;
    if (obj->sealed != NULL && qkt_lib->tk != NULL && (rv = qkt_obj_unseal(obj)) != CKR_OK)
        return rv;
    *out = obj;
    return CKR_OK;
}

CK_RV qkt_key_get(QKT_SESSION *s, CK_OBJECT_HANDLE h, QKT_OBJ **out)
{
    QKT_OBJ *obj;
    CK_RV rv = qkt_object_get(s, h, &obj);
    if (rv == CKR_OBJECT_HANDLE_INVALID)
        return CKR_KEY_HANDLE_INVALID;
    if (rv != CKR_OK)
        return rv;
    CK_OBJECT_CLASS cls = qkt_obj_class(obj);
    if (cls != CKO_SECRET_KEY && cls != CKO_PUBLIC_KEY && cls != CKO_PRIVATE_KEY)
        return CKR_KEY_HANDLE_INVALID;
    if (obj->sealed != NULL)
        return CKR_USER_NOT_LOGGED_IN; /* a public token key: its value opens after login */
    *out = obj;
    return CKR_OK;
}

/* May session s hold obj (token/private rules)? */
static CK_RV check_access(QKT_SESSION *s, const QKT_OBJ *obj)
{
    if (qkt_obj_is_token(obj) && !qkt_session_rw(s))
        return CKR_SESSION_READ_ONLY;
    if (qkt_obj_is_private(obj) && qkt_lib->login != CKU_USER)
        return CKR_USER_NOT_LOGGED_IN;
    if (qkt_obj_needs_seal(obj) && qkt_lib->tk == NULL)
        return CKR_USER_NOT_LOGGED_IN;
    return CKR_OK;
}

CK_RV qkt_object_add(QKT_SESSION *s, QKT_OBJ *obj, CK_OBJECT_HANDLE *out)
{
    CK_RV rv = check_access(s, obj);
    if (rv != CKR_OK)
        return rv;
    if (qkt_obj_is_token(obj)) {
        if ((rv = qkt_objects_sync()) != CKR_OK || (rv = qkt_store_insert(obj)) != CKR_OK)
            return rv;
    } else {
        obj->handle = QKT_SOBJ_HBIT | (qkt_lib->next_object++ & ~QKT_SOBJ_HBIT);
        obj->owner = s->handle;
    }
    obj->next = qkt_lib->objects;
    qkt_lib->objects = obj;
    *out = obj->handle;
    return CKR_OK;
}

CK_RV qkt_object_create(QKT_SESSION *s, const CK_ATTRIBUTE *tpl, CK_ULONG n, CK_OBJECT_HANDLE *out)
{
    CK_OBJECT_CLASS cls;
    QKT_OBJ *obj;
    CK_RV rv = qkt_tpl_ulong(tpl, n, CKA_CLASS, &cls);

    if (rv != CKR_OK)
        return rv;
    if (cls != CKO_DATA && cls != CKO_SECRET_KEY && cls != CKO_PUBLIC_KEY && cls != CKO_PRIVATE_KEY)
        return CKR_ATTRIBUTE_VALUE_INVALID;
    if ((obj = qkt_obj_new()) == NULL)
        return CKR_HOST_MEMORY;
    if ((rv = qkt_obj_set_ulong(obj, CKA_CLASS, cls)) != CKR_OK ||
        (rv = qkt_attr_apply(obj, tpl, n, QKT_OP_CREATE)) != CKR_OK ||
        ((cls == CKO_PUBLIC_KEY || cls == CKO_PRIVATE_KEY) &&
         (rv = qkt_pkey_import(obj, tpl, n)) != CKR_OK) ||
        (rv = qkt_attr_finish(obj, QKT_OP_CREATE)) != CKR_OK ||
        (rv = qkt_object_add(s, obj, out)) != CKR_OK)
        qkt_obj_free(obj);
    return rv;
}

CK_RV qkt_object_copy(QKT_SESSION *s, CK_OBJECT_HANDLE h, const CK_ATTRIBUTE *tpl, CK_ULONG n,
                      CK_OBJECT_HANDLE *out)
{
    QKT_OBJ *src, *obj;
    CK_RV rv = qkt_object_get(s, h, &src);

    if (rv != CKR_OK)
        return rv;
    if (!qkt_obj_bool(src, CKA_COPYABLE))
        return CKR_ACTION_PROHIBITED;
    if (src->sealed != NULL)
        return CKR_USER_NOT_LOGGED_IN;
    if ((obj = qkt_obj_dup(src)) == NULL)
        return CKR_HOST_MEMORY;
    if ((rv = qkt_attr_apply(obj, tpl, n, QKT_OP_COPY)) != CKR_OK ||
        (rv = qkt_attr_finish(obj, QKT_OP_COPY)) != CKR_OK ||
        (rv = qkt_object_add(s, obj, out)) != CKR_OK)
        qkt_obj_free(obj);
    return rv;
}

static void unlink_object(QKT_OBJ *obj)
{
    for (QKT_OBJ **p = &qkt_lib->objects; *p != NULL; p = &(*p)->next)
        if (*p == obj) {
            *p = obj->next;
            return;
        }
}

CK_RV qkt_object_destroy(QKT_SESSION *s, CK_OBJECT_HANDLE h)
{
    QKT_OBJ *obj;
    CK_RV rv = qkt_object_get(s, h, &obj);

    if (rv != CKR_OK)
        return rv;
    if (qkt_obj_is_token(obj) && !qkt_session_rw(s))
        return CKR_SESSION_READ_ONLY;
    if (!qkt_obj_bool(obj, CKA_DESTROYABLE))
        return CKR_ACTION_PROHIBITED;
    if (qkt_obj_is_token(obj) && (rv = qkt_store_delete(obj->handle)) != CKR_OK)
        return rv;
    unlink_object(obj);
    qkt_obj_free(obj);
    return CKR_OK;
}

CK_RV qkt_object_set_attrs(QKT_SESSION *s, CK_OBJECT_HANDLE h, const CK_ATTRIBUTE *tpl, CK_ULONG n)
{
    QKT_OBJ *obj, *next;
    CK_RV rv = qkt_object_get(s, h, &obj);

    if (rv != CKR_OK)
        return rv;
    if (qkt_obj_is_token(obj) && !qkt_session_rw(s))
        return CKR_SESSION_READ_ONLY;
    if (!qkt_obj_bool(obj, CKA_MODIFIABLE))
        return CKR_ACTION_PROHIBITED;
    /* Work on a copy so a failure leaves the object as it was. */
    if ((next = qkt_obj_dup(obj)) == NULL)
        return CKR_HOST_MEMORY;
    next->handle = obj->handle;
    next->owner = obj->owner;
    if (obj->sealed != NULL) {
        if ((next->sealed = malloc(obj->sealed_len)) == NULL) {
            qkt_obj_free(next);
            return CKR_HOST_MEMORY;
        }
        memcpy(next->sealed, obj->sealed, obj->sealed_len);
        next->sealed_len = obj->sealed_len;
    }
    if ((rv = qkt_attr_apply(next, tpl, n, QKT_OP_SET)) != CKR_OK ||
        (qkt_obj_is_token(next) && (rv = qkt_store_update(next)) != CKR_OK)) {
        qkt_obj_free(next);
        return rv;
    }
    next->next = obj->next;
    for (QKT_OBJ **p = &qkt_lib->objects; *p != NULL; p = &(*p)->next)
        if (*p == obj) {
            *p = next;
            break;
        }
    qkt_obj_free(obj);
    return CKR_OK;
}

CK_RV qkt_object_size(QKT_SESSION *s, CK_OBJECT_HANDLE h, CK_ULONG *size)
{
    QKT_OBJ *obj;
    CK_RV rv = qkt_object_get(s, h, &obj);
    CK_ULONG total = 0;

    if (rv != CKR_OK)
        return rv;
    for (size_t i = 0; i < obj->nattrs; i++)
        total += sizeof(CK_ATTRIBUTE) + obj->attrs[i].len;
    *size = total;
    return CKR_OK;
}

static void drop_if(int (*pred)(const QKT_OBJ *, CK_SESSION_HANDLE), CK_SESSION_HANDLE arg)
{
    QKT_OBJ **p = &qkt_lib->objects;
    while (*p != NULL) {
        QKT_OBJ *o = *p;
        if (pred(o, arg)) {
            *p = o->next;
            qkt_obj_free(o);
        } else {
            p = &o->next;
        }
    }
}

static int owned_by(const QKT_OBJ *o, CK_SESSION_HANDLE s)
{
    return is_session_handle(o->handle) && o->owner == s;
}

static int token_object(const QKT_OBJ *o, CK_SESSION_HANDLE s)
{
    (void)s;
    return !is_session_handle(o->handle);
}

static int any_object(const QKT_OBJ *o, CK_SESSION_HANDLE s)
{
    (void)o, (void)s;
    return 1;
}

void qkt_objects_drop_session(CK_SESSION_HANDLE owner)
{
    drop_if(owned_by, owner);
}

void qkt_objects_drop_token(void)
{
    drop_if(token_object, 0);
}

void qkt_objects_free_all(void)
{
    drop_if(any_object, 0);
}

CK_RV qkt_objects_sync(void)
{
    long long v = qkt_store_version();
    QKT_OBJ *loaded, *last;
    CK_RV rv;

    /* The object lifetime rule: the cache is refreshed at most once per entry point (qkt_enter
     * clears `synced`), before or at the first lookup; later lookups in the same call see the
     * same objects, so a pointer one of them returned is never freed under the caller. Another
     * process's commit is seen at the next entry point. */
    if (qkt_lib->synced || (v == qkt_lib->data_version && v != -2)) {
        qkt_lib->synced = 1;
        return CKR_OK;
    }
    qkt_lib->synced = 1;
    qkt_objects_drop_token();
    if ((rv = qkt_store_load_all(&loaded)) != CKR_OK)
        return rv;
    if (loaded != NULL) {
        for (last = loaded; last->next != NULL; last = last->next)
            ;
        last->next = qkt_lib->objects;
        qkt_lib->objects = loaded;
    }
    qkt_lib->data_version = v;
    return CKR_OK;
}
