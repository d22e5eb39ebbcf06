#!/usr/bin/python3
"""The qkey token and SoftHSM2 given the same private keys (C_CreateObject of one RSA-2048,
one P-256 and one Ed25519 key made here with `cryptography`) and asked for the same operations
in one process. Deterministic results (RSA PKCS#1 v1.5 signatures, ECDH shared secrets,
Ed25519 signatures, public attributes read back) must be byte-identical on both tokens and
equal to OpenSSL's; randomised ones (ECDSA, RSA-PSS, RSA-OAEP) must verify or decrypt on the
other token and in OpenSSL. An operation one module does not offer is named and not counted.

usage: test_vs_softhsm.py [QKEY_MODULE [SOFTHSM_MODULE]]   (default: $QKEY_P11_MODULE and
Debian's SoftHSM2). Exit 0 when every shared operation agreed, 1 otherwise, 77 when SoftHSM2
or PyKCS11 is missing.
"""
import os
import sys
import tempfile

PRELOAD = os.environ.get("QKEY_P11_PRELOAD")
if PRELOAD and "LD_PRELOAD" not in os.environ:  # sanitizer build: ASan first, then re-run
    env = dict(os.environ, LD_PRELOAD=PRELOAD, ASAN_OPTIONS="detect_leaks=0")
    os.execve(sys.executable, [sys.executable] + sys.argv, env)

try:
    import PyKCS11 as P
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa, utils
except ImportError as e:
    print(f"{e}: skipped")
    sys.exit(77)

QKEY = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("QKEY_P11_MODULE")
SOFTHSM = sys.argv[2] if len(sys.argv) > 2 else "/usr/lib/softhsm/libsofthsm2.so"
if not QKEY:
    sys.exit("give the qkey module (argument or $QKEY_P11_MODULE)")
if not os.path.exists(SOFTHSM):
    print("SoftHSM2 not installed: skipped")
    sys.exit(77)
MSG = b"the same message to both tokens"
P256 = bytes.fromhex("06082a8648ce3d030107")
ED25519 = bytes.fromhex("06032b6570")  # id-Ed25519 (RFC 8410), CKA_EC_PARAMS for CKK_EC_EDWARDS
PIN = "123456"
failures, agreed, not_shared = [], [], []


def check(what, ok, detail=""):
    (agreed if ok else failures).append(what)
    print(("ok    " if ok else "FAIL  ") + what + (f": {detail}" if detail and not ok else ""))


class Token:
    """One module, one freshly initialised token, one logged-in R/W session."""

    def __init__(self, name, path):
        self.name = name
        self.lib = P.PyKCS11Lib()
        self.lib.load(path)
        free = [s for s in self.lib.getSlotList()
                if not self.lib.getTokenInfo(s).flags & P.CKF_TOKEN_INITIALIZED]
        self.lib.initToken(free[0], "12345678", name.ljust(32))  # PyKCS11 pads with NULs
        slot = [s for s in self.lib.getSlotList(tokenPresent=True)
                if self.lib.getTokenInfo(s).label.strip() == name][0]
        so = self.lib.openSession(slot, P.CKF_SERIAL_SESSION | P.CKF_RW_SESSION)
        so.login("12345678", P.CKU_SO)
        so.initPin(PIN)
        so.logout()
        so.closeSession()
        self.s = self.lib.openSession(slot, P.CKF_SERIAL_SESSION | P.CKF_RW_SESSION)
        self.s.login(PIN)
        self.mechs = set(self.lib.getMechanismList(slot))

    def offers(self, mech):
        return P.CKM[mech] in self.mechs

    def create(self, what, template):
        try:
            return self.s.createObject(template)
        except P.PyKCS11Error as e:
            print(f"FAIL  {self.name}: C_CreateObject of the {what}: {e}")
            sys.exit(1)


