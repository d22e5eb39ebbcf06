#!/bin/bash
# Unmodified nginx (3 workers as www-data, forked after the provider loads) and unmodified curl,
# configured only by the files `qkey-kme-sim init` writes, complete TLS 1.3 handshakes over
# x25519_qkd (x25519mlkem768_qkd where libcrypto has ML-KEM: OpenSSL 3.5) with keys from the
# simulated KME pair. Each handshake takes exactly one key from
# the store and every key ID is delivered once; injected faults and a KME outage fail the
# handshake with an error naming the KME and the cause, nginx lives, service resumes.
# Usage: nginx_curl.sh BIN_DIR SANITIZE(ON|OFF) N_HANDSHAKES
BIN=$1 SAN=$2 N=$3
source "$(dirname "$0")/lib.sh"
command -v nginx >/dev/null && command -v curl >/dev/null || { echo "SKIP: nginx or curl missing"; exit 77; }

# the QKD group: ML-KEM + QKD where this OpenSSL offers the hybrid ML-KEM KEMs (3.5)
G=x25519_qkd
OPENSSL_CONF=/dev/null openssl list -kem-algorithms 2>/dev/null | grep -q X25519MLKEM768 && G=x25519mlkem768_qkd
kme_init --rate 0 --initial 5000
kme_start
servercert
NGX_PORT=$(freeport)
mkdir -p "$T/ngx"
cat >"$T/ngx/nginx.conf" <<NGX
user www-data; worker_processes 3; daemon off; pid $T/ngx/nginx.pid; error_log $T/ngx/error.log info; # nginx >= 1.25 logs a failed handshake at info
events { worker_connections 64; }
http { access_log off; client_body_temp_path $T/ngx; proxy_temp_path $T/ngx; fastcgi_temp_path $T/ngx;
  uwsgi_temp_path $T/ngx; scgi_temp_path $T/ngx;
  server { listen 127.0.0.1:$NGX_PORT ssl; ssl_certificate $T/srv.pem; ssl_certificate_key $T/srv.key;
    ssl_protocols TLSv1.3; ssl_ecdh_curve $G; keepalive_timeout 0; location / { return 200 "qkey-ok\n"; } } }
NGX
OPENSSL_CONF=$T/kme/sae-a.cnf nginx -c "$T/ngx/nginx.conf" >"$T/ngx/out.log" 2>&1 &
NGX_PID=$!
waitport "$NGX_PORT" || { echo "nginx did not start: $(tail -2 "$T/ngx/error.log" "$T/ngx/out.log")"; exit 1; }
for i in $(seq 50); do # the workers start after the master listens
  workers=$(ps -o user= --ppid $NGX_PID | grep -c www-data)
  [[ $workers == 3 ]] && break
  sleep 0.1
done
[[ $workers == 3 ]] && pass "nginx runs 3 workers as www-data" || fail "nginx workers as www-data: $workers"

# KME A's faults show in nginx's error log (curl prints only the first reason of OpenSSL's error
# queue); KME B's in the error queue that unmodified `openssl s_client` prints in full
sclient() {
  echo | OPENSSL_CONF=$T/kme/sae-b.cnf timeout 15 openssl s_client -connect 127.0.0.1:$NGX_PORT \
    -groups $G -tls1_3 -CAfile "$T/srv.pem" -servername localhost >"$T/sclient.out" 2>&1
  grep -q "Verify return code: 0" "$T/sclient.out" && grep -q "^New, TLSv1.3" "$T/sclient.out" &&
    echo qkey-ok
  return 0
}
fetch() {
  [[ $SAN == ON ]] && { sclient; return; }
  OPENSSL_CONF=$T/kme/sae-b.cnf timeout 15 curl -sS --curves $G --tlsv1.3 --cacert "$T/srv.pem" \
    --resolve localhost:$NGX_PORT:127.0.0.1 "https://localhost:$NGX_PORT/" 2>>"$T/curl.err"
}

# one curl process, N URLs: nginx closes every connection (keepalive_timeout 0) and curl keeps no
# TLS session (--no-sessionid), so each URL is a full TLS 1.3 handshake over x25519_qkd
fetch_many() {
  local urls=() i
  if [[ $SAN == ON ]]; then
    for i in $(seq "$1"); do sclient; done
    return
  fi
  for i in $(seq "$1"); do urls+=("https://localhost:$NGX_PORT/"); done
  OPENSSL_CONF=$T/kme/sae-b.cnf timeout 120 curl -sS --no-sessionid --curves $G --tlsv1.3 \
    --cacert "$T/srv.pem" --resolve localhost:$NGX_PORT:127.0.0.1 "${urls[@]}" 2>>"$T/curl.err"
}
before=$(stored)
h0=($(history))
t0=$(date +%s.%N)
ok=$(fetch_many "$N" | grep -c '^qkey-ok$')
t1=$(date +%s.%N)
after=$(stored)
h1=($(history))
[[ $ok == "$N" ]] && pass "$ok/$N handshakes by $([[ $SAN == ON ]] && echo "openssl s_client" || echo curl) to nginx over $G ($(python3 -c "print('%.1f' % ($N/($t1-$t0)))") per second)" ||
  fail "$ok/$N handshakes: $(tail -1 "$T/curl.err")"
