#!/bin/bash
# qcall benchmarks, baseline in the same run, ratios printed:
#  1. call set-up time (TCP + TLS 1.3 signalling + key exchange + SRTP keys, until READY), median
#     of CALLS calls, keyed by one X25519-QKD KEM operation vs the same app keyed by X25519 ECDH.
#     Both runs use the same OPENSSL_CONF (the simulated link) and X25519 for signalling, so the
#     only difference is --kex; a third run shows QKD keying with x25519_qkd signalling as well.
#  2. media: SRTP frames per CPU second (qcall's whole path: protect, UDP send, receive,
#     unprotect, both processes' CPU) vs libsrtp2's raw protect+unprotect on one core.
# Usage: bench/qcall/run.sh [BUILD_DIR] [CALLS] [FRAMES]   (defaults: build 50 20000)
set -u
B=$(cd "${1:-build}" && pwd) CALLS=${2:-50} FRAMES=${3:-20000}
QCALL=$B/bin/qcall QKEY=$B/bin/qkey RAW=$B/bin/qcall-bench-srtp
for f in "$QCALL" "$RAW"; do [[ -x $f ]] || { echo "missing $f (build first)"; exit 1; }; done
T=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$T"' EXIT

pair() { # CALLEE_CNF CALLER_CNF KEX CALLS caller-args...: prints the caller's summary line
  local ccnf=$1 rcnf=$2 kex=$3 calls=$4; shift 4
  rm -f "$T/port"
  OPENSSL_CONF=$ccnf "$QCALL" callee --kex "$kex" --calls "$calls" --port-file "$T/port" >"$T/callee.out" 2>&1 &
  local pid=$!
  for _ in $(seq 100); do [[ -s $T/port ]] && break; sleep 0.05; done
  OPENSSL_CONF=$rcnf "$QCALL" caller --kex "$kex" --port "$(cat "$T/port")" --calls "$calls" "$@" >"$T/caller.out" 2>&1
  wait $pid
  grep "^caller summary" "$T/caller.out"
  grep -q "failed=0" "$T/caller.out" || { echo "calls failed:"; grep FAILED "$T/caller.out" | head -3; exit 1; }
}
field() { sed -E "s/.*$1=([0-9.]+).*/\1/"; }

if [[ -x $QKEY && -f $B/lib/ossl-modules/qkey.so ]] &&
  QKEY_PROVIDER_MODULE=$B/lib/ossl-modules/qkey.so "$QKEY" sim init "$T/link" >/dev/null 2>&1; then
  A=$T/link/sae-a.cnf Bc=$T/link/sae-b.cnf
else
  echo "no simulated QKD link (needs $QKEY and the provider): set-up comparison skipped"; A= Bc=
fi
echo "== call set-up, median of $CALLS calls each (no media; runs interleaved in batches of 10)"
# setup_ms: connect to READY. kex_ms: the key exchange alone (caller: encapsulate or derive;
# callee: keygen + decapsulate or derive), i.e. what the QKD KEM adds, including both KME look-ups.
median() { sort -n | awk '{v[NR]=$1} END {if (NR == 0) print 0; else if (NR % 2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'; }
if [[ -n $A ]]; then
  : >"$T/ecdh.setup"; : >"$T/qkd.setup"; : >"$T/qkd2.setup"; : >"$T/ecdh.kex"; : >"$T/qkd.kex"; : >"$T/qkd2.kex"
  collect() { # NAME: append this run's per-call setup_ms and kex_ms (caller + callee) to NAME.*
    grep "^caller call" "$T/caller.out" | sed -E 's/.*setup_ms=([0-9.]+).*/\1/' >>"$T/$1.setup"
    paste <(grep "^caller call" "$T/caller.out" | sed -E 's/.*kex_ms=([0-9.]+).*/\1/') \
          <(grep "^callee call" "$T/callee.out" | sed -E 's/.*kex_ms=([0-9.]+).*/\1/') |
      awk '{print $1 + $2}' >>"$T/$1.kex"
  }
  left=$CALLS
  while ((left > 0)); do
    n=$((left < 10 ? left : 10)); left=$((left - n))
    pair "$Bc" "$A" X25519 "$n" --frames 0 --groups X25519 >/dev/null || exit 1; collect ecdh
    pair "$Bc" "$A" X25519-QKD "$n" --frames 0 --groups X25519 >/dev/null || exit 1; collect qkd
    pair "$Bc" "$A" X25519-QKD "$n" --frames 0 >/dev/null || exit 1; collect qkd2
  done
  g2=$(grep -o 'group=[^ ]*' "$T/caller.out" | sort -u | tr '\n' ' ')
  e=$(median <"$T/ecdh.setup") q=$(median <"$T/qkd.setup") q2=$(median <"$T/qkd2.setup")
  ek=$(median <"$T/ecdh.kex") qk=$(median <"$T/qkd.kex") qk2=$(median <"$T/qkd2.kex")
  printf "%-52s set-up %7.2f ms   key exchange %6.3f ms\n" "X25519 ECDH keyed, X25519 signalling (baseline):" "$e" "$ek"
  printf "%-52s set-up %7.2f ms   key exchange %6.3f ms   ratio set-up %.2fx, key exchange %.2fx\n" \
    "X25519-QKD keyed, X25519 signalling:" "$q" "$qk" "$(echo "$q / $e" | bc -l)" "$(echo "$qk / $ek" | bc -l)"
  printf "%-52s set-up %7.2f ms   key exchange %6.3f ms   ratio set-up %.2fx, key exchange %.2fx\n" \
    "X25519-QKD keyed, signalling ${g2% }:" "$q2" "$qk2" "$(echo "$q2 / $e" | bc -l)" "$(echo "$qk2 / $ek" | bc -l)"
fi

echo "== media: one call, $FRAMES frames each way, no pacing (window 32)"
m=$(pair /dev/null /dev/null X25519 1 --frames "$FRAMES" --fast) || exit 1
cf=$(echo "$m" | field media_frames) cc=$(echo "$m" | field media_cpu_s)
ce=$(grep "^callee summary" "$T/callee.out")
ef=$(echo "$ce" | field media_frames) ec=$(echo "$ce" | field media_cpu_s)
grep "^callee call" "$T/callee.out" | grep -q "received=$FRAMES rejected=0" || { echo "frames lost or rejected:"; cat "$T/callee.out"; exit 1; }
# Every frame is protected+sent by one process and received+unprotected by the other.
qps=$(echo "($cf + $ef) / 2 / ($cc + $ec)" | bc -l)
raw=$("$RAW" 200000) || exit 1
rps=$(echo "$raw" | field frames_per_cpu_s)
printf "qcall SRTP over UDP (protect+send+recv+unprotect): %10.0f frames/s per core\n" "$qps"
printf "raw libsrtp2 protect+unprotect (ceiling):          %10.0f frames/s per core   qcall/raw %.3f\n" "$rps" "$(echo "$qps / $rps" | bc -l)"
printf "a call needs 50 frames/s each way: one core carries ~%.0f calls\n" "$(echo "$qps / 100" | bc -l)"
