/*
 * The token's published interfaces (PKCS#11 Base 3.0, 5.2 and 5.4): C_GetFunctionList gives
 * the 2.40 table; C_GetInterfaceList/C_GetInterface offer "PKCS 11" 3.0 (default) and 2.40.
 * No CKF_INTERFACE_FORK_SAFE: a forked child must call C_Initialize again (and gets fresh
 * state when it does). These three are the library's only exported symbols (exports.map).
 */
#include <string.h>

#include "internal.h"
#include "entry.h"

#define QKT_240_FUNCTIONS                                                                          \
    C_Initialize, C_Finalize, C_GetInfo, C_GetFunctionList, C_GetSlotList, C_GetSlotInfo,          \
        C_GetTokenInfo, C_GetMechanismList, C_GetMechanismInfo, C_InitToken, C_InitPIN, C_SetPIN,  \
        C_OpenSession, C_CloseSession, C_CloseAllSessions, C_GetSessionInfo, C_GetOperationState,  \
        C_SetOperationState, C_Login, C_Logout, C_CreateObject, C_CopyObject, C_DestroyObject,     \
        C_GetObjectSize, C_GetAttributeValue, C_SetAttributeValue, C_FindObjectsInit,              \
        C_FindObjects, C_FindObjectsFinal, C_EncryptInit, C_Encrypt, C_EncryptUpdate,              \
        C_EncryptFinal, C_DecryptInit, C_Decrypt, C_DecryptUpdate, C_DecryptFinal, C_DigestInit,   \
        C_Digest, C_DigestUpdate, C_DigestKey, C_DigestFinal, C_SignInit, C_Sign, C_SignUpdate,    \
        C_SignFinal, C_SignRecoverInit, C_SignRecover, C_VerifyInit, C_Verify, C_VerifyUpdate,     \
        C_VerifyFinal, C_VerifyRecoverInit, C_VerifyRecover, C_DigestEncryptUpdate,                \
        C_DecryptDigestUpdate, C_SignEncryptUpdate, C_DecryptVerifyUpdate, C_GenerateKey,          \
        C_GenerateKeyPair, C_WrapKey, C_UnwrapKey, C_DeriveKey, C_SeedRandom, C_GenerateRandom,    \
        C_GetFunctionStatus, C_CancelFunction, C_WaitForSlotEvent

static CK_FUNCTION_LIST functions_240 = {{2, 40}, QKT_240_FUNCTIONS};

static QKT_CK_FUNCTION_LIST_3_0 functions_30 = {
    {3, 0},
    QKT_240_FUNCTIONS,
    C_GetInterfaceList,
    C_GetInterface,
    C_LoginUser,
    C_SessionCancel,
    C_MessageEncryptInit,
    C_EncryptMessage,
    C_EncryptMessageBegin,
    C_EncryptMessageNext,
    C_MessageEncryptFinal,
    C_MessageDecryptInit,
    C_DecryptMessage,
    C_DecryptMessageBegin,
    C_DecryptMessageNext,
    C_MessageDecryptFinal,
    C_MessageSignInit,
    C_SignMessage,
    C_SignMessageBegin,
    C_SignMessageNext,
    C_MessageSignFinal,
    C_MessageVerifyInit,
    C_VerifyMessage,
    C_VerifyMessageBegin,
    C_VerifyMessageNext,
    C_MessageVerifyFinal,
};

/* CK_CHAR in the specification, char in p11-kit 0.25's struct: void * converts to either. */
static char interface_name[] = "PKCS 11";

/* The first entry is the default (Base 3.0, 5.2: C_GetInterface with a NULL name). */
static QKT_CK_INTERFACE interfaces[] = {
    {(void *)interface_name, &functions_30, 0},
    {(void *)interface_name, &functions_240, 0},
};
#define N_INTERFACES (sizeof(interfaces) / sizeof(interfaces[0]))

QKT_EXPORT CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR ppFunctionList)
{
    if (ppFunctionList == NULL)
        return CKR_ARGUMENTS_BAD;
    *ppFunctionList = &functions_240;
    return CKR_OK;
}

QKT_EXPORT CK_RV C_GetInterfaceList(QKT_CK_INTERFACE *pInterfacesList, CK_ULONG *pulCount)
{
    if (pulCount == NULL)
        return CKR_ARGUMENTS_BAD;
    if (pInterfacesList == NULL) {
        *pulCount = N_INTERFACES;
        return CKR_OK;
    }
    if (*pulCount < N_INTERFACES) {
        *pulCount = N_INTERFACES;
        return CKR_BUFFER_TOO_SMALL;
    }
    memcpy(pInterfacesList, interfaces, sizeof(interfaces));
    *pulCount = N_INTERFACES;
    return CKR_OK;
}

QKT_EXPORT CK_RV C_GetInterface(CK_UTF8CHAR *pInterfaceName, CK_VERSION *pVersion,
                                QKT_CK_INTERFACE **ppInterface, CK_FLAGS flags)
{
    if (ppInterface == NULL)
        return CKR_ARGUMENTS_BAD;
    for (size_t i = 0; i < N_INTERFACES; i++) {
        const CK_VERSION *v = interfaces[i].pFunctionList;
        if (pInterfaceName != NULL &&
            strcmp((const char *)pInterfaceName, (const char *)interfaces[i].pInterfaceName))
            continue;
        if (pVersion != NULL && (pVersion->major != v->major || pVersion->minor != v->minor))
            continue;
        if ((interfaces[i].flags & flags) != flags)
            continue;
        *ppInterface = &interfaces[i];
        return CKR_OK;
    }
    return CKR_FUNCTION_FAILED; /* Base 3.0, 5.2: no interface matches */
}
