/*
 * Attributes and templates (PKCS#11 Base 3.0, 4.1 - 4.10): which attributes each class has,
 * their types and defaults, who may set them (creation, generation, copy, C_SetAttributeValue)
 * and the exact return codes; C_GetAttributeValue's five per-attribute cases (5.7); template
 * matching for C_FindObjects; the store encoding of the public attributes.
 */
#include <stdlib.h>
#include <string.h>
#include <openssl/rand.h>

#include "internal.h"

enum { K_BOOL, K_ULONG, K_BYTES, K_ULONGS, K_DATE };
#define C_DATA   1u
#define C_SECRET 2u
#define C_PUB    4u
#define C_PRIV   8u
#define C_KEY    (C_SECRET | C_PUB | C_PRIV)
#define C_ALL    (C_DATA | C_KEY)
#define F_RO     0x01u /* set by the token only */
#define F_MOD    0x02u /* C_SetAttributeValue and C_CopyObject may change it */
#define F_COPY   0x04u /* C_CopyObject may change it (TOKEN, PRIVATE, MODIFIABLE) */
#define F_ONEWAY 0x08u /* may change in one direction only (see oneway_ok) */
#define F_GEN    0x10u /* given with C_GenerateKey / unwrap / derive only (VALUE_LEN) */
#define F_NOGEN  0x20u /* never given with C_GenerateKey / unwrap / derive (VALUE) */
#define F_SO     0x40u /* only the SO may set it to true (TRUSTED) */
#define F_PART   0x80u /* a part of a private key: never stored as an attribute (pkey.c) */

typedef struct {
    CK_ATTRIBUTE_TYPE type;
    unsigned char kind, classes, flags;
} ATTR_DEF;

