# Sourced by the tools integration tests. ctest sets QKEY_BUILD (the build tree, which mirrors
# the install tree: bin/, lib/ossl-modules/, lib/pkcs11/) and QKEY_SANITIZE (1 in the ASan build).
set -euo pipefail
: "${QKEY_BUILD:?run me from ctest (QKEY_BUILD unset)}"
QKEY=$QKEY_BUILD/bin/qkey
T=$(mktemp -d /tmp/qkey-itest.XXXXXX)
cleanup() { local p; for p in $(jobs -p); do kill "$p" 2>/dev/null || true; done; rm -rf "$T"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }

# Unmodified programs (openssl, python3) that load an ASan-built provider or token need the
# sanitizer runtime first in the process: preload it, and leave leak checks to our own tests.
if [[ ${QKEY_SANITIZE:-0} == 1 || ${QKEY_SANITIZE:-} == ON ]]; then
  ASAN_LIB=$(${CC:-cc} -print-file-name=libasan.so)
  ext() { LD_PRELOAD=$ASAN_LIB ASAN_OPTIONS=detect_leaks=0:${ASAN_OPTIONS:-} "$@"; }
else
  ext() { "$@"; }
fi

freeport() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
servercert() { openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
  -subj /CN=localhost -keyout "$1/srv.key" -out "$1/srv.pem" >/dev/null 2>&1; }
