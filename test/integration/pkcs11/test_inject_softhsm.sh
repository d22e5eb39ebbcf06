#!/bin/bash
# qkey-inject against SoftHSM2 (a PKCS#11 token users already have): site A injects a new QKD
# key for SAE_B, site B injects the same key by ID (its token named by a PKCS#11 URI); what A
# encrypts with its SoftHSM2 key, B decrypts with its own. The key is sensitive and not
# extractable; a second GET, a reused label and a wrong PIN are refused.
source "$(dirname "$0")/lib.sh"
SOFTHSM=/usr/lib/softhsm/libsofthsm2.so
INJECT=${QKEY_INJECT:?QKEY_INJECT names qkey-inject}
[[ -f $SOFTHSM ]] || { echo "SoftHSM2 not installed: skipped"; exit 77; }
for side in a b; do
  mkdir -p "$T/hsm-$side"
  printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
    "$T/hsm-$side" >"$T/softhsm-$side.conf"
  SOFTHSM2_CONF=$T/softhsm-$side.conf run softhsm2-util --init-token --free --label kms-$side \
    --so-pin 12345678 --pin 123456 >/dev/null || fail "softhsm2-util --init-token $side"
done
A() { QKEY_CONF=$T/qkey-a.conf SOFTHSM2_CONF=$T/softhsm-a.conf run "$@"; }
B() { QKEY_CONF=$T/qkey-b.conf SOFTHSM2_CONF=$T/softhsm-b.conf run "$@"; }
py=$(dirname "$0")/softhsm_pair.py

# a wrong PIN fails before the link is asked for a key
A "$INJECT" --module $SOFTHSM --token kms-a --pin 000000 --peer SAE_B new 2>"$T/pin.err" &&
  fail "wrong PIN accepted"
grep -q CKR_PIN_INCORRECT "$T/pin.err" || fail "wrong PIN: $(cat "$T/pin.err")"

read -r kid label < <(A "$INJECT" --module $SOFTHSM --token kms-a --pin 123456 --peer SAE_B new \
  2>"$T/a.err") || true
[[ -n ${label:-} ]] || fail "inject new: $(cat "$T/a.err")"
[[ $label == "qkd:SAE_A+SAE_B#0" ]] || fail "label $label"
read -r kid_b label_b < <(B "$INJECT" --module $SOFTHSM --token "pkcs11:token=kms-b;pin-value=123456" \
  --peer SAE_A get "$kid" 2>"$T/b.err") || true
[[ $kid_b == "$kid" && $label_b == "$label" ]] || fail "inject get: $(cat "$T/b.err")"

read -r iv ct < <(SOFTHSM2_CONF=$T/softhsm-a.conf run /usr/bin/python3 "$py" $SOFTHSM "$label" encrypt)
pt=$(SOFTHSM2_CONF=$T/softhsm-b.conf run /usr/bin/python3 "$py" $SOFTHSM "$label" decrypt "$iv" "$ct")
[[ $pt == "injected QKD key" ]] || fail "B could not decrypt A's message with the injected key"

B "$INJECT" --module $SOFTHSM --token kms-b --pin 123456 --peer SAE_A --epoch 1 get "$kid" \
  >/dev/null 2>&1 && fail "the same key ID was injected twice"
A "$INJECT" --module $SOFTHSM --token kms-a --pin 123456 --peer SAE_B new 2>"$T/dup.err" &&
  fail "label reused"
grep -q "already holds" "$T/dup.err" || fail "reused label: $(cat "$T/dup.err")"
# rotation: the next epoch
read -r kid2 label2 < <(A "$INJECT" --module $SOFTHSM --token kms-a --pin 123456 --peer SAE_B \
  --epoch 1 new 2>/dev/null) || true
[[ $label2 == "qkd:SAE_A+SAE_B#1" && $kid2 != "$kid" ]] || fail "epoch 1"
# `qkey inject` runs the same tool
if [[ -n ${QKEY_CLI:-} ]]; then
  B "$QKEY_CLI" inject --module $SOFTHSM --token kms-b --pin 123456 --peer SAE_A --epoch 1 \
    get "$kid2" >"$T/cli.out" 2>&1 || fail "qkey inject: $(cat "$T/cli.out")"
  grep -q "qkd:SAE_A+SAE_B#1" "$T/cli.out" || fail "qkey inject output"
fi
echo "QKD keys $kid and $kid2 injected into two SoftHSM2 tokens; replay, reuse and bad PINs refused"
