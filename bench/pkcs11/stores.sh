#!/bin/bash
# The token on its two stores against SoftHSM2, one run: starts a real PostgreSQL server (the
# test suite's pg.sh: initdb in a temporary directory, loopback port) and runs bench_pkcs11 with
# QKEY_BENCH_PG pointing at it. usage: bench/pkcs11/stores.sh BUILD_DIR [SECONDS_PER_CASE]
set -euo pipefail
B=$(cd "${1:?usage: stores.sh BUILD_DIR [SECONDS]}" && pwd)
secs=${2:-2}
T=$(mktemp -d)
source "$(dirname "$0")/../../test/integration/pkcs11/pg.sh"
trap 'pg_stop; rm -rf "$T"' EXIT
pg_start "$T/pg"
pg_createdb qkey_bench
QKEY_BENCH_PG=$(pg_uri qkey_bench) "$B/bin/bench_pkcs11" "$secs"
