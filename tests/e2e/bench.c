/* hotcpu-e2e-bench: numbers for the notes, measured in a real guest.
 *
 * (a) Idle cost of hotcpu-agent on its real virtio port with nobody
 *     connected on the host, over 10 s: CPU time (utime+stime of
 *     /proc/PID/stat) and context switches (/proc/PID/status), read through
 *     the guest shell; and the same for qemu-ga on a second port when a
 *     qemu-ga binary is given (HOTCPU_QEMU_GA; e.g. `apt-get download
 *     qemu-guest-agent && dpkg -x qemu-guest-agent_*.deb DIR`).
 * (b) Time of `hotcpu-ctl set DOM 4` from 1 vCPU until all 4 are online, vs
 *     `virsh setvcpus DOM 4 --live` + `virsh setvcpus DOM 4 --guest`
 *     (qemu-ga; hotcpu-agent stopped meanwhile so that it does not online
 *     the CPUs itself), alternating, HOTCPU_BENCH_ROUNDS rounds (default 3).
 *
 *   hotcpu-e2e-bench [--idle-only] [--verbose]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

typedef struct {
    double cpu_s;       /* utime + stime, seconds */
    long vol, nonvol;   /* context switches */
} ProcSample;

static gboolean proc_sample(E2eGuest *g, const char *pid, ProcSample *s)
{
    g_autofree char *out = NULL;
    unsigned long ut = 0, st = 0;
    long tck = 100;
    const char *p;

    if (e2e_guest_sh(g, 5000, &out, NULL,
                     "cut -d')' -f2- /proc/%s/stat; grep ctxt_switches /proc/%s/status; getconf CLK_TCK 2>/dev/null || echo 100",
                     pid, pid) != 0)
        return FALSE;
    /* After "comm)": state ppid pgrp session tty tpgid flags minflt cminflt
     * majflt cmajflt utime stime ... (fields 3.. of proc(5)). */
    if (sscanf(out, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return FALSE;
    s->vol = (p = strstr(out, "voluntary_ctxt_switches:")) ? atol(p + 24) : -1;
    s->nonvol = (p = strstr(out, "nonvoluntary_ctxt_switches:")) ? atol(p + 27) : -1;
    {
        const char *last = strrchr(g_strchomp(out), '\n');
        long t = last ? atol(last + 1) : 0;
        if (t > 0)
            tck = t;
    }
    s->cpu_s = (double) (ut + st) / tck;
    return TRUE;
}

static char *guest_pid(E2eGuest *g, const char *name)
{
    g_autofree char *out = NULL;

    if (e2e_guest_sh(g, 5000, &out, NULL, "pidof %s", name) != 0 || !*out)
        return NULL;
    g_strchomp(out);
    if (strchr(out, ' '))
        *strchr(out, ' ') = '\0';
    return g_steal_pointer(&out);
}

/* Connects to the host end of @port, sends @line, reads for a moment, leaves. */
static void host_touch(E2eGuest *g, const char *port, const char *line)
{
    g_autofree char *path = e2e_guest_channel_path(g, port);
    g_autoptr(GSocketClient) c = g_socket_client_new();
    g_autoptr(GSocketAddress) addr = path ? g_unix_socket_address_new(path) : NULL;
    g_autoptr(GSocketConnection) conn =
        addr ? g_socket_client_connect(c, G_SOCKET_CONNECTABLE(addr), NULL, NULL) : NULL;

    if (!conn)
        return;
    g_output_stream_write_all(g_io_stream_get_output_stream(G_IO_STREAM(conn)), line, strlen(line),
                              NULL, NULL, NULL);
    g_usleep(500 * 1000);
    g_io_stream_close(G_IO_STREAM(conn), NULL, NULL);
}

static void idle_bench(E2eGuest *g, gboolean qga, const char *when)
{
    g_autofree char *apid = guest_pid(g, "hotcpu-agent");
    g_autofree char *qpid = qga ? e2e_guest_read(g, "/run/qga-idle.pid") : NULL;
    ProcSample a0 = { 0 }, a1 = { 0 }, q0 = { 0 }, q1 = { 0 };
    const double secs = 10;
    double t0, dt;

    if (!apid) {
        printf("(a) hotcpu-agent does not run in the guest\n");
        return;
    }
    /* Let both settle after start. */
    g_usleep(2 * G_USEC_PER_SEC);
    t0 = e2e_now();
    proc_sample(g, apid, &a0);
    if (qpid)
        proc_sample(g, qpid, &q0);
    g_usleep((gulong) (secs * G_USEC_PER_SEC));
    proc_sample(g, apid, &a1);
    if (qpid)
        proc_sample(g, qpid, &q1);
    dt = e2e_now() - t0;

    printf("(a) idle cost over %.1f s, nobody connected on the host, %s:\n", dt, when);
    printf("    %-14s %10s %12s %12s %10s\n", "process (port)", "CPU ms", "vol. ctxsw", "invol. ctxsw",
           "wakeups/s");
    printf("    %-14s %10.0f %12ld %12ld %10.2f   (since start: %.2f s CPU, %ld+%ld switches)\n",
           "hotcpu-agent", (a1.cpu_s - a0.cpu_s) * 1000, a1.vol - a0.vol, a1.nonvol - a0.nonvol,
           (a1.vol - a0.vol) / dt, a1.cpu_s, a1.vol, a1.nonvol);
    {
        g_autofree char *st = NULL;
        e2e_guest_sh(g, 5000, &st, NULL,
                     "for p in %s %s; do echo \"$(cat /proc/$p/comm) state $(cut -d' ' -f3 /proc/$p/stat) waits in $(cat /proc/$p/wchan)\"; done; cat /run/qga.log 2>/dev/null | tail -3",
                     apid, qpid ? qpid : "");
        printf("    %s\n", st ? g_strdelimit(st, "\n", ';') : "");
    }
    if (qpid) {
        long av = a1.vol - a0.vol + a1.nonvol - a0.nonvol;
        long qv = q1.vol - q0.vol + q1.nonvol - q0.nonvol;
        double ac = a1.cpu_s - a0.cpu_s, qc = q1.cpu_s - q0.cpu_s;
        printf("    %-14s %10.0f %12ld %12ld %10.2f   (since start: %.2f s CPU, %ld+%ld switches)\n",
               "qemu-ga (2nd)", qc * 1000, q1.vol - q0.vol, q1.nonvol - q0.nonvol, (q1.vol - q0.vol) / dt,
               q1.cpu_s, q1.vol, q1.nonvol);
        printf("    ratio qemu-ga / hotcpu-agent: context switches %s, CPU time %s\n",
               av > 0 ? g_strdup_printf("%.1fx", (double) qv / av) : g_strdup_printf("%ld vs 0", qv),
               ac > 0 ? g_strdup_printf("%.1fx", qc / ac)
                      : g_strdup_printf("%.0f ms vs 0 ms (below the 10 ms tick)", qc * 1000));
    } else {
        printf("    (no qemu-ga in the image: set HOTCPU_QEMU_GA to compare)\n");
    }
}

static double wait_online(E2eGuest *g, int n, double t0)
{
    if (!e2e_guest_wait_cpus(g, n, n, 30000))
        return -1;
    return e2e_now() - t0;
}

static double virsh_plug(E2eGuest *g, int n, double *live_s)
{
    g_autofree char *ns = g_strdup_printf("%d", n);
    const char *live[] = { "virsh", "-q", "-c", E2E_URI, "setvcpus", g->name, ns, "--live", NULL };
    const char *guest[] = { "virsh", "-q", "-c", E2E_URI, "setvcpus", g->name, ns, "--guest", NULL };
    double t0 = e2e_now();
    g_autoptr(E2eRun) r1 = e2e_host_run(live);
    g_autoptr(E2eRun) r2 = NULL;

    *live_s = r1->seconds;
    if (r1->status != 0) {
        printf("    virsh setvcpus --live failed: %s", r1->err);
        return -1;
    }
    r2 = e2e_host_run(guest);
    if (r2->status != 0) {
        printf("    virsh setvcpus --guest failed: %s", r2->err);
        return -1;
    }
    return wait_online(g, n, t0);
}

static double ctl_plug(E2eGuest *g, int n)
{
    g_autofree char *ns = g_strdup_printf("%d", n);
    double t0 = e2e_now();
    g_autoptr(E2eRun) r = e2e_ctlv("set", g->name, ns, NULL);

    if (r->status != 0) {
        printf("    hotcpu-ctl set failed (exit %d): %s", r->status, r->err);
        return -1;
    }
    return wait_online(g, n, t0);
}

static void back_to_one(E2eGuest *g)
{
    for (int i = 0; i < 3; i++) {
        g_autoptr(E2eRun) r = e2e_ctlv("set", g->name, "1", NULL);
        if (e2e_libvirt_vcpus(g, TRUE) == 1 && e2e_guest_wait_cpus(g, 1, 1, 3000))
            return;
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return x < y ? -1 : x > y;
}

static void plug_bench(E2eGuest *g, gboolean qga)
{
    int rounds = g_getenv("HOTCPU_BENCH_ROUNDS") ? atoi(g_getenv("HOTCPU_BENCH_ROUNDS")) : 3;
    double hc[16], hn[16], vs[16], vl[16];
    int nh = 0, nn = 0, nv = 0;
    g_autofree char *nohooks = g_build_filename(e2e.rundir, "no-hooks", NULL);
    char *hooks = e2e.hooks_dir;

    /* An empty hooks root: hotcpu-ctl alone, without the shipped hooks. */
    g_mkdir_with_parents(nohooks, 0755);

    if (!qga) {
        printf("(b) needs qemu-ga in the guest for virsh setvcpus --guest: set HOTCPU_QEMU_GA\n");
        return;
    }
    rounds = CLAMP(rounds, 1, 16);
    printf("(b) plug 1 -> 4 until all online, %d rounds, alternating:\n", rounds);
    for (int i = 0; i < rounds; i++) {
        double t, live = 0;

        back_to_one(g);
        t = ctl_plug(g, 4);
        printf("    round %d: hotcpu-ctl set 4 (with hooks)         %6.2f s\n", i + 1, t);
        if (t >= 0)
            hc[nh++] = t;
        back_to_one(g);
        e2e.hooks_dir = nohooks;
        t = ctl_plug(g, 4);
        e2e.hooks_dir = hooks;
        printf("    round %d: hotcpu-ctl set 4 (no hooks)           %6.2f s\n", i + 1, t);
        if (t >= 0)
            hn[nn++] = t;
        back_to_one(g);
        /* hotcpu-agent would online the new CPUs itself: stop it meanwhile. */
        e2e_guest_agent_stop(g);
        t = virsh_plug(g, 4, &live);
        printf("    round %d: virsh setvcpus --live + --guest        %6.2f s (--live %.2f s)\n",
               i + 1, t, live);
        if (t >= 0) {
            vs[nv] = t;
            vl[nv++] = live;
        }
        e2e_guest_agent_start(g);
    }
    back_to_one(g);
    if (nh && nv && nn) {
        qsort(hn, nn, sizeof(double), cmp_double);
        qsort(hc, nh, sizeof(double), cmp_double);
        qsort(vs, nv, sizeof(double), cmp_double);
        qsort(vl, nv, sizeof(double), cmp_double);
        printf("    median: hotcpu-ctl %.2f s with hooks, %.2f s without; virsh --live + --guest %.2f s"
               " (--live alone %.2f s)\n", hc[nh / 2], hn[nn / 2], vs[nv / 2], vl[nv / 2]);
        printf("    ratio hotcpu-ctl / virsh: %.2fx with hooks, %.2fx without\n",
               hc[nh / 2] / vs[nv / 2], hn[nn / 2] / vs[nv / 2]);
    }
}

int main(int argc, char **argv)
{
    g_autoptr(GError) error = NULL;
    /* A high maximum: QEMU's multi-threaded TCG aborts once more vCPU
     * threads were started than the maximum (unplugged ones count). */
    E2eTopology topo = { .sockets = 32, .cores = 1, .threads = 1, .current = 1, .maximum = 32,
                         .osinfo = TRUE };
    gboolean idle_only = FALSE;
    E2eGuest *g;
    gboolean qga;

    setvbuf(stdout, NULL, _IOLBF, 0);
    for (int i = 1; i < argc; i++) {
        if (g_str_equal(argv[i], "--idle-only"))
            idle_only = TRUE;
        else if (g_str_equal(argv[i], "--verbose"))
            e2e_set_verbose(TRUE);
    }
    if (!e2e_env_init(&error)) {
        fprintf(stderr, "hotcpu-e2e-bench: %s\n", error->message);
        return 1;
    }
    qga = e2e.qemu_ga != NULL;
    topo.qga_port = qga;
    g = e2e_guest_boot(&topo, &error);
    if (!g) {
        fprintf(stderr, "hotcpu-e2e-bench: %s\n", error->message);
        return 1;
    }
    printf("guest %s up in %.1f s (TCG, 1 of 32 vCPUs)%s\n", g->name, g->boot_seconds,
           qga ? ", qemu-ga on " E2E_QGA_PORT " and " E2E_QGA_IDLE_PORT : "");
    if (qga) {
        /* One qemu-ga for virsh --guest (libvirtd holds that port's host end),
         * one on a port nobody holds, to compare with hotcpu-agent idle. */
        e2e_guest_sh(g, 5000, NULL, NULL,
                     "mkdir -p /run/qga1 /run/qga2; qemu-ga -m virtio-serial -p /dev/virtio-ports/" E2E_QGA_PORT
                     " -t /run/qga1 </dev/null >/run/qga.log 2>&1 &");
        e2e_guest_sh(g, 5000, NULL, NULL,
                     "qemu-ga -m virtio-serial -p /dev/virtio-ports/" E2E_QGA_IDLE_PORT
                     " -t /run/qga2 </dev/null >/run/qga-idle.log 2>&1 & echo $! > /run/qga-idle.pid");
    }
    idle_bench(g, qga, "no host ever connected");
    /* A host connects once and leaves: from then on the port reports HUP. */
    host_touch(g, E2E_AGENT_PORT, "{\"execute\": \"ping\"}\n");
    if (qga)
        host_touch(g, E2E_QGA_IDLE_PORT, "{\"execute\": \"guest-ping\"}\n");
    idle_bench(g, qga, "after a host connected once and left");
    if (!idle_only)
        plug_bench(g, qga);
    e2e_guest_free(g);
    e2e_env_cleanup();
    return 0;
}
