#!/bin/bash
# qkeyd with the qkey command: keys made on one side are fetched on the other through two agents,
# once; random bytes come through the agent; a user the agent does not grant is refused with an
# error naming the grant; clients open neither the link nor an RNG device (strace); the status
# and the Prometheus figures count per user; `qkeyd --check` names what is wrong.
# Usage: cli.sh BIN_DIR
BIN=$1
source "$(dirname "$0")/lib.sh"

link_init
agent_conf a
agent_conf b
out=$("$QKEYD" --check "$T/qkeyd-a.conf" 2>&1) && grep -q "peer SAE_B: keys for uid 0" <<<"$out" &&
  pass "qkeyd --check accepts the agent's configuration" || fail "qkeyd --check: $out"
agent_start a
agent_start b

# a key through agent A, the same key by its ID through agent B, and only once
out=$(QKEY_CONF=$T/client-a.conf "$QKEY" key new SAE_B 2>"$T/err") || fail "key new through the agent: $(cat "$T/err")"
id=${out%% *} key=${out##* }
got=$(QKEY_CONF=$T/client-b.conf "$QKEY" key get SAE_A "$id" 2>"$T/err")
[[ -n $key && $got == "$key" ]] && pass "a key made through agent A is fetched by its ID through agent B" ||
  fail "key get through agent B: '$got' vs '$key': $(cat "$T/err")"
QKEY_CONF=$T/client-b.conf "$QKEY" key get SAE_A "$id" >/dev/null 2>"$T/err" &&
  fail "a key ID was delivered twice" ||
  { grep -q "already delivered" "$T/err" && pass "a second fetch is refused: $(cut -c1-110 "$T/err")" || fail "second fetch: $(cat "$T/err")"; }

# random bytes through the agent
n=$(QKEY_CONF=$T/client-a.conf "$QKEY" rand 1M | wc -c)
[[ $n == 1048576 ]] && pass "1 MiB of random bytes through the agent" || fail "qkey rand through the agent gave $n bytes"

# no client process opens the link or an RNG device: only the agent does
if command -v strace >/dev/null; then
  QKEY_CONF=$T/client-a.conf strace -f -e trace=open,openat -o "$T/strace" "$QKEY" key new SAE_B >/dev/null 2>&1
  QKEY_CONF=$T/client-a.conf strace -f -e trace=open,openat -o "$T/strace2" "$QKEY" rand 64 >/dev/null 2>&1
  if cat "$T/strace" "$T/strace2" | grep -v ENOENT | grep -qE "$T/link|/dev/(hw)?random|keys.qsl"; then
    fail "a client opened the link or an RNG device: $(grep -E "$T/link|/dev/" "$T/strace" | head -2)"
  else
    pass "qkey key new and qkey rand open neither the link nor an RNG device (strace)"
  fi
fi

# a user without a grant: refused, with the reason and the key that would grant it
out=$(setpriv --reuid=nobody --regid=nogroup --clear-groups env QKEY_CONF=$T/client-a.conf "$QKEY" key new SAE_B 2>&1) &&
  fail "nobody got a key" ||
  { grep -q "user nobody (uid [0-9]*) refused keys shared with peer SAE_B: not granted (agent.grant" <<<"$out" &&
    pass "nobody is refused a key: $(cut -c1-150 <<<"$out")" || fail "nobody's refusal: $out"; }
out=$(setpriv --reuid=nobody --regid=nogroup --clear-groups env QKEY_CONF=$T/client-a.conf "$QKEY" rand 16 2>&1 >/dev/null) &&
  fail "nobody got random bytes" ||
  { grep -q "refused random bytes: not granted (agent.random" <<<"$out" && pass "nobody is refused random bytes" ||
    fail "nobody's random refusal: $out"; }

# a group grant lets nobody in (nogroup), without restarting anything else
agent_stop a
MPORT=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
GRANT="root @nogroup" agent_conf a "metrics_port = $MPORT" "metrics_file = $T/qkeyd.prom"
agent_start a
out=$(setpriv --reuid=nobody --regid=nogroup --clear-groups env QKEY_CONF=$T/client-a.conf "$QKEY" key new SAE_B 2>&1) &&
  pass "a grant to @nogroup lets nobody have a key" || fail "@nogroup grant: $out"
setpriv --reuid=nobody --regid=nogroup --clear-groups env QKEY_CONF=$T/client-a.conf "$QKEY" rand 16 >/dev/null 2>&1 &&
  fail "nobody got random bytes with only a key grant" || pass "the key grant does not grant random bytes"

# status through the agent: per-user counters and the peer's pool entry
users=$(agent_status a "sorted((u['user'], u['keys_new'], u['refusals']) for u in st['agent']['users'])")
grep -q "('nobody', 1, 1)" <<<"$users" && pass "the agent counts per user: $users" || fail "per-user counters: $users"
peer=$(QKEY_CONF=$T/client-a.conf "$QKEY" status --json | python3 -c "import json,sys; p=json.load(sys.stdin)['peers'][0]['link']; print(p['agent_peer']['sae_id'], p['agent_peer']['keys_issued'])")
[[ $peer == "SAE_B 1" ]] && pass "qkey status shows the agent's entry for peer SAE_B (keys issued since restart: 1)" || fail "agent_peer in qkey status: $peer"
"$QKEYD" --metrics --conf "$T/client-a.conf" >"$T/metrics" 2>&1
grep -q '^qkeyd_user_keys_new_total{user="nobody"} 1$' "$T/metrics" && grep -q '^qkeyd_rng_ok 1$' "$T/metrics" &&
  grep -q '^# TYPE qkeyd_feed_bytes_total counter$' "$T/metrics" &&
  pass "qkeyd --metrics prints Prometheus text ($(grep -vc '^#' "$T/metrics") samples)" || fail "metrics: $(head -5 "$T/metrics")"
# the opt-in loopback endpoint and the textfile collector's file carry the same figures
curl -s "http://127.0.0.1:$MPORT/metrics" >"$T/metrics.http"
grep -q '^qkeyd_user_keys_new_total{user="nobody"} 1$' "$T/metrics.http" &&
  [[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$MPORT/other") == 404 ]] &&
  pass "http://127.0.0.1:$MPORT/metrics serves the figures (other paths: 404)" || fail "metrics endpoint: $(head -3 "$T/metrics.http")"
ss -ltn | grep -q "127.0.0.1:$MPORT " && ! ss -ltn | grep -q "0.0.0.0:$MPORT " && pass "the metrics port listens on loopback only" || fail "metrics port: $(ss -ltn | grep $MPORT)"
grep -q '^# TYPE qkeyd_pool_keys gauge$' "$T/qkeyd.prom" && pass "agent.metrics_file is written for the textfile collector" || fail "no $T/qkeyd.prom"
if command -v promtool >/dev/null; then
  promtool check metrics <"$T/metrics" >/dev/null 2>&1 && pass "promtool accepts the metrics" || fail "promtool: $(promtool check metrics <"$T/metrics" 2>&1 | head -2)"
fi

# the journal: every key handed out, by ID, once
dups=$(cat "$T/journal-a" | awk '$3 == "new" {print $5}' | sort | uniq -d | wc -l)
[[ $(wc -l <"$T/journal-a") -ge 3 && $dups == 0 ]] && pass "agent A's journal lists $(wc -l <"$T/journal-a") keys, no ID twice" || fail "journal: $(cat "$T/journal-a")"
grep -qiE "[0-9a-f]{64}" "$T/journal-a" "$T/journal-b" && fail "key material in a journal" || pass "the journals hold no key material"

# the man page names every option of --help
if command -v man >/dev/null && [[ -s $BIN/../man/qkeyd.8 ]]; then
  page=$(MANWIDTH=200 man -l "$BIN/../man/qkeyd.8" 2>/dev/null | sed "s/.\x08//g")
  missing=$(for o in $("$QKEYD" --help | grep -o -- '--[a-z][a-z-]*' | sort -u); do grep -q -- "$o" <<<"$page" || echo "$o"; done)
  [[ -z $missing ]] && pass "man qkeyd names every option of qkeyd --help" || fail "man qkeyd lacks: $missing"
fi

# --check names what is wrong
check_bad() { # WANT LINES...
  local want=$1; shift
  printf '%s\n' "[qkd]" "driver = sim" "sae_id = SAE_A" "sim_link = $T/link/link" "peers = SAE_B" "[agent]" "$@" >"$T/bad.conf"
  out=$("$QKEYD" --check "$T/bad.conf" 2>&1) && fail "--check accepted: $*" ||
    { grep -q "$want" <<<"$out" && pass "--check refuses '$*': $(cut -c1-120 <<<"$out")" || fail "--check on '$*': $out"; }
}
check_bad "no user named 'no-such-user'" "grant.SAE_B = no-such-user"
check_bad "no group named 'no-such-group'" "grant.SAE_B = @no-such-group"
check_bad "SAE_C is not a peer in qkd.peers" "grant.SAE_C = root"
check_bad "unknown configuration key 'agent.grants'" "grants = root"
mkdir -m 1777 "$T/sticky"
printf '%s\n' "[rng]" "source = sim" "[agent]" "socket = $T/sticky/x.sock" >"$T/bad.conf"
"$QKEYD" --conf "$T/bad.conf" 2>&1 | grep -q "writable by no one else" &&
  pass "qkeyd refuses a socket in a directory others may write to" || fail "socket in a world-writable directory"
printf '%s\n' "[qkd]" "driver = agent" "sae_id = SAE_A" >"$T/bad.conf"
"$QKEYD" --check "$T/bad.conf" 2>&1 | grep -q "client's setting" && pass "--check refuses qkd.driver = agent in the agent" || fail "--check with driver = agent"

# `qkey sim init --agent`: the files it writes work as they are
agent_stop b
"$QKEY" sim init --agent --grant "root @nogroup" "$T/ready" >/dev/null 2>&1 || fail "qkey sim init --agent"
"$QKEYD" --conf "$T/ready/qkeyd-a.conf" >"$T/ready-a.log" 2>&1 &
AGENT_PID[ra]=$!
"$QKEYD" --conf "$T/ready/qkeyd-b.conf" >"$T/ready-b.log" 2>&1 &
AGENT_PID[rb]=$!
for i in $(seq 100); do [[ -S $T/ready/qkeyd-a.sock && -S $T/ready/qkeyd-b.sock ]] && break; sleep 0.05; done
out=$(QKEY_CONF=$T/ready/qkey-a.conf "$QKEY" key new SAE_B 2>&1) && id=${out%% *} key=${out##* } &&
  [[ $(QKEY_CONF=$T/ready/qkey-b.conf "$QKEY" key get SAE_A "$id" 2>&1) == "$key" ]] &&
  ! grep -q "sim_link" "$T/ready/qkey-a.conf" "$T/ready/sae-b.cnf" && [[ $(stat -c %a "$T/ready/qkeyd-a.conf") == 600 ]] &&
  pass "qkey sim init --agent: the agents' files (0600) and credential-free clients work as written" ||
  fail "qkey sim init --agent round trip: $out"
agent_stop ra
agent_stop rb

# socket activation (the LISTEN_FDS protocol systemd's qkeyd.socket uses): the agent starts on
# the first connection, serves on the socket it was given and leaves that socket in place
if command -v systemd-socket-activate >/dev/null; then
  agent_conf s
  sed -i "s|^socket = .*|socket = $T/activated.sock|" "$T/qkeyd-s.conf" "$T/client-s.conf"
  systemd-socket-activate -l "$T/activated.sock" "$QKEYD" --conf "$T/qkeyd-s.conf" >"$T/activate.log" 2>&1 &
  ACT=$!
  for i in $(seq 100); do [[ -S $T/activated.sock ]] && break; sleep 0.05; done
  n=$(QKEY_CONF=$T/client-s.conf "$QKEY" rand 32 2>"$T/act.err" | wc -c)
  [[ $n == 32 ]] && grep -q "serving $T/activated.sock" "$T/activate.log" &&
    pass "socket activation: qkeyd started on the first connection and served it" || fail "socket activation: $n bytes, $(cat "$T/act.err" "$T/activate.log" | tail -3)"
  kill $ACT 2>/dev/null
  wait $ACT 2>/dev/null
fi

# SIGTERM: the agent stops, removes its socket; clients then fail cleanly, naming the socket
agent_stop a
[[ ! -e $T/qkeyd-a.sock ]] && pass "a stopped agent removes its socket" || fail "socket left behind"
out=$(QKEY_CONF=$T/client-a.conf "$QKEY" key new SAE_B 2>&1) && fail "a key without an agent" ||
  { grep -q "qkeyd $T/qkeyd-a.sock unreachable" <<<"$out" && pass "without the agent: $(cut -c1-120 <<<"$out")" || fail "no agent: $out"; }

# an impostor: another user (nobody) listening on the agent's path first; the client (root)
# must refuse to take keys or random bytes from it, naming who serves the socket
IMPD=$(mktemp -d) && chmod 1777 "$IMPD" # outside $T, which nobody cannot enter
setpriv --reuid=nobody --regid=nogroup --clear-groups /usr/bin/python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(4); time.sleep(30)' "$IMPD/qkeyd.sock" &
IMP=$!
for i in $(seq 50); do [[ -S $IMPD/qkeyd.sock ]] && break; sleep 0.1; done
sed -E "s|^(agent\.)?socket = .*|\1socket = $IMPD/qkeyd.sock|" "$T/client-a.conf" >"$T/client-imp.conf"
out=$(QKEY_CONF=$T/client-imp.conf "$QKEY" rand 16 2>&1 >/dev/null) && fail "random bytes from an impostor" ||
  { grep -q "is served by uid 65534, neither root nor this user: refused" <<<"$out" &&
    pass "an agent socket served by another user is refused: $(cut -c1-110 <<<"$out")" || fail "impostor: $out"; }
kill $IMP 2>/dev/null
wait $IMP 2>/dev/null
rm -rf "$IMPD"
finish
