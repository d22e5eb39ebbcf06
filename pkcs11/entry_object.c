/*
 * Entry points for objects, key management and randomness (PKCS#11 Base 3.0, 5.7, 5.14,
 * 5.15). Thin: check initialised, then arguments, then the session, then hand over.
 */
#include "entry.h"

#define TEMPLATE_OK(t, n) ((t) != NULL || (n) == 0)

CK_RV C_CreateObject(CK_SESSION_HANDLE hSession, CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount,
                     CK_OBJECT_HANDLE_PTR phObject)
{
    QKT_SESSION *s;
    CK_RV rv;
    QKT_CHECK_INIT();
    if (!TEMPLATE_OK(pTemplate, ulCount) || phObject == NULL)
        return CKR_ARGUMENTS_BAD;
    if ((rv = qkt_session_enter(hSession, &s)) != CKR_OK)
        return rv;
    rv = qkt_object_create(s, pTemplate, ulCount, phObject);
    qkt_leave();
    return rv;
}

CK_RV C_CopyObject(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject, CK_ATTRIBUTE_PTR pTemplate,
                   CK_ULONG ulCount, CK_OBJECT_HANDLE_PTR phNewObject)
{
    QKT_SESSION *s;
    CK_RV rv;
    QKT_CHECK_INIT();
    if (!TEMPLATE_OK(pTemplate, ulCount) || phNewObject == NULL)
        return CKR_ARGUMENTS_BAD;
    if ((rv = qkt_session_enter(hSession, &s)) != CKR_OK)
        return rv;
    rv = qkt_object_copy(s, hObject, pTemplate, ulCount, phNewObject);
    qkt_leave();
    return rv;
}

CK_RV C_DestroyObject(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject)
{
    QKT_SESSION *s;
    CK_RV rv;
    if ((rv = qkt_session_enter(hSession, &s)) != CKR_OK)
        return rv;
    rv = qkt_object_destroy(s, hObject);
    qkt_leave();
    return rv;
}

CK_RV C_GetObjectSize(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject, CK_ULONG_PTR pulSize)
{
    QKT_SESSION *s;
    CK_RV rv;
    QKT_CHECK_INIT();
    if (pulSize == NULL)
        return CKR_ARGUMENTS_BAD;
    if ((rv = qkt_session_enter(hSession, &s)) != CKR_OK)
        return rv;
    rv = qkt_object_size(s, hObject, pulSize);
    qkt_leave();
    return rv;
}

CK_RV C_GetAttributeValue(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
                          CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount)
{
    QKT_SESSION *s;
    QKT_OBJ *obj;
    CK_RV rv;
    QKT_CHECK_INIT();
    if (!TEMPLATE_OK(pTemplate, ulCount))
        return CKR_ARGUMENTS_BAD;
    if ((rv = qkt_session_enter(hSession, &s)) != CKR_OK)
        return rv;
    if ((rv = qkt_object_get(s, hObject, &obj)) == CKR_OK)
        rv = qkt_attr_get(obj, pTemplate, ulCount);
    qkt_leave();
    return rv;
}

CK_RV C_SetAttributeValue(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
                          CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount)
{
    QKT_SESSION *s;
    CK_RV rv;
    QKT_CHECK_INIT();
    if (!TEMPLATE_OK(pTemplate, ulCount))
        return CKR_ARGUMENTS_BAD;
    if ((rv = qkt_session_enter(hSession, &s)) != CKR_OK)
        return rv;
    rv = qkt_object_set_attrs(s, hObject, pTemplate, ulCount);
    qkt_leave();
    return rv;
}

CK_RV C_FindObjectsInit(CK_SESSION_HANDLE hSession, CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount)
{
    QKT_SESSION *s;
    CK_RV rv;
    QKT_CHECK_INIT();
    if (!TEMPLATE_OK(pTemplate, ulCount))
        return CKR_ARGUMENTS_BAD;
    if ((rv = qkt_session_enter(hSession, &s)) != CKR_OK)
        return rv;
    rv = qkt_find_init(s, pTemplate, ulCount);
    qkt_leave();
    return rv;
}

CK_RV C_FindObjects(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE_PTR phObject,
                    CK_ULONG ulMaxObjectCount, CK_ULONG_PTR pulObjectCount)
{
    QKT_SESSION *s;
    CK_RV rv;
    QKT_CHECK_INIT();
    if ((phObject == NULL && ulMaxObjectCount != 0) || pulObjectCount == NULL)
        return CKR_ARGUMENTS_BAD;
    if ((rv = qkt_session_enter(hSession, &s)) != CKR_OK)
        return rv;
    rv = qkt_find_next(s, phObject, ulMaxObjectCount, pulObjectCount);
    qkt_leave();
    return rv;
}

CK_RV C_FindObjectsFinal(CK_SESSION_HANDLE hSession)
{
    QKT_SESSION *s;
    CK_RV rv;
    if ((rv = qkt_session_enter(hSession, &s)) != CKR_OK)
        return rv;
    rv = qkt_find_final(s);
    qkt_leave();
    return rv;
}

