#!/bin/bash
# qkey demo (the main job): on a fresh Debian 12 machine, as root.
#   1. installs what is missing (scripts/deps.sh)
#   2. builds qkey (Release) and installs it into ./_build/demo-prefix (nothing outside the tree)
#   3. writes a simulated QKD link between SAE_A and SAE_B (`qkey sim init`) and proves with
#      `qkey status` that OpenSSL, configured by those files, loads qkey, seeds from QRNG and
#      offers the QKD groups (x25519mlkem768_qkd first on OpenSSL 3.5, else x25519_qkd)
#   4. unmodified `openssl s_server` (SAE_A) and `openssl s_client` (SAE_B) complete TLS 1.3 over
#      the first of them; both sides export the same keying material
#   5. PKCS#11: a token on each side; A makes a QKD key (CKM_QKEY_QKD_KEY_NEW) and encrypts with
#      it; B fetches the same key by its ID (CKM_QKEY_QKD_KEY_GET) and decrypts; a replay fails
# With --installed, steps 1 and 2 are replaced by a check of the installed packages (.deb): the
# tools in /usr/bin, the provider in OpenSSL's modules directory, the token in p11-kit's module
# directory; the generated .cnf files then need no `module =` line (scripts/test-packages.sh).
# Exit code 0 only when every step worked. Work files: ./_build/demo-run.
set -uo pipefail
INSTALLED=0
[[ ${1:-} == --installed ]] && INSTALLED=1
cd "$(dirname "$0")/.."
ROOT=$PWD
B=$ROOT/_build/demo P=$ROOT/_build/demo-prefix W=$ROOT/_build/demo-run
jobs=$(nproc)
((jobs > 2)) && jobs=2
declare -a results=()
failed=0
SPID=""
cleanup() {
  [[ -n $SPID ]] && kill "$SPID" 2>/dev/null
  exec 3>&- 2>/dev/null
  true
}
trap cleanup EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
say() { printf '   %s\n' "$*"; }
pass() { results+=("PASS  $1"); say "-> $1: done"; }
flunk() { results+=("FAIL  $1: $2"); say "-> $1: FAILED: $2"; failed=1; }
summary() {
  step "Summary"
  for r in "${results[@]}"; do say "$r"; done
  if ((failed)); then say "demo FAILED (work files in $W)"; exit 1; fi
  say "every step worked"
  exit 0
}

if ((INSTALLED)); then
  step "1-2. The installed packages (no build)"
  QKEY=/usr/bin/qkey
  PROV=$(openssl version -m | sed -n 's/^MODULESDIR: "\(.*\)"$/\1/p')/qkey.so
  MOD=$(dpkg -L qkey-pkcs11 2>/dev/null | grep '/libqkey-pkcs11\.so$' | head -1)
  for f in "$QKEY" "$PROV" "$MOD"; do
    if [[ -n $f && -e $f ]]; then say "installed: $f"; else flunk "packages" "missing: ${f:-libqkey-pkcs11.so}"; fi
  done
  # p11-kit 0.24 prints "qkey: FILE", 0.25 "module: qkey"
  if p11-kit list-modules 2>/dev/null | grep -qE "^(qkey: |module: qkey$)"; then
    pass "p11-kit lists the qkey token with no path configured anywhere"
  else
    flunk "p11-kit registration" "p11-kit list-modules does not show qkey"
  fi
  ((failed)) && summary
else
step "1. Dependencies (apt-get only what is missing)"
if scripts/deps.sh; then pass "dependencies"; else flunk "dependencies" "scripts/deps.sh failed"; summary; fi

step "2. Build qkey (Release) and install it into $P"
mkdir -p "$ROOT/_build"
if { cmake -S . -B "$B" -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$P" -DQKEY_TESTS=OFF &&
     cmake --build "$B" -j"$jobs" && cmake --install "$B"; } >"$B.log" 2>&1; then
  pass "build and install"
else
  grep -m5 -E "error|Error" "$B.log" | sed 's/^/   /'
  flunk "build and install" "see $B.log"
  summary
fi
QKEY=$P/bin/qkey PROV=$P/lib/ossl-modules/qkey.so MOD=$P/lib/pkcs11/libqkey-pkcs11.so
for f in "$QKEY" "$PROV" "$MOD"; do
  if [[ -e $f ]]; then say "installed: ${f#$ROOT/}"; else say "NOT BUILT YET: ${f#$ROOT/}"; fi