static const ATTR_DEF defs[] = {
    {CKA_CLASS, K_ULONG, C_ALL, 0},
    {CKA_TOKEN, K_BOOL, C_ALL, F_COPY},
    {CKA_PRIVATE, K_BOOL, C_ALL, F_COPY},
    {CKA_MODIFIABLE, K_BOOL, C_ALL, F_COPY},
    {CKA_COPYABLE, K_BOOL, C_ALL, F_ONEWAY},
    {CKA_DESTROYABLE, K_BOOL, C_ALL, F_MOD},
    {CKA_LABEL, K_BYTES, C_ALL, F_MOD},
    {CKA_UNIQUE_ID, K_BYTES, C_ALL, F_RO},
    {CKA_APPLICATION, K_BYTES, C_DATA, F_MOD},
    {CKA_OBJECT_ID, K_BYTES, C_DATA, F_MOD},
    {CKA_VALUE, K_BYTES, C_DATA | C_SECRET | C_PRIV, F_NOGEN}, /* data: F_MOD, see may_set */
    {CKA_KEY_TYPE, K_ULONG, C_KEY, 0},
    {CKA_ID, K_BYTES, C_KEY, F_MOD},
    {CKA_START_DATE, K_DATE, C_KEY, F_MOD},
    {CKA_END_DATE, K_DATE, C_KEY, F_MOD},
    {CKA_DERIVE, K_BOOL, C_KEY, F_MOD},
    {CKA_LOCAL, K_BOOL, C_KEY, F_RO},
    {CKA_KEY_GEN_MECHANISM, K_ULONG, C_KEY, F_RO},
    {CKA_ALLOWED_MECHANISMS, K_ULONGS, C_KEY, F_MOD},
    {CKA_SUBJECT, K_BYTES, C_PUB | C_PRIV, F_MOD},
    {CKA_SENSITIVE, K_BOOL, C_SECRET | C_PRIV, F_ONEWAY},
    {CKA_ENCRYPT, K_BOOL, C_SECRET | C_PUB, F_MOD},
    {CKA_DECRYPT, K_BOOL, C_SECRET | C_PRIV, F_MOD},
    {CKA_SIGN, K_BOOL, C_SECRET | C_PRIV, F_MOD},
    {CKA_VERIFY, K_BOOL, C_SECRET | C_PUB, F_MOD},
    {CKA_SIGN_RECOVER, K_BOOL, C_PRIV, F_MOD},
    {CKA_VERIFY_RECOVER, K_BOOL, C_PUB, F_MOD},
    {CKA_WRAP, K_BOOL, C_SECRET | C_PUB, F_MOD},
    {CKA_UNWRAP, K_BOOL, C_SECRET | C_PRIV, F_MOD},
    {CKA_EXTRACTABLE, K_BOOL, C_SECRET | C_PRIV, F_ONEWAY},
    {CKA_ALWAYS_SENSITIVE, K_BOOL, C_SECRET | C_PRIV, F_RO},
    {CKA_NEVER_EXTRACTABLE, K_BOOL, C_SECRET | C_PRIV, F_RO},
    {CKA_WRAP_WITH_TRUSTED, K_BOOL, C_SECRET | C_PRIV, F_ONEWAY},
    {CKA_TRUSTED, K_BOOL, C_SECRET | C_PUB, F_MOD | F_SO},
    {CKA_ALWAYS_AUTHENTICATE, K_BOOL, C_PRIV, 0},
    {CKA_PUBLIC_KEY_INFO, K_BYTES, C_PUB | C_PRIV, F_RO},
    {CKA_VALUE_LEN, K_ULONG, C_SECRET, F_GEN},
    {CKA_MODULUS, K_BYTES, C_PUB | C_PRIV, F_NOGEN},
    {CKA_MODULUS_BITS, K_ULONG, C_PUB, F_GEN},
    {CKA_PUBLIC_EXPONENT, K_BYTES, C_PUB | C_PRIV, 0},
    {CKA_PRIVATE_EXPONENT, K_BYTES, C_PRIV, F_NOGEN | F_PART},
    {CKA_PRIME_1, K_BYTES, C_PRIV, F_NOGEN | F_PART},
    {CKA_PRIME_2, K_BYTES, C_PRIV, F_NOGEN | F_PART},
    {CKA_EXPONENT_1, K_BYTES, C_PRIV, F_NOGEN | F_PART},
    {CKA_EXPONENT_2, K_BYTES, C_PRIV, F_NOGEN | F_PART},
    {CKA_COEFFICIENT, K_BYTES, C_PRIV, F_NOGEN | F_PART},
    {CKA_EC_PARAMS, K_BYTES, C_PUB | C_PRIV, 0},
    {CKA_EC_POINT, K_BYTES, C_PUB, F_NOGEN},
    {CKA_QKEY_KEY_ID, K_BYTES, C_SECRET, 0},
    {CKA_QKEY_PEER, K_BYTES, C_SECRET, 0},
};

static const ATTR_DEF *def_of(CK_ATTRIBUTE_TYPE type)
{
    for (size_t i = 0; i < sizeof(defs) / sizeof(defs[0]); i++)
        if (defs[i].type == type)
            return &defs[i];
    return NULL;
}

static unsigned class_bit(CK_OBJECT_CLASS c)
{
    switch (c) {
    case CKO_DATA:
        return C_DATA;
    case CKO_SECRET_KEY:
        return C_SECRET;
    case CKO_PUBLIC_KEY:
        return C_PUB;
    case CKO_PRIVATE_KEY:
        return C_PRIV;
    default:
        return 0;
    }
}

int qkt_attr_is_part(CK_OBJECT_CLASS cls, CK_ATTRIBUTE_TYPE type)
{
    const ATTR_DEF *d = def_of(type);
    return cls == CKO_PRIVATE_KEY && d != NULL && ((d->flags & F_PART) || type == CKA_VALUE);
}

