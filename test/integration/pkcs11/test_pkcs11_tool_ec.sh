#!/bin/bash
# OpenSC pkcs11-tool --test-ec on the token: it makes a P-256 key pair, changes its CKA_ID and
# signs with it. pkcs11-tool (0.23, Debian 12) signs with CKM_ECDSA_SHA1, fixed in its code, so
# this passes only on a token that offers ECDSA over SHA-1. Kept apart from the other
# pkcs11-tool checks so that a token without CKM_ECDSA_SHA1 fails here and only here.
# QKEY_P11_TARGET=softhsm: on SoftHSM2 2.6.1, which has no CKM_ECDSA_SHA1 either (expected,
# named).
source "$(dirname "$0")/apps_lib.sh"
init_token a "$TOKEN"
if ! p11 --session-rw --test-ec --key-type EC:prime256v1 --id 20 >"$T/test-ec.log" 2>&1; then
  if [[ ${QKEY_P11_TARGET:-qkey} == softhsm ]] &&
    grep -q "C_SignInit failed: rv = CKR_MECHANISM_INVALID" "$T/test-ec.log"; then
    echo "SoftHSM2 2.6.1 gap (expected there): no CKM_ECDSA_SHA1"
  else
    cat "$T/test-ec.log"
    fail "pkcs11-tool --test-ec"
  fi
fi
grep -q "Key pair generated" "$T/test-ec.log" || fail "pkcs11-tool --test-ec made no key pair"
echo "pkcs11-tool --test-ec on $MOD"
