#!/bin/sh
# build-systemd-image.sh: builds an e2e systemd guest: a Debian root
# (systemd, udev) on an ext4 disk image, with hotcpu-agent installed from a
# .deb built for that release, booted with the host's cloud kernel or the
# release's own.  Only Debian's packages are downloaded (by mmdebstrap,
# from deb.debian.org or $HOTCPU_DEBIAN_MIRROR).
#
#   build-systemd-image.sh OUTDIR --debs DIR [--suite SUITE] [--own-kernel]
#                                 [--kernel VERSION]
#
# SUITE: bookworm (default), bullseye or trixie.  --own-kernel boots the
# release's own linux-image-cloud-amd64 (Debian 11: 5.10, Debian 13: 6.12)
# instead of the host's (--kernel VERSION picks one of the host's).
#
# Writes OUTDIR/vmlinuz, OUTDIR/initrd.img and OUTDIR/rootfs.img (raw ext4,
# sparse; the harness boots each guest from a qcow2 overlay of it, so the
# tests may change the guest) and rebuilds only when an input changed
# (OUTDIR/inputs.sha256 records them).  Two stages, each cached by the hash
# of its inputs:
#   - the base root: mmdebstrap --variant=minbase of SUITE with
#     systemd-sysv, udev, kmod, the agent's run-time dependencies (from the
#     .deb's Depends), the release's kernel with --own-kernel, the tests'
#     shell on /dev/ttyS1 (guest-shell.sh, as hotcpu-e2e-shell.service) and
#     apt's timers masked; a tarball in $HOTCPU_CACHE_DIR (default
#     /var/cache/hotcpu-tests), so that a new .deb costs seconds, not a
#     bootstrap;
#   - the image: that root, the host's /usr/lib/modules/VERSION (host
#     kernel), the agent's .deb installed with dpkg -i (and kept as
#     /root/hotcpu-agent.deb for the reinstall test).
# Nothing enables hotcpu-agent.service: its udev rule starts it.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
out=
debs=
kver=
suite=bookworm
own_kernel=0

while [ $# -gt 0 ]; do
    case "$1" in
    --debs) debs=$2; shift 2 ;;
    --kernel) kver=$2; shift 2 ;;
    --suite) suite=$2; shift 2 ;;
    --own-kernel) own_kernel=1; shift ;;
    -h|--help) sed -n '2,30p' "$0"; exit 0 ;;
    -*) echo "build-systemd-image.sh: unknown option $1" >&2; exit 2 ;;
    *) out=$1; shift ;;
    esac
done
usage="usage: build-systemd-image.sh OUTDIR --debs DIR [--suite SUITE] [--own-kernel] [--kernel VERSION]"
[ -n "$out" ] && [ -n "$debs" ] || { echo "$usage" >&2; exit 2; }

die() { echo "build-systemd-image.sh: $*" >&2; exit 1; }

case $suite in
bullseye | bookworm | trixie) ;;
*) die "unknown suite '$suite' (bullseye, bookworm or trixie)" ;;
esac
for p in mmdebstrap mkfs.ext4; do
    command -v $p >/dev/null || die "$p not found; run scripts/deps.sh"
done
# The newest hotcpu-agent .deb in DIR (there should be one).
deb=$(ls -1 "$debs"/hotcpu-agent_*.deb 2>/dev/null | sort -V | tail -n1)
[ -n "$deb" ] || die "no hotcpu-agent_*.deb in $debs (packaging/build-deb.sh or build-deb-in.sh makes it)"

