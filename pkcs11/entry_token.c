/*
 * Entry points for slots, the token, sessions and login (PKCS#11 Base 3.0, 5.5 - 5.6).
 * Thin: check initialised, then arguments, then the session, then hand over.
 */
#include <string.h>

#include "entry.h"

CK_RV C_GetSlotList(CK_BBOOL tokenPresent, CK_SLOT_ID_PTR pSlotList, CK_ULONG_PTR pulCount)
{
    QKT_CHECK_INIT();
    if (pulCount == NULL)
        return CKR_ARGUMENTS_BAD;
    if (tokenPresent && qkt_token_absent()) {
        *pulCount = 0; /* the one slot is empty until qkey.conf configures a source */
        return CKR_OK;
    }
    if (pSlotList != NULL) {
        if (*pulCount < 1) {
            *pulCount = 1;
            return CKR_BUFFER_TOO_SMALL;
        }
        pSlotList[0] = QKT_SLOT_ID;
    }
    *pulCount = 1;
    return CKR_OK;
}

CK_RV C_GetSlotInfo(CK_SLOT_ID slotID, CK_SLOT_INFO_PTR pInfo)
{
    QKT_CHECK_INIT();
    if (pInfo == NULL)
        return CKR_ARGUMENTS_BAD;
    if (slotID != QKT_SLOT_ID)
        return CKR_SLOT_ID_INVALID;
    return qkt_slot_info(pInfo);
}

CK_RV C_GetTokenInfo(CK_SLOT_ID slotID, CK_TOKEN_INFO_PTR pInfo)
{
    CK_RV rv;
    QKT_CHECK_INIT();
    if (pInfo == NULL)
        return CKR_ARGUMENTS_BAD;
    if (slotID != QKT_SLOT_ID)
        return CKR_SLOT_ID_INVALID;
    QKT_CHECK_TOKEN();
    if ((rv = qkt_enter()) != CKR_OK)
        return rv;
    rv = qkt_token_info(pInfo);
    qkt_leave();
    return rv;
}

CK_RV C_GetMechanismList(CK_SLOT_ID slotID, CK_MECHANISM_TYPE_PTR pMechanismList,
                         CK_ULONG_PTR pulCount)
{
    QKT_CHECK_INIT();
    if (pulCount == NULL)
        return CKR_ARGUMENTS_BAD;
    if (slotID != QKT_SLOT_ID)
        return CKR_SLOT_ID_INVALID;
    QKT_CHECK_TOKEN();
    return qkt_mech_list(pMechanismList, pulCount);
}

CK_RV C_GetMechanismInfo(CK_SLOT_ID slotID, CK_MECHANISM_TYPE type, CK_MECHANISM_INFO_PTR pInfo)
{
    QKT_CHECK_INIT();
    if (pInfo == NULL)
        return CKR_ARGUMENTS_BAD;
    if (slotID != QKT_SLOT_ID)
        return CKR_SLOT_ID_INVALID;
    QKT_CHECK_TOKEN();
    return qkt_mech_info(type, pInfo);
}

CK_RV C_InitToken(CK_SLOT_ID slotID, CK_UTF8CHAR_PTR pPin, CK_ULONG ulPinLen,
                  CK_UTF8CHAR_PTR pLabel)
{
    CK_RV rv;
    QKT_CHECK_INIT();
    if (pPin == NULL || pLabel == NULL)
        return CKR_ARGUMENTS_BAD;
    if (slotID != QKT_SLOT_ID)
        return CKR_SLOT_ID_INVALID;
    QKT_CHECK_TOKEN();
    if ((rv = qkt_enter()) != CKR_OK)
        return rv;
    rv = qkt_token_init(pPin, ulPinLen, pLabel);
    qkt_leave();
    return rv;
}

