/* test_e2e.c: hotcpu end to end, in real guests under libvirt + QEMU (TCG).
 *
 * Three guests, booted one after the other, each reused by several tests:
 *   A  sockets=16 cores=2 threads=1, 2 of 32 vCPUs, libosinfo metadata:
 *      plug/unplug of whole sockets, limits, races, hooks, jobs, agent loss
 *   D  sockets=16 cores=1, 1 of 16 vCPUs: toggling one vCPU, load
 * (maximums are high because QEMU's TCG cannot start more vCPU threads over
 * a guest's life than its maximum: see suite_a_init)
 *   B  sockets=4 cores=1, 4 of 4 vCPUs, vCPUs 0-2 pinned: pinning
 *   C  sockets=2 cores=2 threads=2, 4 of 8 vCPUs: threads and --sockets
 * Every test checks three witnesses: hotcpu-ctl's answer, libvirt's API and
 * the guest's own /sys and /proc (through the shell on its second UART).
 *
 * Without root, libvirt, the kernel or the built programs, the tests FAIL
 * with the reason: a skipped e2e run must never look like a pass.
 */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <fcntl.h>
#include <json-glib/json-glib.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "cunit_runner.h"
#include "checks.h"

static char *env_error; /* why the environment is unusable */
static E2eGuest *guest_a, *guest_b, *guest_c, *guest_d, *guest_e, *guest_f;
static char *boot_error_a, *boot_error_b, *boot_error_c, *boot_error_d, *boot_error_e,
    *boot_error_f;

#define NEED_GUEST(g, err)                                                                         \
    do {                                                                                           \
        CHECK_FATAL(env_error == NULL, "e2e environment unusable: %s", env_error);                 \
        CHECK_FATAL(e2e.ctl != NULL, "hotcpu-ctl is not built");                                   \
        CHECK_FATAL((g) != NULL, "the guest did not boot: %s", (err) ? (err) : "?");               \
    } while (0)

/* ---- helpers -------------------------------------------------------------- */

static E2eRun *
ctl_set(E2eGuest *g, guint n)
{
    g_autofree char *s = g_strdup_printf("%u", n);
    return e2e_ctlv("--json", "set", g->name, s, NULL);
}

/* Brings @g to @n vCPUs (through hotcpu-ctl; retried once for libvirt's
 * unplug lag), without asserting: the starting point of a test. */
static void
ensure_count(E2eGuest *g, int n)
{
    for (int i = 0; i < 3; i++) {
        if (e2e_libvirt_vcpus(g, TRUE) == n && e2e_guest_wait_cpus(g, n, n, 2000))
            return;
        g_autoptr(E2eRun) r = ctl_set(g, n);
    }
}

static void
check_set(E2eGuest *g, guint n, int want_exit)
{
    g_autoptr(E2eRun) r = e2e_check_set(g, n, want_exit);
}

/* Boots the guest of a suite (its init: nothing when the environment is
 * unusable); *boot_error says why when it did not boot, for NEED_GUEST. */
static void
boot_guest(const E2eTopology *t, E2eGuest **guest, char **boot_error)
{
    g_autoptr(GError) error = NULL;

    if (env_error)
        return;
    *guest = e2e_guest_boot(t, &error);
    if (!*guest)
        *boot_error = g_strdup(error->message);
    else
        g_printerr("  guest %s booted in %.1f s\n", (*guest)->name, (*guest)->boot_seconds);
}

/* ---- suite A -------------------------------------------------------------- */

static int
suite_a_init(void)
{
    /* Under multi-threaded TCG, QEMU never frees the TCG context of an
     * unplugged vCPU and aborts ("tcg_register_thread: assertion failed:
     * (n < tcg_max_ctxs)") once more vCPU threads were ever started than the
     * maximum: keep the maximum well above the plugs a suite makes. */
    E2eTopology t
        = { .sockets = 16, .cores = 2, .threads = 1, .current = 2, .maximum = 32, .osinfo = TRUE };

    boot_guest(&t, &guest_a, &boot_error_a);
    return 0;
}

static int
suite_a_clean(void)
{
    g_clear_pointer(&guest_a, e2e_guest_free);
    return 0;
}

/* The infrastructure itself: shell, channel, sysfs; libvirt plug works. */
static void
test_infra(void)
{
    E2eGuest *g = guest_a;
    g_autofree char *out = NULL;
    g_autofree char *xml = NULL;

    CHECK_FATAL(env_error == NULL, "e2e environment unusable: %s", env_error);
    CHECK_FATAL(g != NULL, "the guest did not boot: %s", boot_error_a ? boot_error_a : "?");
    CHECK(e2e_guest_sh(g, 5000, &out, NULL, "echo hello; exit 3") == 3
              && g_strcmp0(out, "hello") == 0,
          "guest shell: status/output framing broken: '%s'", out ? out : "(null)");
    CHECK(e2e_guest_online(g) == 2 && e2e_guest_present(g) == 2,
          "guest does not start with 2 CPUs");
    CHECK(e2e_libvirt_vcpus(g, TRUE) == 2, "libvirt does not say 2 live vCPUs");
    CHECK(g->agent_socket != NULL, "the live XML names no host socket for the agent channel");
    xml = e2e_guest_xml(g);
    CHECK(xml && strstr(xml, "state='connected'"), "the agent's port is not open in the guest");
    g_clear_pointer(&out, g_free);
    CHECK(e2e_guest_sh(g, 5000, &out, NULL, "pidof hotcpu-agent") == 0,
          "hotcpu-agent does not run in the guest");
}

/* 1. Hot add and remove whole sockets: 2 -> 4 -> 2. */
static void
test_plug_unplug(void)
{
    NEED_GUEST(guest_a, boot_error_a);
    ensure_count(guest_a, 2);
    check_set(guest_a, 4, 0);
    e2e_check_all_agree(guest_a, 4, 5000, "after set 4");
    check_set(guest_a, 2, 0);
    e2e_check_all_agree(guest_a, 2, 5000, "after set 2");
    {
        g_autoptr(JsonNode) rec = e2e_last_audit(guest_a->name);
        gint64 actual = -1;
        e2e_json_find_int(rec, "actual", &actual);
        CHECK(actual == 2,
              "the audit log's last record says actual %" G_GINT64_FORMAT ", expected 2", actual);
    }
}

