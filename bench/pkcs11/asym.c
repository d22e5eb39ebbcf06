/*
 * bench_pkcs11_asym: key pairs in libqkey-pkcs11.so against SoftHSM2, same process, same run,
 * same calls (the companion of bench_pkcs11.c, which measures secret-key work):
 *   rsa-sign    C_SignInit + C_Sign, CKM_SHA256_RSA_PKCS, RSA-2048, 64-byte message
 *   ecdsa-sign  C_SignInit + C_Sign, CKM_ECDSA, P-256, 32-byte digest (SoftHSM2 2.6 has no
 *               CKM_ECDSA_SHA256, so both sign a digest made by the caller)
 *   ec-keygen   C_GenerateKeyPair CKM_EC_KEY_PAIR_GEN P-256 (session objects) + destroying both
 * Prints operations per second for each module and the ratio qkey / SoftHSM2 (>= 1.0: qkey
 * is at least as fast). usage: bench_pkcs11_asym [SECONDS_PER_CASE (default 1)]
 * QKEY_P11_MODULE overrides the token's path (default: the one built beside this program).
 */
#include <stdio.h>
#include <stdlib.h>

#include "p11bench.h"

typedef P11B_MOD MOD;

/* DER OID of prime256v1 (CKA_EC_PARAMS) */
static const CK_BYTE p256[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};

/* A session-object key pair; returns the private key (the public one is not needed). */
static CK_OBJECT_HANDLE keypair(MOD *m, CK_MECHANISM_TYPE gen, CK_OBJECT_HANDLE *pub_out)
{
    CK_MECHANISM mech = {gen, NULL, 0};
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    CK_ULONG bits = 2048;
    CK_BYTE e[] = {1, 0, 1};
    CK_ATTRIBUTE rsa_pub[] = {{CKA_TOKEN, &no, 1},
                              {CKA_VERIFY, &yes, 1},
                              {CKA_MODULUS_BITS, &bits, sizeof(bits)},
                              {CKA_PUBLIC_EXPONENT, e, sizeof(e)}};
    CK_ATTRIBUTE ec_pub[] = {
        {CKA_TOKEN, &no, 1}, {CKA_VERIFY, &yes, 1}, {CKA_EC_PARAMS, (void *)p256, sizeof(p256)}};
    CK_ATTRIBUTE priv[] = {{CKA_TOKEN, &no, 1},
                           {CKA_PRIVATE, &yes, 1},
                           {CKA_SENSITIVE, &yes, 1},
                           {CKA_EXTRACTABLE, &no, 1},
                           {CKA_SIGN, &yes, 1}};
    CK_OBJECT_HANDLE pub, key;
    int rsa = gen == CKM_RSA_PKCS_KEY_PAIR_GEN;
    CK_RV rv = m->f->C_GenerateKeyPair(m->s, &mech, rsa ? rsa_pub : ec_pub, rsa ? 4 : 3, priv, 5,
                                       &pub, &key);
    if (rv != CKR_OK)
        p11b_die(m, rsa ? "C_GenerateKeyPair RSA-2048" : "C_GenerateKeyPair P-256", rv);
    if (pub_out != NULL)
        *pub_out = pub;
    return key;
}

static void load(MOD *m, const char *path, const char *name)
{
    p11b_load(m, path, name);
    m->rsa = keypair(m, CKM_RSA_PKCS_KEY_PAIR_GEN, NULL);
    m->ec = keypair(m, CKM_EC_KEY_PAIR_GEN, NULL);
}

static void sign(MOD *m, CK_MECHANISM_TYPE type, CK_OBJECT_HANDLE key, CK_ULONG len)
{
    static CK_BYTE data[64];
    CK_BYTE sig[512];
    CK_ULONG n = sizeof(sig);
    CK_MECHANISM mech = {type, NULL, 0};
    CK_RV rv;
    data[0]++; /* a different message each time */
    if ((rv = m->f->C_SignInit(m->s, &mech, key)) != CKR_OK ||
        (rv = m->f->C_Sign(m->s, data, len, sig, &n)) != CKR_OK)
        p11b_die(m, type == CKM_ECDSA ? "ECDSA sign" : "RSA sign", rv);
}

static void op_rsa_sign(MOD *m)
{
    sign(m, CKM_SHA256_RSA_PKCS, m->rsa, 64);
}

static void op_ecdsa_sign(MOD *m)
{
    sign(m, CKM_ECDSA, m->ec, 32);
}

static void op_ec_keygen(MOD *m)
{
    CK_OBJECT_HANDLE pub, key = keypair(m, CKM_EC_KEY_PAIR_GEN, &pub);
    CK_RV rv;
    if ((rv = m->f->C_DestroyObject(m->s, key)) != CKR_OK ||
        (rv = m->f->C_DestroyObject(m->s, pub)) != CKR_OK)
        p11b_die(m, "C_DestroyObject", rv);
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 1.0;
    char dir[] = "/tmp/qkey-bench-asym-XXXXXX";
    const char *qmod = getenv("QKEY_P11_MODULE") ? getenv("QKEY_P11_MODULE") : QKEY_P11_MODULE_PATH;
    static const struct {
        const char *name;
        void (*op)(MOD *);
    } cases[] = {{"RSA-2048 sign SHA256-RSA-PKCS", op_rsa_sign},
                 {"ECDSA P-256 sign", op_ecdsa_sign},
                 {"P-256 key-pair generation", op_ec_keygen}};
    enum { NCASES = sizeof(cases) / sizeof(cases[0]) };
    double rq[NCASES], rh[NCASES];
    MOD q, h;

    p11b_prog = "bench_pkcs11_asym";
    if (p11b_dirs(dir) != 0)
        return 1;
    /* interleaved per case, so a change in machine load hits both modules alike */
    load(&q, qmod, "qkey");
    load(&h, P11B_SOFTHSM, "softhsm2");
    for (size_t i = 0; i < NCASES; i++) {
        rq[i] = p11b_rate(&q, cases[i].op, secs);
        rh[i] = p11b_rate(&h, cases[i].op, secs);
    }
    printf("%-32s %14s %14s %8s\n", "case", "qkey ops/s", "softhsm2 ops/s", "ratio");
    for (size_t i = 0; i < NCASES; i++)
        printf("%-32s %14.0f %14.0f %8.2f\n", cases[i].name, rq[i], rh[i], rq[i] / rh[i]);
    q.f->C_Finalize(NULL);
    h.f->C_Finalize(NULL);
    return p11b_rmdir(dir) == 0 ? 0 : 1;
}
