/*
 * qkey-inject: put a QKD key into another PKCS#11 token as a sensitive, non-extractable AES key
 * with a label both sites agree on, so an HSM or KMS that knows nothing of QKD uses it as any
 * other key.
 *
 *   site A: qkey-inject --module M --token T --peer SAE_B new        -> prints KEY_ID LABEL
 *   site B: qkey-inject --module M --token T --peer SAE_A get KEY_ID -> prints KEY_ID LABEL
 *
 * The token is named by label or by PKCS#11 URI (RFC 7512, parsed by p11-kit:
 * 'pkcs11:token=kms;serial=...;pin-value=...'). The label is --label, else
 * "qkd:<SAE>+<SAE>" (the two SAE IDs in sorted order, the same on both sites), followed by
 * "#<epoch>" (--epoch, default 0): rotating means injecting the next epoch. An existing object
 * with that label is refused. The target token is opened and the PIN checked before the QKD
 * link is asked for anything, so a typo burns no key; the key is wiped after the copy.
 */
#include <dlfcn.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <p11-kit/pkcs11.h>
#include <p11-kit/uri.h>

#include "qkey/qks.h"
#include "qkey/secmem.h"

#define EXIT_USAGE 2

typedef struct {
    const char *module, *token, *pin, *peer, *label, *key_id, *op;
    unsigned long epoch;
    unsigned long bytes;
} OPTS;

static void usage(FILE *out)
{
    fprintf(out, "usage: qkey-inject --module MODULE --token LABEL|PKCS11-URI --peer SAE_ID\n"
                 "                   [--pin PIN] [--label LABEL] [--epoch N] [--bytes 16|24|32]\n"
                 "                   new | get KEY_ID\n"
                 "  new           make a QKD key shared with --peer (this site is the master)\n"
                 "  get KEY_ID    fetch the key the peer made, by the ID it sent\n"
                 "  --pin         the target token's user PIN (else pin-value in the URI, else\n"
                 "                $QKEY_INJECT_PIN)\n"
                 "  --label       object label (default qkd:<SAE>+<SAE>, sorted) + '#<epoch>'\n"
                 "  --bytes       AES key length (default: the QKD key length, at most 32)\n"
                 "Configuration: $QKEY_CONF (or `qkey --conf FILE inject ...`).\n"
                 "Prints 'KEY_ID LABEL' on success.\n");
}

