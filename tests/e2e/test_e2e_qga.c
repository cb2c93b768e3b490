/* test_e2e_qga.c: a guest with qemu-guest-agent and no hotcpu-agent, end to
 * end (issue 10), in one real guest booted once: sockets=16 cores=1, 1 of 16
 * vCPUs (the maximum is high for QEMU's TCG limit on vCPU thread starts), no
 * libosinfo metadata (so the unplug rests on qemu-ga reporting Linux), the
 * org.hotcpu.agent.0 channel with nothing behind it, and Debian's qemu-ga on
 * org.qemu.guest_agent.0 (scripts/fetch-qemu-ga; scripts/test runs it).
 *
 *   qga-plug     set 1 -> 4: every new CPU online in the guest, "confirmed",
 *                "guest-agent": "qemu-ga"
 *   qga-partial  guest-set 2, then guest-set 4 with cpu2's online file made
 *                read-only: libvirt 11.3 sends qemu-ga 7.2 the CPUs highest
 *                first, so qemu-ga onlines cpu3, fails on cpu2, and libvirt
 *                fails after applying part; hotcpu-ctl puts cpu3 back
 *                offline, exit 5, CPU 2 named
 *   qga-unplug   set 4 -> 2 (the shipped before-hook and hotcpu-ctl offline
 *                through qemu-ga; libvirt's 5 s per vCPU under TCG)
 *   qga-topology what qemu-ga knows, the rest unknown (null), not zero
 *   qga-both     hotcpu-agent started too: hotcpu-agent does the work
 *   qga-audit    the audit records name the agent of each change
 *
 * Missing root, libvirt, the kernel or qemu-ga: FAILED with the reason. */
#include <CUnit/CUnit.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>

#include "cunit_runner.h"
#include "checks.h"

static char *env_error, *boot_error;
static E2eGuest *guest;

#define NEED_GUEST()                                                                               \
    do {                                                                                           \
        if (!guest)                                                                                \
            g_printerr("    FAILED: no guest: %s\n", env_error ? env_error : boot_error);          \
        CU_ASSERT_PTR_NOT_NULL_FATAL(guest);                                                       \
    } while (0)

/* @text's top-level object (NULL when it is not one). */
static JsonObject *
json_object_of(const char *text)
{
    g_autoptr(JsonParser) p = json_parser_new();
    JsonNode *root;

    if (!text || !json_parser_load_from_data(p, text, -1, NULL))
        return NULL;
    root = json_parser_get_root(p);
    return root && JSON_NODE_HOLDS_OBJECT(root) ? json_object_ref(json_node_get_object(root))
                                                : NULL;
}

static const char *
str_member(JsonObject *o, const char *key)
{
    return o ? json_object_get_string_member_with_default(o, key, "(none)") : "(no json)";
}

static gint64
int_member(JsonObject *o, const char *key)
{
    JsonNode *n = o ? json_object_get_member(o, key) : NULL;

    return n && JSON_NODE_HOLDS_VALUE(n) ? json_node_get_int(n) : -1;
}

static gboolean
null_member(JsonObject *o, const char *key)
{
    JsonNode *n = o ? json_object_get_member(o, key) : NULL;

    return n && JSON_NODE_HOLDS_NULL(n);
}

/* hotcpu-ctl --json set GUEST @n, checked for exit 0, "confirmed" by
 * @agent, and the guest's own sysfs showing CPUs 0..@n-1 online. */
static void
set_and_check(guint n, const char *agent, const char *timeout)
{
    g_autofree char *count = g_strdup_printf("%u", n);
    g_autoptr(E2eRun) r = e2e_ctlv("--json", "set", guest->name, count, "--timeout", timeout, NULL);
    g_autoptr(JsonObject) o = json_object_of(r->out);
    g_autofree char *online = NULL;
    g_autofree char *want = n > 1 ? g_strdup_printf("0-%u", n - 1) : g_strdup("0");

    g_printerr("    set %u: exit %d in %.2f s\n", n, r->status, r->seconds);
    CHECK(r->status == 0, "set %u exited %d\nstdout: %s\nstderr: %s", n, r->status, r->out, r->err);
    CHECK(g_strcmp0(str_member(o, "guest"), "confirmed") == 0, "set %u: guest is %s, not confirmed",
          n, str_member(o, "guest"));
    CHECK(g_strcmp0(str_member(o, "guest-agent"), agent) == 0, "set %u: guest-agent %s, not %s", n,
          str_member(o, "guest-agent"), agent);
    CHECK(int_member(o, "guest-online") == n, "set %u: guest-online %" G_GINT64_FORMAT, n,
          int_member(o, "guest-online"));
    /* the guest's own word: every CPU online, none left offline */
    online = e2e_guest_read(guest, "/sys/devices/system/cpu/online");
    CHECK(g_strcmp0(online, want) == 0, "set %u: the guest has CPUs %s online, not %s", n, online,
          want);
    CHECK(e2e_guest_present(guest) == (int)n, "set %u: the guest has %d CPUs present", n,
          e2e_guest_present(guest));
    CHECK(e2e_libvirt_vcpus(guest, TRUE) == (int)n, "set %u: libvirt says %d live vCPUs", n,
          e2e_libvirt_vcpus(guest, TRUE));
}