def b(n, length=None):
    return n.to_bytes(length or (n.bit_length() + 7) // 8, "big")


def der_point(point):
    return bytes([0x04, len(point)]) + point if len(point) < 128 else \
        bytes([0x04, 0x81, len(point)]) + point


def import_keys(t, rsa_key, ec_key, ed_key):
    A = P  # attribute names, shorter below
    private = [(A.CKA_CLASS, A.CKO_PRIVATE_KEY), (A.CKA_TOKEN, False), (A.CKA_PRIVATE, True),
               (A.CKA_SENSITIVE, True), (A.CKA_EXTRACTABLE, False), (A.CKA_SIGN, True)]
    public = [(A.CKA_CLASS, A.CKO_PUBLIC_KEY), (A.CKA_TOKEN, False), (A.CKA_VERIFY, True)]
    pn, sn = rsa_key.public_key().public_numbers(), rsa_key.private_numbers()
    rsa_public = [(A.CKA_KEY_TYPE, A.CKK_RSA), (A.CKA_MODULUS, b(pn.n)),
                  (A.CKA_PUBLIC_EXPONENT, b(pn.e))]
    t.rsa = t.create("RSA-2048 private key", private + rsa_public + [
        (A.CKA_PRIVATE_EXPONENT, b(sn.d, 256)), (A.CKA_PRIME_1, b(sn.p, 128)),
        (A.CKA_PRIME_2, b(sn.q, 128)), (A.CKA_EXPONENT_1, b(sn.dmp1, 128)),
        (A.CKA_EXPONENT_2, b(sn.dmq1, 128)), (A.CKA_COEFFICIENT, b(sn.iqmp, 128)),
        (A.CKA_DECRYPT, True)])
    t.rsa_pub = t.create("RSA-2048 public key", public + rsa_public + [(A.CKA_ENCRYPT, True)])
    point = ec_key.public_key().public_bytes(serialization.Encoding.X962,
                                             serialization.PublicFormat.UncompressedPoint)
    scalar = b(ec_key.private_numbers().private_value, 32)
    ec_params = [(A.CKA_KEY_TYPE, A.CKK_EC), (A.CKA_EC_PARAMS, P256)]
    t.ec = t.create("P-256 private key", private + ec_params + [
        (A.CKA_VALUE, scalar), (A.CKA_DERIVE, True)])
    t.ec_pub = t.create("P-256 public key", public + ec_params + [
        (A.CKA_EC_POINT, der_point(point))])
    t.ed = t.ed_pub = None
    if t.offers(P.CKM_EDDSA):
        raw = ed_key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                   serialization.NoEncryption())
        pub = ed_key.public_key().public_bytes(serialization.Encoding.Raw,
                                               serialization.PublicFormat.Raw)
        ed_params = [(A.CKA_KEY_TYPE, A.CKK_EC_EDWARDS), (A.CKA_EC_PARAMS, ED25519)]
        t.ed = t.create("Ed25519 private key", private + ed_params + [(A.CKA_VALUE, raw)])
        t.ed_pub = t.create("Ed25519 public key", public + ed_params + [
            (A.CKA_EC_POINT, der_point(pub))])


def shared(tokens, mech, what):
    missing = [t.name for t in tokens if not t.offers(mech)]
    if missing:
        not_shared.append(f"{what} (not offered by {', '.join(missing)})")
        print(f"--    {what}: not offered by {', '.join(missing)}")
    return not missing


def sign(t, key, data, mech):
    return bytes(t.s.sign(key, data, mech))


def digest(data, h=hashes.SHA256):
    d = hashes.Hash(h())
    d.update(data)
    return d.finalize()


def run_case(what, fn):
    """A PKCS#11 error in a case is that case's failure, with the CKR_ name."""
    try:
        fn()
    except P.PyKCS11Error as e:
        check(what, False, str(e))
    except InvalidSignature:
        check(what, False, "OpenSSL rejected the signature")


