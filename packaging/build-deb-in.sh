#!/bin/sh
# build-deb-in.sh: build the hotcpu-agent .deb inside a Debian root of
# another release, with that release's own compiler, glibc, glib, json-glib,
# meson and debhelper, and its tests (dh_auto_test).
#
#   packaging/build-deb-in.sh SUITE OUTDIR    (SUITE: bullseye, bookworm, trixie)
#
# A .deb built on Debian 12 links glibc 2.34 symbols and does not install on
# Debian 11: a guest gets a package built with its own release.  The build
# uses the profile pkg.hotcpu.agentonly (hotcpu-agent alone: the host side
# needs libvirt >= 9.0, which Debian 11 lacks) and packaging/build-deb.sh,
# run inside the root on a copy of this tree, exactly as a user would run it.
#
# The root (mmdebstrap minbase plus `apt-get build-dep` of
# packaging/debian/control for that profile) is cached as a tarball in
# $HOTCPU_CACHE_DIR (default /var/cache/hotcpu-tests), named by the hash of
# what makes it: the suite, the mirror, debian/control and this script.
# Only Debian's packages are downloaded (deb.debian.org, or
# $HOTCPU_DEBIAN_MIRROR).  Needs root, mmdebstrap and unshare.
set -eu

die() { echo "build-deb-in.sh: $*" >&2; exit 1; }
[ $# -eq 2 ] || die "usage: build-deb-in.sh SUITE OUTDIR"
suite=$1
out=$2
case $suite in
bullseye | bookworm | trixie) ;;
*) die "unknown suite '$suite' (bullseye, bookworm or trixie)" ;;
esac
[ "$(id -u)" = 0 ] || die "run as root (the build root is a chroot)"
command -v mmdebstrap >/dev/null || die "mmdebstrap not found; run scripts/deps.sh"

top=$(cd "$(dirname "$0")/.." && pwd)
# The release's own archive only: mmdebstrap's default adds
# security.debian.org, whose index can name files its pool no longer has.
mirror=${HOTCPU_DEBIAN_MIRROR:-"deb http://deb.debian.org/debian $suite main"}
cache=${HOTCPU_CACHE_DIR:-/var/cache/hotcpu-tests}
mkdir -p "$cache" "$out"
out=$(cd "$out" && pwd)

key=$({
    echo "suite $suite mirror $mirror"
    cat "$0" "$top/packaging/debian/control"
} | sha256sum | cut -c1-16)
base=$cache/buildroot-$suite-$key.tar

tmp=$(mktemp -d "${TMPDIR:-/tmp}/hotcpu-debin.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

if [ ! -s "$base" ]; then
    t0=$(date +%s)
    mkdir -p "$tmp/ctl"
    cp -R "$top/packaging/debian" "$tmp/ctl/debian"
    # shellcheck disable=SC2016 # "$1" is the hook's argument (the root)
    mmdebstrap --variant=minbase --quiet --include=dpkg-dev,ca-certificates \
        --customize-hook='mkdir -p "$1/tmp/ctl"' \
        --customize-hook="copy-in $tmp/ctl/debian /tmp/ctl" \
        --customize-hook='chroot "$1" apt-get build-dep -y -q --no-install-recommends --build-profiles=pkg.hotcpu.agentonly /tmp/ctl' \
        --customize-hook='rm -rf "$1/tmp/ctl" "$1"/var/cache/apt/archives/*.deb' \
        "$suite" "${base%.tar}.tmp.tar" "$mirror" </dev/null ||
        die "mmdebstrap of the $suite build root failed"
    mv "${base%.tar}.tmp.tar" "$base"
    # Older roots of this suite are of no more use.
    for old in "$cache"/buildroot-"$suite"-*.tar; do
        [ "$old" = "$base" ] || rm -f "$old"
    done
    echo "build-deb-in.sh: $suite build root made in $(($(date +%s) - t0)) s: $base"
fi

root=$tmp/root
mkdir -p "$root"
tar -C "$root" -xf "$base"

# This tree as build-deb.sh copies it (tracked and untracked files, nothing
# git ignores), into the root.
mkdir -p "$root/build/hotcpu" "$root/build/out"
if git -C "$top" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    # shellcheck disable=SC2016 # $f belongs to the inner sh
    git -C "$top" ls-files -z --cached --others --exclude-standard |
        (cd "$top" && xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh) |
        tar -C "$top" --null -T - -cf - | tar -C "$root/build/hotcpu" -xf -
else
    tar -C "$top" --exclude=./.git --exclude='./build*' -cf - . |
        tar -C "$root/build/hotcpu" -xf -
fi

t0=$(date +%s)
log=$out/build-deb-$suite.log
# A mount namespace of its own: /proc and /dev for the build, gone with it.
if ! unshare -m sh -c '
        set -e
        mount -t proc proc "$1/proc"
        mount --rbind /dev "$1/dev"
        exec chroot "$1" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
            DEB_BUILD_PROFILES=pkg.hotcpu.agentonly DEB_BUILD_OPTIONS=parallel=2 \
            sh /build/hotcpu/packaging/build-deb.sh /build/out' sh "$root" >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    die "the $suite package build failed (log: $log)"
fi
n=0
for f in "$root"/build/out/hotcpu-agent_*.deb; do
    [ -e "$f" ] || continue
    cp "$f" "$out/"
    n=$((n + 1))
done
[ "$n" -gt 0 ] || die "the $suite build made no hotcpu-agent .deb (log: $log)"
echo "build-deb-in.sh: hotcpu-agent built and tested in $suite in $(($(date +%s) - t0)) s: $(cd "$out" && echo hotcpu-agent_*.deb)"
