#!/bin/bash
# Two processes, one simulated QKD link: site A makes a QKD key for SAE_B through the token and
# passes only the key ID; site B gets the same key by ID and decrypts A's AES-GCM message; a
# second GET of that ID is refused, and a bad template burns no key.
source "$(dirname "$0")/lib.sh"
py="$(dirname "$0")/qkd_pair.py"
init_token a qka
init_token b qkb
A() { QKEY_CONF=$T/qkey-a.conf run /usr/bin/python3 "$py" "$MOD" "$@"; }
B() { QKEY_CONF=$T/qkey-b.conf run /usr/bin/python3 "$py" "$MOD" "$@"; }

[[ $(A badlen SAE_B 2>&1) == CKR_TEMPLATE_INCONSISTENT ]] || fail "VALUE_LEN > QKD key length"
read -r kid iv ct < <(A new SAE_B 2>"$T/a.err") || true
[[ -n ${ct:-} ]] || fail "KEY_NEW: $(tail -1 "$T/a.err")"
[[ $kid =~ ^[0-9a-f-]{36}$ ]] || fail "key ID $kid is not a UUID"
pt=$(B get SAE_A "$kid" "$iv" "$ct" 2>"$T/b.err")
[[ $pt == "one session, one key" ]] || fail "KEY_GET/decrypt: $(tail -1 "$T/b.err")"
B get SAE_A "$kid" "$iv" "$ct" >/dev/null 2>"$T/b2.err" && fail "the same key ID was delivered twice"
grep -q CKR_ATTRIBUTE_VALUE_INVALID "$T/b2.err" || fail "replay: $(tail -1 "$T/b2.err")"
# A peer outside qkd.peers gets nothing.
A new SAE_C >/dev/null 2>"$T/c.err" && fail "a key for a peer not in qkd.peers"
echo "QKD key $kid shared through the token; replay and foreign peers refused"