/* 2. Above the maximum: refused before any change. */
static void
test_above_max(void)
{
    NEED_GUEST(guest_a, boot_error_a);
    ensure_count(guest_a, 2);
    check_set(guest_a, 34, 3);
    e2e_check_all_agree(guest_a, 2, 500, "after refused set 34");
}

/* 3. Below 1: refused. */
static void
test_below_one(void)
{
    NEED_GUEST(guest_a, boot_error_a);
    ensure_count(guest_a, 2);
    check_set(guest_a, 0, 3);
    e2e_check_all_agree(guest_a, 2, 500, "after refused set 0");
}

/* 9. Hooks with the contract's environment, run by their path, the domain
 * XML before and after the change; a veto changes nothing. */
static void
test_hooks(void)
{
    E2eGuest *g = guest_a;
    g_autofree char *log = NULL;
    g_autofree char *veto = NULL;
    char uuid[VIR_UUID_STRING_BUFLEN] = "";
    g_autofree char *want_before = NULL, *want_after = NULL, *want_common = NULL;

    NEED_GUEST(guest_a, boot_error_a);
    ensure_count(g, 2);
    virDomainGetUUIDString(g->dom, uuid);
    g_unlink(e2e.hook_log);

    check_set(g, 4, 0);
    e2e_check_all_agree(g, 4, 5000, "after set 4 with hooks");
    check_set(g, 2, 0);
    e2e_check_all_agree(g, 2, 5000, "after set 2 with hooks");
    g_file_get_contents(e2e.hook_log, &log, NULL, NULL);
    g_printerr("    hooks.log:\n%s", log ? log : "(none)\n");
    want_common = g_strdup_printf("vmName=%s vmId=%s", g->name, uuid);
    for (int step = 0; step < 2; step++) {
        int to = step == 0 ? 4 : 2, from = step == 0 ? 2 : 4;
        for (int phase = 0; phase < 2; phase++) {
            /* the URI hotcpu-ctl used, and the outcome for the after hooks */
            /* started by its path (issue 20); the before hooks read the
             * live XML before the change, the after hooks after it */
            g_autofree char *want = g_strdup_printf(
                "hook=%s %s numberOfCpus=%d previousNumberOfCpus=%d HOTCPU_AGENT_SOCKET=%s "
                "LIBVIRT_DEFAULT_URI=" E2E_URI " HOTCPU_OUTCOME=%s domxml=ok "
                "agent_socket_exists=yes self=%s/%s_set_num_of_cpus/50_e2e_record current=%d",
                phase == 0 ? "before" : "after", want_common, to, from,
                g->agent_socket ? g->agent_socket : "?", phase == 0 ? "" : "done", e2e.hooks_dir,
                phase == 0 ? "before" : "after", phase == 0 ? from : to);
            CHECK(log && strstr(log, want), "no hook run recorded as: %s", want);
        }
    }

    /* A vetoing before-hook: exit 4, nothing changes, the after hooks do not run. */
    g_unlink(e2e.hook_log);
    veto = g_build_filename(e2e.rundir, "veto-before", NULL);
    g_file_set_contents(veto, "1", -1, NULL);
    check_set(g, 6, 4);
    g_unlink(veto);
    e2e_check_all_agree(g, 2, 1000, "after a vetoed set 6");
    g_clear_pointer(&log, g_free);
    g_file_get_contents(e2e.hook_log, &log, NULL, NULL);
    CHECK(log && strstr(log, "hook=before") && !strstr(log, "hook=after"),
          "vetoed change: before ran, after must not: %s", log ? log : "(none)");
    {
        g_autoptr(JsonNode) rec = e2e_last_audit(g->name);
        JsonObject *o = rec ? json_node_get_object(rec) : NULL;
        CHECK(
            o
                && g_strcmp0(json_object_get_string_member_with_default(o, "outcome", ""), "vetoed")
                       == 0,
            "the audit log does not record the veto");
    }
}

/* The number of "hook=before" lines in hooks.log. */
static guint
before_hook_lines(void)
{
    g_autofree char *log = NULL;
    guint n = 0;

    if (g_file_get_contents(e2e.hook_log, &log, NULL, NULL))
        for (const char *p = log; (p = strstr(p, "hook=before ")); p++)
            n++;
    return n;
}

static const char *
rec_outcome(JsonObject *o)
{
    return json_object_get_string_member_with_default(o, "outcome", "(none)");
}

static gint64
rec_int(JsonObject *o, const char *key)
{
    JsonNode *n = json_object_get_member(o, key);

    return n && JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_INT64
               ? json_node_get_int(n)
               : -1;
}

/* 4. Plug, then at once unplug.  One set per domain at a time: the first
 * holds the domain's lock from before its hooks to its record, and a second
 * is refused (exit 3, naming the lock), never queued.  Both orders, each
 * made certain: (a) `set 2` while `set 4` is provably inside its change
 * (held in its before hook through the harness's hold file) is refused and
 * changes nothing; (b) `set 2` started the moment `set 4` has exited is done.
 * The final state is the last request that succeeded (2); each record
 * agrees with libvirt and the guest at its time. */
