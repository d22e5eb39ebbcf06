#!/bin/bash
# Two token instances (separate processes with separate configs, as two nodes B1 and B2 of site
# B) on one real PostgreSQL server: a QKD key fetched on B1 decrypts on B2, an object destroyed
# on one is gone on the other, a PIN lockout reached through B1 holds on B2; then a kill -9 of
# the server during writes loses nothing committed and duplicates nothing, and the tokens go on
# after its restart; and the database holds no key in clear.
QKEY_STORE_BACKEND=sqlite # site A keeps its own file; site B's nodes share PostgreSQL
source "$(dirname "$0")/lib.sh"
here=$(dirname "$0")
P=(/usr/bin/python3 "$here/pg_nodes.py" "$MOD" qkb 123456)
pg_start "$T/pg"
pg_createdb qkey_b
for n in 1 2; do
  sed "s|^store = .*|store = $(pg_uri qkey_b)|; s|^label = .*|label = qkb|" "$T/qkey-b.conf" >"$T/qkey-b$n.conf"
  echo "max_login_attempts = 3" >>"$T/qkey-b$n.conf"
done
node() { local n=$1; shift; QKEY_CONF=$T/qkey-b$n.conf run "$@"; }

init_token a qka
cp "$T/qkey-b1.conf" "$T/qkey-b.conf"
init_token b qkb # through node 1
node 2 pkcs11-tool --module "$MOD" -L 2>&1 | grep -q "token label *: qkb" || fail "node 2 does not see the token node 1 initialised"

# A QKD key: made on site A, fetched by ID on node B1 into the shared store, used on node B2.
read -r kid iv ct < <(QKEY_CONF=$T/qkey-a.conf run /usr/bin/python3 "$here/../../../scripts/demo_p11.py" "$MOD" qka 123456 new SAE_B) ||
  fail "site A: KEY_NEW"
[[ -n ${ct:-} ]] || fail "site A made no key"
node 1 "${P[@]}" fetch SAE_A "$kid" qkd-shared || fail "node 1: KEY_GET $kid"
pt=$(node 2 "${P[@]}" decrypt qkd-shared "$iv" "$ct") || fail "node 2: decrypt"
[[ $pt == "one session, one key" ]] || fail "node 2 decrypted '$pt'"
echo "ok: QKD key $kid fetched on node 1 decrypts on node 2"
node 2 "${P[@]}" fetch SAE_A "$kid" again 2>/dev/null && fail "node 2 fetched key $kid a second time"
echo "ok: the same key ID is refused on node 2 (delivered once)"

node 1 "${P[@]}" destroy qkd-shared || fail "node 1: destroy"
[[ $(node 2 "${P[@]}" count qkd-shared) == 0 ]] || fail "node 2 still sees the object node 1 destroyed"
echo "ok: an object destroyed on node 1 is gone on node 2"

for i in 1 2 3; do
  r=$(node 1 "${P[@]}" login 999999)
  [[ $r == CKR_PIN_INCORRECT ]] || fail "wrong PIN $i on node 1: $r"
done
r=$(node 2 "${P[@]}" login 123456)
[[ $r == CKR_PIN_LOCKED ]] || fail "after 3 wrong PINs on node 1, the right PIN on node 2 gave $r"
echo "ok: the PIN lockout reached through node 1 holds on node 2"
# unlock for what follows: the SO sets a new user PIN
QKEY_CONF=$T/qkey-b1.conf run pkcs11-tool --module "$MOD" --token-label qkb --login --login-type so \
  --so-pin 12345678 --init-pin --pin 123456 >/dev/null 2>&1 || fail "SO could not reset the user PIN"

# kill -9 of the server while node 1 writes; restart; node 2 then counts what node 1 was told.
QKEY_PKCS11_DEBUG=1 node 1 "${P[@]}" writer w "$T/stop" >"$T/writer.log" 2>&1 &
wp=$!
for _ in $(seq 200); do (($(grep -c "^ok" "$T/writer.log") >= 20)) && break; sleep 0.05; done
pg_kill9
sleep 1
pg_up
# the same process must write again: wait (up to 60 s) for 10 successes after the last failure
for _ in $(seq 600); do
  last_err=$(grep -n "^err" "$T/writer.log" | tail -1 | cut -d: -f1)
  [[ -n $last_err ]] && (($(tail -n +"$((last_err + 1))" "$T/writer.log" | grep -c "^ok") >= 10)) && break
  sleep 0.1
done
touch "$T/stop"
wait $wp
oks=$(grep -c "^ok" "$T/writer.log")
errs=$(grep -c "^err" "$T/writer.log")
last_err=$(grep -n "^err" "$T/writer.log" | tail -1 | cut -d: -f1)
((errs > 0)) || fail "no write failed while the server was down (kill -9 missed?)"
tail -n +"$((last_err + 1))" "$T/writer.log" | grep -q "^ok" ||
  { grep -v "^ok" "$T/writer.log" | head -8; tail -3 "$T/writer.log"; fail "node 1 did not recover after the restart"; }
rows=$(pg_sql qkey_b "SELECT count(*) FROM qkey_objects")
# node 2 lists what the store holds, through its own token
node 2 "${P[@]}" labels >"$T/labels" || fail "node 2 cannot read the store after the restart"
missing=$(grep "^ok" "$T/writer.log" | cut -d' ' -f2 | sort | comm -23 - <(sort -u "$T/labels") | wc -l)
dup=$(sort "$T/labels" | uniq -d | wc -l)
((missing == 0)) || fail "$missing objects node 1 was told were created are gone after kill -9"
((dup == 0)) || fail "$dup objects stored twice after kill -9"
echo "ok: kill -9 of PostgreSQL during writes: $oks committed (all present, none twice), $errs refused with an error, node 1 recovered; $rows rows"

# No key in clear: a sensitive key with a known value, a checkpoint, then every file of the
# cluster (tables, indexes, WAL) is searched for it. The label, stored in clear, is found.
kv=$(python3 -c 'print(bytes(range(0x41, 0x61)).hex())')
node 1 "${P[@]}" create clear-scan-label "$kv" || fail "create a key with a known value"
pg_sql qkey_b "CHECKPOINT" >/dev/null
python3 - "$PG_DIR/data" "$kv" <<'PY' || fail "a key value is in the database in clear"
import os, sys
root, key = sys.argv[1], bytes.fromhex(sys.argv[2])
found_key = found_label = False
for d, _, files in os.walk(root):
    for f in files:
        try:
            data = open(os.path.join(d, f), "rb").read()
        except OSError:
            continue
        found_key |= key in data or key.hex().encode() in data
        found_label |= b"clear-scan-label" in data
if not found_label:
    sys.exit("the scan did not find the label either: it cannot be trusted")
if found_key:
    sys.exit("key bytes found")
print("ok: the key value is nowhere in the cluster's files (its label, stored in clear, is)")
PY
echo "two nodes on PostgreSQL: shared QKD key, destruction, lockout, kill -9 recovery, no key in clear"