CK_RV C_InitPIN(CK_SESSION_HANDLE hSession, CK_UTF8CHAR_PTR pPin, CK_ULONG ulPinLen)
{
    QKT_SESSION *s;
    CK_RV rv;
    QKT_CHECK_INIT();
    if (pPin == NULL && ulPinLen != 0)
        return CKR_ARGUMENTS_BAD;
    if ((rv = qkt_session_enter(hSession, &s)) != CKR_OK)
        return rv;
    rv = qkt_pin_init(s, pPin, ulPinLen);
    qkt_leave();
    return rv;
}

CK_RV C_SetPIN(CK_SESSION_HANDLE hSession, CK_UTF8CHAR_PTR pOldPin, CK_ULONG ulOldLen,
               CK_UTF8CHAR_PTR pNewPin, CK_ULONG ulNewLen)
{
    QKT_SESSION *s;
    CK_RV rv;
    QKT_CHECK_INIT();
    if ((pOldPin == NULL && ulOldLen != 0) || (pNewPin == NULL && ulNewLen != 0))
        return CKR_ARGUMENTS_BAD;
    if ((rv = qkt_session_enter(hSession, &s)) != CKR_OK)
        return rv;
    rv = qkt_pin_set(s, pOldPin, ulOldLen, pNewPin, ulNewLen);
    qkt_leave();
    return rv;
}

CK_RV C_OpenSession(CK_SLOT_ID slotID, CK_FLAGS flags, CK_VOID_PTR pApplication, CK_NOTIFY Notify,
                    CK_SESSION_HANDLE_PTR phSession)
{
    CK_RV rv;
    (void)pApplication; /* no notifications: the token never calls back */
    (void)Notify;
    QKT_CHECK_INIT();
    if (phSession == NULL)
        return CKR_ARGUMENTS_BAD;
    if (slotID != QKT_SLOT_ID)
        return CKR_SLOT_ID_INVALID;
    QKT_CHECK_TOKEN();
    if (!(flags & CKF_SERIAL_SESSION))
        return CKR_SESSION_PARALLEL_NOT_SUPPORTED;
    if ((rv = qkt_enter()) != CKR_OK)
        return rv;
    rv = qkt_session_open(flags, phSession);
    qkt_leave();
    return rv;
}

CK_RV C_CloseSession(CK_SESSION_HANDLE hSession)
{
    CK_RV rv;
    if ((rv = qkt_enter()) != CKR_OK)
        return rv;
    rv = qkt_session_close(hSession);
    qkt_leave();
    return rv;
}

CK_RV C_CloseAllSessions(CK_SLOT_ID slotID)
{
    CK_RV rv;
    QKT_CHECK_INIT();
    if (slotID != QKT_SLOT_ID)
        return CKR_SLOT_ID_INVALID;
    if ((rv = qkt_enter()) != CKR_OK)
        return rv;
    qkt_session_close_all();
    qkt_leave();
    return CKR_OK;
}

CK_RV C_GetSessionInfo(CK_SESSION_HANDLE hSession, CK_SESSION_INFO_PTR pInfo)
{
    QKT_SESSION *s;
    CK_RV rv;
    QKT_CHECK_INIT();
    if (pInfo == NULL)
        return CKR_ARGUMENTS_BAD;
    if ((rv = qkt_session_enter(hSession, &s)) != CKR_OK)
        return rv;
    memset(pInfo, 0, sizeof(*pInfo));
    pInfo->slotID = QKT_SLOT_ID;
    pInfo->state = qkt_session_state(s);
    pInfo->flags = s->flags;
    qkt_leave();
    return CKR_OK;
}

