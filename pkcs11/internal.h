/*
 * libqkey-pkcs11 internals: the one private header of the token. Entry points (entry_*.c)
 * check initialisation, arguments and the session, then hand over to the slot (slot.c,
 * pin.c), session (session.c), object (object.c, attr.c, find.c, store.c, seal.c) and
 * mechanism (mech.c, digest.c, mac.c, cipher.c, asym.c, wrap.c, hkdf.c, kbkdf.c, ecdh.c,
 * keygen.c, keypair.c, random.c) modules; key pairs live in objects as pkey.c says.
 *
 * File order, lowest first: a file calls only files listed before it (no call runs upward), so
 * the token can grow (asymmetric keys, another store) without one file's change reaching back
 * into the files it serves. The test pkcs11_file_order reads the lines below, requires every
 * object of the token in them, and checks the order with test/layers/check_layers.sh.
 *   QKT-FILE-ORDER: lock state seedsrc object pkey_der pkey attr digest cipher mac seal random
 *   QKT-FILE-ORDER: session store_sqlite store_pg store
 *   QKT-FILE-ORDER: objstore find asym mech keygen ecdh keypair kbkdf hkdf wrap pinkey slot pin
 *   QKT-FILE-ORDER: session_close
 *   QKT-FILE-ORDER: entry_crypto entry_object entry_token library interface
 * state.c holds the library the modules work on and publishes it to entry points only once
 * library.c has built it (qkt_publish). The modules reach it through the one pointer `qkt_lib`
 * rather than a parameter: it is written only by library.c under its init mutex, read only
 * under the library lock, and an entry point cannot get past qkt_enter before publication.
 *
 * Object lifetime: the token-object cache is refreshed at most once per entry point, before
 * any lookup (qkt_objects_sync), so no object a call looked up is freed under it; an
 * operation never points at its key object: it copies what it needs (the key bytes into
 * locked memory, or an EVP context keyed at init), so it outlives any later refresh.
 *
 * Concurrency: one library lock (lock.c) is held for the whole of every entry point that
 * touches library state, so the modules below never lock themselves.
 * Fork: the library records its pid; a call from a forked child finds the library
 * uninitialised (CKR_CRYPTOKI_NOT_INITIALIZED) until the child calls C_Initialize, which builds
 * fresh state and never touches the parent's sessions, keys or database handle.
 */
#ifndef QKEY_PKCS11_INTERNAL_H
#define QKEY_PKCS11_INTERNAL_H

#include <stddef.h>
#include <sys/types.h>
#include <openssl/evp.h>
#include <openssl/provider.h>

#include "pkcs11_3_0.h"
#include "qkey/qks.h"
#include "qkey/pkcs11.h"

#define QKT_EXPORT __attribute__((visibility("default")))

#define QKT_SLOT_ID         1UL
#define QKT_MANUFACTURER    "qkey project"
#define QKT_MODEL           "qkey QKD token"
#define QKT_SESSION_HBIT    0x40000000UL /* session handles: HBIT | n */
#define QKT_SOBJ_HBIT       0x80000000UL /* session object handles: HBIT | n; token: rowid */
#define QKT_PIN_MIN_DEFAULT 4
#define QKT_PIN_MAX_DEFAULT 64
#define QKT_MAX_TRIES_DFLT  10
#define QKT_KEY_LEN         32 /* token key: AES-256 */
#define QKT_LABEL_LEN       32

/* ---- locking (lock.c) ------------------------------------------------------------------ */
/* Parse CK_C_INITIALIZE_ARGS locking: OS locking, the application's callbacks, or none. */
CK_RV qkt_lock_setup(const CK_C_INITIALIZE_ARGS *args);
void qkt_lock_teardown(void);
void qkt_lock(void);
void qkt_unlock(void);

/* ---- objects (object.c, attr.c) -------------------------------------------------------- */
typedef struct qkt_attr_st {
    CK_ATTRIBUTE_TYPE type;
    CK_ULONG len;
    unsigned char *val; /* secret values: qks_secure_alloc(alloc) */
    size_t alloc;
    int secret;
} QKT_ATTR;

