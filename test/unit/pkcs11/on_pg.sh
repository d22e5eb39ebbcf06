#!/bin/bash
# Runs a token test program with its store on a real PostgreSQL server (started here, as the
# integration tests do): on_pg.sh PROGRAM ARGS...
set -euo pipefail
T=$(mktemp -d)
source "$(dirname "$0")/../../integration/pkcs11/pg.sh"
trap 'pg_stop; rm -rf "$T"' EXIT
pg_start "$T/pg"
pg_createdb qkey_unit
QKEY_P11_STORE=$(pg_uri qkey_unit) "$@"
