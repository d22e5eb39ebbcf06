#!/usr/bin/env python3
"""Keys that never leave a PKCS#11 token, used from Python through PyKCS11.

Generates an EC P-256 and an RSA-2048 key pair in the token (private keys sensitive and not
extractable), signs a message with each inside the token, reads out only the public keys
(CKA_EC_POINT/CKA_EC_PARAMS, CKA_MODULUS/CKA_PUBLIC_EXPONENT) and checks every signature
outside the token with the `cryptography` module and with the `openssl` command. Then OpenSSL
encrypts with the RSA public key (OAEP, SHA-256) and the token decrypts.

usage: sign.py MODULE [--token LABEL] [--pin PIN] [--out DIR] [--keep] [--oaep-hash sha1|sha256]
  MODULE   the PKCS#11 library, e.g. /usr/lib/x86_64-linux-gnu/pkcs11/libqkey-pkcs11.so
  --out    also leave the public keys (PEM) and signatures there (default: a temporary dir)
  --keep   make token objects (CKA_TOKEN true, labels py-ec / py-rsa) instead of session keys
  --oaep-hash  OAEP's hash and MGF1 hash (default sha256; SoftHSM2 2.6 decrypts only sha1)
The PIN may also come from $PKCS11_PIN. Exit status 0 only if every check passed.
"""
import argparse
import os
import subprocess
import sys
import tempfile

import PyKCS11 as P
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils

MESSAGE = b"signed inside the token, verified outside it"
P256_PARAMS = bytes.fromhex("06082a8648ce3d030107")  # DER OID prime256v1 (CKA_EC_PARAMS)
OAEP_HASHES = {"sha1": (P.CKM_SHA_1, P.CKG_MGF1_SHA1), "sha256": (P.CKM_SHA256, P.CKG_MGF1_SHA256)}


def open_token(module, label, pin):
    lib = P.PyKCS11Lib()
    lib.load(module)
    for slot in lib.getSlotList(tokenPresent=True):
        if label is None or lib.getTokenInfo(slot).label.strip() == label:
            session = lib.openSession(slot, P.CKF_SERIAL_SESSION | P.CKF_RW_SESSION)
            session.login(pin)
            return lib, slot, session
    sys.exit(f"no token labelled {label!r} in {module}")


def keypair(session, kind, keep):
    """Key pair made by the token; the private half is sensitive and never extractable."""
    common = [(P.CKA_TOKEN, keep), (P.CKA_LABEL, f"py-{kind}"), (P.CKA_ID, kind.encode())]
    priv = common + [(P.CKA_PRIVATE, True), (P.CKA_SENSITIVE, True),
                     (P.CKA_EXTRACTABLE, False), (P.CKA_SIGN, True)]
    if kind == "ec":
        pub = common + [(P.CKA_EC_PARAMS, P256_PARAMS), (P.CKA_VERIFY, True)]
        return session.generateKeyPair(pub, priv, mecha=P.MechanismECGENERATEKEYPAIR)
    pub = common + [(P.CKA_MODULUS_BITS, 2048), (P.CKA_PUBLIC_EXPONENT, (1, 0, 1)),
                    (P.CKA_VERIFY, True), (P.CKA_ENCRYPT, True)]
    return session.generateKeyPair(pub, priv + [(P.CKA_DECRYPT, True)],
                                   mecha=P.MechanismRSAGENERATEKEYPAIR)


def check_private_stays(session, key, secret_attr):
    sens, extr, never = session.getAttributeValue(
        key, [P.CKA_SENSITIVE, P.CKA_EXTRACTABLE, P.CKA_NEVER_EXTRACTABLE])
    if not sens or extr or not never:
        sys.exit(f"private key: sensitive={sens} extractable={extr} never_extractable={never}")
    # PyKCS11 gives None for an attribute the token refuses (CKR_ATTRIBUTE_SENSITIVE)
    if session.getAttributeValue(key, [secret_attr], allAsBinary=True)[0] is not None:
        sys.exit("the token handed out a private key value")


def der_octet_string(data):
    """CKA_EC_POINT is a DER OCTET STRING around the point (PKCS#11 3.0 5.2.3.3)."""
    if len(data) > 2 and data[0] == 0x04:
        n, off = data[1], 2
        if n & 0x80:
            width = n & 0x7F
            n, off = int.from_bytes(data[2:2 + width], "big"), 2 + width
        if off + n == len(data):
            return data[off:]
    return data  # some tokens return the bare point


def public_key(session, pub, kind):
    if kind == "ec":
        params, point = session.getAttributeValue(pub, [P.CKA_EC_PARAMS, P.CKA_EC_POINT],
                                                  allAsBinary=True)
        if bytes(params) != P256_PARAMS:
            sys.exit(f"CKA_EC_PARAMS {bytes(params).hex()} is not P-256")
        return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(),
                                                            der_octet_string(bytes(point)))
    n, e = session.getAttributeValue(pub, [P.CKA_MODULUS, P.CKA_PUBLIC_EXPONENT],
                                     allAsBinary=True)
    return rsa.RSAPublicNumbers(int.from_bytes(bytes(e), "big"),
                                int.from_bytes(bytes(n), "big")).public_key()


def offers(lib, slot, mech):
    return mech in lib.getMechanismList(slot) or P.CKM[mech] in lib.getMechanismList(slot)