static CK_RV check_value(const ATTR_DEF *d, const CK_ATTRIBUTE *a)
{
    if (a->pValue == NULL && a->ulValueLen != 0)
        return CKR_ATTRIBUTE_VALUE_INVALID;
    switch (d->kind) {
    case K_BOOL:
        return a->ulValueLen == sizeof(CK_BBOOL) ? CKR_OK : CKR_ATTRIBUTE_VALUE_INVALID;
    case K_ULONG:
        return a->ulValueLen == sizeof(CK_ULONG) ? CKR_OK : CKR_ATTRIBUTE_VALUE_INVALID;
    case K_ULONGS:
        return a->ulValueLen % sizeof(CK_ULONG) == 0 ? CKR_OK : CKR_ATTRIBUTE_VALUE_INVALID;
    case K_DATE:
        return a->ulValueLen == 0 || a->ulValueLen == sizeof(CK_DATE) ? CKR_OK
                                                                      : CKR_ATTRIBUTE_VALUE_INVALID;
    default:
        return CKR_OK;
    }
}

/* One-way attributes (Base 3.0, 4.4 and 4.10): SENSITIVE and WRAP_WITH_TRUSTED only become
 * true; EXTRACTABLE and COPYABLE only become false. */
static int oneway_ok(const QKT_OBJ *obj, CK_ATTRIBUTE_TYPE type, CK_BBOOL v)
{
    int cur = qkt_obj_bool(obj, type);
    if (type == CKA_SENSITIVE || type == CKA_WRAP_WITH_TRUSTED)
        return v || !cur;
    return !v || cur;
}

static CK_RV may_set(const QKT_OBJ *obj, const ATTR_DEF *d, const CK_ATTRIBUTE *a, int op)
{
    int data_value = d->type == CKA_VALUE && qkt_obj_class(obj) == CKO_DATA;
    if (d->flags & F_RO)
        return CKR_ATTRIBUTE_READ_ONLY;
    switch (op) {
    case QKT_OP_CREATE:
        return (d->flags & F_GEN) ? CKR_TEMPLATE_INCONSISTENT : CKR_OK;
    case QKT_OP_GENERATE:
    case QKT_OP_UNWRAP:
    case QKT_OP_DERIVE:
        return (d->flags & F_NOGEN) ? CKR_TEMPLATE_INCONSISTENT : CKR_OK;
    case QKT_OP_COPY:
        if (d->flags & F_COPY)
            return CKR_OK;
        /* otherwise the C_SetAttributeValue rules */
        __attribute__((fallthrough));
    default:
        if (d->flags & F_ONEWAY)
            return oneway_ok(obj, d->type, *(const CK_BBOOL *)a->pValue) ? CKR_OK
                                                                         : CKR_ATTRIBUTE_READ_ONLY;
        if ((d->flags & F_SO) && *(const CK_BBOOL *)a->pValue && qkt_lib->login != CKU_SO)
            return CKR_ATTRIBUTE_READ_ONLY;
        return (d->flags & F_MOD) || data_value ? CKR_OK : CKR_ATTRIBUTE_READ_ONLY;
    }
}

