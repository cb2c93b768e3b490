#!/bin/sh
# check-install.sh: install a configured, built hotcpu tree into a private
# temporary DESTDIR and check that every path CONTRACT.md promises is there
# with the right type and mode.  Registered as the meson test
# 'install-layout'; also runs by hand:
#
#   packaging/check-install.sh build-dir=BUILD prefix=/usr bindir=bin ...
#
# Arguments are KEY=VALUE pairs (meson passes them all, see meson.build):
#   build-dir     the meson build directory (default: $MESON_BUILD_ROOT)
#   prefix, bindir, sbindir, libexecdir, sysconfdir, datadir
#                 meson's directory options, as meson reports them
#   unitdir, udevrulesdir
#                 absolute install directories of the unit and the udev rule
#   host          true when the host side (hotcpu-ctl, hooks) was built
#   mandir, man   meson's mandir; true when the man pages were built
#   bashcompletiondir  absolute install directory of the bash completion
# It never writes outside its temporary directory (and meson's own log in the
# build directory), so it is safe while other tests use the same build.
set -u

build_dir=${MESON_BUILD_ROOT:-}
prefix=/usr/local bindir=bin sbindir=sbin libexecdir=libexec
sysconfdir=etc datadir=share
unitdir=/lib/systemd/system udevrulesdir=/lib/udev/rules.d host=true
mandir=share/man man=true bashcompletiondir=/usr/share/bash-completion/completions

for arg in "$@"; do
    case $arg in
        build-dir=*) build_dir=${arg#*=} ;;
        prefix=*) prefix=${arg#*=} ;;
        bindir=*) bindir=${arg#*=} ;;
        sbindir=*) sbindir=${arg#*=} ;;
        libexecdir=*) libexecdir=${arg#*=} ;;
        sysconfdir=*) sysconfdir=${arg#*=} ;;
        datadir=*) datadir=${arg#*=} ;;
        unitdir=*) unitdir=${arg#*=} ;;
        udevrulesdir=*) udevrulesdir=${arg#*=} ;;
        host=*) host=${arg#*=} ;;
        mandir=*) mandir=${arg#*=} ;;
        man=*) man=${arg#*=} ;;
        bashcompletiondir=*) bashcompletiondir=${arg#*=} ;;
        *) echo "check-install.sh: unknown argument '$arg'" >&2; exit 2 ;;
    esac
done

if [ -z "$build_dir" ] || [ ! -f "$build_dir/meson-private/coredata.dat" ]; then
    echo "check-install.sh: '$build_dir' is not a meson build directory" \
         "(pass build-dir=DIR or set MESON_BUILD_ROOT)" >&2
    exit 2
fi

# meson's rule: a relative directory option is relative to the prefix.
abs() {
    case $1 in
        /*) printf '%s\n' "$1" ;;
        *) printf '%s/%s\n' "$prefix" "$1" ;;
    esac
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/hotcpu-install.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT INT TERM
dest=$tmp/root

# Ours, not the caller's (a stray DESTDIR would be added to ours); by the
# environment, since meson install --destdir needs meson 0.57.
if ! env DESTDIR="$dest" meson install -C "$build_dir" --no-rebuild \
        >"$tmp/install.log" 2>&1; then
    cat "$tmp/install.log"
    echo "check-install.sh: meson install failed"
    echo "0 passed, 1 failed"
    exit 1
fi

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok: $1"; }
fail() { failed=$((failed + 1)); echo "FAIL: $1"; }

# check PATH TYPE MODE: PATH (absolute, without the DESTDIR) exists, is a
# regular file (f) or a directory (d) and has exactly the octal MODE.  Modes
# are meson's defaults under its default install_umask 022: 755 for
# programs and directories, 644 for data.  Whatever the mode, nothing may be
# writable by group or others: hotcpu-ctl refuses such hooks outright.
check() {
    p=$dest$1
    if [ ! -e "$p" ] && [ ! -L "$p" ]; then
        fail "$1: missing"
        return
    fi
    if [ -L "$p" ]; then
        fail "$1: a symbolic link, expected a real file"
        return
    fi
    case $2 in
        f) [ -f "$p" ] || { fail "$1: not a regular file"; return; } ;;
        d) [ -d "$p" ] || { fail "$1: not a directory"; return; } ;;
    esac
    mode=$(stat -c %a "$p")
    case $mode in
        *[2367]? | *[2367]) fail "$1: mode $mode is writable by group or others"; return ;;
    esac
    if [ "$mode" != "$3" ]; then
        fail "$1: mode $mode, expected $3"
        return
    fi
    ok "$1 ($mode)"
}

# contains PATH TEXT: the installed file has a line that is exactly TEXT.
contains() {
    if grep -qxF -- "$2" "$dest$1" 2>/dev/null; then
        ok "$1 has '$2'"
    else
        fail "$1 lacks the line '$2'"
    fi
}

sbin=$(abs "$sbindir")
bin=$(abs "$bindir")
libexec=$(abs "$libexecdir")
etc=$(abs "$sysconfdir")
data=$(abs "$datadir")
man_dir=$(abs "$mandir")

# Guest side: always built.
check "$sbin/hotcpu-agent" f 755
check "$unitdir/hotcpu-agent.service" f 644
contains "$unitdir/hotcpu-agent.service" "ExecStart=$sbin/hotcpu-agent"
contains "$unitdir/hotcpu-agent.service" 'BindsTo=dev-virtio\x2dports-org.hotcpu.agent.0.device'
check "$udevrulesdir/60-hotcpu-agent.rules" f 644
check "$etc/hotcpu" d 755
check "$etc/hotcpu/agent.conf" f 644
if [ "$man" = true ]; then
    check "$man_dir/man8/hotcpu-agent.8" f 644
    check "$man_dir/man5/agent.conf.5" f 644
else
    echo "skip: man pages not built (no scdoc)"
fi

# Host side.
if [ "$host" = true ]; then
    check "$etc/hotcpu/hotcpu.conf" f 644
    check "$data/hotcpu/guest-os-support.ini" f 644
    [ "$man" != true ] || check "$man_dir/man5/hotcpu.conf.5" f 644
    check "$bin/hotcpu-ctl" f 755
    hooks=$libexec/hotcpu/hooks
    check "$hooks" d 755
    for phase in before after; do
        check "$hooks/${phase}_set_num_of_cpus" d 755
        check "$hooks/${phase}_set_num_of_cpus/50_hotcpu_agent" f 755
        # the full hook the phase's front execs when there is work
        check "$hooks/hotcpu-agent-hook-$phase" f 755
    done
    check "$bashcompletiondir/hotcpu-ctl" f 644
    check "$unitdir/hotcpu-autoscale@.service" f 644
    contains "$unitdir/hotcpu-autoscale@.service" "ExecStart=$bin/hotcpu-ctl autoscale %i"
    check "$etc/hotcpu/autoscale.d" d 755
    check "$data/hotcpu/autoscale.conf.example" f 644
    [ "$man" != true ] || check "$man_dir/man1/hotcpu-ctl.1" f 644
else
    # An agent-only build (a guest distribution's package) installs nothing
    # of the host's: no file the hotcpu-agent package would not own.
    for p in "$bin/hotcpu-ctl" "$libexec/hotcpu" "$etc/hotcpu/hotcpu.conf" \
            "$data/hotcpu" "$man_dir/man1/hotcpu-ctl.1" "$man_dir/man5/hotcpu.conf.5" \
            "$unitdir/hotcpu-autoscale@.service"; do
        if [ -e "$dest$p" ]; then fail "$p installed by an agent-only build"; else ok "$p absent (agent only)"; fi
    done
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
