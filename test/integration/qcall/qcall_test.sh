#!/bin/bash
# Integration tests of examples/qcall: real calls between two processes on loopback, each
# configured only by OPENSSL_CONF (the files `qkey sim init` / `qkey-kme-sim init` write).
# Usage: qcall_test.sh CASE QCALL QKEY KMESIM MODULESDIR
#   CASE: x25519 | sim | refused | kme | agent  (QKEY/KMESIM may be "" when not built; agent
#   needs $QKEYD, the qkeyd binary)
# Exit 0 pass, 1 fail, 77 skipped (with the reason printed).
set -u
case_=$1 QCALL=$2 QKEY=${3:-} KMESIM=${4:-} MODDIR=${5:-}
T=$(mktemp -d)
# Sanitizer build: keep modules mapped at exit (see pin_modules.c), the ASan runtime first. Only
# qcall gets the preload: sed, grep and friends are not ours to leak-check.
QENV=()
if [[ -n ${QCALL_PRELOAD:-} ]]; then
  QENV=("LD_PRELOAD=$(gcc -print-file-name=libasan.so) $QCALL_PRELOAD")
  export ASAN_OPTIONS=abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
fi
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$T"' EXIT

fail() { echo "FAIL: $*"; echo "--- caller"; cat "$T/caller.out" 2>/dev/null; echo "--- callee"; cat "$T/callee.out" 2>/dev/null; exit 1; }
skip() { echo "SKIP: $*"; exit 77; }

# run_call CALLEE_CNF CALLER_CNF CALLS [caller options...]: one callee answering CALLS calls, one
# caller placing them; exit codes in $callee_rc / $caller_rc, output in $T/callee.out, caller.out.
run_call() {
  local ccnf=$1 rcnf=$2 calls=$3; shift 3
  rm -f "$T/port"
  OPENSSL_CONF=$ccnf timeout 60 env "${QENV[@]}" "$QCALL" callee --calls "$calls" --port-file "$T/port" \
    "${CALLEE_ARGS[@]}" >"$T/callee.out" 2>&1 &
  local pid=$! i
  for i in $(seq 100); do [[ -s $T/port ]] && break; sleep 0.05; done
  [[ -s $T/port ]] || fail "callee did not start"
  OPENSSL_CONF=$rcnf timeout 60 env "${QENV[@]}" "$QCALL" caller --port "$(cat "$T/port")" --calls "$calls" "$@" \
    >"$T/caller.out" 2>&1
  caller_rc=$?
  wait $pid; callee_rc=$?
}

# check_calls N: N calls succeeded on both sides, every frame authenticated both ways, nothing
# lost, and (with --replay-test) every call after the first rejected exactly the cross-call
# replay by SRTP authentication and the in-call duplicate by the replay check.
check_calls() {
  local n=$1 frames=$2
  [[ $caller_rc == 0 && $callee_rc == 0 ]] || fail "exit codes caller=$caller_rc callee=$callee_rc"
  [[ $(grep -c "^callee call [0-9]*: kex=" "$T/callee.out") == "$n" ]] || fail "callee did not complete $n calls"
  [[ $(grep -c "^caller call [0-9]*: kex=" "$T/caller.out") == "$n" ]] || fail "caller did not complete $n calls"
  grep "^callee call" "$T/callee.out" | grep -v "sent=$frames received=$frames " && fail "callee: not every frame authenticated"
  grep "^caller call" "$T/caller.out" | grep -v "sent=$frames received=$frames rejected=0 peer_received=$frames" && fail "caller: not every frame authenticated"
  grep "^callee call" "$T/callee.out" | grep -v "lost=0$" && fail "frames lost"
  return 0
}
check_replays() {
  local n=$1
  grep -q "^callee call 1: .*rejected=1 (auth=0 replay=1)" "$T/callee.out" || fail "call 1: in-call duplicate not rejected as a replay"
  [[ $(grep "^callee call" "$T/callee.out" | grep -c "rejected=2 (auth=1 replay=1)") == $((n - 1)) ]] ||
    fail "a frame of the previous call was not rejected by SRTP authentication in every later call"
}
# check_refused: the call failed at set-up on both sides, with a reason, and no media flowed.
check_refused() {
  [[ $caller_rc != 0 && $callee_rc != 0 ]] || fail "a call that should have been refused succeeded"
  grep -q "^caller call 1: FAILED at set-up: .*; media frames sent=0$" "$T/caller.out" || fail "caller: no set-up failure with a reason, or media was sent"
  grep -q "^callee call 1: FAILED at set-up: .*; media datagrams received=0$" "$T/callee.out" || fail "callee: no set-up failure with a reason, or media arrived"
}
need_qkd() {
  [[ -n $QKEY && -x $QKEY ]] || skip "the qkey tool is not built (tools/), no simulated link"
  [[ -n $MODDIR && -f $MODDIR/qkey.so ]] || skip "the qkey provider is not built ($MODDIR/qkey.so)"
  export QKEY_PROVIDER_MODULE=$MODDIR/qkey.so # the module the generated .cnf files load
}
distinct_key_ids() { # N: the callee and the caller saw the same N distinct UUID key IDs
  local n=$1
  grep -o "^callee call [0-9]*: kex=[^ ]* key_id=[^ ]*" "$T/callee.out" | sed 's/.*key_id=//' >"$T/ids.callee"
  grep -o "^caller call [0-9]*: kex=[^ ]* key_id=[^ ]*" "$T/caller.out" | sed 's/.*key_id=//' >"$T/ids.caller"
  grep -qvE '^[0-9a-fA-F-]{36}$' "$T/ids.callee" && fail "a key ID is not a UUID: $(grep -vE '^[0-9a-fA-F-]{36}$' "$T/ids.callee" | head -1)"
  cmp -s "$T/ids.callee" "$T/ids.caller" || fail "caller and callee report different key IDs"
  [[ $(sort -u "$T/ids.callee" | wc -l) == "$n" ]] || fail "$n calls did not use $n distinct key IDs"
}

