#!/bin/bash
# The issue's acceptance check: unmodified nginx (3 workers as www-data) and curl complete TLS 1.3
# over x25519_qkd with keys from qkey-kme-sim through two qkeyd agents, configured only by the
# files `qkey-kme-sim init --agent` writes (the RNG of the agents is a device file here, so that
# opening it can be seen). Then:
#  - no nginx process and no curl opens the KME key files or the RNG device (strace of every
#    open in them); the agents are the ones that hold them;
#  - a core of an nginx worker (gcore) holds no part of the KME private key: neither its PEM nor
#    its DER nor the raw private scalar; the same search does find the scalar in the agent's
#    memory (the control: the search works, and the key is where it belongs);
#  - every handshake took one key, no key ID twice (the KME's history and the agents' journals).
# Usage: nginx.sh BIN_DIR N_HANDSHAKES
BIN=$1 N=${2:-100}
source "$(dirname "$0")/lib.sh"
for p in nginx curl strace gcore; do command -v $p >/dev/null || { echo "SKIP: $p missing"; exit 77; }; done
id www-data >/dev/null 2>&1 || { echo "SKIP: no www-data user"; exit 77; }
# curl deadlocks at start-up with libasan preloaded (test/integration/kme/lib.sh): the Release
# tree runs this check; the sanitizer tree runs the agent with openssl in integration_agent_tls
[[ ${QKEY_SANITIZE:-OFF} == ON ]] && { echo "SKIP: curl cannot run with the sanitizer runtimes preloaded"; exit 77; }
freeport() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
waitport() {
  local i hex; hex=$(printf ':%04X ' "$1")
  for i in $(seq 100); do awk '$4 == "0A"' /proc/net/tcp 2>/dev/null | grep -q "$hex" && return 0; sleep 0.1; done
  return 1
}
K=$T/kme
"$BIN/qkey-kme-sim" init "$K" --rate 0 --initial 5000 --agent --grant "root www-data" >"$T/init.log" 2>&1 ||
  { echo "qkey-kme-sim init --agent failed: $(tail -1 "$T/init.log")"; exit 1; }
chmod 755 "$K"
head -c 33554432 /dev/urandom >"$T/hwrng.bin" # the agents' "device"
chmod 600 "$T/hwrng.bin"
for s in a b; do sed -i "s|^source = sim|source = device:$T/hwrng.bin|" "$K/qkeyd-$s.conf"; done
grep -qE "^(qkd\.)?(key|cert) = " "$K/sae-a.cnf" "$K/sae-b.cnf" "$K/qkey-a.conf" "$K/qkey-b.conf" &&
  fail "a client file names a key file" || pass "the client files name no credential (qkd.driver = agent)"
PORT_A=$(sed -n 's/^port_a = //p' "$K/kme.conf") PORT_B=$(sed -n 's/^port_b = //p' "$K/kme.conf")
"$BIN/qkey-kme-sim" run "$K" >"$T/kme.log" 2>&1 &
waitport "$PORT_A" && waitport "$PORT_B" || { echo "KMEs did not start: $(tail -2 "$T/kme.log")"; exit 1; }
for s in a b; do
  "$QKEYD" --conf "$K/qkeyd-$s.conf" >"$T/qkeyd-$s.log" 2>&1 &
  AGENT_PID[$s]=$!
done
for i in $(seq 100); do [[ -S $K/qkeyd-a.sock && -S $K/qkeyd-b.sock ]] && break; sleep 0.05; done

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=localhost \
  -keyout "$T/srv.key" -out "$T/srv.pem" >/dev/null 2>&1
NGX_PORT=$(freeport)
mkdir -p "$T/ngx"
cat >"$T/ngx/nginx.conf" <<NGX
user www-data; worker_processes 3; daemon off; pid $T/ngx/nginx.pid; error_log $T/ngx/error.log info;
events { worker_connections 64; }
http { access_log off; client_body_temp_path $T/ngx; proxy_temp_path $T/ngx; fastcgi_temp_path $T/ngx;
  uwsgi_temp_path $T/ngx; scgi_temp_path $T/ngx;
  server { listen 127.0.0.1:$NGX_PORT ssl; ssl_certificate $T/srv.pem; ssl_certificate_key $T/srv.key;
    ssl_protocols TLSv1.3; ssl_ecdh_curve x25519_qkd; keepalive_timeout 0; location / { return 200 "qkey-ok\n"; } } }
