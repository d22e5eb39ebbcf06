/*
 * Prototypes of the 3.0 entry points that a 2.40 system header (p11-kit < 0.25) does not declare,
 * and the helper every session-based entry point uses.
 */
#ifndef QKEY_PKCS11_ENTRY_H
#define QKEY_PKCS11_ENTRY_H

#include "internal.h"

#ifndef QKEY_SYSTEM_PKCS11_3_0 /* else the system header declares them */
CK_RV C_GetInterfaceList(QKT_CK_INTERFACE *pInterfacesList, CK_ULONG *pulCount);
CK_RV C_GetInterface(CK_UTF8CHAR *pInterfaceName, CK_VERSION *pVersion,
                     QKT_CK_INTERFACE **ppInterface, CK_FLAGS flags);
CK_RV C_LoginUser(CK_SESSION_HANDLE hSession, CK_USER_TYPE userType, CK_UTF8CHAR *pPin,
                  CK_ULONG ulPinLen, CK_UTF8CHAR *pUsername, CK_ULONG ulUsernameLen);
CK_RV C_SessionCancel(CK_SESSION_HANDLE hSession, CK_FLAGS flags);
CK_RV C_MessageEncryptInit(CK_SESSION_HANDLE, CK_MECHANISM *, CK_OBJECT_HANDLE);
CK_RV C_EncryptMessage(CK_SESSION_HANDLE, void *, CK_ULONG, CK_BYTE *, CK_ULONG, CK_BYTE *,
                       CK_ULONG, CK_BYTE *, CK_ULONG *);
CK_RV C_EncryptMessageBegin(CK_SESSION_HANDLE, void *, CK_ULONG, CK_BYTE *, CK_ULONG);
CK_RV C_EncryptMessageNext(CK_SESSION_HANDLE, void *, CK_ULONG, CK_BYTE *, CK_ULONG, CK_BYTE *,
                           CK_ULONG *, CK_FLAGS);
CK_RV C_MessageEncryptFinal(CK_SESSION_HANDLE);
CK_RV C_MessageDecryptInit(CK_SESSION_HANDLE, CK_MECHANISM *, CK_OBJECT_HANDLE);
CK_RV C_DecryptMessage(CK_SESSION_HANDLE, void *, CK_ULONG, CK_BYTE *, CK_ULONG, CK_BYTE *,
                       CK_ULONG, CK_BYTE *, CK_ULONG *);
CK_RV C_DecryptMessageBegin(CK_SESSION_HANDLE, void *, CK_ULONG, CK_BYTE *, CK_ULONG);
CK_RV C_DecryptMessageNext(CK_SESSION_HANDLE, void *, CK_ULONG, CK_BYTE *, CK_ULONG, CK_BYTE *,
                           CK_ULONG *, CK_FLAGS);
CK_RV C_MessageDecryptFinal(CK_SESSION_HANDLE);
CK_RV C_MessageSignInit(CK_SESSION_HANDLE, CK_MECHANISM *, CK_OBJECT_HANDLE);
CK_RV C_SignMessage(CK_SESSION_HANDLE, void *, CK_ULONG, CK_BYTE *, CK_ULONG, CK_BYTE *,
                    CK_ULONG *);
CK_RV C_SignMessageBegin(CK_SESSION_HANDLE, void *, CK_ULONG);
CK_RV C_SignMessageNext(CK_SESSION_HANDLE, void *, CK_ULONG, CK_BYTE *, CK_ULONG, CK_BYTE *,
                        CK_ULONG *);
CK_RV C_MessageSignFinal(CK_SESSION_HANDLE);
CK_RV C_MessageVerifyInit(CK_SESSION_HANDLE, CK_MECHANISM *, CK_OBJECT_HANDLE);
CK_RV C_VerifyMessage(CK_SESSION_HANDLE, void *, CK_ULONG, CK_BYTE *, CK_ULONG, CK_BYTE *,
                      CK_ULONG);
CK_RV C_VerifyMessageBegin(CK_SESSION_HANDLE, void *, CK_ULONG);
CK_RV C_VerifyMessageNext(CK_SESSION_HANDLE, void *, CK_ULONG, CK_BYTE *, CK_ULONG, CK_BYTE *,
                          CK_ULONG);
CK_RV C_MessageVerifyFinal(CK_SESSION_HANDLE);
#endif

/* Take the library lock and find the session; on failure nothing is held. */
static inline CK_RV qkt_session_enter(CK_SESSION_HANDLE h, QKT_SESSION **s)
{
    CK_RV rv = qkt_enter();
    if (rv != CKR_OK)
        return rv;
    if ((rv = qkt_session_get(h, s)) != CKR_OK)
        qkt_leave();
    return rv;
}

#define QKT_CHECK_INIT()                                                                           \
    do {                                                                                           \
        if (!qkt_initialised())                                                                    \
            return CKR_CRYPTOKI_NOT_INITIALIZED;                                                   \
    } while (0)

/* After QKT_CHECK_INIT, in the entry points that need the token in the slot. */
#define QKT_CHECK_TOKEN()                                                                          \
    do {                                                                                           \
        if (qkt_token_absent())                                                                    \
            return CKR_TOKEN_NOT_PRESENT;                                                          \
    } while (0)

#endif /* QKEY_PKCS11_ENTRY_H */