CALLEE_ARGS=()
case $case_ in
x25519) # the same app keyed by plain ECDH: no provider involved
  CALLEE_ARGS=(--kex X25519)
  run_call /dev/null /dev/null 3 --kex X25519 --frames 40 --fast --replay-test
  check_calls 3 40; check_replays 3
  # Paced media (20 ms frames, as a real call) and a verified signalling certificate.
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=callee.test \
    -keyout "$T/srv.key" -out "$T/srv.pem" >/dev/null 2>&1 || fail "openssl req"
  CALLEE_ARGS=(--kex X25519 --cert "$T/srv.pem" --key "$T/srv.key")
  start=$(date +%s%N)
  run_call /dev/null /dev/null 1 --kex X25519 --frames 10 --ca "$T/srv.pem" --peer-name callee.test
  check_calls 1 10
  (( ($(date +%s%N) - start) / 1000000 >= 180 )) || fail "10 paced frames took less than 180 ms"
  # The caller refuses a callee whose certificate does not verify: no call, no media.
  run_call /dev/null /dev/null 1 --kex X25519 --frames 10 --ca "$T/srv.pem" --peer-name other.test
  [[ $caller_rc != 0 ]] || fail "caller accepted a certificate for the wrong name"
  grep -q "^caller call 1: FAILED at set-up: TLS handshake failed: .*; media frames sent=0$" "$T/caller.out" ||
    fail "wrong-name certificate: no TLS failure reported"
  echo "PASS: 3 X25519-keyed calls, 40 frames each way authenticated, replays rejected; paced call with a verified callee; wrong certificate refused"
  ;;
sim)
  need_qkd
  "$QKEY" sim init "$T/link" >"$T/init.log" 2>&1 || fail "qkey sim init: $(tail -1 "$T/init.log")"
  run_call "$T/link/sae-b.cnf" "$T/link/sae-a.cnf" 10 --frames 40 --fast --replay-test
  check_calls 10 40; check_replays 10; distinct_key_ids 10
  grep -q "^caller call 1: kex=X25519-QKD .*group=" "$T/caller.out" || fail "not keyed by X25519-QKD"
  echo "PASS: 10 calls over the simulated QKD link, 10 distinct key IDs, all frames authenticated, cross-call replays rejected"
  echo "      signalling group: $(grep -o 'group=[^ ]*' "$T/caller.out" | sort -u | tr '\n' ' ')"
  ;;
