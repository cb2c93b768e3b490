#!/bin/sh
# build-rpm.sh: build the hotcpu and hotcpu-agent RPMs from this tree with
# packaging/hotcpu.spec.
#
#   packaging/build-rpm.sh [OUTDIR]   (default OUTDIR: build-rpms/ at the top)
#
# Makes hotcpu-VERSION.tar.xz of the tree (tracked and untracked files,
# nothing git ignores) in a temporary rpmbuild top folder and runs
# `rpmbuild -bb` there; the binary RPMs land in OUTDIR.  The tree is not
# touched.  On a machine whose rpm lacks Fedora's macros (Debian's rpm
# package), it loads packaging/rpm/macros.fedora-compat and passes --nodeps
# (the BuildRequires are Fedora names; Debian's equivalents come from
# scripts/deps.sh).  %check is skipped (--nocheck) unless RPM_CHECK=1: the
# test command runs the same suites on the build tree anyway.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$top/build-rpms}
mkdir -p "$out"
out=$(cd "$out" && pwd)
command -v rpmbuild >/dev/null || { echo "build-rpm.sh: rpmbuild not found (Debian: apt-get install rpm)" >&2; exit 1; }

version=$(sed -n 's/^Version: *//p' "$top/packaging/hotcpu.spec")
tmp=$(mktemp -d "${TMPDIR:-/tmp}/hotcpu-rpm.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
mkdir -p "$tmp/SOURCES" "$tmp/src/hotcpu-$version"

if git -C "$top" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    # shellcheck disable=SC2016 # $f belongs to the inner sh
    git -C "$top" ls-files -z --cached --others --exclude-standard |
        (cd "$top" && xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh) |
        tar -C "$top" --null -T - -cf - | tar -C "$tmp/src/hotcpu-$version" -xf -
else
    tar -C "$top" --exclude=./.git --exclude='./build*' --exclude=./_build -cf - . |
        tar -C "$tmp/src/hotcpu-$version" -xf -
fi
tar -C "$tmp/src" -cJf "$tmp/SOURCES/hotcpu-$version.tar.xz" "hotcpu-$version"

set -- --define "_topdir $tmp" --define "debug_package %{nil}" --define "_rpmdir $out"
if [ -z "$(rpm --eval '%{?meson:yes}')" ]; then
    set -- "$@" --load "$top/packaging/rpm/macros.fedora-compat" --nodeps
fi
[ "${RPM_CHECK:-0}" = 1 ] || set -- "$@" --nocheck
rpmbuild -bb "$@" "$top/packaging/hotcpu.spec"
echo "build-rpm.sh: $(find "$out" -name '*.rpm' | wc -l) .rpm file(s) in $out"