static void
test_plug_then_unplug(void)
{
    E2eGuest *g = guest_a;
    const char *a1[] = { "--json", "set", g ? g->name : "", "4", NULL };
    g_autofree char *hold = NULL;
    g_autoptr(GError) error = NULL;
    g_autoptr(GSubprocess) p1 = NULL;
    g_autoptr(E2eRun) r1 = NULL, r2 = NULL, r3 = NULL;
    g_autoptr(GPtrArray) recs = NULL;
    gboolean inside = FALSE;
    guint before;
    gsize from;
    double t0;

    NEED_GUEST(guest_a, boot_error_a);
    ensure_count(g, 2);
    e2e_check_all_agree(g, 2, 5000, "before plug + immediate unplug");
    hold = g_build_filename(e2e.rundir, "hold-before", NULL);
    CHECK_FATAL(g_file_set_contents(hold, "", 0, NULL), "cannot write %s", hold);
    before = before_hook_lines();
    from = e2e_audit_size();
    t0 = e2e_now();
    p1 = e2e_ctl_spawn(a1, &error);
    if (!p1)
        g_unlink(hold);
    CHECK_FATAL(p1 != NULL, "cannot start hotcpu-ctl: %s", error ? error->message : "?");
    for (int i = 0; i < 600 && !inside; i++) {
        inside = before_hook_lines() > before;
        if (!inside)
            g_usleep(50 * 1000);
    }
    r2 = ctl_set(g, 2); /* (a): set 4 holds the lock, in its before hook */
    g_printerr("    set 2 while set 4 is in its before hook: exit %d after %.2f s\n", r2->status,
               r2->seconds);
    g_unlink(hold);
    r1 = e2e_ctl_finish(g_steal_pointer(&p1), t0);
    r3 = ctl_set(g, 2); /* (b): the moment set 4 has exited */
    g_printerr("    set 4: exit %d after %.2f s; set 2 right after it: exit %d in %.2f s\n",
               r1->status, r1->seconds, r3->status, r3->seconds);
    CHECK_FATAL(inside, "set 4 never reached its before hook within 30 s: %s", r1->err);

    CHECK(r2->status == 3, "set 2 during set 4 exited %d, expected 3 (refused): %s%s", r2->status,
          r2->out, r2->err);
    {
        g_autofree char *why = e2e_json_string(r2->out, "error");

        CHECK(why && strstr(why, "another hotcpu-ctl set is already running on domain"),
              "the refusal does not name the other set's lock: %s", r2->out);
    }
    CHECK(r1->status == 0 && strstr(r1->out, "\"guest\":\"confirmed\""),
          "set 4 exited %d, not confirmed: %s%s", r1->status, r1->out, r1->err);
    CHECK(r3->status == 0 && strstr(r3->out, "\"guest\":\"confirmed\""),
          "set 2 right after set 4 exited %d, not confirmed: %s%s", r3->status, r3->out, r3->err);
    CHECK(e2e_clean_exit(r1) && e2e_clean_exit(r2) && e2e_clean_exit(r3), "a crash or critical");
    e2e_check_all_agree(g, 2, 5000, "after plug + immediate unplug");

    /* In the log's order: the refusal (written while set 4 held the lock),
     * set 4 done, set 2 done. */
    recs = e2e_audit_since(from, g->name);
    CHECK_FATAL(recs->len == 3, "%u final records for the three sets, not 3", recs->len);
    CHECK(g_strcmp0(rec_outcome(recs->pdata[0]), "refused") == 0
              && rec_int(recs->pdata[0], "exit") == 3 && rec_int(recs->pdata[0], "requested") != 4
              && json_array_get_length(json_object_get_array_member(recs->pdata[0], "hooks")) == 0,
          "record 1 is not set 2's refusal (exit 3, no hooks): outcome %s, exit %" G_GINT64_FORMAT,
          rec_outcome(recs->pdata[0]), rec_int(recs->pdata[0], "exit"));
    CHECK(g_strcmp0(rec_outcome(recs->pdata[1]), "done") == 0
              && rec_int(recs->pdata[1], "actual") == 4
              && rec_int(recs->pdata[1], "guest-online") == 4,
          "record 2 is not set 4 done with 4 online: outcome %s, actual %" G_GINT64_FORMAT
          ", guest-online %" G_GINT64_FORMAT,
          rec_outcome(recs->pdata[1]), rec_int(recs->pdata[1], "actual"),
          rec_int(recs->pdata[1], "guest-online"));
    CHECK(g_strcmp0(rec_outcome(recs->pdata[2]), "done") == 0
              && rec_int(recs->pdata[2], "previous") == 4 && rec_int(recs->pdata[2], "actual") == 2
              && rec_int(recs->pdata[2], "guest-online") == 2,
          "record 3 is not set 2 done from 4 to 2 with 2 online: outcome %s, previous "
          "%" G_GINT64_FORMAT ", actual %" G_GINT64_FORMAT ", guest-online %" G_GINT64_FORMAT,
          rec_outcome(recs->pdata[2]), rec_int(recs->pdata[2], "previous"),
          rec_int(recs->pdata[2], "actual"), rec_int(recs->pdata[2], "guest-online"));
}

/* 5. Toggle plug and unplug 10 times. */
static void
test_toggle(void)
{
    E2eGuest *g = guest_d;

    NEED_GUEST(guest_d, boot_error_d);
    ensure_count(g, 1);
    for (int i = 0; i < 10; i++) {
        for (int n = 2; n >= 1; n--) {
            g_autoptr(E2eRun) r = ctl_set(g, n);
            int online = e2e_guest_online(g), present = e2e_guest_present(g);
            CHECK(r->status == 0 && online == n && present == n,
                  "toggle %d, set %d: exit %d, guest %d online %d present: %s", i, n, r->status,
                  online, present, r->err);
            if (r->status != 0 || online != n)
                return;
        }
    }
    e2e_check_all_agree(g, 1, 1000, "after 10 toggles");
}

/* 8. During another libvirt job (a live dump into a FIFO nobody reads):
 * refused, cleanly. */