CK_RV C_GetOperationState(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pOperationState,
                          CK_ULONG_PTR pulOperationStateLen)
{
    QKT_SESSION *s;
    CK_RV rv;
    (void)pOperationState;
    QKT_CHECK_INIT();
    if (pulOperationStateLen == NULL)
        return CKR_ARGUMENTS_BAD;
    if ((rv = qkt_session_enter(hSession, &s)) != CKR_OK)
        return rv;
    qkt_leave();
    /* Operation state would carry key schedules out of the token: never offered. */
    return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_RV C_SetOperationState(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pOperationState,
                          CK_ULONG ulOperationStateLen, CK_OBJECT_HANDLE hEncryptionKey,
                          CK_OBJECT_HANDLE hAuthenticationKey)
{
    QKT_SESSION *s;
    CK_RV rv;
    (void)ulOperationStateLen;
    (void)hEncryptionKey;
    (void)hAuthenticationKey;
    QKT_CHECK_INIT();
    if (pOperationState == NULL)
        return CKR_ARGUMENTS_BAD;
    if ((rv = qkt_session_enter(hSession, &s)) != CKR_OK)
        return rv;
    qkt_leave();
    return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_RV C_Login(CK_SESSION_HANDLE hSession, CK_USER_TYPE userType, CK_UTF8CHAR_PTR pPin,
              CK_ULONG ulPinLen)
{
    QKT_SESSION *s;
    CK_RV rv;
    QKT_CHECK_INIT();
    if (pPin == NULL && ulPinLen != 0)
        return CKR_ARGUMENTS_BAD;
    if ((rv = qkt_session_enter(hSession, &s)) != CKR_OK)
        return rv;
    rv = qkt_login(s, userType, pPin, ulPinLen);
    qkt_leave();
    return rv;
}

CK_RV C_LoginUser(CK_SESSION_HANDLE hSession, CK_USER_TYPE userType, CK_UTF8CHAR *pPin,
                  CK_ULONG ulPinLen, CK_UTF8CHAR *pUsername, CK_ULONG ulUsernameLen)
{
    (void)pUsername; /* one user per role: the name carries no meaning (Base 3.0, 5.6) */
    (void)ulUsernameLen;
    return C_Login(hSession, userType, pPin, ulPinLen);
}

CK_RV C_Logout(CK_SESSION_HANDLE hSession)
{
    QKT_SESSION *s;
    CK_RV rv;
    if ((rv = qkt_session_enter(hSession, &s)) != CKR_OK)
        return rv;
    rv = qkt_logout();
    qkt_leave();
    return rv;
}

CK_RV C_SessionCancel(CK_SESSION_HANDLE hSession, CK_FLAGS flags)
{
    QKT_SESSION *s;
    CK_RV rv;
    if ((rv = qkt_session_enter(hSession, &s)) != CKR_OK)
        return rv;
    static const struct {
        CK_FLAGS flag;
        int kind;
    } map[] = {{CKF_ENCRYPT, QKT_ENCRYPT},
               {CKF_DECRYPT, QKT_DECRYPT},
               {CKF_DIGEST, QKT_DIGEST},
               {CKF_SIGN, QKT_SIGN},
               {CKF_VERIFY, QKT_VERIFY}};
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (flags & map[i].flag) {
            QKT_OP **op = qkt_op_slot(s, map[i].kind);
            qkt_op_free(*op);
            *op = NULL;
        }
    if (flags & CKF_FIND_OBJECTS) {
        qkt_find_free(s->find);
        s->find = NULL;
    }
    qkt_leave();
    return CKR_OK;
}

CK_RV C_GetFunctionStatus(CK_SESSION_HANDLE hSession)
{
    QKT_SESSION *s;
    CK_RV rv;
    if ((rv = qkt_session_enter(hSession, &s)) != CKR_OK)
        return rv;
    qkt_leave();
    return CKR_FUNCTION_NOT_PARALLEL; /* legacy (Base 3.0, 5.17) */
}

CK_RV C_CancelFunction(CK_SESSION_HANDLE hSession)
{
    QKT_SESSION *s;
    CK_RV rv;
    if ((rv = qkt_session_enter(hSession, &s)) != CKR_OK)
        return rv;
    qkt_leave();
    return CKR_FUNCTION_NOT_PARALLEL;
}

CK_RV C_WaitForSlotEvent(CK_FLAGS flags, CK_SLOT_ID_PTR pSlot, CK_VOID_PTR pReserved)
{
    (void)flags;
    (void)pSlot;
    (void)pReserved;
    QKT_CHECK_INIT();
    /* The token is never inserted or removed. */
    return CKR_FUNCTION_NOT_SUPPORTED;
}
