#!/bin/sh
# test-rpm-spec.sh DEB-DIR: packaging/hotcpu.spec builds with rpmbuild
# (packaging/build-rpm.sh; on Debian with the compatibility macros), and each
# RPM holds the same files as the .deb of the same name in DEB-DIR.
# Compared: every path of the package (directories only where they are
# hotcpu's own), after the layouts' known differences: Debian's /lib is
# Fedora's /usr/lib (merged /usr), man pages may or may not be gzipped,
# /usr/share/doc and lintian overrides are Debian's, /usr/lib/.build-id is
# Fedora's.  Registered as the meson test 'rpm-spec' (suite packages).
# Prints "N passed, N failed".
set -u
dir=$1
here=$(cd "$(dirname "$0")" && pwd)

fail_early() { echo "FAIL: $1"; echo "0 passed, 1 failed"; exit 1; }
command -v rpmbuild >/dev/null || fail_early "rpmbuild is missing (scripts/deps.sh installs rpm)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/hotcpu-rpmtest.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0

t0=$(date +%s)
if "$here/build-rpm.sh" "$tmp/rpms" >"$tmp/build.log" 2>&1; then
    echo "ok: rpmbuild -bb packaging/hotcpu.spec ($(( $(date +%s) - t0 )) s)"
    passed=$((passed + 1))
else
    tail -n 40 "$tmp/build.log"
    fail_early "rpmbuild -bb packaging/hotcpu.spec failed"
fi

normalize() {
    sed -e 's|^\./|/|' -e 's|/$||' -e 's|^/lib/|/usr/lib/|' -e 's|\(/man/man[0-9]/.*\)\.gz$|\1|' |
        grep -v -e '^/usr/share/doc' -e '^/usr/share/lintian' -e '^/usr/lib/\.build-id' -e '^/\{0,1\}$' |
        sort -u
}

for pkg in hotcpu hotcpu-agent cockpit-hotcpu; do
    deb=$(ls -1 "$dir/${pkg}"_*.deb 2>/dev/null | sort -V | tail -n1)
    rpm=$(find "$tmp/rpms" -name "$pkg-[0-9]*.rpm" | head -n1)
    if [ -z "$deb" ] || [ -z "$rpm" ]; then
        echo "FAIL: $pkg: no .deb in $dir ('$deb') or no .rpm built ('$rpm')"
        failed=$((failed + 1))
        continue
    fi
    # Directories of the .deb count where they are hotcpu's own.
    dpkg-deb -c "$deb" | awk '$1 ~ /^d/ && $6 !~ /hotcpu/ { next } { print $6 }' |
        normalize > "$tmp/$pkg.deb.list"
    rpm -qlp --nosignature "$rpm" 2>/dev/null | normalize > "$tmp/$pkg.rpm.list"
    if [ ! -s "$tmp/$pkg.rpm.list" ]; then
        echo "FAIL: $pkg: rpm -qlp lists nothing"
        failed=$((failed + 1))
    elif cmp -s "$tmp/$pkg.deb.list" "$tmp/$pkg.rpm.list"; then
        echo "ok: $pkg: the .rpm and the .deb hold the same $(wc -l < "$tmp/$pkg.rpm.list") paths"
        passed=$((passed + 1))
    else
        echo "FAIL: $pkg: the file lists differ (< .deb, > .rpm):"
        diff "$tmp/$pkg.deb.list" "$tmp/$pkg.rpm.list" | grep '^[<>]'
        failed=$((failed + 1))
    fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