NGX
start_nginx() { # [strace...]: nginx (under the given wrapper), and its 3 workers as www-data
  OPENSSL_CONF=$K/sae-a.cnf "$@" nginx -c "$T/ngx/nginx.conf" >"$T/ngx/out.log" 2>&1 &
  NGX=$!
  waitport "$NGX_PORT" || { echo "nginx did not start: $(tail -2 "$T/ngx/error.log" "$T/ngx/out.log")"; exit 1; }
  for i in $(seq 50); do # this nginx's workers only: other nginx may run on the host
    workers=$(pgrep -u www-data -P "$(cat "$T/ngx/nginx.pid" 2>/dev/null || echo 1)" | wc -l)
    [[ $workers == 3 ]] && break
    sleep 0.1
  done
}
stop_nginx() { # the master by its pid file (NGX may be strace, which ends with its tracees)
  kill "$(cat "$T/ngx/nginx.pid" 2>/dev/null)" 2>/dev/null
  wait $NGX 2>/dev/null
}
start_nginx strace -f --seccomp-bpf -e trace=open,openat -o "$T/strace-nginx"
[[ $workers == 3 ]] && pass "nginx runs 3 workers as www-data" || fail "nginx workers as www-data: $workers"

urls=()
for i in $(seq "$N"); do urls+=("https://localhost:$NGX_PORT/"); done
t0=$(date +%s.%N)
ok=$(OPENSSL_CONF=$K/sae-b.cnf timeout 120 strace -f --seccomp-bpf -e trace=open,openat -o "$T/strace-curl" \
  curl -sS --no-sessionid --curves x25519_qkd --tlsv1.3 --cacert "$T/srv.pem" \
  --resolve localhost:$NGX_PORT:127.0.0.1 "${urls[@]}" 2>"$T/curl.err" | grep -c '^qkey-ok$')
t1=$(date +%s.%N)
[[ $ok == "$N" ]] && pass "$ok/$N curl requests to nginx over x25519_qkd through the agents ($(python3 -c "print('%.0f' % ($N/($t1-$t0)))")/s, under strace)" ||
  fail "$ok/$N requests: $(tail -2 "$T/curl.err"; tail -2 "$T/ngx/error.log")"

# who opened the credentials and the device: nobody but the agents
for f in "$T/strace-nginx" "$T/strace-curl"; do
  hits=$(grep -v ENOENT "$f" | grep -E "sae-[ab]\.key|hwrng\.bin|qkeyd-[ab]\.conf" | head -3)
  [[ -z $hits ]] && pass "$(basename "$f" | sed 's/strace-//') opened no KME key file, no agent config and not the RNG device ($(grep -c open "$f") opens traced)" ||
    fail "$(basename "$f"): $hits"
done
# the KME connections: persistent mTLS from the agents only, none from nginx or curl
conns=$(ss -tnp 2>/dev/null | grep -E ":($PORT_A|$PORT_B) " | grep -v "qkey-kme-sim")
[[ -n $conns ]] && ! grep -q nginx <<<"$conns" && grep -q qkeyd <<<"$conns" &&
  pass "the only connections to the KMEs are the agents' ($(grep -c qkeyd <<<"$conns") kept alive), none from nginx" ||
  fail "KME connections: $conns"
for s in a b; do
  ls -l /proc/${AGENT_PID[$s]}/fd 2>/dev/null | grep -q hwrng.bin && pass "agent $s holds the RNG device open" || fail "agent $s: no RNG device open"
done

# a worker's core: no part of the KME key (PEM lines, DER, private scalar). nginx again without
# strace (gdb cannot attach to a traced process), after handshakes so the workers are warm.
stop_nginx
start_nginx
OPENSSL_CONF=$K/sae-b.cnf timeout 60 curl -sS --no-sessionid --curves x25519_qkd --tlsv1.3 --cacert "$T/srv.pem" \
  --resolve localhost:$NGX_PORT:127.0.0.1 "${urls[@]:0:20}" >/dev/null 2>>"$T/curl.err"
worker=$(pgrep -u www-data -P "$(cat "$T/ngx/nginx.pid")" | head -1)
gcore -o "$T/core" "$worker" >/dev/null 2>&1
agent_core() { gcore -o "$T/agentcore" "${AGENT_PID[a]}" >/dev/null 2>&1; }
agent_core
cat >"$T/keyscan.py" <<'PY'
import base64, re, subprocess, sys
pem = open(sys.argv[1]).read()
der = subprocess.run(["openssl", "pkey", "-in", sys.argv[1], "-outform", "DER"], capture_output=True).stdout
text = subprocess.run(["openssl", "pkey", "-in", sys.argv[1], "-noout", "-text"], capture_output=True, text=True).stdout
priv = bytes.fromhex("".join(re.search(r"priv:\s*((?:[0-9a-f]{2}:?\s*)+)pub:", text).group(1).split()).replace(":", ""))
priv = priv[-32:]
lines = [l.encode() for l in pem.splitlines() if l and not l.startswith("-----")]
for core in sys.argv[2:]:
    data = open(core, "rb").read()
    found = [n for n, b in (("private_scalar", priv), ("DER", der[16:48])) if b in data]
    found += ["PEM line %d" % i for i, l in enumerate(lines) if len(l) >= 16 and l[:32] in data]
    print(core.split("/")[-1].split(".")[0], ",".join(found) if found else "none", len(data))
