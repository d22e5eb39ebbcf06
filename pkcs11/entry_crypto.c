/*
 * Entry points for encryption, decryption, digests, signatures (MACs) and verification
 * (PKCS#11 Base 3.0, 5.8 - 5.13), and the 3.0 message-based functions, which the token does
 * not offer (CKR_FUNCTION_NOT_SUPPORTED after the usual checks). Thin: check initialised,
 * then arguments, then the session, then hand over to mech.c.
 */
#include "entry.h"

static CK_RV op_init(CK_SESSION_HANDLE h, int kind, CK_MECHANISM_PTR mech, CK_OBJECT_HANDLE key)
{
    QKT_SESSION *s;
    CK_RV rv;
    QKT_CHECK_INIT();
    if (mech == NULL)
        return CKR_ARGUMENTS_BAD;
    if ((rv = qkt_session_enter(h, &s)) != CKR_OK)
        return rv;
    rv = qkt_op_init(s, kind, mech, key);
    qkt_leave();
    return rv;
}

/* Bad arguments to a call on an active operation end it (Base 3.0, 5.2: a call terminates its
 * operation unless it returns CKR_OK or CKR_BUFFER_TOO_SMALL, or queries a length). */
static CK_RV bad_arguments(CK_SESSION_HANDLE h, int kind)
{
    QKT_SESSION *s;
    CK_RV rv = qkt_session_enter(h, &s);
    if (rv != CKR_OK)
        return rv;
    qkt_op_end(s, kind);
    qkt_leave();
    return CKR_ARGUMENTS_BAD;
}

static CK_RV op_oneshot(CK_SESSION_HANDLE h, int kind, CK_BYTE_PTR in, CK_ULONG inlen,
                        CK_BYTE_PTR out, CK_ULONG_PTR outlen)
{
    QKT_SESSION *s;
    CK_RV rv;
    QKT_CHECK_INIT();
    if ((in == NULL && inlen != 0) || outlen == NULL)
        return bad_arguments(h, kind);
    if ((rv = qkt_session_enter(h, &s)) != CKR_OK)
        return rv;
    rv = qkt_op_oneshot(s, kind, in, inlen, out, outlen);
    qkt_leave();
    return rv;
}

static CK_RV op_update(CK_SESSION_HANDLE h, int kind, CK_BYTE_PTR in, CK_ULONG inlen,
                       CK_BYTE_PTR out, CK_ULONG_PTR outlen)
{
    QKT_SESSION *s;
    CK_RV rv;
    QKT_CHECK_INIT();
    if ((in == NULL && inlen != 0) ||
        (outlen == NULL && (kind == QKT_ENCRYPT || kind == QKT_DECRYPT)))
        return bad_arguments(h, kind);
    if ((rv = qkt_session_enter(h, &s)) != CKR_OK)
        return rv;
    rv = qkt_op_update(s, kind, in, inlen, out, outlen);
    qkt_leave();
    return rv;
}

static CK_RV op_final(CK_SESSION_HANDLE h, int kind, CK_BYTE_PTR out, CK_ULONG_PTR outlen)
{
    QKT_SESSION *s;
    CK_RV rv;
    QKT_CHECK_INIT();
    if (outlen == NULL)
        return bad_arguments(h, kind);
    if ((rv = qkt_session_enter(h, &s)) != CKR_OK)
        return rv;
    rv = qkt_op_final(s, kind, out, outlen);
    qkt_leave();
    return rv;
}

CK_RV C_EncryptInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hKey)
{
    return op_init(hSession, QKT_ENCRYPT, pMechanism, hKey);
}

CK_RV C_Encrypt(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
                CK_BYTE_PTR pEncryptedData, CK_ULONG_PTR pulEncryptedDataLen)
{
    return op_oneshot(hSession, QKT_ENCRYPT, pData, ulDataLen, pEncryptedData, pulEncryptedDataLen);
}

CK_RV C_EncryptUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen,
                      CK_BYTE_PTR pEncryptedPart, CK_ULONG_PTR pulEncryptedPartLen)
{
    return op_update(hSession, QKT_ENCRYPT, pPart, ulPartLen, pEncryptedPart, pulEncryptedPartLen);
}

