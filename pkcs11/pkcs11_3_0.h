/*
 * PKCS#11 3.0 definitions that the system's p11-kit header lacks: p11-kit 0.24 (Debian 12) stops
 * at Cryptoki 2.40; p11-kit 0.25 (Debian 13) has the 3.0 interfaces, and CMake then defines
 * QKEY_SYSTEM_PKCS11_3_0 so the system's CK_INTERFACE and CK_FUNCTION_LIST_3_0 are used. Values and
 * layouts from OASIS PKCS #11 Cryptographic Token Interface Base Specification Version 3.0
 * (sections 3.x for types, 5.x for functions) and Current Mechanisms Specification 3.0
 * (2.14 AES key wrap with padding, 2.43 HKDF). Each is defined only when missing, so a newer
 * system header wins.
 */
#ifndef QKEY_PKCS11_3_0_H
#define QKEY_PKCS11_3_0_H

#include <p11-kit/pkcs11.h>

/* ---- attributes, key types, mechanisms ------------------------------------------------ */
#ifndef CKA_UNIQUE_ID
#define CKA_UNIQUE_ID 0x00000004UL
#endif
#ifndef CKK_HKDF
#define CKK_HKDF 0x00000042UL
#endif
#ifndef CKM_AES_KEY_WRAP_KWP
#define CKM_AES_KEY_WRAP_KWP 0x0000210BUL
#endif
#ifndef CKK_EC_MONTGOMERY
#define CKK_EC_MONTGOMERY 0x00000041UL
#endif
#ifndef CKM_EC_MONTGOMERY_KEY_PAIR_GEN
#define CKM_EC_MONTGOMERY_KEY_PAIR_GEN 0x00001056UL
#endif
#ifndef CKM_HKDF_DERIVE
#define CKM_HKDF_DERIVE  0x0000402AUL
#define CKM_HKDF_DATA    0x0000402BUL
#define CKM_HKDF_KEY_GEN 0x0000402CUL
#endif
#ifndef CKF_HKDF_SALT_NULL
#define CKF_HKDF_SALT_NULL 0x00000001UL
#define CKF_HKDF_SALT_DATA 0x00000002UL
#define CKF_HKDF_SALT_KEY  0x00000004UL
#endif
#ifndef CKF_INTERFACE_FORK_SAFE
#define CKF_INTERFACE_FORK_SAFE 0x00000001UL
#endif
#ifndef CKF_END_OF_MESSAGE
#define CKF_END_OF_MESSAGE 0x00000001UL
#endif
#ifndef CKR_OPERATION_CANCEL_FAILED
#define CKR_OPERATION_CANCEL_FAILED 0x00000202UL
#endif
#ifndef CKF_FIND_OBJECTS
#define CKF_FIND_OBJECTS 0x00000040UL /* C_SessionCancel flag */
#endif
#ifndef CKF_MESSAGE_ENCRYPT
#define CKF_MESSAGE_ENCRYPT 0x00000002UL
#define CKF_MESSAGE_DECRYPT 0x00000004UL
#define CKF_MESSAGE_SIGN    0x00000008UL
#define CKF_MESSAGE_VERIFY  0x00000010UL
#define CKF_MULTI_MESSAGE   0x00000020UL
#endif

/* CK_HKDF_PARAMS (Current Mechanisms 3.0, 2.43.1) */
typedef struct qkt_ck_hkdf_params {
    CK_BBOOL bExtract;
    CK_BBOOL bExpand;
    CK_MECHANISM_TYPE prfHashMechanism;
    CK_ULONG ulSaltType;
    CK_BYTE_PTR pSalt;
    CK_ULONG ulSaltLen;
    CK_OBJECT_HANDLE hSaltKey;
    CK_BYTE_PTR pInfo;
    CK_ULONG ulInfoLen;
} QKT_CK_HKDF_PARAMS;

/* CK_EDDSA_PARAMS (Current Mechanisms 3.0, 2.3.14): under our own name for the same reason. */
typedef struct {
    CK_BBOOL phFlag;
    CK_ULONG ulContextDataLen;
    CK_BYTE_PTR pContextData;
} QKT_CK_EDDSA_PARAMS;

/* ---- SP 800-108 key derivation (Current Mechanisms 3.0, 2.42) ------------------------- */
#ifndef CKM_SP800_108_COUNTER_KDF
#define CKM_SP800_108_COUNTER_KDF 0x000003ACUL
#endif
#ifndef CK_SP800_108_ITERATION_VARIABLE
#define CK_SP800_108_ITERATION_VARIABLE         0x00000001UL
#define CK_SP800_108_OPTIONAL_COUNTER           0x00000002UL
#define CK_SP800_108_DKM_LENGTH                 0x00000003UL
#define CK_SP800_108_BYTE_ARRAY                 0x00000004UL
#define CK_SP800_108_DKM_LENGTH_SUM_OF_KEYS     0x00000001UL
#define CK_SP800_108_DKM_LENGTH_SUM_OF_SEGMENTS 0x00000002UL
#endif
/* Same layouts as the 3.0 header's, under our own names (p11-kit <= 0.25 has none). */
typedef struct {
    CK_ULONG type; /* CK_PRF_DATA_TYPE */
    CK_VOID_PTR pValue;
    CK_ULONG ulValueLen;
} QKT_CK_PRF_DATA_PARAM;