def sign_ec(lib, slot, session, key):
    """ECDSA over SHA-256, as (r || s). CKM_ECDSA_SHA256 when offered; else the hash is made
    here and the token signs it with CKM_ECDSA (the same signature, SoftHSM2 2.6 needs this)."""
    if offers(lib, slot, P.CKM_ECDSA_SHA256):
        return bytes(session.sign(key, MESSAGE, P.Mechanism(P.CKM_ECDSA_SHA256, None)))
    digest = hashes.Hash(hashes.SHA256())
    digest.update(MESSAGE)
    return bytes(session.sign(key, digest.finalize(), P.Mechanism(P.CKM_ECDSA, None)))


def openssl_verify(out, name, pem, sig, extra=()):
    with open(os.path.join(out, f"{name}.pub.pem"), "wb") as f:
        f.write(pem)
    with open(os.path.join(out, f"{name}.sig"), "wb") as f:
        f.write(sig)
    with open(os.path.join(out, "message.txt"), "wb") as f:
        f.write(MESSAGE)
    r = subprocess.run(["openssl", "dgst", "-sha256", "-verify", f"{name}.pub.pem",
                        "-signature", f"{name}.sig", *extra, "message.txt"],
                       cwd=out, capture_output=True, text=True)
    if r.returncode != 0 or "Verified OK" not in r.stdout:
        sys.exit(f"openssl dgst -verify {name}: {r.stdout.strip()} {r.stderr.strip()}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("module")
    ap.add_argument("--token")
    ap.add_argument("--pin", default=os.environ.get("PKCS11_PIN"))
    ap.add_argument("--out")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--oaep-hash", choices=OAEP_HASHES, default="sha256")
    a = ap.parse_args()
    if a.pin is None:
        sys.exit("give the user PIN with --pin or $PKCS11_PIN")
    out = a.out or tempfile.mkdtemp(prefix="pykcs11-")
    lib, slot, s = open_token(a.module, a.token, a.pin)
    pem = serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo

    # EC P-256: ECDSA-SHA256 in the token, verified by cryptography and openssl
    ec_pub, ec_priv = keypair(s, "ec", a.keep)
    check_private_stays(s, ec_priv, P.CKA_VALUE)
    key = public_key(s, ec_pub, "ec")
    rs = sign_ec(lib, slot, s, ec_priv)
    der = utils.encode_dss_signature(int.from_bytes(rs[:32], "big"), int.from_bytes(rs[32:], "big"))
    key.verify(der, MESSAGE, ec.ECDSA(hashes.SHA256()))  # raises InvalidSignature
    openssl_verify(out, "ec", key.public_bytes(*pem), der)
    print(f"EC P-256: ECDSA-SHA256 signature ({len(rs)} bytes) verified by cryptography "
          "and openssl")

    # RSA-2048: PKCS#1 v1.5 and PSS with SHA-256
    rsa_pub, rsa_priv = keypair(s, "rsa", a.keep)
    check_private_stays(s, rsa_priv, P.CKA_PRIVATE_EXPONENT)
    key = public_key(s, rsa_pub, "rsa")
    if key.key_size != 2048:
        sys.exit(f"RSA key of {key.key_size} bits")
    sig = bytes(s.sign(rsa_priv, MESSAGE, P.Mechanism(P.CKM_SHA256_RSA_PKCS, None)))
    key.verify(sig, MESSAGE, padding.PKCS1v15(), hashes.SHA256())
    openssl_verify(out, "rsa", key.public_bytes(*pem), sig)
    pss = P.RSA_PSS_Mechanism(P.CKM_SHA256_RSA_PKCS_PSS, P.CKM_SHA256, P.CKG_MGF1_SHA256, 32)
    sig = bytes(s.sign(rsa_priv, MESSAGE, pss))
    key.verify(sig, MESSAGE, padding.PSS(padding.MGF1(hashes.SHA256()), 32), hashes.SHA256())
    openssl_verify(out, "rsa-pss", key.public_bytes(*pem), sig,
                   ("-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:32"))
    print("RSA-2048: SHA256-RSA-PKCS and SHA256-RSA-PKCS-PSS signatures verified by "
          "cryptography and openssl")

    # OAEP: OpenSSL encrypts to the token's public key, only the token can decrypt
    secret = os.urandom(32)
    with open(os.path.join(out, "secret.bin"), "wb") as f:
        f.write(secret)
    r = subprocess.run(["openssl", "pkeyutl", "-encrypt", "-pubin", "-inkey", "rsa.pub.pem",
                        "-in", "secret.bin", "-out", "secret.oaep",
                        "-pkeyopt", "rsa_padding_mode:oaep",
                        "-pkeyopt", f"rsa_oaep_md:{a.oaep_hash}",
                        "-pkeyopt", f"rsa_mgf1_md:{a.oaep_hash}"],
                       cwd=out, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"openssl pkeyutl -encrypt: {r.stderr.strip()}")
    os.unlink(os.path.join(out, "secret.bin"))
    with open(os.path.join(out, "secret.oaep"), "rb") as f:
        ct = f.read()
    pt = bytes(s.decrypt(rsa_priv, ct, P.RSAOAEPMechanism(*OAEP_HASHES[a.oaep_hash])))
    if pt != secret:
        sys.exit("the token's OAEP decryption differs from what OpenSSL encrypted")
    print(f"RSA-2048: OAEP ({a.oaep_hash}) ciphertext from openssl pkeyutl decrypted in the token")
    s.logout()
    s.closeSession()
    print(f"public keys and signatures in {out}")


if __name__ == "__main__":
    main()