typedef struct qkt_obj_st {
    CK_OBJECT_HANDLE handle;
    CK_SESSION_HANDLE owner; /* session objects: the session that made it; token objects: 0 */
    QKT_ATTR *attrs;
    size_t nattrs, cap;
    unsigned char *sealed; /* token object whose value is still sealed (no token key yet) */
    size_t sealed_len;
    EVP_PKEY *pkey; /* key pairs: the key parsed once (pkey.c), dropped with the object or when
                     * CKA_VALUE / CKA_PUBLIC_KEY_INFO change; operations take a reference */
    struct qkt_obj_st *next;
} QKT_OBJ;

QKT_OBJ *qkt_obj_new(void);
void qkt_obj_free(QKT_OBJ *obj);
QKT_ATTR *qkt_obj_attr(const QKT_OBJ *obj, CK_ATTRIBUTE_TYPE type);
CK_RV qkt_obj_set(QKT_OBJ *obj, CK_ATTRIBUTE_TYPE type, const void *val, CK_ULONG len);
CK_RV qkt_obj_set_bool(QKT_OBJ *obj, CK_ATTRIBUTE_TYPE type, CK_BBOOL v);
CK_RV qkt_obj_set_ulong(QKT_OBJ *obj, CK_ATTRIBUTE_TYPE type, CK_ULONG v);
int qkt_obj_bool(const QKT_OBJ *obj, CK_ATTRIBUTE_TYPE type);
CK_ULONG qkt_obj_ulong(const QKT_OBJ *obj, CK_ATTRIBUTE_TYPE type, CK_ULONG dflt);
CK_OBJECT_CLASS qkt_obj_class(const QKT_OBJ *obj);
int qkt_obj_is_token(const QKT_OBJ *obj);
int qkt_obj_is_private(const QKT_OBJ *obj);
QKT_OBJ *qkt_obj_dup(const QKT_OBJ *obj);

/* attr.c: what each attribute is and who may set it */
enum { QKT_OP_CREATE, QKT_OP_GENERATE, QKT_OP_COPY, QKT_OP_SET, QKT_OP_UNWRAP, QKT_OP_DERIVE };
/* Validate a template for `op` on an object of class/key type and apply it to obj. */
CK_RV qkt_attr_apply(QKT_OBJ *obj, const CK_ATTRIBUTE *tpl, CK_ULONG n, int op);
/* Fill defaults and check consistency of a new object (class-specific required attributes). */
CK_RV qkt_attr_finish(QKT_OBJ *obj, int op);
/* Template lookups before an object exists. */
const CK_ATTRIBUTE *qkt_tpl_find(const CK_ATTRIBUTE *tpl, CK_ULONG n, CK_ATTRIBUTE_TYPE type);
CK_RV qkt_tpl_ulong(const CK_ATTRIBUTE *tpl, CK_ULONG n, CK_ATTRIBUTE_TYPE type, CK_ULONG *out);
CK_RV qkt_tpl_bool(const CK_ATTRIBUTE *tpl, CK_ULONG n, CK_ATTRIBUTE_TYPE type, CK_BBOOL *out);
/* C_GetAttributeValue on one object (the spec's five cases, per attribute). */
CK_RV qkt_attr_get(const QKT_OBJ *obj, CK_ATTRIBUTE *tpl, CK_ULONG n);
/* 1 if every attribute of the template matches obj (sensitive values never match). */
int qkt_attr_match(const QKT_OBJ *obj, const CK_ATTRIBUTE *tpl, CK_ULONG n);
int qkt_attr_is_sensitive(const QKT_OBJ *obj, CK_ATTRIBUTE_TYPE type);
/* Serialise the public attributes (not the secret value) for the store, and back. */
CK_RV qkt_attr_encode(const QKT_OBJ *obj, unsigned char **out, size_t *outlen);
CK_RV qkt_attr_decode(QKT_OBJ *obj, const unsigned char *in, size_t inlen);

