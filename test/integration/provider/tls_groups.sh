#!/bin/bash
# Unmodified openssl s_server / s_client, configured only by openssl.cnf files of a simulated
# link, complete TLS 1.3 over every QKD group with equal exported keying material; a server
# keeps serving after handshakes that fail cleanly (client on another link, client SAE not in
# the server's qkd.peers, server SAE not in the client's); a client offering x25519_qkd:x25519
# to a server without qkey negotiates x25519.
# Usage: tls_groups.sh PROVIDER_SO BIN_DIR SANITIZE(ON|OFF)
PROV=$1 BIN=$2 SAN=${3:-OFF}
source "$(dirname "$0")/lib.sh"
mklink "$T/link"
mklink "$T/other"
servercert

for g in x25519_qkd x448_qkd secp256r1_qkd secp384r1_qkd qkd; do
  hs "$T/link/sae-a.cnf" "$T/link/sae-b.cnf" $g
  c=$(km "$T/c.log") s=$(km "$T/s.log")
  if grep -q "New, TLSv1.3\|Protocol *: TLSv1.3" "$T/c.log" && grep -q "Shared groups: $g" "$T/s.log" &&
     [[ -n $c && $c == "$s" ]]; then
    pass "$g: TLS 1.3, equal exported keying material (${SECONDS}s)"
  else
    fail "$g: no TLS 1.3 handshake with equal keying material ($(grep -m1 error "$T/c.log" "$T/s.log"))"
  fi
done

# One server, four clients: three refused cleanly, then a good one still served.
port=$(freeport)
sed "s/qkd.peers = SAE_B/qkd.peers = SAE_B, SAE_C/" "$T/link/sae-a.cnf" >"$T/a.cnf"
cp "$T/link/sae-b.cnf" "$T/b-nopeer.cnf"; setkey "$T/b-nopeer.cnf" qkd.peers SAE_Z
cp "$T/link/sae-b.cnf" "$T/c-unknown.cnf"; setkey "$T/c-unknown.cnf" qkd.sae_id SAE_Q
OPENSSL_CONF=$T/a.cnf timeout 60 openssl s_server -accept "$port" -tls1_3 -groups x25519_qkd \
   -cert "$T/srv.pem" -key "$T/srv.key" -naccept 4 <"$T/stdin" >"$T/server.log" 2>&1 &
spid=$!
waitport "$port"
client() { echo Q | OPENSSL_CONF=$1 timeout 10 openssl s_client -connect 127.0.0.1:"$port" \
             -tls1_3 -groups x25519_qkd >"$T/$2.log" 2>&1; }
refused() { # $1 log, $2 expected reason on the client's or the server's queue
  if grep -q "New, TLSv1.3\|Protocol *: TLSv1.3" "$T/$1.log" && ! grep -q ":error:" "$T/$1.log"; then
    fail "$1: handshake completed"
  elif grep -q "$2" "$T/$1.log" "$T/server.log"; then
    pass "$1: refused with \"$2\" (${SECONDS}s)"
  else
    fail "$1: refused without the reason \"$2\": $(grep -m1 error "$T/$1.log")"
  fi
}
client "$T/other/sae-b.cnf" otherlink
refused otherlink "qkey:decapsulate:no QKD key available"
client "$T/b-nopeer.cnf" nopeer
refused nopeer "server SAE SAE_A is not in qkd.peers"
client "$T/c-unknown.cnf" unknown
refused unknown "client SAE SAE_Q: peer not allowed"
client "$T/link/sae-b.cnf" good
if grep -q "New, TLSv1.3\|Protocol *: TLSv1.3" "$T/good.log" && ! grep -q ":error:" "$T/good.log"; then
  pass "server still serves after three refused handshakes"
else
  fail "server did not serve a good client after refused ones: $(grep -m1 error "$T/good.log")"
fi
wait $spid

# A client offering x25519_qkd:x25519 to a server without qkey negotiates x25519.
port=$(freeport)
OPENSSL_CONF=/dev/null timeout 30 openssl s_server -accept "$port" -tls1_3 -cert "$T/srv.pem" -key "$T/srv.key" \
   -naccept 1 <"$T/stdin" >"$T/plain.log" 2>&1 &
spid=$!
waitport "$port"
echo Q | OPENSSL_CONF=$T/link/sae-b.cnf timeout 10 openssl s_client -connect 127.0.0.1:"$port" \
   -tls1_3 -groups x25519_qkd:x25519 >"$T/fallback.log" 2>&1
wait $spid
if grep -q "Shared groups: x25519$" "$T/plain.log" && grep -q "CIPHER is TLS_" "$T/plain.log"; then
  pass "x25519_qkd:x25519 against a server without qkey negotiates x25519"
else
  fail "fallback to x25519 failed: $(grep -m1 -E 'error|Temp Key' "$T/fallback.log")"
fi

echo "$fails failure(s)"
[[ $fails == 0 ]]
