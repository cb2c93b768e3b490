/* hotcpu-e2e-bench: numbers for the notes, measured in a real guest.
 *
 * (a) Idle cost of hotcpu-agent on its real virtio port with nobody
 *     connected on the host, over 10 s: CPU time (utime+stime of
 *     /proc/PID/stat) and context switches (/proc/PID/status), read through
 *     the guest shell; and the same for qemu-ga on a second port when a
 *     qemu-ga binary is given (HOTCPU_QEMU_GA; e.g. `apt-get download
 *     qemu-guest-agent && dpkg -x qemu-guest-agent_*.deb DIR`).
 * (b) Time of `hotcpu-ctl set DOM 4` from 1 vCPU until all 4 are online
 *     (with the shipped hooks and without), vs the floor (a bare `virsh
 *     setvcpus DOM 4 --live`, hotcpu-agent onlining the CPUs by itself),
 *     `virsh setvcpus DOM 4 --live` + `virsh setvcpus DOM 4 --guest`
 *     (qemu-ga; hotcpu-agent stopped meanwhile so that it does not online
 *     the CPUs itself), and `hotcpu-ctl set DOM 4` through that same
 *     qemu-ga (hotcpu-agent still stopped: what a guest without it gets),
 *     in turn, HOTCPU_BENCH_ROUNDS rounds (default 5); every way timed
 *     alike (plug_armed()); a failed round excluded and said; every ratio
 *     per round, with its spread; hotcpu-ctl's `--timings`, median per
 *     stage.
 * (c) Hot add 1 -> 4 (virDomainSetVcpusFlags LIVE, what `virsh setvcpus DOM 4
 *     --live` calls) until the guest's /sys/devices/system/cpu/online reads
 *     0-3, with the udev rule people use today (systemd-udevd +
 *     80-hotplug-cpu.rules, hotcpu-agent stopped) vs hotcpu-agent's
 *     auto-online (systemd-udevd stopped), and `hotcpu-ctl set DOM 4` for
 *     reference; rotating order, HOTCPU_BENCH_ROUNDS rounds, on a second,
 *     fresh guest after one untimed warm-up plug with each.  Needs the host's
 *     udevadm in the image: HOTCPU_UDEVD (default /lib/systemd/systemd-udevd,
 *     "none" to skip).  Timing: see plug_timed().
 * (d) autoscale, on a third guest (1 of 16 or more vCPUs, the agent as
 *     installed, no hooks): 4 busy loops start in the guest at t0, with
 *     `hotcpu-ctl autoscale --min 1 --max 4 --up-after 3 --down-after 6
 *     --cooldown 2` started 3 s before; time until 4 CPUs are online (one
 *     change since issue 19), against the floor of window + sampling
 *     period, and against `hotcpu-ctl set DOM 4` run at t0 (the manual one-command
 *     path), alternating, HOTCPU_BENCH_ROUNDS rounds; autoscale's own lines
 *     (--verbose, stamped as read) show where its time goes.  Then the
 *     agent's CPU time (schedstat, and ticks) and RSS over 30 s each with
 *     nobody connected, with `hotcpu-ctl watch` and with `watch --load 1`.
 *
 * The bench builds its own guest image (HOTCPU_IMAGE_DIR, default the e2e
 * image folder + "-bench"), so that the e2e tests' image is not rebuilt.
 *
 *   hotcpu-e2e-bench [--idle-only | --plug-only | --udev-only | --autoscale-only] [--verbose]
 *
 * Each --*-only adds its part; without one, all four run.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-glib/json-glib.h>

#include "harness.h"

typedef struct {
    double cpu_s;     /* utime + stime, seconds (whole clock ticks) */
    long vol, nonvol; /* context switches */
    long rss_kb;      /* VmRSS; -1 when not read */
    double run_s;     /* time on a CPU from schedstat, summed over the threads
                       * (nanoseconds, where ticks round a short run to 0 ms);
                       * -1 without schedstat */
} ProcSample;

/* The fields of /proc/PID/status and schedstat that proc_sample() reads,
 * from the keyed lines of its guest command. */
static void
proc_sample_keyed(const char *out, ProcSample *s)
{
    g_auto(GStrv) lines = g_strsplit(out, "\n", -1);
    const char *p;

    s->vol = (p = strstr(out, "voluntary_ctxt_switches:")) ? atol(p + 24) : -1;
    s->nonvol = (p = strstr(out, "nonvoluntary_ctxt_switches:")) ? atol(p + 27) : -1;
    s->rss_kb = (p = strstr(out, "VmRSS:")) ? atol(p + 6) : -1;
    s->run_s = -1;
    for (guint i = 0; lines[i]; i++) {
        unsigned long long ns;
        if (sscanf(lines[i], "schedstat %llu", &ns) == 1)
            s->run_s = (s->run_s < 0 ? 0 : s->run_s) + ns / 1e9;
    }
}

