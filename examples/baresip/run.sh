#!/bin/bash
# Encrypted calls between two unmodified baresip instances on QKD keys, in one command:
#   examples/baresip/run.sh [--calls N] [--keep DIR]
# 1. starts the bundled KME simulator (qkey-kme-sim: two ETSI GS QKD 014 KMEs over mutual TLS)
#    with a fixed stock of QKD keys and no new supply, so every key used is counted;
# 2. writes two baresip configurations (alice, bob) for SIP over TLS on loopback with SRTP
#    mandatory (mediaenc=srtp-mand, SDES keys); each instance runs with OPENSSL_CONF pointing at
#    one side's openssl.cnf from `qkey-kme-sim init` and nothing else changed;
# 3. places N calls (default 3) alice -> bob, each checked: call established on both sides,
#    SRTP enabled on both, audio flowing both ways, and exactly one QKD key taken from the link
#    (the KMEs' stored key count, read with `qkey status`): the SIP/TLS handshake ran over a
#    QKD group;
# 4. empties the link (a second KME pair with no keys) and shows that the call then fails at the
#    TLS handshake, with the reason in baresip's and the KME's logs, never as an unencrypted call.
# Needs baresip (Debian: baresip-core), qkey and qkey-kme-sim (installed, or a build tree: set
# QKEY_BIN=DIR, default _build/release/bin when it exists) and the qkey provider they name.
# Exit code 0 when every check passed. docs/calls.md says what the QKD key protects here.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
calls=3
keep=""
while (($#)); do
  case $1 in
    --calls) calls=$2; shift 2 ;;
    --keep) keep=$2; shift 2 ;;
    -h | --help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "usage: $0 [--calls N] [--keep DIR]" >&2; exit 2 ;;
  esac
done
[[ $calls =~ ^[1-9][0-9]?$ ]] || { echo "run.sh: --calls takes 1-99" >&2; exit 2; }
bin=${QKEY_BIN:-}
if [[ -z $bin && -x $here/../../_build/release/bin/qkey ]]; then
  bin=$(cd "$here/../../_build/release/bin" && pwd)
fi
QKEY=${bin:+$bin/}qkey
KMESIM=${bin:+$bin/}qkey-kme-sim
for p in baresip openssl "$QKEY" "$KMESIM"; do
  command -v "$p" >/dev/null || { echo "run.sh: $p not found (apt-get install baresip-core; build qkey)" >&2; exit 77; }
done
modules=/usr/lib/baresip/modules
[[ -f $modules/srtp.so && -f $modules/opus.so && -f $modules/ausine.so ]] ||
  { echo "run.sh: baresip modules missing in $modules" >&2; exit 77; }

if [[ -n $keep ]]; then
  W=$keep
  rm -rf "$W"
  mkdir -p "$W"
else
  W=$(mktemp -d /tmp/qkey-baresip.XXXXXX)
fi
KPIDS=()
cleanup() {
  local p
  for p in "${KPIDS[@]}" $(jobs -p); do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  [[ -z $keep ]] && rm -rf "$W"
  true
}
trap cleanup EXIT
failed=0
say() { printf '%s\n' "$*"; }
pass() { say "PASS  $*"; }
flunk() { say "FAIL  $*"; failed=1; }

# Two ports p and p+1 free for each instance: baresip listens for SIP on p (UDP, TCP) and p+1 (TLS).
free_pair() {
  python3 - <<'PY'
import random, socket
while True:
    p = random.randrange(20000, 60000, 2)
    try:
        socks = []
        for port in (p, p + 1):
            for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
                s = socket.socket(socket.AF_INET, kind)
                s.bind(("127.0.0.1", port))
                socks.append(s)
        print(p)
        break
    except OSError:
        pass
    finally:
        for s in socks:
            s.close()
PY
}

