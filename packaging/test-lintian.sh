#!/bin/sh
# test-lintian.sh DEB-DIR: lintian on the hotcpu, hotcpu-agent and cockpit-hotcpu .debs of
# DEB-DIR (packaging/build-deb.sh DEB-DIR makes them).  Every error and
# warning fails, except the placeholder maintainer address (bogus-mail-host,
# bogus-mail-host-in-debian-changelog: hotcpu@localhost until the project
# has a real one).  Overrides, each with its reason, are in
# packaging/debian/*.lintian-overrides.  Registered as the meson test
# 'lintian' (suite packages).  Prints "N passed, N failed".
set -u
dir=$1
allowed='bogus-mail-host|bogus-mail-host-in-debian-changelog'

fail_early() { echo "FAIL: $1"; echo "0 passed, 1 failed"; exit 1; }
command -v lintian >/dev/null || fail_early "lintian is missing (scripts/deps.sh installs it)"

passed=0 failed=0
for pkg in hotcpu hotcpu-agent cockpit-hotcpu; do
    deb=$(ls -1 "$dir/${pkg}"_*.deb 2>/dev/null | sort -V | tail -n1)
    if [ -z "$deb" ]; then
        echo "FAIL: no ${pkg}_*.deb in $dir (packaging/build-deb.sh $dir makes it; scripts/test does)"
        failed=$((failed + 1))
        continue
    fi
    out=$(lintian --display-info --pedantic "$deb" 2>&1 | grep -v 'running with root privileges')
    printf '%s\n' "$out" | sed "s|^|  $pkg: |"
    bad=$(printf '%s\n' "$out" | grep -E '^[EW]: ' | grep -Ev "^E: $pkg: ($allowed) ")
    if [ -z "$bad" ]; then
        echo "ok: lintian $(basename "$deb"): no error or warning but the placeholder address"
        passed=$((passed + 1))
    else
        echo "FAIL: lintian $(basename "$deb"):"
        printf '%s\n' "$bad"
        failed=$((failed + 1))
    fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
