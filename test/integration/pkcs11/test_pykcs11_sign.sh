#!/bin/bash
# examples/pykcs11/sign.py as a user runs it: EC P-256 and RSA-2048 key pairs made in the token
# through PyKCS11, signatures made there and verified outside (cryptography, openssl), OAEP
# encryption by openssl decrypted in the token. Then the signatures it left are checked again
# here, and a changed message must not verify. QKEY_P11_TARGET=softhsm runs it on SoftHSM2.
source "$(dirname "$0")/apps_lib.sh"
need openssl
py=/usr/bin/python3
$py -c 'import PyKCS11, cryptography' 2>/dev/null || { echo "PyKCS11 or cryptography missing: skipped"; exit 77; }
example=$(cd "$(dirname "$0")/../../.." && pwd)/examples/pykcs11/sign.py
init_token a "$TOKEN"
oaep=sha256
if [[ ${QKEY_P11_TARGET:-qkey} == softhsm ]]; then
  oaep=sha1 # SoftHSM2 2.6.1 decrypts OAEP with SHA-1 only (CKR_ARGUMENTS_BAD otherwise)
fi
mkdir -p "$T/out"
PKCS11_PIN=$PIN run $py "$example" "$MOD" --token "$TOKEN" --out "$T/out" --keep --oaep-hash $oaep \
  >"$T/py.log" 2>&1 || { cat "$T/py.log"; fail "examples/pykcs11/sign.py"; }
for line in "EC P-256: ECDSA-SHA256 signature (64 bytes) verified by cryptography and openssl" \
  "RSA-2048: SHA256-RSA-PKCS and SHA256-RSA-PKCS-PSS signatures verified" \
  "RSA-2048: OAEP ($oaep) ciphertext from openssl pkeyutl decrypted in the token"; do
  grep -qF "$line" "$T/py.log" || { cat "$T/py.log"; fail "sign.py did not report: $line"; }
done

# What it left verifies with openssl here too, and not for another message.
cd "$T/out" || fail "no output directory"
for k in ec rsa; do
  openssl dgst -sha256 -verify $k.pub.pem -signature $k.sig message.txt >/dev/null ||
    fail "the $k signature left by sign.py does not verify"
  printf 'another message' >other.txt
  openssl dgst -sha256 -verify $k.pub.pem -signature $k.sig other.txt >/dev/null 2>&1 &&
    fail "the $k signature verifies for a different message"
done
openssl pkey -pubin -in rsa.pub.pem -noout -text | grep -q "Public-Key: (2048 bit)" || fail "not RSA-2048"

# --keep made token objects: pkcs11-tool sees them in a new process, private halves sealed.
for k in ec rsa; do never_extractable py-$k; done
echo "PyKCS11 example: EC and RSA keys made, used and kept in the token ($MOD); signatures" \
  "verified by cryptography and openssl; OAEP ($oaep) from openssl decrypted in the token"
