/*
 * qkey provider: the one table of the KEM variants (every fact about a QKD group: its names, the
 * classical or ML-KEM part and its sizes, its security, its default TLS code point). The wire
 * format (kemwire.c), the key manager, the KEM and the TLS-GROUP capabilities all read it.
 */
#include "internal.h"

/* The one table of the KEM variants: names, sizes, code points. The ML-KEM hybrids' sizes are
 * those of OpenSSL's X25519MLKEM768 (ML-KEM-768 then X25519), SecP256r1MLKEM768 and
 * SecP384r1MLKEM1024 (point then ML-KEM): draft-ietf-tls-ecdhe-mlkem. */
#define ECDH(i, a, g, c, cv, pub, priv, sec, bits, cp)                                             \
    [i] = {.id = i,                                                                                \
           .alg = a,                                                                               \
           .group = g,                                                                             \
           .classical = c,                                                                         \
           .curve = cv,                                                                            \
           .pub_len = pub,                                                                         \
           .priv_len = priv,                                                                       \
           .secret_len = sec,                                                                      \
           .classical_bits = bits,                                                                 \
           .codepoint = cp,                                                                        \
           .ct_len = pub}
#define MLKEM(i, a, g, c, pub, ct, sec, bits, cp)                                                  \
    [i] = {.id = i,                                                                                \
           .alg = a,                                                                               \
           .group = g,                                                                             \
           .classical = c,                                                                         \
           .pub_len = pub,                                                                         \
           .secret_len = sec,                                                                      \
           .classical_bits = bits,                                                                 \
           .codepoint = cp,                                                                        \
           .kem = 1,                                                                               \
           .ct_len = ct}
const QKP_VARIANT qkp_variants[QKP_NVARIANTS] = {
    [QKP_QKD] = {.id = QKP_QKD, .alg = "QKD", .group = "qkd", .codepoint = 0xFEA0},
    ECDH(QKP_X25519, "X25519-QKD", "x25519_qkd", "X25519", NULL, 32, 32, 32, 128, 0xFEA1),
    ECDH(QKP_X448, "X448-QKD", "x448_qkd", "X448", NULL, 56, 56, 56, 224, 0xFEA2),
    ECDH(QKP_P256, "P-256-QKD", "secp256r1_qkd", "EC", "P-256", 65, 32, 32, 128, 0xFEA3),
    ECDH(QKP_P384, "P-384-QKD", "secp384r1_qkd", "EC", "P-384", 97, 48, 48, 192, 0xFEA4),
    MLKEM(QKP_X25519MLKEM768, "X25519MLKEM768-QKD", "x25519mlkem768_qkd", "X25519MLKEM768", 1216,
          1120, 64, 192, 0xFEA5),
    MLKEM(QKP_P256MLKEM768, "SecP256r1MLKEM768-QKD", "secp256r1mlkem768_qkd", "SecP256r1MLKEM768",
          1249, 1153, 64, 192, 0xFEA6),
    MLKEM(QKP_P384MLKEM1024, "SecP384r1MLKEM1024-QKD", "secp384r1mlkem1024_qkd",
          "SecP384r1MLKEM1024", 1665, 1665, 80, 256, 0xFEA7),
};
_Static_assert(sizeof(qkp_variants) / sizeof(qkp_variants[0]) == QKP_NVARIANTS,
               "one entry per variant");
_Static_assert(1665 <= QKP_CLASSICAL_MAX, "QKP_CLASSICAL_MAX holds the largest classical part");
