#!/bin/bash
# Helpers of the KME integration tests: sourced with BIN (the build's bin/ dir) and SAN (ON in a
# sanitizer build) set. Stands up a qkey-kme-sim link made by `qkey-kme-sim init` in $T/kme.
# Unmodified programs (openssl, nginx, curl) load an ASan-built qkey.so with the sanitizer
# runtimes preloaded through wrappers first on PATH.
set -u
T=$(mktemp -d)
chmod 755 "$T" # nginx workers (www-data) reach their temp paths under it
trap 'kill $(jobs -p) 2>/dev/null; [[ -n ${NGX_PID:-} ]] && kill $NGX_PID 2>/dev/null; wait 2>/dev/null; [[ -n ${KEEP:-} ]] || rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
pass() { echo "ok: $*"; }
finish() { echo "$fails failure(s)"; [[ $fails == 0 ]]; exit $?; }
KMESIM=$BIN/qkey-kme-sim
REAL_CURL=$(command -v curl)
if [[ ${SAN:-OFF} == ON ]]; then
  # curl itself deadlocks at start-up with libasan preloaded (a futex in its init, before any
  # qkey code runs), so the sanitizer build drives nginx with openssl s_client instead
  mkdir -p "$T/bin"
  for prog in openssl nginx; do
    real=$(command -v $prog) || continue
    cat >"$T/bin/$prog" <<WRAP
#!/bin/sh
LD_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so)" \\
ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \\
exec $real "\$@"
WRAP
    chmod +x "$T/bin/$prog"
  done
  PATH=$T/bin:$PATH
fi
freeport() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
waitport() { # PORT: until something listens there (at most 10 s), without connecting
  local i hex; hex=$(printf ':%04X ' "$1")
  for i in $(seq 100); do
    awk '$4 == "0A"' /proc/net/tcp 2>/dev/null | grep -q "$hex" && return 0
    sleep 0.1
  done
  return 1
}
conf() { sed -n "s/^$1 = //p" "$T/kme/kme.conf"; }

kme_init() { # extra init options
  "$KMESIM" init "$T/kme" "$@" >"$T/kme-init.log" 2>&1 || { echo "qkey-kme-sim init failed: $(tail -1 "$T/kme-init.log")"; exit 1; }
  PORT_A=$(conf port_a) PORT_B=$(conf port_b)
}
kme_start() {
  "$KMESIM" run "$T/kme" >>"$T/kme.log" 2>&1 &
  KME_PID=$!
  waitport "$PORT_A" && waitport "$PORT_B" || { echo "qkey-kme-sim run did not start: $(tail -2 "$T/kme.log")"; exit 1; }
}
kme_stop() { kill $KME_PID 2>/dev/null; wait $KME_PID 2>/dev/null; }
fault() { # JSON or "" to clear: DIR/fault.json, read by the simulator on its next request
  if [[ -z $1 ]]; then rm -f "$T/kme/fault.json"; else echo "$1" >"$T/kme/fault.json.tmp" && mv "$T/kme/fault.json.tmp" "$T/kme/fault.json"; fi
}
# stored_key_count as the KME reports it to SAE_A (ETSI status over mTLS, unmodified curl)
stored() {
  env -u OPENSSL_CONF "$REAL_CURL" -s --cacert "$T/kme/ca.pem" --cert "$T/kme/sae-a.pem" --key "$T/kme/sae-a.key" \
    "https://127.0.0.1:$PORT_A/api/v1/keys/SAE_B/status" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["stored_key_count"])'
}
# "issued delivered distinct-delivered pending" from the KME's key-ID history
history() {
  sqlite3 "$T/kme/store.db" "SELECT COUNT(*), COUNT(delivered), COUNT(DISTINCT CASE WHEN delivered IS NOT NULL THEN key_id END), (SELECT COUNT(*) FROM keys) FROM history" | tr '|' ' '
}
servercert() {
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=localhost \
    -keyout "$T/srv.key" -out "$T/srv.pem" >/dev/null 2>&1
}
