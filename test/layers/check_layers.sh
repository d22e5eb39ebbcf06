#!/bin/bash
# No call runs upward: given static libraries from the bottom layer to the top
# (`check_layers.sh NAME=ARCHIVE ...`), every symbol an object of one layer uses but does not
# define must come from its own layer, a lower one or outside the project, never from a layer
# listed after it. Prints each offending use (layer, object, symbol, where it is defined).
set -euo pipefail
names=() archives=()
for a in "$@"; do
  names+=("${a%%=*}")
  archives+=("${a#*=}")
done
((${#names[@]} >= 2)) || { echo "usage: check_layers.sh NAME=ARCHIVE NAME=ARCHIVE..." >&2; exit 2; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
for i in "${!archives[@]}"; do
  [[ -f ${archives[i]} ]] || { echo "no archive ${archives[i]}" >&2; exit 2; }
  # defined: "SYMBOL"; used: "OBJECT SYMBOL" (nm -A prints archive:object: lines)
  nm -g --defined-only "${archives[i]}" 2>/dev/null | awk 'NF == 3 {print $3}' | sort -u >"$T/def.$i"
  nm -A -g --undefined-only "${archives[i]}" 2>/dev/null |
    awk '{n = split($1, p, ":"); print p[n - 1], $NF}' | sort -u >"$T/use.$i"
done
bad=0
for i in "${!archives[@]}"; do
  for ((j = i + 1; j < ${#archives[@]}; j++)); do
    while read -r obj sym; do
      echo "upward call: ${names[i]} ($obj) uses $sym, defined in ${names[j]}"
      bad=1
    done < <(awk 'NR == FNR {d[$1] = 1; next} ($2 in d)' "$T/def.$j" "$T/use.$i")
  done
  echo "${names[i]}: $(wc -l <"$T/def.$i") symbols defined, $(wc -l <"$T/use.$i") uses checked"
done
((bad == 0)) && echo "layers ${names[*]}: no call runs upward"
exit $bad
