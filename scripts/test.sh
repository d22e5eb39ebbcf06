#!/bin/bash
# The whole test suite, as CI runs it (.ci/run): installs what is missing (scripts/deps.sh),
# builds a Release tree and an ASan/UBSan tree, and runs every CUnit suite, fuzz-corpus replay
# and integration test (real openssl, nginx, curl, pkcs11-tool, p11tool, rngtest: the project's
# equivalents of the acceptance checks) under ctest in both. The sanitizer run skips only tests
# labelled "noasan". Build logs go to _build/*.log; the output ends with ctest's summary.
# Each stage also builds the Debian packages and checks them with lintian (scripts/packages.sh).
# Then it runs the same again on Debian 13 (OpenSSL 3.5) in a root made by debootstrap
# (scripts/test-debian13.sh), and installs each release's packages into a fresh root of that
# release and runs the main job against them (scripts/test-packages.sh).
# Exit code: 0 when everything passed on both.
#   scripts/test.sh             native stage, then the Debian 13 stage
#   scripts/test.sh --native    this machine only
#   scripts/test.sh --debian13  the Debian 13 stage only
set -euo pipefail
cd "$(dirname "$0")/.."
stage=both
case ${1:-} in
  --native) stage=native ;;
  --debian13) stage=debian13 ;;
  "") ;;
  -h | --help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "usage: scripts/test.sh [--native | --debian13]" >&2; exit 2 ;;
esac
if [[ $stage == debian13 ]]; then
  exec scripts/test-debian13.sh
fi
if [[ $stage == both ]]; then
  t0=$SECONDS
  native=0
  "$0" --native || native=$?
  if ((native == 0)); then
    here=$(. /etc/os-release && echo "$VERSION_CODENAME")
    scripts/test-packages.sh "$here" _build/debs || native=$?
  fi
  echo "== native stage: $( ((native == 0)) && echo passed || echo FAILED) in $((SECONDS - t0)) s"
  t1=$SECONDS
  deb13=0
  scripts/test-debian13.sh || deb13=$?
  if ((deb13 == 0)); then
    scripts/test-packages.sh trixie _build/deb13/debs || deb13=$?
  fi
  echo "== Debian 13 stage: $( ((deb13 == 0)) && echo passed || echo FAILED) in $((SECONDS - t1)) s"
  echo "== native: $( ((native == 0)) && echo passed || echo FAILED);" \
       "Debian 13: $( ((deb13 == 0)) && echo passed || echo FAILED); $((SECONDS - t0)) s in all"
  ((native == 0 && deb13 == 0))
  exit
fi
scripts/deps.sh
jobs=$(nproc)
((jobs > 2)) && jobs=2 # the budget (20 min) is set for 2 cores; more parallel tests only contend
start=$SECONDS
B=${QKEY_BUILD_DIR:-_build} # the Debian 13 stage builds in _build/deb13, beside the native trees
mkdir -p "$B"

build() { # $1 dir, rest: cmake args
  local d=$1
  shift
  echo "== building $d ($*)"
  if ! { cmake -S . -B "$d" -DQKEY_WERROR=ON -DQKEY_TESTS=ON "$@" &&
         cmake --build "$d" -j"$jobs"; } >"$d.log" 2>&1; then
    grep -E "error|Error" "$d.log" | head -20
    tail -20 "$d.log"
    echo "build of $d failed (log: $d.log)"
    exit 1
  fi
}
run() { # $1 dir, rest: ctest args
  local d=$1
  shift
  echo "== testing $d"
  (cd "$d" && ctest --output-on-failure --timeout 300 -j"$jobs" "$@")
}

build "$B/release" -DCMAKE_BUILD_TYPE=Release
build "$B/asan" -DCMAKE_BUILD_TYPE=Debug -DQKEY_SANITIZE=ON
rel=0
run "$B/release" || rel=$?
# Run the sanitizer tree even when Release failed, so one run shows every failure; its summary
# is the last thing printed, preceded by a line naming a Release failure if there was one.
asan=0
if ((rel != 0)); then
  echo "== (Release tests FAILED above; ASan/UBSan run follows) after $((SECONDS - start)) s"
else
  echo "== Release tests passed after $((SECONDS - start)) s"
fi
run "$B/asan" -LE noasan || asan=$?
pkg=0
scripts/packages.sh "$B/debs" || pkg=$?
((rel == 0 && asan == 0 && pkg == 0))
