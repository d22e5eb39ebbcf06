#!/bin/bash
# The whole test suite, as CI runs it (.ci/run): installs what is missing (scripts/deps.sh),
# builds a Release tree and an ASan/UBSan tree, and runs every CUnit suite, fuzz-corpus replay
# and integration test (real openssl, nginx, curl, pkcs11-tool, p11tool, rngtest: the project's
# equivalents of the acceptance checks) under ctest in both. The sanitizer run skips only tests
# labelled "noasan". Build logs go to _build/*.log; the output ends with ctest's summary.
# Exit code: 0 when everything passed.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
jobs=$(nproc)
((jobs > 2)) && jobs=2 # the budget (20 min) is set for 2 cores; more parallel tests only contend
start=$SECONDS
mkdir -p _build

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

build _build/release -DCMAKE_BUILD_TYPE=Release
build _build/asan -DCMAKE_BUILD_TYPE=Debug -DQKEY_SANITIZE=ON
rel=0
run _build/release || rel=$?
# Run the sanitizer tree even when Release failed, so one run shows every failure; its summary
# is the last thing printed, preceded by a line naming a Release failure if there was one.
asan=0
if ((rel != 0)); then
  echo "== (Release tests FAILED above; ASan/UBSan run follows) after $((SECONDS - start)) s"
else
  echo "== Release tests passed after $((SECONDS - start)) s"
fi
run _build/asan -LE noasan || asan=$?
((rel == 0 && asan == 0))
