#!/bin/sh
# idle-cost.sh PID SECONDS: what a process costs over SECONDS, for a guest
# that has only a POSIX shell (busybox).  Same output as bench/idle-cost.c:
#   cpu_ms=N ctxsw=N wakeups_per_s=X seconds=S pid=PID
# cpu_ms is utime+stime from /proc/PID/stat (clock ticks, assumed 100 Hz
# unless CLK_TCK is set), ctxsw is voluntary+nonvoluntary context switches
# of all its threads from /proc/PID/task/*/status.
#
# Also usable as a library: `. bench/idle-cost.sh` then `idle_cost PID S`.
set -eu

idle_cost_ticks() {
    # Drop everything up to the ")" that closes the command name, then
    # utime and stime are fields 12 and 13 of the rest.
    sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}

idle_cost_ctxsw() {
    cat /proc/"$1"/task/*/status 2>/dev/null |
        awk '/^(voluntary|nonvoluntary)_ctxt_switches:/ { n += $2 } END { print n + 0 }'
}

idle_cost() {
    pid=$1 seconds=$2
    hz=${CLK_TCK:-$(getconf CLK_TCK 2>/dev/null || echo 100)}
    [ -r "/proc/$pid/stat" ] || { echo "idle-cost: no process $pid" >&2; return 1; }
    t0=$(idle_cost_ticks "$pid"); c0=$(idle_cost_ctxsw "$pid")
    sleep "$seconds"
    [ -r "/proc/$pid/stat" ] || { echo "idle-cost: process $pid went away" >&2; return 1; }
    t1=$(idle_cost_ticks "$pid"); c1=$(idle_cost_ctxsw "$pid")
    awk -v t="$((t1 - t0))" -v c="$((c1 - c0))" -v s="$seconds" -v hz="$hz" -v pid="$pid" \
        'BEGIN { printf "cpu_ms=%.0f ctxsw=%d wakeups_per_s=%.2f seconds=%s pid=%s\n", t * 1000 / hz, c, c / s, s, pid }'
}

# Run as a program unless sourced (busybox sh sets $0 to the shell then).
case "${0##*/}" in
idle-cost.sh)
    if [ $# -ne 2 ]; then
        echo "usage: idle-cost.sh PID SECONDS" >&2
        exit 2
    fi
    idle_cost "$1" "$2"
    ;;
esac