CK_RV qkt_attr_apply(QKT_OBJ *obj, const CK_ATTRIBUTE *tpl, CK_ULONG n, int op)
{
    unsigned cls = class_bit(qkt_obj_class(obj));
    CK_RV rv;

    for (CK_ULONG i = 0; i < n; i++) {
        const ATTR_DEF *d = def_of(tpl[i].type);
        if (d == NULL || !(d->classes & cls))
            return CKR_ATTRIBUTE_TYPE_INVALID;
        if ((rv = check_value(d, &tpl[i])) != CKR_OK)
            return rv;
        if (op == QKT_OP_CREATE && qkt_attr_is_part(qkt_obj_class(obj), d->type))
            continue; /* made into the key by pkey.c, never kept as an attribute */
        if (d->type == CKA_CLASS || d->type == CKA_KEY_TYPE) {
            /* Fixed at creation: the template may only repeat the value. */
            CK_ULONG v, cur = qkt_obj_ulong(obj, d->type, CK_UNAVAILABLE_INFORMATION);
            memcpy(&v, tpl[i].pValue, sizeof(v));
            if (cur != CK_UNAVAILABLE_INFORMATION && v != cur)
                return op == QKT_OP_SET || op == QKT_OP_COPY ? CKR_ATTRIBUTE_READ_ONLY
                                                             : CKR_TEMPLATE_INCONSISTENT;
            if (cur == CK_UNAVAILABLE_INFORMATION &&
                (rv = qkt_obj_set(obj, d->type, &v, sizeof(v))))
                return rv;
            continue;
        }
        if (d->flags & F_SO && op != QKT_OP_SET && op != QKT_OP_COPY && tpl[i].ulValueLen &&
            *(const CK_BBOOL *)tpl[i].pValue && qkt_lib->login != CKU_SO)
            return CKR_ATTRIBUTE_READ_ONLY;
        if ((rv = may_set(obj, d, &tpl[i], op)) != CKR_OK)
            return rv;
        if ((rv = qkt_obj_set(obj, d->type, tpl[i].pValue, tpl[i].ulValueLen)) != CKR_OK)
            return rv;
    }
    return CKR_OK;
}

static CK_RV set_default_bool(QKT_OBJ *obj, CK_ATTRIBUTE_TYPE t, CK_BBOOL v)
{
    return qkt_obj_attr(obj, t) != NULL ? CKR_OK : qkt_obj_set_bool(obj, t, v);
}

static CK_RV set_default_bytes(QKT_OBJ *obj, CK_ATTRIBUTE_TYPE t)
{
    return qkt_obj_attr(obj, t) != NULL ? CKR_OK : qkt_obj_set(obj, t, "", 0);
}

CK_RV qkt_key_len_check(CK_KEY_TYPE kt, size_t len)
{
    if (kt == CKK_AES)
        return len == 16 || len == 24 || len == 32 ? CKR_OK : CKR_ATTRIBUTE_VALUE_INVALID;
    if (kt == CKK_DES3) /* three DES keys with parity; single DES and two-key 3DES stay out */
        return len == 24 ? CKR_OK : CKR_ATTRIBUTE_VALUE_INVALID;
    if (kt == CKK_GENERIC_SECRET || kt == CKK_HKDF)
        return len >= 1 && len <= 512 ? CKR_OK : CKR_ATTRIBUTE_VALUE_INVALID;
    return CKR_ATTRIBUTE_VALUE_INVALID;
}

static CK_RV unique_id(QKT_OBJ *obj)
{
    unsigned char raw[16];
    char hex[33];
    if (RAND_bytes_ex(qkt_lib->libctx, raw, sizeof(raw), 0) <= 0)
        return CKR_GENERAL_ERROR;
    for (size_t i = 0; i < sizeof(raw); i++) {
        hex[2 * i] = "0123456789abcdef"[raw[i] >> 4];
        hex[2 * i + 1] = "0123456789abcdef"[raw[i] & 15];
    }
    return qkt_obj_set(obj, CKA_UNIQUE_ID, hex, 32);
}

static CK_RV secret_defaults(QKT_OBJ *obj, CK_KEY_TYPE kt)
{
    const QKT_ATTR *v = qkt_obj_attr(obj, CKA_VALUE);
    CK_RV rv;

    if (v == NULL)
        return CKR_TEMPLATE_INCOMPLETE;
    if ((rv = qkt_key_len_check(kt, v->len)) != CKR_OK)
        return rv;
    if (qkt_obj_ulong(obj, CKA_VALUE_LEN, v->len) != v->len)
        return CKR_TEMPLATE_INCONSISTENT;
    if ((rv = qkt_obj_set_ulong(obj, CKA_VALUE_LEN, v->len)) ||
        (rv = set_default_bool(obj, CKA_SENSITIVE, CK_FALSE)) ||
        (rv = set_default_bool(obj, CKA_ENCRYPT, CK_TRUE)) ||
        (rv = set_default_bool(obj, CKA_DECRYPT, CK_TRUE)) ||
        (rv = set_default_bool(obj, CKA_SIGN, CK_TRUE)) ||
        (rv = set_default_bool(obj, CKA_VERIFY, CK_TRUE)) ||
        (rv = set_default_bool(obj, CKA_WRAP, CK_TRUE)) ||
        (rv = set_default_bool(obj, CKA_UNWRAP, CK_TRUE)) ||
        (rv = set_default_bool(obj, CKA_EXTRACTABLE, CK_TRUE)) ||
        (rv = set_default_bool(obj, CKA_WRAP_WITH_TRUSTED, CK_FALSE)))
        return rv;
    return set_default_bool(obj, CKA_TRUSTED, CK_FALSE);
}

