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
 *     the CPUs itself), and `hotcpu-ctl set DOM 4` through that same
 *     qemu-ga (hotcpu-agent still stopped: what a guest without it gets),
 *     alternating, HOTCPU_BENCH_ROUNDS rounds (default 5).
 * (c) Hot add 1 -> 4 (virDomainSetVcpusFlags LIVE, what `virsh setvcpus DOM 4
 *     --live` calls) until the guest's /sys/devices/system/cpu/online reads
 *     0-3, with the udev rule people use today (systemd-udevd +
 *     80-hotplug-cpu.rules, hotcpu-agent stopped) vs hotcpu-agent's
 *     auto-online (systemd-udevd stopped), and `hotcpu-ctl set DOM 4` for
 *     reference; rotating order, HOTCPU_BENCH_ROUNDS rounds, on a second,
 *     fresh guest after one untimed warm-up plug with each.  Needs the host's
 *     udevadm in the image: HOTCPU_UDEVD (default /lib/systemd/systemd-udevd,
 *     "none" to skip).  Timing: see plug_timed().
 *
 * The bench builds its own guest image (HOTCPU_IMAGE_DIR, default the e2e
 * image folder + "-bench"), so that the e2e tests' image is not rebuilt.
 *
 *   hotcpu-e2e-bench [--idle-only | --plug-only | --udev-only] [--verbose]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* hotcpu-ctl [@option] set DOM @n, until the guest shows @n online. */
