#!/usr/bin/env bash
# libvirt-floor.sh SRC BUILD: builds hotcpu's host side (hotcpu-ctl, the
# hooks, libhotcpu-host, the tests' libvirt shims) against libvirt 9.0, the
# floor meson.build asks for and Debian 12 ships: the headers of
# libvirt-dev 9.0 and its libvirt.so, unpacked (not installed) into a cache
# outside the build folder, pkg-config pointed at them.  A macro or a
# function newer than 9.0 fails the compile or the link (libvirt's symbols
# are versioned).  Fails, never skips, when the packages cannot be had.
set -euo pipefail

src=$1
build=$2
want=9.0
cache=${HOTCPU_TEST_CACHE:-/var/cache/hotcpu-tests}/libvirt-floor

mkdir -p "$cache"
# Debian 12's own packages (not bookworm-backports'), by apt's own client;
# their file names (versions) name the unpacked tree.
debs=$cache/debs
mkdir -p "$debs"
if ! (cd "$debs" && apt-get download -q libvirt-dev/bookworm libvirt0/bookworm >download.log 2>&1)
then
    # offline: an earlier download will do
    if ! ls "$debs"/libvirt-dev_*.deb >/dev/null 2>&1; then
        cat "$debs/download.log" >&2
        echo "libvirt-floor: cannot download Debian 12's libvirt-dev and libvirt0" >&2
        exit 1
    fi
fi
dev_deb=$(ls -t "$debs"/libvirt-dev_${want}.*.deb | head -1)
lib_deb=$(ls -t "$debs"/libvirt0_${want}.*.deb | head -1)
tree=$cache/$(basename "$dev_deb" .deb)
if [ ! -f "$tree/.done" ]; then
    rm -rf "$tree"
    mkdir -p "$tree"
    dpkg-deb -x "$dev_deb" "$tree"
    dpkg-deb -x "$lib_deb" "$tree"
    # pkg-config files that name the unpacked tree instead of /usr, its
    # headers system headers as /usr/include's are (warnings in their
    # macros are libvirt's, as in a real install)
    mkdir -p "$tree/pc"
    for pc in "$tree"/usr/lib/*/pkgconfig/libvirt*.pc; do
        sed -E -e "s@^(prefix|exec_prefix|libdir|includedir|datarootdir)=/usr@\1=$tree/usr@" \
            -e 's@-I\$\{includedir\}@-isystem ${includedir}@' \
            "$pc" >"$tree/pc/$(basename "$pc")"
    done
    touch "$tree/.done"
fi
version=$(PKG_CONFIG_PATH=$tree/pc pkg-config --modversion libvirt)
case $version in
    "$want".*) ;;
    *) echo "libvirt-floor: the unpacked libvirt is $version, not $want" >&2; exit 1 ;;
esac
libdir=$(PKG_CONFIG_PATH=$tree/pc pkg-config --variable=libdir libvirt)
echo "libvirt-floor: building $src against libvirt $version ($tree)"

# libvirt.so 9.0's own dependencies (yajl, ...) need not be on this host:
# the link checks our symbols against it, not its against theirs.
rm -rf "$build"
PKG_CONFIG_PATH=$tree/pc LDFLAGS="-Wl,--allow-shlib-undefined -Wl,-rpath-link,$libdir" \
    meson setup "$build" "$src" -Dhost=enabled -Dtests=enabled -Dman=disabled \
    -Dwerror=true >"$build.setup.log" 2>&1 || { cat "$build.setup.log"; exit 1; }
grep -q "Run-time dependency libvirt found: YES $version" "$build/meson-logs/meson-log.txt" || {
    echo "libvirt-floor: meson did not pick libvirt $version" >&2
    exit 1
}
ninja -C "$build" -j 2
# The programs link the 9.0 library: the newest libvirt symbol version
# they reference is at most 9.0.0.
for prog in host-ctl/hotcpu-ctl host-hooks/hotcpu-agent-hook-before; do
    newest=$(objdump -T "$build/$prog" | grep -o 'LIBVIRT_[0-9.]*' | sed 's/LIBVIRT_//' \
        | sort -V | tail -1)
    if [ -z "$newest" ]; then
        echo "libvirt-floor: $prog does not link libvirt" >&2
        exit 1
    fi
    if [ "$(printf '%s\n%s\n' "$newest" "$want.0" | sort -V | tail -1)" != "$want.0" ]; then
        echo "libvirt-floor: $prog needs libvirt $newest" >&2
        exit 1
    fi
    echo "libvirt-floor: $prog: newest libvirt symbol version $newest"
done
grep -Eq "dependency\('libvirt'.*'>= *$want'" "$src/meson.build" || {
    echo "libvirt-floor: meson.build does not ask for libvirt >= $want" >&2
    exit 1
}
echo "libvirt-floor: the host side builds against libvirt $version"