/* ---- the tests ---------------------------------------------------------- */

static void
test_plug(void)
{
    NEED_GUEST();
    set_and_check(4, "qemu-ga", "30");
}

static void
test_partial(void)
{
    g_autoptr(E2eRun) down = NULL, up = NULL;
    g_autofree char *online = NULL, *online_after = NULL;

    NEED_GUEST();
    down = e2e_ctlv("guest-set", guest->name, "2", NULL);
    online = e2e_guest_read(guest, "/sys/devices/system/cpu/online");
    CHECK(down->status == 0 && g_strcmp0(online, "0-1") == 0,
          "guest-set 2 exited %d, the guest has %s online: %s", down->status, online, down->err);
    /* qemu-ga opens cpuN/online read-write: a read-only "0" over cpu2's
     * makes it fail there, after it has onlined cpu3 */
    CHECK(e2e_guest_sh(guest, 5000, NULL, NULL,
                       "echo 0 > /run/cpu2-online && mount --bind /run/cpu2-online "
                       "/sys/devices/system/cpu/cpu2/online && mount -o remount,bind,ro "
                       "/sys/devices/system/cpu/cpu2/online")
              == 0,
          "cannot make cpu2/online read-only in the guest");
    up = e2e_ctlv("guest-set", guest->name, "4", NULL);
    online_after = e2e_guest_read(guest, "/sys/devices/system/cpu/online");
    e2e_guest_sh(guest, 5000, NULL, NULL, "umount /sys/devices/system/cpu/cpu2/online");
    g_printerr("    guest-set 4 with cpu2 read-only: exit %d: %s", up->status, up->err);
    CHECK(up->status == 5, "guest-set 4 exited %d, not 5", up->status);
    CHECK(strstr(up->err, "could not online CPU 2: ") && strstr(up->err, "Read-only file system")
              && strstr(up->err, "CPU 3, which it had onlined, was put back offline"),
          "guest-set 4 did not name CPU 2 and the rollback of CPU 3: %s", up->err);
    CHECK(g_strcmp0(online_after, "0-1") == 0,
          "after the failed guest-set 4 the guest has %s online", online_after);
}

static void
test_unplug(void)
{
    NEED_GUEST();
    /* libvirt waits 5 s per vCPU under TCG, then hotcpu-ctl converges */
    set_and_check(2, "qemu-ga", "40");
}

static void
test_topology(void)
{
    g_autoptr(E2eRun) j = NULL, t = NULL;
    g_autoptr(JsonObject) o = NULL;

    NEED_GUEST();
    j = e2e_ctlv("--json", "topology", guest->name, NULL);
    o = json_object_of(j->out);
    CHECK(j->status == 0, "topology exited %d: %s", j->status, j->err);
    CHECK(g_strcmp0(str_member(o, "guest-agent"), "qemu-ga") == 0, "topology by %s",
          str_member(o, "guest-agent"));
    CHECK(int_member(o, "online-count") == 2 && int_member(o, "present-count") == 2, "topology: %s",
          j->out);
    CHECK(null_member(o, "sockets") && null_member(o, "possible")
              && null_member(o, "threads-per-core"),
          "topology: what qemu-ga does not know must be null: %s", j->out);
    t = e2e_ctlv("topology", guest->name, NULL);
    g_printerr("%s", t->out);
    CHECK(t->status == 0 && strstr(t->out, "Socket(s):             unknown")
              && strstr(t->out, "Guest agent:           qemu-ga"),
          "topology text: %s", t->out);
}

static void
test_both_agents(void)
{
    g_autoptr(E2eRun) t = NULL;
    g_autoptr(JsonObject) o = NULL;

    NEED_GUEST();
    CHECK(e2e_guest_agent_start(guest), "hotcpu-agent did not start in the guest");
    set_and_check(3, "hotcpu", "30");
    t = e2e_ctlv("--json", "topology", guest->name, NULL);
    o = json_object_of(t->out);
    CHECK(g_strcmp0(str_member(o, "guest-agent"), "hotcpu") == 0 && int_member(o, "sockets") == 3,
          "topology with both agents: %s", t->out);
}

/* The final records of this guest's set commands, in order: each names its
 * agent.  (guest-set writes records of its own, "command": "guest-set".) */