def main():
    tmp = tempfile.mkdtemp(prefix="qkey-vs-softhsm-")
    with open(f"{tmp}/qkey.conf", "w") as f:
        f.write(f"[rng]\nsource = sim\n[token]\nstore = {tmp}/qkey.db\n")
    os.mkdir(f"{tmp}/hsm")
    with open(f"{tmp}/softhsm2.conf", "w") as f:
        f.write(f"directories.tokendir = {tmp}/hsm\nobjectstore.backend = file\n"
                "log.level = ERROR\n")
    os.environ["QKEY_CONF"] = f"{tmp}/qkey.conf"
    os.environ["SOFTHSM2_CONF"] = f"{tmp}/softhsm2.conf"
    q, h = Token("qkey", QKEY), Token("softhsm2", SOFTHSM)
    both = (q, h)
    rsa_key = rsa.generate_private_key(65537, 2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    ed_key = ed25519.Ed25519PrivateKey.generate()
    for t in both:
        import_keys(t, rsa_key, ec_key, ed_key)
    rsa_pub, ec_pub = rsa_key.public_key(), ec_key.public_key()

    def public_attrs():
        for attrs, objs in (([P.CKA_MODULUS, P.CKA_PUBLIC_EXPONENT], ("rsa", "rsa_pub")),
                            ([P.CKA_EC_PARAMS, P.CKA_EC_POINT], ("ec_pub",))):
            for o in objs:
                got = [[bytes(v) for v in
                        t.s.getAttributeValue(getattr(t, o), attrs, allAsBinary=True)]
                       for t in both]
                check(f"public attributes of {o} read back identical", got[0] == got[1],
                      f"{got[0]} vs {got[1]}")
        for t in both:  # the private values stay in
            secret = t.s.getAttributeValue(t.rsa, [P.CKA_PRIVATE_EXPONENT], allAsBinary=True)[0]
            check(f"{t.name}: imported sensitive RSA key's CKA_PRIVATE_EXPONENT refused",
                  secret is None)
    run_case("public attributes", public_attrs)

    # RSA PKCS#1 v1.5: deterministic, so identical on both and equal to OpenSSL's
    for mech, hcls in ((P.CKM_SHA256_RSA_PKCS, hashes.SHA256),
                       (P.CKM_SHA384_RSA_PKCS, hashes.SHA384),
                       (P.CKM_SHA512_RSA_PKCS, hashes.SHA512)):
        name = P.CKM[mech]
        if shared(both, mech, name):
            def case(mech=mech, hcls=hcls, name=name):
                sigs = [sign(t, t.rsa, MSG, P.Mechanism(mech, None)) for t in both]
                ref = rsa_key.sign(MSG, padding.PKCS1v15(), hcls())
                check(f"{name}: byte-identical on both and equal to OpenSSL's",
                      sigs[0] == sigs[1] == ref)
            run_case(name, case)
    if shared(both, P.CKM_RSA_PKCS, "CKM_RSA_PKCS"):  # over a DigestInfo made by the caller
        def raw_pkcs1():
            info = bytes.fromhex("3031300d060960864801650304020105000420") + digest(MSG)
            sigs = [sign(t, t.rsa, info, P.MechanismRSAPKCS1) for t in both]
            check("CKM_RSA_PKCS (caller's DigestInfo): byte-identical on both",
                  sigs[0] == sigs[1] == rsa_key.sign(MSG, padding.PKCS1v15(), hashes.SHA256()))
        run_case("CKM_RSA_PKCS", raw_pkcs1)

    # RSA-PSS: randomised; each token verifies the other's, and OpenSSL verifies both
    pss_cases = [(P.CKM_SHA256_RSA_PKCS_PSS, MSG, "CKM_SHA256_RSA_PKCS_PSS"),
                 (P.CKM_RSA_PKCS_PSS, digest(MSG), "CKM_RSA_PKCS_PSS (SHA-256 digest)")]
    for mech, data, name in pss_cases:
        if shared(both, mech, name):
            def case(mech=mech, data=data, name=name):
                m = P.RSA_PSS_Mechanism(mech, P.CKM_SHA256, P.CKG_MGF1_SHA256, 32)
                for a, o in ((q, h), (h, q)):
                    sig = sign(a, a.rsa, data, m)
                    check(f"{name}: {a.name}'s signature verified by {o.name}",
                          o.s.verify(o.rsa_pub, data, sig, m))
                    rsa_pub.verify(sig, MSG, padding.PSS(padding.MGF1(hashes.SHA256()), 32),
                                   hashes.SHA256())
            run_case(name, case)

    # RSA-OAEP: each decrypts what the other and OpenSSL encrypted, OpenSSL decrypts what each
    # encrypted. SoftHSM2 2.6 takes SHA-1 only; with SHA-256 the token is checked with OpenSSL;
    # across the two only if both take the same hash.
    for hash_mech, mgf, hcls in ((P.CKM_SHA_1, P.CKG_MGF1_SHA1, hashes.SHA1),
                                 (P.CKM_SHA256, P.CKG_MGF1_SHA256, hashes.SHA256)):
        name = f"CKM_RSA_PKCS_OAEP {hcls.name}"
        if not shared(both, P.CKM_RSA_PKCS_OAEP, name):
            continue
        m = P.RSAOAEPMechanism(hash_mech, mgf)
        oaep = padding.OAEP(padding.MGF1(hcls()), hcls(), None)
        secret = os.urandom(32)
        ref = rsa_pub.encrypt(secret, oaep)
        works = {}
        for t in both:
            try:
                works[t.name] = bytes(t.s.encrypt(t.rsa_pub, secret, m))
                check(f"{name}: {t.name} decrypts what OpenSSL encrypted",
                      bytes(t.s.decrypt(t.rsa, ref, m)) == secret)
                check(f"{name}: OpenSSL decrypts what {t.name} encrypted",
                      rsa_key.decrypt(works[t.name], oaep) == secret)
            except P.PyKCS11Error as e:
                refused = str(e).startswith(("CKR_ARGUMENTS_BAD", "CKR_MECHANISM_PARAM_INVALID"))
                # SoftHSM2's gap (no SHA-256), or the token's choice (no SHA-1): not shared.
                # The token must do OAEP with SHA-256.
                if refused and (t is h or hash_mech == P.CKM_SHA_1):
                    not_shared.append(f"{name} (parameters refused by {t.name}: {e})")
                    print(f"--    {name}: parameters refused by {t.name} ({e})")
                else:
                    check(f"{name} on {t.name}", False, str(e))
        if len(works) == 2:
            for a, o in ((q, h), (h, q)):
                check(f"{name}: {o.name} decrypts what {a.name} encrypted",
                      bytes(o.s.decrypt(o.rsa, works[a.name], m)) == secret)

    # ECDSA P-256: CKM_ECDSA over a SHA-256 digest (the mechanism both offer); cross-verified
    def ecdsa():
        d = digest(MSG)
        for a, o in ((q, h), (h, q)):
            rs = sign(a, a.ec, d, P.Mechanism(P.CKM_ECDSA, None))
            check(f"CKM_ECDSA: {a.name}'s signature verified by {o.name}",
                  o.s.verify(o.ec_pub, d, rs, P.Mechanism(P.CKM_ECDSA, None)))
            ec_pub.verify(utils.encode_dss_signature(int.from_bytes(rs[:32], "big"),
                                                     int.from_bytes(rs[32:], "big")),
                          MSG, ec.ECDSA(hashes.SHA256()))
        # the token's hash-and-sign against SoftHSM2's CKM_ECDSA over the same hash
        for mech, hcls in ((P.CKM_ECDSA_SHA1, hashes.SHA1), (P.CKM_ECDSA_SHA256, hashes.SHA256),
                           (P.CKM_ECDSA_SHA384, hashes.SHA384)):
            if q.offers(mech):
                rs = sign(q, q.ec, MSG, P.Mechanism(mech, None))
                check(f"{P.CKM[mech]} (qkey) verified by softhsm2's CKM_ECDSA",
                      h.s.verify(h.ec_pub, digest(MSG, hcls), rs, P.Mechanism(P.CKM_ECDSA, None)))
    if shared(both, P.CKM_ECDSA, "CKM_ECDSA"):
        run_case("CKM_ECDSA", ecdsa)

    # ECDH: the same private key and peer point give the same secret, equal to OpenSSL's
    def ecdh():
        peer = ec.generate_private_key(ec.SECP256R1())
        point = peer.public_key().public_bytes(serialization.Encoding.X962,
                                               serialization.PublicFormat.UncompressedPoint)
        tpl = [(P.CKA_CLASS, P.CKO_SECRET_KEY), (P.CKA_KEY_TYPE, P.CKK_GENERIC_SECRET),
               (P.CKA_TOKEN, False), (P.CKA_SENSITIVE, False), (P.CKA_EXTRACTABLE, True),
               (P.CKA_VALUE_LEN, 32)]
        secrets = []
        for t in both:
            k = t.s.deriveKey(t.ec, tpl, P.ECDH1_DERIVE_Mechanism(point))
            secrets.append(bytes(t.s.getAttributeValue(k, [P.CKA_VALUE], allAsBinary=True)[0]))
        check("CKM_ECDH1_DERIVE: the same secret on both, equal to OpenSSL's",
              secrets[0] == secrets[1] == ec_key.exchange(ec.ECDH(), peer.public_key()))
    if shared(both, P.CKM_ECDH1_DERIVE, "CKM_ECDH1_DERIVE"):
        run_case("CKM_ECDH1_DERIVE", ecdh)

    # Ed25519: deterministic, identical on both and equal to OpenSSL's
    def eddsa():
        sigs = [sign(t, t.ed, MSG, P.Mechanism(P.CKM_EDDSA, None)) for t in both]
        check("CKM_EDDSA Ed25519: byte-identical on both and equal to OpenSSL's",
              sigs[0] == sigs[1] == ed_key.sign(MSG))
        for a, o in ((q, h), (h, q)):
            check(f"CKM_EDDSA: {a.name}'s signature verified by {o.name}",
                  o.s.verify(o.ed_pub, MSG, sigs[both.index(a)], P.Mechanism(P.CKM_EDDSA, None)))
    if shared(both, P.CKM_EDDSA, "CKM_EDDSA"):
        run_case("CKM_EDDSA", eddsa)

    for t in both:
        t.s.logout()
        t.s.closeSession()
    os.system(f"rm -rf '{tmp}'")
    print(f"qkey vs SoftHSM2: {len(agreed)} checks agreed, {len(failures)} differed; "
          f"not shared: {'; '.join(not_shared) or 'none'}")
    return 1 if failures or not agreed else 0


if __name__ == "__main__":
    sys.exit(main())
