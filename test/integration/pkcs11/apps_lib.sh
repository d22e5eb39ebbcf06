# Sourced by the tests of programs that use key pairs kept in a token (OpenSSL's pkcs11 engine,
# nginx, GnuTLS p11tool, PyKCS11). lib.sh's site A set-up, and:
#   QKEY_P11_TARGET=softhsm  the same test against SoftHSM2 (MOD and SOFTHSM2_CONF set here), so
#                            every check is shown to hold on a token users already trust;
#   need PROG...             exit 77 (skipped) when a program the test drives is not installed;
#   p11 ARGS...              pkcs11-tool on the test token, logged in as the user;
#   TOKEN, PIN               the token label and user PIN every test uses.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
export QKEY_CONF=$T/qkey-a.conf
TOKEN=qka
PIN=123456
if [[ ${QKEY_P11_TARGET:-qkey} == softhsm ]]; then
  MOD=/usr/lib/softhsm/libsofthsm2.so
  [[ -f $MOD ]] || { echo "SoftHSM2 not installed: skipped"; exit 77; }
  mkdir -p "$T/softhsm"
  printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
    "$T/softhsm" >"$T/softhsm2.conf"
  export SOFTHSM2_CONF=$T/softhsm2.conf
  # No program loads the ASan-built token here, so none needs libasan preloaded; with it,
  # p11tool hangs at exit on SoftHSM2 (p11-kit's destructor waits in glibc's setlocale lock).
  unset QKEY_P11_PRELOAD
fi
need() {
  local p
  for p; do command -v "$p" >/dev/null || { echo "$p not installed: skipped"; exit 77; }; done
}
need pkcs11-tool
p11() { run pkcs11-tool --module "$MOD" --token-label "$TOKEN" --login --pin "$PIN" "$@"; }
# keypair LABEL ID KEY-TYPE: a key pair made in the token by pkcs11-tool (default template: no
# CKA_EXTRACTABLE given, so the token's default applies and is checked by the caller).
keypair() {
  p11 --keypairgen --key-type "$3" --label "$1" --id "$2" --usage-sign >"$T/kp-$1.log" 2>&1 ||
    { cat "$T/kp-$1.log"; fail "keypairgen $3 $1"; }
}
# never_extractable LABEL: pkcs11-tool -O shows the private key as sensitive and never
# extractable (CKA_EXTRACTABLE false since it was made), as a user checks it.
never_extractable() {
  p11 -O --type privkey --label "$1" >"$T/attr-$1.log" 2>&1 || { cat "$T/attr-$1.log"; fail "-O $1"; }
  grep -q "Access:.*sensitive.*never extractable" "$T/attr-$1.log" ||
    { cat "$T/attr-$1.log"; fail "private key $1 is not sensitive and never extractable"; }
  local access
  access=$(grep "Access:" "$T/attr-$1.log")
  [[ ${access//never extractable/} == *extractable* ]] && fail "private key $1 is extractable: $access"
  return 0
}
