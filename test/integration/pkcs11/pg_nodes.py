#!/usr/bin/python3
"""One node's view of a token whose store is shared (test_pg_nodes.sh drives two of them).

usage: pg_nodes.py MODULE TOKEN_LABEL PIN COMMAND ARGS...
  fetch PEER KEY_ID LABEL   C_GenerateKey(CKM_QKEY_QKD_KEY_GET) as a token object named LABEL
  decrypt LABEL IV CT       AES-GCM decrypt with the token key LABEL; prints the plaintext
  destroy LABEL             C_DestroyObject on every object named LABEL
  count LABEL               prints how many objects are named LABEL
  labels                    prints the label of every data object, one per line
  create LABEL HEX          a sensitive token AES key with the given value
  login PIN                 prints OK or the CKR_ name C_Login answers (no other login first)
  writer PREFIX STOPFILE    creates PREFIX-0, PREFIX-1, ... one by one, 20 ms apart, until
                            STOPFILE exists (at most 10,000), printing "ok LABEL" after each
                            C_CreateObject that returned CKR_OK and "err LABEL CKR_..." after
                            each that did not (then goes on)
The token reads its configuration from QKEY_CONF (set by the caller).
"""
import os
import sys
import time

import PyKCS11

V = 0x80000000 | 0x514B0000
CKM_QKEY_QKD_KEY_GET = V + 2
CKA_QKEY_KEY_ID, CKA_QKEY_PEER = V + 1, V + 2


def secret(label, extra):
    return [(PyKCS11.CKA_CLASS, PyKCS11.CKO_SECRET_KEY), (PyKCS11.CKA_KEY_TYPE, PyKCS11.CKK_AES),
            (PyKCS11.CKA_TOKEN, True), (PyKCS11.CKA_PRIVATE, True),
            (PyKCS11.CKA_SENSITIVE, True), (PyKCS11.CKA_ENCRYPT, True),
            (PyKCS11.CKA_DECRYPT, True), (PyKCS11.CKA_LABEL, label)] + extra


def find(session, label):
    return session.findObjects([(PyKCS11.CKA_LABEL, label)])


def main(argv):
    if len(argv) < 5:
        sys.exit(__doc__)
    module, token, pin, cmd, args = argv[1], argv[2], argv[3], argv[4], argv[5:]
    lib = PyKCS11.PyKCS11Lib()
    lib.load(module)
    slots = [s for s in lib.getSlotList(tokenPresent=True)
             if lib.getTokenInfo(s).label.strip() == token]
    if not slots:
        sys.exit("no token labelled %s" % token)
    session = lib.openSession(slots[0], PyKCS11.CKF_SERIAL_SESSION | PyKCS11.CKF_RW_SESSION)
    if cmd == "login":
        try:
            session.login(args[0])
            print("OK")
        except PyKCS11.PyKCS11Error as e:
            print(PyKCS11.CKR[e.value])
        return
    session.login(pin)
    if cmd == "fetch":
        peer, key_id, label = args
        session.generateKey(secret(label, [(PyKCS11.CKA_VALUE_LEN, 32),
                                           (CKA_QKEY_PEER, peer.encode()),
                                           (CKA_QKEY_KEY_ID, key_id.encode())]),
                            PyKCS11.Mechanism(CKM_QKEY_QKD_KEY_GET, None))
    elif cmd == "decrypt":
        label, iv, ct = args[0], bytes.fromhex(args[1]), bytes.fromhex(args[2])
        keys = find(session, label)
        if len(keys) != 1:
            sys.exit("%d objects named %s" % (len(keys), label))
        print(bytes(session.decrypt(keys[0], ct, PyKCS11.AES_GCM_Mechanism(iv, b"", 128))).decode())
    elif cmd == "destroy":
        for o in find(session, args[0]):
            session.destroyObject(o)
    elif cmd == "count":
        print(len(find(session, args[0])))
    elif cmd == "labels":
        for o in session.findObjects([(PyKCS11.CKA_CLASS, PyKCS11.CKO_DATA)]):
            print(bytes(session.getAttributeValue(o, [PyKCS11.CKA_LABEL], allAsBinary=True)[0])
                  .decode())
    elif cmd == "create":
        session.createObject(secret(args[0], [(PyKCS11.CKA_VALUE, bytes.fromhex(args[1]))]))
    elif cmd == "writer":
        prefix, stop = args[0], args[1]
        for i in range(10000):
            if os.path.exists(stop):
                break
            label = "%s-%d" % (prefix, i)
            try:
                session.createObject([(PyKCS11.CKA_CLASS, PyKCS11.CKO_DATA),
                                      (PyKCS11.CKA_TOKEN, True), (PyKCS11.CKA_LABEL, label),
                                      (PyKCS11.CKA_VALUE, label.encode())])
                print("ok", label, flush=True)
            except PyKCS11.PyKCS11Error as e:
                print("err", label, PyKCS11.CKR[e.value], flush=True)
            time.sleep(0.02)
    else:
        sys.exit(__doc__)
    session.logout()
    session.closeSession()


if __name__ == "__main__":
    main(sys.argv)
