#!/bin/bash
# Builds qkey's Debian packages on this machine (Debian 12 or 13) with CPack and checks them with
# lintian: no error allowed. The tree is configured with -DCMAKE_INSTALL_PREFIX=/usr, so every
# file goes where this release's OpenSSL and p11-kit look (QKEY_SYSTEM_LAYOUT, README "Packages").
#   scripts/packages.sh [OUTDIR]   default OUTDIR: ${QKEY_BUILD_DIR:-_build}/debs
# Needs dpkg-dev (dpkg-shlibdeps computes the dependencies), scdoc (man pages) and lintian;
# scripts/deps.sh installs them.
set -euo pipefail
cd "$(dirname "$0")/.."
B=${QKEY_BUILD_DIR:-_build}
out=${1:-$B/debs}
jobs=$(nproc)
((jobs > 2)) && jobs=2
codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-unknown}")
d=$B/pkg
mkdir -p "$B"
echo "== building the packages for $codename in $d"
if ! { cmake -S . -B "$d" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=/usr \
         -DQKEY_TESTS=OFF -DQKEY_WERROR=ON &&
       cmake --build "$d" -j"$jobs" &&
       rm -f "$d"/*.deb && (cd "$d" && cpack -G DEB); } >"$d.log" 2>&1; then
  grep -E "error|Error" "$d.log" | head -20
  echo "packages: build failed (log: $d.log)" >&2
  exit 1
fi
rm -rf "$out"
mkdir -p "$out"
cp "$d"/*.deb "$out"/
for f in "$out"/*.deb; do
  printf '   %-40s %s\n' "$(basename "$f")" "$(dpkg-deb -f "$f" Depends)"
done
echo "== lintian (errors fail the build)"
lrc=0
lint=$(lintian --fail-on error "$out"/*.deb 2>&1) || lrc=$?
# lintian's own complaint about running as root concerns this machine, not the packages
grep -v "running with root privileges" <<<"$lint" | sed 's/^/   /' || true
if ((lrc != 0)); then
  echo "packages: lintian reports errors (exit $lrc)" >&2
  exit 1
fi
echo "== packages for $codename in $out: lintian reports no error"
