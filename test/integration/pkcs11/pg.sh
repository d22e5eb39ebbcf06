# Sourced by the token's integration tests: a real PostgreSQL server (Debian's postgresql
# package) for the token's shared store, made with initdb in a temporary directory and run as an
# unprivileged user (nobody when the suite runs as root: the server refuses root) on a loopback
# port, with trust authentication because it is reachable only by this machine and lives for
# one test. Sets PG_PORT and PG_DIR; pg_uri DB names a database; pg_stop is called on exit.
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
PG_DIR=""
PG_PORT=""
pg_as() { # run as the server's user
  if ((EUID == 0)); then setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$@"; else "$@"; fi
}
pg_start() { # $1: directory for the cluster (created)
  [[ -n $PG_BIN && -x $PG_BIN/initdb ]] || { echo "SKIP: PostgreSQL server not installed"; exit 77; }
  PG_DIR=$1
  mkdir -p "$PG_DIR"
  chmod 755 "$(dirname "$PG_DIR")"
  ((EUID == 0)) && chown nobody:nogroup "$PG_DIR"
  PG_PORT=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
  pg_as "$PG_BIN/initdb" -D "$PG_DIR/data" -U qkey --auth=trust -E UTF8 --no-instructions \
    >"$PG_DIR/initdb.log" 2>&1 || { cat "$PG_DIR/initdb.log"; echo "FAIL: initdb"; exit 1; }
  pg_up
  # A test killed without running its traps (ctest's timeout) must not leave the server
  # behind: a watchdog in its own session stops it once this shell is gone.
  setsid bash -c 'while kill -0 "$1" 2>/dev/null; do sleep 1; done
    [[ -f $2/data/postmaster.pid ]] &&
      if ((EUID == 0)); then setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$3/pg_ctl" -D "$2/data" -m immediate stop
      else "$3/pg_ctl" -D "$2/data" -m immediate stop; fi' _ $$ "$PG_DIR" "$PG_BIN" \
    >/dev/null 2>&1 </dev/null &
}
pg_up() {
  pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 \
    -o "-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1 -c fsync=on -c synchronous_commit=on" \
    start >/dev/null || { tail -20 "$PG_DIR/server.log"; echo "FAIL: PostgreSQL did not start"; exit 1; }
}
pg_stop() {
  [[ -n $PG_DIR && -f $PG_DIR/data/postmaster.pid ]] &&
    pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate -w stop >/dev/null 2>&1
  true
}
pg_kill9() { # the postmaster dies without a chance to write anything
  local pid
  pid=$(head -1 "$PG_DIR/data/postmaster.pid")
  kill -9 "$pid"
  while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
  # its backends notice and exit; wait for them before restarting on the same directory
  for _ in $(seq 100); do pgrep -u nobody -f "postgres: .*qkey" >/dev/null || break; sleep 0.1; done
}
pg_sql() { # $1 database, $2 SQL: prints the result unaligned
  pg_as "$PG_BIN/psql" -X -q -A -t -h 127.0.0.1 -p "$PG_PORT" -U qkey -d "$1" -c "$2"
}
pg_createdb() { pg_sql postgres "CREATE DATABASE $1" >/dev/null; }
pg_uri() { echo "postgresql://qkey@127.0.0.1:$PG_PORT/$1"; }
