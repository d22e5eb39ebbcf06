#!/bin/bash
# Installs what qkey needs to build and test on Debian 12 (bookworm) or Debian 13 (trixie), run
# as root. Idempotent and quick when everything is already there.
set -euo pipefail
codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
case $codename in
  bookworm) clang_rt=libclang-rt-14-dev ;;
  trixie) clang_rt=libclang-rt-19-dev ;;
  *) echo "deps: Debian 12 (bookworm) or 13 (trixie) expected, this is '${codename:-unknown}';" \
          "trying the Debian 13 names" >&2
     clang_rt=libclang-rt-dev ;;
esac
pkgs=(build-essential cmake pkg-config git python3 libssl-dev openssl libjansson-dev libsqlite3-dev
      sqlite3 libp11-kit-dev p11-kit libmicrohttpd-dev libgnutls28-dev libcunit1-dev libsrtp2-dev
      nginx curl opensc gnutls-bin softhsm2 python3-pykcs11 rng-tools5 dieharder
      clang "$clang_rt" ca-certificates
      dpkg-dev scdoc lintian man-db debootstrap # packages: cpack + dpkg-shlibdeps, man pages, checks
      baresip-core # calls in unmodified call software (examples/baresip)
      libpq-dev postgresql # the token's PostgreSQL store (build: libpq-fe.h; tests: a real server)
      libengine-pkcs11-openssl python3-cryptography # token key pairs in openssl/nginx, PyKCS11 example
      strace gdb) # the agent tests: which process opens the KME key, and a worker's core (gcore)
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