/* ---- sessions (session.c) -------------------------------------------------------------- */
typedef struct qkt_op_st QKT_OP; /* a cryptographic operation in progress (mech.c) */

typedef struct qkt_find_st {
    CK_OBJECT_HANDLE *handles;
    size_t n, pos;
} QKT_FIND;

typedef struct qkt_session_st {
    CK_SESSION_HANDLE handle;
    CK_FLAGS flags;
    QKT_OP *enc, *dec, *digest, *sign, *verify;
    QKT_FIND *find;
} QKT_SESSION;

CK_RV qkt_session_open(CK_FLAGS flags, CK_SESSION_HANDLE *out);
CK_RV qkt_session_get(CK_SESSION_HANDLE h, QKT_SESSION **out);
size_t qkt_session_index(CK_SESSION_HANDLE h); /* (size_t)-1 when not open */
CK_RV qkt_session_close(CK_SESSION_HANDLE h);
void qkt_session_close_all(void);
size_t qkt_session_count(int rw_only);
CK_STATE qkt_session_state(const QKT_SESSION *s);
int qkt_session_rw(const QKT_SESSION *s);

/* ---- token / slot (slot.c, pin.c) ------------------------------------------------------ */
/* Sizes of the algorithm caches; each is checked against its name table with _Static_assert. */
#define QKT_NCIPHERS 20 /* cipher.c cipher_names[] */
#define QKT_NMDS     3  /* digest.c md_table[] */

typedef struct qkt_lib_st {
    pid_t pid;
    /* One MADV_WIPEONFORK page holding 1: reads 0 in a forked child, so the fork check on
     * every call costs no system call (NULL when the kernel lacks it: getpid() then). */
    volatile unsigned char *fork_guard;
    QKS_CTX *qks; /* NULL when absent */
    int absent;   /* no token in the slot: the config names neither rng.source nor
                   * qkd.driver (a package installed, not configured yet) */
    OSSL_LIB_CTX *libctx;
    OSSL_PROVIDER *deflt;    /* the default provider, loaded into libctx explicitly */
    OSSL_PROVIDER *seedprov; /* seedsrc.c: libctx's DRBGs seeded from the QRNG (NULL: no RNG) */
    /* store */
    struct qkt_db_st *db; /* the store backend (storedb.h) */
    long long data_version;
    int synced; /* the token-object cache was refreshed in this entry point: not again (a
                 * refresh frees every cached token object, which an earlier lookup may hold) */
    char *store_path;
    /* token */
    char label[QKT_LABEL_LEN + 1];
    char serial[17];
    int initialised;  /* token initialised (C_InitToken done) */
    int user_pin_set; /* C_InitPIN done */
    long pin_min, pin_max, max_tries;
    CK_USER_TYPE login; /* CKU_SO, CKU_USER or (CK_USER_TYPE)-1 */
    unsigned char *tk;  /* token key while logged in (qks_secure_alloc(QKT_KEY_LEN)) */
    /* sessions and objects */
    QKT_SESSION **sessions;
    size_t nsessions, cap_sessions;
    CK_ULONG next_session;
    QKT_OBJ *objects; /* session objects and cached token objects */
    CK_ULONG next_object;
    /* randomness */
    EVP_RAND_CTX *drbg;
    unsigned long drbg_calls;
    /* algorithms fetched once from libctx (mech.c) */
    EVP_CIPHER *ciphers[QKT_NCIPHERS]; /* cipher.c: cipher_names[] */
    EVP_MD *mds[QKT_NMDS];             /* digest.c: md_table[] */
    EVP_MAC *hmac, *cmac;
} QKT_LIB;

extern QKT_LIB *qkt_lib; /* state.c: the library the modules work on (see qkt_publish) */

