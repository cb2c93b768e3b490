#!/bin/sh
# build-systemd-image.sh: builds the e2e systemd guest: a Debian 12 root
# (systemd, udev) on an ext4 disk image, with hotcpu-agent installed from
# the .deb that packaging/build-deb.sh made, booted with the host's own
# cloud kernel and initrd.  Only Debian's packages are downloaded (by
# mmdebstrap, from deb.debian.org or $HOTCPU_DEBIAN_MIRROR).
#
#   build-systemd-image.sh OUTDIR --debs DIR [--kernel VERSION]
#
# Writes OUTDIR/vmlinuz, OUTDIR/initrd.img and OUTDIR/rootfs.img (raw ext4,
# sparse; the harness boots each guest from a qcow2 overlay of it, so the
# tests may change the guest) and rebuilds only when an input changed:
# this script, guest-shell.sh, the hotcpu-agent .deb, the kernel, its
# initrd and modules (OUTDIR/inputs.sha256 records them).  Newer Debian
# packages alone do not rebuild it: remove OUTDIR/inputs.sha256 for that.
#
# The guest: mmdebstrap --variant=minbase with systemd-sysv, udev, kmod and
# the agent's libraries; the host's /usr/lib/modules/VERSION; the agent's
# .deb installed with dpkg -i (and kept as /root/hotcpu-agent.deb for the
# reinstall test); the tests' shell on /dev/ttyS1 (guest-shell.sh, as
# hotcpu-e2e-shell.service, enabled); apt's timers masked (no network).
# Nothing enables hotcpu-agent.service: its udev rule starts it.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
out=
debs=
kver=

while [ $# -gt 0 ]; do
    case "$1" in
    --debs) debs=$2; shift 2 ;;
    --kernel) kver=$2; shift 2 ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    -*) echo "build-systemd-image.sh: unknown option $1" >&2; exit 2 ;;
    *) out=$1; shift ;;
    esac
done
usage="usage: build-systemd-image.sh OUTDIR --debs DIR [--kernel VERSION]"
[ -n "$out" ] && [ -n "$debs" ] || { echo "$usage" >&2; exit 2; }

die() { echo "build-systemd-image.sh: $*" >&2; exit 1; }

if [ -z "$kver" ]; then
    for k in $(ls -1 /boot/vmlinuz-*-cloud-amd64 2>/dev/null | sort -V); do
        v=${k#/boot/vmlinuz-}
        [ -d "/usr/lib/modules/$v" ] && [ -r "/boot/initrd.img-$v" ] && kver=$v
    done
fi
[ -n "$kver" ] || die "no /boot/vmlinuz-*-cloud-amd64 with its initrd and modules; install linux-image-cloud-amd64 (scripts/deps.sh)"
kernel=/boot/vmlinuz-$kver
initrd=/boot/initrd.img-$kver
moddir=/usr/lib/modules/$kver
for p in mmdebstrap mkfs.ext4; do
    command -v $p >/dev/null || die "$p not found; run scripts/deps.sh"
done
# The newest hotcpu-agent .deb in DIR (there should be one).
deb=$(ls -1 "$debs"/hotcpu-agent_*.deb 2>/dev/null | sort -V | tail -n1)
[ -n "$deb" ] || die "no hotcpu-agent_*.deb in $debs (packaging/build-deb.sh $debs makes it)"

mkdir -p "$out"
out=$(cd "$out" && pwd)
stamp=$out/inputs.sha256
new_stamp=$out/inputs.sha256.new
{
    echo "kver $kver mirror ${HOTCPU_DEBIAN_MIRROR:-default}"
    sha256sum "$0" "$here/guest-shell.sh" "$deb" "$kernel" "$initrd" \
        "$moddir/modules.dep" "$moddir/modules.order" | sed "s|  .*/|  |"
} > "$new_stamp"
if [ -f "$out/rootfs.img" ] && [ -f "$out/vmlinuz" ] && [ -f "$out/initrd.img" ] &&
    cmp -s "$stamp" "$new_stamp"; then
    rm -f "$new_stamp"
    echo "systemd guest image up to date: $out"
    exit 0
fi
rm -f "$stamp"

t0=$(date +%s)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/hotcpu-sysimg.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
root=$tmp/root

# What the customize hooks put into the root.
mkdir -p "$tmp/files"
cp "$deb" "$tmp/files/hotcpu-agent.deb"
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
mmdebstrap --variant=minbase --quiet \
    --include=systemd-sysv,udev,kmod,libglib2.0-0,libjson-glib-1.0-0 \
    --customize-hook='mkdir -p "$1/usr/lib/modules" "$1/usr/local/sbin"' \
    --customize-hook="copy-in $moddir /usr/lib/modules" \
    --customize-hook="copy-in $tmp/files/hotcpu-agent.deb /root" \
    --customize-hook='chroot "$1" dpkg -i /root/hotcpu-agent.deb' \
    --customize-hook="copy-in $tmp/files/hotcpu-e2e-shell /usr/local/sbin" \
    --customize-hook="copy-in $tmp/files/hotcpu-e2e-shell.service /etc/systemd/system" \
    --customize-hook='chroot "$1" systemctl enable hotcpu-e2e-shell.service' \
    --customize-hook='chroot "$1" systemctl mask apt-daily.timer apt-daily-upgrade.timer' \
    --customize-hook='echo hotcpu-systemd > "$1/etc/hostname"' \
    --customize-hook='echo "/dev/vda / ext4 rw,noatime 0 1" > "$1/etc/fstab"' \
    --customize-hook='rm -rf "$1"/var/cache/apt/*.bin "$1"/var/lib/apt/lists/*_Packages' \
    bookworm "$root" ${HOTCPU_DEBIAN_MIRROR:+"$HOTCPU_DEBIAN_MIRROR"} </dev/null \
    || die "mmdebstrap failed"
chmod 0755 "$root/usr/local/sbin/hotcpu-e2e-shell"
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
echo "systemd guest image built in $(( $(date +%s) - t0 )) s: $out (kernel $kver, $(basename "$deb"), root $mib MiB)"
