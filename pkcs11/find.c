/*
 * Object search (PKCS#11 Base 3.0, 5.7 C_FindObjectsInit/C_FindObjects/C_FindObjectsFinal):
 * the matching handles are collected at C_FindObjectsInit, after reloading the token objects
 * if another process changed the store; sensitive values never match.
 */
#include <stdlib.h>

#include "internal.h"

void qkt_find_free(QKT_FIND *f)
{
    if (f == NULL)
        return;
    free(f->handles);
    free(f);
}

CK_RV qkt_find_init(QKT_SESSION *s, const CK_ATTRIBUTE *tpl, CK_ULONG n)
{
    QKT_FIND *f;
    size_t cap = 0;
    CK_RV rv;

    if (s->find != NULL)
        return CKR_OPERATION_ACTIVE;
    if ((rv = qkt_objects_sync()) != CKR_OK)
        return rv;
    if ((f = calloc(1, sizeof(*f))) == NULL)
        return CKR_HOST_MEMORY;
    for (QKT_OBJ *o = qkt_lib->objects; o != NULL; o = o->next) {
        if (!qkt_object_visible(o) || !qkt_attr_match(o, tpl, n))
            continue;
        if (f->n == cap) {
            cap = cap ? cap * 2 : 16;
            CK_OBJECT_HANDLE *h = realloc(f->handles, cap * sizeof(*h));
            if (h == NULL) {
                qkt_find_free(f);
                return CKR_HOST_MEMORY;
            }
            f->handles = h;
        }
        f->handles[f->n++] = o->handle;
    }
    s->find = f;
    return CKR_OK;
}

CK_RV qkt_find_next(QKT_SESSION *s, CK_OBJECT_HANDLE *out, CK_ULONG max, CK_ULONG *count)
{
    QKT_FIND *f = s->find;
    CK_ULONG n = 0;

    if (f == NULL)
        return CKR_OPERATION_NOT_INITIALIZED;
    while (n < max && f->pos < f->n)
        out[n++] = f->handles[f->pos++];
    *count = n;
    return CKR_OK;
}

CK_RV qkt_find_final(QKT_SESSION *s)
{
    if (s->find == NULL)
        return CKR_OPERATION_NOT_INITIALIZED;
    qkt_find_free(s->find);
    s->find = NULL;
    return CKR_OK;
}