/* state.c: make `lib` (or NULL) the library entry points see; 1 if lib was made by this
 * process (not inherited across fork). */
void qkt_publish(QKT_LIB *lib);
int qkt_lib_ours(const QKT_LIB *lib);

/* state.c: 1 if the slot holds no token (nothing configured: C_GetTokenInfo, C_InitToken,
 * C_OpenSession and the mechanism queries answer CKR_TOKEN_NOT_PRESENT). */
int qkt_token_absent(void);

/* state.c: 1 if initialised in this process */
int qkt_initialised(void);
/* Take the lock if initialised in this process (else CKR_CRYPTOKI_NOT_INITIALIZED). */
CK_RV qkt_enter(void);
void qkt_leave(void);

CK_RV qkt_slot_check(CK_SLOT_ID slot);
CK_RV qkt_slot_info(CK_SLOT_INFO *info);
CK_RV qkt_token_info(CK_TOKEN_INFO *info);
CK_RV qkt_token_load(void); /* read label, serial, flags from the store */
CK_RV qkt_token_init(const CK_UTF8CHAR *pin, CK_ULONG pinlen, const CK_UTF8CHAR *label);
CK_RV qkt_pin_init(QKT_SESSION *s, const CK_UTF8CHAR *pin, CK_ULONG len);
CK_RV qkt_pin_set(QKT_SESSION *s, const CK_UTF8CHAR *oldp, CK_ULONG oldlen, const CK_UTF8CHAR *newp,
                  CK_ULONG newlen);
CK_RV qkt_login(QKT_SESSION *s, CK_USER_TYPE who, const CK_UTF8CHAR *pin, CK_ULONG len);
CK_RV qkt_logout(void);
void qkt_padcpy(CK_UTF8CHAR *dst, const char *src, size_t n);
CK_RV qkt_pin_wrap(const char *who, const CK_UTF8CHAR *pin, CK_ULONG len);
CK_RV qkt_pin_unwrap(const char *who, const CK_UTF8CHAR *pin, CK_ULONG len, unsigned char **tk);
CK_RV qkt_pin_verify(const char *who, const CK_UTF8CHAR *pin, CK_ULONG len, unsigned char **tk);
CK_RV qkt_pin_len_check(CK_ULONG len);

/* ---- store (store.c) and sealing (seal.c) ---------------------------------------------- */
CK_RV qkt_store_open(const char *path);
void qkt_store_close(void);
CK_RV qkt_store_begin(void);
CK_RV qkt_store_commit(void);
void qkt_store_rollback(void);
CK_RV qkt_meta_get(const char *name, unsigned char **val,
                   size_t *len); /* CKR_OK, *val NULL if absent */
CK_RV qkt_meta_put(const char *name, const void *val, size_t len);
CK_RV qkt_meta_get_long(const char *name, long dflt, long *out);
CK_RV qkt_meta_put_long(const char *name, long v);
CK_RV qkt_store_insert(QKT_OBJ *obj); /* assigns obj->handle (rowid) */
CK_RV qkt_store_update(const QKT_OBJ *obj);
CK_RV qkt_store_delete(CK_OBJECT_HANDLE h);
CK_RV qkt_store_delete_all(void);
/* Reload the cached token objects if another connection changed the store. */
/* store.c: the backend's change counter (-2 when unreadable); every stored token object, decoded,
 * as a new list linked by `next` (the cache that holds them is objstore.c's). */
long long qkt_store_version(void);
CK_RV qkt_store_load_all(QKT_OBJ **out);

CK_RV qkt_kek_derive(const CK_UTF8CHAR *pin, CK_ULONG len, const unsigned char *salt,
                     size_t saltlen, long iter, unsigned char kek[QKT_KEY_LEN]);
CK_RV qkt_aead_seal(const unsigned char *key, const void *aad, size_t aadlen,
                    const unsigned char *in, size_t inlen, unsigned char **out, size_t *outlen);