# A test CA and a certificate for 127.0.0.1 per side (SIP over TLS verifies the peer).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=qkey-baresip-ca \
  -keyout "$W/ca.key" -out "$W/ca.pem" >/dev/null 2>&1 || { say "openssl: cannot make the test CA"; exit 1; }
PA=$(free_pair)
PB=$(free_pair)
while ((PB == PA)); do PB=$(free_pair); done
for side in alice bob; do
  d=$W/$side
  mkdir -p "$d"
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=127.0.0.1 \
    -addext subjectAltName=IP:127.0.0.1 -keyout "$d/key.pem" -out "$d/req.pem" >/dev/null 2>&1 &&
    openssl x509 -req -in "$d/req.pem" -CA "$W/ca.pem" -CAkey "$W/ca.key" -CAcreateserial -days 2 \
      -copy_extensions copy -out "$d/crt.pem" >/dev/null 2>&1 || { say "openssl: cannot make $side's certificate"; exit 1; }
  cat "$d/crt.pem" "$d/key.pem" >"$d/cert.pem"
  port=$PA
  [[ $side == bob ]] && port=$PB
  # No sound card needed: a 440 Hz sine as the microphone, the received audio to a null bridge.
  cat >"$d/config" <<EOF
poll_method		epoll
sip_listen		127.0.0.1:$port
sip_certificate		$d/cert.pem
sip_cafile		$W/ca.pem
audio_source		ausine,440
audio_player		aubridge,nil
audio_alert		aubridge,nil
module_path		$modules
module			opus.so
module			ausine.so
module			aubridge.so
module			srtp.so
module_tmp		account.so
module_app		menu.so
EOF
  # SIP over TLS only, SRTP mandatory (SDES keys in the TLS-protected SDP), bob answers at once
  echo "<sip:$side@127.0.0.1:$port;transport=tls>;regint=0;mediaenc=srtp-mand;answermode=auto;audio_codecs=opus/48000/2" \
    >"$d/accounts"
done

start_kmes() { # $1 dir, $2 initial keys
  "$KMESIM" init "$1" --rate 1 --initial "$2" >"$1.init.log" 2>&1 || { cat "$1.init.log"; return 1; }
  "$KMESIM" run "$1" >"$1.log" 2>&1 &
  KPIDS+=($!)
  for _ in $(seq 50); do grep -q "serves SAE_A" "$1.log" 2>/dev/null && return 0; sleep 0.1; done
  cat "$1.log"
  return 1
}
stored() { # $1 kme dir: keys the link holds for SAE_A -> SAE_B, as qkey status reads them from KME A
  QKEY_CONF=$1/qkey-a.conf "$QKEY" status --json 2>/dev/null |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["peers"][0]["link"]["stored_key_count"])' 2>/dev/null
}
call() { # $1 kme dir, $2 tag: bob waits, alice dials, both hang up after a few seconds
  local k=$1 t=$2
  OPENSSL_CONF=$k/sae-b.cnf timeout 40 baresip -f "$W/bob" -t 14 -v >"$W/bob-$t.log" 2>&1 &
  local bp=$!
  for _ in $(seq 50); do grep -q "baresip is ready" "$W/bob-$t.log" 2>/dev/null && break; sleep 0.1; done
  OPENSSL_CONF=$k/sae-a.cnf timeout 30 baresip -f "$W/alice" -e "/dial sip:bob@127.0.0.1:$((PB + 1));transport=tls" \
    -t 9 -v >"$W/alice-$t.log" 2>&1
  wait "$bp"
}
has() { grep -aq -- "$2" "$1"; }