/* Key pairs: each usage defaults to what the key type can do (docs/pkcs11.md); a private key
 * is sensitive and unextractable unless its template says otherwise. */
static CK_RV public_defaults(QKT_OBJ *obj, CK_KEY_TYPE kt)
{
    CK_RV rv;
    if ((rv = set_default_bytes(obj, CKA_SUBJECT)) ||
        (rv = set_default_bool(obj, CKA_ENCRYPT, kt == CKK_RSA)) ||
        (rv = set_default_bool(obj, CKA_VERIFY, kt != CKK_EC_MONTGOMERY)) ||
        (rv = set_default_bool(obj, CKA_VERIFY_RECOVER, CK_FALSE)) ||
        (rv = set_default_bool(obj, CKA_WRAP, CK_FALSE)))
        return rv;
    return set_default_bool(obj, CKA_TRUSTED, CK_FALSE);
}

static CK_RV private_defaults(QKT_OBJ *obj, CK_KEY_TYPE kt)
{
    CK_RV rv;
    if ((rv = set_default_bytes(obj, CKA_SUBJECT)) ||
        (rv = set_default_bool(obj, CKA_SENSITIVE, CK_TRUE)) ||
        (rv = set_default_bool(obj, CKA_DECRYPT, kt == CKK_RSA)) ||
        (rv = set_default_bool(obj, CKA_SIGN, kt != CKK_EC_MONTGOMERY)) ||
        (rv = set_default_bool(obj, CKA_SIGN_RECOVER, CK_FALSE)) ||
        (rv = set_default_bool(obj, CKA_UNWRAP, CK_FALSE)) ||
        (rv = set_default_bool(obj, CKA_EXTRACTABLE, CK_FALSE)) ||
        (rv = set_default_bool(obj, CKA_WRAP_WITH_TRUSTED, CK_FALSE)))
        return rv;
    return set_default_bool(obj, CKA_ALWAYS_AUTHENTICATE, CK_FALSE);
}