typedef struct {
    CK_BBOOL bLittleEndian;
    CK_ULONG ulWidthInBits;
} QKT_CK_SP800_108_COUNTER_FORMAT;

typedef struct {
    CK_ULONG dkmLengthMethod;
    CK_BBOOL bLittleEndian;
    CK_ULONG ulWidthInBits;
} QKT_CK_SP800_108_DKM_LENGTH_FORMAT;

typedef struct {
    CK_ATTRIBUTE_PTR pTemplate;
    CK_ULONG ulAttributeCount;
    CK_OBJECT_HANDLE_PTR phKey;
} QKT_CK_DERIVED_KEY;

typedef struct {
    CK_MECHANISM_TYPE prfType;
    CK_ULONG ulNumberOfDataParams;
    QKT_CK_PRF_DATA_PARAM *pDataParams;
    CK_ULONG ulAdditionalDerivedKeys;
    QKT_CK_DERIVED_KEY *pAdditionalDerivedKeys;
} QKT_CK_SP800_108_KDF_PARAMS;

/* ---- interfaces (Base 3.0, 3.6) ------------------------------------------------------- */
#ifdef QKEY_SYSTEM_PKCS11_3_0
typedef CK_INTERFACE QKT_CK_INTERFACE;
typedef CK_FUNCTION_LIST_3_0 QKT_CK_FUNCTION_LIST_3_0;
#else
typedef struct qkt_ck_interface {
    CK_CHAR *pInterfaceName;
    CK_VOID_PTR pFunctionList;
    CK_FLAGS flags;
} QKT_CK_INTERFACE;

typedef CK_RV (*QKT_C_GetInterfaceList)(QKT_CK_INTERFACE *, CK_ULONG *);
typedef CK_RV (*QKT_C_GetInterface)(CK_UTF8CHAR *, CK_VERSION *, QKT_CK_INTERFACE **, CK_FLAGS);
typedef CK_RV (*QKT_C_LoginUser)(CK_SESSION_HANDLE, CK_USER_TYPE, CK_UTF8CHAR *, CK_ULONG,
                                 CK_UTF8CHAR *, CK_ULONG);
typedef CK_RV (*QKT_C_SessionCancel)(CK_SESSION_HANDLE, CK_FLAGS);
typedef CK_RV (*QKT_C_MessageInit)(CK_SESSION_HANDLE, CK_MECHANISM *, CK_OBJECT_HANDLE);
typedef CK_RV (*QKT_C_CryptMessage)(CK_SESSION_HANDLE, void *, CK_ULONG, CK_BYTE *, CK_ULONG,
                                    CK_BYTE *, CK_ULONG, CK_BYTE *, CK_ULONG *);
typedef CK_RV (*QKT_C_CryptMessageBegin)(CK_SESSION_HANDLE, void *, CK_ULONG, CK_BYTE *, CK_ULONG);
typedef CK_RV (*QKT_C_CryptMessageNext)(CK_SESSION_HANDLE, void *, CK_ULONG, CK_BYTE *, CK_ULONG,
                                        CK_BYTE *, CK_ULONG *, CK_FLAGS);
typedef CK_RV (*QKT_C_MessageFinal)(CK_SESSION_HANDLE);
typedef CK_RV (*QKT_C_SignMessage)(CK_SESSION_HANDLE, void *, CK_ULONG, CK_BYTE *, CK_ULONG,
                                   CK_BYTE *, CK_ULONG *);
typedef CK_RV (*QKT_C_SignMessageBegin)(CK_SESSION_HANDLE, void *, CK_ULONG);
typedef CK_RV (*QKT_C_VerifyMessage)(CK_SESSION_HANDLE, void *, CK_ULONG, CK_BYTE *, CK_ULONG,
                                     CK_BYTE *, CK_ULONG);