say "== baresip $(baresip -h 2>&1 | sed -n 's/^baresip \(v[0-9.]*\).*/\1/p'), KME simulator with $((calls + 2)) keys and no new supply"
K=$W/kme
start_kmes "$K" $((calls + 2)) || { say "cannot start the KME simulator"; exit 1; }
say "   alice: OPENSSL_CONF=$K/sae-a.cnf  bob: OPENSSL_CONF=$K/sae-b.cnf  (from qkey-kme-sim init)"
say "   Groups = $(sed -n 's/^Groups = //p' "$K/sae-a.cnf")"
# The SRTP master keys: baresip's srtp module draws them with libre's rand_bytes, which is
# OpenSSL's RAND_bytes; the DRBG chain under it seeds from qkey's QRNG in this openssl.cnf, as
# `qkey status` proves by forcing a reseed in a library context loaded from the same file.
libre=$(ldd "$(command -v baresip)" 2>/dev/null | awk '/libre\.so/ {print $3; exit}')
if [[ -n $libre ]] && (($(nm -D "$libre" 2>/dev/null | grep -c " U RAND_bytes") > 0)) &&
   OPENSSL_CONF=$K/sae-a.cnf "$QKEY" status >"$W/status.txt" 2>&1 &&
   grep -q "draws from QRNG" "$W/status.txt"; then
  pass "SRTP keys: libre's rand_bytes is OpenSSL's RAND_bytes ($libre), seeded from the QRNG in sae-a.cnf (qkey status)"
else
  flunk "cannot show that baresip's SRTP keys come from a QRNG-seeded DRBG (see $W/status.txt)"
fi
for i in $(seq "$calls"); do
  before=$(stored "$K")
  call "$K" "$i"
  after=$(stored "$K")
  a=$W/alice-$i.log b=$W/bob-$i.log
  suite=$(sed -n 's/.*SRTP is Enabled (cryptosuite=\([A-Z0-9_]*\)).*/\1/p' "$a" | head -1)
  why=()
  has "$a" "Call established" && has "$b" "Call established" || why+=("not established on both sides")
  has "$a" "SRTP is Enabled" && has "$b" "SRTP is Enabled" || why+=("SRTP not enabled on both sides")
  # audio flowed both ways: each side reports a non-zero sending and a non-zero receiving rate
  for f in "$a" "$b"; do
    grep -aq "audio=[1-9][0-9]*/" "$f" && grep -aq "audio=[0-9]*/[1-9]" "$f" ||
      why+=("no audio both ways in $(basename "$f")")
  done
  [[ -n $before && -n $after ]] && ((before - after == 1)) || why+=("QKD keys stored ${before:-?} -> ${after:-?}, not one key used")
  if ((${#why[@]} == 0)); then
    pass "call $i: established, SRTP ${suite:-?} mandatory, audio both ways, one QKD key for its SIP/TLS connection (stored $before -> $after)"
  else
    flunk "call $i: $(IFS=';'; echo "${why[*]}") (logs: $a, $b)"
  fi
done

say "== the QKD link empty (a KME pair with no keys), no fallback configured"
E=$W/kme-empty
start_kmes "$E" 0 || { say "cannot start the empty KME pair"; exit 1; }
call "$E" empty
a=$W/alice-empty.log b=$W/bob-empty.log
if has "$a" "Call established" || has "$b" "Call established"; then
  flunk "with no QKD key a call was established (logs: $a, $b)"
elif ! grep -aq "tls: connect: error\|session closed" "$a" || ! has "$b" "tls: accept error"; then
  flunk "the failed call left no TLS error in baresip's logs (logs: $a, $b)"
elif ! grep -q "no key for SAE_A" "$E.log"; then
  flunk "the KME's log does not say why (log: $E.log)"
else
  pass "no call without a QKD key: alice's log: '$(grep -a -m1 -o 'session closed: .*' "$a" | tr -d '\033' | sed 's/\[[0-9;]*m//g')'; bob's: '$(grep -a -m1 -o 'tls: accept error.*' "$b" | tr -d '\033' | sed 's/\[[0-9;]*m//g')'; KME B: '$(grep -m1 -o 'answered 503: no key for SAE_A' "$E.log")'"
fi
((failed)) && { say "== FAILED (work files kept with --keep DIR)"; exit 1; }
say "== every check passed"