CK_RV qkt_attr_finish(QKT_OBJ *obj, int op)
{
    CK_OBJECT_CLASS cls = qkt_obj_class(obj);
    int local = op == QKT_OP_GENERATE;
    CK_RV rv;

    if ((rv = set_default_bool(obj, CKA_TOKEN, CK_FALSE)) ||
        (rv =
             set_default_bool(obj, CKA_PRIVATE, cls == CKO_SECRET_KEY || cls == CKO_PRIVATE_KEY)) ||
        (rv = set_default_bool(obj, CKA_MODIFIABLE, CK_TRUE)) ||
        (rv = set_default_bool(obj, CKA_COPYABLE, CK_TRUE)) ||
        (rv = set_default_bool(obj, CKA_DESTROYABLE, CK_TRUE)) ||
        (rv = set_default_bytes(obj, CKA_LABEL)) || (rv = unique_id(obj)))
        return rv;
    if (cls == CKO_DATA) {
        if ((rv = set_default_bytes(obj, CKA_APPLICATION)) ||
            (rv = set_default_bytes(obj, CKA_OBJECT_ID)) ||
            (rv = set_default_bytes(obj, CKA_VALUE)))
            return rv;
        return CKR_OK;
    }
    CK_KEY_TYPE kt = qkt_obj_ulong(obj, CKA_KEY_TYPE, CK_UNAVAILABLE_INFORMATION);
    if (kt == CK_UNAVAILABLE_INFORMATION)
        return CKR_TEMPLATE_INCOMPLETE;
    if (cls == CKO_SECRET_KEY)
        rv = secret_defaults(obj, kt);
    else if (qkt_obj_attr(obj, CKA_PUBLIC_KEY_INFO) == NULL) /* set by pkey.c from the key */
        return CKR_TEMPLATE_INCOMPLETE;
    else if (cls == CKO_PUBLIC_KEY)
        rv = public_defaults(obj, kt);
    else
        rv = private_defaults(obj, kt);
    if (rv != CKR_OK || (rv = set_default_bytes(obj, CKA_ID)) ||
        (rv = set_default_bytes(obj, CKA_START_DATE)) ||
        (rv = set_default_bytes(obj, CKA_END_DATE)) ||
        (rv = set_default_bool(obj, CKA_DERIVE, CK_FALSE)) ||
        (rv = set_default_bytes(obj, CKA_ALLOWED_MECHANISMS)))
        return rv;
    if (op == QKT_OP_COPY)
        return CKR_OK; /* LOCAL, ALWAYS_SENSITIVE, NEVER_EXTRACTABLE come with the copy */
    if ((rv = qkt_obj_set_bool(obj, CKA_LOCAL, local)) != CKR_OK)
        return rv;
    /* Base 3.0, 4.10: ALWAYS_SENSITIVE / NEVER_EXTRACTABLE only for keys born in the token. */
    int born_here = op == QKT_OP_GENERATE || op == QKT_OP_DERIVE;
    if (cls != CKO_PUBLIC_KEY &&
        ((rv = qkt_obj_set_bool(obj, CKA_ALWAYS_SENSITIVE,
                                born_here && qkt_obj_bool(obj, CKA_SENSITIVE))) ||
         (rv = qkt_obj_set_bool(obj, CKA_NEVER_EXTRACTABLE,
                                born_here && !qkt_obj_bool(obj, CKA_EXTRACTABLE)))))
        return rv;
    if (qkt_obj_attr(obj, CKA_KEY_GEN_MECHANISM) == NULL)
        rv = qkt_obj_set_ulong(obj, CKA_KEY_GEN_MECHANISM, CK_UNAVAILABLE_INFORMATION);
    return rv;
}

int qkt_attr_is_sensitive(const QKT_OBJ *obj, CK_ATTRIBUTE_TYPE type)
{
    CK_OBJECT_CLASS cls = qkt_obj_class(obj);
    if (!(cls == CKO_SECRET_KEY && type == CKA_VALUE) && !qkt_attr_is_part(cls, type))
        return 0;
    return qkt_obj_bool(obj, CKA_SENSITIVE) || !qkt_obj_bool(obj, CKA_EXTRACTABLE) ||
           obj->sealed != NULL;
}

CK_RV qkt_attr_get(const QKT_OBJ *obj, CK_ATTRIBUTE *tpl, CK_ULONG n)
{
    CK_RV rv = CKR_OK;

    for (CK_ULONG i = 0; i < n; i++) {
        const QKT_ATTR *a = qkt_obj_attr(obj, tpl[i].type);
        if (qkt_attr_is_sensitive(obj, tpl[i].type)) {
            tpl[i].ulValueLen = CK_UNAVAILABLE_INFORMATION;
            rv = CKR_ATTRIBUTE_SENSITIVE;
        } else if (qkt_attr_is_part(qkt_obj_class(obj), tpl[i].type)) {
            CK_RV r = qkt_pkey_part(obj, &tpl[i]); /* from the key itself (pkey.c) */
            if (r != CKR_OK &&
                (rv == CKR_OK || (rv == CKR_BUFFER_TOO_SMALL && r != CKR_BUFFER_TOO_SMALL)))
                rv = r;
        } else if (a == NULL) {
            tpl[i].ulValueLen = CK_UNAVAILABLE_INFORMATION;
            if (rv == CKR_OK || rv == CKR_BUFFER_TOO_SMALL)
                rv = CKR_ATTRIBUTE_TYPE_INVALID;
        } else if (tpl[i].pValue == NULL) {
            tpl[i].ulValueLen = a->len;
        } else if (tpl[i].ulValueLen >= a->len) {
            if (a->len)
                memcpy(tpl[i].pValue, a->val, a->len);
            tpl[i].ulValueLen = a->len;
        } else {
            tpl[i].ulValueLen = CK_UNAVAILABLE_INFORMATION;
            if (rv == CKR_OK)
                rv = CKR_BUFFER_TOO_SMALL;
        }
    }
    return rv;
}

