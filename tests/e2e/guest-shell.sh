#!/bin/sh
# The tests' command shell in the systemd guest (hotcpu-e2e-shell.service),
# the same protocol as guest-init.sh's shell in the busybox guest, so that
# harness.c's e2e_guest_sh drives both: the host sends "TOKEN COMMAND" on
# one line of /dev/ttyS1 (a UART: no EOF when the host disconnects); the
# guest answers "TOKEN{", the output, then "TOKEN} STATUS".  Each command
# runs in its own `sh -c` with stdin closed, as root, with the output of
# both streams.
tty=${1:-/dev/ttyS1}
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export LC_ALL=C.UTF-8 SYSTEMD_PAGER= SYSTEMD_COLORS=0 TERM=dumb
stty -F "$tty" 115200 raw -echo -echoe -echok -echoctl -echoke -icrnl -onlcr 2>/dev/null
while IFS= read -r line; do
    tok=${line%% *}
    [ -n "$tok" ] || continue
    cmd=${line#* }
    out=$(sh -c "$cmd" 2>&1 </dev/null)
    rc=$?
    printf '%s{\n%s\n%s} %d\n' "$tok" "$out" "$tok" "$rc"
done <"$tty" >"$tty" 2>&1