refused)
  need_qkd
  "$QKEY" sim init "$T/link" >/dev/null 2>&1 && "$QKEY" sim init "$T/other" >/dev/null 2>&1 || fail "qkey sim init"
  # 1. The caller's own configuration does not allow the callee's SAE as a peer.
  sed -E 's/^([[:space:]]*qkd\.peers[[:space:]]*=).*/\1 SAE_NOBODY/' "$T/link/sae-a.cnf" >"$T/denied-a.cnf"
  grep -q "SAE_NOBODY" "$T/denied-a.cnf" || fail "no qkd.peers line in sae-a.cnf to edit"
  run_call "$T/link/sae-b.cnf" "$T/denied-a.cnf" 1 --frames 10 --fast --groups X25519
  check_refused; grep -qi "peer" "$T/caller.out" || fail "the reason does not name the peer"
  echo "peer not allowed -> $(grep -o 'FAILED at set-up: .*' "$T/caller.out" | cut -c1-200)"
  # 2. Caller and callee on different QKD links: the key ID is unknown at the callee's end.
  run_call "$T/other/sae-b.cnf" "$T/link/sae-a.cnf" 1 --frames 10 --fast --groups X25519
  check_refused; grep -qi "unknown" "$T/callee.out" || fail "the reason does not say the key is unknown"
  echo "different link   -> $(grep -o 'FAILED at set-up: .*' "$T/callee.out" | cut -c1-200)"
  # 2b. That call left one key on the caller's link that SAE_B never fetched: with at most one
  #     undelivered key allowed (qkd.sim_max_keys), the link is exhausted for the next call.
  sed -E '/^[[:space:]]*qkd\.sim_link/a qkd.sim_max_keys = 1' "$T/link/sae-a.cnf" >"$T/exhausted-a.cnf"
  grep -q "sim_max_keys" "$T/exhausted-a.cnf" || fail "no qkd.sim_link line in sae-a.cnf"
  run_call "$T/link/sae-b.cnf" "$T/exhausted-a.cnf" 1 --frames 10 --fast --groups X25519
  check_refused; grep -qi "no .*key" "$T/caller.out" || fail "the reason does not say no key is available"
  echo "link exhausted   -> $(grep -o 'FAILED at set-up: .*' "$T/caller.out" | cut -c1-200)"
  # 3. The same with the signalling connection itself on x25519_qkd (if the config offers it).
  run_call "$T/other/sae-b.cnf" "$T/link/sae-a.cnf" 1 --frames 10 --fast
  check_refused; echo "different link, default groups -> $(grep -o 'FAILED at set-up: .*' "$T/caller.out" | cut -c1-160)"
  # 4. A callee whose OPENSSL_CONF does not load the provider cannot offer X25519-QKD.
  run_call /dev/null "$T/link/sae-a.cnf" 1 --frames 10 --fast --groups X25519
  check_refused; grep -q "no provider offers X25519-QKD" "$T/caller.out" || fail "no clear reason without the provider"
  echo "PASS: refused calls fail at set-up with a reason on both sides; no media flowed"
  ;;
kme)
  need_qkd
  [[ -n $KMESIM && -x $KMESIM ]] || skip "qkey-kme-sim is not built (tools/kme-sim)"
  "$KMESIM" init "$T/kme" >"$T/init.log" 2>&1 || fail "qkey-kme-sim init: $(tail -1 "$T/init.log")"
  "$KMESIM" run "$T/kme" >"$T/kme.log" 2>&1 &
  kpid=$!
  for _ in $(seq 100); do grep -q "serves" "$T/kme.log" 2>/dev/null && break; kill -0 $kpid 2>/dev/null || break; sleep 0.05; done
  grep -q "serves" "$T/kme.log" || fail "qkey-kme-sim run did not come up: $(tail -1 "$T/kme.log")"
  run_call "$T/kme/sae-b.cnf" "$T/kme/sae-a.cnf" 5 --frames 20 --fast --replay-test
  check_calls 5 20; check_replays 5; distinct_key_ids 5
  # With the KMEs gone, a call fails at set-up with the reason, and no media flows.
  kill $kpid; wait $kpid 2>/dev/null
  run_call "$T/kme/sae-b.cnf" "$T/kme/sae-a.cnf" 1 --frames 10 --fast --groups X25519
  check_refused
  echo "KME down -> $(grep -o 'FAILED at set-up: .*' "$T/caller.out" | cut -c1-200)"
  echo "PASS: 5 calls keyed through the ETSI 014 KME pair, 5 distinct key IDs, all frames authenticated; KME down refused"
  ;;
agent) # the same calls with keys from two qkeyd agents (`qkey sim init --agent`): no credential
  # and no link in qcall's configuration
  need_qkd
  [[ -n ${QKEYD:-} && -x $QKEYD ]] || skip "qkeyd is not built (tools/qkeyd)"
  "$QKEY" sim init --agent "$T/link" >"$T/init.log" 2>&1 || fail "qkey sim init --agent: $(tail -1 "$T/init.log")"
  grep -q "sim_link" "$T/link/sae-a.cnf" "$T/link/sae-b.cnf" && fail "a client .cnf names the link"
  for s in a b; do "$QKEYD" --conf "$T/link/qkeyd-$s.conf" >"$T/qkeyd-$s.log" 2>&1 & done
  for i in $(seq 100); do [[ -S $T/link/qkeyd-a.sock && -S $T/link/qkeyd-b.sock ]] && break; sleep 0.05; done
  run_call "$T/link/sae-b.cnf" "$T/link/sae-a.cnf" 5 --frames 20 --fast --replay-test
  check_calls 5 20; check_replays 5; distinct_key_ids 5
  sort "$T/ids.caller" >"$T/ids.sorted"
  [[ $(awk '$3 == "new" {print $5}' "$T/link/qkeyd-a.journal" | sort | comm -12 - "$T/ids.sorted" | wc -l) == 5 ]] ||
    fail "the calls' key IDs are not in agent A's journal"
  echo "PASS: 5 calls keyed through two qkeyd agents, 5 distinct key IDs (in agent A's journal), all frames authenticated"
  ;;
*) echo "unknown case $case_"; exit 2 ;;
esac
