#!/bin/bash
# The man pages (scdoc sources next to the code, rendered into $QKEY_BUILD/man) agree with --help:
# every subcommand that `qkey --help` lists, and every option that any command's --help names,
# appears in the rendered page, as `man` shows it to a user.
source "$(dirname "$0")/lib.sh"
command -v man >/dev/null || fail "man (man-db) is not installed"
M=$QKEY_BUILD/man
render() { MANWIDTH=200 man -l "$M/$1" 2>/dev/null | sed "s/.\x08//g"; }
for p in qkey.1 qkey-inject.1 qkey-kme-sim.1 qkey.conf.5; do
  [[ -s $M/$p ]] || fail "man page $p was not built (scdoc missing?)"
  [[ -s $M/$p.gz ]] || fail "man page $p.gz (what is installed) was not built"
done
render qkey.1 >"$T/qkey.man"
# subcommands: the lines under "commands:" in qkey --help ("  sim init DIR ...", "  status ...")
"$QKEY" --help >"$T/help.txt"
cmds=$(sed -n '/^commands:/,/^$/p' "$T/help.txt" | sed -n 's/^  \([a-z][a-z]*\( [a-z][a-z]*\)\{0,1\}\) .*/\1/p' |
       sed 's/ [A-Z].*//; s/ \(DIR\|PEER\|N\|ARGS\).*//')
n=0
while read -r c; do
  [[ -n $c ]] || continue
  grep -q "^ *$c\b" "$T/qkey.man" || fail "qkey --help lists '$c' but man qkey has no entry for it"
  n=$((n + 1))
done <<<"$cmds"
((n >= 6)) || fail "found only $n subcommands in qkey --help (the parser above is out of date)"
ok "man qkey has all $n subcommands of qkey --help: $(tr '\n' ',' <<<"$cmds")"

# options: every --option in each command's --help is in its page
check_opts() { # $1 page, rest: command whose --help to read
  local page=$1 o opts
  shift
  render "$page" >"$T/page.man"
  opts=$("$@" --help 2>&1 | grep -o -- '--[a-z][a-z-]*' | sort -u)
  for o in $opts; do
    grep -q -- "$o" "$T/page.man" || fail "'$* --help' names $o but man ${page%.*} does not"
  done
  ok "man ${page%.*}: every option of '$* --help' ($(tr '\n' ' ' <<<"$opts"))"
}
check_opts qkey.1 "$QKEY"
for sub in "sim init" status "key new" rand; do
  # shellcheck disable=SC2086
  check_opts qkey.1 "$QKEY" $sub
done
check_opts qkey-inject.1 "$QKEY_BUILD/bin/qkey-inject"
if [[ -x $QKEY_BUILD/bin/qkey-kme-sim ]]; then
  check_opts qkey-kme-sim.1 "$QKEY_BUILD/bin/qkey-kme-sim"
fi