CK_RV qkt_aead_open(const unsigned char *key, const void *aad, size_t aadlen,
                    const unsigned char *in, size_t inlen, unsigned char **out, size_t *outlen);
/* Seal/unseal an object's CKA_VALUE under the token key (AAD: CKA_UNIQUE_ID). */
CK_RV qkt_obj_seal(const QKT_OBJ *obj, unsigned char **out, size_t *outlen);
CK_RV qkt_obj_unseal(QKT_OBJ *obj);
int qkt_obj_needs_seal(const QKT_OBJ *obj);

/* ---- object management (objstore.c, find.c) ------------------------------------------- */
/* Look up an object visible to session s. */
CK_RV qkt_object_get(QKT_SESSION *s, CK_OBJECT_HANDLE h, QKT_OBJ **out);
/* Look up a key usable by s: visible, value open (unsealed). */
CK_RV qkt_key_get(QKT_SESSION *s, CK_OBJECT_HANDLE h, QKT_OBJ **out);
/* Check the session may create obj (RO/RW, login) and add it (token: to the store). */
CK_RV qkt_object_add(QKT_SESSION *s, QKT_OBJ *obj, CK_OBJECT_HANDLE *out);
CK_RV qkt_object_create(QKT_SESSION *s, const CK_ATTRIBUTE *tpl, CK_ULONG n, CK_OBJECT_HANDLE *out);
CK_RV qkt_object_copy(QKT_SESSION *s, CK_OBJECT_HANDLE h, const CK_ATTRIBUTE *tpl, CK_ULONG n,
                      CK_OBJECT_HANDLE *out);
CK_RV qkt_object_destroy(QKT_SESSION *s, CK_OBJECT_HANDLE h);
CK_RV qkt_object_set_attrs(QKT_SESSION *s, CK_OBJECT_HANDLE h, const CK_ATTRIBUTE *tpl, CK_ULONG n);
CK_RV qkt_object_size(QKT_SESSION *s, CK_OBJECT_HANDLE h, CK_ULONG *size);
void qkt_objects_drop_session(CK_SESSION_HANDLE owner);
void qkt_objects_drop_token(void);
void qkt_objects_free_all(void);
/* Refresh the token-object cache from the store, at most once per entry point (the object
 * lifetime rule: a later lookup in the same call never frees what an earlier one returned). */
CK_RV qkt_objects_sync(void);
int qkt_object_visible(const QKT_OBJ *obj);
CK_RV qkt_find_init(QKT_SESSION *s, const CK_ATTRIBUTE *tpl, CK_ULONG n);
CK_RV qkt_find_next(QKT_SESSION *s, CK_OBJECT_HANDLE *out, CK_ULONG max, CK_ULONG *count);
CK_RV qkt_find_final(QKT_SESSION *s);
void qkt_find_free(QKT_FIND *f);

/* ---- mechanisms (mech.c and one file per family) --------------------------------------- */
typedef struct qkt_mech_info_st {
    CK_MECHANISM_TYPE type;
    CK_ULONG min, max; /* key sizes in bytes (or 0) */
    CK_FLAGS flags;
} QKT_MECH_INFO;

const QKT_MECH_INFO *qkt_mech_find(CK_MECHANISM_TYPE type);
CK_RV qkt_mech_list(CK_MECHANISM_TYPE *list, CK_ULONG *count);
CK_RV qkt_mech_info(CK_MECHANISM_TYPE type, CK_MECHANISM_INFO *info);

enum { QKT_ENCRYPT, QKT_DECRYPT, QKT_DIGEST, QKT_SIGN, QKT_VERIFY };

/* Operation lifecycle, shared by all families (mech.c). */
CK_RV qkt_op_init(QKT_SESSION *s, int kind, const CK_MECHANISM *mech, CK_OBJECT_HANDLE key);
/* Single part: in -> out (out NULL: length query). */
void qkt_op_end(QKT_SESSION *s, int kind); /* end the session's operation of that kind */
CK_RV qkt_op_oneshot(QKT_SESSION *s, int kind, const CK_BYTE *in, CK_ULONG inlen, CK_BYTE *out,
                     CK_ULONG *outlen);
