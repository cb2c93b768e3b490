#!/bin/sh
# build-guest-image.sh: builds the e2e guest (kernel + initramfs) from what the
# host already has: the Debian cloud kernel and its virtio modules,
# busybox-static, hotcpu-agent and the shared libraries it needs (found with
# ldd), optionally qemu-ga (the guest without hotcpu-agent, the benchmark)
# and systemd-udevd (the benchmark).  Nothing is
# downloaded.
#
#   build-guest-image.sh OUTDIR [--agent PATH] [--qemu-ga PATH] [--udevd PATH]
#                        [--kernel VERSION]
#
# --udevd PATH (default: $HOTCPU_UDEVD, "none" for none) is the host's udevadm
# (/lib/systemd/systemd-udevd links to it): copied as /usr/bin/udevadm with
# /lib/systemd/systemd-udevd pointing to it, plus the one udev rule people
# use to online hot-added CPUs, /etc/udev/rules.d/80-hotplug-cpu.rules.  The
# guest does not start it by itself: the benchmark runs `udevd-start`.
#
# Writes OUTDIR/vmlinuz and OUTDIR/initramfs.cpio.gz, and rebuilds only when
# an input (this script, the init template, the kernel, a module, busybox, the
# agent, qemu-ga, udevadm, a library) changed: OUTDIR/inputs.sha256 records
# them.
#
# The guest's init (tests/e2e/guest-init.sh) loads the virtio modules, mounts
# proc/sys/dev, creates /dev/virtio-ports/NAME links, runs a command shell on
# /dev/ttyS1 for the tests and keeps hotcpu-agent running on the real port.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
out=
agent=
qemu_ga=
udevd=${HOTCPU_UDEVD:-}
kver=

while [ $# -gt 0 ]; do
    case "$1" in
    --agent) agent=$2; shift 2 ;;
    --qemu-ga) qemu_ga=$2; shift 2 ;;
    --udevd) udevd=$2; shift 2 ;;
    --kernel) kver=$2; shift 2 ;;
    -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
    -*) echo "build-guest-image.sh: unknown option $1" >&2; exit 2 ;;
    *) out=$1; shift ;;
    esac
done
[ -n "$out" ] || { echo "usage: build-guest-image.sh OUTDIR [--agent PATH] [--qemu-ga PATH] [--udevd PATH] [--kernel VERSION]" >&2; exit 2; }
[ "$udevd" != none ] || udevd=

die() { echo "build-guest-image.sh: $*" >&2; exit 1; }

if [ -z "$kver" ]; then
    # The newest Debian cloud kernel whose modules are installed.
    for k in $(ls -1 /boot/vmlinuz-*-cloud-amd64 2>/dev/null | sort -V); do
        v=${k#/boot/vmlinuz-}
        [ -d "/lib/modules/$v" ] && kver=$v
    done
fi
[ -n "$kver" ] || die "no /boot/vmlinuz-*-cloud-amd64 with modules in /lib/modules; install linux-image-cloud-amd64 (scripts/deps.sh)"
kernel=/boot/vmlinuz-$kver
[ -r "$kernel" ] || die "cannot read $kernel"
busybox=$(command -v busybox || true)
[ -n "$busybox" ] || die "busybox not found; install busybox-static (scripts/deps.sh)"
if LC_ALL=C ldd "$busybox" >/dev/null 2>&1; then
    die "$busybox is not statically linked; install busybox-static (scripts/deps.sh)"
fi
command -v cpio >/dev/null || die "cpio not found; install cpio (scripts/deps.sh)"
[ -z "$agent" ] || [ -x "$agent" ] || die "agent $agent is not an executable"
[ -z "$qemu_ga" ] || [ -x "$qemu_ga" ] || die "qemu-ga $qemu_ga is not an executable"
[ -z "$udevd" ] || [ -x "$udevd" ] || die "udevd $udevd is not an executable (Debian package udev: /bin/udevadm)"

# Order matters: each depends on the ones before.
modules="virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_console"
modpaths=
for m in $modules; do
    p=$(find "/lib/modules/$kver/kernel/drivers" -name "$m.ko" -o -name "$m.ko.xz" -o -name "$m.ko.zst" -o -name "$m.ko.gz" | head -n1)
    if [ -z "$p" ]; then
        # Built into the kernel?  Then there is nothing to load.
        grep -qs "/$m.ko" "/lib/modules/$kver/modules.builtin" && continue
        die "module $m not found under /lib/modules/$kver"
    fi
    modpaths="$modpaths $p"
done

# The host's os-release (Debian 12): qemu-ga reads it for guest-get-osinfo,
# which is how hotcpu-ctl tells a Linux guest from a Windows one.
os_release=$(readlink -f /etc/os-release 2>/dev/null || true)
[ -r "$os_release" ] || os_release=

# Shared libraries of the dynamic programs, with the dynamic loader.
libs_of() {
    LC_ALL=C ldd "$1" | awk '/=> \// { print $3 } /^[[:space:]]*\/[^ ]*ld-linux/ { print $1 }'
}
libs=
for prog in $agent $qemu_ga $udevd; do
    libs="$libs $(libs_of "$prog")"
done
libs=$(printf '%s\n' $libs | sort -u)

mkdir -p "$out"
stamp=$out/inputs.sha256
new_stamp=$out/inputs.sha256.new
{
    echo "kver $kver agent $agent qemu_ga $qemu_ga udevd $udevd"
    sha256sum "$0" "$here/guest-init.sh" "$kernel" "$busybox" $modpaths $libs $agent $qemu_ga $udevd $os_release
} > "$new_stamp"
if [ -f "$out/initramfs.cpio.gz" ] && [ -f "$out/vmlinuz" ] && cmp -s "$stamp" "$new_stamp"; then
    rm -f "$new_stamp"
    echo "guest image up to date: $out"
    exit 0
fi

root=$out/root
rm -rf "$root"
mkdir -p "$root"/bin "$root"/sbin "$root"/usr/bin "$root"/usr/sbin "$root"/lib/modules \
         "$root"/proc "$root"/sys "$root"/dev "$root"/run "$root"/tmp "$root"/etc "$root"/root
cp "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list); do
    [ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
done
for p in $modpaths; do
    name=$(basename "$p")
    case "$name" in
    *.ko.xz) xz -dc "$p" > "$root/lib/modules/${name%.xz}" ;;
    *.ko.zst) zstd -qdc "$p" > "$root/lib/modules/${name%.zst}" ;;
    *.ko.gz) gzip -dc "$p" > "$root/lib/modules/${name%.gz}" ;;
    *) cp "$p" "$root/lib/modules/$name" ;;
    esac
