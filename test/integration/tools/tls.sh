#!/bin/bash
# Unmodified openssl s_server (sae-a.cnf) and s_client (sae-b.cnf), configured only by the files
# `qkey sim init` writes, complete TLS 1.3 over x25519_qkd with equal exported keying material;
# with no -groups at all, the Groups line sim init writes makes the server choose x25519_qkd; a
# client on another simulated link cannot complete a handshake. (Every QKD group, over the same
# files: test/integration/provider/tls_groups.sh.)
source "$(dirname "$0")/lib.sh"
"$QKEY" sim init "$T/l" >/dev/null 2>&1 || fail "sim init"
"$QKEY" sim init "$T/other" >/dev/null 2>&1 || fail "sim init other"
servercert "$T"

hs() { # $1 server cnf, $2 client cnf, $3 group or "" ; 0 on a TLS 1.3 handshake with equal EKM
  local port g=() spid; port=$(freeport)
  [[ -n $3 ]] && g=(-groups "$3")
  rm -f "$T/stdin"; mkfifo "$T/stdin"
  # s_server ends a connection on EOF of its stdin unless -quiet, which hides the keying
  # material: hold its stdin open through a FIFO until the client is done
  OPENSSL_CONF=$1 ext openssl s_server -accept "$port" -tls1_3 "${g[@]}" -cert "$T/srv.pem" -key "$T/srv.key" \
    -keymatexport qkey-test -keymatexportlen 32 -naccept 1 <"$T/stdin" >"$T/s.log" 2>&1 &
  spid=$!
  exec 3>"$T/stdin"
  for _ in $(seq 100); do grep -q ACCEPT "$T/s.log" 2>/dev/null && break; sleep 0.1; done
  echo Q | OPENSSL_CONF=$2 ext timeout 10 openssl s_client -connect 127.0.0.1:$port -tls1_3 "${g[@]}" \
    -keymatexport qkey-test -keymatexportlen 32 -trace >"$T/c.log" 2>&1 || true
  exec 3>&-
  for _ in $(seq 50); do kill -0 $spid 2>/dev/null || break; sleep 0.1; done
  kill $spid 2>/dev/null || true; wait $spid 2>/dev/null || true
  grep -q "Protocol *: TLSv1.3\|New, TLSv1.3" "$T/c.log" && ! grep -q "alert\|:error:" "$T/c.log" || return 1
  local ek_c ek_s
  ek_c=$(sed -n 's/^ *Keying material: *//p' "$T/c.log"); ek_s=$(sed -n 's/^ *Keying material: *//p' "$T/s.log")
  [[ -n $ek_c && $ek_c == "$ek_s" ]]
}
for g in x25519_qkd; do
  hs "$T/l/sae-a.cnf" "$T/l/sae-b.cnf" $g || fail "group $g: $(grep -m1 -i 'error\|alert' "$T/c.log" "$T/s.log" | cut -c1-160)"
  ok "TLS 1.3 over $g, equal exported keying material"
done
hs "$T/l/sae-a.cnf" "$T/l/sae-b.cnf" "" || fail "no -groups: $(grep -m1 -i 'error\|alert' "$T/c.log" | cut -c1-160)"
# which group did the server choose? its ServerHello key_share (RFC 8446 4.2.8), named through
# the code points `qkey status` reads from the providers
chosen=$(awk '/ServerHello/{s=1} s && /NamedGroup/{print; exit}' "$T/c.log" | sed -n 's/.*(\([0-9]*\)).*/\1/p')
[[ -n $chosen ]] || fail "no key_share in the ServerHello trace"
cps=$(ext "$QKEY" status --json --config "$T/l/sae-b.cnf" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["openssl"]["groups"]["codepoints"])')
first=$(sed -n 's/^Groups = \([^:]*\).*/\1/p' "$T/l/sae-a.cnf") # x25519mlkem768_qkd on OpenSSL 3.5
want=$(tr ' ' '\n' <<<"$cps" | sed -n "s/^$first=//p")
[[ -n $want && $(printf '0x%04x' "$chosen") == "$want" ]] || fail "without -groups the server chose $chosen, not $first ($cps)"
ok "no -groups on the command line: the config's Groups line made the server choose $first ($want)"
if hs "$T/l/sae-a.cnf" "$T/other/sae-b.cnf" x25519_qkd; then fail "a client on another link completed a handshake"; fi
ok "a client on another simulated link is refused"
