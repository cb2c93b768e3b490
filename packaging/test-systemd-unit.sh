#!/bin/sh
# test-systemd-unit.sh UNIT_IN BINDIR: systemd-analyze verify on the
# template unit as meson generates it (@bindir@ -> BINDIR, where hotcpu-ctl
# was built), for one instance.  Any warning fails: systemd ignores a line
# it cannot parse and starts the unit anyway, which would hide the mistake.
set -eu
unit_in=$1 bindir=$2
command -v systemd-analyze >/dev/null || {
    echo "FAIL: systemd-analyze missing (package systemd; scripts/deps.sh installs it)"
    exit 1
}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
sed "s|@bindir@|$bindir|g" "$unit_in" >"$dir/hotcpu-autoscale@.service"
out=$(cd "$dir" && systemd-analyze verify --man=no ./hotcpu-autoscale@web1.service 2>&1) || {
    echo "FAIL: systemd-analyze verify: $out"
    exit 1
}
if [ -n "$out" ]; then
    echo "FAIL: systemd-analyze verify warns: $out"
    exit 1
fi
echo "ok: hotcpu-autoscale@web1.service verifies"
