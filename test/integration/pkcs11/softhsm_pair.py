# Check two SoftHSM2 tokens hold the same injected QKD key, and that it cannot leave them.
# usage: softhsm_pair.py MODULE LABEL encrypt|decrypt [IV CT]   (SOFTHSM2_CONF picks the site)
import sys, PyKCS11
mod, label, op = sys.argv[1:4]
lib = PyKCS11.PyKCS11Lib(); lib.load(mod)
slot = lib.getSlotList(tokenPresent=True)[0]
s = lib.openSession(slot, PyKCS11.CKF_SERIAL_SESSION | PyKCS11.CKF_RW_SESSION); s.login("123456")
keys = s.findObjects([(PyKCS11.CKA_CLASS, PyKCS11.CKO_SECRET_KEY), (PyKCS11.CKA_LABEL, label)])
assert len(keys) == 1, f"{len(keys)} keys labelled {label}"
k = keys[0]
val, ext, sens = s.getAttributeValue(k, [PyKCS11.CKA_VALUE, PyKCS11.CKA_EXTRACTABLE, PyKCS11.CKA_SENSITIVE])
assert val is None and not ext and sens, "the injected key is readable or extractable"
if op == "encrypt":
    iv = bytes(s.generateRandom(12))
    ct = bytes(s.encrypt(k, b"injected QKD key", PyKCS11.AES_GCM_Mechanism(iv, b"", 128)))
    print(iv.hex(), ct.hex())
else:
    iv, ct = bytes.fromhex(sys.argv[4]), bytes.fromhex(sys.argv[5])
    print(bytes(s.decrypt(k, ct, PyKCS11.AES_GCM_Mechanism(iv, b"", 128))).decode())