static void
test_during_job(void)
{
    E2eGuest *g = guest_a;
    g_autofree char *fifo = NULL;
    g_autoptr(GSubprocess) dump = NULL;
    g_autoptr(GError) error = NULL;
    virDomainJobInfo info;
    gboolean job = FALSE;
    int fd, hold;

    NEED_GUEST(guest_a, boot_error_a);
    ensure_count(g, 2);
    fifo = g_build_filename(g->rundir, "dump.fifo", NULL);
    g_unlink(fifo);
    CHECK_FATAL(mkfifo(fifo, 0666) == 0, "mkfifo %s: %s", fifo, g_strerror(errno));
    /* Hold the FIFO open without reading: libvirt's open() does not block,
     * QEMU's writes do once the pipe is full, and the dump job stays. */
    hold = open(fifo, O_RDWR | O_NONBLOCK);
    CHECK_FATAL(hold >= 0, "open %s: %s", fifo, g_strerror(errno));
    dump = g_subprocess_new(G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE,
                            &error, "virsh", "-c", E2E_URI, "dump", "--live", g->name, fifo, NULL);
    CHECK_FATAL(dump != NULL, "cannot start virsh dump");
    for (int i = 0; i < 100 && !job; i++) {
        g_usleep(100 * 1000);
        job = virDomainGetJobInfo(g->dom, &info) == 0 && info.type != VIR_DOMAIN_JOB_NONE;
    }
    CHECK(job, "virsh dump did not start a job");
    {
        g_autoptr(E2eRun) r = ctl_set(g, 4);
        g_printerr("    set 4 during a dump job: exit %d in %.2f s: %s%s\n", r->status, r->seconds,
                   r->out, r->err);
        CHECK(r->status == 3, "set during a job exited %d, expected 3 (refused): %s", r->status,
              r->err);
        CHECK(e2e_clean_exit(r), "crash or critical: %s", r->err);
    }
    /* End the job by letting the dump finish: drain the FIFO until libvirt's
     * iohelper closes it.  (virDomainAbortJob on this dump left the job hung
     * with 0 bytes processed: don't.) */
    fd = open(fifo, O_RDONLY | O_NONBLOCK);
    close(hold);
    if (fd >= 0) {
        char buf[65536];
        double until = e2e_now() + 90;
        while (e2e_now() < until) {
            ssize_t n = read(fd, buf, sizeof buf);
            if (n == 0)
                break;
            if (n < 0)
                g_usleep(10 * 1000);
        }
        close(fd);
    }
    {
        gboolean ended = FALSE;
        for (int i = 0; i < 100 && !ended; i++) {
            ended = virDomainGetJobInfo(g->dom, &info) == 0 && info.type == VIR_DOMAIN_JOB_NONE;
            if (!ended)
                g_usleep(100 * 1000);
        }
        CHECK(ended, "the dump job did not end after its FIFO was drained");
    }
    g_subprocess_force_exit(dump);
    g_subprocess_wait(dump, NULL, NULL);
    g_unlink(fifo);
    e2e_check_all_agree(g, 2, 1000, "after the job");
}

/* 11. Unplug with the agent stopped: the actual count is reported (exit 6
 * when it differs) and get, the audit log and libvirt agree. */
static void
test_unplug_no_agent(void)
{
    E2eGuest *g = guest_a;
    g_autoptr(E2eRun) r = NULL;
    int present, lv;
    gint64 reported = -1, actual = -1;

    NEED_GUEST(guest_a, boot_error_a);
    ensure_count(g, 4);
    CHECK_FATAL(e2e_guest_online(g) == 4, "could not bring the guest to 4 online CPUs");
    CHECK_FATAL(e2e_guest_agent_stop(g), "cannot stop the agent in the guest");
    /* --timeout 15: the unplug of 2 vCPUs needs ~10 s of libvirt timeouts;
     * no agent will ever confirm, so don't wait the default 30 s for it. */
    r = e2e_ctlv("--json", "set", g->name, "2", "--timeout", "15", NULL);
    g_printerr("    set 2 without agent: exit %d in %.2f s\n    %s%s", r->status, r->seconds,
               r->out, r->err);
    CHECK(r->status == 0 || r->status == 6, "exit %d, expected 0 or 6", r->status);
    CHECK(e2e_clean_exit(r), "crash or critical: %s", r->err);
    g_usleep(500 * 1000);
    present = e2e_guest_present(g);
    lv = e2e_libvirt_vcpus(g, TRUE);
    e2e_json_find_int(e2e_parse_json(r->out), "actual", &reported);
    if (r->status == 0)
        CHECK(present == 2 && reported == 2,
              "exit 0 but the guest has %d present CPUs, hotcpu-ctl reported %" G_GINT64_FORMAT,
              present, reported);
    else
        CHECK(reported == present && reported != 2,
              "exit 6 must report the actual count: reported %" G_GINT64_FORMAT ", guest has %d",
              reported, present);
    CHECK(lv == present, "libvirt says %d live vCPUs, the guest has %d present", lv, present);
    {
        g_autoptr(JsonNode) rec = e2e_last_audit(g->name);
        e2e_json_find_int(rec, "actual", &actual);
        CHECK(actual == present, "the audit log says actual %" G_GINT64_FORMAT ", guest has %d",
              actual, present);
    }
    {
        g_autoptr(E2eRun) get = e2e_ctlv("--json", "get", g->name, NULL);
        g_autoptr(JsonNode) j = e2e_parse_json(get->out);
        JsonNode *live = j && JSON_NODE_HOLDS_OBJECT(j)
                             ? json_object_get_member(json_node_get_object(j), "live")
                             : NULL;
        gint64 cur = -1;
        e2e_json_find_int(live ? live : j, "current", &cur);
        CHECK(cur == present, "hotcpu-ctl get says %" G_GINT64_FORMAT ", the guest has %d present",
              cur, present);
    }
    CHECK(e2e_guest_agent_start(g), "cannot restart the agent");
    ensure_count(g, 2);
    e2e_check_all_agree(g, 2, 5000, "after restarting the agent");
}

/* 12. Agent killed and respawned, host end dropped mid-line: topology answers
 * again and nothing is lost. */