static gboolean
proc_sample(E2eGuest *g, const char *pid, ProcSample *s)
{
    g_autofree char *out = NULL;
    unsigned long ut = 0, st = 0;
    long tck = 100;

    if (e2e_guest_sh(g, 5000, &out, NULL,
                     "cut -d')' -f2- /proc/%s/stat; grep -E 'ctxt_switches|VmRSS' /proc/%s/status;"
                     " for f in /proc/%s/task/*/schedstat; do echo \"schedstat $(cat $f)\"; done "
                     "2>/dev/null;"
                     " getconf CLK_TCK 2>/dev/null || echo 100",
                     pid, pid, pid)
        != 0)
        return FALSE;
    /* After "comm)": state ppid pgrp session tty tpgid flags minflt cminflt
     * majflt cmajflt utime stime ... (fields 3.. of proc(5)). */
    if (sscanf(out, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return FALSE;
    proc_sample_keyed(out, s);
    {
        const char *last = strrchr(g_strchomp(out), '\n');
        long t = last ? atol(last + 1) : 0;
        if (t > 0)
            tck = t;
    }
    s->cpu_s = (double)(ut + st) / tck;
    return TRUE;
}

static char *
guest_pid(E2eGuest *g, const char *name)
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
static void
host_touch(E2eGuest *g, const char *port, const char *line)
{
    g_autofree char *path = e2e_guest_channel_path(g, port);
    g_autoptr(GSocketClient) c = g_socket_client_new();
    g_autoptr(GSocketAddress) addr = path ? g_unix_socket_address_new(path) : NULL;
    g_autoptr(GSocketConnection) conn
        = addr ? g_socket_client_connect(c, G_SOCKET_CONNECTABLE(addr), NULL, NULL) : NULL;

    if (!conn)
        return;
    g_output_stream_write_all(g_io_stream_get_output_stream(G_IO_STREAM(conn)), line, strlen(line),
                              NULL, NULL, NULL);
    g_usleep(500 * 1000);
    g_io_stream_close(G_IO_STREAM(conn), NULL, NULL);
}

static void
idle_bench(E2eGuest *g, gboolean qga, const char *when)
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
    g_usleep((gulong)(secs * G_USEC_PER_SEC));
    proc_sample(g, apid, &a1);
    if (qpid)
        proc_sample(g, qpid, &q1);
    dt = e2e_now() - t0;

    printf("(a) idle cost over %.1f s, nobody connected on the host, %s:\n", dt, when);
    printf("    %-14s %10s %12s %12s %10s\n", "process (port)", "CPU ms", "vol. ctxsw",
           "invol. ctxsw", "wakeups/s");
    printf("    %-14s %10.0f %12ld %12ld %10.2f   (since start: %.2f s CPU, %ld+%ld switches)\n",
           "hotcpu-agent", (a1.cpu_s - a0.cpu_s) * 1000, a1.vol - a0.vol, a1.nonvol - a0.nonvol,
           (a1.vol - a0.vol) / dt, a1.cpu_s, a1.vol, a1.nonvol);
    {
        g_autofree char *st = NULL;
        e2e_guest_sh(
            g, 5000, &st, NULL,
            "for p in %s %s; do echo \"$(cat /proc/$p/comm) state $(cut -d' ' -f3 /proc/$p/stat) "
            "waits in $(cat /proc/$p/wchan)\"; done; cat /run/qga.log 2>/dev/null | tail -3",
            apid, qpid ? qpid : "");
        printf("    %s\n", st ? g_strdelimit(st, "\n", ';') : "");
    }
    if (qpid) {
        long av = a1.vol - a0.vol + a1.nonvol - a0.nonvol;
        long qv = q1.vol - q0.vol + q1.nonvol - q0.nonvol;
        double ac = a1.cpu_s - a0.cpu_s, qc = q1.cpu_s - q0.cpu_s;
        printf(
            "    %-14s %10.0f %12ld %12ld %10.2f   (since start: %.2f s CPU, %ld+%ld switches)\n",
            "qemu-ga (2nd)", qc * 1000, q1.vol - q0.vol, q1.nonvol - q0.nonvol,
            (q1.vol - q0.vol) / dt, q1.cpu_s, q1.vol, q1.nonvol);
        printf("    ratio qemu-ga / hotcpu-agent: context switches %s, CPU time %s\n",
               av > 0 ? g_strdup_printf("%.1fx", (double)qv / av) : g_strdup_printf("%ld vs 0", qv),
               ac > 0 ? g_strdup_printf("%.1fx", qc / ac)
                      : g_strdup_printf("%.0f ms vs 0 ms (below the 10 ms tick)", qc * 1000));
    } else {
        printf("    (no qemu-ga in the image: set HOTCPU_QEMU_GA to compare)\n");
    }
}

static double
wait_online(E2eGuest *g, int n, double t0)
{
    if (!e2e_guest_wait_cpus(g, n, n, 30000))
        return -1;
    return e2e_now() - t0;
}

/* hotcpu-ctl [@option] set DOM @n, until the guest shows @n online. */
static double
ctl_plug_with(E2eGuest *g, int n, const char *option)
{
    g_autofree char *ns = g_strdup_printf("%d", n);
    double t0 = e2e_now();
    g_autoptr(E2eRun) r
        = option ? e2e_ctlv(option, "set", g->name, ns, NULL) : e2e_ctlv("set", g->name, ns, NULL);

    if (r->status != 0) {
        printf("    hotcpu-ctl set failed (exit %d): %s", r->status, r->err);
        return -1;
    }
    return wait_online(g, n, t0);
}

static void
back_to_one(E2eGuest *g)
{
    for (int i = 0; i < 3; i++) {
        g_autoptr(E2eRun) r = e2e_ctlv("set", g->name, "1", NULL);
        if (e2e_libvirt_vcpus(g, TRUE) == 1 && e2e_guest_wait_cpus(g, 1, 1, 3000))
            return;
    }
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int
bench_rounds(void)
{
    const char *r = g_getenv("HOTCPU_BENCH_ROUNDS");
    return CLAMP(r ? atoi(r) : 5, 1, 16);
}

static double
median(double *v, int n)
{
    qsort(v, n, sizeof(double), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static double
ctl_plug(E2eGuest *g, int n)
{
    return ctl_plug_with(g, n, NULL);
}

/* ---- (c) udev rule vs hotcpu-agent auto-online ---------------------------- */

/* Guest commands whose reply is read later, so that the host can act while
 * they run: same protocol as e2e_guest_sh() ("TOKEN COMMAND" -> "TOKEN{",
 * output, "TOKEN} STATUS") on the same socket and buffer. */
static double last_read; /* e2e_now() right after the last read of the shell */

static gboolean
sh_send_async(E2eGuest *g, const char *tok, const char *cmd)
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
static gboolean
sh_fill(E2eGuest *g, double until)
{
    char buf[4096];
    g_autoptr(GError) error = NULL;
    gssize n;
    double left = until - e2e_now();

    if (left <= 0)
        return FALSE;
    if (!g_socket_condition_timed_wait(g->shell, G_IO_IN, (gint64)(left * G_USEC_PER_SEC), NULL,
                                       NULL))
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
static gboolean
sh_expect(E2eGuest *g, const char *needle, double timeout_s, double *when)
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
static int
sh_reply(E2eGuest *g, const char *tok, double timeout_s, char **out)
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
    "udev rule (systemd-udevd)",
    "hotcpu-agent auto-online",
    "hotcpu-ctl set 4 (agent)",
};

typedef struct {
    double host;  /* plug call -> guest says 0-3 online (host clock) */
    double guest; /* first "add" uevent -> last "online" uevent (guest clock) */
    double call;  /* virDomainSetVcpusFlags, or hotcpu-ctl until it exited */
    int adds, onlines;
} Plug;

typedef struct {
    const char *name;
    double t0, exit_s;
    int status;
    char *err;
} CtlJob;

static gpointer
ctl_thread(gpointer data)
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
static gboolean
plug_timed(E2eGuest *g, Via via, Plug *p)
{
    static guint seq;
    g_autofree char *tok = g_strdup_printf("BENCH%u_%u", (guint)getpid(), ++seq);
    g_autofree char *mark = g_strdup_printf("MARK%u_%u", (guint)getpid(), seq);
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

/* ---- (b) plug 1 -> 4, five ways, timed alike ------------------------------ */

/* The ways of (b).  The floor is the guest kernel's own work: a bare
 * `virsh setvcpus --live` (what libvirt and QEMU do for any tool) with
 * hotcpu-agent onlining the new CPUs by itself (auto-online), nothing
 * asking or confirming. */
typedef enum {
    WAY_CTL_HOOKS,
    WAY_CTL,
    WAY_FLOOR,
    WAY_VIRSH,
    WAY_CTL_QGA,
    WAY_COUNT,
} Way;
static const char *const way_name[WAY_COUNT] = {
    "hotcpu-ctl set 4 (shipped hooks)",       "hotcpu-ctl set 4 (no hooks)",
    "floor: virsh --live, agent auto-online", "virsh setvcpus --live + --guest",
    "hotcpu-ctl set 4 through qemu-ga",
};

/* Host commands run one after the other in a thread, while the bench reads
 * the guest's UART; "hotcpu-ctl" as argv[0] runs the built hotcpu-ctl with
 * the harness's options (e2e_ctl). */
typedef struct {
    const char *const *argv[2];
    double t0;
    double exit_s; /* when the last one run returned, from t0 */
    int status;    /* of the last one run: the first that failed, or 0 */
    char *out, *err;
} HostJob;

static gpointer
host_job_thread(gpointer data)
{
    HostJob *j = data;

    for (guint i = 0; i < G_N_ELEMENTS(j->argv) && j->argv[i]; i++) {
        g_autoptr(E2eRun) r = g_str_equal(j->argv[i][0], "hotcpu-ctl") ? e2e_ctl(j->argv[i] + 1)
                                                                       : e2e_host_run(j->argv[i]);

        j->exit_s = e2e_now() - j->t0;
        j->status = r->status;
        g_free(j->out);
        g_free(j->err);
        j->out = g_strdup(r->out);
        j->err = g_strdup(r->err);
        if (r->status != 0)
            break;
    }
    return NULL;
}

/* Runs @job with the guest's cpu-wait armed, as plug_timed() does: the
 * plug's time is until both the commands returned and the guest read 0-3
 * online (the floor's command returns before the guest is done, hotcpu-ctl
 * after it).  No polling of the guest, so every way is timed alike.  FALSE,
 * said on stdout, when a command failed or the guest did not get there:
 * such a round is excluded, never timed. */
static gboolean
plug_armed(E2eGuest *g, HostJob *job, double *secs)
{
    static guint seq;
    g_autofree char *tok = g_strdup_printf("BPLUG%u_%u", (guint)getpid(), ++seq);
    g_autofree char *mark = g_strdup_printf("BMARK%u_%u", (guint)getpid(), seq);
    g_autofree char *cmd = g_strdup_printf("cpu-wait 0-3 %s", mark);
    g_autofree char *armed = g_strdup_printf("%s armed\n", mark);
    g_autofree char *done = g_strdup_printf("%s done\n", mark);
    g_autofree char *out = NULL;
    double t_done = 0;
    gboolean reached;
    GThread *th;

    if (!sh_send_async(g, tok, cmd) || !sh_expect(g, armed, 15, NULL)) {
        printf("failed: the guest's cpu-wait did not start (excluded)\n");
        return FALSE;
    }
    job->t0 = e2e_now();
    th = g_thread_new("plug", host_job_thread, job);
    reached = sh_expect(g, done, 40, &t_done);
    g_thread_join(th);
    if (sh_reply(g, tok, 40, &out) != 0)
        reached = FALSE;
    if (e2e_verbose()) {
        g_autofree char *log = NULL;

        e2e_guest_sh(g, 5000, &log, NULL, "tail -n 12 /run/agent.log; : > /run/agent.log");
        g_printerr("cpu-wait (t0 %.6f):\n%sagent:\n%s", job->t0, out ? out : "", log ? log : "");
    }
    if (job->status != 0) {
        printf("failed (exit %d, excluded): %s", job->status,
               job->err && *job->err ? job->err : "(no message)\n");
        return FALSE;
    }
    if (!reached) {
        printf("failed: the guest did not reach 0-3 online within 40 s (excluded)\n");
        return FALSE;
    }
    *secs = MAX(t_done - job->t0, job->exit_s);
    return TRUE;
}

#define STAGES_MAX 24

/* What (b) collected: the time of each way per round (-1: failed), and
 * hotcpu-ctl's --timings stages. */
typedef struct {
    int rounds;
    double t[WAY_COUNT][16];
    char *stage_name[STAGES_MAX]; /* from the first --timings object */
    guint n_stages;
    double stage[WAY_COUNT][16][STAGES_MAX]; /* -1: not reported */
} PlugSamples;

/* hotcpu-ctl's "timings" member from its --json output, into the round's
 * row of @way. */
static void
keep_timings(PlugSamples *s, Way way, int round, const char *json)
{
    g_autoptr(JsonParser) p = json_parser_new();
    JsonObject *o, *t;
    GList *names;

    for (guint k = 0; k < STAGES_MAX; k++)
        s->stage[way][round][k] = -1;
    if (!json || !json_parser_load_from_data(p, json, -1, NULL)
        || !JSON_NODE_HOLDS_OBJECT(json_parser_get_root(p))
        || !(o = json_node_get_object(json_parser_get_root(p)))
        || !json_object_has_member(o, "timings")
        || !(t = json_object_get_object_member(o, "timings")))
        return;
    names = json_object_get_members(t);
    for (GList *l = names; l; l = l->next) {
        guint k;

        for (k = 0; k < s->n_stages && !g_str_equal(s->stage_name[k], l->data); k++)
            ;
        if (k == s->n_stages && k < STAGES_MAX)
            s->stage_name[s->n_stages++] = g_strdup(l->data);
        if (k < s->n_stages)
            s->stage[way][round][k] = json_object_get_double_member(t, l->data);
    }
    g_list_free(names);
}

/* hotcpu-ctl's own time in one round: the stages but the libvirt call,
 * the hooks and the guest's confirmation (the guest's own work). */
static gboolean
stage_is_own(const char *name)
{
    return !g_str_equal(name, "total") && !g_str_equal(name, "libvirt")
           && !g_str_equal(name, "guest-confirm") && !g_str_equal(name, "before-hooks")
           && !g_str_equal(name, "after-hooks");
}

static double
round_own(const PlugSamples *s, Way way, int round)
{
    double own = 0;

    for (guint k = 0; k < s->n_stages; k++)
        if (stage_is_own(s->stage_name[k]) && s->stage[way][round][k] > 0)
            own += s->stage[way][round][k];
    return own;
}

static double
round_stage(const PlugSamples *s, Way way, int round, const char *name)
{
    for (guint k = 0; k < s->n_stages; k++)
        if (g_str_equal(s->stage_name[k], name))
            return MAX(s->stage[way][round][k], 0);
    return 0;
}

/* ": own A, libvirt B, hooks C, guest D" from the round's --timings. */
static void
print_round_stages(const PlugSamples *s, Way way, int round)
{
    if (!s->n_stages)
        return;
    printf(": own %.3f, libvirt %.3f, hooks %.3f, guest-confirm %.3f", round_own(s, way, round),
           round_stage(s, way, round, "libvirt"),
           round_stage(s, way, round, "before-hooks") + round_stage(s, way, round, "after-hooks"),
           round_stage(s, way, round, "guest-confirm"));
}

/* One way of one round of (b), from a guest at 1 vCPU; hotcpu-ctl with
 * @hooks as its hooks root. */
static void
plug_way(E2eGuest *g, Way way, int round, const char *hooks_root, PlugSamples *s)
{
    const char *const ctl[] = { "hotcpu-ctl", "--json", "set", g->name, "4", "--timings", NULL };
    const char *const ctl_qga[] = { "hotcpu-ctl", "--json", "--guest-agent=qemu-ga",
                                    "set",        g->name,  "4",
                                    "--timings",  NULL };
    const char *const live[]
        = { "virsh", "-q", "-c", E2E_URI, "setvcpus", g->name, "4", "--live", NULL };
    const char *const guest[]
        = { "virsh", "-q", "-c", E2E_URI, "setvcpus", g->name, "4", "--guest", NULL };
    HostJob job = { { NULL } };
    char *saved_hooks = e2e.hooks_dir;
    double t;

    back_to_one(g); /* with the harness's hooks, before ours are set */
    switch (way) {
    case WAY_CTL_HOOKS:
    case WAY_CTL:
        job.argv[0] = ctl;
        e2e.hooks_dir = (char *)hooks_root;
        break;
    case WAY_FLOOR:
        job.argv[0] = live;
        break;
    case WAY_VIRSH:
        job.argv[0] = live;
        job.argv[1] = guest;
        break;
    case WAY_CTL_QGA:
        /* qemu-ga named: the automatic choice would first ping the hotcpu
         * channel (nothing behind it now) for up to 0.5 s */
        job.argv[0] = ctl_qga;
        e2e.hooks_dir = (char *)hooks_root;
        break;
    default:
        return;
    }
    printf("    round %d: %-40s ", round + 1, way_name[way]);
    s->t[way][round] = -1;
    if (plug_armed(g, &job, &t)) {
        s->t[way][round] = t;
        printf("%6.3f s (returned at %.3f s)", t, job.exit_s);
        if (g_str_equal(job.argv[0][0], "hotcpu-ctl")) {
            keep_timings(s, way, round, job.out);
            print_round_stages(s, way, round);
        }
        printf("\n");
    }
    e2e.hooks_dir = saved_hooks;
    g_free(job.out);
    g_free(job.err);
}

/* "median M s (min A, max B; K of N rounds)" over the rounds that did not
 * fail. */
static void
print_spread(const char *what, const double *v, int n, const char *unit)
{
    double sorted[16];
    int k = 0;

    for (int i = 0; i < n; i++)
        if (v[i] >= 0)
            sorted[k++] = v[i];
    if (!k) {
        printf("    %-46s no round succeeded\n", what);
        return;
    }
    median(sorted, k); /* sorts */
    printf("    %-46s %6.3f%s  (min %.3f, max %.3f; %d of %d rounds)\n", what, median(sorted, k),
           unit, sorted[0], sorted[k - 1], k, n);
}

/* The per-round ratio @a / @b over the rounds where both succeeded. */
static void
print_ratio(const PlugSamples *s, Way a, Way b)
{
    double r[16];
    g_autofree char *what = g_strdup_printf("%s / %s", way_name[a], way_name[b]);

    for (int i = 0; i < s->rounds; i++)
        r[i] = s->t[a][i] >= 0 && s->t[b][i] > 0 ? s->t[a][i] / s->t[b][i] : -1;
    printf("    ratio %s:\n", what);
    print_spread("", r, s->rounds, "x");
}

/* The median of stage @k of @way, or -1. */
static double
stage_median(const PlugSamples *s, Way way, guint k)
{
    double v[16];
    int n = 0;

    for (int i = 0; i < s->rounds; i++)
        if (s->t[way][i] >= 0 && s->stage[way][i][k] >= 0)
            v[n++] = s->stage[way][i][k];
    return n ? median(v, n) : -1;
}

static void
print_stage_medians(const PlugSamples *s)
{
    static const Way ctl_ways[] = { WAY_CTL, WAY_CTL_HOOKS, WAY_CTL_QGA };

    if (!s->n_stages)
        return;
    printf("    hotcpu-ctl --timings, median per stage (s):  %12s %12s %12s\n", "no hooks", "hooks",
           "qemu-ga");
    for (guint k = 0; k < s->n_stages; k++) {
        printf("      %-42s", s->stage_name[k]);
        for (guint w = 0; w < G_N_ELEMENTS(ctl_ways); w++)
            printf(" %12.3f", stage_median(s, ctl_ways[w], k));
        printf("\n");
    }
    printf("      %-42s", "own (all but libvirt, hooks, guest-confirm)");
    for (guint w = 0; w < G_N_ELEMENTS(ctl_ways); w++) {
        double v[16];
        int n = 0;

        for (int i = 0; i < s->rounds; i++)
            if (s->t[ctl_ways[w]][i] >= 0)
                v[n++] = round_own(s, ctl_ways[w], i);
        printf(" %12.3f", n ? median(v, n) : -1);
    }
    printf("\n");
}

/* A hooks root with the shipped hooks alone (the harness's root also has
 * its recording hook, a shell script): a copy of the build's
 * 50_hotcpu_agent of each phase (the front) and of the full hooks the fronts
 * exec from the root.  NULL when there is none. */
static char *
shipped_hooks_root(void)
{
    const char *files[]
        = { "before_set_num_of_cpus/50_hotcpu_agent", "after_set_num_of_cpus/50_hotcpu_agent",
            "hotcpu-agent-hook-before", "hotcpu-agent-hook-after" };
    g_autofree char *root = g_build_filename(e2e.rundir, "shipped-hooks", NULL);

    for (guint i = 0; i < G_N_ELEMENTS(files); i++) {
        g_autofree char *from = g_build_filename(e2e.hooks_dir, files[i], NULL);
        g_autofree char *to = g_build_filename(root, files[i], NULL);
        g_autofree char *dir = g_path_get_dirname(to);
        g_autofree char *bytes = NULL;
        gsize len;

        if (!g_file_get_contents(from, &bytes, &len, NULL) || g_mkdir_with_parents(dir, 0755) < 0
            || !g_file_set_contents(to, bytes, (gssize)len, NULL) || chmod(to, 0755) < 0)
            return NULL;
    }
    return g_steal_pointer(&root);
}

static void
plug_bench(E2eGuest *g, gboolean qga)
{
    PlugSamples s = { .rounds = bench_rounds() };
    g_autofree char *nohooks = g_build_filename(e2e.rundir, "no-hooks", NULL);
    g_autofree char *shipped = shipped_hooks_root();

    /* An empty hooks root: hotcpu-ctl alone, without the shipped hooks. */
    g_mkdir_with_parents(nohooks, 0755);

    if (!qga) {
        printf("(b) needs qemu-ga in the guest for virsh setvcpus --guest: set HOTCPU_QEMU_GA\n");
        return;
    }
    if (!shipped) {
        printf("(b) the build's shipped hooks (host-hooks/) are missing\n");
        return;
    }
    /* The agent as installed: no --verbose (the e2e guests log debug, a
     * line per request). */
    if (g_getenv("HOTCPU_BENCH_AGENT_ARGS")) /* e.g. --verbose, to see where the time goes */
        e2e_guest_sh(g, 5000, NULL, NULL, "echo '%s' > /run/agent.args",
                     g_getenv("HOTCPU_BENCH_AGENT_ARGS"));
    else
        e2e_guest_sh(g, 5000, NULL, NULL, ": > /run/agent.args");
    e2e_guest_agent_stop(g);
    e2e_guest_agent_start(g);
    /* The first plug after boot is slower: untimed. */
    ctl_plug(g, 4);
    printf("(b) plug 1 -> 4, %d rounds of five ways in turn, each from 1 vCPU: from the first\n"
           "    command's start until it returned and the guest read 0-3 online (the\n"
           "    guest's cpu-wait, armed before; no polling); hotcpu-agent as installed,\n"
           "    stopped for the two qemu-ga ways; a failed round is excluded, not timed\n",
           s.rounds);
    for (int i = 0; i < s.rounds; i++) {
        for (Way w = WAY_CTL_HOOKS; w <= WAY_FLOOR; w++)
            plug_way(g, w, i, w == WAY_CTL_HOOKS ? shipped : nohooks, &s);
        /* hotcpu-agent would online the new CPUs itself: stop it meanwhile
         * (back to 1 vCPU first: the unplug needs it). */
        back_to_one(g);
        e2e_guest_agent_stop(g);
        plug_way(g, WAY_VIRSH, i, nohooks, &s);
        plug_way(g, WAY_CTL_QGA, i, nohooks, &s);
        e2e_guest_agent_start(g);
    }
    back_to_one(g);
    printf("    times (s):\n");
    for (Way w = 0; w < WAY_COUNT; w++)
        print_spread(way_name[w], s.t[w], s.rounds, " s");
    printf("    ratios, per round (same round, same guest):\n");
    print_ratio(&s, WAY_CTL, WAY_FLOOR);
    print_ratio(&s, WAY_CTL_HOOKS, WAY_FLOOR);
    print_ratio(&s, WAY_CTL, WAY_VIRSH);
    print_ratio(&s, WAY_CTL_HOOKS, WAY_VIRSH);
    print_ratio(&s, WAY_CTL_QGA, WAY_VIRSH);
    print_ratio(&s, WAY_FLOOR, WAY_VIRSH);
    print_stage_medians(&s);
    for (guint k = 0; k < s.n_stages; k++)
        g_free(s.stage_name[k]);
}

/* udevd + rule onlines hot-added CPUs; hotcpu-agent stopped. */
static gboolean
use_udev(E2eGuest *g)
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
static gboolean
use_agent(E2eGuest *g)
{
    e2e_guest_sh(g, 20000, NULL, NULL, "udevd-stop");
    return e2e_guest_agent_start(g);
}

/* One plug 1 -> 4 through @via, from a guest at 1 vCPU. */
static gboolean
plug_round(E2eGuest *g, Via via, Plug *p)
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

static void
udev_bench(int rounds)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *nohooks = g_build_filename(e2e.rundir, "no-hooks", NULL);
    char *hooks = e2e.hooks_dir;
    /* QEMU's TCG aborts after `maximum` vCPU thread starts: 1 at boot, 3 per
     * plug, 2 warm-up plugs and 3 plugs a round. */
    E2eTopology topo = { .sockets = MAX(32, 1 + 6 + 9 * rounds),
                         .cores = 1,
                         .threads = 1,
                         .current = 1,
                         .osinfo = TRUE };
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
        printf("(c) no systemd-udevd in the guest image: set "
               "HOTCPU_UDEVD=/lib/systemd/systemd-udevd\n");
        e2e_guest_free(g);
        return;
    }
    printf("(c) guest %s up in %.1f s (TCG, 1 of %u vCPUs)\n", g->name, g->boot_seconds,
           topo.maximum);
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
    printf(
        "    hot add 1 -> 4 until the guest's online list reads 0-3; %d rounds, rotating order,\n"
        "    after one untimed warm-up plug with the udev rule and one with the agent.\n"
        "    host: plug call -> the guest's \"done\" on the UART; guest: first add -> last\n"
        "    online uevent (udevadm monitor timestamps); call: the libvirt call / hotcpu-ctl's "
        "run\n",
        rounds);
    if (!plug_round(g, VIA_UDEV, &p) || !plug_round(g, VIA_AGENT, &p)) {
        printf("    warm-up failed\n");
        goto out;
    }
    for (int i = 0; i < rounds; i++) {
        for (int k = 0; k < 3; k++) {
            Via via = (Via)((i + k) % 3);
            if (!plug_round(g, via, &p)) {
                printf("    round %d: %-26s failed\n", i + 1, via_name[via]);
                continue;
            }
            printf("    round %d: %-26s host %5.3f s  guest %5.3f s  call %5.3f s  (%d add, %d "
                   "online uevents)\n",
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
        printf("    ratio hotcpu-agent / udev rule: %.2fx host, %.2fx guest\n",
               mh[VIA_AGENT] / mh[VIA_UDEV], mg[VIA_AGENT] / mg[VIA_UDEV]);
        printf("    ratio hotcpu-ctl set / udev rule: %.2fx host, %.2fx guest\n",
               mh[VIA_CTL] / mh[VIA_UDEV], mg[VIA_CTL] / mg[VIA_UDEV]);
    }
    if (nrtt) {
        double lo, hi;
        qsort(rtt, nrtt, sizeof(double), cmp_double);
        lo = rtt[0];
        hi = rtt[nrtt - 1];
        printf("    measurement error: a host time is late by the guest's wakeup + a short UART "
               "write\n"
               "    + the host's read, less than a no-op shell round trip: median %.1f ms (min "
               "%.1f, max %.1f);\n"
               "    guest times: both ends stamped by one udevadm monitor as it reads each uevent\n"
               "    (its scheduling delay on the busy vCPU, not measured; no polling anywhere).\n",
               median(rtt, nrtt) * 1000, lo * 1000, hi * 1000);
    }
out:
    e2e.hooks_dir = hooks;
    use_agent(g);
    e2e_guest_free(g);
}

/* ---- (d) autoscale: a load step until CPUs are online; the agent's cost with a watcher -- */

/* autoscale as the e2e test runs it: short windows, so that a round takes
 * seconds.  Its sampling period follows from them: MIN(up-after,
 * down-after) / 5, clamped to 1-5 s (cmd_autoscale.c), so 1 s here. */
#define AS_MAX 4
#define AS_UP_AFTER_S 3
#define AS_DOWN_AFTER_S 6
#define AS_COOLDOWN_S 2
#define AS_PERIOD_S 1
/* A sample is high above busy 0.85 (the default target 0.75 + the 0.10
 * band) or CPU pressure 0.10 (autoscale_decide.h). */
#define AS_BUSY_HIGH 0.85
#define AS_PRESSURE_HIGH 0.10
/* One busy loop per CPU autoscale may give: a demand step 1 -> 4 (4 tasks
 * want 6 vCPUs at the target 0.75, --max makes it 4, in one change). */
#define AS_LOAD 4
#define AGENT_COST_S 30

/* @n busy loops in the guest's shell (0: stops them), as test_autoscale.c
 * loads its guest. */
static gboolean
guest_busy_loops(E2eGuest *g, guint n)
{
    if (n == 0)
        return e2e_guest_sh(g, 5000, NULL, NULL,
                            "[ -f /tmp/busy.pids ] && kill $(cat /tmp/busy.pids); rm -f "
                            "/tmp/busy.pids; true")
               == 0;
    return e2e_guest_sh(g, 5000, NULL, NULL,
                        "for i in $(seq %u); do (while :; do :; done) </dev/null >/dev/null 2>&1 "
                        "& echo $! >> /tmp/busy.pids; done",
                        n)
           == 0;
}

/* One line of a running hotcpu-ctl, stamped with e2e_now() when the bench
 * read it: autoscale's decisions on the bench's own clock. */
typedef struct {
    double t;
    char *text;
} StampedLine;

static void
stamped_line_free(gpointer p)
{
    StampedLine *l = p;

    g_free(l->text);
    g_free(l);
}

/* A hotcpu-ctl left running.  A thread per pipe reads its lines as they
 * come: read at the end, they would have no times (and a full pipe would
 * stop the program). */
typedef struct {
    GSubprocess *proc;
    GThread *readers[2];
    GMutex lock;
    GPtrArray *lines; /* StampedLine, stdout and stderr in the order read */
} LiveCtl;

typedef struct {
    LiveCtl *ctl;
    GInputStream *pipe;
} LineReader;

static gpointer
read_stamped_lines(gpointer data)
{
    LineReader *r = data;
    g_autoptr(GDataInputStream) in = g_data_input_stream_new(r->pipe);
    char *text;

    while ((text = g_data_input_stream_read_line_utf8(in, NULL, NULL, NULL))) {
        StampedLine *l = g_new(StampedLine, 1);

        l->t = e2e_now();
        l->text = text;
        if (e2e_verbose())
            g_printerr("    | %s\n", text);
        g_mutex_lock(&r->ctl->lock);
        g_ptr_array_add(r->ctl->lines, l);
        g_mutex_unlock(&r->ctl->lock);
    }
    g_free(r);
    return NULL;
}

static LiveCtl *
live_ctl_start(const char *const *argv)
{
    g_autoptr(GError) error = NULL;
    GSubprocess *p = e2e_ctl_spawn(argv, &error);
    LiveCtl *c;

    if (!p) {
        printf("    cannot start hotcpu-ctl: %s\n", error->message);
        return NULL;
    }
    c = g_new0(LiveCtl, 1);
    c->proc = p;
    g_mutex_init(&c->lock);
    c->lines = g_ptr_array_new_with_free_func(stamped_line_free);
    for (int i = 0; i < 2; i++) {
        LineReader *r = g_new(LineReader, 1);

        r->ctl = c;
        r->pipe = i == 0 ? g_subprocess_get_stdout_pipe(p) : g_subprocess_get_stderr_pipe(p);
        c->readers[i] = g_thread_new("ctl-lines", read_stamped_lines, r);
    }
    return c;
}

/* Sends @sig and waits for the exit and the last lines; the exit status,
 * -1 when a signal ended it. */
static int
live_ctl_stop(LiveCtl *c, int sig)
{
    g_subprocess_send_signal(c->proc, sig);
    g_subprocess_wait(c->proc, NULL, NULL);
    for (int i = 0; i < 2; i++)
        g_thread_join(c->readers[i]);
    return g_subprocess_get_if_exited(c->proc) ? g_subprocess_get_exit_status(c->proc) : -1;
}

static void
live_ctl_free(LiveCtl *c)
{
    g_object_unref(c->proc);
    g_ptr_array_unref(c->lines);
    g_mutex_clear(&c->lock);
    g_free(c);
}

/* The last @n lines of a stopped hotcpu-ctl, for a failure. */
static void
live_ctl_print_tail(LiveCtl *c, guint n)
{
    for (guint i = c->lines->len > n ? c->lines->len - n : 0; i < c->lines->len; i++)
        printf("      | %s\n", ((StampedLine *)c->lines->pdata[i])->text);
}

/* What happened in one autoscale round, seconds from t0 (the load's
 * start); -1: not seen.  at[1][STEP_DECIDED] is 0: the load step starts
 * the first window as a decision starts each later one. */
typedef enum { STEP_OPENED, STEP_DECIDED, STEP_ONLINE, STEP_EVENTS } StepEvent;
typedef struct {
    double at[AS_MAX + 1][STEP_EVENTS];
} StepTimes;
/* STEP_OPENED: the first sample of the window that led to the step to N;
 * STEP_DECIDED: autoscale said "setting domain ... from N-1 to N";
 * STEP_ONLINE: the bench's poll saw N CPUs online. */

/* Reads the steps from autoscale's lines: its --verbose line per sample
 * ("autoscale of domain 'D': 1 vCPUs (1-3), busy 0.62, pressure 0.18:
 * hold") and its note before each change.  The window is followed as
 * autoscale_decide.c does: a high sample opens it, any other sample and a
 * change close it. */
static void
steps_from_lines(const LiveCtl *c, double t0, StepTimes *st)
{
    double open_at = -1;

    for (guint i = 0; i < c->lines->len; i++) {
        const StampedLine *l = c->lines->pdata[i];
        const char *set = strstr(l->text, "setting domain '");
        const char *from = set ? strstr(set, "' from ") : NULL;
        const char *after_name = strstr(l->text, "': ");
        unsigned n_from, n_to;
        int current;
        double busy, pressure = -1;

        if (from && sscanf(from, "' from %u to %u", &n_from, &n_to) == 2) {
            if (n_to <= AS_MAX && st->at[n_to][STEP_DECIDED] < 0) {
                st->at[n_to][STEP_DECIDED] = l->t - t0;
                st->at[n_to][STEP_OPENED] = open_at;
            }
            open_at = -1;
        } else if (g_str_has_prefix(l->text, "hotcpu-ctl: autoscale of domain '") && after_name
                   && sscanf(after_name, "': %d vCPUs (%*u-%*u), busy %lf, pressure %lf", &current,
                             &busy, &pressure)
                          >= 2) {
            if (busy <= AS_BUSY_HIGH && pressure <= AS_PRESSURE_HIGH)
                open_at = -1;
            else if (open_at < 0)
                open_at = l->t - t0;
        }
    }
}

/* One round with autoscale running: from 1 vCPU, a settled autoscale,
 * AS_LOAD busy loops at t0, until AS_MAX CPUs are online (in one change
 * since issue 19: the counts between may never be seen). */
static gboolean
autoscale_round(E2eGuest *g, StepTimes *st)
{
    const char *argv[] = { "--verbose",
                           "autoscale",
                           g->name,
                           "--min",
                           "1",
                           "--max",
                           G_STRINGIFY(AS_MAX),
                           "--up-after",
                           G_STRINGIFY(AS_UP_AFTER_S),
                           "--down-after",
                           G_STRINGIFY(AS_DOWN_AFTER_S),
                           "--cooldown",
                           G_STRINGIFY(AS_COOLDOWN_S),
                           NULL };
    LiveCtl *scale;
    gboolean reached;
    double t0;
    int status;

    for (int n = 0; n <= AS_MAX; n++)
        for (int e = 0; e < STEP_EVENTS; e++)
            st->at[n][e] = -1;
    st->at[1][STEP_DECIDED] = 0;
    if (!(scale = live_ctl_start(argv)))
        return FALSE;
    /* Its first sample only sets the agent's load baseline; a few idle
     * samples make the round start from a settled autoscale. */
    g_usleep(3 * G_USEC_PER_SEC);
    reached = guest_busy_loops(g, AS_LOAD);
    t0 = e2e_now();
    reached = reached && e2e_guest_wait_cpus(g, AS_MAX, AS_MAX, 60000);
    if (reached)
        st->at[AS_MAX][STEP_ONLINE] = e2e_now() - t0;
    guest_busy_loops(g, 0);
    /* SIGTERM: autoscale finishes a change in progress and exits 0. */
    status = live_ctl_stop(scale, SIGTERM);
    steps_from_lines(scale, t0, st);
    if (!reached || status != 0) {
        printf("    autoscale %s (exit %d); its last lines:\n",
               reached ? "exited badly" : "did not reach the CPUs within 60 s", status);
        live_ctl_print_tail(scale, 12);
    }
    live_ctl_free(scale);
    back_to_one(g);
    return reached && status == 0;
}

/* The same load step with `hotcpu-ctl set DOM 4` at t0 instead: the one
 * command a person or a script would run on seeing the load. */
static double
manual_round(E2eGuest *g)
{
    double t = -1;

    if (guest_busy_loops(g, AS_LOAD))
        t = ctl_plug(g, AS_MAX);
    guest_busy_loops(g, 0);
    back_to_one(g);
    return t;
}

/* The window + one sampling period, once (one change since issue 19):
 * the load has to fill a whole sample before the window opens, and the
 * window runs its full length. */
static double
step_floor(int n)
{
    return n > 1 ? (double)(AS_UP_AFTER_S + AS_PERIOD_S) : 0;
}

/* The change of the round that ended at @n, and the one before it (1:
 * the load's start). */
static int
decided_before(const StepTimes *st, int n)
{
    for (int k = n - 1; k > 1; k--)
        if (st->at[k][STEP_DECIDED] >= 0)
            return k;
    return 1;
}

static void
print_autoscale_round(int i, const StepTimes *st)
{
    printf("    round %d: autoscale           %d online %5.2f s (%.2fx floor)\n", i + 1, AS_MAX,
           st->at[AS_MAX][STEP_ONLINE], st->at[AS_MAX][STEP_ONLINE] / step_floor(AS_MAX));
    for (int n = 2; n <= AS_MAX; n++)
        if (st->at[n][STEP_DECIDED] >= 0)
            printf("             change to %d: window opened %+5.2f s, decided %+5.2f s, online "
                   "%+5.2f s\n",
                   n, st->at[n][STEP_OPENED], st->at[n][STEP_DECIDED], st->at[n][STEP_ONLINE]);
}

/* Both ways of each round: autoscale's steps, the manual set's time to
 * AS_MAX online. */
typedef struct {
    StepTimes steps[16];
    double manual[16];
    int n, nm;
} LoadStepSamples;

/* Median over the rounds of at[@n_to][@to] - at[@n_from][@from], where
 * autoscale's lines showed both. */
static double
median_span(const LoadStepSamples *s, int n_from, StepEvent from, int n_to, StepEvent to)
{
    double v[16];
    int k = 0;

    for (int i = 0; i < s->n; i++) {
        double a = s->steps[i].at[n_from][from], b = s->steps[i].at[n_to][to];
        if (a >= 0 && b >= 0)
            v[k++] = b - a;
    }
    return k ? median(v, k) : -1;
}

static void
print_load_step_medians(LoadStepSamples *s)
{
    double manual = median(s->manual, s->nm);
    double full = median_span(s, 1, STEP_DECIDED, AS_MAX, STEP_ONLINE);

    printf("    median autoscale: %d online %5.2f s; window+period floor %.2f s: %.2fx\n", AS_MAX,
           full, step_floor(AS_MAX), full / step_floor(AS_MAX));
    printf("    (the floor: the window (%d s) + one sample period (%d s): the load has to fill a\n"
           "    whole sample before the window opens.  Not in it: the plug itself)\n",
           AS_UP_AFTER_S, AS_PERIOD_S);
    printf("    median hotcpu-ctl set %d at t0: %d online %5.2f s\n", AS_MAX, AS_MAX, manual);
    printf("    ratio autoscale / manual hotcpu-ctl set (%d online): %.1fx\n", AS_MAX,
           full / manual);
    printf("    where autoscale's time goes (medians, from its own lines):\n");
    for (int n = 2; n <= AS_MAX; n++) {
        int before = s->n > 0 ? decided_before(&s->steps[0], n) : 1;

        if (median_span(s, n, STEP_OPENED, n, STEP_DECIDED) < 0)
            continue; /* no change to n (one change since issue 19) */
        printf("      change to %d: %5.2f s %s until a sample opened the window, window %5.2f s,"
               " decision -> %d online %5.2f s\n",
               n, median_span(s, before, STEP_DECIDED, n, STEP_OPENED),
               before == 1 ? "from the load's start" : "from the decision before",
               median_span(s, n, STEP_OPENED, n, STEP_DECIDED), n,
               median_span(s, n, STEP_DECIDED, AS_MAX, STEP_ONLINE));
    }
}

/* (d) part 1: the load step, autoscale and the manual set alternating. */
static void
load_step_bench(E2eGuest *g, int rounds)
{
    LoadStepSamples s = { 0 };

    printf("(d) load step: %d busy loops at t0 on a guest at 1 vCPU; autoscale --min 1 --max %d "
           "--up-after %d\n"
           "    --down-after %d --cooldown %d (a sample every %d s), started 3 s before, vs "
           "hotcpu-ctl set %d\n"
           "    run at t0; until the bench's poll (the shell, every 50 ms) sees the CPUs online; "
           "%d rounds,\n"
           "    alternating, back to 1 vCPU (hotcpu-ctl set 1) before each\n",
           AS_LOAD, AS_MAX, AS_UP_AFTER_S, AS_DOWN_AFTER_S, AS_COOLDOWN_S, AS_PERIOD_S, AS_MAX,
           rounds);
    for (int i = 0; i < rounds; i++) {
        for (int k = 0; k < 2; k++) {
            if ((i + k) % 2 == 0) {
                StepTimes *st = &s.steps[s.n];
                if (autoscale_round(g, st)) {
                    print_autoscale_round(i, st);
                    s.n++;
                } else {
                    printf("    round %d: autoscale failed\n", i + 1);
                }
            } else {
                double t = manual_round(g);
                printf("    round %d: hotcpu-ctl set %d at t0   %d online %5.2f s\n", i + 1, AS_MAX,
                       AS_MAX, t);
                if (t >= 0)
                    s.manual[s.nm++] = t;
            }
        }
    }
    if (s.n && s.nm)
        print_load_step_medians(&s);
}

/* The agent's cost over one window of AGENT_COST_S. */
typedef struct {
    const char *what;
    gboolean ok;
    double secs;
    double run_ms_min;  /* CPU ms per minute from schedstat; -1 without */
    double tick_ms_min; /* the same from utime + stime (10 ms ticks) */
    double vol_per_s;   /* voluntary context switches (wakeups) per second */
    long rss_kb;        /* at the end of the window */
    char *ctl_said;     /* what the watcher printed, in short */
} AgentCost;

/* How many lines of a stopped watch contain @needle. */
static guint
live_ctl_count(const LiveCtl *c, const char *needle)
{
    guint n = 0;

    for (guint i = 0; i < c->lines->len; i++)
        n += strstr(((StampedLine *)c->lines->pdata[i])->text, needle) != NULL;
    return n;
}

/* The agent @pid over AGENT_COST_S with `hotcpu-ctl @watch_argv` connected
 * (NULL: nobody connected). */
static void
agent_cost_with(E2eGuest *g, const char *pid, const char *const *watch_argv, AgentCost *c)
{
    LiveCtl *watch = watch_argv ? live_ctl_start(watch_argv) : NULL;
    g_autofree char *pid_after = NULL;
    ProcSample s0 = { 0 }, s1 = { 0 };
    double t0;

    if (watch_argv && !watch)
        return;
    /* Let the watcher connect and get its first events: the window is the
     * steady state, not the connection. */
    g_usleep(3 * G_USEC_PER_SEC);
    t0 = e2e_now();
    c->ok = proc_sample(g, pid, &s0);
    g_usleep(AGENT_COST_S * G_USEC_PER_SEC);
    c->ok = proc_sample(g, pid, &s1) && c->ok;
    c->secs = e2e_now() - t0;
    pid_after = guest_pid(g, "hotcpu-agent");
    if (g_strcmp0(pid_after, pid) != 0) {
        printf("    the agent %s was replaced by %s during the window: %s not measured\n", pid,
               pid_after ? pid_after : "nothing", c->what);
        c->ok = FALSE;
    }
    if (watch) {
        int status = live_ctl_stop(watch, SIGINT);
        c->ctl_said = g_strdup_printf("watch exit %d; %u topology-changed, %u load lines", status,
                                      live_ctl_count(watch, "topology-changed"),
                                      live_ctl_count(watch, " load: "));
        live_ctl_free(watch);
    }
    c->run_ms_min
        = s0.run_s >= 0 && s1.run_s >= 0 ? (s1.run_s - s0.run_s) * 1000 * 60 / c->secs : -1;
    c->tick_ms_min = (s1.cpu_s - s0.cpu_s) * 1000 * 60 / c->secs;
    c->vol_per_s = (s1.vol - s0.vol) / c->secs;
    c->rss_kb = s1.rss_kb;
}

/* "@x / @base" as a ratio, or both values when the base is 0. */
static char *
ratio_text(double x, double base, const char *unit)
{
    if (base > 0)
        return g_strdup_printf("%.2fx", x / base);
    return g_strdup_printf("%.2f %s vs %.2f", x, unit, base);
}

static void
print_agent_costs(const AgentCost *c, int n)
{
    printf("    %-28s %14s %16s %10s %10s\n", "host side", "CPU ms/min", "(from ticks)", "RSS KiB",
           "wakeups/s");
    for (int i = 0; i < n; i++) {
        if (!c[i].ok) {
            printf("    %-28s not measured\n", c[i].what);
            continue;
        }
        printf("    %-28s %14.2f %16.0f %10ld %10.2f   %s\n", c[i].what, c[i].run_ms_min,
               c[i].tick_ms_min, c[i].rss_kb, c[i].vol_per_s, c[i].ctl_said ? c[i].ctl_said : "");
    }
    for (int i = 1; i < n; i++) {
        g_autofree char *cpu = NULL, *rss = NULL, *wake = NULL;

        if (!c[0].ok || !c[i].ok)
            continue;
        cpu = ratio_text(c[i].run_ms_min, c[0].run_ms_min, "ms/min");
        rss = ratio_text(c[i].rss_kb, c[0].rss_kb, "KiB");
        wake = ratio_text(c[i].vol_per_s, c[0].vol_per_s, "/s");
        printf("    ratio %s / %s: CPU %s, RSS %s, wakeups %s\n", c[i].what, c[0].what, cpu, rss,
               wake);
    }
}

/* (d) part 2: the agent's CPU and memory with nobody connected, with
 * `hotcpu-ctl watch` and with `watch --load 1`. */
static void
agent_cost_bench(E2eGuest *g)
{
    const char *watch[] = { "watch", g->name, NULL };
    const char *watch_load[] = { "watch", g->name, "--load", "1", NULL };
    AgentCost c[3] = { { .what = "nobody connected" },
                       { .what = "hotcpu-ctl watch" },
                       { .what = "hotcpu-ctl watch --load 1" } };
    const char *const *argv[3] = { NULL, watch, watch_load };
    g_autofree char *pid = NULL;

    /* A fresh agent: its RSS before any client, not after part 1's. */
    if (!e2e_guest_agent_stop(g) || !e2e_guest_agent_start(g)
        || !(pid = guest_pid(g, "hotcpu-agent"))) {
        printf("(d) agent cost: cannot restart hotcpu-agent in the guest\n");
        return;
    }
    printf(
        "(d) agent cost: hotcpu-agent (as installed, no --verbose, fresh, pid %s) over %d s each,\n"
        "    3 s after the watcher started; CPU from schedstat (ns), ticks for comparison\n",
        pid, AGENT_COST_S);
    for (int i = 0; i < 3; i++)
        agent_cost_with(g, pid, argv[i], &c[i]);
    print_agent_costs(c, 3);
    for (int i = 0; i < 3; i++)
        g_free(c[i].ctl_said);
}

static void
autoscale_bench(int rounds)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *nohooks = g_build_filename(e2e.rundir, "no-hooks", NULL);
    char *hooks = e2e.hooks_dir;
    /* QEMU's TCG aborts after `maximum` vCPU thread starts: 1 at boot,
     * AS_MAX - 1 for the warm-up plug, twice that a round (autoscale's
     * change, the manual set), the same for the agent's cost, and 2 spare.
     * (With AS_MAX 4 and 16, round 3 crashed QEMU and the bench.) */
    E2eTopology topo = { .sockets = MAX(16, 1 + (AS_MAX - 1) * (2 + 2 * rounds) + 2),
                         .cores = 1,
                         .threads = 1,
                         .current = 1,
                         .osinfo = TRUE };
    E2eGuest *g;

    topo.maximum = topo.sockets;
    g = e2e_guest_boot(&topo, &error);
    if (!g) {
        printf("(d) cannot boot the guest: %s\n", error->message);
        return;
    }
    printf("(d) guest %s up in %.1f s (TCG, 1 of %u vCPUs)\n", g->name, g->boot_seconds,
           topo.maximum);
    /* hotcpu-ctl alone, without the shipped hooks, for autoscale's changes
     * and the manual set alike. */
    g_mkdir_with_parents(nohooks, 0755);
    e2e.hooks_dir = nohooks;
    /* The agent as installed: no --verbose (the e2e guests log debug, which
     * would cost the agent a log line per request). */
    e2e_guest_sh(g, 5000, NULL, NULL, ": > /run/agent.args");
    e2e_guest_agent_stop(g);
    e2e_guest_agent_start(g);
    /* The first plug after boot is slower (bench (b)): untimed. */
    ctl_plug(g, AS_MAX);
    back_to_one(g);
    load_step_bench(g, rounds);
    agent_cost_bench(g);
    e2e.hooks_dir = hooks;
    e2e_guest_free(g);
}

typedef enum {
    PART_IDLE = 1 << 0,      /* (a) */
    PART_PLUG = 1 << 1,      /* (b) */
    PART_UDEV = 1 << 2,      /* (c) */
    PART_AUTOSCALE = 1 << 3, /* (d) */
    PART_ALL = (1 << 4) - 1,
} BenchPart;

/* The parts the options name (all without one); 0 on a usage error. */
static guint
parse_args(int argc, char **argv)
{
    static const struct {
        const char *flag;
        BenchPart part;
    } only[] = {
        { "--idle-only", PART_IDLE },
        { "--plug-only", PART_PLUG },
        { "--udev-only", PART_UDEV },
        { "--autoscale-only", PART_AUTOSCALE },
    };
    guint parts = 0;

    for (int i = 1; i < argc; i++) {
        gboolean known = g_str_equal(argv[i], "--verbose");

        for (guint k = 0; k < G_N_ELEMENTS(only); k++)
            if (g_str_equal(argv[i], only[k].flag)) {
                parts |= only[k].part;
                known = TRUE;
            }
        if (!known) {
            fprintf(stderr, "usage: hotcpu-e2e-bench [--idle-only | --plug-only | --udev-only | "
                            "--autoscale-only] [--verbose]\n");
            return 0;
        }
        if (g_str_equal(argv[i], "--verbose"))
            e2e_set_verbose(TRUE);
    }
    return parts ? parts : PART_ALL;
}

/* (a) and (b), on one guest with qemu-ga when there is one. */
static gboolean
idle_and_plug_bench(guint parts)
{
    g_autoptr(GError) error = NULL;
    /* A high maximum: QEMU's multi-threaded TCG aborts once more vCPU
     * threads were started than the maximum (unplugged ones count): 1 at
     * boot and 3 per plug, one warm-up plug and 5 plugs a round, and 2
     * spare (with 4 plugs counted a round, QEMU died in round 4). */
    E2eTopology topo = { .sockets = MAX(32, 1 + 3 * (1 + 5 * bench_rounds()) + 2),
                         .cores = 1,
                         .threads = 1,
                         .current = 1,
                         .osinfo = TRUE };
    gboolean qga = e2e.qemu_ga != NULL;
    E2eGuest *g;

    topo.maximum = topo.sockets;
    topo.qga_port = qga;
    g = e2e_guest_boot(&topo, &error);
    if (!g) {
        fprintf(stderr, "hotcpu-e2e-bench: %s\n", error->message);
        return FALSE;
    }
    printf("guest %s up in %.1f s (TCG, 1 of %u vCPUs)%s\n", g->name, g->boot_seconds, topo.maximum,
           qga ? ", qemu-ga on " E2E_QGA_PORT " and " E2E_QGA_IDLE_PORT : "");
    if (qga) {
        /* One qemu-ga for virsh --guest (libvirtd holds that port's host end),
         * one on a port nobody holds, to compare with hotcpu-agent idle. */
        e2e_guest_sh(g, 5000, NULL, NULL,
                     "mkdir -p /run/qga1 /run/qga2; qemu-ga -m virtio-serial -p "
                     "/dev/virtio-ports/" E2E_QGA_PORT
                     " -t /run/qga1 </dev/null >/run/qga.log 2>&1 &");
        e2e_guest_sh(
            g, 5000, NULL, NULL,
            "qemu-ga -m virtio-serial -p /dev/virtio-ports/" E2E_QGA_IDLE_PORT
            " -t /run/qga2 </dev/null >/run/qga-idle.log 2>&1 & echo $! > /run/qga-idle.pid");
    }
    if (parts & PART_IDLE) {
        idle_bench(g, qga, "no host ever connected");
        /* A host connects once and leaves: from then on the port reports HUP. */
        host_touch(g, E2E_AGENT_PORT, "{\"execute\": \"ping\"}\n");
        if (qga)
            host_touch(g, E2E_QGA_IDLE_PORT, "{\"execute\": \"guest-ping\"}\n");
        idle_bench(g, qga, "after a host connected once and left");
    }
    if (parts & PART_PLUG)
        plug_bench(g, qga);
    e2e_guest_free(g);
    return TRUE;
}

int
main(int argc, char **argv)
{
    g_autoptr(GError) error = NULL;
    guint parts;

    setvbuf(stdout, NULL, _IOLBF, 0);
    if (!(parts = parse_args(argc, argv)))
        return 2;
    /* Its own image (with qemu-ga and udevd), not the e2e tests' one; and
     * build-guest-image.sh reads HOTCPU_UDEVD. */
    g_setenv("HOTCPU_IMAGE_DIR", E2E_IMAGE_DIR "-bench", FALSE);
    if (!g_getenv("HOTCPU_UDEVD")
        && g_file_test("/lib/systemd/systemd-udevd", G_FILE_TEST_IS_EXECUTABLE))
        g_setenv("HOTCPU_UDEVD", "/lib/systemd/systemd-udevd", FALSE);
    if (!e2e_env_init(&error)) {
        fprintf(stderr, "hotcpu-e2e-bench: %s\n", error->message);
        return 1;
    }
    printf("hotcpu-e2e-bench: image %s; qemu-ga %s; udevd %s\n", e2e.image_dir,
           e2e.qemu_ga ? e2e.qemu_ga : "none (HOTCPU_QEMU_GA)",
           g_getenv("HOTCPU_UDEVD") ? g_getenv("HOTCPU_UDEVD") : "none (HOTCPU_UDEVD)");
    if ((parts & (PART_IDLE | PART_PLUG)) && !idle_and_plug_bench(parts))
        return 1;
    if (parts & PART_UDEV)
        udev_bench(bench_rounds());
    if (parts & PART_AUTOSCALE)
        autoscale_bench(bench_rounds());
    e2e_env_cleanup();
    return 0;
}