if [ "$own_kernel" = 0 ] && [ -z "$kver" ]; then
    for k in $(ls -1 /boot/vmlinuz-*-cloud-amd64 2>/dev/null | sort -V); do
        v=${k#/boot/vmlinuz-}
        [ -d "/usr/lib/modules/$v" ] && [ -r "/boot/initrd.img-$v" ] && kver=$v
    done
    [ -n "$kver" ] || die "no /boot/vmlinuz-*-cloud-amd64 with its initrd and modules; install linux-image-cloud-amd64 (scripts/deps.sh)"
fi

# The agent's run-time dependencies, by name, from the .deb itself (they
# differ between releases: libglib2.0-0 became libglib2.0-0t64 in trixie).
agent_deps=$(dpkg-deb -f "$deb" Depends | tr ',' '\n' | sed 's/[(|].*//; s/[[:space:]]//g' |
    grep -v '^$' | sort -u | tr '\n' ',' | sed 's/,$//')
include="systemd-sysv,udev,kmod,$agent_deps"
[ "$own_kernel" = 0 ] || include="$include,linux-image-cloud-amd64,initramfs-tools"

# The release's own archive only: mmdebstrap's default adds
# security.debian.org, which has newer kernels in its index than in its
# pool for the LTS release (Debian 11's linux-image-cloud-amd64: 404).
mirror=${HOTCPU_DEBIAN_MIRROR:-"deb http://deb.debian.org/debian $suite main"}

cache=${HOTCPU_CACHE_DIR:-/var/cache/hotcpu-tests}
mkdir -p "$cache" "$out"
out=$(cd "$out" && pwd)
# The base root's inputs: this script, the shell, the package list.
base_key=$({
    echo "suite $suite mirror $mirror include $include"
    cat "$0" "$here/guest-shell.sh"
} | sha256sum | cut -c1-16)
base=$cache/guestroot-$suite-$base_key.tar

stamp=$out/inputs.sha256
new_stamp=$out/inputs.sha256.new
{
    echo "suite $suite base $base_key own-kernel $own_kernel kver ${kver:-own}"
    if [ "$own_kernel" = 0 ]; then
        sha256sum "/boot/vmlinuz-$kver" "/boot/initrd.img-$kver" \
            "/usr/lib/modules/$kver/modules.dep" "/usr/lib/modules/$kver/modules.order"
    fi
    sha256sum "$deb"
} | sed "s|  .*/|  |" > "$new_stamp"
if [ -f "$out/rootfs.img" ] && [ -f "$out/vmlinuz" ] && [ -f "$out/initrd.img" ] &&
    [ -s "$base" ] && cmp -s "$stamp" "$new_stamp"; then
    rm -f "$new_stamp"
    echo "systemd guest image ($suite) up to date: $out"
    exit 0
fi
rm -f "$stamp"

t0=$(date +%s)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/hotcpu-sysimg.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
root=$tmp/root

if [ ! -s "$base" ]; then
    mkdir -p "$tmp/files"
    cp "$here/guest-shell.sh" "$tmp/files/hotcpu-e2e-shell"
    cat > "$tmp/files/hotcpu-e2e-shell.service" <<'UNIT'
# The e2e tests' root shell on the second UART (tests/e2e/guest-shell.sh).
# Not part of hotcpu: only this test image has it.
[Unit]
Description=hotcpu e2e test shell on ttyS1

[Service]
ExecStart=/usr/local/sbin/hotcpu-e2e-shell /dev/ttyS1
Restart=always
RestartSec=1

[Install]
WantedBy=multi-user.target
UNIT
    # shellcheck disable=SC2016 # "$1" is the hook's argument (the root)
    mmdebstrap --variant=minbase --quiet --include="$include" \
        --customize-hook='mkdir -p "$1/usr/lib/modules" "$1/usr/local/sbin"' \
        --customize-hook="copy-in $tmp/files/hotcpu-e2e-shell /usr/local/sbin" \
        --customize-hook='chmod 0755 "$1/usr/local/sbin/hotcpu-e2e-shell"' \
        --customize-hook="copy-in $tmp/files/hotcpu-e2e-shell.service /etc/systemd/system" \
        --customize-hook='chroot "$1" systemctl enable hotcpu-e2e-shell.service' \
        --customize-hook='chroot "$1" systemctl mask apt-daily.timer apt-daily-upgrade.timer' \
        --customize-hook='echo hotcpu-systemd > "$1/etc/hostname"' \
        --customize-hook='echo "/dev/vda / ext4 rw,noatime 0 1" > "$1/etc/fstab"' \
        --customize-hook='rm -rf "$1"/var/cache/apt/*.bin "$1"/var/lib/apt/lists/*_Packages "$1"/var/cache/apt/archives/*.deb' \
        "$suite" "${base%.tar}.tmp.tar" "$mirror" </dev/null \
        || die "mmdebstrap of the $suite guest root failed"
    mv "${base%.tar}.tmp.tar" "$base"
    for old in "$cache"/guestroot-"$suite"-*.tar; do
        [ "$old" = "$base" ] || rm -f "$old"
    done
    echo "build-systemd-image.sh: $suite guest root made in $(($(date +%s) - t0)) s: $base"
fi

mkdir -p "$root"
tar -C "$root" -xf "$base"
if [ "$own_kernel" = 1 ]; then
    kernel=$(ls -1 "$root"/boot/vmlinuz-* 2>/dev/null | sort -V | tail -n1)
    [ -n "$kernel" ] || die "the $suite root has no kernel in /boot"
    kver=${kernel##*/vmlinuz-}
    initrd=$root/boot/initrd.img-$kver
    [ -r "$initrd" ] || die "the $suite root has no initrd for $kver"
else
    kernel=/boot/vmlinuz-$kver
    initrd=/boot/initrd.img-$kver
    cp -a "/usr/lib/modules/$kver" "$root/usr/lib/modules/"
fi
cp "$deb" "$root/root/hotcpu-agent.deb"
chroot "$root" dpkg -i /root/hotcpu-agent.deb >"$tmp/dpkg.log" 2>&1 ||
    { cat "$tmp/dpkg.log" >&2; die "dpkg -i $(basename "$deb") failed in the $suite root"; }
[ -x "$root/usr/sbin/hotcpu-agent" ] || die "hotcpu-agent is not installed in the root"

# Room for the tests (apt, the journal): the root's size plus 256 MiB.
mib=$(du -sm "$root" | cut -f1)
rm -f "$out/rootfs.img"
mkfs.ext4 -q -F -L hotcpu-root -d "$root" "$out/rootfs.img.tmp" "$((mib + 256))M" ||
    die "mkfs.ext4 -d failed"
mv "$out/rootfs.img.tmp" "$out/rootfs.img"
# Debian's /boot files may be readable by root only, and libvirt relabels
# what a domain uses: the guest gets copies of its own.
cp "$kernel" "$out/vmlinuz"
cp "$initrd" "$out/initrd.img"
chmod 0644 "$out/vmlinuz" "$out/initrd.img" "$out/rootfs.img"
mv "$new_stamp" "$stamp"
echo "systemd guest image built in $(( $(date +%s) - t0 )) s: $out ($suite, kernel $kver, $(basename "$deb"), root $mib MiB)"
