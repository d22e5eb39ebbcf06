#!/bin/bash
# `qkey status`: the key source's JSON; for an openssl.cnf, the proof that OpenSSL loads qkey,
# reseeds from QRNG and offers the QKD group; and exit code 3 with a clear message on each way
# that proof can fail (provider missing -> group silently dropped, no QRNG seed, stuck source).
source "$(dirname "$0")/lib.sh"
"$QKEY" sim init "$T/l" >/dev/null 2>&1 || fail "sim init"
json_get() { python3 -c 'import json,sys; o=json.load(sys.stdin)
for k in sys.argv[1].split("."): o=o[k]
print(json.dumps(o))' "$1"; }

# key source status, raw and pretty
QKEY_CONF=$T/l/qkey-a.conf ext "$QKEY" status --json >"$T/s.json" 2>"$T/s.err" || fail "status --json: $(cat "$T/s.err")"
python3 -c 'import json,sys; o=json.load(open(sys.argv[1])); assert isinstance(o, dict)' "$T/s.json" || fail "status --json is not one JSON object"
[[ $(wc -l <"$T/s.json") == 1 ]] || fail "status --json is not compact"
grep -q '"SAE_A"' "$T/s.json" || fail "status does not name SAE_A: $(cat "$T/s.json")"
QKEY_CONF=$T/l/qkey-a.conf ext "$QKEY" status >"$T/p.txt" 2>&1 || fail "status: $(cat "$T/p.txt")"
[[ $(wc -l <"$T/p.txt") -gt 3 ]] || fail "status is not pretty-printed"
ok "status --json is one object naming SAE_A; plain status is indented"

# the proof on the generated config
ext "$QKEY" status --config "$T/l/sae-a.cnf" >"$T/c.txt" 2>&1 || fail "status --config sae-a.cnf: $(cat "$T/c.txt")"
grep -q "draws from QRNG" "$T/c.txt" || fail "seed chain not proven: $(cat "$T/c.txt")"
first=$(sed -n 's/^Groups = \([^:]*\).*/\1/p' "$T/l/sae-a.cnf") # x25519mlkem768_qkd on OpenSSL 3.5
grep -q "groups offered: *$first" "$T/c.txt" || fail "$first not offered first: $(cat "$T/c.txt")"
OPENSSL_CONF=$T/l/sae-b.cnf ext "$QKEY" status --json >"$T/c.json" 2>"$T/c.err" || fail "OPENSSL_CONF status: $(cat "$T/c.err")"
[[ $(json_get openssl.ok <"$T/c.json") == true ]] || fail "openssl.ok is not true"
[[ $(json_get openssl.seed.qrng_in_chain <"$T/c.json") == true ]] || fail "qrng_in_chain"
before=$(json_get openssl.seed.get_seed_before <"$T/c.json"); after=$(json_get openssl.seed.get_seed_after <"$T/c.json")
(( after > before )) || fail "get_seed counter did not grow ($before -> $after)"
ok "sae-a.cnf/sae-b.cnf: qkey loaded, reseed drew from QRNG ($before -> $after), x25519_qkd offered"

# downgrade: the same config without the qkey provider; OpenSSL silently offers its defaults
sed '/^qkey = qkey_sect$/d' "$T/l/sae-a.cnf" >"$T/nokey.cnf"
set +e
ext "$QKEY" status --config "$T/nokey.cnf" >"$T/d.txt" 2>&1; rc=$?
set -e
[[ $rc == 3 ]] || fail "downgrade: exit $rc: $(cat "$T/d.txt")"
grep -q "DOWNGRADE: \(x25519mlkem768_qkd:\)\?x25519_qkd configured but not offered" "$T/d.txt" || fail "downgrade not named: $(cat "$T/d.txt")"
grep -q "provider qkey: *NOT LOADED" "$T/d.txt" || fail "missing provider not named"
ext "$QKEY" status --json --config "$T/nokey.cnf" >"$T/d.json" 2>/dev/null || true
[[ $(json_get openssl.groups.downgrade <"$T/d.json") == true ]] || fail "json: downgrade not flagged"
ok "downgrade flagged: $(grep DOWNGRADE "$T/d.txt")"

# provider loaded, but OpenSSL not told to seed from QRNG
sed '/^random = random_sect$/d' "$T/l/sae-a.cnf" >"$T/noseed.cnf"
set +e
ext "$QKEY" status --config "$T/noseed.cnf" >"$T/n.txt" 2>&1; rc=$?
set -e
[[ $rc == 3 ]] && grep -q "NOT FROM QRNG" "$T/n.txt" || fail "seed from the OS not flagged (exit $rc): $(cat "$T/n.txt")"
ok "seed not from QRNG flagged"

# a typo in the provider section: OpenSSL hands the provider only keys it asks for by name, so
# the provider never sees the line; status names it
sed 's/^qkd.peers = SAE_B$/qkd.peer = SAE_B/' "$T/l/sae-a.cnf" >"$T/typo.cnf"
set +e
ext "$QKEY" status --config "$T/typo.cnf" >"$T/t.txt" 2>&1; rc=$?
set -e
[[ $rc == 3 ]] && grep -q "qkd.peer = SAE_B.*never sees" "$T/t.txt" || fail "typo not flagged (exit $rc): $(cat "$T/t.txt")"
ok "typo flagged: $(grep -m1 PROBLEM "$T/t.txt" | cut -c1-120)"

# a rejected configuration: the provider loads in a failed state and says why
sed -E "s|^(rng\.source =).*|\1 nonsense|" "$T/l/sae-a.cnf" >"$T/rejected.cnf"
set +e
ext "$QKEY" status --config "$T/rejected.cnf" >"$T/r.txt" 2>&1; rc=$?
set -e
[[ $rc == 3 ]] && grep -q "REJECTED: .*nonsense" "$T/r.txt" || fail "rejected config not flagged (exit $rc): $(cat "$T/r.txt")"
ok "rejected configuration flagged"

# a stuck source: OpenSSL's reseed fails closed, and status says so
head -c 4000000 /dev/zero >"$T/zeros"
sed -E "s|^(rng\.source =).*|\1 device:$T/zeros|" "$T/l/sae-a.cnf" >"$T/stuck.cnf"
set +e
ext "$QKEY" status --config "$T/stuck.cnf" >"$T/x.txt" 2>&1; rc=$?
set -e
[[ $rc == 3 ]] || fail "stuck source: exit $rc: $(cat "$T/x.txt")"
! grep -q "draws from QRNG" "$T/x.txt" || fail "stuck source reported as a working seed chain"
ok "stuck source: $(grep -m1 'DRBG seed chain' "$T/x.txt" | cut -c1-120)"