CK_RV qkt_op_update(QKT_SESSION *s, int kind, const CK_BYTE *in, CK_ULONG inlen, CK_BYTE *out,
                    CK_ULONG *outlen);
CK_RV qkt_op_final(QKT_SESSION *s, int kind, CK_BYTE *out, CK_ULONG *outlen);
CK_RV qkt_op_verify(QKT_SESSION *s, const CK_BYTE *in, CK_ULONG inlen, const CK_BYTE *sig,
                    CK_ULONG siglen, int oneshot);
CK_RV qkt_op_digest_key(QKT_SESSION *s, CK_OBJECT_HANDLE key);
QKT_OP **qkt_op_slot(QKT_SESSION *s, int kind);
void qkt_op_free(QKT_OP *op);

/* Family back ends: each fills a QKT_OP (mech.c defines the struct). */
struct qkt_op_st {
    int kind;
    CK_MECHANISM_TYPE mech;
    EVP_MD_CTX *md;
    EVP_MAC_CTX *mac;
    EVP_CIPHER_CTX *cipher;
    size_t out_len;     /* digest/MAC/tag length */
    size_t block;       /* cipher block size (CBC) */
    size_t pending;     /* bytes held back inside EVP (CBC) */
    int started;        /* an update happened (digest: single-part no longer allowed) */
    unsigned char *buf; /* GCM decrypt: ciphertext collected until final; KWP input */
    size_t buflen, bufcap;
    unsigned char *key; /* KWP: key copy (secure) */
    size_t keylen;
    /* key pairs (asym.c) */
    int asym;            /* a key-pair operation: every step goes to asym.c */
    int asym_input;      /* how input is taken (asym.c) */
    size_t asym_hashlen; /* raw PSS: the length of the hash it signs */
    EVP_PKEY_CTX *pctx;  /* raw sign/verify, encrypt, decrypt */
    int auth_needed;     /* the key has CKA_ALWAYS_AUTHENTICATE: a context login first (pin.c) */
    int auth_ok;         /* ... which has been done for this operation */
};

CK_RV qkt_digest_init(QKT_OP *op, const CK_MECHANISM *mech);
CK_RV qkt_mac_init(QKT_OP *op, const CK_MECHANISM *mech, const QKT_OBJ *key);
CK_RV qkt_cipher_init(QKT_OP *op, const CK_MECHANISM *mech, const QKT_OBJ *key);
CK_RV qkt_cipher_update(QKT_OP *op, const CK_BYTE *in, CK_ULONG inlen, CK_BYTE *out,
                        CK_ULONG *outlen);
CK_RV qkt_cipher_final(QKT_OP *op, CK_BYTE *out, CK_ULONG *outlen);
CK_ULONG qkt_cipher_update_bound(const QKT_OP *op, CK_ULONG inlen);
CK_ULONG qkt_cipher_final_bound(const QKT_OP *op);
CK_RV qkt_cipher_oneshot_bound(const QKT_OP *op, CK_ULONG inlen, CK_ULONG *need);
const EVP_MD *qkt_md_for(CK_MECHANISM_TYPE mech); /* fetched in the token's libctx; cached */
const char *qkt_md_name(CK_MECHANISM_TYPE mech);

CK_RV qkt_wrap(QKT_SESSION *s, const CK_MECHANISM *mech, CK_OBJECT_HANDLE wrapping,
               CK_OBJECT_HANDLE key, CK_BYTE *out, CK_ULONG *outlen);
CK_RV qkt_unwrap(QKT_SESSION *s, const CK_MECHANISM *mech, CK_OBJECT_HANDLE unwrapping,
                 const CK_BYTE *in, CK_ULONG inlen, const CK_ATTRIBUTE *tpl, CK_ULONG n,
                 CK_OBJECT_HANDLE *out);
