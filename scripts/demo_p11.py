#!/usr/bin/python3
"""One side of a QKD key exchange through the qkey PKCS#11 token (used by scripts/demo.sh).

usage: demo_p11.py MODULE TOKEN_LABEL PIN new PEER            -> prints: KEY_ID IV_HEX CT_HEX
       demo_p11.py MODULE TOKEN_LABEL PIN get PEER KEY_ID IV CT -> prints the plaintext

`new` makes a QKD key shared with PEER by C_GenerateKey(CKM_QKEY_QKD_KEY_NEW) and encrypts a
message with it (AES-256-GCM inside the token); `get` fetches the same key by its ID with
CKM_QKEY_QKD_KEY_GET and decrypts. The key never leaves either token; only its ID travels.
The token reads its configuration from QKEY_CONF (set by the caller).
"""
import sys

import PyKCS11

V = 0x80000000 | 0x514B0000  # CKM_VENDOR_DEFINED / CKA_VENDOR_DEFINED | "QK" (qkey/pkcs11.h)
CKM_QKEY_QKD_KEY_NEW, CKM_QKEY_QKD_KEY_GET = V + 1, V + 2
CKA_QKEY_KEY_ID, CKA_QKEY_PEER = V + 1, V + 2
MESSAGE = b"one session, one key"


def main(argv):
    if len(argv) < 6 or argv[4] not in ("new", "get") or (argv[4] == "get" and len(argv) != 9):
        sys.exit(__doc__)
    module, label, pin, op, peer = argv[1:6]
    lib = PyKCS11.PyKCS11Lib()
    lib.load(module)
    slots = [s for s in lib.getSlotList(tokenPresent=True)
             if lib.getTokenInfo(s).label.strip() == label]
    if not slots:
        sys.exit("no token labelled %s" % label)
    session = lib.openSession(slots[0], PyKCS11.CKF_SERIAL_SESSION | PyKCS11.CKF_RW_SESSION)
    session.login(pin)
    template = [(PyKCS11.CKA_CLASS, PyKCS11.CKO_SECRET_KEY),
                (PyKCS11.CKA_KEY_TYPE, PyKCS11.CKK_AES), (PyKCS11.CKA_VALUE_LEN, 32),
                (PyKCS11.CKA_ENCRYPT, True), (PyKCS11.CKA_DECRYPT, True),
                (PyKCS11.CKA_TOKEN, False), (CKA_QKEY_PEER, peer.encode())]
    try:
        if op == "new":
            key = session.generateKey(template, PyKCS11.Mechanism(CKM_QKEY_QKD_KEY_NEW, None))
            key_id = bytes(session.getAttributeValue(key, [CKA_QKEY_KEY_ID],
                                                     allAsBinary=True)[0]).decode()
            iv = bytes(session.generateRandom(12))
            ct = bytes(session.encrypt(key, MESSAGE, PyKCS11.AES_GCM_Mechanism(iv, b"", 128)))
            print(key_id, iv.hex(), ct.hex())
        else:
            key_id, iv, ct = argv[6], bytes.fromhex(argv[7]), bytes.fromhex(argv[8])
            key = session.generateKey(template + [(CKA_QKEY_KEY_ID, key_id.encode())],
                                      PyKCS11.Mechanism(CKM_QKEY_QKD_KEY_GET, None))
            print(bytes(session.decrypt(key, ct,
                                        PyKCS11.AES_GCM_Mechanism(iv, b"", 128))).decode())
    except PyKCS11.PyKCS11Error as e:
        sys.exit("PKCS#11 %s failed: %s" % (op, e))
    finally:
        session.logout()
        session.closeSession()


if __name__ == "__main__":
    main(sys.argv)
