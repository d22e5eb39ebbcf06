#!/bin/bash
# ML-KEM + QKD groups with unmodified openssl s_server / s_client, configured only by the files
# `qkey sim init` writes. Where libcrypto offers the hybrid ML-KEM KEMs (OpenSSL 3.5): sim init
# puts x25519mlkem768_qkd first and X25519MLKEM768 before any classical group; each of the three
# groups completes TLS 1.3 with equal exported keying material; `qkey status` accepts the files
# and exits 3 naming the downgrade once the ML-KEM groups are taken out, 0 again with
# tls.allow_pq_downgrade = yes. Elsewhere (OpenSSL 3.0): the groups are absent from the offer
# and `qkey status` says why.
# Usage: mlkem.sh PROVIDER_SO BIN_DIR SANITIZE(ON|OFF)
PROV=$1 BIN=$2 SAN=${3:-OFF}
source "$(dirname "$0")/lib.sh"
mklink "$T/link"
servercert
A=$T/link/sae-a.cnf B=$T/link/sae-b.cnf
status() { OPENSSL_CONF=$1 "$BIN/qkey" status >"$T/status.log" 2>&1; }

if OPENSSL_CONF=/dev/null openssl list -kem-algorithms 2>/dev/null | grep -q X25519MLKEM768; then
  groups=$(sed -n 's/^Groups = //p' "$A")
  [[ $groups == x25519mlkem768_qkd:X25519MLKEM768:* ]] && pass "sim init writes Groups = $groups" ||
    fail "sim init wrote Groups = $groups"
  for g in x25519mlkem768_qkd secp256r1mlkem768_qkd secp384r1mlkem1024_qkd; do
    hs "$A" "$B" $g
    c=$(km "$T/c.log") s=$(km "$T/s.log")
    if grep -q "Negotiated TLS1.3 group: $g" "$T/c.log" && [[ -n $c && $c == "$s" ]]; then
      pass "$g: TLS 1.3, equal exported keying material"
    else
      fail "$g: no TLS 1.3 handshake with equal keying material ($(grep -m1 error "$T/c.log" "$T/s.log"))"
    fi
  done
  # the default Groups of both files: the client offers x25519mlkem768_qkd first and gets it
  hs "$A" "$B" "$groups"
  grep -q "Negotiated TLS1.3 group: x25519mlkem768_qkd" "$T/c.log" &&
    pass "with the written Groups the handshake uses x25519mlkem768_qkd" ||
    fail "written Groups negotiated: $(grep -m1 Negotiated "$T/c.log")"
  status "$A" && pass "qkey status accepts the written files" || fail "qkey status: $(tail -3 "$T/status.log")"
  sed "s/^Groups = .*/Groups = x25519_qkd:x25519/" "$A" >"$T/noqpq.cnf"
  status "$T/noqpq.cnf"
  rc=$?
  [[ $rc == 3 ]] && grep -q "POST-QUANTUM DOWNGRADE.*X25519MLKEM768" "$T/status.log" &&
    pass "Groups without ML-KEM: qkey status exits 3: $(grep -m1 DOWNGRADE "$T/status.log" | cut -c1-120)" ||
    fail "Groups without ML-KEM: qkey status rc $rc: $(grep -i -m1 "post-quantum" "$T/status.log")"
  sed "s/^rng.source = sim/rng.source = sim\ntls.allow_pq_downgrade = yes/" "$T/noqpq.cnf" >"$T/allowed.cnf"
  status "$T/allowed.cnf" && pass "tls.allow_pq_downgrade = yes: exit 0" ||
    fail "tls.allow_pq_downgrade = yes: $(tail -2 "$T/status.log")"
else
  OPENSSL_CONF=$A openssl list -tls-groups 2>&1 | tr ':' '\n' | grep -qi mlkem &&
    fail "ML-KEM + QKD groups offered without ML-KEM in libcrypto" ||
    pass "no ML-KEM in this libcrypto: the ML-KEM + QKD groups are absent"
  grep -q "^Groups = x25519_qkd:x25519$" "$A" && pass "sim init writes Groups = x25519_qkd:x25519 here" ||
    fail "sim init wrote $(grep Groups "$A")"
  status "$A"
  grep -q "ML-KEM + QKD groups: absent: .*offers no X25519MLKEM768" "$T/status.log" &&
    pass "qkey status says why: $(grep -m1 "ML-KEM + QKD" "$T/status.log")" ||
    fail "qkey status does not say why the groups are absent: $(tail -3 "$T/status.log")"
fi
echo "$fails failure(s)"
[[ $fails == 0 ]]