/* cipher.c: AES key wrap, KWP (RFC 5649) or KW (RFC 3394) by mech; its parameter check */
CK_RV qkt_keywrap(CK_MECHANISM_TYPE mech, int enc, const unsigned char *kek, size_t keklen,
                  const unsigned char *in, size_t inlen, unsigned char *out, size_t *outlen);
CK_RV qkt_keywrap_param(const CK_MECHANISM *mech);
/* keygen.c: the key C_DeriveKey made from base (value val), with CKA_ALWAYS_SENSITIVE and
 * CKA_NEVER_EXTRACTABLE inherited as Base 3.0 4.10 says, added to the session or token */
CK_RV qkt_derived_add(QKT_SESSION *s, const QKT_OBJ *base, const CK_ATTRIBUTE *tpl, CK_ULONG n,
                      CK_KEY_TYPE kt, const unsigned char *val, size_t len, CK_OBJECT_HANDLE *out);
/* kbkdf.c: C_DeriveKey with CKM_SP800_108_COUNTER_KDF */
CK_RV qkt_sp800_108(QKT_SESSION *s, const CK_MECHANISM *mech, CK_OBJECT_HANDLE base,
                    const CK_ATTRIBUTE *tpl, CK_ULONG n, CK_OBJECT_HANDLE *out);
CK_RV qkt_derive(QKT_SESSION *s, const CK_MECHANISM *mech, CK_OBJECT_HANDLE base,
                 const CK_ATTRIBUTE *tpl, CK_ULONG n, CK_OBJECT_HANDLE *out);
CK_RV qkt_generate_key(QKT_SESSION *s, const CK_MECHANISM *mech, const CK_ATTRIBUTE *tpl,
                       CK_ULONG n, CK_OBJECT_HANDLE *out);
/* Build a secret key object from a template and a value (keygen, unwrap, derive). */
CK_RV qkt_secret_from(const CK_ATTRIBUTE *tpl, CK_ULONG n, int op, CK_KEY_TYPE dflt_type,
                      CK_MECHANISM_TYPE mech, const unsigned char *val, size_t len, QKT_OBJ **out);
/* Key length a template asks for (CKA_VALUE_LEN), CKR_TEMPLATE_INCOMPLETE when absent. */
CK_RV qkt_tpl_value_len(const CK_ATTRIBUTE *tpl, CK_ULONG n, CK_ULONG *len);
/* Check a key may be used for `kind`/`mech` (usage flag, allowed mechanisms, key type). */
CK_RV qkt_key_usable(const QKT_OBJ *key, CK_ATTRIBUTE_TYPE usage, CK_MECHANISM_TYPE mech,
                     CK_KEY_TYPE need);
/* Required value length from template + key type (AES: 16/24/32). */
CK_RV qkt_key_len_check(CK_KEY_TYPE kt, size_t len);

/* ---- key pairs --------------------------------------------------------------------------- */
/* pkey.c: objects <-> OpenSSL keys (see the file comment for how a key pair is kept) */
/* A new reference to the object's key, in the token's libctx (parsed once, then cached). */
CK_RV qkt_pkey_of(const QKT_OBJ *obj, EVP_PKEY **out);
CK_RV qkt_pkey_attrs(QKT_OBJ *obj, const EVP_PKEY *pkey); /* public attrs; private: PKCS#8 */
CK_RV qkt_pkey_import(QKT_OBJ *obj, const CK_ATTRIBUTE *tpl, CK_ULONG n); /* C_CreateObject */
CK_RV qkt_pkey_part(const QKT_OBJ *obj, CK_ATTRIBUTE *a); /* a private part, from the key */
CK_KEY_TYPE qkt_pkey_type(const EVP_PKEY *pkey);
int qkt_curve_of_params(CK_KEY_TYPE kt, const unsigned char *der, size_t len); /* row or -1 */
const char *qkt_curve_evp(int curve);
const char *qkt_curve_group(int curve);
/* pkey_der.c: the DER of EC, Edwards and Montgomery keys without OpenSSL's encoders (kt and
 * the curve's NID; field: octets of an EC private scalar). Length, or -1. SPKI: *der from
 * OPENSSL_malloc; PKCS#8: *der from qkt_secret_alloc (locked memory). */
