#!/bin/bash
# `openssl rand` under a simulated link's openssl.cnf draws through the QRNG seed source: it
# works on the simulated source, fails with a health-test error on a stuck (all-zero) device,
# and a rejected qkey configuration makes it fail with the reason instead of silently seeding
# from the OS.
# Usage: rand.sh PROVIDER_SO BIN_DIR SANITIZE(ON|OFF)
PROV=$1 BIN=$2 SAN=${3:-OFF}
source "$(dirname "$0")/lib.sh"
mklink "$T/link"
cnf=$T/link/sae-a.cnf

if out=$(OPENSSL_CONF=$cnf openssl rand -hex 32 2>&1) && [[ $out =~ ^[0-9a-f]{64}$ ]]; then
  pass "openssl rand on the simulated QRNG"
else
  fail "openssl rand on a healthy source: $out"
fi

head -c 1000000 /dev/zero >"$T/zeros"
cp "$cnf" "$T/stuck.cnf"
setkey "$T/stuck.cnf" rng.source "device:$T/zeros"
if OPENSSL_CONF=$T/stuck.cnf openssl rand -hex 32 >"$T/out" 2>&1; then
  fail "openssl rand succeeded on an all-zero source: QRNG is not in the DRBG chain"
elif grep -q "qkey:.*quantum random source failure" "$T/out" && grep -qi "health\|repetition\|adaptive" "$T/out"; then
  pass "stuck source refused: $(grep -m1 -o 'quantum random source failure.*' "$T/out" | cut -c1-110)"
else
  fail "stuck source refused without a health-test reason: $(head -c 300 "$T/out")"
fi

cp "$cnf" "$T/bad.cnf"
setkey "$T/bad.cnf" qkd.driver nosuch
if OPENSSL_CONF=$T/bad.cnf openssl rand -hex 32 >"$T/out" 2>&1; then
  fail "openssl rand succeeded with a rejected qkey configuration (silent OS fallback)"
elif grep -q "qkey configuration rejected.*nosuch" "$T/out"; then
  pass "rejected configuration fails loudly: $(grep -m1 -o 'qkey cannot open.*' "$T/out" | cut -c1-110)"
else
  fail "rejected configuration failed without its reason: $(head -c 300 "$T/out")"
fi

echo "$fails failure(s)"
[[ $fails == 0 ]]