done
[[ -x $QKEY ]] || { flunk "qkey command" "$QKEY was not installed"; summary; }
fi

step "3. A simulated QKD link between SAE_A and SAE_B"
rm -rf "$W"
mkdir -p "$W"
L=$W/link
if "$QKEY" sim init "$L" | sed 's/^/   /'; then
  pass "qkey sim init"
else
  flunk "qkey sim init" "see above"
  summary
fi
CNF_GROUPS=$(sed -n 's/^Groups = //p' "$L/sae-a.cnf") # ML-KEM + QKD first where OpenSSL has ML-KEM (3.5)
G=${CNF_GROUPS%%:*}
if ((INSTALLED)); then
  if grep -q '^module *=' "$L/sae-a.cnf"; then
    flunk "short provider section" "sae-a.cnf names the module although it is in OpenSSL's directory"
  else
    pass "sae-a.cnf loads provider qkey by name alone (no module = line)"
  fi
fi
say "sae-a.cnf / sae-b.cnf are complete openssl.cnf files: provider qkey, Groups = $CNF_GROUPS,"
say "[random] seed = QRNG. Nothing else is configured anywhere."
if [[ -e $PROV ]]; then
  say "\$ OPENSSL_CONF=$L/sae-a.cnf qkey status"
  if OPENSSL_CONF=$L/sae-a.cnf "$QKEY" status >"$W/status.txt" 2>&1; then
    sed -n '/^openssl.cnf/,$p' "$W/status.txt" | sed 's/^/   /'
    pass "qkey status proves the QRNG seed chain and the QKD group offer"
  else
    sed 's/^/   /' "$W/status.txt" | tail -15
    flunk "qkey status" "the openssl.cnf check failed"
  fi
else
  flunk "qkey status" "the provider qkey.so is not built yet"
fi

step "4. TLS 1.3 over $G: unmodified openssl s_server (SAE_A) and s_client (SAE_B)"
if [[ ! -e $PROV ]]; then
  flunk "TLS over $G" "the provider qkey.so is not built yet"
else
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=localhost \
    -keyout "$W/srv.key" -out "$W/srv.pem" >/dev/null 2>&1
  port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
  mkfifo "$W/stdin"
  say "\$ OPENSSL_CONF=sae-a.cnf openssl s_server -accept $port -tls1_3 -keymatexport qkey-demo ..."
  OPENSSL_CONF=$L/sae-a.cnf openssl s_server -accept "$port" -tls1_3 -cert "$W/srv.pem" \
    -key "$W/srv.key" -keymatexport qkey-demo -keymatexportlen 32 -naccept 1 \
    <"$W/stdin" >"$W/server.log" 2>&1 &
  SPID=$!
  exec 3>"$W/stdin" # keeps the server's stdin open until the client is done
  for _ in $(seq 50); do grep -q ACCEPT "$W/server.log" 2>/dev/null && break; sleep 0.1; done
  say "\$ OPENSSL_CONF=sae-b.cnf openssl s_client -connect 127.0.0.1:$port -tls1_3 -keymatexport qkey-demo ..."
  say "  (no -groups anywhere: both sides take Groups = $CNF_GROUPS from their openssl.cnf)"
  echo Q | OPENSSL_CONF=$L/sae-b.cnf timeout 15 openssl s_client -connect "127.0.0.1:$port" -tls1_3 \
    -keymatexport qkey-demo -keymatexportlen 32 -trace >"$W/client.log" 2>&1
  exec 3>&-
  for _ in $(seq 50); do kill -0 "$SPID" 2>/dev/null || break; sleep 0.1; done
  kill "$SPID" 2>/dev/null
  SPID=""
  ek_c=$(sed -n 's/^ *Keying material: *//p' "$W/client.log")
  ek_s=$(sed -n 's/^ *Keying material: *//p' "$W/server.log")
  proto=$(sed -n 's/^New, \(TLSv1\.[0-9]\), Cipher is \(.*\)/\1/p' "$W/client.log" | head -1)
  cipher=$(sed -n 's/^New, TLSv1\.[0-9], Cipher is \(.*\)/\1/p' "$W/client.log" | head -1)
  # ServerHello's key_share names the group the server chose (RFC 8446 4.2.8)
  chosen=$(awk '/ServerHello/{s=1} s && /NamedGroup/{print; exit}' "$W/client.log" | sed -n 's/.*(\([0-9]*\)).*/\1/p')
  # OpenSSL 3.0's trace does not know provider groups by name: name the code point through the
  # providers' TLS-GROUP capabilities, as `qkey status` lists them
  cps=$(OPENSSL_CONF=$L/sae-b.cnf "$QKEY" status --json 2>/dev/null |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["openssl"]["groups"]["codepoints"])' 2>/dev/null)
  if [[ -n $chosen ]]; then
    hex=$(printf '0x%04x' "$chosen")
    name=$(tr ' ' '\n' <<<"$cps" | sed -n "s/=$hex\$//p" | head -1)
    chosen="${name:-unknown} (code point $hex)"
  fi
  shared=$(sed -n 's/^Shared groups: *//p' "$W/server.log" | head -1)
  say "protocol, cipher:         ${proto:-no handshake} ${cipher:-}"
  say "group in the ServerHello: ${chosen:-(no key_share seen)}"
  say "server's shared groups:   ${shared:-(not printed)}"
  say "keying material (SAE_A):  ${ek_s:-none}"
  say "keying material (SAE_B):  ${ek_c:-none}"
  if [[ $proto == TLSv1.3 && -n $ek_c && $ek_c == "$ek_s" && $chosen == "$G "* ]] &&
     ! grep -q ":error:" "$W/client.log"; then
    pass "TLS 1.3 over $G with equal exported keys on both sides"
  else
    grep -m3 -i "error\|alert" "$W/client.log" "$W/server.log" | sed 's/^/   /'
    flunk "TLS over $G" "no TLS 1.3 handshake with equal keys (logs: $W/client.log, $W/server.log)"
  fi
