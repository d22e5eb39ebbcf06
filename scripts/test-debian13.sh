#!/bin/bash
# The Debian 13 stage of the test suite: runs `scripts/test.sh --native` inside a Debian 13
# (trixie: OpenSSL 3.5, p11-kit 0.25, nginx 1.26) root made from Debian's packages with
# `debootstrap --variant=minbase trixie`, so one machine tests both platforms.
#   QKEY_TRIXIE_ROOT    where the root is kept between runs (default /var/cache/qkey/trixie,
#                       outside the checkout); it is made on first use (under a minute) and
#                       reused after; a root left half-made is made again.
#   QKEY_DEBIAN_MIRROR  default http://deb.debian.org/debian
# The checkout is bind-mounted at /qkey-src in the root and built in _build/deb13; /proc, /sys,
# /dev and /dev/pts are bind-mounted too, and every mount is undone on every exit path
# (success, failure, Ctrl-C, TERM). Run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD
root=${QKEY_TRIXIE_ROOT:-/var/cache/qkey/trixie}
mirror=${QKEY_DEBIAN_MIRROR:-http://deb.debian.org/debian}
ready=$root/.qkey-root-ready
if ((EUID != 0)); then
  echo "test-debian13: run as root (debootstrap, mount, chroot)" >&2
  exit 2
fi

source "$src/scripts/mounts.sh"
trap undo_mounts EXIT
# Mounts left by a run that was killed with SIGKILL: undo them before anything else, and never
# delete a root that still has anything mounted in it.
stale_mounts() { findmnt -rn -o TARGET | grep -F "$root/" | sort -r || true; }
for m in $(stale_mounts); do umount -l "$m" || true; done

if [[ ! -f $ready ]]; then
  command -v debootstrap >/dev/null || {
    echo "test-debian13: installing debootstrap" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null ||
      { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null; }
  }
  if [[ -n $(stale_mounts) ]]; then
    echo "test-debian13: $root still has mounts; not removing it" >&2
    exit 1
  fi
  rm -rf --one-file-system "$root"
  mkdir -p "$(dirname "$root")"
  echo "== making a Debian 13 root in $root (debootstrap --variant=minbase trixie)"
  t=$SECONDS
  if ! debootstrap --variant=minbase trixie "$root" "$mirror" >"$root.log" 2>&1; then
    tail -20 "$root.log"
    echo "test-debian13: debootstrap failed (log: $root.log)" >&2
    exit 1
  fi
  touch "$ready"
  echo "== Debian 13 root made in $((SECONDS - t)) s"
fi

bind /proc "$root/proc"
bind /sys "$root/sys"
bind /dev "$root/dev"
bind /dev/pts "$root/dev/pts"
bind "$src" "$root/qkey-src"
cp /etc/resolv.conf "$root/etc/resolv.conf"
echo "== Debian 13: $(chroot "$root" sh -c '. /etc/os-release; echo "$PRETTY_NAME"')"
# A clean environment: nothing of this machine's (PATH, LD_*, OPENSSL_*) leaks into the root.
# Not exec: the EXIT trap must undo the mounts.
chroot "$root" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  HOME=/root LANG=C.UTF-8 TERM="${TERM:-dumb}" QKEY_BUILD_DIR=_build/deb13 \
  /bin/bash -c 'cd /qkey-src && scripts/test.sh --native'