static void
test_agent_restart(void)
{
    E2eGuest *g = guest_a;
    g_autofree char *pid1 = NULL, *pid2 = NULL;
    g_autoptr(E2eRun) before = NULL;
    gboolean answered = FALSE;

    NEED_GUEST(guest_a, boot_error_a);
    ensure_count(g, 4);
    before = e2e_ctlv("--json", "topology", g->name, NULL);
    CHECK(before->status == 0, "topology before: exit %d", before->status);
    e2e_guest_sh(g, 5000, &pid1, NULL, "pidof hotcpu-agent");
    CHECK(e2e_guest_sh(g, 5000, NULL, NULL, "kill -9 $(pidof hotcpu-agent)") == 0,
          "cannot kill the agent");
    for (int i = 0; i < 50 && !answered; i++) {
        g_autoptr(E2eRun) r = e2e_ctlv("--json", "topology", g->name, NULL);
        answered = r->status == 0 && e2e_json_int(r->out, "online-count", -1) == 4;
        if (!answered)
            g_usleep(200 * 1000);
    }
    e2e_guest_sh(g, 5000, &pid2, NULL, "pidof hotcpu-agent");
    CHECK(answered, "topology does not answer 4 online after the agent was killed and respawned");
    CHECK(g_strcmp0(pid1, pid2) != 0, "the agent was not restarted (pid %s)", pid1);

    /* The host side goes away in the middle of a request line. */
    if (g->agent_socket) {
        g_autoptr(GSocketClient) c = g_socket_client_new();
        g_autoptr(GSocketAddress) addr = g_unix_socket_address_new(g->agent_socket);
        g_autoptr(GSocketConnection) conn
            = g_socket_client_connect(c, G_SOCKET_CONNECTABLE(addr), NULL, NULL);
        CHECK(conn != NULL, "cannot connect to %s", g->agent_socket);
        if (conn) {
            GOutputStream *os = g_io_stream_get_output_stream(G_IO_STREAM(conn));
            g_output_stream_write_all(os, "{\"execute\": \"get-top", 20, NULL, NULL, NULL);
            g_usleep(200 * 1000);
            g_io_stream_close(G_IO_STREAM(conn), NULL, NULL);
        }
    }
    /* And a hotcpu-ctl killed while it waits. */
    {
        const char *a[] = { "topology", g->name, NULL };
        g_autoptr(GSubprocess) p = e2e_ctl_spawn(a, NULL);
        if (p) {
            g_usleep(20 * 1000);
            g_subprocess_force_exit(p);
            g_subprocess_wait(p, NULL, NULL);
        }
    }
    e2e_check_all_agree(g, 4, 3000, "after the agent restart and host disconnects");
    ensure_count(g, 2);
    e2e_check_all_agree(g, 2, 5000, "after set 2 following the restart");
}

/* /proc/stat busy jiffies (all but idle and iowait) of cpu0 and cpu1. */
static gboolean
cpu_busy(E2eGuest *g, guint64 busy[2])
{
    g_autofree char *out = NULL;
    g_auto(GStrv) lines = NULL;

    busy[0] = busy[1] = 0;
    if (e2e_guest_sh(g, 5000, &out, NULL, "grep '^cpu[01] ' /proc/stat") != 0)
        return FALSE;
    lines = g_strsplit(out, "\n", -1);
    for (guint i = 0; lines[i]; i++) {
        guint64 v[10] = { 0 };
        int cpu;
        if (sscanf(lines[i],
                   "cpu%d %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT
                   " %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT
                   " %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT,
                   &cpu, &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7])
                >= 8
            && cpu >= 0 && cpu < 2)
            busy[cpu] = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
    }
    return TRUE;
}

/* 10. A fully busy 1-CPU guest gets a second CPU, which takes part of the load. */
static void
test_load(void)
{
    E2eGuest *g = guest_d;
    guint64 a[2], b[2];
    double t0, dt;

    NEED_GUEST(guest_d, boot_error_d);
    ensure_count(g, 1);
    CHECK_FATAL(e2e_guest_online(g) == 1, "could not bring the guest to 1 CPU");
    /* Two busy loops: more than one CPU's worth of work. */
    e2e_guest_sh(g, 5000, NULL, NULL,
                 "rm -f /tmp/busy.pids; for i in 1 2; do (while :; do :; done) </dev/null "
                 ">/dev/null 2>&1 & echo $! >> /tmp/busy.pids; done");
    g_usleep(500 * 1000);
    cpu_busy(g, a);
    t0 = e2e_now();
    g_usleep(2 * G_USEC_PER_SEC);
    cpu_busy(g, b);
    dt = e2e_now() - t0;
    g_printerr("    1 CPU: cpu0 busy %.0f%%\n", (b[0] - a[0]) / dt);
    CHECK((b[0] - a[0]) / dt > 70, "cpu0 is not busy: %.0f%%", (b[0] - a[0]) / dt);

    check_set(g, 2, 0);
    g_usleep(500 * 1000);
    cpu_busy(g, a);
    t0 = e2e_now();
    g_usleep(3 * G_USEC_PER_SEC);
    cpu_busy(g, b);
    dt = e2e_now() - t0;
    g_printerr("    2 CPUs: cpu0 busy %.0f%%, cpu1 busy %.0f%%\n", (b[0] - a[0]) / dt,
               (b[1] - a[1]) / dt);
    CHECK((b[0] - a[0]) / dt > 30 && (b[1] - a[1]) / dt > 30,
          "the load is not shared: cpu0 %.0f%%, cpu1 %.0f%%", (b[0] - a[0]) / dt,
          (b[1] - a[1]) / dt);
    CHECK(e2e_guest_sh(g, 5000, NULL, NULL, "kill $(cat /tmp/busy.pids)") == 0,
          "cannot stop the busy loops");
    e2e_check_all_agree(g, 2, 3000, "after the load test");
    ensure_count(g, 1);
}

/* ---- suite D: one CPU at a time ------------------------------------------ */

static int
suite_d_init(void)
{
    E2eTopology t
        = { .sockets = 16, .cores = 1, .threads = 1, .current = 1, .maximum = 16, .osinfo = TRUE };

    boot_guest(&t, &guest_d, &boot_error_d);
    return 0;
}

static int
suite_d_clean(void)
{
    g_clear_pointer(&guest_d, e2e_guest_free);
    return 0;
}

/* ---- suite B: pinning ----------------------------------------------------- */

static int
suite_b_init(void)
{
    E2eTopology t = { .sockets = 4,
                      .cores = 1,
                      .threads = 1,
                      .current = 4,
                      .maximum = 4,
                      .pinned = 3,
                      .osinfo = TRUE };

    boot_guest(&t, &guest_b, &boot_error_b);
    return 0;
}

static int
suite_b_clean(void)
{
    g_clear_pointer(&guest_b, e2e_guest_free);
    return 0;
}

/* 6. vCPUs 0-2 pinned, 4 running: 4 -> 3 works, 3 -> 2 is refused. */
static void
test_pinning(void)
{
    NEED_GUEST(guest_b, boot_error_b);
    e2e_check_all_agree(guest_b, 4, 5000, "at boot");
    check_set(guest_b, 3, 0);
    e2e_check_all_agree(guest_b, 3, 5000, "after set 3");
    check_set(guest_b, 2, 3);
    e2e_check_all_agree(guest_b, 3, 1000, "after the refused set 2");
}

/* ---- suite C: threads ----------------------------------------------------- */

