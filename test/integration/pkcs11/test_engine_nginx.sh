#!/bin/bash
# OpenSSL programs on keys that never leave the token, through Debian's pkcs11 engine
# (libengine-pkcs11-openssl): a CA key (EC P-256) and two TLS server keys (RSA-2048, EC P-256)
# made in the token, not extractable; `openssl req -x509 -engine pkcs11` makes the CA
# certificate, `openssl x509 -req -CAkeyform engine` signs the server certificates, nginx (workers
# as an unprivileged user) serves TLS 1.3 with `ssl_certificate_key "engine:pkcs11:..."`, and
# curl verifies each server against the CA. QKEY_P11_TARGET=softhsm runs it on SoftHSM2.
source "$(dirname "$0")/apps_lib.sh"
need openssl nginx curl python3 p11tool
engine=$(openssl version -e | sed -n 's/^ENGINESDIR: "\(.*\)"$/\1/p')/pkcs11.so
[[ -f $engine ]] || { echo "libengine-pkcs11-openssl not installed ($engine): skipped"; exit 77; }
worker=nobody
worker_group=$(id -gn $worker)

# The token's store in a directory the nginx workers (user $worker) can write: they reopen the
# token after fork (libp11 re-initialises the module in each child).
mkdir -p "$T/store"
cat >"$T/qkey-web.conf" <<CONF
[rng]
source = sim
[token]
store = $T/store/token.db
label = $TOKEN
CONF
export QKEY_CONF=$T/qkey-web.conf
init_token() { # SIDE LABEL, as lib.sh's but on this test's config
  run pkcs11-tool --module "$MOD" --slot-index 0 --init-token --label "$2" --so-pin 12345678 \
    >"$T/init.log" 2>&1 || { cat "$T/init.log"; fail "init-token"; }
  run pkcs11-tool --module "$MOD" --token-label "$2" --login --login-type so --so-pin 12345678 \
    --init-pin --pin "$PIN" >>"$T/init.log" 2>&1 || { cat "$T/init.log"; fail "init-pin"; }
}
init_token a "$TOKEN"
keypair ca 01 EC:prime256v1
keypair srv-rsa 02 rsa:2048
keypair srv-ec 03 EC:prime256v1
for k in ca srv-rsa srv-ec; do never_extractable $k; done

# The engine, named in an openssl.cnf, with the module path; the PIN goes in the URI here and
# in the engine section for nginx below.
cat >"$T/openssl.cnf" <<CNF
openssl_conf = openssl_init
[openssl_init]
engines = engines
[engines]
pkcs11 = pkcs11_engine
[pkcs11_engine]
engine_id = pkcs11
dynamic_path = $engine
MODULE_PATH = $MOD
CNF
uri() { echo "pkcs11:token=$TOKEN;object=$1;type=private"; }
ossl() { OPENSSL_CONF=$T/openssl.cnf run openssl "$@"; }
cd "$T" || fail "cd $T"

ossl req -new -x509 -engine pkcs11 -keyform engine -key "$(uri ca);pin-value=$PIN" -sha256 \
  -days 2 -subj "/CN=qkey test CA" -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign" -out ca.pem >req-ca.log 2>&1 ||
  { cat req-ca.log; fail "openssl req -x509 with the CA key in the token"; }
# The certificate carries the token's public key, as GnuTLS reads it from the token (not
# pkcs11-tool --read-object: OpenSC 0.23 reads EC public keys after freeing a buffer, which
# ASan stops in the sanitizer build).
same_pubkey() { # CERT LABEL
  GNUTLS_PIN=$PIN run p11tool --provider "$MOD" --login --outfile "$2.pub.p11tool" \
    --export-pubkey "pkcs11:token=$TOKEN;object=$2;type=public" >/dev/null 2>&1 ||
    fail "p11tool --export-pubkey $2"
  openssl pkey -pubin -in "$2.pub.p11tool" -outform PEM >"$2.pub.pem" ||
    fail "the token's public key $2 does not parse"
  openssl x509 -in "$1" -noout -pubkey | cmp -s - "$2.pub.pem" ||
    fail "$1 does not hold the public key of token key $2"
}
same_pubkey ca.pem ca

printf 'subjectAltName=DNS:%s\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' \
  rsa.test >rsa.ext
printf 'subjectAltName=DNS:%s\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' \
  ec.test >ec.ext
for s in rsa ec; do
  ossl req -new -engine pkcs11 -keyform engine -key "$(uri srv-$s);pin-value=$PIN" \
    -subj "/CN=$s.test" -out $s.csr >req-$s.log 2>&1 || { cat req-$s.log; fail "CSR for srv-$s"; }
  ossl req -in $s.csr -noout -verify >/dev/null 2>&1 || fail "the CSR signed by srv-$s does not verify"
  ossl x509 -req -in $s.csr -engine pkcs11 -CAkeyform engine -CAkey "$(uri ca);pin-value=$PIN" \
    -CA ca.pem -CAcreateserial -sha256 -days 2 -extfile $s.ext -out $s.pem >x509-$s.log 2>&1 ||
    { cat x509-$s.log; fail "openssl x509 -req -CAkeyform engine for $s"; }
  openssl verify -CAfile ca.pem $s.pem >/dev/null || fail "$s.pem does not verify against ca.pem"
  same_pubkey $s.pem srv-$s
done
openssl x509 -in rsa.pem -noout -text | grep -q "Public-Key: (2048 bit)" || fail "rsa.pem: not RSA-2048"
openssl x509 -in ec.pem -noout -text | grep -q "NIST CURVE: P-256" || fail "ec.pem: not P-256"

