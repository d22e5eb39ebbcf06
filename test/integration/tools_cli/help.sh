#!/bin/bash
# --help and -h on every command and subcommand of qkey, qkey-kme-sim and qkey-inject: usage on
# stdout, exit 0, and nothing created in the working directory; an unknown option or a DIR
# that looks like an option: exit 2, nothing created. The command lists come from each
# program's own usage text, so a new command is covered without editing this test.
# usage: help.sh BIN_DIR
set -u
BIN=$1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0 n=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
check_help() { # PROGRAM ARGS...: --help / -h after ARGS
  local flag out rc
  for flag in --help -h; do
    mkdir "$T/cwd" && cd "$T/cwd" || exit 1
    out=$(timeout 10 "$@" $flag 2>/dev/null)
    rc=$?
    n=$((n + 1))
    [[ $rc == 0 ]] || fail "'$* $flag' exits $rc"
    grep -qi usage <<<"$out" || fail "'$* $flag' prints no usage on stdout"
    [[ -z $(ls -A) ]] || fail "'$* $flag' created: $(ls -A)"
    cd "$T" && rm -rf "$T/cwd"
  done
}
check_usage_error() { # PROGRAM ARGS...
  mkdir "$T/cwd" && cd "$T/cwd" || exit 1
  timeout 10 "$@" >/dev/null 2>&1
  rc=$?
  n=$((n + 1))
  [[ $rc == 2 ]] || fail "'$*' exits $rc, not 2"
  [[ -z $(ls -A) ]] || fail "'$*' created: $(ls -A)"
  cd "$T" && rm -rf "$T/cwd"
}

# qkey: "  sim init DIR ...", "  key new PEER" ... under "commands:"
mapfile -t cmds < <("$BIN/qkey" --help | sed -n '/^commands:/,/^$/p' |
  sed -n 's/^  \([a-z]\+\)\( [a-z]\+\)\?\( .*\)\?$/\1\2/p' | sed 's/ [A-Z].*//' | sort -u)
((${#cmds[@]} >= 5)) || fail "could not read qkey's commands from its usage: ${cmds[*]}"
check_help "$BIN/qkey"
for c in "${cmds[@]}"; do
  # shellcheck disable=SC2086
  check_help "$BIN/qkey" $c
  [[ $c == inject ]] || check_usage_error "$BIN/qkey" $c --no-such-option
done
check_usage_error "$BIN/qkey" sim init --force-typo "$T/x"

# qkey-kme-sim: "qkey-kme-sim init DIR", "qkey-kme-sim run DIR"
mapfile -t subs < <("$BIN/qkey-kme-sim" --help | sed -n 's/^.*qkey-kme-sim \([a-z]\+\) .*$/\1/p' | sort -u)
((${#subs[@]} >= 2)) || fail "could not read qkey-kme-sim's commands: ${subs[*]}"
check_help "$BIN/qkey-kme-sim"
for c in "${subs[@]}"; do
  check_help "$BIN/qkey-kme-sim" "$c"
  check_help "$BIN/qkey-kme-sim" "$c" "$T/never-made"
  check_usage_error "$BIN/qkey-kme-sim" "$c" --force
done
[[ ! -e $T/never-made ]] || fail "a --help run made its DIR"

check_help "$BIN/qkey-inject"
echo "qkey: ${cmds[*]}; qkey-kme-sim: ${subs[*]}; $n runs, $fails failure(s)"
[[ $fails == 0 ]]