static int
suite_c_init(void)
{
    E2eTopology t
        = { .sockets = 2, .cores = 2, .threads = 2, .current = 4, .maximum = 8, .osinfo = TRUE };

    boot_guest(&t, &guest_c, &boot_error_c);
    return 0;
}

static int
suite_c_clean(void)
{
    g_clear_pointer(&guest_c, e2e_guest_free);
    return 0;
}

/* 7. 2 threads per core: the maximum is sockets x cores x threads and
 * --sockets plugs whole sockets. */
static void
test_threads(void)
{
    E2eGuest *g = guest_c;

    NEED_GUEST(guest_c, boot_error_c);
    {
        g_autoptr(E2eRun) get = e2e_ctlv("--json", "get", g->name, NULL);
        g_autoptr(JsonNode) j = e2e_parse_json(get->out);
        gint64 max = -1;
        e2e_json_find_int(j, "maximum", &max);
        CHECK(get->status == 0 && max == 8,
              "get: exit %d, maximum %" G_GINT64_FORMAT ", expected 8: %s", get->status, max,
              get->out);
    }
    {
        g_autoptr(E2eRun) r = e2e_ctlv("--json", "set", g->name, "2", "--sockets", NULL);
        g_printerr("    set 2 --sockets: exit %d in %.2f s\n", r->status, r->seconds);
        CHECK(r->status == 0, "set 2 --sockets exited %d: %s", r->status, r->err);
    }
    e2e_check_all_agree(g, 8, 10000, "after set 2 --sockets");
    {
        g_autoptr(E2eRun) t = e2e_ctlv("--json", "topology", g->name, NULL);
        /* The guest kernel sees the sockets; under TCG it does not see SMT
         * siblings (QEMU's qemu64 and max models), so threads show as cores. */
        CHECK(e2e_json_int(t->out, "sockets", -1) == 2, "the guest does not see 2 sockets: %s",
              t->out);
    }
    {
        g_autoptr(E2eRun) r = e2e_ctlv("--json", "set", g->name, "3", "--sockets", NULL);
        CHECK(r->status == 3, "set 3 --sockets (6 sockets... above 2) exited %d, expected 3",
              r->status);
    }
    {
        g_autoptr(E2eRun) r = e2e_ctlv("--json", "set", g->name, "1", "--sockets", NULL);
        g_printerr("    set 1 --sockets: exit %d in %.2f s\n", r->status, r->seconds);
        CHECK(r->status == 0, "set 1 --sockets exited %d: %s", r->status, r->err);
    }
    e2e_check_all_agree(g, 4, 10000, "after set 1 --sockets");
}

/* ---- suite E: boot vCPUs as libvirt makes them ---------------------------- */

static int
suite_e_init(void)
{
    /* no <vcpus>: libvirt makes the 2 boot vCPUs hotpluggable='no' */
    E2eTopology t = { .sockets = 4,
                      .cores = 1,
                      .threads = 1,
                      .current = 2,
                      .maximum = 4,
                      .osinfo = TRUE,
                      .boot_default = TRUE };

    boot_guest(&t, &guest_e, &boot_error_e);
    return 0;
}

static int
suite_e_clean(void)
{
    g_clear_pointer(&guest_e, e2e_guest_free);
    return 0;
}

/* set @n below the non-hotpluggable boot vCPUs: exit 3 before any hook ran,
 * the guest keeps every CPU (the shipped before hook would have offlined
 * them: issue 8). */
static void
expect_boot_vcpus_refusal(E2eGuest *g, guint n, int online, const char *fixed)
{
    g_autofree char *log = NULL;
    g_autofree char *want = g_strdup_printf("vCPUs %s are not hot-pluggable", fixed);
    g_autoptr(E2eRun) r = NULL;

    g_unlink(e2e.hook_log);
    r = ctl_set(g, n);
    g_printerr("    set %u below the boot vCPUs: exit %d in %.2f s\n", n, r->status, r->seconds);
    CHECK(r->status == 3, "set %u exited %d, expected 3: %s%s", n, r->status, r->out, r->err);
    CHECK(strstr(r->out, want) && strstr(r->out, "hotcpu-ctl prepare"),
          "the refusal does not name vCPUs %s and prepare: %s", fixed, r->out);
    g_file_get_contents(e2e.hook_log, &log, NULL, NULL);
    CHECK(!log || !strstr(log, "hook=before"), "a before hook ran: %s", log ? log : "");
    e2e_check_all_agree(g, online, 1000, "after the refused unplug");
}

/* 13 (issue 8, e2e a). Boot vCPUs not hot-pluggable: an unplug below them is
 * refused with exit 3 before any hook, the guest keeps all its CPUs; above
 * them it works.  prepare on the running domain changes only its
 * definition. */
static void
test_boot_vcpus(void)
{
    E2eGuest *g = guest_e;

    NEED_GUEST(guest_e, boot_error_e);
    {
        /* no <vcpus> in the live XML yet: libvirt's implicit layout */
        g_autoptr(E2eRun) get = e2e_ctlv("--json", "get", g->name, NULL);
        g_autoptr(JsonNode) j = e2e_parse_json(get->out);
        JsonObject *o = j && JSON_NODE_HOLDS_OBJECT(j) ? json_node_get_object(j) : NULL;
        JsonNode *range = o ? json_object_get_member(o, "live-range") : NULL;
        gint64 min = -1, max = -1;
        e2e_json_find_int(range, "min", &min);
        e2e_json_find_int(range, "max", &max);
        CHECK(min == 2 && max == 4,
              "get: live-range %" G_GINT64_FORMAT "-%" G_GINT64_FORMAT ", expected 2-4: %s", min,
              max, get->out);
    }
    expect_boot_vcpus_refusal(g, 1, 2, "0-1");
    check_set(g, 3, 0);
    e2e_check_all_agree(g, 3, 5000, "after set 3");
    /* now the live XML lists <vcpus>: boot vCPUs 0-1 'no', 2 'yes' */
    expect_boot_vcpus_refusal(g, 1, 3, "0-1");
    check_set(g, 2, 0);
    e2e_check_all_agree(g, 2, 5000, "after set 2 (the plugged vCPU removed)");

    /* prepare while it runs: the definition only */
    {
        g_autoptr(E2eRun) p = e2e_ctlv("prepare", g->name, "--max", "4", NULL);
        g_autofree char *def = NULL, *live = NULL;
        char *x;

        g_printerr("    prepare (running): exit %d in %.2f s\n%s", p->status, p->seconds, p->out);
        CHECK(p->status == 0, "prepare exited %d: %s", p->status, p->err);
        CHECK(strstr(p->out, "hot-pluggable vCPUs: 2-3 -> 1-3")
                  && strstr(p->out, "is running: only its persistent definition changed"),
              "prepare did not say what it changed: %s", p->out);
        x = virDomainGetXMLDesc(g->dom, VIR_DOMAIN_XML_INACTIVE);
        def = g_strdup(x);
        free(x);
        live = e2e_guest_xml(g);
        CHECK(def && strstr(def, "<vcpu id='1' enabled='yes' hotpluggable='yes'/>"),
              "the definition does not have vCPU 1 hot-pluggable: %s", def ? def : "?");
        CHECK(live && strstr(live, "<vcpu id='1' enabled='yes' hotpluggable='no'"),
              "the running domain changed: %s", live ? live : "?");
    }
    expect_boot_vcpus_refusal(g, 1, 2, "0-1");
}

