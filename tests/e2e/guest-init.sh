#!/bin/sh
# /init of the hotcpu e2e guest (busybox, no udev, no systemd).
#
# - loads the virtio modules, mounts proc/sys/dev, creates the
#   /dev/virtio-ports/NAME links udev would make;
# - serves the tests' command shell on /dev/ttyS1 (a UART, which does not see
#   EOF when the host disconnects): the host sends "TOKEN COMMAND" on one
#   line, the guest answers "TOKEN{", the output, then "TOKEN} STATUS";
# - keeps hotcpu-agent running on /dev/virtio-ports/org.hotcpu.agent.0,
#   respawning it when it dies, unless /run/agent.stop exists (agent-stop and
#   agent-start below);
# - for the benchmark only (nothing runs them otherwise): udevd-start and
#   udevd-stop (systemd-udevd with the hot-plug rule, in images built with
#   --udevd) and cpu-wait, which waits for the kernel's cpu uevents.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts /dev/virtio-ports /run /tmp
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
hostname hotcpu-guest

for m in $(cat /lib/modules/order); do
    [ -e "/lib/modules/$m.ko" ] && insmod "/lib/modules/$m.ko"
done

cat > /bin/mklinks <<'SH'
#!/bin/sh
# The links udev makes: /dev/virtio-ports/NAME -> ../vportNpM
for f in /sys/class/virtio-ports/vport*/name; do
    [ -r "$f" ] || continue
    n=$(cat "$f"); [ -n "$n" ] || continue
    d=${f%/name}; d=${d##*/}
    [ -e "/dev/$d" ] || continue
    [ -L "/dev/virtio-ports/$n" ] || ln -sf "../$d" "/dev/virtio-ports/$n"
done
SH
cat > /bin/agent-stop <<'SH'
#!/bin/sh
# Stops hotcpu-agent and keeps it stopped until agent-start.
touch /run/agent.stop
for i in $(seq 50); do
    p=$(pidof hotcpu-agent) || exit 0
    kill $p 2>/dev/null
    sleep 0.1
done
kill -9 $(pidof hotcpu-agent) 2>/dev/null
exit 0
SH
cat > /bin/agent-start <<'SH'
#!/bin/sh
# Lets the respawn loop start hotcpu-agent again; waits until it runs.
rm -f /run/agent.stop
for i in $(seq 50); do
    pidof hotcpu-agent >/dev/null && exit 0
    sleep 0.1
done
echo "hotcpu-agent did not start" >&2
exit 1
SH
cat > /bin/udevd-start <<'SH'
#!/bin/sh
# Starts systemd-udevd (images built with --udevd) and waits until it answers.
[ -x /lib/systemd/systemd-udevd ] || { echo "no systemd-udevd in this image" >&2; exit 1; }
pidof systemd-udevd >/dev/null ||
    /lib/systemd/systemd-udevd --daemon --resolve-names=never >> /run/udevd.log 2>&1
udevadm control --ping --timeout=10
SH
cat > /bin/udevd-stop <<'SH'
#!/bin/sh
# Stops systemd-udevd and waits until it is gone (workers included).
pidof systemd-udevd >/dev/null || exit 0
udevadm control --exit --timeout=10 2>/dev/null
for i in $(seq 50); do
    pidof systemd-udevd >/dev/null || exit 0
    sleep 0.1
done
kill -9 $(pidof systemd-udevd) 2>/dev/null
exit 0
SH
cat > /bin/cpu-wait <<'SH'
#!/bin/sh
# cpu-wait LIST [MARK]: returns once /sys/devices/system/cpu/online reads
# LIST.  No polling: it wakes on the kernel's cpu uevents (udevadm monitor
# --kernel; /sys/.../online changes before the "online" uevent is sent) and
# prints them with the monitor's CLOCK_MONOTONIC timestamps.  With MARK it
# writes "MARK armed" to /dev/ttyS1 once the monitor listens and "MARK done"
# as soon as LIST is reached (the host times these), then collects the
# events of the next 0.5 s for its output.
want=$1 mark=${2:-}
f=/run/cpu-wait.$$
mkfifo "$f" || exit 1
udevadm monitor --kernel --subsystem-match=cpu > "$f" 2>&1 &
mon=$!
exec 3< "$f"
rm -f "$f"
# The monitor prints its header, ending with an empty line, once it listens.
while read -r l <&3; do [ -z "$l" ] && break; done
[ -z "$mark" ] || echo "$mark armed" > /dev/ttyS1
read -r cur < /sys/devices/system/cpu/online
quiet=0
while [ "$cur" != "$want" ]; do
    # The timeout only guards against a lost event; it is not a poll interval.
    if read -r -t 5 l <&3; then
        echo "$l"; quiet=0
    else
        quiet=$((quiet + 1))
        [ $quiet -lt 6 ] || { echo "cpu-wait: still $cur after 30 s without events" >&2; kill $mon; exit 1; }
    fi
    read -r cur < /sys/devices/system/cpu/online
done
[ -z "$mark" ] || echo "$mark done" > /dev/ttyS1
while read -r -t 0.5 l <&3; do echo "$l"; done
kill $mon 2>/dev/null
exit 0
SH
chmod 0755 /bin/mklinks /bin/agent-stop /bin/agent-start /bin/udevd-start /bin/udevd-stop /bin/cpu-wait

# The ports appear shortly after virtio_console binds.
for i in $(seq 50); do
    [ -e /sys/class/virtio-ports/vport1p1/name ] || [ -e /sys/class/virtio-ports/vport0p1/name ] && break
    sleep 0.1
done
sleep 0.2
mklinks

shell_loop() {
    while :; do
        stty -F /dev/ttyS1 115200 raw -echo -echoe -echok -echoctl -echoke -icrnl -onlcr 2>/dev/null
        while IFS= read -r line; do
            tok=${line%% *}
            cmd=${line#* }
            out=$(eval "$cmd" 2>&1 </dev/null)
            rc=$?
            printf '%s{\n%s\n%s} %d\n' "$tok" "$out" "$tok" "$rc"
        done </dev/ttyS1 >/dev/ttyS1 2>&1
        sleep 1
    done
}

agent_loop() {
    while [ -x /usr/sbin/hotcpu-agent ]; do
        if [ -e /run/agent.stop ]; then
            sleep 1
            continue
        fi
        mklinks
        if [ -e /dev/virtio-ports/org.hotcpu.agent.0 ]; then
            echo "init: starting hotcpu-agent" >> /run/agent.log
            /usr/sbin/hotcpu-agent --channel /dev/virtio-ports/org.hotcpu.agent.0 \
                $(cat /run/agent.args 2>/dev/null) >> /run/agent.log 2>&1
            echo "init: hotcpu-agent exited with status $?" >> /run/agent.log
        fi
        sleep 0.5
    done
}

# The agent logs its debug messages (the tests show them when it does not
# answer); hotcpu.agentargs=a,b on the kernel command line replaces this.
echo "--verbose" > /run/agent.args
# A test that wants a guest without its agent says so on the kernel command line.
grep -qw hotcpu.noagent /proc/cmdline && touch /run/agent.stop
[ -r /proc/cmdline ] && for a in $(cat /proc/cmdline); do
    case "$a" in hotcpu.agentargs=*) echo "${a#hotcpu.agentargs=}" | tr ',' ' ' > /run/agent.args ;; esac
done

shell_loop &
agent_loop &
echo "hotcpu-e2e guest ready: $(cat /sys/devices/system/cpu/online) online, ports: $(ls /dev/virtio-ports | tr '\n' ' ')" > /dev/console
# PID 1 must not exit; reap children.
while :; do
    wait
    sleep 3600
done
