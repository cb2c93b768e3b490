#!/usr/bin/env bash
# Installs what hotcpu needs to build, package, test and run its demo on
# Debian 12, as root: the build chain, libraries and packaging tools from
# bookworm, and the virtualization stack (libvirt 11.3, QEMU 10.0) from
# bookworm-backports, whose libvirt recovers from vCPU unplug timeouts where
# 9.0 cannot.  Idempotent.
set -euo pipefail

if [ "$(id -u)" != 0 ]; then
    echo "scripts/deps.sh: run as root (apt-get install)" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt_opts=(-y -q -o Dpkg::Options::=--force-confold -o DPkg::Lock::Timeout=300)

build_pkgs=(meson ninja-build pkg-config gcc libglib2.0-dev libjson-glib-dev
            libcunit1-dev)
# The VDSM-style hooks of tests/hooks/vdsm (#!/usr/bin/python3, as VDSM's)
# and scripts/test-summary.py.
test_pkgs=(python3)
# The fuzz targets (tests/fuzz): clang and its libFuzzer/sanitizer runtimes;
# clang-format for the style test (tests/style).
fuzz_pkgs=(clang libclang-rt-14-dev clang-format)
# Man pages (scdoc, checked with man-db's man and col) and bash completion.
doc_pkgs=(scdoc man-db bsdextrautils bash-completion)
# The .debs (packaging/build-deb.sh), lintian, the RPM spec (rpmbuild).
pkg_pkgs=(dpkg-dev debhelper lintian rpm xz-utils systemd)
# The e2e guests: busybox initramfs, and the Debian systemd guest on an
# ext4 disk (mmdebstrap, mkfs.ext4 -d).
guest_pkgs=(linux-image-cloud-amd64 busybox-static cpio mmdebstrap e2fsprogs)
# The Cockpit page's browser test (tests/e2e/test_cockpit.c): cockpit-ws and
# its bridge, the shell (cockpit-system) the page runs in, and Debian's
# Chromium, driven headless over the DevTools protocol.  node and npm (the
# page's build, cockpit/build.sh) come with the machine; where they do not,
# Debian's (node 18, the page's floor).
cockpit_pkgs=(cockpit-ws cockpit-bridge cockpit-system chromium)
if ! command -v npm >/dev/null || ! command -v node >/dev/null; then
    cockpit_pkgs+=(nodejs npm)
fi
virt_pkgs=(qemu-system-x86 qemu-utils libvirt-daemon libvirt-daemon-driver-qemu
           libvirt-clients libvirt-dev)

missing() {
    local p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || echo "$p"
    done
}

backports=/etc/apt/sources.list.d/bookworm-backports.sources
need_update=0
if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    cat > "$backports" <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
    need_update=1
fi

todo_main=$(missing "${build_pkgs[@]}" "${test_pkgs[@]}" "${doc_pkgs[@]}" "${pkg_pkgs[@]}" \
    "${guest_pkgs[@]}" "${fuzz_pkgs[@]}" "${cockpit_pkgs[@]}")
# The virt stack must come from backports: an installed 9.0 libvirt counts as missing.
todo_virt=$(missing "${virt_pkgs[@]}")
if command -v libvirtd >/dev/null && libvirtd --version | grep -q ' 9\.'; then
    todo_virt="${virt_pkgs[*]}"
fi

# Another install may hold dpkg's lock for a while: wait and retry on that
# (and only that) instead of failing.
apt_retry() {
    local try out
    for try in 1 2 3 4 5 6; do
        if out=$(apt-get "$@" 2>&1); then
            printf '%s\n' "$out"
            return 0
        fi
        printf '%s\n' "$out" >&2
        grep -qiE 'could not get lock|unable to acquire|lock-frontend|is another process using it' \
            <<<"$out" || return 1
        echo "scripts/deps.sh: apt is locked by another process; retrying in 20 s ($try/6)" >&2
        sleep 20
    done
    return 1
}

if [ -n "$todo_main$todo_virt" ] || [ "$need_update" = 1 ]; then
    apt_retry update -q
fi
if [ -n "$todo_main" ]; then
    # shellcheck disable=SC2086
    apt_retry install "${apt_opts[@]}" $todo_main
fi
if [ -n "$todo_virt" ]; then
    # shellcheck disable=SC2086
    apt_retry install "${apt_opts[@]}" -t bookworm-backports $todo_virt
fi