/* CK_FUNCTION_LIST_3_0: the 2.40 list followed by the 3.0 functions, in the spec's order. */
typedef struct qkt_ck_function_list_3_0 {
    CK_VERSION version;
    CK_C_Initialize C_Initialize;
    CK_C_Finalize C_Finalize;
    CK_C_GetInfo C_GetInfo;
    CK_C_GetFunctionList C_GetFunctionList;
    CK_C_GetSlotList C_GetSlotList;
    CK_C_GetSlotInfo C_GetSlotInfo;
    CK_C_GetTokenInfo C_GetTokenInfo;
    CK_C_GetMechanismList C_GetMechanismList;
    CK_C_GetMechanismInfo C_GetMechanismInfo;
    CK_C_InitToken C_InitToken;
    CK_C_InitPIN C_InitPIN;
    CK_C_SetPIN C_SetPIN;
    CK_C_OpenSession C_OpenSession;
    CK_C_CloseSession C_CloseSession;
    CK_C_CloseAllSessions C_CloseAllSessions;
    CK_C_GetSessionInfo C_GetSessionInfo;
    CK_C_GetOperationState C_GetOperationState;
    CK_C_SetOperationState C_SetOperationState;
    CK_C_Login C_Login;
    CK_C_Logout C_Logout;
    CK_C_CreateObject C_CreateObject;
    CK_C_CopyObject C_CopyObject;
    CK_C_DestroyObject C_DestroyObject;
    CK_C_GetObjectSize C_GetObjectSize;
    CK_C_GetAttributeValue C_GetAttributeValue;
    CK_C_SetAttributeValue C_SetAttributeValue;
    CK_C_FindObjectsInit C_FindObjectsInit;
    CK_C_FindObjects C_FindObjects;
    CK_C_FindObjectsFinal C_FindObjectsFinal;
    CK_C_EncryptInit C_EncryptInit;
    CK_C_Encrypt C_Encrypt;
    CK_C_EncryptUpdate C_EncryptUpdate;
    CK_C_EncryptFinal C_EncryptFinal;
    CK_C_DecryptInit C_DecryptInit;
    CK_C_Decrypt C_Decrypt;
    CK_C_DecryptUpdate C_DecryptUpdate;
    CK_C_DecryptFinal C_DecryptFinal;
    CK_C_DigestInit C_DigestInit;
    CK_C_Digest C_Digest;
    CK_C_DigestUpdate C_DigestUpdate;
    CK_C_DigestKey C_DigestKey;
    CK_C_DigestFinal C_DigestFinal;
    CK_C_SignInit C_SignInit;
    CK_C_Sign C_Sign;
    CK_C_SignUpdate C_SignUpdate;
    CK_C_SignFinal C_SignFinal;
    CK_C_SignRecoverInit C_SignRecoverInit;
    CK_C_SignRecover C_SignRecover;
    CK_C_VerifyInit C_VerifyInit;
    CK_C_Verify C_Verify;
    CK_C_VerifyUpdate C_VerifyUpdate;
    CK_C_VerifyFinal C_VerifyFinal;
    CK_C_VerifyRecoverInit C_VerifyRecoverInit;
    CK_C_VerifyRecover C_VerifyRecover;
    CK_C_DigestEncryptUpdate C_DigestEncryptUpdate;
    CK_C_DecryptDigestUpdate C_DecryptDigestUpdate;
    CK_C_SignEncryptUpdate C_SignEncryptUpdate;
    CK_C_DecryptVerifyUpdate C_DecryptVerifyUpdate;
    CK_C_GenerateKey C_GenerateKey;
    CK_C_GenerateKeyPair C_GenerateKeyPair;
    CK_C_WrapKey C_WrapKey;
    CK_C_UnwrapKey C_UnwrapKey;
    CK_C_DeriveKey C_DeriveKey;
    CK_C_SeedRandom C_SeedRandom;
    CK_C_GenerateRandom C_GenerateRandom;
    CK_C_GetFunctionStatus C_GetFunctionStatus;
    CK_C_CancelFunction C_CancelFunction;
    CK_C_WaitForSlotEvent C_WaitForSlotEvent;
    /* 3.0 */
    QKT_C_GetInterfaceList C_GetInterfaceList;
    QKT_C_GetInterface C_GetInterface;
    QKT_C_LoginUser C_LoginUser;
    QKT_C_SessionCancel C_SessionCancel;
    QKT_C_MessageInit C_MessageEncryptInit;
    QKT_C_CryptMessage C_EncryptMessage;
    QKT_C_CryptMessageBegin C_EncryptMessageBegin;
    QKT_C_CryptMessageNext C_EncryptMessageNext;
    QKT_C_MessageFinal C_MessageEncryptFinal;
    QKT_C_MessageInit C_MessageDecryptInit;
    QKT_C_CryptMessage C_DecryptMessage;
    QKT_C_CryptMessageBegin C_DecryptMessageBegin;
    QKT_C_CryptMessageNext C_DecryptMessageNext;
    QKT_C_MessageFinal C_MessageDecryptFinal;
    QKT_C_MessageInit C_MessageSignInit;
    QKT_C_SignMessage C_SignMessage;
    QKT_C_SignMessageBegin C_SignMessageBegin;
    QKT_C_SignMessage C_SignMessageNext;
    QKT_C_MessageFinal C_MessageSignFinal;
    QKT_C_MessageInit C_MessageVerifyInit;
    QKT_C_VerifyMessage C_VerifyMessage;
    QKT_C_SignMessageBegin C_VerifyMessageBegin;
    QKT_C_VerifyMessage C_VerifyMessageNext;
    QKT_C_MessageFinal C_MessageVerifyFinal;
} QKT_CK_FUNCTION_LIST_3_0;
#endif /* QKEY_SYSTEM_PKCS11_3_0 */

#endif /* QKEY_PKCS11_3_0_H */
