#!/bin/bash
# A short dieharder subset on the sim pipeline's output, streamed (generator 200, stdin_input_raw,
# so no file is rewound and no data reused): birthdays, STS monobit and STS runs, 20 p-samples
# each (about 10 s on an idle core). A WEAK result (p outside [0.005, 0.995], 1% of runs of a
# perfect source) is resolved the way dieharder itself recommends, with -Y 1: the test is run
# again with more p-samples until it clearly passes or fails, so each of the 3 tests must end in
# PASSED (intermediate WEAK lines stay in the log) and none in FAILED (p outside [1e-6, 1 - 1e-6]).
# Usage: dieharder.sh PATH/TO/rng_dump
set -uo pipefail
dump=$1
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
# A run that ends without any verdict (dieharder or the dump stopped early: once seen in a
# loaded sanitizer run, with no message kept) is shown with both programs' output and run once
# more; a verdict (PASSED, WEAK resolved by -Y 1, FAILED) is never re-rolled.
for d in 0 100 101; do
  for try in 1 2; do
    # rng_dump streams until dieharder has read enough and closes the pipe
    "$dump" 100000000000 rng.source=sim 2>"$T/dump.err" |
      dieharder -g 200 -d $d -p 20 -Y 1 > "$T/one" 2>&1
    if grep -qE "PASSED|FAILED" "$T/one"; then break; fi
    echo "dieharder -d $d ended without a verdict (try $try); its output, then rng_dump's:"
    tail -5 "$T/one"; grep -v "Broken pipe" "$T/dump.err" | tail -5
  done
  cat "$T/one" >> "$T/out"
done
grep -E "PASSED|WEAK|FAILED" "$T/out"
weak=$(grep -c "WEAK" "$T/out"); failed=$(grep -c "FAILED" "$T/out"); passed=$(grep -c "PASSED" "$T/out")
echo "dieharder subset: $passed passed, $weak weak, $failed failed"
[[ $passed -ge 3 && $failed -eq 0 ]]
