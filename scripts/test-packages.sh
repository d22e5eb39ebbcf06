#!/bin/bash
# Installs qkey's .deb packages into a fresh Debian root and runs the README's main job against
# the installed files, then removes and purges them:
#   scripts/test-packages.sh CODENAME DEBDIR     (CODENAME: bookworm or trixie; run as root)
# 1. a fresh root: a pristine `debootstrap --variant=minbase CODENAME` tree, made once and kept as
#    a tarball (/var/cache/qkey/CODENAME-minbase.tar, or $QKEY_PKGROOT_CACHE/...), unpacked anew
#    for every run, so nothing of an earlier run or of this machine is present;
# 2. `apt-get install ./*.deb` (dependencies from Debian's archive) plus the programs the main
#    job drives as a user would: openssl, OpenSC's pkcs11-tool, p11-kit, python3-pykcs11;
# 3. `scripts/demo.sh --installed`: TLS 1.3 over a QKD group between openssl s_server/s_client
#    configured by `qkey sim init` (no `module =` line: OpenSSL finds qkey.so by name) and a
#    PKCS#11 round trip through the token p11-kit lists;
# 4. `apt-get remove`: p11-kit no longer lists the token and OpenSSL cannot load qkey; the
#    conffile /etc/qkey/qkey.conf stays; `apt-get purge` removes it and /etc/qkey.
# Mounts are undone and the root is deleted on every exit path.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD
codename=${1:?usage: scripts/test-packages.sh CODENAME DEBDIR}
debdir=$(realpath "${2:?usage: scripts/test-packages.sh CODENAME DEBDIR}")
cache=${QKEY_PKGROOT_CACHE:-/var/cache/qkey}
mirror=${QKEY_DEBIAN_MIRROR:-http://deb.debian.org/debian}
tarball=$cache/$codename-minbase.tar
if ((EUID != 0)); then
  echo "test-packages: run as root (debootstrap, mount, chroot)" >&2
  exit 2
fi
ls "$debdir"/*.deb >/dev/null || { echo "test-packages: no .deb in $debdir" >&2; exit 1; }
root=$(mktemp -d /var/tmp/qkey-pkgroot-XXXXXX)
source "$src/scripts/mounts.sh"
cleanup() {
  undo_mounts
  if [[ -z $(findmnt -rn -o TARGET | grep -F "$root/" || true) ]]; then
    rm -rf --one-file-system "$root"
  fi
}
trap cleanup EXIT

if [[ ! -s $tarball ]]; then
  command -v debootstrap >/dev/null ||
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
  mkdir -p "$cache"
  echo "== making a pristine $codename root (debootstrap --variant=minbase), kept in $tarball"
  t=$SECONDS
  tmp=$(mktemp -d /var/tmp/qkey-debootstrap-XXXXXX)
  if ! debootstrap --variant=minbase "$codename" "$tmp" "$mirror" >"$cache/$codename-minbase.log" 2>&1; then
    tail -20 "$cache/$codename-minbase.log"
    rm -rf --one-file-system "$tmp"
    echo "test-packages: debootstrap failed" >&2
    exit 1
  fi
  tar -C "$tmp" -cf "$tarball.part" . && mv "$tarball.part" "$tarball"
  rm -rf --one-file-system "$tmp"
  echo "== pristine root made in $((SECONDS - t)) s"
fi
tar -C "$root" -xf "$tarball"
bind /proc "$root/proc"
bind /sys "$root/sys"
bind /dev "$root/dev"
bind /dev/pts "$root/dev/pts"
mkdir -p "$cache/apt-$codename"
bind "$cache/apt-$codename" "$root/var/cache/apt/archives" # downloads kept between runs
cp /etc/resolv.conf "$root/etc/resolv.conf"
mkdir -p "$root/qkey/debs" "$root/qkey/demo/scripts"
cp "$debdir"/*.deb "$root/qkey/debs/"
cp "$src/scripts/demo.sh" "$src/scripts/demo_p11.py" "$root/qkey/demo/scripts/"

in_root() {
  chroot "$root" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive /bin/bash -c "$1"
}
fail() { echo "test-packages ($codename): FAILED: $*" >&2; exit 1; }

echo "== $codename: apt-get install ./*.deb in a fresh root"
t=$SECONDS
in_root 'apt-get -o APT::Sandbox::User=root update -qq && cd /qkey/debs && apt-get -o APT::Sandbox::User=root install -y -qq --no-install-recommends \
           ./*.deb openssl opensc p11-kit python3 python3-pykcs11 >/tmp/apt.log 2>&1 ||
         { tail -20 /tmp/apt.log; exit 1; }' || fail "apt-get install"
echo "   installed in $((SECONDS - t)) s: $(in_root "dpkg-query -W -f='\${Package} \${Version}, ' 'qkey*' 'libqkey*'")"

echo "== $codename: the main job against the installed files (scripts/demo.sh --installed)"
in_root 'cd /qkey/demo && scripts/demo.sh --installed' || fail "demo.sh --installed"

echo "== $codename: qkeyd from the package (its systemd units installed; an agent serving qkey rand)"
in_root 'ls /lib/systemd/system/qkeyd.socket /usr/lib/systemd/system/qkeyd.socket 2>/dev/null |
         grep -q qkeyd.socket' || fail "qkeyd's systemd units are not installed"
in_root 'set -e; d=$(mktemp -d); qkey sim init --agent "$d" >/dev/null
         qkeyd --check "$d/qkeyd-a.conf" >/dev/null
         qkeyd --conf "$d/qkeyd-a.conf" & pid=$!
         for i in $(seq 50); do QKEY_CONF=$d/qkey-a.conf qkey rand 32 >/dev/null 2>&1 && break; sleep 0.1; done
         n=$(QKEY_CONF=$d/qkey-a.conf qkey rand 32 | wc -c); kill $pid; wait $pid || true
         [ "$n" -ge 32 ]' || fail "the installed qkeyd does not serve qkey rand"
echo "   qkeyd --check, qkeyd and qkey rand through it: ok"

echo "== $codename: apt-get remove"
in_root 'apt-get remove -y -qq qkey-provider qkey-pkcs11 qkey-tools qkey-kme-sim libqkey-dev >/dev/null' ||
  fail "apt-get remove"
mods=$(in_root 'p11-kit list-modules 2>&1' || true)
grep -q "qkey" <<<"$mods" && fail "p11-kit still lists qkey after remove: $mods"
echo "   p11-kit list-modules: no qkey"
provs=$(in_root 'openssl list -providers 2>&1' || true)
grep -qi "qkey" <<<"$provs" && fail "openssl list -providers shows qkey after remove"
echo "   openssl list -providers: no qkey"
# a config that asks for qkey by name must now fail to load it rather than find a leftover
in_root 'printf "openssl_conf = i\n[i]\nproviders = p\n[p]\nqkey = q\n[q]\nactivate = 1\n" >/tmp/q.cnf
         OPENSSL_CONF=/tmp/q.cnf openssl list -providers >/tmp/q.out 2>&1; ! grep -qi "name: *qkey" /tmp/q.out' ||
  fail "OpenSSL still loads a provider named qkey after remove"
echo "   OpenSSL can no longer load a provider named qkey"
in_root 'test -f /etc/qkey/qkey.conf' || fail "remove deleted the conffile /etc/qkey/qkey.conf"
echo "   /etc/qkey/qkey.conf kept (conffile)"
in_root 'apt-get purge -y -qq qkey-tools >/dev/null && ! test -e /etc/qkey' ||
  fail "purge left /etc/qkey behind"
echo "   apt-get purge: /etc/qkey removed"
left=$(in_root "dpkg-query -W -f='\${Package} \${Status}\n' 'qkey*' 'libqkey*' 2>/dev/null | grep -v not-installed" || true)
[[ -z $left ]] || fail "packages still known to dpkg: $left"
echo "== packages on $codename: install, main job, remove and purge passed in $((SECONDS - t)) s"
