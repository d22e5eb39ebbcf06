#!/bin/bash
# `qkey rand N`: exactly N bytes from the sim and diqrng-sim sources, not all equal; on a stuck
# source (a file of zeros) it fails closed with the health test's reason and exit code 1; the
# output of both simulated sources passes FIPS 140-2 (rngtest) like the acceptance check.
source "$(dirname "$0")/lib.sh"
"$QKEY" sim init "$T/l" >/dev/null 2>&1 || fail "sim init"
conf() { # $1 source -> a qkey.conf for SAE_A with that rng.source
  sed -E "s|^([[:space:]]*source[[:space:]]*=).*|\1 $1|" "$T/l/qkey-a.conf" >"$T/q-$2.conf"
}
sources=${QKEY_RNG_SOURCES:-sim diqrng-sim}
for src in $sources; do conf "$src" "$src"; done

for n in 1 1000 65536 65537 200000; do
  sz=$(QKEY_CONF=$T/q-sim.conf "$QKEY" rand $n | wc -c)
  [[ $sz == "$n" ]] || fail "rand $n gave $sz bytes"
done
sz=$(QKEY_CONF=$T/q-sim.conf "$QKEY" rand 4k | wc -c); [[ $sz == 4096 ]] || fail "rand 4k gave $sz"
a=$(QKEY_CONF=$T/q-sim.conf "$QKEY" rand 32 | od -An -tx1 | tr -d ' \n')
b=$(QKEY_CONF=$T/q-sim.conf "$QKEY" rand 32 | od -An -tx1 | tr -d ' \n')
[[ $a != "$b" && $a != 0000000000000000000000000000000000000000000000000000000000000000 ]] || fail "rand repeats itself"
ok "rand gives exactly N bytes, in and across chunks"

# fail closed on a stuck source
head -c 4000000 /dev/zero >"$T/zeros"
conf "device:$T/zeros" stuck
set +e
QKEY_CONF=$T/q-stuck.conf "$QKEY" rand 1000 >"$T/stuck.out" 2>"$T/stuck.err"; rc=$?
set -e
[[ $rc == 1 ]] || fail "stuck source: exit $rc"
[[ ! -s $T/stuck.out ]] || fail "stuck source: $(wc -c <"$T/stuck.out") bytes came out"
grep -qi "health\|stuck\|repetition" "$T/stuck.err" || fail "stuck source: no health reason: $(cat "$T/stuck.err")"
ok "stuck source refused: $(head -1 "$T/stuck.err" | cut -c1-120)"

# FIPS 140-2 on the simulated sources (rng-tools5 rngtest: 1000 blocks of 20,000 bits)
if command -v rngtest >/dev/null; then
  # the sanitizer build runs the pipeline ~20x slower: a tenth of the blocks there
  blocks=1000; [[ ${QKEY_SANITIZE:-0} == 1 ]] && blocks=100
  for src in $sources; do
    QKEY_CONF=$T/q-$src.conf timeout 120 "$QKEY" rand $((blocks * 2500)) >"$T/$src.bin" 2>"$T/$src.err" || fail "$src: $(tail -1 "$T/$src.err")"
    f=$( (rngtest -c $blocks <"$T/$src.bin" 2>&1 || true) | sed -n 's/.*FIPS 140-2 failures: \([0-9]*\).*/\1/p')
    # an ideal source fails ~0.08% of FIPS 140-2 blocks (Poisson, mean 0.8 per 1000): allowing
    # 6 per 1000 (3 per 100) makes a false alarm ~1e-5, while a biased source fails hundreds
    limit=$((blocks >= 1000 ? 6 : 3))
    [[ -n $f && $f -le $limit ]] || fail "$src: rngtest failures: ${f:-none reported} (limit $limit)"
    ok "$src: $((blocks * 2500)) bytes, $f FIPS 140-2 failures in $blocks blocks of 20,000 bits"
  done
else
  fail "rngtest (rng-tools5) is not installed: run scripts/deps.sh"
fi
