#!/bin/bash
# The PKCS#11 token through qkeyd: with qkd.driver = agent and rng.source = agent in its config,
# the token makes a QKD key on site A (CKM_QKEY_QKD_KEY_NEW), site B gets it by ID through its
# own agent and decrypts A's message (PyKCS11, test/integration/pkcs11/qkd_pair.py), a second
# fetch is refused, and C_GenerateRandom draws from the agent (the counters show whose bytes).
# Usage: token.sh BIN_DIR PKCS11_MODULE
BIN=$1 MOD=$2
source "$(dirname "$0")/lib.sh"
command -v pkcs11-tool >/dev/null && /usr/bin/python3 -c "import PyKCS11" 2>/dev/null || { echo "SKIP: pkcs11-tool or PyKCS11 missing"; exit 77; }
[[ ${QKEY_SANITIZE:-OFF} == ON ]] && { echo "SKIP: the token tests of test/integration/pkcs11 cover the sanitizer build"; exit 77; }
py=$(dirname "$0")/../pkcs11/qkd_pair.py
link_init
for s in a b; do
  agent_conf $s
  printf '[token]\nstore = %s\nlabel = qk%s\n' "$T/token-$s.db" $s >>"$T/client-$s.conf"
  agent_start $s
done
grep -qE "sim_link|^source = sim" "$T/client-a.conf" && fail "the token's config names the link or the RNG"
for s in a b; do
  QKEY_CONF=$T/client-$s.conf pkcs11-tool --module "$MOD" --slot-index 0 --init-token --label qk$s --so-pin 12345678 >"$T/init-$s.log" 2>&1 &&
    QKEY_CONF=$T/client-$s.conf pkcs11-tool --module "$MOD" --token-label qk$s --login --login-type so \
      --so-pin 12345678 --init-pin --pin 123456 >>"$T/init-$s.log" 2>&1 || fail "token $s: $(tail -2 "$T/init-$s.log")"
done
read -r kid iv ct < <(QKEY_CONF=$T/client-a.conf /usr/bin/python3 "$py" "$MOD" new SAE_B 2>"$T/a.err") || true
pt=$(QKEY_CONF=$T/client-b.conf /usr/bin/python3 "$py" "$MOD" get SAE_A "${kid:-none}" "${iv:-00}" "${ct:-00}" 2>"$T/b.err")
[[ $pt == "one session, one key" ]] && pass "a QKD key made by token A through agent A decrypts on token B through agent B (key ID $kid)" ||
  fail "token round trip: $(tail -1 "$T/a.err") / $(tail -1 "$T/b.err")"
QKEY_CONF=$T/client-b.conf /usr/bin/python3 "$py" "$MOD" get SAE_A "${kid:-none}" "${iv:-00}" "${ct:-00}" >/dev/null 2>"$T/b2.err" &&
  fail "the same key ID was delivered twice" || pass "a second fetch by the token is refused"
grep -q " new SAE_B $kid$" "$T/journal-a" && grep -q " get SAE_A $kid$" "$T/journal-b" &&
  pass "the agents' journals show the key made at A and fetched at B" || fail "journals: $(cat "$T/journal-a" "$T/journal-b")"
before=$(agent_status a "[u['random_bytes'] for u in st['agent']['users'] if u['user'] == 'root'][0]")
n=$(QKEY_CONF=$T/client-a.conf pkcs11-tool --module "$MOD" --slot-index 0 --generate-random 64 2>/dev/null | wc -c)
after=$(agent_status a "[u['random_bytes'] for u in st['agent']['users'] if u['user'] == 'root'][0]")
[[ $n == 64 && $after -gt $before ]] && pass "C_GenerateRandom through the agent (agent A served $((after - before)) random bytes to root for it)" ||
  fail "C_GenerateRandom: $n bytes, agent random bytes $before -> $after"
# the token asks the agent for the RNG's state on every C_GenerateRandom: with the agent gone it
# fails closed, and once the agent is back the same configuration works again
agent_stop a
QKEY_CONF=$T/client-a.conf pkcs11-tool --module "$MOD" --slot-index 0 --generate-random 16 >/dev/null 2>&1 &&
  fail "C_GenerateRandom without the agent" || pass "C_GenerateRandom fails closed while the agent is down"
agent_start a
n=$(QKEY_CONF=$T/client-a.conf pkcs11-tool --module "$MOD" --slot-index 0 --generate-random 16 2>/dev/null | wc -c)
[[ $n == 16 ]] && pass "C_GenerateRandom works again once the agent is back" || fail "after the agent's restart: $n bytes"
finish
