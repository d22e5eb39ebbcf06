#!/bin/bash
# The provider through qkeyd: unmodified openssl s_server (site A) and s_client (site B) complete
# TLS 1.3 over x25519_qkd with provider sections saying only qkd.driver = agent and
# rng.source = agent; the agents' journals show one key per handshake, made by A and fetched by B;
# neither openssl process opens the link or an RNG device (strace); and `qkey status --config`
# proves the seed chain draws from QRNG through the agent.
# Usage: tls.sh BIN_DIR
BIN=$1
source "$(dirname "$0")/lib.sh"
command -v openssl >/dev/null || { echo "SKIP: no openssl"; exit 77; }
link_init
agent_conf a
agent_conf b
agent_cnf a
agent_cnf b
agent_start a
agent_start b
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=localhost \
  -keyout "$T/srv.key" -out "$T/srv.pem" >/dev/null 2>&1
PORT=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
N=5
OPENSSL_CONF=$T/agent-a.cnf strace -f -e trace=open,openat -o "$T/strace-srv" \
  openssl s_server -cert "$T/srv.pem" -key "$T/srv.key" -accept $PORT -naccept $N -www >"$T/srv.log" 2>&1 &
SRV=$!
for i in $(seq 50); do grep -q ACCEPT "$T/srv.log" 2>/dev/null && break; sleep 0.1; done
ok=0
for i in $(seq $N); do
  if [[ $i == 1 ]]; then wrap=(strace -f -e trace=open,openat -o "$T/strace-cli"); else wrap=(); fi
  echo | OPENSSL_CONF=$T/agent-b.cnf timeout 15 "${wrap[@]}" openssl s_client -connect 127.0.0.1:$PORT \
    -groups x25519_qkd -CAfile "$T/srv.pem" -servername localhost >"$T/cli.out" 2>&1
  grep -q "^New, TLSv1.3" "$T/cli.out" && grep -q "Verify return code: 0" "$T/cli.out" && ok=$((ok + 1))
done
[[ $ok == "$N" ]] && pass "$N TLS 1.3 handshakes over x25519_qkd through the agents" ||
  fail "$ok/$N handshakes: $(grep -m2 -iE "error|alert" "$T/cli.out")"
grep -q "Negotiated TLS1.3 group: x25519_qkd" "$T/cli.out" || ! grep -q "Negotiated TLS1.3 group" "$T/cli.out" ||
  fail "the group negotiated was not x25519_qkd"
na=$(grep -c " new SAE_B " "$T/journal-a") nb=$(grep -c " get SAE_A " "$T/journal-b")
common=$(comm -12 <(awk '{print $5}' "$T/journal-a" | sort) <(awk '{print $5}' "$T/journal-b" | sort) | wc -l)
[[ $na == "$N" && $nb == "$N" && $common == "$N" ]] && pass "one key per handshake: agent A made $na, agent B fetched the same $common IDs" ||
  fail "journals: A made $na, B fetched $nb, $common in common"
wait $SRV
if cat "$T/strace-srv" "$T/strace-cli" | grep -v ENOENT | grep -qE "$T/link|/dev/hwrng|keys.qsl"; then
  fail "an openssl process opened the link or an RNG device: $(grep -hE "$T/link|/dev/hwrng" "$T/strace-srv" "$T/strace-cli" | head -2)"
else
  pass "openssl s_server and s_client open neither the link nor an RNG device (strace)"
fi
# qkd.reserve is the agent's: a TLS handshake carries its purpose through the agent, which
# refuses it at the reserve while `qkey key new` (another use) still gets keys
agent_stop a
agent_conf a "[qkd]" "sim_max_keys = 8" "reserve = 6"
agent_start a
QKEY_CONF=$T/client-a.conf "$QKEY" key new SAE_B >/dev/null 2>&1 && QKEY_CONF=$T/client-a.conf "$QKEY" key new SAE_B >/dev/null 2>&1 ||
  fail "keys for other uses below the reserve"
OPENSSL_CONF=$T/agent-a.cnf openssl s_server -cert "$T/srv.pem" -key "$T/srv.key" -accept $PORT -naccept 1 -www >"$T/srv2.log" 2>&1 &
SRV=$!
for i in $(seq 50); do grep -q ACCEPT "$T/srv2.log" 2>/dev/null && break; sleep 0.1; done
echo | OPENSSL_CONF=$T/agent-b.cnf timeout 15 openssl s_client -connect 127.0.0.1:$PORT -groups x25519_qkd \
  -CAfile "$T/srv.pem" -servername localhost >"$T/cli2.out" 2>&1
kill $SRV 2>/dev/null
wait $SRV 2>/dev/null
refusals=$(agent_status a "st['keysource']['peers'][0]['reserve_refusals']")
! grep -q "^New, TLSv1.3" "$T/cli2.out" && [[ $refusals == 1 ]] &&
  pass "at the agent's qkd.reserve the handshake is refused (reserve_refusals $refusals) while key new got 2 keys" ||
  fail "reserve through the agent: refusals $refusals, $(grep -m1 -E "^New|alert" "$T/cli2.out")"
grep -q "reserve" "$T/srv2.log" && pass "s_server's error names the reserve: $(grep -m1 -o "link to SAE_B at its reserve[^:]*" "$T/srv2.log")" ||
  echo "   (s_server printed: $(grep -m1 -i error "$T/srv2.log" | cut -c1-120))"

out=$(QKEY_CONF=$T/client-b.conf "$QKEY" status --config "$T/agent-b.cnf" 2>&1)
rc=$?
[[ $rc == 0 ]] && pass "qkey status --config proves QRNG seeding and x25519_qkd through the agent" ||
  fail "qkey status --config (exit $rc): $(tail -3 <<<"$out")"
finish
