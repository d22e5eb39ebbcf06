#!/bin/bash
# Installs what qkey needs to build and test on Debian 12 (run as root). Idempotent and quick
# when everything is already there.
set -euo pipefail
pkgs=(build-essential cmake pkg-config git python3 libssl-dev openssl libjansson-dev libsqlite3-dev
      libp11-kit-dev p11-kit libmicrohttpd-dev libgnutls28-dev libcunit1-dev libsrtp2-dev
      nginx curl opensc gnutls-bin softhsm2 python3-pykcs11 rng-tools5 dieharder
      clang libclang-rt-14-dev)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "deps: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