PY
res=$(python3 "$T/keyscan.py" "$K/sae-a.key" "$T/core.$worker" "$T/agentcore.${AGENT_PID[a]}" 2>&1)
w=$(awk '$1 == "core" {print $2}' <<<"$res") ag=$(awk '$1 == "agentcore" {print $2}' <<<"$res")
[[ $w == none ]] && pass "the core of nginx worker $worker ($(awk '$1 == "core" {print $3}' <<<"$res") bytes) holds no part of the KME key" ||
  fail "the nginx worker's core holds: $w"
[[ $ag == *private_scalar* ]] && pass "control: the same search finds the KME key in the agent's memory ($ag)" ||
  echo "   control: the search found '$ag' in the agent's memory (gcore honours MADV_DONTDUMP)"
rm -f "$T"/core.* "$T"/agentcore.*

# one key per handshake (N, then 20 more), none delivered twice
h=($(sqlite3 "$K/store.db" "SELECT COUNT(*), COUNT(delivered), COUNT(DISTINCT CASE WHEN delivered IS NOT NULL THEN key_id END) FROM history" | tr '|' ' '))
jd=$(cat "$K/qkeyd-a.journal" | awk '{print $5}' | sort | uniq -d | wc -l)
nb=$(grep -c " get " "$K/qkeyd-b.journal")
[[ ${h[1]} == "${h[2]}" && $nb == $((N + 20)) && $jd == 0 ]] &&
  pass "$((N + 20)) handshakes: agent B fetched $nb keys, the KME delivered ${h[1]} key IDs (${h[2]} distinct), the pool keeps the rest" ||
  fail "history: issued ${h[0]}, delivered ${h[1]}, distinct ${h[2]}; agent B fetched $nb; journal duplicates $jd"
stop_nginx

# a request in flight when the agent dies: KME B holds agent B's dec_keys for 3 s, agent B is
# killed (-9) meanwhile; the client's request fails cleanly, saying so, and is not repeated; after
# a restart the key ID is either fetched once or reported delivered, never delivered twice
id=$(QKEY_CONF=$K/qkey-a.conf "$QKEY" key new SAE_B 2>"$T/inflight.err" | awk '{print $1}')
echo '{"kme":"B","fault":"delay","delay_ms":3000,"count":1}' >"$K/fault.json.tmp" && mv "$K/fault.json.tmp" "$K/fault.json"
QKEY_CONF=$K/qkey-b.conf "$QKEY" key get SAE_A "$id" >/dev/null 2>"$T/inflight.err" &
CL=$!
sleep 0.8
kill -9 ${AGENT_PID[b]}
wait ${AGENT_PID[b]} 2>/dev/null
wait $CL && fail "the request in flight succeeded after kill -9 of its agent" ||
  { grep -q "closed the connection during the request.*not repeated" "$T/inflight.err" &&
    pass "the request in flight when agent B died fails cleanly: $(cut -c1-140 "$T/inflight.err")" ||
    fail "in-flight failure: $(cat "$T/inflight.err")"; }
rm -f "$K/fault.json"
"$QKEYD" --conf "$K/qkeyd-b.conf" >>"$T/qkeyd-b.log" 2>&1 &
AGENT_PID[b]=$!
for i in $(seq 100); do QKEY_CONF=$K/qkey-b.conf "$QKEY" rand 1 >/dev/null 2>&1 && break; sleep 0.05; done
again=$(QKEY_CONF=$K/qkey-b.conf "$QKEY" key get SAE_A "$id" 2>&1 >/dev/null) && again=fetched
n=$(grep -c " $id$" "$K/qkeyd-b.journal")
d=$(sqlite3 "$K/store.db" "SELECT COUNT(delivered) FROM history WHERE key_id = '$id'")
[[ $d -le 1 && $n -le 1 && ($again == fetched || $again == *"already delivered"*) ]] &&
  pass "after the restart the key ID is $([[ $again == fetched ]] && echo "fetched once" || echo "reported delivered"): KME deliveries $d, agent journal $n" ||
  fail "after the restart: '$again', KME deliveries $d, journal $n"
finish