/* ---- suite F: an existing VM made ready ----------------------------------- */

static int
suite_f_init(void)
{
    /* as many VMs are: maximum = current, boot vCPUs as libvirt makes them,
     * no agent channel; and a VNC password a redefinition must keep */
    E2eTopology t = { .sockets = 2,
                      .cores = 1,
                      .threads = 1,
                      .current = 2,
                      .maximum = 2,
                      .osinfo = TRUE,
                      .boot_default = TRUE,
                      .no_channel = TRUE,
                      .vnc_passwd = "e2eS3crt" };
    g_autoptr(GError) error = NULL;

    if (env_error)
        return 0;
    if (!(guest_f = e2e_guest_define(&t, &error)))
        boot_error_f = g_strdup(error->message);
    return 0;
}

static int
suite_f_clean(void)
{
    g_clear_pointer(&guest_f, e2e_guest_free);
    return 0;
}

/* One --json set: exit 0 and "guest": "confirmed". */
static void
check_set_confirmed(E2eGuest *g, guint n, const char *timeout)
{
    g_autofree char *s = g_strdup_printf("%u", n);
    g_autoptr(E2eRun) r = e2e_ctlv("--json", "set", g->name, s, "--timeout", timeout, NULL);
    g_autofree char *guest = e2e_json_string(r->out, "guest");

    g_printerr("    set %u: exit %d in %.2f s, guest %s\n", n, r->status, r->seconds, guest);
    CHECK(r->status == 0 && g_strcmp0(guest, "confirmed") == 0, "set %u: exit %d, guest '%s': %s%s",
          n, r->status, guest, r->out, r->err);
}

/* 15 (issue 8, e2e c). A persistent domain without the channel, maximum =
 * current: prepare --max 8 (changes printed; a second run says ready), set
 * --config while it is shut off, start, plug to 6 and unplug to 1, each
 * confirmed by the guest. */
static void
test_prepare_existing_vm(void)
{
    E2eGuest *g = guest_f;
    g_autofree char *def = NULL;
    g_autoptr(GError) error = NULL;
    char *x;

    NEED_GUEST(guest_f, boot_error_f);
    {
        g_autoptr(E2eRun) p = e2e_ctlv("prepare", g->name, "--max", "8", NULL);
        g_printerr("    prepare --max 8: exit %d in %.2f s\n%s", p->status, p->seconds, p->out);
        CHECK_FATAL(p->status == 0, "prepare exited %d: %s", p->status, p->err);
        CHECK(strstr(p->out, "  maximum vCPUs: 2 -> 8\n")
                  && strstr(p->out,
                            "  topology: 2 sockets x 1 core x 1 thread -> 8 sockets x 1 core "
                            "x 1 thread\n")
                  && strstr(p->out, "  hot-pluggable vCPUs: none -> 1-7\n")
                  && strstr(p->out, "  agent channel: none -> " E2E_AGENT_PORT "\n")
                  && strstr(p->out, "after a full shutdown and start"),
              "prepare's changes are not as expected: %s", p->out);
    }
    x = virDomainGetXMLDesc(g->dom, VIR_DOMAIN_XML_INACTIVE | VIR_DOMAIN_XML_SECURE);
    def = g_strdup(x);
    free(x);
    CHECK(def && strstr(def, "passwd='e2eS3crt'"), "the redefinition lost the VNC password");
    CHECK(def && strstr(def, "<controller type='virtio-serial'") && strstr(def, E2E_AGENT_PORT),
          "the definition lacks the channel or its controller");
    {
        g_autoptr(E2eRun) again = e2e_ctlv("--json", "prepare", g->name, "--max", "8", NULL);
        g_autoptr(JsonNode) j = e2e_parse_json(again->out);
        JsonObject *o = j && JSON_NODE_HOLDS_OBJECT(j) ? json_node_get_object(j) : NULL;
        CHECK(again->status == 0 && o && json_object_get_boolean_member(o, "ready")
                  && json_array_get_length(json_object_get_array_member(o, "changes")) == 0,
              "a second prepare is not a ready no-op: %s%s", again->out, again->err);
    }
    {
        g_autoptr(E2eRun) off = ctl_set(g, 3);
        g_autoptr(E2eRun) cfg = e2e_ctlv("set", g->name, "3", "--config", NULL);
        CHECK(off->status == 3 && strstr(off->out, "--config"),
              "set on a shut-off domain without --config: exit %d: %s", off->status, off->out);
        CHECK(cfg->status == 0
                  && strstr(cfg->out, "is shut off: its persistent definition now "
                                      "has 3 vCPUs (was 2)"),
              "set --config while shut off: exit %d: %s%s", cfg->status, cfg->out, cfg->err);
        CHECK(e2e_libvirt_vcpus(g, FALSE) == 3, "libvirt's definition has %d vCPUs, not 3",
              e2e_libvirt_vcpus(g, FALSE));
    }
    CHECK_FATAL(e2e_guest_start(g, &error), "the prepared guest did not start: %s",
                error ? error->message : "?");
    g_printerr("  guest %s started in %.1f s\n", g->name, g->boot_seconds);
    e2e_check_all_agree(g, 3, 5000, "after the start");
    check_set_confirmed(g, 6, "30");
    e2e_check_all_agree(g, 6, 5000, "after set 6");
    /* 5 vCPUs under TCG: about 5 s each (libvirt's unplug timeout) */
    check_set_confirmed(g, 1, "60");
    e2e_check_all_agree(g, 1, 5000, "after set 1");
}

