#!/bin/sh
# build-deb.sh: build the hotcpu and hotcpu-agent .debs from this tree.
#
#   packaging/build-deb.sh [OUTDIR]   (default OUTDIR: build-debs/ at the top,
#                                     which .gitignore already ignores)
#
# Copies the tree (tracked and untracked files, nothing git ignores, no
# build directories) to a temporary folder, puts packaging/debian at its top
# as debian/, runs `dpkg-buildpackage -b -us -uc` there and moves the .debs
# and the .buildinfo/.changes into OUTDIR.  The tree itself is not touched.
# Needs dpkg-dev, debhelper and the Build-Depends of packaging/debian/control
# (`dpkg-checkbuilddeps` in the copy says which are missing).
# DEB_BUILD_OPTIONS passes through (e.g. nocheck, parallel=2).
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$top/build-debs}
mkdir -p "$out"
out=$(cd "$out" && pwd)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/hotcpu-deb.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
src=$tmp/hotcpu
mkdir "$src"

if git -C "$top" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    # Files that exist: a deleted-but-tracked file would stop tar.
    # shellcheck disable=SC2016 # $f belongs to the inner sh
    git -C "$top" ls-files -z --cached --others --exclude-standard |
        (cd "$top" && xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh) |
        tar -C "$top" --null -T - -cf - | tar -C "$src" -xf -
else
    tar -C "$top" --exclude=./.git --exclude='./build*' --exclude=./_build \
        --exclude=./debian -cf - . | tar -C "$src" -xf -
fi
rm -rf "$src/debian"
cp -R "$top/packaging/debian" "$src/debian"
chmod +x "$src/debian/rules"

: "${DEB_BUILD_OPTIONS:=parallel=2}"
export DEB_BUILD_OPTIONS
(cd "$src" && dpkg-buildpackage -b -us -uc)

n=0
for f in "$tmp"/*.deb "$tmp"/*.buildinfo "$tmp"/*.changes; do
    [ -e "$f" ] || continue
    mv "$f" "$out/"
    case $f in *.deb) n=$((n + 1)) ;; esac
done
echo "build-deb.sh: $n .deb file(s) in $out"
[ "$n" -gt 0 ]