CK_RV C_EncryptFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pLastEncryptedPart,
                     CK_ULONG_PTR pulLastEncryptedPartLen)
{
    return op_final(hSession, QKT_ENCRYPT, pLastEncryptedPart, pulLastEncryptedPartLen);
}

CK_RV C_DecryptInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hKey)
{
    return op_init(hSession, QKT_DECRYPT, pMechanism, hKey);
}

CK_RV C_Decrypt(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pEncryptedData, CK_ULONG ulEncryptedDataLen,
                CK_BYTE_PTR pData, CK_ULONG_PTR pulDataLen)
{
    return op_oneshot(hSession, QKT_DECRYPT, pEncryptedData, ulEncryptedDataLen, pData, pulDataLen);
}

CK_RV C_DecryptUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pEncryptedPart,
                      CK_ULONG ulEncryptedPartLen, CK_BYTE_PTR pPart, CK_ULONG_PTR pulPartLen)
{
    return op_update(hSession, QKT_DECRYPT, pEncryptedPart, ulEncryptedPartLen, pPart, pulPartLen);
}

CK_RV C_DecryptFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pLastPart, CK_ULONG_PTR pulLastPartLen)
{
    return op_final(hSession, QKT_DECRYPT, pLastPart, pulLastPartLen);
}

CK_RV C_DigestInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism)
{
    return op_init(hSession, QKT_DIGEST, pMechanism, CK_INVALID_HANDLE);
}

CK_RV C_Digest(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
               CK_BYTE_PTR pDigest, CK_ULONG_PTR pulDigestLen)
{
    return op_oneshot(hSession, QKT_DIGEST, pData, ulDataLen, pDigest, pulDigestLen);
}

CK_RV C_DigestUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen)
{
    return op_update(hSession, QKT_DIGEST, pPart, ulPartLen, NULL, NULL);
}

CK_RV C_DigestKey(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hKey)
{
    QKT_SESSION *s;
    CK_RV rv;
    if ((rv = qkt_session_enter(hSession, &s)) != CKR_OK)
        return rv;
    rv = qkt_op_digest_key(s, hKey);
    qkt_leave();
    return rv;
}

CK_RV C_DigestFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pDigest, CK_ULONG_PTR pulDigestLen)
{
    return op_final(hSession, QKT_DIGEST, pDigest, pulDigestLen);
}

CK_RV C_SignInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hKey)
{
    return op_init(hSession, QKT_SIGN, pMechanism, hKey);
}

CK_RV C_Sign(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
             CK_BYTE_PTR pSignature, CK_ULONG_PTR pulSignatureLen)
{
    return op_oneshot(hSession, QKT_SIGN, pData, ulDataLen, pSignature, pulSignatureLen);
}

CK_RV C_SignUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen)
{
    return op_update(hSession, QKT_SIGN, pPart, ulPartLen, NULL, NULL);
}

CK_RV C_SignFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSignature, CK_ULONG_PTR pulSignatureLen)
{
    return op_final(hSession, QKT_SIGN, pSignature, pulSignatureLen);
}

CK_RV C_VerifyInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hKey)
{
    return op_init(hSession, QKT_VERIFY, pMechanism, hKey);
}

static CK_RV verify(CK_SESSION_HANDLE h, CK_BYTE_PTR data, CK_ULONG len, CK_BYTE_PTR sig,
                    CK_ULONG siglen, int oneshot)
{
    QKT_SESSION *s;
    CK_RV rv;
    QKT_CHECK_INIT();
    if ((data == NULL && len != 0) || sig == NULL)
        return bad_arguments(h, QKT_VERIFY);
    if ((rv = qkt_session_enter(h, &s)) != CKR_OK)
        return rv;
    rv = qkt_op_verify(s, data, len, sig, siglen, oneshot);
    qkt_leave();
    return rv;
}

