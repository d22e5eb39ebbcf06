#!/bin/bash
# The whole test suite: installs dependencies, builds a Release tree and an ASan/UBSan tree,
# runs every CUnit suite, fuzz-corpus replay and integration test under ctest in both.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
jobs=$(nproc)
build() { # $1 dir, rest: cmake args
  local d=$1; shift
  cmake -S . -B "$d" -DQKEY_WERROR=ON "$@" >/dev/null
  cmake --build "$d" -j"$jobs" >"$d.log" 2>&1 || { tail -40 "$d.log"; exit 1; }
}
build _build/release -DCMAKE_BUILD_TYPE=Release
(cd _build/release && ctest --output-on-failure -j"$jobs")
build _build/asan -DCMAKE_BUILD_TYPE=Debug -DQKEY_SANITIZE=ON
(cd _build/asan && ctest --output-on-failure -j"$jobs" -LE noasan)
