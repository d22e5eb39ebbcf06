# One site of a QKD key exchange through the token's vendor mechanisms (qkey/pkcs11.h).
# usage: qkd_pair.py MODULE new PEER            -> prints key_id iv_hex ct_hex
#        qkd_pair.py MODULE get PEER ID IV CT  -> prints the plaintext
#        qkd_pair.py MODULE badlen PEER        -> CKA_VALUE_LEN longer than the QKD key
import sys, PyKCS11
V = 0x80000000 | 0x514B0000
CKM_NEW, CKM_GET, CKA_KEY_ID, CKA_PEER = V + 1, V + 2, V + 1, V + 2
mod, op, peer = sys.argv[1:4]
lib = PyKCS11.PyKCS11Lib(); lib.load(mod)
slot = lib.getSlotList(tokenPresent=True)[0]
s = lib.openSession(slot, PyKCS11.CKF_SERIAL_SESSION | PyKCS11.CKF_RW_SESSION)
s.login("123456")
tpl = [(PyKCS11.CKA_CLASS, PyKCS11.CKO_SECRET_KEY), (PyKCS11.CKA_KEY_TYPE, PyKCS11.CKK_AES),
       (PyKCS11.CKA_ENCRYPT, True), (PyKCS11.CKA_DECRYPT, True), (PyKCS11.CKA_SENSITIVE, True),
       (PyKCS11.CKA_EXTRACTABLE, False), (PyKCS11.CKA_TOKEN, False), (CKA_PEER, peer.encode())]
if op == "new":
    k = s.generateKey(tpl, PyKCS11.Mechanism(CKM_NEW, None))
    kid = bytes(s.getAttributeValue(k, [CKA_KEY_ID], allAsBinary=True)[0]).decode()
    # the QKD key is sensitive: its value never leaves the token
    # (PyKCS11 turns CKR_ATTRIBUTE_SENSITIVE into None)
    if s.getAttributeValue(k, [PyKCS11.CKA_VALUE], allAsBinary=True)[0] is not None:
        sys.exit("CKA_VALUE of a sensitive QKD key was readable")
    iv = bytes(s.generateRandom(12))
    ct = bytes(s.encrypt(k, b"one session, one key", PyKCS11.AES_GCM_Mechanism(iv, b"qkey", 128)))
    print(kid, iv.hex(), ct.hex())
elif op == "get":
    kid, iv, ct = sys.argv[4], bytes.fromhex(sys.argv[5]), bytes.fromhex(sys.argv[6])
    k = s.generateKey(tpl + [(CKA_KEY_ID, kid.encode())], PyKCS11.Mechanism(CKM_GET, None))
    print(bytes(s.decrypt(k, ct, PyKCS11.AES_GCM_Mechanism(iv, b"qkey", 128))).decode())
elif op == "badlen":
    try:
        s.generateKey(tpl + [(PyKCS11.CKA_VALUE_LEN, 64)], PyKCS11.Mechanism(CKM_NEW, None))
        sys.exit("a 64-byte key from a 32-byte QKD key")
    except PyKCS11.PyKCS11Error as e:
        print(PyKCS11.CKR[e.value])