int qkt_der_spki(const EVP_PKEY *pkey, CK_KEY_TYPE kt, int nid, unsigned char **der);
int qkt_der_pkcs8(const EVP_PKEY *pkey, CK_KEY_TYPE kt, int nid, size_t field, unsigned char **der);
int qkt_ec_point_raw(const unsigned char *v, size_t len, const unsigned char **raw, size_t *rawlen);
/* attr.c: 1 if type is a private part of a private key (never stored as an attribute) */
int qkt_attr_is_part(CK_OBJECT_CLASS cls, CK_ATTRIBUTE_TYPE type);
/* asym.c: signatures and RSA encryption */
int qkt_asym_mech(CK_MECHANISM_TYPE mech);
CK_KEY_TYPE qkt_asym_key_type(CK_MECHANISM_TYPE mech);
CK_RV qkt_asym_init(QKT_OP *op, const CK_MECHANISM *mech, const QKT_OBJ *key);
CK_RV qkt_asym_update(QKT_OP *op, const CK_BYTE *in, CK_ULONG inlen);
CK_RV qkt_asym_sign(QKT_OP *op, CK_BYTE *out, CK_ULONG *outlen);
CK_RV qkt_asym_verify(QKT_OP *op, const CK_BYTE *sig, CK_ULONG siglen);
CK_RV qkt_asym_crypt(QKT_OP *op, CK_BYTE *out, CK_ULONG *outlen);
/* ecdh.c, keypair.c */
CK_RV qkt_ecdh_derive(QKT_SESSION *s, const CK_MECHANISM *mech, CK_OBJECT_HANDLE base,
                      const CK_ATTRIBUTE *tpl, CK_ULONG n, CK_OBJECT_HANDLE *out);
CK_RV qkt_generate_key_pair(QKT_SESSION *s, const CK_MECHANISM *mech, const CK_ATTRIBUTE *pubtpl,
                            CK_ULONG npub, const CK_ATTRIBUTE *privtpl, CK_ULONG npriv,
                            CK_OBJECT_HANDLE *hpub, CK_OBJECT_HANDLE *hpriv);

/* Secret buffers: locked memory (qks_secure_alloc); zero-length allowed. */
#include "qkey/secmem.h"
static inline void *qkt_secret_alloc(size_t n)
{
    return qks_secure_alloc(n ? n : 1);
}
static inline void qkt_secret_free(void *p, size_t n)
{
    qks_secure_free(p, n ? n : 1);
}
/* cipher.c: the key type a cipher mechanism takes (CKK_DES3 for the 3DES modes, else AES) */
CK_KEY_TYPE qkt_cipher_key_type(CK_MECHANISM_TYPE mech);
const EVP_CIPHER *qkt_cipher_fetch(const char *name); /* cipher.c: fetched once, cached */
/* Free the fetch caches (library.c, at C_Finalize). */
void qkt_cipher_cache_free(void);
void qkt_md_cache_free(void);
void qkt_mac_cache_free(void);

/* seedsrc.c: make the QRNG the seed source of libctx's DRBGs; 1 once it has given a seed */
CK_RV qkt_seed_install(OSSL_LIB_CTX *libctx, QKS_CTX *qks, OSSL_PROVIDER **out);
int qkt_seed_quantum(void);

/* random.c */
CK_RV qkt_random(unsigned char *out, size_t len);
CK_RV qkt_seed(const unsigned char *in, size_t len);
void qkt_random_free(void);
CK_RV qkt_rv_from_qks(int err);
/* state.c: a line on stderr, only when QKEY_PKCS11_DEBUG is set. */
void qkt_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* QKEY_PKCS11_INTERNAL_H */
