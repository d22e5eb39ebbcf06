/*
 * An object is a list of attributes. CKA_VALUE lives in locked memory (qks_secure_alloc) and
 * is wiped when replaced or freed; everything else is plain heap.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

QKT_OBJ *qkt_obj_new(void)
{
    return calloc(1, sizeof(QKT_OBJ));
}

static void attr_clear(QKT_ATTR *a)
{
    if (a->secret)
        qkt_secret_free(a->val, a->alloc);
    else
        free(a->val);
    a->val = NULL;
    a->len = 0;
}

void qkt_obj_free(QKT_OBJ *obj)
{
    if (obj == NULL)
        return;
    for (size_t i = 0; i < obj->nattrs; i++)
        attr_clear(&obj->attrs[i]);
    free(obj->attrs);
    free(obj->sealed);
    EVP_PKEY_free(obj->pkey);
    free(obj);
}

QKT_ATTR *qkt_obj_attr(const QKT_OBJ *obj, CK_ATTRIBUTE_TYPE type)
{
    for (size_t i = 0; i < obj->nattrs; i++)
        if (obj->attrs[i].type == type)
            return &obj->attrs[i];
    return NULL;
}

CK_RV qkt_obj_set(QKT_OBJ *obj, CK_ATTRIBUTE_TYPE type, const void *val, CK_ULONG len)
{
    QKT_ATTR *a = qkt_obj_attr(obj, type);
    int secret = type == CKA_VALUE;

    if (type == CKA_VALUE || type == CKA_PUBLIC_KEY_INFO) { /* the parsed key no longer holds */
        EVP_PKEY_free(obj->pkey);
        obj->pkey = NULL;
    }
    unsigned char *copy = secret ? qkt_secret_alloc(len) : malloc(len ? len : 1);

    if (copy == NULL)
        return CKR_HOST_MEMORY;
    if (len)
        memcpy(copy, val, len);
    if (a == NULL) {
        if (obj->nattrs == obj->cap) {
            size_t cap = obj->cap ? obj->cap * 2 : 24;
            QKT_ATTR *n = realloc(obj->attrs, cap * sizeof(*n));
            if (n == NULL) {
                if (secret)
                    qkt_secret_free(copy, len);
                else
                    free(copy);
                return CKR_HOST_MEMORY;
            }
            obj->attrs = n;
            obj->cap = cap;
        }
        a = &obj->attrs[obj->nattrs++];
        memset(a, 0, sizeof(*a));
        a->type = type;
    } else {
        attr_clear(a);
    }
    a->val = copy;
    a->len = len;
    a->alloc = len;
    a->secret = secret;
    return CKR_OK;
}

CK_RV qkt_obj_set_bool(QKT_OBJ *obj, CK_ATTRIBUTE_TYPE type, CK_BBOOL v)
{
    return qkt_obj_set(obj, type, &v, sizeof(v));
}

CK_RV qkt_obj_set_ulong(QKT_OBJ *obj, CK_ATTRIBUTE_TYPE type, CK_ULONG v)
{
    return qkt_obj_set(obj, type, &v, sizeof(v));
}

int qkt_obj_bool(const QKT_OBJ *obj, CK_ATTRIBUTE_TYPE type)
{
    const QKT_ATTR *a = qkt_obj_attr(obj, type);
    return a != NULL && a->len == sizeof(CK_BBOOL) && *(const CK_BBOOL *)a->val;
}

CK_ULONG qkt_obj_ulong(const QKT_OBJ *obj, CK_ATTRIBUTE_TYPE type, CK_ULONG dflt)
{
    const QKT_ATTR *a = qkt_obj_attr(obj, type);
    CK_ULONG v;
    if (a == NULL || a->len != sizeof(CK_ULONG))
        return dflt;
    memcpy(&v, a->val, sizeof(v));
    return v;
}

CK_OBJECT_CLASS qkt_obj_class(const QKT_OBJ *obj)
{
    return qkt_obj_ulong(obj, CKA_CLASS, CK_UNAVAILABLE_INFORMATION);
}

int qkt_obj_is_token(const QKT_OBJ *obj)
{
    return qkt_obj_bool(obj, CKA_TOKEN);
}

int qkt_obj_is_private(const QKT_OBJ *obj)
{
    return qkt_obj_bool(obj, CKA_PRIVATE);
}

QKT_OBJ *qkt_obj_dup(const QKT_OBJ *obj)
{
    QKT_OBJ *n = qkt_obj_new();
    if (n == NULL)
        return NULL;
    for (size_t i = 0; i < obj->nattrs; i++)
        if (qkt_obj_set(n, obj->attrs[i].type, obj->attrs[i].val, obj->attrs[i].len) != CKR_OK) {
            qkt_obj_free(n);
            return NULL;
        }
    return n;
}

/* Token objects that hold a secret (secret and private keys, private objects) are sealed in the
 * store. */
int qkt_obj_needs_seal(const QKT_OBJ *obj)
{
    return qkt_obj_is_token(obj) &&
           (qkt_obj_class(obj) == CKO_SECRET_KEY || qkt_obj_class(obj) == CKO_PRIVATE_KEY ||
            qkt_obj_is_private(obj));
}

/* Template lookups before an object exists (the last of a repeated attribute counts). */
const CK_ATTRIBUTE *qkt_tpl_find(const CK_ATTRIBUTE *tpl, CK_ULONG n, CK_ATTRIBUTE_TYPE type)
{
    for (CK_ULONG i = n; i-- > 0;)
        if (tpl[i].type == type)
            return &tpl[i];
    return NULL;
}

CK_RV qkt_tpl_ulong(const CK_ATTRIBUTE *tpl, CK_ULONG n, CK_ATTRIBUTE_TYPE type, CK_ULONG *out)
{
    const CK_ATTRIBUTE *a = qkt_tpl_find(tpl, n, type);
    if (a == NULL)
        return CKR_TEMPLATE_INCOMPLETE;
    if (a->pValue == NULL || a->ulValueLen != sizeof(CK_ULONG))
        return CKR_ATTRIBUTE_VALUE_INVALID;
    memcpy(out, a->pValue, sizeof(*out));
    return CKR_OK;
}

CK_RV qkt_tpl_bool(const CK_ATTRIBUTE *tpl, CK_ULONG n, CK_ATTRIBUTE_TYPE type, CK_BBOOL *out)
{
    const CK_ATTRIBUTE *a = qkt_tpl_find(tpl, n, type);
    if (a == NULL)
        return CKR_TEMPLATE_INCOMPLETE;
    if (a->pValue == NULL || a->ulValueLen != sizeof(CK_BBOOL))
        return CKR_ATTRIBUTE_VALUE_INVALID;
    *out = *(const CK_BBOOL *)a->pValue ? CK_TRUE : CK_FALSE;
    return CKR_OK;
}