static int parse(int argc, char **argv, OPTS *o)
{
    static const struct option longopts[] = {
        {"module", required_argument, NULL, 'm'},
        {"token", required_argument, NULL, 't'},
        {"pin", required_argument, NULL, 'p'},
        {"peer", required_argument, NULL, 'P'},
        {"label", required_argument, NULL, 'l'},
        {"epoch", required_argument, NULL, 'e'},
        {"bytes", required_argument, NULL, 'b'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    char *end;
    int c;
    memset(o, 0, sizeof(*o));
    while ((c = getopt_long(argc, argv, "m:t:p:P:l:e:b:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'm':
            o->module = optarg;
            break;
        case 't':
            o->token = optarg;
            break;
        case 'p':
            o->pin = optarg;
            break;
        case 'P':
            o->peer = optarg;
            break;
        case 'l':
            o->label = optarg;
            break;
        case 'e':
            o->epoch = strtoul(optarg, &end, 10);
            if (*end != '\0' || *optarg == '\0') {
                fprintf(stderr, "qkey-inject: --epoch wants a number, not '%s'\n", optarg);
                return EXIT_USAGE;
            }
            break;
        case 'b':
            o->bytes = strtoul(optarg, &end, 10);
            if (*end != '\0' || (o->bytes != 16 && o->bytes != 24 && o->bytes != 32)) {
                fprintf(stderr, "qkey-inject: --bytes is 16, 24 or 32\n");
                return EXIT_USAGE;
            }
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind < argc)
        o->op = argv[optind++];
    if (o->op != NULL && strcmp(o->op, "get") == 0 && optind < argc)
        o->key_id = argv[optind++];
    if (o->module == NULL || o->token == NULL || o->peer == NULL || o->op == NULL ||
        optind != argc || (strcmp(o->op, "new") != 0 && strcmp(o->op, "get") != 0) ||
        (strcmp(o->op, "get") == 0 && o->key_id == NULL)) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (!qks_valid_sae_id(o->peer)) {
        fprintf(stderr, "qkey-inject: '%s' is not a valid SAE ID\n", o->peer);
        return EXIT_USAGE;
    }
    if (o->key_id != NULL && !qks_valid_key_id(o->key_id)) {
        fprintf(stderr, "qkey-inject: '%s' is not a valid key ID (a UUID)\n", o->key_id);
        return EXIT_USAGE;
    }
    return 0;
}

typedef struct {
    void *dl;
    CK_FUNCTION_LIST *f;
    CK_SESSION_HANDLE s;
} TARGET;

static const char *rvname(CK_RV rv)
{
    static char buf[32];
    switch (rv) {
    case CKR_PIN_INCORRECT:
        return "CKR_PIN_INCORRECT";
    case CKR_PIN_LOCKED:
        return "CKR_PIN_LOCKED";
    case CKR_TEMPLATE_INCONSISTENT:
        return "CKR_TEMPLATE_INCONSISTENT";
    case CKR_ATTRIBUTE_VALUE_INVALID:
        return "CKR_ATTRIBUTE_VALUE_INVALID";
    case CKR_USER_NOT_LOGGED_IN:
        return "CKR_USER_NOT_LOGGED_IN";
    default:
        snprintf(buf, sizeof(buf), "CKR 0x%lx", rv);
        return buf;
    }
}

/* Load the module, find the token (label or URI), open a R/W session and log in. */
static int open_target(const OPTS *o, TARGET *t)
{
    CK_C_INITIALIZE_ARGS args = {NULL, NULL, NULL, NULL, CKF_OS_LOCKING_OK, NULL};
    CK_C_GetFunctionList gfl;
    P11KitUri *uri = p11_kit_uri_new();
    CK_SLOT_ID slots[64], slot = 0;
    CK_ULONG n = 64;
    int found = 0, is_uri = strncmp(o->token, "pkcs11:", 7) == 0, rc = 1;
    const char *pin = o->pin;
    CK_RV rv;

    if (is_uri) {
        int r = p11_kit_uri_parse(o->token, P11_KIT_URI_FOR_TOKEN, uri);
        if (r != P11_KIT_URI_OK) {
            fprintf(stderr, "qkey-inject: --token %s: %s\n", o->token, p11_kit_uri_message(r));
            goto done;
        }
        if (pin == NULL)
            pin = p11_kit_uri_get_pin_value(uri);
    }
    if (pin == NULL)
        pin = getenv("QKEY_INJECT_PIN");
    if (pin == NULL) {
        fprintf(stderr, "qkey-inject: no PIN (--pin, pin-value in the URI, $QKEY_INJECT_PIN)\n");
        goto done;
    }
    if ((t->dl = dlopen(o->module, RTLD_NOW | RTLD_LOCAL)) == NULL) {
        fprintf(stderr, "qkey-inject: %s\n", dlerror());
        goto done;
    }
    if ((gfl = (CK_C_GetFunctionList)dlsym(t->dl, "C_GetFunctionList")) == NULL ||
        gfl(&t->f) != CKR_OK) {
        fprintf(stderr, "qkey-inject: %s is not a PKCS#11 module\n", o->module);
        goto done;
    }
    if ((rv = t->f->C_Initialize(&args)) != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
        fprintf(stderr, "qkey-inject: %s: C_Initialize: %s\n", o->module, rvname(rv));
        t->f = NULL;
        goto done;
    }
    if (t->f->C_GetSlotList(CK_TRUE, slots, &n) != CKR_OK)
        n = 0;
    for (CK_ULONG i = 0; i < n && !found; i++) {
        CK_TOKEN_INFO ti;
        char label[33];
        if (t->f->C_GetTokenInfo(slots[i], &ti) != CKR_OK)
            continue;
        if (is_uri) {
            found = p11_kit_uri_match_token_info(uri, &ti);
        } else {
            memcpy(label, ti.label, 32);
            label[32] = 0;
            for (int j = 31; j >= 0 && label[j] == ' '; j--)
                label[j] = 0;
            found = strcmp(label, o->token) == 0;
        }
        if (found)
            slot = slots[i];
    }
    if (!found) {
        fprintf(stderr, "qkey-inject: no token %s in %s\n", o->token, o->module);
        goto done;
    }
    if ((rv = t->f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &t->s)) !=
            CKR_OK ||
        (rv = t->f->C_Login(t->s, CKU_USER, (CK_UTF8CHAR *)pin, strlen(pin))) != CKR_OK) {
        fprintf(stderr, "qkey-inject: token %s: %s\n", o->token, rvname(rv));
        goto done;
    }
    rc = 0;
done:
    p11_kit_uri_free(uri);
    return rc;
}

static void close_target(TARGET *t)
{
    if (t->f != NULL)
        (void)t->f->C_Finalize(NULL); /* exiting anyway */
}

/* 1 if an object with this label exists on the target token. */
static int label_taken(TARGET *t, const char *label)
{
    CK_ATTRIBUTE q = {CKA_LABEL, (void *)label, strlen(label)};
    CK_OBJECT_HANDLE h;
    CK_ULONG n = 0;
    if (t->f->C_FindObjectsInit(t->s, &q, 1) != CKR_OK)
        return 0;
    (void)t->f->C_FindObjects(t->s, &h, 1, &n);
    (void)t->f->C_FindObjectsFinal(t->s);
    return n > 0;
}

static void agreed_label(const OPTS *o, const char *self, char *out, size_t outlen)
{
    if (o->label != NULL) {
        snprintf(out, outlen, "%s#%lu", o->label, o->epoch);
        return;
    }
    const char *a = self, *b = o->peer;
    if (strcmp(a, b) > 0) {
        a = o->peer;
        b = self;
    }
    snprintf(out, outlen, "qkd:%s+%s#%lu", a, b, o->epoch);
}

int main(int argc, char **argv)
{
    OPTS o;
    TARGET t = {0};
    QKS_CONFIG *cfg = NULL;
    QKS_CTX *ctx = NULL;
    QKS_KEY *key = NULL;
    char label[160];
    int rc, err;

    if ((rc = parse(argc, argv, &o)) != 0)
        return rc;
    rc = 1;
    if ((cfg = qks_config_new()) == NULL ||
        (err = qks_config_load_file(cfg, qks_config_default_path())) != QKS_OK ||
        (err = qks_ctx_new(cfg, &ctx)) != QKS_OK) {
        fprintf(stderr, "qkey-inject: %s: %s\n", qks_config_default_path(), qks_last_error());
        goto done;
    }
    if (!qks_ctx_has_qkd(ctx)) {
        fprintf(stderr, "qkey-inject: %s configures no QKD link ([qkd] driver)\n",
                qks_config_default_path());
        goto done;
    }
    if (!qks_peer_allowed(ctx, o.peer)) {
        fprintf(stderr, "qkey-inject: peer %s is not in qkd.peers\n", o.peer);
        goto done;
    }
    agreed_label(&o, qks_ctx_sae_id(ctx), label, sizeof(label));
    if (open_target(&o, &t) != 0)
        goto done;
    if (label_taken(&t, label)) {
        fprintf(stderr, "qkey-inject: token %s already holds '%s' (use the next --epoch)\n",
                o.token, label);
        goto done;
    }

    if (strcmp(o.op, "new") == 0)
        err = qks_key_new(ctx, o.peer, &key);
    else
        err = qks_key_get(ctx, o.peer, o.key_id, &key);
    if (err != QKS_OK) {
        fprintf(stderr, "qkey-inject: %s: %s\n", qks_strerror(err), qks_last_error());
        goto done;
    }
    CK_ULONG len = o.bytes ? o.bytes : (key->len > 32 ? 32 : key->len);
    if (len > key->len || (len != 16 && len != 24 && len != 32)) {
        fprintf(stderr, "qkey-inject: the QKD key has %zu bytes; an AES key needs 16, 24 or 32\n",
                key->len);
        goto done;
    }
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_KEY_TYPE aes = CKK_AES;
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    CK_ATTRIBUTE tpl[] = {
        {CKA_CLASS, &cls, sizeof(cls)},
        {CKA_KEY_TYPE, &aes, sizeof(aes)},
        {CKA_VALUE, key->key, len},
        {CKA_LABEL, label, strlen(label)},
        {CKA_ID, key->key_id, strlen(key->key_id)},
        {CKA_TOKEN, &yes, 1},
        {CKA_PRIVATE, &yes, 1},
        {CKA_SENSITIVE, &yes, 1},
        {CKA_EXTRACTABLE, &no, 1},
        {CKA_ENCRYPT, &yes, 1},
        {CKA_DECRYPT, &yes, 1},
        {CKA_WRAP, &yes, 1},
        {CKA_UNWRAP, &yes, 1},
    };
    CK_OBJECT_HANDLE h;
    CK_RV rv = t.f->C_CreateObject(t.s, tpl, sizeof(tpl) / sizeof(tpl[0]), &h);
    if (rv != CKR_OK) {
        fprintf(stderr, "qkey-inject: token %s refused the key: %s (key %s is consumed)\n", o.token,
                rvname(rv), key->key_id);
        goto done;
    }
    printf("%s %s\n", key->key_id, label);
    rc = 0;
done:
    qks_key_free(key); /* wipes */
    close_target(&t);
    qks_ctx_free(ctx);
    qks_config_free(cfg);
    return rc;
}
