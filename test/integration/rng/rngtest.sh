#!/bin/bash
# FIPS 140-2 battery (rng-tools5 rngtest) on 2.5 MB of pipeline output per source: 1,000 blocks
# of 20,000 bits. A good source fails ~0.8 blocks in 1,000 by chance (Poisson): the acceptance
# check allows 3 per source (P[>3] ~ 1%); with three sources per run this test allows 5
# (P[>5] ~ 2e-4 per source) so that it does not fail one CI run in 30 by chance.
# Usage: rngtest.sh PATH/TO/rng_dump [CASE...]   (cases: sim, sim+toeplitz, diqrng-sim)
set -uo pipefail
dump=$1
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
status=0
# sources: the simulated QRNG and the simulated DIQRNG (sim + Toeplitz ends in SHA-256 like sim,
# and its output path is covered by the unit suite: `rngtest.sh DUMP sim+toeplitz` runs it too)
cases=("${@:2}"); ((${#cases[@]})) || cases=(sim diqrng-sim)
for case in "${cases[@]}"; do
  src=${case%+*}; args=(rng.source=$src)
  [[ $case == *+toeplitz ]] && args+=(rng.extractor=toeplitz)
  if ! "$dump" 2500000 "${args[@]}" > "$T/$src.bin" 2> "$T/$src.err"; then
    echo "$case: rng_dump failed: $(cat "$T/$src.err")"; status=1; continue
  fi
  f=$(rngtest -c 1000 < "$T/$src.bin" 2>&1 | sed -n 's/.*FIPS 140-2 failures: \([0-9]*\).*/\1/p')
  echo "$case: $f FIPS 140-2 failures in 1000 blocks"
  [[ -n $f && $f -le 5 ]] || status=1
done
exit $status
