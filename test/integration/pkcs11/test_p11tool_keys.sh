#!/bin/bash
# Key pairs in the token through the two command-line tools people use: GnuTLS p11tool generates
# RSA and EC keys, lists them and signs with them (--test-sign verifies each signature with the
# public key); OpenSC pkcs11-tool --test and --test-fork pass on a token holding RSA and EC keys
# (--test-ec: test_pkcs11_tool_ec.sh; --test-threads, which touches no key and takes 30 s:
# test_pkcs11_tool.sh). QKEY_P11_TARGET=softhsm: on SoftHSM2.
source "$(dirname "$0")/apps_lib.sh"
need p11tool openssl
init_token a "$TOKEN"
turi="pkcs11:token=$TOKEN"
gt() { GNUTLS_PIN=$PIN run p11tool --provider "$MOD" "$@"; }

# p11tool makes the keys; the public key it prints is the one the token holds.
gt --login --generate-privkey rsa --bits 2048 --label p11-rsa --outfile "$T/rsa.pub" "$turi" \
  >"$T/gen-rsa.log" 2>&1 || { cat "$T/gen-rsa.log"; fail "p11tool --generate-privkey rsa"; }
gt --login --generate-privkey ecdsa --curve secp256r1 --label p11-ec --outfile "$T/ec.pub" "$turi" \
  >"$T/gen-ec.log" 2>&1 || { cat "$T/gen-ec.log"; fail "p11tool --generate-privkey ecdsa"; }
openssl pkey -pubin -in "$T/rsa.pub" -noout -text 2>/dev/null | grep -q "Public-Key: (2048 bit)" ||
  fail "p11tool's RSA public key is not a 2048-bit RSA key"
openssl pkey -pubin -in "$T/ec.pub" -noout -text 2>/dev/null | grep -q "NIST CURVE: P-256" ||
  fail "p11tool's EC public key is not on P-256"

# --list-all after login shows both key pairs (private and public objects), by URI.
gt --login --list-all "$turi" >"$T/list.txt" 2>&1 || { cat "$T/list.txt"; fail "p11tool --list-all"; }
for k in p11-rsa p11-ec; do
  grep -q "URL: pkcs11:.*token=$TOKEN;.*object=$k;type=private" "$T/list.txt" ||
    { cat "$T/list.txt"; fail "--list-all does not show the private key $k"; }
  grep -q "URL: pkcs11:.*object=$k;type=public" "$T/list.txt" ||
    { cat "$T/list.txt"; fail "--list-all does not show the public key $k"; }
done
grep -q "Type: Private key (RSA-2048)" "$T/list.txt" || fail "--list-all: no RSA-2048 private key"
grep -q "Type: Private key (EC/ECDSA-SECP256R1)" "$T/list.txt" || fail "--list-all: no P-256 private key"
# without login the private keys stay hidden (CKA_PRIVATE)
gt --list-all "$turi" 2>/dev/null | grep -q "type=private" && fail "private keys listed without login"

# --test-sign signs with the token key and verifies with its public key.
for k in p11-rsa p11-ec; do
  gt --login --test-sign "$turi;object=$k;type=private" >"$T/sign-$k.log" 2>&1 ||
    { cat "$T/sign-$k.log"; fail "p11tool --test-sign $k"; }
  grep -q "Verifying against public key in the token... ok" "$T/sign-$k.log" ||
    { cat "$T/sign-$k.log"; fail "p11tool --test-sign $k: signature not verified"; }
done
grep -q "RSA-SHA256" "$T/sign-p11-rsa.log" || fail "--test-sign p11-rsa did not sign RSA-SHA256"
grep -q "ECDSA-SHA256" "$T/sign-p11-ec.log" || fail "--test-sign p11-ec did not sign ECDSA-SHA256"

# pkcs11-tool on the same token, now holding RSA and EC keys (plus two made by pkcs11-tool).
# --allow-sw: the token's mechanisms are software (no CKF_HW); without it --test skips signing.
keypair tool-ec 0e EC:secp384r1
keypair tool-rsa 0f rsa:3072
# SoftHSM2 2.6.1 fails two things pkcs11-tool tests; on that target exactly those failures are
# expected (and named), everything else must pass. The qkey token must pass whole.
gaps=0
softhsm_gap() { # LOG PATTERN WHAT
  [[ ${QKEY_P11_TARGET:-qkey} == softhsm ]] && grep -q "$2" "$1" &&
    { echo "SoftHSM2 2.6.1 gap (expected there): $3"; gaps=$((gaps + 1)); return 0; }
  cat "$1"
  return 1
}
if p11 --test --allow-sw >"$T/test.log" 2>&1; then
  grep -q "No errors" "$T/test.log" || { cat "$T/test.log"; fail "pkcs11-tool --test reported errors"; }
else
  softhsm_gap "$T/test.log" "C_DecryptInit failed: rv = CKR_ARGUMENTS_BAD" \
    "RSA-PKCS-OAEP with a label (pSourceData) is refused" || fail "pkcs11-tool --test"
fi
# --test signed and verified with the RSA keys (it signs with RSA keys only)
grep -q "all 4 signature functions seem to work" "$T/test.log" ||
  { cat "$T/test.log"; fail "pkcs11-tool --test did not sign"; }
grep -q "SHA256-RSA-PKCS: OK" "$T/test.log" || fail "pkcs11-tool --test: SHA256-RSA-PKCS not OK"
grep -q "testing key [0-9] (p11-rsa)" "$T/test.log" || fail "pkcs11-tool --test skipped p11-rsa"
grep -q "testing key [0-9] (tool-rsa)" "$T/test.log" || fail "pkcs11-tool --test skipped tool-rsa"
# --test-fork: a forked child calls C_Initialize and gets a working token
if ! p11 --test-fork >"$T/fork.log" 2>&1; then
  softhsm_gap "$T/fork.log" "C_Initialize in child.*\|CKR_CRYPTOKI_ALREADY_INITIALIZED" \
    "a forked child's C_Initialize is CKR_CRYPTOKI_ALREADY_INITIALIZED" || fail "pkcs11-tool --test-fork"
fi
echo "p11tool generates, lists and signs with RSA-2048 and P-256 keys; pkcs11-tool --test and" \
  "--test-fork pass with RSA and EC keys in the token ($MOD;" \
  "$gaps known SoftHSM2 gaps)"