static void
test_audit(void)
{
    g_autofree char *text = NULL;
    g_auto(GStrv) lines = NULL;
    g_autoptr(GString) agents = g_string_new(NULL);
    guint guest_sets = 0;

    NEED_GUEST();
    CHECK(g_file_get_contents(e2e.audit_log, &text, NULL, NULL), "no audit log %s", e2e.audit_log);
    lines = g_strsplit(text ? text : "", "\n", -1);
    for (guint i = 0; lines[i]; i++) {
        g_autoptr(JsonObject) rec = json_object_of(lines[i]);

        if (rec && g_strcmp0(str_member(rec, "domain"), guest->name) == 0
            && g_strcmp0(str_member(rec, "command"), "guest-set") == 0)
            guest_sets++;
        if (rec && g_strcmp0(str_member(rec, "domain"), guest->name) == 0
            && g_strcmp0(str_member(rec, "command"), "set") == 0
            && g_strcmp0(str_member(rec, "outcome"), "done") == 0)
            g_string_append_printf(agents, "%s%s %s", agents->len ? ", " : "",
                                   str_member(rec, "guest-agent"), str_member(rec, "guest"));
    }
    CHECK(g_strcmp0(agents->str, "qemu-ga confirmed, qemu-ga confirmed, hotcpu confirmed") == 0,
          "the audit records say: %s", agents->str);
    CHECK(guest_sets >= 1, "qga-partial's guest-set commands left no audit record");
}

/* ---- the guest ---------------------------------------------------------- */

/* Starts qemu-ga in the guest and waits until hotcpu-ctl reaches it. */
static gboolean
start_qemu_ga(GError **error)
{
    double until = e2e_now() + 20;

    if (e2e_guest_sh(guest, 10000, NULL, error,
                     "mklinks; mkdir -p /run/qga; qemu-ga -m virtio-serial -p "
                     "/dev/virtio-ports/" E2E_QGA_PORT
                     " -t /run/qga </dev/null >/run/qga.log 2>&1 &")
        != 0)
        return FALSE;
    do {
        g_autoptr(E2eRun) r
            = e2e_ctlv("--guest-agent", "qemu-ga", "--json", "topology", guest->name, NULL);

        if (r->status == 0)
            return TRUE;
        g_usleep(300 * 1000);
    } while (e2e_now() < until);
    g_set_error(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "qemu-ga did not answer within 20 s");
    return FALSE;
}

static int
suite_init(void)
{
    E2eTopology t = { .sockets = 16,
                      .cores = 1,
                      .threads = 1,
                      .current = 1,
                      .maximum = 16,
                      .qga_port = TRUE,
                      .no_agent = TRUE };
    g_autoptr(GError) error = NULL;
    double t0 = e2e_now();

    if (env_error)
        return 0;
    if (!e2e.qemu_ga) {
        boot_error = g_strdup("no qemu-ga for the guest image: run scripts/fetch-qemu-ga BUILD_DIR "
                              "(scripts/test does) or set HOTCPU_QEMU_GA");
        return 0;
    }
    if (!(guest = e2e_guest_boot(&t, &error)) || !start_qemu_ga(&error)) {
        boot_error = g_strdup(error->message);
        g_clear_pointer(&guest, e2e_guest_free);
        return 0;
    }
    g_printerr("  guest %s booted, qemu-ga answering, in %.1f s\n", guest->name, e2e_now() - t0);
    return 0;
}

static int
suite_clean(void)
{
    g_clear_pointer(&guest, e2e_guest_free);
    return 0;
}

static void
test_environment(void)
{
    if (env_error)
        g_printerr("    FAILED: %s\n", env_error);
    CU_ASSERT_PTR_NULL(env_error);
}

static gboolean
wanted(const char *name)
{
    const char *only = g_getenv("HOTCPU_E2E_ONLY");
    g_auto(GStrv) words = only ? g_strsplit(only, ",", -1) : NULL;

    for (guint k = 0; words && words[k]; k++)
        if (strstr(name, words[k]))
            return TRUE;
    return !words;
}

static void
register_qga_suite(void)
{
    static const CunitTest all[] = {
        { "qga-plug", test_plug },
        { "qga-partial", test_partial },
        { "qga-unplug", test_unplug },
        { "qga-topology", test_topology },
        { "qga-both", test_both_agents },
        { "qga-audit", test_audit },
        { NULL, NULL },
    };
    static const CunitTest env[] = { { "environment", test_environment }, { NULL, NULL } };
    static CunitTest chosen[G_N_ELEMENTS(all)];
    guint n = 0;

    for (const CunitTest *t = all; t->name; t++)
        if (wanted(t->name))
            chosen[n++] = *t;
    /* an environment check always runs: a filtered run is not an empty one */
    cunit_add_suite("qga-environment", env);
    if (n > 0)
        cunit_add_suite_full("guest-qga", suite_init, suite_clean, NULL, NULL, chosen);
}

static const CunitSuite suites[] = {
    { "guest-qga", register_qga_suite },
    { NULL, NULL },
};

int
main(int argc, char **argv)
{
    return e2e_run_program(argc, argv, "e2e-qga", suites, &env_error, NULL);
}
