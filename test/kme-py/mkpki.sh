#!/bin/bash
# The independent KME pair's PKI, with the openssl CLI: a CA; KME certificates with a CN and
# NO subjectAltName (as some KMEs ship them); SAE client certificates (CN = SAE ID) from the
# CA, and one from a second, unrelated CA (a client the KMEs must reject).
# usage: mkpki.sh DIR
set -euo pipefail
d=$1
mkdir -p "$d"
cd "$d"
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key" 2>/dev/null; }
ca() { # NAME
  key "$1"
  openssl req -x509 -new -key "$1.key" -subj "/CN=$1" -days 2 -out "$1.pem" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign 2>/dev/null
}
leaf() { # NAME CN CA
  key "$1"
  openssl req -new -key "$1.key" -subj "/CN=$2" -out "$1.csr" 2>/dev/null
  openssl x509 -req -in "$1.csr" -CA "$3.pem" -CAkey "$3.key" -CAcreateserial -days 2 \
    -out "$1.pem" 2>/dev/null # no extensions: no subjectAltName
  rm -f "$1.csr"
}
ca ca
ca rogue-ca
leaf kme-a kme-a.test ca
leaf kme-b kme-b.test ca
leaf sae-a SAE_A ca
leaf sae-b SAE_B ca
leaf rogue SAE_A rogue-ca
chmod 600 ./*.key
