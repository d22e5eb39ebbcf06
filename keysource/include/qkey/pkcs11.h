/*
 * qkey PKCS#11 vendor values (DESIGN.md). Installed as <qkey/pkcs11.h> so applications in any
 * language can name the token's QKD mechanisms and attributes.
 *
 * CKM_QKEY_QKD_KEY_NEW: C_GenerateKey with no parameter; template carries CKA_QKEY_PEER (the
 *   peer's SAE ID, UTF-8); the new object carries CKA_QKEY_KEY_ID (the ETSI key_ID string).
 * CKM_QKEY_QKD_KEY_GET: C_GenerateKey with no parameter; template carries CKA_QKEY_PEER and
 *   CKA_QKEY_KEY_ID; yields the same key on the other side, once.
 */
#ifndef QKEY_PKCS11_H
#define QKEY_PKCS11_H

#define QKEY_VENDOR_BASE 0x514B0000UL /* "QK" */
/* CKM_VENDOR_DEFINED and CKA_VENDOR_DEFINED are both 0x80000000 in PKCS#11. */
#define CKM_QKEY_QKD_KEY_NEW (0x80000000UL | QKEY_VENDOR_BASE | 1UL)
#define CKM_QKEY_QKD_KEY_GET (0x80000000UL | QKEY_VENDOR_BASE | 2UL)
#define CKA_QKEY_KEY_ID      (0x80000000UL | QKEY_VENDOR_BASE | 1UL)
#define CKA_QKEY_PEER        (0x80000000UL | QKEY_VENDOR_BASE | 2UL)

#endif /* QKEY_PKCS11_H */
