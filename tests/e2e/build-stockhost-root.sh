#!/bin/sh
# build-stockhost-root.sh: the e2e "stock host": a Debian 12 root with
# Debian 12's own libvirt 9.0 and QEMU 7.2 (bookworm, bookworm-updates and
# bookworm-security; never bookworm-backports, whatever this machine's apt
# sources say), for tests/e2e/test_stockhost.c, whose libvirtd runs from it
# in a namespace of its own (stockhost.c).
#
#   build-stockhost-root.sh CACHEDIR
#
# Writes CACHEDIR/root and prints its path.  Rebuilt only when this script
# or the mirror changed (CACHEDIR/inputs.sha256): CACHEDIR lies outside the
# build folder (default in the harness: /var/cache/hotcpu-tests), so reruns
# and fresh build folders on one machine reuse it.  About 3 min and 400 MiB
# the first time.  Only Debian's packages are downloaded, by mmdebstrap,
# from deb.debian.org or $HOTCPU_DEBIAN_MIRROR.
set -eu

out=${1:?usage: build-stockhost-root.sh CACHEDIR}
die() { echo "build-stockhost-root.sh: $*" >&2; exit 1; }
command -v mmdebstrap >/dev/null || die "mmdebstrap not found; run scripts/deps.sh"

mirror=${HOTCPU_DEBIAN_MIRROR:-http://deb.debian.org/debian}
security=${HOTCPU_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
# libvirt-daemon-system: the libvirt-qemu user and the stock configuration;
# libglib2.0-0 and libjson-glib-1.0-0: hotcpu-ctl and the hooks run in the
# root too, against its libvirt0 9.0.
pkgs=libvirt-daemon-system,libvirt-daemon-driver-qemu,libvirt-clients,qemu-system-x86,libglib2.0-0,libjson-glib-1.0-0

mkdir -p "$out"
out=$(cd "$out" && pwd)
stamp=$out/inputs.sha256
{
    echo "mirror $mirror $security packages $pkgs"
    sha256sum "$0" | sed "s|  .*/|  |"
} >"$stamp.new"
if [ -x "$out/root/usr/sbin/libvirtd" ] && cmp -s "$stamp" "$stamp.new"; then
    rm -f "$stamp.new"
    echo "$out/root"
    exit 0
fi
rm -f "$stamp"
rm -rf "$out/root" "$out/root.tmp"
t0=$(date +%s)
mmdebstrap --variant=minbase --quiet --include="$pkgs" \
    --customize-hook='rm -rf "$1"/var/cache/apt/*.bin "$1"/var/lib/apt/lists/*_Packages' \
    bookworm "$out/root.tmp" \
    "deb $mirror bookworm main" "deb $mirror bookworm-updates main" \
    "deb $security bookworm-security main" </dev/null >&2 || die "mmdebstrap failed"
v=$(chroot "$out/root.tmp" dpkg-query -W -f='${Version}' libvirt-daemon)
case $v in 9.0.*) ;; *) die "the root has libvirt $v, not Debian 12's 9.0" ;; esac
mv "$out/root.tmp" "$out/root"
mv "$stamp.new" "$stamp"
echo "stock host root built in $(($(date +%s) - t0)) s: libvirt $v, $(chroot "$out/root" dpkg-query -W -f='QEMU ${Version}' qemu-system-x86)" >&2
echo "$out/root"
