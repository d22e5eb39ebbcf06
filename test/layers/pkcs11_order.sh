#!/bin/bash
# The token's file order (the QKT-FILE-ORDER lines of pkcs11/internal.h) holds: every object of
# libqkey-pkcs11 is listed there, and no object uses a symbol defined by one listed after it.
#   pkcs11_order.sh INTERNAL_H OBJECT...
set -euo pipefail
hdr=$1
shift
order=$(sed -n 's/^ \*  *QKT-FILE-ORDER: //p' "$hdr" | tr ' ' '\n' | sed '/^$/d')
[[ -n $order ]] || { echo "no QKT-FILE-ORDER lines in $hdr" >&2; exit 1; }
declare -A obj=()
for o in "$@"; do
  b=$(basename "$o")
  obj[${b%.c.o}]=$o
done
args=()
for f in $order; do
  [[ -n ${obj[$f]:-} ]] || { echo "QKT-FILE-ORDER names $f, which is not an object of the token" >&2; exit 1; }
  args+=("$f=${obj[$f]}")
  unset "obj[$f]"
done
if ((${#obj[@]})); then
  echo "not in QKT-FILE-ORDER (add each to pkcs11/internal.h): ${!obj[*]}" >&2
  exit 1
fi
exec bash "$(dirname "$0")/check_layers.sh" "${args[@]}"
