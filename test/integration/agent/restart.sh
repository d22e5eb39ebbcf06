#!/bin/bash
# kill -9 of qkeyd under load, then a restart: a long-lived client (agent_load: one key-source
# context, keys in a loop, plus a forked child using the inherited context) fails cleanly while
# the agent is down and recovers by itself once it is back; no key ID is delivered twice (the
# client's IDs, the agent's journal across both lives, and fetching every ID once on side B).
# Usage: restart.sh BIN_DIR
BIN=$1
source "$(dirname "$0")/lib.sh"

link_init
agent_conf a
agent_conf b
agent_start a
agent_start b
"$BIN/agent_load" "$T/client-a.conf" SAE_B 6 >"$T/load.out" 2>&1 &
LOAD=$!
sleep 1.5
agent_stop a KILL
sleep 1
agent_start a # the same socket path: the stale socket of the killed agent is replaced
wait $LOAD
grep -q "^child exit 0$" "$T/load.out" && [[ $(grep -c "^child ok " "$T/load.out") == 5 ]] &&
  pass "a forked child takes 5 keys through its own connection to the agent" || fail "forked child: $(grep child "$T/load.out" | head -3)"
ok=$(grep -c "^ok " "$T/load.out") errs=$(grep -c "^err " "$T/load.out")
# the failures while the agent was away name the agent and the cause; none is a wrong answer
bad=$(grep "^err " "$T/load.out" | grep -v -e "qkeyd $T/qkeyd-a.sock unreachable" -e "closed the connection during the request" | head -2)
[[ $errs -ge 1 && -z $bad ]] && pass "while the agent was down: $errs requests failed cleanly, e.g. '$(grep -m1 "^err " "$T/load.out" | cut -c1-110)'" ||
  fail "failures while the agent was down: $errs, unexpected: $bad"
inflight=$(grep -c "closed the connection during the request" "$T/load.out")
echo "   ($inflight request(s) were in flight when the agent died)"
last=$(tail -1 "$T/load.out")
after=$(awk '/^err /{e=NR} END{print e}' "$T/load.out")
recovered=$(awk -v e="$after" 'NR > e && /^ok /' "$T/load.out" | wc -l)
[[ $last == ok* && $recovered -ge 10 ]] && pass "the same process recovered: $recovered keys after the restart, $ok in all" ||
  fail "no recovery after the restart: last line '$last', $recovered keys after the last failure"
dups=$(grep -E "^(child )?ok " "$T/load.out" | awk '{print $NF}' | sort | uniq -d | wc -l)
[[ $dups == 0 ]] && pass "the client received no key ID twice" || fail "$dups key IDs received twice"
jdups=$(awk '{print $5}' "$T/journal-a" | sort | uniq -d | wc -l)
jn=$(wc -l <"$T/journal-a")
[[ $jdups == 0 && $jn -ge $ok ]] && pass "agent A's journal over both lives: $jn keys handed out, no ID twice" ||
  fail "journal: $jn lines, $jdups duplicate IDs, client saw $ok"
# every ID the client got can be fetched once on side B (a key handed out twice could not)
n=0 bad=0
for id in $(grep -E "^(child )?ok " "$T/load.out" | awk '{print $NF}' | shuf -n 20 --random-source=<(yes)); do
  QKEY_CONF=$T/client-b.conf "$QKEY" key get SAE_A "$id" >/dev/null 2>&1 && n=$((n + 1)) || bad=$((bad + 1))
done
[[ $bad == 0 && $n == 20 ]] && pass "20 of the client's key IDs, sampled, are each fetched once through agent B" || fail "fetching on side B: $n ok, $bad failed"
finish
