#!/bin/bash
# `qkey status` for people, against a qkey-kme-sim link on a satellite profile: per peer the
# keys stored, supply, consumption, time to empty and next pass the KME reports, failures and
# fallbacks; RNG source and health; --watch S --count N redraws N times; --json stays JSON.
# Usage: status_summary.sh BIN_DIR SANITIZE(ON|OFF)
BIN=$1 SAN=$2
source "$(dirname "$0")/lib.sh"
kme_init --profile satellite --initial 40 --rate 0 --pass 1 --period 600 --first-pass 600
kme_start
Q=$BIN/qkey
for i in 1 2 3; do "$Q" key new --conf "$T/kme/qkey-a.conf" SAE_B >/dev/null 2>&1; done
"$Q" status --conf "$T/kme/qkey-a.conf" >"$T/s.txt" 2>&1 || fail "status: $(cat "$T/s.txt")"
check() { grep -q "$1" "$T/s.txt" && pass "summary shows $2: $(grep -m1 "$1" "$T/s.txt" | sed 's/^ *//')" || fail "summary lacks $2: $(cat "$T/s.txt")"; }
check "^  peer SAE_B" "the peer"
check "keys stored:  37 of" "the keys stored (40 - 3)"
check "next pass in: 1[01] min" "the next pass the KME reports"
check "consumption:" "the consumption"
check "time to empty:" "the time to empty"
check "failures.*fallbacks" "failures and fallbacks"
check "^RNG: source sim.*health" "the RNG source and health"
! grep -q '^{' "$T/s.txt" && pass "the default output is not JSON" || fail "default output is JSON"
n=$("$Q" status --conf "$T/kme/qkey-a.conf" --watch 0.2 --count 3 | grep -c "^  peer SAE_B")
[[ $n == 3 ]] && pass "--watch 0.2 --count 3 drew the summary 3 times" || fail "--watch drew $n times"
"$Q" status --conf "$T/kme/qkey-a.conf" --json | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["peers"][0]["link"]["stored_key_count"] == 37' &&
  pass "--json: one object with the same figures" || fail "--json"
"$Q" status --conf "$T/kme/qkey-a.conf" --watch 0 >/dev/null 2>&1
[[ $? == 2 ]] && pass "--watch 0 is a usage error" || fail "--watch 0 accepted"
kme_stop
"$Q" status --conf "$T/kme/qkey-a.conf" >"$T/s.txt" 2>&1
check "UNAVAILABLE: KME unreachable" "a KME that is down"
finish