CK_RV C_GenerateKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                    CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount, CK_OBJECT_HANDLE_PTR phKey)
{
    QKT_SESSION *s;
    CK_RV rv;
    QKT_CHECK_INIT();
    if (pMechanism == NULL || !TEMPLATE_OK(pTemplate, ulCount) || phKey == NULL)
        return CKR_ARGUMENTS_BAD;
    if ((rv = qkt_session_enter(hSession, &s)) != CKR_OK)
        return rv;
    rv = qkt_generate_key(s, pMechanism, pTemplate, ulCount, phKey);
    qkt_leave();
    return rv;
}

CK_RV C_GenerateKeyPair(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                        CK_ATTRIBUTE_PTR pPublicKeyTemplate, CK_ULONG ulPublicKeyAttributeCount,
                        CK_ATTRIBUTE_PTR pPrivateKeyTemplate, CK_ULONG ulPrivateKeyAttributeCount,
                        CK_OBJECT_HANDLE_PTR phPublicKey, CK_OBJECT_HANDLE_PTR phPrivateKey)
{
    QKT_SESSION *s;
    CK_RV rv;
    QKT_CHECK_INIT();
    if (pMechanism == NULL || !TEMPLATE_OK(pPublicKeyTemplate, ulPublicKeyAttributeCount) ||
        !TEMPLATE_OK(pPrivateKeyTemplate, ulPrivateKeyAttributeCount) || phPublicKey == NULL ||
        phPrivateKey == NULL)
        return CKR_ARGUMENTS_BAD;
    if ((rv = qkt_session_enter(hSession, &s)) != CKR_OK)
        return rv;
    rv = qkt_generate_key_pair(s, pMechanism, pPublicKeyTemplate, ulPublicKeyAttributeCount,
                               pPrivateKeyTemplate, ulPrivateKeyAttributeCount, phPublicKey,
                               phPrivateKey);
    qkt_leave();
    return rv;
}

CK_RV C_WrapKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                CK_OBJECT_HANDLE hWrappingKey, CK_OBJECT_HANDLE hKey, CK_BYTE_PTR pWrappedKey,
                CK_ULONG_PTR pulWrappedKeyLen)
{
    QKT_SESSION *s;
    CK_RV rv;
    QKT_CHECK_INIT();
    if (pMechanism == NULL || pulWrappedKeyLen == NULL)
        return CKR_ARGUMENTS_BAD;
    if ((rv = qkt_session_enter(hSession, &s)) != CKR_OK)
        return rv;
    rv = qkt_wrap(s, pMechanism, hWrappingKey, hKey, pWrappedKey, pulWrappedKeyLen);
    qkt_leave();
    return rv;
}

CK_RV C_UnwrapKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                  CK_OBJECT_HANDLE hUnwrappingKey, CK_BYTE_PTR pWrappedKey,
                  CK_ULONG ulWrappedKeyLen, CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulAttributeCount,
                  CK_OBJECT_HANDLE_PTR phKey)
{
    QKT_SESSION *s;
    CK_RV rv;
    QKT_CHECK_INIT();
    if (pMechanism == NULL || pWrappedKey == NULL || !TEMPLATE_OK(pTemplate, ulAttributeCount) ||
        phKey == NULL)
        return CKR_ARGUMENTS_BAD;
    if ((rv = qkt_session_enter(hSession, &s)) != CKR_OK)
        return rv;
    rv = qkt_unwrap(s, pMechanism, hUnwrappingKey, pWrappedKey, ulWrappedKeyLen, pTemplate,
                    ulAttributeCount, phKey);
    qkt_leave();
    return rv;
}

CK_RV C_DeriveKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                  CK_OBJECT_HANDLE hBaseKey, CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulAttributeCount,
                  CK_OBJECT_HANDLE_PTR phKey)
{
    QKT_SESSION *s;
    CK_RV rv;
    QKT_CHECK_INIT();
    if (pMechanism == NULL || !TEMPLATE_OK(pTemplate, ulAttributeCount) || phKey == NULL)
        return CKR_ARGUMENTS_BAD;
    if ((rv = qkt_session_enter(hSession, &s)) != CKR_OK)
        return rv;
    rv = qkt_derive(s, pMechanism, hBaseKey, pTemplate, ulAttributeCount, phKey);
    qkt_leave();
    return rv;
}

CK_RV C_SeedRandom(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSeed, CK_ULONG ulSeedLen)
{
    QKT_SESSION *s;
    CK_RV rv;
    QKT_CHECK_INIT();
    if (pSeed == NULL && ulSeedLen != 0)
        return CKR_ARGUMENTS_BAD;
    if ((rv = qkt_session_enter(hSession, &s)) != CKR_OK)
        return rv;
    rv = qkt_seed(pSeed, ulSeedLen);
    qkt_leave();
    return rv;
}

CK_RV C_GenerateRandom(CK_SESSION_HANDLE hSession, CK_BYTE_PTR RandomData, CK_ULONG ulRandomLen)
{
    QKT_SESSION *s;
    CK_RV rv;
    QKT_CHECK_INIT();
    if (RandomData == NULL && ulRandomLen != 0)
        return CKR_ARGUMENTS_BAD;
    if ((rv = qkt_session_enter(hSession, &s)) != CKR_OK)
        return rv;
    rv = qkt_random(RandomData, ulRandomLen);
    qkt_leave();
    return rv;
}