CK_RV C_Verify(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
               CK_BYTE_PTR pSignature, CK_ULONG ulSignatureLen)
{
    return verify(hSession, pData, ulDataLen, pSignature, ulSignatureLen, 1);
}

CK_RV C_VerifyUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen)
{
    return op_update(hSession, QKT_VERIFY, pPart, ulPartLen, NULL, NULL);
}

CK_RV C_VerifyFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSignature, CK_ULONG ulSignatureLen)
{
    return verify(hSession, NULL, 0, pSignature, ulSignatureLen, 0);
}

/* ---- functions the token does not offer: the usual checks, then NOT_SUPPORTED --------- */
static CK_RV unsupported(CK_SESSION_HANDLE h)
{
    QKT_SESSION *s;
    CK_RV rv;
    if ((rv = qkt_session_enter(h, &s)) != CKR_OK)
        return rv;
    qkt_leave();
    return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_RV C_SignRecoverInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                        CK_OBJECT_HANDLE hKey)
{
    (void)pMechanism;
    (void)hKey;
    return unsupported(hSession);
}

CK_RV C_SignRecover(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
                    CK_BYTE_PTR pSignature, CK_ULONG_PTR pulSignatureLen)
{
    (void)pData, (void)ulDataLen, (void)pSignature, (void)pulSignatureLen;
    return unsupported(hSession);
}

CK_RV C_VerifyRecoverInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                          CK_OBJECT_HANDLE hKey)
{
    (void)pMechanism;
    (void)hKey;
    return unsupported(hSession);
}

CK_RV C_VerifyRecover(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSignature, CK_ULONG ulSignatureLen,
                      CK_BYTE_PTR pData, CK_ULONG_PTR pulDataLen)
{
    (void)pSignature, (void)ulSignatureLen, (void)pData, (void)pulDataLen;
    return unsupported(hSession);
}

CK_RV C_DigestEncryptUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen,
                            CK_BYTE_PTR pEncryptedPart, CK_ULONG_PTR pulEncryptedPartLen)
{
    (void)pPart, (void)ulPartLen, (void)pEncryptedPart, (void)pulEncryptedPartLen;
    return unsupported(hSession);
}

CK_RV C_DecryptDigestUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pEncryptedPart,
                            CK_ULONG ulEncryptedPartLen, CK_BYTE_PTR pPart, CK_ULONG_PTR pulPartLen)
{
    (void)pEncryptedPart, (void)ulEncryptedPartLen, (void)pPart, (void)pulPartLen;
    return unsupported(hSession);
}

CK_RV C_SignEncryptUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen,
                          CK_BYTE_PTR pEncryptedPart, CK_ULONG_PTR pulEncryptedPartLen)
{
    (void)pPart, (void)ulPartLen, (void)pEncryptedPart, (void)pulEncryptedPartLen;
    return unsupported(hSession);
}

CK_RV C_DecryptVerifyUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pEncryptedPart,
                            CK_ULONG ulEncryptedPartLen, CK_BYTE_PTR pPart, CK_ULONG_PTR pulPartLen)
{
    (void)pEncryptedPart, (void)ulEncryptedPartLen, (void)pPart, (void)pulPartLen;
    return unsupported(hSession);
}

#define MSG_INIT(name)                                                                             \
    CK_RV name(CK_SESSION_HANDLE h, CK_MECHANISM *m, CK_OBJECT_HANDLE k)                           \
    {                                                                                              \
        (void)m, (void)k;                                                                          \
        return unsupported(h);                                                                     \
    }
#define MSG_FINAL(name)                                                                            \
    CK_RV name(CK_SESSION_HANDLE h)                                                                \
    {                                                                                              \
        return unsupported(h);                                                                     \
    }
MSG_INIT(C_MessageEncryptInit)
MSG_INIT(C_MessageDecryptInit)
MSG_INIT(C_MessageSignInit)
MSG_INIT(C_MessageVerifyInit)
MSG_FINAL(C_MessageEncryptFinal)
MSG_FINAL(C_MessageDecryptFinal)
MSG_FINAL(C_MessageSignFinal)
MSG_FINAL(C_MessageVerifyFinal)