/* ---- main ----------------------------------------------------------------- */

static void
test_environment(void)
{
    CHECK_FATAL(env_error == NULL, "e2e environment unusable: %s", env_error);
    CHECK(e2e.ctl != NULL, "hotcpu-ctl is not built (HOTCPU_CTL)");
    CHECK(e2e.agent != NULL, "hotcpu-agent is not built (HOTCPU_AGENT)");
}

static double test_t0, run_t0;
static unsigned test_failures0;

/* Every test's per-test setup and teardown: its name, outcome and time. */
static void
on_test_start(void)
{
    test_t0 = e2e_now();
    test_failures0 = CU_get_number_of_failure_records();
    g_printerr("  [%s] %s ...\n", CU_get_current_suite()->pName, CU_get_current_test()->pName);
}

static void
on_test_done(void)
{
    g_printerr(
        "  [%s] %s: %s in %.1f s\n", CU_get_current_suite()->pName, CU_get_current_test()->pName,
        CU_get_number_of_failure_records() > test_failures0 ? "FAILED" : "ok", e2e_now() - test_t0);
}

/* Adds suite @name with those of @tests that HOTCPU_E2E_ONLY=a,b wants (the
 * tests whose names contain one of these; for development), or nothing when
 * it wants none of them. */
static void
add_guest_suite(const char *name, CU_InitializeFunc init, CU_CleanupFunc clean,
                const CunitTest *tests)
{
    const char *only = g_getenv("HOTCPU_E2E_ONLY");
    g_auto(GStrv) wanted = only ? g_strsplit(only, ",", -1) : NULL;
    g_autoptr(GArray) chosen = g_array_new(TRUE, TRUE, sizeof(CunitTest));

    for (const CunitTest *t = tests; t->name; t++) {
        gboolean want = !wanted;
        for (guint k = 0; wanted && wanted[k]; k++)
            want = want || strstr(t->name, wanted[k]) != NULL;
        if (want)
            g_array_append_val(chosen, *t);
    }
    if (chosen->len > 0)
        cunit_add_suite_full(name, init, clean, on_test_start, on_test_done,
                             (const CunitTest *)chosen->data);
}

static void
register_environment_suite(void)
{
    static const CunitTest tests[] = {
        { "environment", test_environment },
        { NULL, NULL },
    };

    cunit_add_suite_full("environment", NULL, NULL, on_test_start, on_test_done, tests);
}

static void
register_guest_a_suite(void)
{
    static const CunitTest tests[] = {
        { "infra", test_infra },
        /* First, before any unplug: after a vCPU unplug under TCG, a live
         * dump (a migration to a file) of the guest hangs at 0 bytes. */
        { "8-during-job", test_during_job },
        { "1-plug-unplug", test_plug_unplug },
        { "2-above-max", test_above_max },
        { "3-below-one", test_below_one },
        { "9-hooks", test_hooks },
        { "4-plug-then-unplug", test_plug_then_unplug },
        { "11-unplug-no-agent", test_unplug_no_agent },
        { "12-agent-restart", test_agent_restart },
        { NULL, NULL },
    };

    add_guest_suite("guest-a", suite_a_init, suite_a_clean, tests);
}

static void
register_guest_d_suite(void)
{
    static const CunitTest tests[] = {
        { "5-toggle", test_toggle },
        { "10-load", test_load },
        { NULL, NULL },
    };

    add_guest_suite("guest-d-single", suite_d_init, suite_d_clean, tests);
}

static void
register_guest_b_suite(void)
{
    static const CunitTest tests[] = {
        { "6-pinning", test_pinning },
        { NULL, NULL },
    };

    add_guest_suite("guest-b-pinning", suite_b_init, suite_b_clean, tests);
}

static void
register_guest_c_suite(void)
{
    static const CunitTest tests[] = {
        { "7-threads", test_threads },
        { NULL, NULL },
    };

    add_guest_suite("guest-c-threads", suite_c_init, suite_c_clean, tests);
}

static void
register_guest_e_suite(void)
{
    static const CunitTest tests[] = {
        { "13-boot-vcpus-not-hotpluggable", test_boot_vcpus },
        { NULL, NULL },
    };

    add_guest_suite("guest-e-boot-vcpus", suite_e_init, suite_e_clean, tests);
}

static void
register_guest_f_suite(void)
{
    static const CunitTest tests[] = {
        { "15-prepare-existing-vm", test_prepare_existing_vm },
        { NULL, NULL },
    };

    add_guest_suite("guest-f-prepare", suite_f_init, suite_f_clean, tests);
}

static const CunitSuite suites[] = {
    { "environment", register_environment_suite }, { "guest-a", register_guest_a_suite },
    { "guest-d-single", register_guest_d_suite },  { "guest-b-pinning", register_guest_b_suite },
    { "guest-c-threads", register_guest_c_suite }, { "guest-e-boot-vcpus", register_guest_e_suite },
    { "guest-f-prepare", register_guest_f_suite }, { NULL, NULL },
};

int
main(int argc, char **argv)
{
    g_autoptr(GError) error = NULL;
    int status;

    e2e_set_verbose(g_getenv("HOTCPU_E2E_VERBOSE") != NULL);
    run_t0 = e2e_now();
    if (!e2e_env_init(&error)) {
        env_error = g_strdup(error->message);
        g_printerr("e2e: FAIL: %s\n", env_error);
    }

    status = cunit_run(argc, argv, suites);
    g_printerr("e2e: whole run %.1f s, %s\n", e2e_now() - run_t0,
               status == EXIT_SUCCESS ? "passed" : "FAILED");
    e2e_env_keep_rundir(status != EXIT_SUCCESS && g_getenv("HOTCPU_E2E_KEEP") != NULL);
    e2e_env_cleanup();
    return status != EXIT_SUCCESS || env_error ? 1 : 0;
}