int qkt_attr_match(const QKT_OBJ *obj, const CK_ATTRIBUTE *tpl, CK_ULONG n)
{
    for (CK_ULONG i = 0; i < n; i++) {
        const QKT_ATTR *a = qkt_obj_attr(obj, tpl[i].type);
        if (a == NULL || qkt_attr_is_sensitive(obj, tpl[i].type) ||
            qkt_attr_is_part(qkt_obj_class(obj), tpl[i].type) || a->len != tpl[i].ulValueLen)
            return 0;
        if (a->len && (tpl[i].pValue == NULL || memcmp(a->val, tpl[i].pValue, a->len) != 0))
            return 0;
    }
    return 1;
}

/* Store encoding: per attribute, type (8 bytes BE), length (4 bytes BE), value. */
CK_RV qkt_attr_encode(const QKT_OBJ *obj, unsigned char **out, size_t *outlen)
{
    int seal = qkt_obj_needs_seal(obj);
    size_t len = 0, off = 0;
    unsigned char *buf;

    for (size_t i = 0; i < obj->nattrs; i++)
        if (!(seal && obj->attrs[i].type == CKA_VALUE))
            len += 12 + obj->attrs[i].len;
    if ((buf = malloc(len ? len : 1)) == NULL)
        return CKR_HOST_MEMORY;
    for (size_t i = 0; i < obj->nattrs; i++) {
        const QKT_ATTR *a = &obj->attrs[i];
        if (seal && a->type == CKA_VALUE)
            continue;
        for (int b = 7; b >= 0; b--)
            buf[off++] = (unsigned char)((unsigned long long)a->type >> (8 * b));
        for (int b = 3; b >= 0; b--)
            buf[off++] = (unsigned char)(a->len >> (8 * b));
        if (a->len)
            memcpy(buf + off, a->val, a->len);
        off += a->len;
    }
    *out = buf;
    *outlen = len;
    return CKR_OK;
}

CK_RV qkt_attr_decode(QKT_OBJ *obj, const unsigned char *in, size_t inlen)
{
    size_t off = 0;
    CK_RV rv;

    while (off < inlen) {
        unsigned long long type = 0;
        size_t len = 0;
        if (inlen - off < 12)
            return CKR_DEVICE_ERROR; /* a store we did not write */
        for (int b = 0; b < 8; b++)
            type = type << 8 | in[off++];
        for (int b = 0; b < 4; b++)
            len = len << 8 | in[off++];
        if (len > inlen - off || qkt_obj_attr(obj, (CK_ATTRIBUTE_TYPE)type) != NULL)
            return CKR_DEVICE_ERROR;
        if ((rv = qkt_obj_set(obj, (CK_ATTRIBUTE_TYPE)type, in + off, len)) != CKR_OK)
            return rv;
        off += len;
    }
    if (qkt_obj_attr(obj, CKA_CLASS) == NULL || qkt_obj_attr(obj, CKA_UNIQUE_ID) == NULL)
        return CKR_DEVICE_ERROR;
    return CKR_OK;
}