CK_RV C_EncryptMessage(CK_SESSION_HANDLE h, void *p, CK_ULONG pl, CK_BYTE *ad, CK_ULONG adl,
                       CK_BYTE *in, CK_ULONG inl, CK_BYTE *out, CK_ULONG *outl)
{
    (void)p, (void)pl, (void)ad, (void)adl, (void)in, (void)inl, (void)out, (void)outl;
    return unsupported(h);
}

CK_RV C_DecryptMessage(CK_SESSION_HANDLE h, void *p, CK_ULONG pl, CK_BYTE *ad, CK_ULONG adl,
                       CK_BYTE *in, CK_ULONG inl, CK_BYTE *out, CK_ULONG *outl)
{
    (void)p, (void)pl, (void)ad, (void)adl, (void)in, (void)inl, (void)out, (void)outl;
    return unsupported(h);
}

CK_RV C_EncryptMessageBegin(CK_SESSION_HANDLE h, void *p, CK_ULONG pl, CK_BYTE *ad, CK_ULONG adl)
{
    (void)p, (void)pl, (void)ad, (void)adl;
    return unsupported(h);
}

CK_RV C_DecryptMessageBegin(CK_SESSION_HANDLE h, void *p, CK_ULONG pl, CK_BYTE *ad, CK_ULONG adl)
{
    (void)p, (void)pl, (void)ad, (void)adl;
    return unsupported(h);
}

CK_RV C_EncryptMessageNext(CK_SESSION_HANDLE h, void *p, CK_ULONG pl, CK_BYTE *in, CK_ULONG inl,
                           CK_BYTE *out, CK_ULONG *outl, CK_FLAGS f)
{
    (void)p, (void)pl, (void)in, (void)inl, (void)out, (void)outl, (void)f;
    return unsupported(h);
}

CK_RV C_DecryptMessageNext(CK_SESSION_HANDLE h, void *p, CK_ULONG pl, CK_BYTE *in, CK_ULONG inl,
                           CK_BYTE *out, CK_ULONG *outl, CK_FLAGS f)
{
    (void)p, (void)pl, (void)in, (void)inl, (void)out, (void)outl, (void)f;
    return unsupported(h);
}

CK_RV C_SignMessage(CK_SESSION_HANDLE h, void *p, CK_ULONG pl, CK_BYTE *d, CK_ULONG dl,
                    CK_BYTE *sig, CK_ULONG *sigl)
{
    (void)p, (void)pl, (void)d, (void)dl, (void)sig, (void)sigl;
    return unsupported(h);
}

CK_RV C_SignMessageBegin(CK_SESSION_HANDLE h, void *p, CK_ULONG pl)
{
    (void)p, (void)pl;
    return unsupported(h);
}

CK_RV C_SignMessageNext(CK_SESSION_HANDLE h, void *p, CK_ULONG pl, CK_BYTE *d, CK_ULONG dl,
                        CK_BYTE *sig, CK_ULONG *sigl)
{
    (void)p, (void)pl, (void)d, (void)dl, (void)sig, (void)sigl;
    return unsupported(h);
}

CK_RV C_VerifyMessage(CK_SESSION_HANDLE h, void *p, CK_ULONG pl, CK_BYTE *d, CK_ULONG dl,
                      CK_BYTE *sig, CK_ULONG sigl)
{
    (void)p, (void)pl, (void)d, (void)dl, (void)sig, (void)sigl;
    return unsupported(h);
}

CK_RV C_VerifyMessageBegin(CK_SESSION_HANDLE h, void *p, CK_ULONG pl)
{
    (void)p, (void)pl;
    return unsupported(h);
}

CK_RV C_VerifyMessageNext(CK_SESSION_HANDLE h, void *p, CK_ULONG pl, CK_BYTE *d, CK_ULONG dl,
                          CK_BYTE *sig, CK_ULONG sigl)
{
    (void)p, (void)pl, (void)d, (void)dl, (void)sig, (void)sigl;
    return unsupported(h);
}
