# Sourced by the token's integration tests: a simulated QKD link with two sites in $T, the
# module in $MOD, and run() to start an unmodified program (with libasan preloaded in the
# sanitizer build).
set -u
MOD=${QKEY_P11_MODULE:?QKEY_P11_MODULE names libqkey-pkcs11.so}
T=$(mktemp -d)
source "$(dirname "${BASH_SOURCE[0]}")/pg.sh"
trap 'pg_stop; rm -rf "$T"' EXIT
mkdir -p "$T/link"
# QKEY_STORE_BACKEND=postgresql: each site's token store is a database on a real PostgreSQL
# server started for this test (pg.sh); otherwise a SQLite file.
if [[ ${QKEY_STORE_BACKEND:-sqlite} == postgresql ]]; then
  pg_start "$T/pg"
  pg_createdb qkey_a
  pg_createdb qkey_b
fi
store_of() {
  if [[ -n $PG_PORT ]]; then pg_uri "qkey_$1"; else echo "$T/token-$1.db"; fi
}
for side in a b; do
  me=SAE_$(echo $side | tr ab AB)
  peer=$([[ $side == a ]] && echo SAE_B || echo SAE_A)
  cat >"$T/qkey-$side.conf" <<CONF
[qkd]
driver = sim
sae_id = $me
sim_link = $T/link
peers = $peer
[rng]
source = sim
[token]
store = $(store_of $side)
label = qk$side
CONF
done
run() {
  if [[ -n ${QKEY_P11_PRELOAD:-} ]]; then
    LD_PRELOAD=$QKEY_P11_PRELOAD ASAN_OPTIONS=detect_leaks=0 "$@"
  else
    "$@"
  fi
}
fail() { echo "FAIL: $*"; exit 1; }
# init_token SIDE LABEL: C_InitToken with the SO PIN, then C_InitPIN with the user PIN.
init_token() {
  QKEY_CONF=$T/qkey-$1.conf run pkcs11-tool --module "$MOD" --slot-index 0 --init-token \
    --label "$2" --so-pin 12345678 >"$T/init-$1.log" 2>&1 || { cat "$T/init-$1.log"; fail "init-token $1"; }
  QKEY_CONF=$T/qkey-$1.conf run pkcs11-tool --module "$MOD" --token-label "$2" --login \
    --login-type so --so-pin 12345678 --init-pin --pin 123456 >>"$T/init-$1.log" 2>&1 ||
    { cat "$T/init-$1.log"; fail "init-pin $1"; }
}
