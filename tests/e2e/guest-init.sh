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
#   agent-start below).
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
chmod 0755 /bin/mklinks /bin/agent-stop /bin/agent-start

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
