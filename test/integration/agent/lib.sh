#!/bin/bash
# Helpers of the qkeyd integration tests: sourced with BIN (the build's bin/ dir). Makes a
# simulated link with `qkey sim init` in $T/link and, per side (a = SAE_A, b = SAE_B), an agent
# configuration $T/qkeyd-X.conf (the only one that names the link and the RNG) and a client
# configuration $T/client-X.conf (qkd.driver = agent, rng.source = agent: no link, no device).
set -u
T=$(mktemp -d)
chmod 755 "$T" # clients running as other users (nobody, www-data) read their configs here
trap 'agent_stop_all; kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; [[ -n ${KEEP:-} ]] || rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
pass() { echo "ok: $*"; }
finish() { echo "$fails failure(s)"; [[ $fails == 0 ]]; exit $?; }
QKEY=$BIN/qkey
QKEYD=$BIN/qkeyd
# a sanitizer build: unmodified openssl loads an ASan-built qkey.so only with the runtimes
# preloaded (a wrapper first on PATH, as test/integration/kme/lib.sh does)
if [[ ${QKEY_SANITIZE:-OFF} == ON ]]; then
  mkdir -p "$T/bin"
  cat >"$T/bin/openssl" <<WRAP
#!/bin/sh
LD_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so)" \\
ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \\
exec $(command -v openssl) "\$@"
WRAP
  chmod +x "$T/bin/openssl"
  PATH=$T/bin:$PATH
fi
declare -A AGENT_PID=()

side_sae() { [[ $1 == a ]] && echo SAE_A || echo SAE_B; }
side_peer() { [[ $1 == a ]] && echo SAE_B || echo SAE_A; }

# agent_conf SIDE [EXTRA-INI-LINES...]: the agent's configuration for one side of $T/link
agent_conf() {
  local s=$1; shift
  {
    echo "[qkd]"
    echo "driver = sim"
    echo "sae_id = $(side_sae $s)"
    echo "sim_link = $T/link/link"
    echo "peers = $(side_peer $s)"
    echo "rate_limit = 100000" # the load tests ask faster than the default 200 keys/s
    echo "rate_burst = 100000"
    echo "[rng]"
    echo "source = ${RNG_SOURCE:-sim}"
    echo "[agent]"
    echo "socket = $T/qkeyd-$s.sock"
    echo "grant.$(side_peer $s) = ${GRANT:-root}"
    echo "random = ${RANDOM_GRANT:-root}"
    echo "journal = $T/journal-$s"
    for l in "$@"; do echo "$l"; done
  } >"$T/qkeyd-$s.conf"
  chmod 600 "$T/qkeyd-$s.conf"
  cat >"$T/client-$s.conf" <<CONF
[qkd]
driver = agent
sae_id = $(side_sae $s)
peers = $(side_peer $s)
rate_limit = 100000
rate_burst = 100000
[rng]
source = agent
[agent]
socket = $T/qkeyd-$s.sock
CONF
  chmod 644 "$T/client-$s.conf"
}

# openssl.cnf for a client of the agent: `qkey sim init`'s file with the driver and the RNG
# replaced by the agent and the link directory removed
agent_cnf() {
  local s=$1
  sed -e "s|^qkd.driver = sim|qkd.driver = agent\nagent.socket = $T/qkeyd-$s.sock|" \
    -e "/^qkd.sim_link/d" -e "s|^rng.source = .*|rng.source = agent|" "$T/link/sae-$s.cnf" >"$T/agent-$s.cnf"
  chmod 644 "$T/agent-$s.cnf"
}

link_init() {
  "$QKEY" sim init "$T/link" >"$T/sim-init.log" 2>&1 || { echo "qkey sim init failed: $(tail -1 "$T/sim-init.log")"; exit 1; }
}

agent_start() { # SIDE
  local s=$1 i
  "$QKEYD" --conf "$T/qkeyd-$s.conf" >>"$T/qkeyd-$s.log" 2>&1 &
  AGENT_PID[$s]=$!
  for i in $(seq 100); do
    [[ -S $T/qkeyd-$s.sock ]] && grep -q "serving" "$T/qkeyd-$s.log" 2>/dev/null && return 0
    kill -0 ${AGENT_PID[$s]} 2>/dev/null || break
    sleep 0.05
  done
  echo "qkeyd $s did not start: $(tail -2 "$T/qkeyd-$s.log")"
  exit 1
}
agent_stop() { # SIDE [SIGNAL]
  local s=$1 sig=${2:-TERM}
  [[ -n ${AGENT_PID[$s]:-} ]] || return 0
  kill -$sig ${AGENT_PID[$s]} 2>/dev/null
  wait ${AGENT_PID[$s]} 2>/dev/null
  AGENT_PID[$s]=
}
agent_stop_all() { local s; for s in "${!AGENT_PID[@]}"; do agent_stop $s; done; }
# a field of the agent's STATUS as JSON (python expression on `st`)
agent_status() { # SIDE EXPR
  QKEY_CONF=$T/client-$1.conf "$QKEY" status --json 2>/dev/null |
    python3 -c "import json,sys; st=json.load(sys.stdin)['rng']['agent_status']; print($2)"
}
