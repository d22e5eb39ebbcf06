#!/bin/bash
# Fallback and reserve with unmodified openssl s_server / s_client and keys from qkey-kme-sim:
#  - KMEs stopped: a server with qkd.fallback = classical and a client with
#    qkd.accept_fallback = yes complete TLS 1.3 (equal keying material) and both log the
#    fallback; a default client refuses with the reason; when the KMEs return, the next
#    handshake takes a QKD key again; `qkey status` counts the logged fallbacks;
#  - qkd.reserve = R under a satellite profile between passes: TLS stops taking keys at the
#    reserve while a PKCS#11 CKM_QKEY_QKD_KEY_NEW (pkcs11-tool) still gets one.
# Usage: fallback.sh BIN_DIR SANITIZE(ON|OFF)
BIN=$1 SAN=$2
source "$(dirname "$0")/lib.sh"

G=x25519_qkd
OPENSSL_CONF=/dev/null openssl list -kem-algorithms 2>/dev/null | grep -q X25519MLKEM768 && G=x25519mlkem768_qkd
kme_init --rate 0 --initial 50
kme_start
servercert
mkfifo "$T/stdin"
sleep 600 >"$T/stdin" &
addkeys() { # CNF OUT lines...: the qkey section gets extra keys
  local in=$1 out=$2
  shift 2
  cp "$in" "$out"
  for l in "$@"; do sed -i "s|^rng.source = sim|rng.source = sim\n$l|" "$out"; done
}
addkeys "$T/kme/sae-a.cnf" "$T/srv.cnf" "qkd.fallback = classical" "qkd.fallback_log = $T/fallback-a.log"
addkeys "$T/kme/sae-b.cnf" "$T/cli.cnf" "qkd.accept_fallback = yes" "qkd.fallback_log = $T/fallback-b.log"
sserver() { # CNF PORT LOG
  OPENSSL_CONF=$1 openssl s_server -accept 127.0.0.1:$2 -cert "$T/srv.pem" -key "$T/srv.key" \
    -tls1_3 -groups $G -keymatexport qkey -keymatexportlen 16 <"$T/stdin" >"$3" 2>&1 &
  SRV_PID=$!
  waitport "$2" || { echo "s_server did not start: $(tail -2 "$3")"; exit 1; }
}
sclient() { # CNF PORT OUT -> "ok" on a complete TLS 1.3 handshake
  echo | OPENSSL_CONF=$1 timeout 15 openssl s_client -connect 127.0.0.1:$2 -groups $G -tls1_3 \
    -CAfile "$T/srv.pem" -keymatexport qkey -keymatexportlen 16 >"$3" 2>&1
  grep -q "Verify return code: 0" "$3" && grep -q "^New, TLSv1.3" "$3" && echo ok
}
km() { grep -m1 "Keying material:" "$1" | awk '{print $3}'; }
PORT=$(freeport)
sserver "$T/srv.cnf" $PORT "$T/sserver.log"

[[ $(sclient "$T/cli.cnf" $PORT "$T/c0.out") == ok ]] && pass "KMEs up: $G handshake" || fail "KMEs up: $(grep -m1 error "$T/c0.out")"
[[ ! -s $T/fallback-a.log ]] && pass "no fallback while the KMEs serve keys" || fail "fallback logged with the KMEs up"

kme_stop
[[ $(sclient "$T/cli.cnf" $PORT "$T/c1.out") == ok ]] && pass "KMEs down: an accepting client completes TLS 1.3 over $G" ||
  fail "KMEs down, accepting client: $(grep -m1 error "$T/c1.out")"
c=$(km "$T/c1.out") s=$(tail -200 "$T/sserver.log" | grep "Keying material:" | tail -1 | awk '{print $3}')
[[ -n $c && $c == "$s" ]] && pass "equal keying material on both sides ($c)" || fail "keying material '$c' vs '$s'"
grep -q "role=server cause=kme-unreachable" "$T/fallback-a.log" && pass "server logged: $(tail -1 "$T/fallback-a.log")" ||
  fail "server fallback log: $(cat "$T/fallback-a.log" 2>&1)"
grep -q "peer=SAE_A role=client cause=kme-unreachable" "$T/fallback-b.log" && pass "client logged: $(tail -1 "$T/fallback-b.log")" ||
  fail "client fallback log: $(cat "$T/fallback-b.log" 2>&1)"