[[ $((before - after)) == "$N" ]] && pass "the KME store shrank by exactly $N keys ($before -> $after)" ||
  fail "the KME store shrank by $((before - after)) keys for $N handshakes"
issued=$((h1[0] - h0[0])) delivered=$((h1[1] - h0[1])) distinct=$((h1[2] - h0[2]))
[[ $issued == "$N" && $delivered == "$N" && $distinct == "$N" && ${h1[3]} == 0 ]] &&
  pass "$N handshakes used $distinct distinct key IDs, each delivered once, none left pending" ||
  fail "key IDs: issued $issued, delivered $delivered, distinct $distinct, pending ${h1[3]}"
# every worker took part: each has its own KME connection (a child never uses its parent's)
conns=$(ss -tnp 2>/dev/null | grep ":$PORT_A " | grep -c nginx)
[[ $conns -ge 1 ]] && pass "nginx workers hold $conns keep-alive connection(s) to KME A" || fail "no nginx connection to KME A"
# the client offers only $G; OpenSSL >= 3.2's s_client also names the negotiated group
[[ $(sclient) == qkey-ok ]] && { grep -q "Negotiated TLS1.3 group: $G" "$T/sclient.out" ||
  ! grep -q "Negotiated TLS1.3 group" "$T/sclient.out"; } &&
  pass "nginx negotiates $G" || fail "nginx did not negotiate $G: $(grep -m1 -E "Negotiated|error" "$T/sclient.out")"

# faults at KME A (nginx's enc_keys) and KME B (curl's dec_keys)
check_fault() { # KME JSON WANT-IN-LOG
  local kme=$1 json=$2 want=$3 port log
  port=$([[ $kme == A ]] && echo $PORT_A || echo $PORT_B)
  log=$([[ $kme == A ]] && echo "$T/ngx/error.log" || echo "$T/sclient.out")
  fault "$json"
  if [[ $kme == A ]]; then out=$(fetch); else out=$(sclient); fi
  fault ""
  if [[ $out == qkey-ok ]]; then fail "fault $json at KME $kme: the request succeeded"; return; fi
  if grep -q "KME https://127.0.0.1:$port.*$want" "$log"; then
    pass "fault $json at KME $kme: handshake failed, log says: $(grep -o "KME https://127.0.0.1:$port[^,]*" "$log" | tail -1 | cut -c1-120)"
  else
    fail "fault $json at KME $kme: no error naming the KME and '$want' in $log: $(tail -c 300 "$log")"
  fi
  kill -0 $NGX_PID 2>/dev/null || fail "nginx died"
  [[ $(fetch) == qkey-ok ]] || fail "service did not resume after fault $json at KME $kme"
}
check_fault A '{"kme":"A","fault":"503"}' "answered 503"
check_fault A '{"kme":"A","fault":"malformed"}' "not JSON"
check_fault A '{"kme":"A","fault":"wrong_size"}' "not 32 bytes"
check_fault A '{"kme":"A","fault":"duplicate_ids"}' "2 keys, 1 were requested"
check_fault A '{"kme":"A","fault":"drop"}' "closed the connection"
check_fault A '{"kme":"A","fault":"delay","delay_ms":3500}' "no answer within qkd.timeout_ms"
check_fault B '{"kme":"B","fault":"503"}' "answered 503"
check_fault B '{"kme":"B","fault":"wrong_size"}' "not 32 bytes"
check_fault B '{"kme":"B","fault":"malformed"}' "not JSON"
check_fault B '{"kme":"B","fault":"drop"}' "closed the connection"

# the KME pair goes away and comes back
: >"$T/curl.err"
kme_stop
[[ $(fetch) == qkey-ok ]] && fail "a request succeeded with the KMEs down" ||
  { grep -q "KME https://127.0.0.1:$PORT_A unreachable" "$T/ngx/error.log" &&
    pass "KMEs down: handshake refused, nginx log: $(grep -o "KME https://127.0.0.1:$PORT_A unreachable[^,]*" "$T/ngx/error.log" | tail -1)" ||
    fail "KMEs down: no 'unreachable' error naming KME A in nginx's log"; }
kill -0 $NGX_PID 2>/dev/null && pass "nginx lives through the outage" || fail "nginx died in the outage"
kme_start
n=0; for i in 1 2 3; do [[ $(fetch) == qkey-ok ]] && n=$((n + 1)); done
[[ $n == 3 ]] && pass "service resumed: 3/3 requests after the KMEs returned" || fail "$n/3 requests after the KMEs returned"
h2=($(history))
[[ ${h2[1]} == ${h2[2]} ]] && pass "no key ID delivered twice in ${h2[1]} deliveries" || fail "a key ID was delivered twice"
finish
