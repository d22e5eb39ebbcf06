#!/bin/bash
# `qkey key new` on SAE_A and `qkey key get` on SAE_B give the same key; a second get of the same
# key ID is refused; a peer outside qkd.peers gets nothing; malformed IDs are usage errors.
source "$(dirname "$0")/lib.sh"
"$QKEY" sim init "$T/l" >/dev/null 2>&1 || fail "sim init"

read -r kid key_a < <(QKEY_CONF=$T/l/qkey-a.conf "$QKEY" key new SAE_B 2>"$T/a.err") || true
[[ -n ${key_a:-} ]] || fail "key new: $(cat "$T/a.err")"
[[ $kid =~ ^[0-9a-fA-F-]{36}$ ]] || fail "key ID $kid is not a UUID"
[[ $key_a =~ ^[0-9a-f]{64}$ ]] || fail "key is not 256 bits of hex"
key_b=$("$QKEY" --conf "$T/l/qkey-b.conf" key get SAE_A "$kid" 2>"$T/b.err") || fail "key get: $(cat "$T/b.err")"
[[ $key_a == "$key_b" ]] || fail "the two sides got different keys"
ok "key new on SAE_A and key get on SAE_B agree ($kid)"

set +e
QKEY_CONF=$T/l/qkey-b.conf "$QKEY" key get SAE_A "$kid" >"$T/replay.out" 2>"$T/replay.err"; rc=$?
set -e
[[ $rc == 1 ]] || fail "second get of $kid: exit $rc"
[[ ! -s $T/replay.out ]] || fail "second get printed a key"
grep -qi "key" "$T/replay.err" || fail "second get gave no reason"
ok "replay refused: $(head -1 "$T/replay.err")"

set +e
QKEY_CONF=$T/l/qkey-a.conf "$QKEY" key new SAE_C >"$T/c.out" 2>"$T/c.err"; rc=$?
set -e
[[ $rc == 1 && ! -s $T/c.out ]] || fail "a key for SAE_C (not in qkd.peers): exit $rc"
ok "peer outside qkd.peers refused: $(head -1 "$T/c.err")"

set +e
QKEY_CONF=$T/l/qkey-b.conf "$QKEY" key get SAE_A "../../etc/passwd" >/dev/null 2>&1; rc1=$?
QKEY_CONF=$T/l/qkey-a.conf "$QKEY" key new 'SAE B' >/dev/null 2>&1; rc2=$?
set -e
[[ $rc1 == 2 && $rc2 == 2 ]] || fail "malformed key ID / SAE ID: exit $rc1 / $rc2"
ok "malformed IDs refused before any request"
