#!/bin/bash
# The etsi014 driver against an independent KME pair (test/kme-py/kme.py: HTTP/1.0 answers with
# Connection: close, HTML error pages, 400 on exhaustion, 401 + reset before the body is read,
# server certificates without subjectAltName). Driven by `qkey` and by e14_client, a host that
# leaves SIGPIPE at its default action.
# usage: independent_kme.sh BIN_DIR E14_CLIENT SRC_DIR
set -u
BIN=$1 CLIENT=$2 SRC=$3
T=$(mktemp -d)
trap 'kill $KME_PID 2>/dev/null; wait 2>/dev/null; rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
pass() { echo "ok: $*"; }
freeport() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }

"$SRC/test/kme-py/mkpki.sh" "$T/pki" || { echo "mkpki failed"; exit 1; }
PA=$(freeport) PB=$(freeport)
start_kme() { # number of keys
  python3 "$SRC/test/kme-py/kme.py" --pki "$T/pki" --port-a "$PA" --port-b "$PB" --keys "$1" \
    --log "$T/requests.log" 2>"$T/kme.err" &
  KME_PID=$!
  for _ in $(seq 100); do
    python3 -c "import socket;socket.create_connection(('127.0.0.1',$PB)).close()" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "kme.py did not start: $(cat "$T/kme.err")"
  exit 1
}
conf() { # FILE SAE PEER PORT SERVER_NAME CERT [extra lines]
  local f=$1 sae=$2 peer=$3 port=$4 name=$5 cert=$6
  shift 6
  {
    printf '[qkd]\ndriver = etsi014\nsae_id = %s\npeers = %s\ntimeout_ms = 5000\n' "$sae" "$peer"
    printf 'kme_url = https://127.0.0.1:%s\nkme_server_name = %s\n' "$port" "$name"
    printf 'ca = %s/pki/ca.pem\ncert = %s/pki/%s.pem\nkey = %s/pki/%s.key\n' "$T" "$T" "$cert" "$T" "$cert"
    for l in "$@"; do echo "$l"; done
  } >"$f"
}
conf "$T/a.conf" SAE_A SAE_B "$PA" kme-a.test sae-a
conf "$T/b.conf" SAE_B SAE_A "$PB" kme-b.test sae-b
start_kme 6

# 1. a key made at A is fetched at B, once; equal on both sides
out=$("$BIN/qkey" key new --conf "$T/a.conf" SAE_B 2>"$T/err") || fail "key new: $(cat "$T/err")"
id=${out%% *} hex=${out#* }
got=$("$BIN/qkey" key get --conf "$T/b.conf" SAE_A "$id" 2>"$T/err") || fail "key get: $(cat "$T/err")"
[[ -n $hex && $got == "$hex" ]] && pass "key new at A / key get at B over HTTP/1.0 KMEs with CN-only certificates: same key" ||
  fail "keys differ: '$hex' vs '$got'"
"$CLIENT" "$T/b.conf" get SAE_A "$id" 2>"$T/err"
rc=$?
[[ $rc == 108 ]] && grep -q "answered 400" "$T/err" && pass "a second get of the key is refused (KEY_UNKNOWN): $(cat "$T/err")" ||
  fail "replayed key ID: rc $rc, $(cat "$T/err")"
# HTTP/1.1 requests, one per connection as the KME closes each
grep -q " HTTP/1.1$" "$T/requests.log" && ! grep -vq " HTTP/1.1$" "$T/requests.log" &&
  pass "every request was HTTP/1.1 ($(wc -l <"$T/requests.log") requests)" || fail "request versions: $(sort -u "$T/requests.log")"

# forty runs of e14_client CONF new PEER, each must exit WANT (100 - QKS_ERR_*) naming PATTERN
forty() { # WHAT CONF PEER WANT PATTERN
  local bad=0 last="" rc i
  for i in $(seq 40); do
    "$CLIENT" "$2" new "$3" 2>"$T/err"
    rc=$?
    if [[ $rc != "$4" ]] || ! grep -q "$5" "$T/err"; then
      bad=$((bad + 1))
      last="rc $rc: $(cat "$T/err")"
    fi
  done
  ((bad == 0)) && pass "40/40: $1: $(cat "$T/err")" || fail "$1: $bad/40 runs wrong; last: $last"
}
# 2. a KME that answers 401 before reading the body, then resets: no SIGPIPE, the cause named
conf "$T/x.conf" SAE_A SAE_X "$PA" kme-a.test sae-a
forty "401 + reset before the body is read -> AUTH error, no SIGPIPE" "$T/x.conf" SAE_X 112 \
  "answered 401: Error 401 Unknown SAE SAE_X"
# 3. a client certificate the KME does not accept (TLS 1.3: the alert comes after our handshake)
conf "$T/r.conf" SAE_A SAE_B "$PA" kme-a.test rogue
forty "rejected client certificate named with its alert" "$T/r.conf" SAE_B 112 \
  "rejected our client certificate (qkd.cert): TLS alert"

# 4. prefetch 4 with fewer keys at the KME than that: the key still comes (5 keys are left)
conf "$T/p.conf" SAE_A SAE_B "$PA" kme-a.test sae-a "prefetch = 4"
for i in 1 2 3 4 5; do "$CLIENT" "$T/a.conf" new SAE_B >/dev/null 2>&1 || break; done # drain to 1..0
kill -USR1 $KME_PID # +10 keys
sleep 0.3
for i in $(seq 9); do "$CLIENT" "$T/a.conf" new SAE_B >/dev/null 2>"$T/err" || fail "drain: $(cat "$T/err")"; done
# one key is left at the KME now
id=$("$CLIENT" "$T/p.conf" new SAE_B 2>"$T/err") && pass "qkd.prefetch = 4 with one key at the KME: key $id delivered" ||
  fail "qkd.prefetch = 4 with one key at the KME: $(cat "$T/err")"

# 5. exhaustion as this KME says it (400 'exceeds the generated key count') is 'no key'
"$CLIENT" "$T/a.conf" new SAE_B 2>"$T/err"
rc=$?
[[ $rc == 107 ]] && grep -q "exceeds the generated key count" "$T/err" && pass "400 exhaustion -> no key: $(cat "$T/err")" ||
  fail "exhaustion: rc $rc: $(cat "$T/err")"
# ... so qkd.on_exhausted = wait waits for the next pass
conf "$T/w.conf" SAE_A SAE_B "$PA" kme-a.test sae-a "on_exhausted = wait"
sed -i 's/timeout_ms = 5000/timeout_ms = 8000/' "$T/w.conf"
"$CLIENT" "$T/w.conf" new SAE_B >"$T/wait.out" 2>"$T/wait.err" &
waiter=$!
sleep 1
kill -USR1 $KME_PID
wait $waiter
rc=$?
[[ $rc == 0 ]] && pass "on_exhausted = wait: the key came with the next pass ($(cat "$T/wait.out"))" ||
  fail "on_exhausted = wait: rc $rc: $(cat "$T/wait.err")"

# 6. the KME is down: unreachable, named
kill $KME_PID
wait $KME_PID 2>/dev/null
"$CLIENT" "$T/a.conf" new SAE_B 2>"$T/err"
rc=$?
[[ $rc == 110 ]] && pass "KME down: $(cat "$T/err")" || fail "KME down: rc $rc: $(cat "$T/err")"
echo "$fails failure(s)"
[[ $fails == 0 ]]
