/*
 * Fuzz target: templates from a PKCS#11 caller, through the token's function list, and the
 * store's attribute decoding. Input layout:
 *   byte 0     operation (create, generate, copy, set, get, find, unwrap, derive, decode,
 *              generate a key pair (public template = the first half of the attributes),
 *              ECDH with the attribute values as the peer's public data)
 *   byte 1     mechanism choice
 *   then up to 24 attributes: type selector (1 byte: index into a table of interesting
 *   types, or 0xFF followed by 4 raw bytes), flags (1 byte: bit0 NULL pValue), length (1 byte),
 *   value bytes (truncated at the end of the input).
 * Every call must return a CKR_ code without crashing, leaking or reading out of bounds; no
 * secret value may come back from C_GetAttributeValue for a sensitive key.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static CK_FUNCTION_LIST *f;
static CK_SESSION_HANDLE sess;
static CK_OBJECT_HANDLE wrap_key, base_key, sens_key, ec_key, x_key;

static const CK_ATTRIBUTE_TYPE types[] = {
    CKA_CLASS,
    CKA_TOKEN,
    CKA_PRIVATE,
    CKA_LABEL,
    CKA_VALUE,
    CKA_KEY_TYPE,
    CKA_ID,
    CKA_SENSITIVE,
    CKA_ENCRYPT,
    CKA_DECRYPT,
    CKA_WRAP,
    CKA_UNWRAP,
    CKA_SIGN,
    CKA_VERIFY,
    CKA_DERIVE,
    CKA_VALUE_LEN,
    CKA_EXTRACTABLE,
    CKA_LOCAL,
    CKA_NEVER_EXTRACTABLE,
    CKA_ALWAYS_SENSITIVE,
    CKA_MODIFIABLE,
    CKA_COPYABLE,
    CKA_DESTROYABLE,
    CKA_UNIQUE_ID,
    CKA_ALLOWED_MECHANISMS,
    CKA_START_DATE,
    CKA_TRUSTED,
    CKA_WRAP_WITH_TRUSTED,
    CKA_APPLICATION,
    CKA_OBJECT_ID,
    CKA_QKEY_PEER,
    CKA_QKEY_KEY_ID,
    CKA_KEY_GEN_MECHANISM,
    CKA_CERTIFICATE_TYPE,
    /* key pairs (index 33 on) */
    CKA_MODULUS,
    CKA_PUBLIC_EXPONENT,
    CKA_PRIVATE_EXPONENT,
    CKA_PRIME_1,
    CKA_PRIME_2,
    CKA_EXPONENT_1,
    CKA_EXPONENT_2,
    CKA_COEFFICIENT,
    CKA_EC_PARAMS,
    CKA_EC_POINT,
    CKA_MODULUS_BITS,
    CKA_SUBJECT,
    CKA_PUBLIC_KEY_INFO,
    CKA_ALWAYS_AUTHENTICATE,
};
#define N_TYPES (sizeof(types) / sizeof(types[0]))

