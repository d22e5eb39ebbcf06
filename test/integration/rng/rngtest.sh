#!/bin/bash
# FIPS 140-2 battery (rng-tools5 rngtest) on 2.5 MB of pipeline output per source: 1,000 blocks
# of 20,000 bits; at most 3 failures (a good source fails ~0.8 blocks in 1,000 by chance).
# Usage: rngtest.sh PATH/TO/rng_dump
set -uo pipefail
dump=$1
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
status=0
for src in sim; do
  if ! "$dump" 2500000 rng.source=$src > "$T/$src.bin" 2> "$T/$src.err"; then
    echo "$src: rng_dump failed: $(cat "$T/$src.err")"; status=1; continue
  fi
  f=$(rngtest -c 1000 < "$T/$src.bin" 2>&1 | sed -n 's/.*FIPS 140-2 failures: \([0-9]*\).*/\1/p')
  echo "$src: $f FIPS 140-2 failures in 1000 blocks"
  [[ -n $f && $f -le 3 ]] || status=1
done
exit $status
