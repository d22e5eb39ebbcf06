#!/bin/bash
# Unmodified `openssl s_server` (SAE_A) and `openssl s_client` (SAE_B), configured only by the
# files `qkey-kme-sim init` writes, complete TLS 1.3 over x25519_qkd with keys from the KME pair;
# the store shrinks by one key per handshake. Then a KME whose certificate comes from another CA,
# and a KME that is down: the handshake fails with an error naming the KME and the cause.
# Usage: openssl_sclient.sh BIN_DIR SANITIZE(ON|OFF) N_HANDSHAKES
BIN=$1 SAN=$2 N=$3
source "$(dirname "$0")/lib.sh"

kme_init --rate 0 --initial 1000
kme_start
servercert
mkfifo "$T/stdin"
sleep 600 >"$T/stdin" & # s_server quits on EOF of stdin
sserver() { # CNF PORT LOG
  OPENSSL_CONF=$1 openssl s_server -accept 127.0.0.1:$2 -cert "$T/srv.pem" -key "$T/srv.key" \
    -tls1_3 -groups x25519_qkd -www <"$T/stdin" >"$3" 2>&1 &
  waitport "$2" || { echo "s_server did not start: $(tail -2 "$3")"; exit 1; }
}
sclient() { # PORT -> "ok" on a complete TLS 1.3 handshake; output in $T/sclient.out
  echo | OPENSSL_CONF=$T/kme/sae-b.cnf timeout 15 openssl s_client -connect 127.0.0.1:$1 \
    -groups x25519_qkd -tls1_3 -CAfile "$T/srv.pem" >"$T/sclient.out" 2>&1
  grep -q "Verify return code: 0" "$T/sclient.out" && grep -q "^New, TLSv1.3" "$T/sclient.out" && echo ok
}
PORT=$(freeport)
sserver "$T/kme/sae-a.cnf" $PORT "$T/sserver.log"
before=$(stored)
ok=0
for i in $(seq "$N"); do [[ $(sclient $PORT) == ok ]] && ok=$((ok + 1)); done
after=$(stored)
[[ $ok == "$N" ]] && pass "$ok/$N s_client -> s_server handshakes over x25519_qkd" ||
  fail "$ok/$N handshakes: $(grep -m1 error "$T/sclient.out")"
[[ $((before - after)) == "$N" ]] && pass "the KME store shrank by exactly $N keys ($before -> $after)" ||
  fail "store shrank by $((before - after)) for $N handshakes"
h=($(history))
[[ ${h[1]} == "$N" && ${h[2]} == "$N" && ${h[3]} == 0 ]] && pass "$N distinct key IDs, each delivered once" ||
  fail "history: ${h[*]}"

# the server's KME presents a certificate from another CA (another link's CA as qkd.ca)
"$KMESIM" init "$T/other" >/dev/null 2>&1 || { echo "second init failed"; exit 1; }
sed "s|^qkd.ca = .*|qkd.ca = $T/other/ca.pem|" "$T/kme/sae-a.cnf" >"$T/sae-a-otherca.cnf"
PORT2=$(freeport)
sserver "$T/sae-a-otherca.cnf" $PORT2 "$T/sserver2.log"
if [[ $(sclient $PORT2) == ok ]]; then
  fail "handshake succeeded although KME A's certificate is not from qkd.ca"
elif grep -q "KME https://127.0.0.1:$PORT_A: certificate rejected" "$T/sserver2.log"; then
  pass "KME certificate from another CA: handshake refused; s_server: $(grep -o "KME https://127.0.0.1:$PORT_A: certificate rejected[^)]*)" "$T/sserver2.log" | head -1)"
else
  fail "no 'certificate rejected' error naming KME A: $(grep -m1 -o 'KME.*' "$T/sserver2.log")"
fi
# our SAE certificate from another CA: the KME refuses us (401)
sed -e "s|^qkd.cert = .*|qkd.cert = $T/other/sae-a.pem|" -e "s|^qkd.key = .*|qkd.key = $T/other/sae-a.key|" \
  "$T/kme/sae-a.cnf" >"$T/sae-a-othercert.cnf"
PORT3=$(freeport)
sserver "$T/sae-a-othercert.cnf" $PORT3 "$T/sserver3.log"
if [[ $(sclient $PORT3) == ok ]]; then
  fail "handshake succeeded with an SAE certificate the KME does not trust"
elif grep -q "KME https://127.0.0.1:$PORT_A answered 401" "$T/sserver3.log"; then
  pass "SAE certificate from another CA: KME A answered 401, handshake refused"
else
  fail "no 401 from KME A in s_server's log: $(grep -m1 -o 'KME.*' "$T/sserver3.log")"
fi
# the KMEs go down: refused, naming the KME; back up: works again
kme_stop
if [[ $(sclient $PORT) == ok ]]; then fail "handshake succeeded with the KMEs down"
elif grep -q "KME https://127.0.0.1:$PORT_A unreachable" "$T/sserver.log"; then pass "KMEs down: handshake refused, s_server names KME A unreachable"
else fail "no 'unreachable' error naming KME A"; fi
kme_start
[[ $(sclient $PORT) == ok ]] && pass "KMEs back: handshake completes" || fail "no handshake after the KMEs returned"
finish