# nginx: the engine loaded by OPENSSL_CONF (passed to the workers with `env`), the PIN in the
# engine section, the keys named by URI. Workers run as $worker and reopen the token.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port_rsa=$(free_port)
port_ec=$(free_port)
[[ $port_rsa != "$port_ec" ]] || port_ec=$(free_port)
mkdir -p nginx/logs
cp openssl.cnf nginx/openssl.cnf
printf 'PIN = %s\ninit = 1\n' "$PIN" >>nginx/openssl.cnf
server() { # NAME PORT
  cat <<SRV
  server {
    listen 127.0.0.1:$2 ssl;
    server_name $1.test;
    ssl_protocols TLSv1.3;
    ssl_certificate $T/$1.pem;
    ssl_certificate_key "engine:pkcs11:$(uri srv-$1)";
    location / { return 200 "\$ssl_protocol \$ssl_server_name\n"; }
  }
SRV
}
cat >nginx/nginx.conf <<CONF
daemon off;
worker_processes 2;
user $worker $worker_group;
pid $T/nginx/nginx.pid;
error_log $T/nginx/logs/error.log info;
env OPENSSL_CONF;
env QKEY_CONF;
env SOFTHSM2_CONF;
events { worker_connections 32; }
http {
  access_log $T/nginx/logs/access.log;
  client_body_temp_path $T/nginx/body;
  proxy_temp_path $T/nginx/proxy;
  fastcgi_temp_path $T/nginx/fastcgi;
  uwsgi_temp_path $T/nginx/uwsgi;
  scgi_temp_path $T/nginx/scgi;
$(server rsa "$port_rsa")
$(server ec "$port_ec")
}
CONF
chmod 755 "$T"
chown -R "$worker:$worker_group" "$T/store"
[[ -n ${SOFTHSM2_CONF:-} ]] && chown -R "$worker:$worker_group" "$T/softhsm"
nginx_pid= # the shell running nginx in the foreground (daemon off); the master is its child
stop_nginx() {
  [[ -f $T/nginx/nginx.pid ]] && kill "$(cat "$T/nginx/nginx.pid")" 2>/dev/null
  [[ -n $nginx_pid ]] && wait "$nginx_pid" 2>/dev/null
  return 0
}
trap 'stop_nginx; pg_stop; rm -rf "$T"' EXIT
OPENSSL_CONF=$T/nginx/openssl.cnf run nginx -p "$T/nginx" -c "$T/nginx/nginx.conf" \
  -e "$T/nginx/logs/error.log" >nginx/stdout.log 2>&1 &
nginx_pid=$!
for _ in $(seq 50); do
  curl -s -o /dev/null --max-time 1 -k "https://127.0.0.1:$port_ec/" && break
  kill -0 $nginx_pid 2>/dev/null || { cat nginx/stdout.log nginx/logs/error.log; fail "nginx exited"; }
  sleep 0.2
done

# Workers are unprivileged (when the test runs as root, as nginx is run in production).
if ((EUID == 0)); then
  users=$(ps -o user= --ppid "$(cat nginx/nginx.pid)" | sort -u | tr -d ' ')
  [[ $users == "$worker" ]] || fail "nginx workers run as '$users', not $worker"
fi

# curl verifies each server against the CA and sees TLS 1.3 with the token key's type.
for s in rsa ec; do
  port=port_$s
  curl -sS --cacert ca.pem --tlsv1.3 --resolve "$s.test:${!port}:127.0.0.1" \
    -w '%{certs}' -o body-$s.txt "https://$s.test:${!port}/" >certs-$s.txt 2>curl-$s.log ||
    { cat curl-$s.log nginx/logs/error.log; fail "curl could not verify $s.test"; }
  [[ $(cat body-$s.txt) == "TLSv1.3 $s.test" ]] || fail "$s.test answered: $(cat body-$s.txt)"
  want=$([[ $s == rsa ]] && echo rsaEncryption || echo id-ecPublicKey)
  grep -q "Public Key Algorithm:$want" certs-$s.txt ||
    { cat certs-$s.txt; fail "$s.test did not present its $want certificate"; }
done
# The handshake signature was made in the token: RSA-PSS by srv-rsa, ECDSA by srv-ec.
for s in rsa ec; do
  port=port_$s
  openssl s_client -connect "127.0.0.1:${!port}" -servername $s.test -tls1_3 -CAfile ca.pem \
    -verify_return_error </dev/null >s_client-$s.log 2>&1 || { cat s_client-$s.log; fail "s_client $s"; }
done
grep -q "Peer signature type: RSA-PSS" s_client-rsa.log || fail "rsa.test: not an RSA-PSS signature"
grep -q "Peer signature type: ECDSA" s_client-ec.log || fail "ec.test: not an ECDSA signature"
# a client that trusts another CA is refused
openssl req -new -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout other.key \
  -subj "/CN=other CA" -days 1 -out other.pem >/dev/null 2>&1
curl -sS --cacert other.pem --tlsv1.3 --resolve "ec.test:$port_ec:127.0.0.1" \
  "https://ec.test:$port_ec/" >/dev/null 2>&1 && fail "curl accepted the server with the wrong CA"
grep -E "\[(alert|emerg|crit)\]" nginx/logs/error.log && fail "nginx logged errors"
echo "CA and TLS keys in the token ($MOD); openssl req/x509 via the pkcs11 engine; nginx" \
  "(workers as $worker) serves TLS 1.3 with RSA-2048 and P-256 keys that curl verifies"