static double ctl_plug_with(E2eGuest *g, int n, const char *option)
{
    g_autofree char *ns = g_strdup_printf("%d", n);
    double t0 = e2e_now();
    g_autoptr(E2eRun) r = option ? e2e_ctlv(option, "set", g->name, ns, NULL)
                                 : e2e_ctlv("set", g->name, ns, NULL);

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

static int bench_rounds(void)
{
    const char *r = g_getenv("HOTCPU_BENCH_ROUNDS");
    return CLAMP(r ? atoi(r) : 5, 1, 16);
}

static double median(double *v, int n)
{
    qsort(v, n, sizeof(double), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* The times of (b), one array per way of plugging. */
typedef struct {
    double hc[16], hn[16], vs[16], vl[16], hq[16];
    int nh, nn, nv, nq;
} PlugSamples;

/* One round of (b): hotcpu-ctl with and without hooks (hotcpu-agent), then,
 * with hotcpu-agent stopped so that only qemu-ga can online the CPUs, virsh
 * --live + --guest and hotcpu-ctl --guest-agent=qemu-ga (no hooks). */
static double ctl_plug(E2eGuest *g, int n)
{
    return ctl_plug_with(g, n, NULL);
}

/* ctl_plug_with with @hooks_dir as the hooks root. */
static double ctl_plug_in(E2eGuest *g, int n, const char *hooks_dir, const char *option)
{
    char *hooks = e2e.hooks_dir;
    double t;

    e2e.hooks_dir = (char *) hooks_dir;
    t = ctl_plug_with(g, n, option);
    e2e.hooks_dir = hooks;
    return t;
}

static void plug_bench_round(E2eGuest *g, int i, const char *nohooks, PlugSamples *s)
{
    double t, live = 0;

    back_to_one(g);
    t = ctl_plug(g, 4);
    printf("    round %d: hotcpu-ctl set 4 (with hooks)         %6.2f s\n", i + 1, t);
    if (t >= 0)
        s->hc[s->nh++] = t;
    back_to_one(g);
    t = ctl_plug_in(g, 4, nohooks, NULL);
    printf("    round %d: hotcpu-ctl set 4 (no hooks)           %6.2f s\n", i + 1, t);
    if (t >= 0)
        s->hn[s->nn++] = t;
    back_to_one(g);
    /* hotcpu-agent would online the new CPUs itself: stop it meanwhile. */
    e2e_guest_agent_stop(g);
    t = virsh_plug(g, 4, &live);
    printf("    round %d: virsh setvcpus --live + --guest        %6.2f s (--live %.2f s)\n",
           i + 1, t, live);
    if (t >= 0) {
        s->vs[s->nv] = t;
        s->vl[s->nv++] = live;
    }
    back_to_one(g);
    /* qemu-ga named: this guest has the hotcpu channel (with nothing behind
     * it now), which the automatic choice would first ping for up to 0.5 s */
    t = ctl_plug_in(g, 4, nohooks, "--guest-agent=qemu-ga");
    printf("    round %d: hotcpu-ctl set 4 through qemu-ga      %6.2f s\n", i + 1, t);
    if (t >= 0)
        s->hq[s->nq++] = t;
    e2e_guest_agent_start(g);
}

static void plug_bench(E2eGuest *g, gboolean qga)
{
    int rounds = bench_rounds();
    PlugSamples s = { 0 };
    g_autofree char *nohooks = g_build_filename(e2e.rundir, "no-hooks", NULL);

    /* An empty hooks root: hotcpu-ctl alone, without the shipped hooks. */
    g_mkdir_with_parents(nohooks, 0755);

    if (!qga) {
        printf("(b) needs qemu-ga in the guest for virsh setvcpus --guest: set HOTCPU_QEMU_GA\n");
        return;
    }
    printf("(b) plug 1 -> 4 until all online, %d rounds, alternating:\n", rounds);
    for (int i = 0; i < rounds; i++)
        plug_bench_round(g, i, nohooks, &s);
    back_to_one(g);
    if (s.nh && s.nv && s.nn && s.nq) {
        double hc = median(s.hc, s.nh), hn = median(s.hn, s.nn), hq = median(s.hq, s.nq);
        double vs = median(s.vs, s.nv), vl = median(s.vl, s.nv);

        printf("    median: hotcpu-ctl %.2f s with hooks, %.2f s without, %.2f s through qemu-ga;"
               " virsh --live + --guest %.2f s (--live alone %.2f s)\n", hc, hn, hq, vs, vl);
        printf("    ratio hotcpu-ctl / virsh: %.2fx with hooks, %.2fx without, %.2fx through"
               " qemu-ga (same guest, same qemu-ga)\n", hc / vs, hn / vs, hq / vs);
    }
}

/* ---- (c) udev rule vs hotcpu-agent auto-online ---------------------------- */

/* Guest commands whose reply is read later, so that the host can act while
 * they run: same protocol as e2e_guest_sh() ("TOKEN COMMAND" -> "TOKEN{",
 * output, "TOKEN} STATUS") on the same socket and buffer. */
static double last_read;     /* e2e_now() right after the last read of the shell */

static gboolean sh_send_async(E2eGuest *g, const char *tok, const char *cmd)
{
    g_autofree char *line = g_strdup_printf("\n%s %s\n", tok, cmd);
    gsize len = strlen(line), done = 0;

    if (!g->shell && e2e_guest_sh(g, 10000, NULL, NULL, "true") != 0)
        return FALSE;
    while (done < len) {
        gssize n;
        if (!g_socket_condition_timed_wait(g->shell, G_IO_OUT, 5 * G_USEC_PER_SEC, NULL, NULL))
            return FALSE;
        n = g_socket_send(g->shell, line + done, len - done, NULL, NULL);
        if (n < 0)
            return FALSE;
        done += n;
    }
    return TRUE;
}

/* One read of the shell, waiting until @until at most. */
static gboolean sh_fill(E2eGuest *g, double until)
{
    char buf[4096];
    g_autoptr(GError) error = NULL;
    gssize n;
    double left = until - e2e_now();

    if (left <= 0)
        return FALSE;
    if (!g_socket_condition_timed_wait(g->shell, G_IO_IN, (gint64) (left * G_USEC_PER_SEC), NULL, NULL))
        return e2e_now() < until;
    n = g_socket_receive(g->shell, buf, sizeof buf, NULL, &error);
    last_read = e2e_now();
    if (n < 0)
        return g_error_matches(error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK);
    if (n == 0)
        return FALSE;
    g_string_append_len(g->rbuf, buf, n);
    return TRUE;
}

/* Waits for @needle on the shell; *@when: when the read that brought it
 * returned. */
static gboolean sh_expect(E2eGuest *g, const char *needle, double timeout_s, double *when)
{
    double until = e2e_now() + timeout_s;

    while (!strstr(g->rbuf->str, needle))
        if (!sh_fill(g, until))
            return FALSE;
    if (when)
        *when = last_read;
    return TRUE;
}

/* The reply to the async command @tok: its status, its output in *@out. */
static int sh_reply(E2eGuest *g, const char *tok, double timeout_s, char **out)
{
    g_autofree char *open_mark = g_strdup_printf("%s{\n", tok);
    g_autofree char *close_mark = g_strdup_printf("\n%s} ", tok);
    double until = e2e_now() + timeout_s;

    for (;;) {
        const char *o = strstr(g->rbuf->str, open_mark);
        const char *c = o ? strstr(o + strlen(open_mark) - 1, close_mark) : NULL;
        const char *nl = c ? strchr(c + strlen(close_mark), '\n') : NULL;

        if (nl) {
            const char *body = o + strlen(open_mark);
            int status = atoi(c + strlen(close_mark));
            *out = c > body ? g_strndup(body, c - body) : g_strdup("");
            g_string_erase(g->rbuf, 0, nl + 1 - g->rbuf->str);
            return status;
        }
        if (!sh_fill(g, until))
            return -1;
    }
}

typedef enum { VIA_UDEV, VIA_AGENT, VIA_CTL } Via;
static const char *const via_name[] = {
    "udev rule (systemd-udevd)", "hotcpu-agent auto-online", "hotcpu-ctl set 4 (agent)",
};

typedef struct {
    double host;       /* plug call -> guest says 0-3 online (host clock) */
    double guest;      /* first "add" uevent -> last "online" uevent (guest clock) */
    double call;       /* virDomainSetVcpusFlags, or hotcpu-ctl until it exited */
    int adds, onlines;
} Plug;

typedef struct {
    const char *name;
    double t0, exit_s;
    int status;
    char *err;
} CtlJob;

static gpointer ctl_thread(gpointer data)
{
    CtlJob *j = data;
    g_autoptr(E2eRun) r = e2e_ctlv("set", j->name, "4", NULL);

    j->exit_s = e2e_now() - j->t0;
    j->status = r->status;
    j->err = g_strdup(r->err);
    return NULL;
}

/* Hot adds 1 -> 4 and times it.  The guest runs `cpu-wait 0-3 MARK` first
 * (guest-init.sh): it subscribes to the kernel's cpu uevents and says
 * "MARK armed" on the UART; only then does the host start the clock and
 * plug.  The guest wakes on each uevent (no polling, so it takes no CPU from
 * the onlining on the only online vCPU), reads the online list and says
 * "MARK done" the moment it reads 0-3.  So the host time is late by the
 * guest's wakeup + one short UART write + the host's read, less than one
 * shell round trip (measured and printed).  The guest time, first "add" to
 * last "online" uevent, is stamped by one `udevadm monitor` in the guest
 * (CLOCK_MONOTONIC, 1 us) and leaves out libvirt and QEMU. */
static gboolean plug_timed(E2eGuest *g, Via via, Plug *p)
{
    static guint seq;
    g_autofree char *tok = g_strdup_printf("BENCH%u_%u", (guint) getpid(), ++seq);
    g_autofree char *mark = g_strdup_printf("MARK%u_%u", (guint) getpid(), seq);
    g_autofree char *cmd = g_strdup_printf("cpu-wait 0-3 %s", mark);
    g_autofree char *armed = g_strdup_printf("%s armed\n", mark);
    g_autofree char *done = g_strdup_printf("%s done\n", mark);
    g_autofree char *out = NULL;
    g_auto(GStrv) lines = NULL;
    CtlJob job = { .name = g->name, .status = -1 };
    GThread *th = NULL;
    double t0, t_done = 0, first_add = -1, last_online = -1;
    gboolean ok = TRUE;

    memset(p, 0, sizeof *p);
    if (!sh_send_async(g, tok, cmd) || !sh_expect(g, armed, 15, NULL)) {
        printf("    the guest's cpu-wait did not start\n");
        return FALSE;
    }
    t0 = e2e_now();
    if (via == VIA_CTL) {
        job.t0 = t0;
        th = g_thread_new("ctl", ctl_thread, &job);
    } else if (virDomainSetVcpusFlags(g->dom, 4, VIR_DOMAIN_AFFECT_LIVE) < 0) {
        printf("    virDomainSetVcpusFlags 4 failed: %s\n", virGetLastErrorMessage());
        ok = FALSE;
    } else {
        p->call = e2e_now() - t0;
    }
    if (ok && !sh_expect(g, done, 40, &t_done)) {
        printf("    the guest did not reach 0-3 online within 40 s\n");
        ok = FALSE;
    }
    p->host = t_done - t0;
    if (th) {
        g_thread_join(th);
        p->call = job.exit_s;
        if (job.status != 0) {
            printf("    hotcpu-ctl set 4 failed (exit %d): %s", job.status, job.err);
            ok = FALSE;
        }
        g_free(job.err);
    }
    if (sh_reply(g, tok, 40, &out) != 0) {
        printf("    cpu-wait failed: %s\n", out ? out : "(no answer)");
        return FALSE;
    }
    lines = g_strsplit(out, "\n", -1);
    for (guint i = 0; lines[i]; i++) {
        double ts;
        char action[16], path[256];
        if (sscanf(lines[i], "KERNEL[%lf] %15s %255s", &ts, action, path) != 3
            || !g_str_has_prefix(path, "/devices/system/cpu/cpu"))
            continue;
        if (g_str_equal(action, "add")) {
            p->adds++;
            if (first_add < 0 || ts < first_add)
                first_add = ts;
        } else if (g_str_equal(action, "online")) {
            p->onlines++;
            if (ts > last_online)
                last_online = ts;
        }
    }
    p->guest = first_add >= 0 && last_online >= first_add ? last_online - first_add : -1;
    if (e2e_verbose())
        g_printerr("%s", out);
    return ok;
}

/* udevd + rule onlines hot-added CPUs; hotcpu-agent stopped. */
static gboolean use_udev(E2eGuest *g)
{
    g_autofree char *out = NULL;

    if (!e2e_guest_agent_stop(g))
        return FALSE;
    if (e2e_guest_sh(g, 20000, &out, NULL, "udevd-start") != 0) {
        printf("    udevd-start failed: %s\n", out ? out : "");
        return FALSE;
    }
    return TRUE;
}

/* hotcpu-agent (auto-online on) onlines them; systemd-udevd stopped. */
static gboolean use_agent(E2eGuest *g)
{
    e2e_guest_sh(g, 20000, NULL, NULL, "udevd-stop");
    return e2e_guest_agent_start(g);
}

/* One plug 1 -> 4 through @via, from a guest at 1 vCPU. */
static gboolean plug_round(E2eGuest *g, Via via, Plug *p)
{
    /* Unplug needs the agent (hotcpu-ctl offlines first). */
    if (!use_agent(g))
        return FALSE;
    back_to_one(g);
    if (e2e_guest_online(g) != 1 || e2e_guest_present(g) != 1) {
        printf("    could not get back to 1 vCPU\n");
        return FALSE;
    }
    if (via == VIA_UDEV && !use_udev(g))
        return FALSE;
    /* Let the daemon settle (the agent subscribes to uevents at start). */
    g_usleep(G_USEC_PER_SEC);
    return plug_timed(g, via, p);
}

static void udev_bench(int rounds)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *nohooks = g_build_filename(e2e.rundir, "no-hooks", NULL);
    char *hooks = e2e.hooks_dir;
    /* QEMU's TCG aborts after `maximum` vCPU thread starts: 1 at boot, 3 per
     * plug, 2 warm-up plugs and 3 plugs a round. */
    E2eTopology topo = { .sockets = MAX(32, 1 + 6 + 9 * rounds), .cores = 1, .threads = 1,
                         .current = 1, .osinfo = TRUE };
    double host[3][16], guest[3][16], call[3][16], rtt[10];
    int n[3] = { 0 }, nrtt = 0;
    E2eGuest *g;
    Plug p;

    topo.maximum = topo.sockets;
    g = e2e_guest_boot(&topo, &error);
    if (!g) {
        printf("(c) cannot boot the guest: %s\n", error->message);
        return;
    }
    if (e2e_guest_sh(g, 5000, NULL, NULL, "test -x /lib/systemd/systemd-udevd") != 0) {
        printf("(c) no systemd-udevd in the guest image: set HOTCPU_UDEVD=/lib/systemd/systemd-udevd\n");
        e2e_guest_free(g);
        return;
    }
    printf("(c) guest %s up in %.1f s (TCG, 1 of %u vCPUs)\n", g->name, g->boot_seconds, topo.maximum);
    /* hotcpu-ctl alone, without the shipped hooks. */
    g_mkdir_with_parents(nohooks, 0755);
    e2e.hooks_dir = nohooks;
    /* The agent as installed: no --verbose (the e2e guests log debug). */
    e2e_guest_sh(g, 5000, NULL, NULL, ": > /run/agent.args");
    e2e_guest_agent_stop(g);
    e2e_guest_agent_start(g);

    for (int i = 0; i < 10; i++) {
        double t = e2e_now();
        if (e2e_guest_sh(g, 5000, NULL, NULL, "true") == 0)
            rtt[nrtt++] = e2e_now() - t;
    }
    printf("    hot add 1 -> 4 until the guest's online list reads 0-3; %d rounds, rotating order,\n"
           "    after one untimed warm-up plug with the udev rule and one with the agent.\n"
           "    host: plug call -> the guest's \"done\" on the UART; guest: first add -> last\n"
           "    online uevent (udevadm monitor timestamps); call: the libvirt call / hotcpu-ctl's run\n",
           rounds);
    if (!plug_round(g, VIA_UDEV, &p) || !plug_round(g, VIA_AGENT, &p)) {
        printf("    warm-up failed\n");
        goto out;
    }
    for (int i = 0; i < rounds; i++) {
        for (int k = 0; k < 3; k++) {
            Via via = (Via) ((i + k) % 3);
            if (!plug_round(g, via, &p)) {
                printf("    round %d: %-26s failed\n", i + 1, via_name[via]);
                continue;
            }
            printf("    round %d: %-26s host %5.3f s  guest %5.3f s  call %5.3f s  (%d add, %d online uevents)\n",
                   i + 1, via_name[via], p.host, p.guest, p.call, p.adds, p.onlines);
            host[via][n[via]] = p.host;
            guest[via][n[via]] = p.guest;
            call[via][n[via]++] = p.call;
        }
    }
    if (n[VIA_UDEV] && n[VIA_AGENT] && n[VIA_CTL]) {
        double mh[3], mg[3], mc[3];
        for (int v = 0; v < 3; v++) {
            mh[v] = median(host[v], n[v]);
            mg[v] = median(guest[v], n[v]);
            mc[v] = median(call[v], n[v]);
            printf("    median %-26s host %5.3f s  guest %5.3f s  call %5.3f s  (%d rounds)\n",
                   via_name[v], mh[v], mg[v], mc[v], n[v]);
        }
        printf("    ratio hotcpu-agent / udev rule: %.2fx host, %.2fx guest\n", mh[VIA_AGENT] / mh[VIA_UDEV],
               mg[VIA_AGENT] / mg[VIA_UDEV]);
        printf("    ratio hotcpu-ctl set / udev rule: %.2fx host, %.2fx guest\n", mh[VIA_CTL] / mh[VIA_UDEV],
               mg[VIA_CTL] / mg[VIA_UDEV]);
    }
    if (nrtt) {
        double lo, hi;
        qsort(rtt, nrtt, sizeof(double), cmp_double);
        lo = rtt[0];
        hi = rtt[nrtt - 1];
        printf("    measurement error: a host time is late by the guest's wakeup + a short UART write\n"
               "    + the host's read, less than a no-op shell round trip: median %.1f ms (min %.1f, max %.1f);\n"
               "    guest times: both ends stamped by one udevadm monitor as it reads each uevent\n"
               "    (its scheduling delay on the busy vCPU, not measured; no polling anywhere).\n",
               median(rtt, nrtt) * 1000, lo * 1000, hi * 1000);
    }
out:
    e2e.hooks_dir = hooks;
    use_agent(g);
    e2e_guest_free(g);
}

int main(int argc, char **argv)
{
    g_autoptr(GError) error = NULL;
    /* A high maximum: QEMU's multi-threaded TCG aborts once more vCPU
     * threads were started than the maximum (unplugged ones count): 1 at
     * boot and 3 per plug, 4 plugs a round. */
    E2eTopology topo = { .sockets = MAX(32, 1 + 12 * bench_rounds()), .cores = 1, .threads = 1,
                         .current = 1, .osinfo = TRUE };
    gboolean idle_only = FALSE, udev_only = FALSE, plug_only = FALSE;
    E2eGuest *g;
    gboolean qga;

    setvbuf(stdout, NULL, _IOLBF, 0);
    for (int i = 1; i < argc; i++) {
        if (g_str_equal(argv[i], "--idle-only"))
            idle_only = TRUE;
        else if (g_str_equal(argv[i], "--udev-only"))
            udev_only = TRUE;
        else if (g_str_equal(argv[i], "--plug-only"))
            plug_only = TRUE;
        else if (g_str_equal(argv[i], "--verbose"))
            e2e_set_verbose(TRUE);
        else {
            fprintf(stderr, "usage: hotcpu-e2e-bench [--idle-only | --plug-only | --udev-only] "
                            "[--verbose]\n");
            return 2;
        }
    }
    topo.maximum = topo.sockets;
    /* Its own image (with qemu-ga and udevd), not the e2e tests' one; and
     * build-guest-image.sh reads HOTCPU_UDEVD. */
    g_setenv("HOTCPU_IMAGE_DIR", E2E_IMAGE_DIR "-bench", FALSE);
    if (!g_getenv("HOTCPU_UDEVD") && g_file_test("/lib/systemd/systemd-udevd", G_FILE_TEST_IS_EXECUTABLE))
        g_setenv("HOTCPU_UDEVD", "/lib/systemd/systemd-udevd", FALSE);
    if (!e2e_env_init(&error)) {
        fprintf(stderr, "hotcpu-e2e-bench: %s\n", error->message);
        return 1;
    }
    printf("hotcpu-e2e-bench: image %s; qemu-ga %s; udevd %s\n", e2e.image_dir,
           e2e.qemu_ga ? e2e.qemu_ga : "none (HOTCPU_QEMU_GA)",
           g_getenv("HOTCPU_UDEVD") ? g_getenv("HOTCPU_UDEVD") : "none (HOTCPU_UDEVD)");
    if (!udev_only) {
        qga = e2e.qemu_ga != NULL;
        topo.qga_port = qga;
        g = e2e_guest_boot(&topo, &error);
        if (!g) {
            fprintf(stderr, "hotcpu-e2e-bench: %s\n", error->message);
            return 1;
        }
        printf("guest %s up in %.1f s (TCG, 1 of %u vCPUs)%s\n", g->name, g->boot_seconds, topo.maximum,
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
        if (!plug_only) {
            idle_bench(g, qga, "no host ever connected");
            /* A host connects once and leaves: from then on the port reports HUP. */
            host_touch(g, E2E_AGENT_PORT, "{\"execute\": \"ping\"}\n");
            if (qga)
                host_touch(g, E2E_QGA_IDLE_PORT, "{\"execute\": \"guest-ping\"}\n");
            idle_bench(g, qga, "after a host connected once and left");
        }
        if (!idle_only)
            plug_bench(g, qga);
        e2e_guest_free(g);
    }
    if (!idle_only && !plug_only)
        udev_bench(bench_rounds());
    e2e_env_cleanup();
    return 0;
}