[[ $(sclient "$T/kme/sae-b.cnf" $PORT "$T/c2.out") == ok ]] && fail "a default client accepted the fallback" ||
  { grep -q "qkd.accept_fallback = no" "$T/c2.out" && pass "a default client refuses: $(grep -o "server SAE[^:]*: *[^)]*)[^:]*" "$T/c2.out" | head -1)" ||
      fail "default client refused without the reason: $(grep -m1 error "$T/c2.out")"; }
n=$(wc -l <"$T/fallback-a.log")

kme_start
before=$(stored)
[[ $(sclient "$T/cli.cnf" $PORT "$T/c3.out") == ok ]] && pass "KMEs back: handshake" || fail "KMEs back: $(grep -m1 error "$T/c3.out")"
after=$(stored)
[[ $(wc -l <"$T/fallback-a.log") == "$n" && $((before - after)) == 1 ]] &&
  pass "KMEs back: the next handshake took a QKD key again ($before -> $after), no new fallback" ||
  fail "after the KMEs returned: store $before -> $after, fallback lines $n -> $(wc -l <"$T/fallback-a.log")"
out=$(OPENSSL_CONF= QKEY_CONF= "$BIN/qkey" status --json --config "$T/cli.cnf" 2>/dev/null)
python3 -c 'import json,sys; d=json.loads(sys.argv[1]); p=d["peers"][0]; assert p["fallbacks_logged"]>=1, p; print(p["fallbacks_logged"])' "$out" >/dev/null 2>&1 &&
  pass "qkey status counts the client's logged fallbacks" || fail "qkey status: $(echo "$out" | head -c 300)"
kill $SRV_PID 2>/dev/null

# qkd.reserve under a satellite profile between passes
kme_stop
rm -rf "$T/kme"
kme_init --profile satellite --initial 6 --rate 0 --pass 1 --period 100000 --first-pass 100000
kme_start
addkeys "$T/kme/sae-a.cnf" "$T/res.cnf" "qkd.reserve = 3"
PORT=$(freeport)
sserver "$T/res.cnf" $PORT "$T/sres.log"
ok=0
for i in 1 2 3 4 5; do [[ $(sclient "$T/kme/sae-b.cnf" $PORT "$T/r$i.out") == ok ]] && ok=$((ok + 1)); done
left=$(stored)
[[ $ok == 3 && $left == 3 ]] && pass "qkd.reserve = 3: TLS took 3 of 6 keys and stopped at the reserve ($left left)" ||
  fail "reserve: $ok handshakes, $left keys left"
grep -q "at its reserve" "$T/sres.log" && pass "the server names the reserve: $(grep -o "link to SAE_B at its reserve[^)]*" "$T/sres.log" | head -1 | cut -c1-100)" ||
  fail "no reserve reason in the server log"
# the PKCS#11 token on the same side still makes a QKD key (CKM_QKEY_QKD_KEY_NEW)
if [[ -x $BIN/../lib/pkcs11/libqkey-pkcs11.so ]] && command -v pkcs11-tool >/dev/null && [[ $SAN != ON ]]; then
  MOD=$BIN/../lib/pkcs11/libqkey-pkcs11.so
  export QKEY_CONF=$T/kme/qkey-a.conf
  printf '\n[token]\nstore = %s/token.db\nlabel = reserve\n' "$T" >>"$T/kme/qkey-a.conf"
  pkcs11-tool --module "$MOD" --slot-index 0 --init-token --label reserve --so-pin 12345678 >"$T/p11.log" 2>&1 &&
    pkcs11-tool --module "$MOD" --token-label reserve --login --login-type so --so-pin 12345678 \
      --init-pin --pin 123456 >>"$T/p11.log" 2>&1 || fail "token init: $(tail -2 "$T/p11.log")"
  # CKM_QKEY_QKD_KEY_NEW through PyKCS11 (test/integration/pkcs11/qkd_pair.py)
  out=$(/usr/bin/python3 "$(dirname "$0")/../pkcs11/qkd_pair.py" "$MOD" new SAE_B 2>&1)
  [[ $out =~ ^[0-9a-f-]{36}\  && $(stored) == 2 ]] && pass "at the reserve, a PKCS#11 CKM_QKEY_QKD_KEY_NEW still gets a key (3 -> 2)" ||
    fail "PKCS#11 key at the reserve: $out (stored $(stored))"
fi
finish