static int setup(void)
{
    char path[512];
    const char *dir = getenv("QKEY_FUZZ_TMP");
    FILE *fp;
    CK_BYTE label[32];
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_KEY_TYPE aes = CKK_AES, gen = CKK_GENERIC_SECRET;
    CK_BBOOL yes = CK_TRUE;
    static const CK_BYTE k32[32] = {1, 2, 3};

    snprintf(path, sizeof(path), "%s/fuzz-pkcs11.conf", dir ? dir : "/tmp");
    if ((fp = fopen(path, "w")) == NULL)
        return -1;
    fputs("[rng]\nsource = sim\n", fp); /* no token.store: an in-memory token */
    fclose(fp);
    setenv("QKEY_CONF", path, 1);
    memset(label, ' ', sizeof(label));
    if (C_GetFunctionList(&f) != CKR_OK || f->C_Initialize(NULL) != CKR_OK ||
        f->C_InitToken(QKT_SLOT_ID, (CK_UTF8CHAR *)"12345678", 8, label) != CKR_OK ||
        f->C_OpenSession(QKT_SLOT_ID, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &sess) ||
        f->C_Login(sess, CKU_SO, (CK_UTF8CHAR *)"12345678", 8) ||
        f->C_InitPIN(sess, (CK_UTF8CHAR *)"123456", 6) || f->C_Logout(sess) ||
        f->C_Login(sess, CKU_USER, (CK_UTF8CHAR *)"123456", 6))
        return -1;
    CK_ATTRIBUTE a[] = {{CKA_CLASS, &cls, sizeof(cls)},
                        {CKA_KEY_TYPE, &aes, sizeof(aes)},
                        {CKA_VALUE, (void *)k32, 32},
                        {CKA_SENSITIVE, &yes, 1}};
    CK_ATTRIBUTE g[] = {{CKA_CLASS, &cls, sizeof(cls)},
                        {CKA_KEY_TYPE, &gen, sizeof(gen)},
                        {CKA_VALUE, (void *)k32, 32},
                        {CKA_DERIVE, &yes, 1}};
    if (f->C_CreateObject(sess, a, 3, &wrap_key) || f->C_CreateObject(sess, g, 4, &base_key) ||
        f->C_CreateObject(sess, a, 4, &sens_key))
        return -1;
    /* key pairs to derive with: P-256 and X25519 */
    static const CK_BYTE p256[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
    static const CK_BYTE x25519[] = {0x06, 0x03, 0x2b, 0x65, 0x6e};
    CK_OBJECT_HANDLE pub;
    CK_MECHANISM ec = {CKM_EC_KEY_PAIR_GEN, NULL, 0}, mx = {CKM_EC_MONTGOMERY_KEY_PAIR_GEN, NULL, 0};
    CK_ATTRIBUTE ep[] = {{CKA_EC_PARAMS, (void *)p256, sizeof(p256)}};
    CK_ATTRIBUTE xp[] = {{CKA_EC_PARAMS, (void *)x25519, sizeof(x25519)}};
    CK_ATTRIBUTE dv[] = {{CKA_DERIVE, &yes, 1}};
    if (f->C_GenerateKeyPair(sess, &ec, ep, 1, dv, 1, &pub, &ec_key) ||
        f->C_GenerateKeyPair(sess, &mx, xp, 1, dv, 1, &pub, &x_key))
        return -1;
    return 0;
}

static const uint8_t *parse(const uint8_t *p, const uint8_t *end, CK_ATTRIBUTE *tpl, CK_ULONG *n)
{
    *n = 0;
    while (p + 3 <= end && *n < 24) {
        CK_ATTRIBUTE_TYPE t;
        if (p[0] == 0xFF && p + 7 <= end) {
            t = (CK_ATTRIBUTE_TYPE)p[1] << 24 | (CK_ATTRIBUTE_TYPE)p[2] << 16 |
                (CK_ATTRIBUTE_TYPE)p[3] << 8 | p[4];
            p += 4;
        } else {
            t = types[p[0] % N_TYPES];
        }
        uint8_t flags = p[1];
        size_t len = p[2];
        p += 3;
        if (len > (size_t)(end - p))
            len = (size_t)(end - p);
        /* each value gets its own exact-size heap copy so ASan sees any overread */
        void *v = NULL;
        if (!(flags & 1)) {
            v = malloc(len ? len : 1);
            memcpy(v, p, len);
        }
        tpl[*n].type = t;
        tpl[*n].pValue = v;
        tpl[*n].ulValueLen = (flags & 2) ? CK_UNAVAILABLE_INFORMATION : len;
        if (flags & 2 && v != NULL)
            tpl[*n].ulValueLen = len;
        (*n)++;
        p += len;
    }
    return p;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    CK_ATTRIBUTE tpl[24];
    CK_ULONG n;
    CK_OBJECT_HANDLE h = CK_INVALID_HANDLE, h2 = CK_INVALID_HANDLE;
    static const CK_MECHANISM_TYPE gen_mechs[] = {CKM_AES_KEY_GEN, CKM_GENERIC_SECRET_KEY_GEN,
                                                  CKM_QKEY_QKD_KEY_NEW, CKM_SHA256};

    if (!ready) {
        if (setup() != 0)
            abort();
        ready = 1;
    }
    if (size < 2)
        return 0;
    uint8_t op = data[0] % 11, mech = data[1];
    parse(data + 2, data + size, tpl, &n);

    switch (op) {
    case 0:
        (void)f->C_CreateObject(sess, tpl, n, &h);
        break;
    case 1: {
        CK_MECHANISM m = {gen_mechs[mech % 4], NULL, 0};
        (void)f->C_GenerateKey(sess, &m, tpl, n, &h);
        break;
    }
    case 2:
        (void)f->C_CopyObject(sess, mech & 1 ? wrap_key : base_key, tpl, n, &h);
        break;
    case 3: {
        CK_ATTRIBUTE lbl = {CKA_LABEL, "x", 1};
        if (f->C_CopyObject(sess, base_key, &lbl, 1, &h) == CKR_OK)
            (void)f->C_SetAttributeValue(sess, h, tpl, n);
        break;
    }
    case 4: {
        /* lengths as given: the token must respect them exactly */
        (void)f->C_GetAttributeValue(sess, mech & 1 ? sens_key : base_key, tpl, n);
        for (CK_ULONG i = 0; i < n; i++)
            if (tpl[i].type == CKA_VALUE && (mech & 1) &&
                tpl[i].ulValueLen != CK_UNAVAILABLE_INFORMATION)
                abort(); /* a sensitive value came back */
        break;
    }
    case 5: {
        CK_OBJECT_HANDLE found[8];
        CK_ULONG cnt;
        if (f->C_FindObjectsInit(sess, tpl, n) == CKR_OK) {
            (void)f->C_FindObjects(sess, found, 8, &cnt);
            (void)f->C_FindObjectsFinal(sess);
        }
        break;
    }
    case 6: {
        CK_MECHANISM m = {CKM_AES_KEY_WRAP_KWP, NULL, 0};
        CK_BYTE wrapped[40];
        CK_ULONG wl = sizeof(wrapped);
        CK_ATTRIBUTE ex = {CKA_LABEL, "w", 1};
        if (f->C_CopyObject(sess, base_key, &ex, 1, &h2) == CKR_OK &&
            f->C_WrapKey(sess, &m, wrap_key, h2, wrapped, &wl) == CKR_OK)
            (void)f->C_UnwrapKey(sess, &m, wrap_key, wrapped, wl, tpl, n, &h);
        break;
    }
    case 7: {
        QKT_CK_HKDF_PARAMS p = {CK_TRUE, CK_TRUE, CKM_SHA256, CKF_HKDF_SALT_NULL, NULL, 0,
                                0,       NULL,    0};
        CK_MECHANISM m = {CKM_HKDF_DERIVE, &p, sizeof(p)};
        (void)f->C_DeriveKey(sess, &m, base_key, tpl, n, &h);
        break;
    }
    case 9: {
        /* RSA only when asked for (its key generation is slow), else the curves */
        static const CK_MECHANISM_TYPE pair_mechs[] = {
            CKM_EC_KEY_PAIR_GEN, CKM_EC_EDWARDS_KEY_PAIR_GEN, CKM_EC_MONTGOMERY_KEY_PAIR_GEN};
        CK_MECHANISM m = {mech == 0xFF ? CKM_RSA_PKCS_KEY_PAIR_GEN : pair_mechs[mech % 3], NULL, 0};
        if (f->C_GenerateKeyPair(sess, &m, tpl, n / 2, tpl + n / 2, n - n / 2, &h, &h2) != CKR_OK)
            h = h2 = CK_INVALID_HANDLE;
        break;
    }
    case 10: {
        CK_ECDH1_DERIVE_PARAMS p = {CKD_NULL, 0, NULL, n ? tpl[0].ulValueLen : 0,
                                    n ? tpl[0].pValue : NULL};
        CK_MECHANISM m = {CKM_ECDH1_DERIVE, &p, sizeof(p)};
        (void)f->C_DeriveKey(sess, &m, mech & 1 ? x_key : ec_key, tpl + (n > 0), n - (n > 0), &h);
        break;
    }
    default: {
        /* the store's encoding of attributes, read back from a database file */
        QKT_OBJ *obj = qkt_obj_new();
        qkt_lock();
        (void)qkt_attr_decode(obj, data + 2, size - 2);
        qkt_unlock();
        qkt_obj_free(obj);
        break;
    }
    }
    if (h != CK_INVALID_HANDLE)
        (void)f->C_DestroyObject(sess, h);
    if (h2 != CK_INVALID_HANDLE)
        (void)f->C_DestroyObject(sess, h2);
    for (CK_ULONG i = 0; i < n; i++)
        free(tpl[i].pValue);
    return 0;
}