fi

step "5. PKCS#11: a QKD key made on site A, fetched by ID on site B"
if [[ ! -e $MOD ]]; then
  flunk "PKCS#11 round trip" "the token libqkey-pkcs11.so is not built yet"
else
  ok=1
  for side in a b; do
    say "\$ QKEY_CONF=qkey-$side.conf pkcs11-tool --module libqkey-pkcs11.so --init-token --label qk$side; --init-pin"
    if ! { QKEY_CONF=$L/qkey-$side.conf pkcs11-tool --module "$MOD" --slot-index 0 --init-token \
             --label "qk$side" --so-pin 12345678 &&
           QKEY_CONF=$L/qkey-$side.conf pkcs11-tool --module "$MOD" --token-label "qk$side" --login \
             --login-type so --so-pin 12345678 --init-pin --pin 123456; } >"$W/p11-init-$side.log" 2>&1; then
      grep -m2 -i "error\|fail" "$W/p11-init-$side.log" | sed 's/^/   /'
      flunk "PKCS#11 token init ($side)" "see $W/p11-init-$side.log"
      ok=0
    fi
  done
  if ((ok)); then
    say "site A: C_GenerateKey(CKM_QKEY_QKD_KEY_NEW, peer SAE_B), then AES-256-GCM encrypt"
    read -r kid iv ct < <(QKEY_CONF=$L/qkey-a.conf /usr/bin/python3 scripts/demo_p11.py "$MOD" qka 123456 new SAE_B 2>"$W/p11-a.err")
    if [[ -z ${ct:-} ]]; then
      flunk "PKCS#11 KEY_NEW on A" "$(tail -1 "$W/p11-a.err")"
    else
      say "  key ID sent to site B:  $kid   (the key itself never leaves the token)"
      say "  ciphertext:             $ct"
      say "site B: C_GenerateKey(CKM_QKEY_QKD_KEY_GET, peer SAE_A, key ID $kid), then decrypt"
      pt=$(QKEY_CONF=$L/qkey-b.conf /usr/bin/python3 scripts/demo_p11.py "$MOD" qkb 123456 get SAE_A "$kid" "$iv" "$ct" 2>"$W/p11-b.err")
      say "  plaintext on site B:    ${pt:-(none)}"
      if [[ $pt == "one session, one key" ]]; then
        pass "QKD key shared through PKCS#11 and used for AES-GCM"
        if QKEY_CONF=$L/qkey-b.conf /usr/bin/python3 scripts/demo_p11.py "$MOD" qkb 123456 get SAE_A "$kid" "$iv" "$ct" >/dev/null 2>"$W/p11-replay.err"; then
          flunk "replay refusal" "the same key ID was handed out twice"
        else
          say "  a second fetch of $kid: $(tail -1 "$W/p11-replay.err")"
          pass "a key ID is delivered once (replay refused)"
        fi
      else
        flunk "PKCS#11 KEY_GET on B" "$(tail -1 "$W/p11-b.err")"
      fi
    fi
  fi
fi

summary
