#!/bin/bash
# Init commands and the simulator refuse what another user prepared, and idle sockets cannot
# stop a KME:
#  - `qkey sim init DIR` and `qkey-kme-sim init DIR` refuse a DIR owned by another user (who
#    could have planted sae-a.cnf naming their module, or link/keys.qsl to receive our keys),
#    a DIR writable by others, and a DIR that is a symbolic link; they accept the user's own
#    0700/0755 directory;
#  - `qkey-kme-sim run` refuses a store.db that is a symbolic link, and does not chmod its target;
#  - 256 idle TCP connections from one client address leave the KME serving other clients, and
#    are dropped within seconds.
# Run as root (the other user is `nobody`). usage: trust.sh BIN_DIR
set -u
BIN=$1
T=$(mktemp -d)
chmod 755 "$T"
trap 'kill $KME_PID 2>/dev/null; wait 2>/dev/null; rm -rf "$T"' EXIT
KME_PID=
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
pass() { echo "ok: $*"; }
if ((EUID != 0)); then
  echo "needs root (to act as another user)"
  exit 77
fi
refused() { # WHAT EXPECTED-TEXT COMMAND...: must fail naming the reason, writing nothing
  local what=$1 text=$2
  shift 2
  if "$@" >"$T/out" 2>&1; then
    fail "$what: accepted"
  elif grep -q "$text" "$T/out"; then
    pass "$what: refused: $(tail -1 "$T/out")"
  else
    fail "$what: refused without naming why: $(cat "$T/out")"
  fi
}
for tool in "qkey sim init" "qkey-kme-sim init"; do
  # shellcheck disable=SC2206
  cmd=($BIN/${tool%% *} ${tool#* })
  d=$T/other-$RANDOM
  mkdir -m 755 "$d" && chown nobody: "$d"
  setpriv --reuid=nobody --regid=nogroup --clear-groups sh -c "echo '# planted' > '$d/sae-a.cnf'; mkdir '$d/link'"
  force=--force
  [[ $tool == qkey-kme-sim* ]] && force= # it has no --force: init always starts a fresh link
  refused "$tool in a directory owned by nobody" "belongs to nobody" "${cmd[@]}" "$d" $force
  grep -q planted "$d/sae-a.cnf" && [[ ! -e $d/link/keys.qsl && ! -e $d/store.db ]] ||
    fail "$tool wrote into nobody's directory"
  d=$T/open-$RANDOM
  mkdir "$d" && chmod 777 "$d"
  refused "$tool in a world-writable directory" "writable by group or others" "${cmd[@]}" "$d"
  d=$T/own-$RANDOM
  ln -s "$T" "$T/lnk-$RANDOM" && l=$(ls -d "$T"/lnk-* | head -1)
  refused "$tool at a symbolic link" "symbolic link" "${cmd[@]}" "$l"
  rm -f "$l"
  mkdir -m 700 "$d"
  "${cmd[@]}" "$d" >"$T/out" 2>&1 && [[ -e $d/sae-a.cnf ]] && pass "$tool in my own 0700 directory" ||
    fail "$tool in my own directory: $(cat "$T/out")"
  "${cmd[@]}" "$T/new-$RANDOM" >"$T/out" 2>&1 && pass "$tool making a new directory" ||
    fail "$tool making a new directory: $(cat "$T/out")"
done

# a store.db that is a symbolic link: refused, the target keeps its mode
k=$T/kme
"$BIN/qkey-kme-sim" init "$k" >/dev/null 2>&1 || fail "kme-sim init"
echo precious >"$T/target" && chmod 644 "$T/target"
rm -f "$k/store.db" "$k"/store.db-* && ln -s "$T/target" "$k/store.db"
refused "qkey-kme-sim run with store.db a symbolic link" "symbolic link" timeout 10 "$BIN/qkey-kme-sim" run "$k"
[[ $(stat -c %a "$T/target") == 644 && $(cat "$T/target") == precious ]] && pass "the link's target was not touched" ||
  fail "the link's target changed: mode $(stat -c %a "$T/target")"

# 256 idle connections from 127.0.0.2 do not stop KME A for a client at 127.0.0.1
rm -rf "$k"
"$BIN/qkey-kme-sim" init "$k" >/dev/null 2>&1 || fail "kme-sim init"
port=$(sed -n 's/^port_a = //p' "$k/kme.conf")
"$BIN/qkey-kme-sim" run "$k" >"$T/kme.log" 2>&1 &
KME_PID=$!
sleep 1
python3 - "$port" >"$T/idle.out" 2>&1 <<'PY' &
import socket, sys, time
port = int(sys.argv[1])
socks = []
for _ in range(256):
    s = socket.socket()
    s.bind(("127.0.0.2", 0))
    try:
        s.connect(("127.0.0.1", port))
        socks.append(s)
    except OSError:
        pass
print("connected", len(socks), flush=True)
time.sleep(2)
deadline = time.time() + 15
closed = 0
for s in socks:
    s.settimeout(max(0.1, deadline - time.time()))
    try:
        while s.recv(64):  # a TLS alert may come first, then the end
            s.settimeout(max(0.1, deadline - time.time()))
        closed += 1
    except ConnectionResetError:
        closed += 1
    except OSError:
        pass
print("closed by the KME within 17 s:", closed, "of", len(socks), flush=True)
PY
idle=$!
sleep 1
sed -i 's/^timeout_ms = .*/timeout_ms = 15000/' "$k/qkey-a.conf" 2>/dev/null
if out=$(timeout 20 "$BIN/qkey" key new --conf "$k/qkey-a.conf" SAE_B 2>&1); then
  pass "with 256 idle connections held, a client still gets a key (${out%% *})"
else
  fail "with 256 idle connections held: $out"
fi
wait $idle
c=$(sed -n 's/^connected //p' "$T/idle.out")
if grep -q "closed by the KME within 17 s: $c of $c" "$T/idle.out" && [[ ${c:-0} -gt 0 ]]; then
  pass "the KME dropped all $c idle connections from one client ($(tr '\n' ' ' <"$T/idle.out"))"
else
  fail "idle connections: $(cat "$T/idle.out")"
fi
echo "$fails failure(s)"
[[ $fails == 0 ]]
