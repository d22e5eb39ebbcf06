#!/bin/bash
# `qkey sim init DIR`: the four files and the link appear, paths are absolute, an existing link
# is kept unless --force, and the command line refuses what it should with the right exit code.
source "$(dirname "$0")/lib.sh"

out=$("$QKEY" sim init "$T/l" 2>&1) || fail "sim init: $out"
for f in sae-a.cnf sae-b.cnf qkey-a.conf qkey-b.conf; do
  [[ -s $T/l/$f ]] || fail "sim init wrote no $f"
done
[[ -d $T/l/link ]] || fail "no link directory"
grep -q "^qkd.sim_link = $T/l/link\$" "$T/l/sae-a.cnf" || fail "sae-a.cnf: sim_link not absolute"
grep -q "^qkd.peers = SAE_B\$" "$T/l/sae-a.cnf" || fail "sae-a.cnf: peers"
grep -q "^store = $T/l/token-b.db\$" "$T/l/qkey-b.conf" || fail "qkey-b.conf: token store"
# the module line names the provider of this build tree when it is built
if [[ -f $QKEY_BUILD/lib/ossl-modules/qkey.so ]]; then
  mod=$(realpath "$QKEY_BUILD/lib/ossl-modules/qkey.so")
  grep -q "^module = $mod\$" "$T/l/sae-a.cnf" || fail "module is not $mod: $(grep ^module "$T/l/sae-a.cnf")"
fi
# QKEY_PROVIDER_MODULE overrides the lookup
QKEY_PROVIDER_MODULE=/opt/elsewhere/qkey.so "$QKEY" sim init "$T/m" >/dev/null 2>&1 || fail "sim init with override"
grep -q "^module = /opt/elsewhere/qkey.so\$" "$T/m/sae-b.cnf" || fail "QKEY_PROVIDER_MODULE ignored"
ok "sim init writes four complete files with absolute paths"

# an existing link is refused without --force (exit 1, saying how), replaced with it
touch "$T/l/link/marker"
if "$QKEY" sim init "$T/l" >"$T/o" 2>&1; then fail "sim init replaced an existing link"; fi
grep -q -- "--force" "$T/o" || fail "refusal does not mention --force: $(cat "$T/o")"
[[ -f $T/l/link/marker ]] || fail "refused run touched the link"
"$QKEY" sim init --force "$T/l" >/dev/null 2>&1 || fail "sim init --force"
[[ ! -e $T/l/link/marker ]] || fail "--force kept the old link's state"
ok "existing link refused without --force, replaced with it"

# --owner gives the link and its key store to a server's user (needs root to chown)
if [[ $(id -u) == 0 ]] && id nobody >/dev/null 2>&1; then
  out=$("$QKEY" sim init --owner nobody "$T/owned" 2>&1) || fail "sim init --owner nobody: $out"
  [[ $(stat -c %U:%a "$T/owned/link") == nobody:700 ]] || fail "link: $(stat -c %U:%a "$T/owned/link")"
  [[ $(stat -c %U:%a "$T/owned/link/keys.qsl") == nobody:600 ]] ||
    fail "key store: $(stat -c %U:%a "$T/owned/link/keys.qsl" 2>&1)"
  ok "--owner gives the link directory and its key store to the user"
fi

# command-line errors: exit code 2 and a usage line
set +e
"$QKEY" sim init >/dev/null 2>&1; [[ $? == 2 ]] || fail "sim init without DIR: not exit 2"
"$QKEY" sim init a b >/dev/null 2>&1; [[ $? == 2 ]] || fail "two dirs: not exit 2"
"$QKEY" sim frob d >/dev/null 2>&1; [[ $? == 2 ]] || fail "sim frob: not exit 2"
"$QKEY" nosuch >/dev/null 2>&1; [[ $? == 2 ]] || fail "unknown command: not exit 2"
"$QKEY" sim init "$T/bad\$x" >/dev/null 2>&1; [[ $? == 1 ]] || fail "a \$ in DIR was accepted"
set -e
"$QKEY" --help | grep -q "usage: qkey" || fail "--help"
"$QKEY" sim --help | grep -q "qkey sim init" || fail "sim --help"
ok "usage errors exit 2"
