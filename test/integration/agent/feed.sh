#!/bin/bash
# The kernel feed: qkeyd with rng.feed_kernel = yes mixes health-tested QRNG output into the
# kernel's pool with RNDADDENTROPY; its counters show the bytes fed and the entropy credited
# (4 bits per byte); when the RNG gets stuck (a device source whose raw bits turn constant) the
# feed stops at once, says why, and feeds nothing more. Needs CAP_SYS_ADMIN (root).
# Usage: feed.sh BIN_DIR
BIN=$1
source "$(dirname "$0")/lib.sh"
[[ $(id -u) == 0 ]] || { echo "SKIP: the feed needs root (CAP_SYS_ADMIN)"; exit 77; }
link_init
# 512 KiB of good raw bits, then a stuck device: 4 MiB of one value
head -c 524288 /dev/urandom >"$T/raw.bin"
head -c 4194304 /dev/zero >>"$T/raw.bin"
RNG_SOURCE=device:$T/raw.bin agent_conf a "[rng]" "feed_kernel = yes" "feed_bytes = 512" "feed_interval_ms = 5"
avail0=$(cat /proc/sys/kernel/random/entropy_avail)
agent_start a
feed() { agent_status a "st['agent']['feed']['$1']"; }
for i in $(seq 100); do [[ $(feed running) == False ]] && break; sleep 0.1; done
state=$(feed state) bytes=$(feed bytes) bits=$(feed entropy_bits) calls=$(feed calls)
if grep -q "RNDADDENTROPY failed" <<<"$state"; then
  echo "SKIP: this machine refuses RNDADDENTROPY: $state"
  exit 77
fi
[[ $bytes -gt 0 && $calls -gt 0 && $((bytes % 512)) == 0 && $bits == $((bytes * 4)) ]] &&
  pass "the feed mixed $bytes bytes into the kernel in $calls RNDADDENTROPY calls and credited $bits bits (4 per byte)" ||
  fail "feed counters: bytes $bytes, calls $calls, entropy_bits $bits, state $state"
grep -q "stopped: RNG health test failure.*repetition count test" <<<"$state" &&
  pass "the stuck RNG stopped the feed: $(cut -c1-140 <<<"$state")" || fail "feed state after the RNG got stuck: $state"
sleep 0.5
[[ $(feed bytes) == "$bytes" && $(feed calls) == "$calls" ]] && pass "nothing is fed after the stop" ||
  fail "the feed went on after the stop: $(feed bytes) bytes"
# random bytes to clients fail closed too, with the same health error
out=$(QKEY_CONF=$T/client-a.conf "$QKEY" rand 64 2>&1 >/dev/null) && fail "random bytes from a stuck RNG" ||
  { grep -qi "health" <<<"$out" && pass "clients get the health error, not bytes: $(cut -c1-100 <<<"$out")" || fail "client after the stuck RNG: $out"; }
"$QKEYD" --metrics --conf "$T/client-a.conf" >"$T/metrics"
grep -q "^qkeyd_feed_bytes_total $bytes$" "$T/metrics" && grep -q "^qkeyd_feed_running 0$" "$T/metrics" &&
  grep -q "^qkeyd_rng_ok 0$" "$T/metrics" && pass "the Prometheus figures agree (qkeyd_feed_bytes_total $bytes, qkeyd_feed_running 0, qkeyd_rng_ok 0)" ||
  fail "metrics: $(grep -E "feed|rng_ok" "$T/metrics" | grep -v '^#')"
kernel=$(uname -r)
echo "   kernel $kernel: entropy_avail $avail0 before, $(cat /proc/sys/kernel/random/entropy_avail) after (fixed at 256 on Linux >= 5.18: the counters above are the evidence)"
finish
