#!/bin/bash
# Shared helpers of the provider's integration tests: sourced with PROV (the built qkey.so),
# BIN (the build's bin/ dir) and SAN (ON in a sanitizer build) set. Unmodified openssl programs
# load an ASan-built qkey.so with the sanitizer runtimes preloaded.
set -u
T=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; [[ -n ${KEEP:-} ]] || rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
pass() { echo "ok: $*"; }
if [[ ${SAN:-OFF} == ON ]]; then
  # only the openssl processes get the runtimes (python, awk, sed would only be slowed down),
  # through a wrapper first on PATH so `timeout openssl ...` gets it too; leak detection is off
  # for openssl itself, which does not free everything at exit
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

# Servers read stdin from a FIFO that stays open (s_server quits on EOF) until the test ends.
mkfifo "$T/stdin"
sleep 600 >"$T/stdin" &
# waitport PORT: until something listens there (at most 5 s), without connecting (a probe
# connection would use up an s_server -naccept).
waitport() {
  local i hex; hex=$(printf ':%04X ' "$1")
  for i in $(seq 50); do
    awk '$4 == "0A"' /proc/net/tcp /proc/net/tcp6 2>/dev/null | grep -q "$hex" && return 0
    sleep 0.1
  done
  return 1
}

freeport() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }

# mklink DIR [extra qkey_sect lines]: DIR/sae-a.cnf and DIR/sae-b.cnf, by `qkey sim init` when the
# tool is built, else the same files written here.
mklink() {
  local dir=$1 extra=${2:-}
  if [[ -x $BIN/qkey ]] && "$BIN/qkey" sim init "$dir" >/dev/null 2>&1 && [[ -f $dir/sae-a.cnf ]]; then
    # point the generated files at the provider under test
    sed -i -E "s|^([[:space:]]*module[[:space:]]*=).*qkey\.so.*|\1 $PROV|" "$dir/sae-a.cnf" "$dir/sae-b.cnf"
  else
    mkdir -p "$dir"
    local s o
    for s in A B; do
      o=$([[ $s == A ]] && echo B || echo A)
      cat >"$dir/sae-${s,,}.cnf" <<CNF
openssl_conf = openssl_init
config_diagnostics = 1

[openssl_init]
providers = provider_sect
random = random_sect

[provider_sect]
default = default_sect
qkey = qkey_sect

[default_sect]
activate = 1

[qkey_sect]
module = $PROV
activate = 1
qkd.driver = sim
qkd.sae_id = SAE_$s
qkd.sim_link = $dir/link
qkd.peers = SAE_$o
rng.source = sim

[random_sect]
seed = QRNG
seed_properties = provider=qkey
CNF
    done
  fi
  if [[ -n $extra ]]; then
    local f
    for f in "$dir/sae-a.cnf" "$dir/sae-b.cnf"; do
      printf '%s\n' "$extra" >"$T/extra"
      sed -i "/^\[qkey_sect\]/r $T/extra" "$f"
    done
  fi
}

# setkey FILE KEY VALUE: replace KEY's value in an openssl.cnf (the provider section).
setkey() { sed -i -E "s|^([[:space:]]*$2[[:space:]]*=).*|\1 $3|" "$1"; }

servercert() {
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=localhost \
    -keyout "$T/srv.key" -out "$T/srv.pem" >/dev/null 2>&1
}

# hs SERVER_CNF CLIENT_CNF GROUPS: one handshake between unmodified s_server and s_client;
# logs in $T/s.log $T/c.log. km LOG: the exported keying material a side printed.
hs() {
  local port; port=$(freeport)
  OPENSSL_CONF=$1 timeout 30 openssl s_server -accept "$port" -tls1_3 -groups "$3" -cert "$T/srv.pem" \
     -key "$T/srv.key" -naccept 1 -keymatexport qkey -keymatexportlen 32 <"$T/stdin" >"$T/s.log" 2>&1 &
  local spid=$!
  waitport "$port"
  echo Q | OPENSSL_CONF=$2 timeout 10 openssl s_client -connect 127.0.0.1:"$port" -tls1_3 \
     -groups "$3" -keymatexport qkey -keymatexportlen 32 >"$T/c.log" 2>&1
  wait $spid
}
km() { grep -m1 "Keying material:" "$1" | awk '{print $3}'; }