done
echo "$modules" > "$root/lib/modules/order"
for l in $libs; do
    mkdir -p "$root$(dirname "$l")"
    cp -L "$l" "$root$l"
done
# The loader must also be where the programs' PT_INTERP says.
[ -e "$root/lib64/ld-linux-x86-64.so.2" ] || {
    if [ -e /lib64/ld-linux-x86-64.so.2 ] && [ -n "$libs" ]; then
        mkdir -p "$root/lib64"; cp -L /lib64/ld-linux-x86-64.so.2 "$root/lib64/"
    fi
}
[ -z "$agent" ] || cp "$agent" "$root/usr/sbin/hotcpu-agent"
[ -z "$qemu_ga" ] || cp "$qemu_ga" "$root/usr/sbin/qemu-ga"
if [ -n "$udevd" ]; then
    # udevadm is systemd-udevd too, chosen by the name it is called by.
    cp -L "$udevd" "$root/usr/bin/udevadm"
    mkdir -p "$root/lib/systemd" "$root/etc/udev/rules.d"
    ln -sf /usr/bin/udevadm "$root/lib/systemd/systemd-udevd"
    # The rule people write today to online hot-added CPUs (as in
    # /etc/udev/rules.d/80-hotplug-cpu.rules of many guest images).
    echo 'SUBSYSTEM=="cpu", ACTION=="add", TEST=="online", ATTR{online}=="0", ATTR{online}="1"' \
        > "$root/etc/udev/rules.d/80-hotplug-cpu.rules"
fi
cp "$here/guest-init.sh" "$root/init"
chmod 0755 "$root/init"
[ -z "$os_release" ] || cp "$os_release" "$root/etc/os-release"
echo "root:x:0:0:root:/root:/bin/sh" > "$root/etc/passwd"
echo "root:x:0:" > "$root/etc/group"

(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) | gzip -1 > "$out/initramfs.cpio.gz.tmp"
mv "$out/initramfs.cpio.gz.tmp" "$out/initramfs.cpio.gz"
# Debian's /boot/vmlinuz-* may be readable by root only, and libvirt relabels
# (chowns) the files a domain uses: give it a copy of its own.
cp "$kernel" "$out/vmlinuz.tmp"
mv "$out/vmlinuz.tmp" "$out/vmlinuz"
chmod 0644 "$out/vmlinuz" "$out/initramfs.cpio.gz"
rm -rf "$root"
mv "$new_stamp" "$stamp"
echo "guest image built: $out (kernel $kver$( [ -n "$agent" ] && echo ", agent $agent")$( [ -n "$qemu_ga" ] && echo ", qemu-ga")$( [ -n "$udevd" ] && echo ", systemd-udevd"))"
