/* test_guest_qga.c: the Guest's qemu-ga side (libhotcpu/host/guest_qga.c)
 * and the agent choice: the pure parts (which CPUs, what a partial change
 * did), then the calls on libvirt's test driver with qga_mock.c linked into
 * this program (its virDomainGetGuestVcpus & co. win over libvirt's).
 */
#include <CUnit/Basic.h>
#include <ftw.h>
#include <libvirt/virterror.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>

#include "agent_client.h"
#include "cunit_runner.h"
#include "guest_private.h"
#include "protocol.h"

#define UUID "6695eb01-f6a4-8304-79aa-97f2502e193f"

/* ---- the pure parts ----------------------------------------------------- */

static Topology *
topo_of(const char *present, const char *online, const char *offlinable)
{
    g_autoptr(GError) error = NULL;
    Topology *t = guest_qga_topology(present, online, offlinable, &error);

    CU_ASSERT_PTR_NOT_NULL(t);
    return t;
}

static char *
plan_text(const Topology *t, guint count, gboolean *online, GError **error)
{
    g_autoptr(CpuList) plan = guest_qga_plan(t, count, online, error);

    return plan ? cpulist_format(plan) : NULL;
}

static void
test_plan(void)
{
    g_autoptr(Topology) t = topo_of("0-5", "0-1,4", "1-5");
    g_autoptr(GError) error = NULL;
    gboolean online = FALSE;
    g_autofree char *up = plan_text(t, 5, &online, NULL);
    g_autofree char *down = NULL, *same = NULL, *all = NULL;

    /* the lowest-numbered offline CPUs come online first */
    CUNIT_ASSERT_STR(up, "2-3");
    CU_ASSERT_TRUE(online);
    /* the highest-numbered online ones go offline first */
    down = plan_text(t, 1, &online, NULL);
    CUNIT_ASSERT_STR(down, "1,4");
    CU_ASSERT_FALSE(online);
    same = plan_text(t, 3, &online, NULL);
    CUNIT_ASSERT_STR(same, "");
    all = plan_text(t, 6, &online, NULL);
    CUNIT_ASSERT_STR(all, "2-3,5");

    CU_ASSERT_PTR_NULL(plan_text(t, 7, &online, &error));
    CU_ASSERT_TRUE(g_error_matches(error, PROTO_ERROR, PROTO_ERROR_INVALID_PARAMETER));
    CUNIT_ASSERT_CONTAINS(error->message, "only 6 present");
    g_clear_error(&error);
    CU_ASSERT_PTR_NULL(plan_text(t, 0, &online, &error));
    CU_ASSERT_TRUE(g_error_matches(error, PROTO_ERROR, PROTO_ERROR_INVALID_PARAMETER));
}

static void
test_plan_fixed(void)
{
    /* cpu0 and cpu2 cannot go offline: never picked, and a floor */
    g_autoptr(Topology) t = topo_of("0-3", "0-3", "1,3");
    g_autoptr(GError) error = NULL;
    gboolean online = TRUE;
    g_autofree char *down = plan_text(t, 2, &online, NULL);

    CUNIT_ASSERT_STR(down, "1,3");
    CU_ASSERT_PTR_NULL(plan_text(t, 1, &online, &error));
    CUNIT_ASSERT_CONTAINS(error ? error->message : NULL, "cannot offline CPUs 0,2");
}

static void
test_topology_unknowns(void)
{
    g_autoptr(Topology) t = topo_of("0-3", "0-1", "1-3");
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) json = NULL;
    const CpuInfo *c3;
    JsonObject *obj;

    CU_ASSERT_EQUAL(cpulist_count(t->present), 4);
    CU_ASSERT_EQUAL(cpulist_count(t->online), 2);
    CU_ASSERT_PTR_NULL(t->possible);
    CU_ASSERT_EQUAL(t->sockets, -1);
    CU_ASSERT_EQUAL(t->threads_per_core, -1);
    c3 = topology_find_cpu(t, 3);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c3);
    CU_ASSERT_FALSE(c3->online);
    CU_ASSERT_TRUE(c3->can_offline);
    CU_ASSERT_EQUAL(c3->socket, -1);
    CU_ASSERT_PTR_NULL(c3->siblings);
    /* unknown is null in JSON, never 0, and reads back as unknown */
    json = topology_to_json(t);
    obj = json_node_get_object(json);
    CU_ASSERT_TRUE(json_object_get_null_member(obj, "sockets"));
    CU_ASSERT_TRUE(json_object_get_null_member(obj, "possible"));
    CU_ASSERT_TRUE(json_object_get_null_member(obj, "cores-per-socket"));
    {
        g_autoptr(Topology) back = topology_from_json(json, &error);

        CU_ASSERT_PTR_NOT_NULL_FATAL(back);
        CU_ASSERT_PTR_NULL(back->possible);
        CU_ASSERT_EQUAL(back->cores_per_socket, -1);
    }
    /* what qemu-ga cannot mean */
    CU_ASSERT_PTR_NULL(guest_qga_topology("0-1", "0-2", "", &error));
    CU_ASSERT_TRUE(g_error_matches(error, AGENT_CLIENT_ERROR, AGENT_CLIENT_ERROR_PROTOCOL));
    g_clear_error(&error);
    CU_ASSERT_PTR_NULL(guest_qga_topology("0-1", NULL, "", &error));
    g_clear_error(&error);
    CU_ASSERT_PTR_NULL(guest_qga_topology("0-x", "0", "", &error));
}

static void
test_changed(void)
{
    g_autoptr(Topology) before = topo_of("0-5", "0-1", "1-5");
    g_autoptr(Topology) after = topo_of("0-5", "0-2,5", "1-5");
    g_autoptr(CpuList) want = cpulist_parse("2-4", NULL);
    g_autoptr(CpuList) changed = guest_qga_changed(want, TRUE, before, after);
    g_autofree char *text = cpulist_format(changed);

    /* cpu5 came online too, but was not ours to change */
    CUNIT_ASSERT_STR(text, "2");
}

/* ---- on the test driver ------------------------------------------------- */

typedef struct {
    char *dir, *node, *state, *log;
    virConnectPtr conn;
    virDomainPtr dom;
} Fx;

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    return remove(path);
}

/* A running test-driver domain with @vcpus of 8 vCPUs, without the hotcpu
 * channel, and qemu-ga in the state @state. */
static Fx *
fx_new(guint vcpus, const char *state)
{
    Fx *fx = g_new0(Fx, 1);
    g_autofree char *xml = NULL, *uri = NULL;

    fx->dir = g_dir_make_tmp("hotcpu-qga-test-XXXXXX", NULL);
    fx->node = g_build_filename(fx->dir, "node.xml", NULL);
    fx->state = g_build_filename(fx->dir, "qga.state", NULL);
    fx->log = g_strconcat(fx->state, ".log", NULL);
    xml = g_strdup_printf("<node><domain type='test'><name>web1</name><uuid>" UUID "</uuid>"
                          "<memory>1048576</memory><vcpu current='%u'>8</vcpu>"
                          "<os><type arch='x86_64'>hvm</type></os><devices/></domain></node>",
                          vcpus);
    g_assert(g_file_set_contents(fx->node, xml, -1, NULL));
    g_assert(g_file_set_contents(fx->state, state, -1, NULL));
    g_setenv("HOTCPU_MOCK_QGA_STATE", fx->state, TRUE);
    uri = g_strdup_printf("test://%s", fx->node);
    fx->conn = virConnectOpen(uri);
    g_assert(fx->conn);
    fx->dom = virDomainLookupByName(fx->conn, "web1");
    g_assert(fx->dom);
    return fx;
}

static void
fx_free(Fx *fx)
{
    virDomainFree(fx->dom);
    virConnectClose(fx->conn);
    nftw(fx->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    g_unsetenv("HOTCPU_MOCK_QGA_STATE");
    g_free(fx->dir);
    g_free(fx->node);
    g_free(fx->state);
    g_free(fx->log);
    g_free(fx);
}

/* The online list the state file holds now. */
static char *
state_online(Fx *fx)
{
    g_autofree char *text = NULL;
    g_auto(GStrv) lines = NULL;

    g_file_get_contents(fx->state, &text, NULL, NULL);
    lines = g_strsplit(text ? text : "", "\n", -1);
    for (guint i = 0; lines[i]; i++)
        if (g_str_has_prefix(lines[i], "online "))
            return g_strdup(lines[i] + 7);
    return g_strdup("");
}

static char *
log_text(Fx *fx)
{
    char *text = NULL;

    if (!g_file_get_contents(fx->log, &text, NULL, NULL))
        return g_strdup("");
    return text;
}

static void
test_choice(void)
{
    Fx *fx = fx_new(4, "present 0-3\nonline 0-3\nofflinable auto\n");
    g_autoptr(GError) error = NULL;

    {
        /* no hotcpu channel: qemu-ga answers */
        g_autoptr(Guest) g = guest_new(fx->dom, FALSE, NULL, GUEST_AGENT_AUTO);

        CU_ASSERT_EQUAL(guest_probe(g, NULL), GUEST_AGENT_QEMU_GA);
        CU_ASSERT_EQUAL(guest_kind(g), GUEST_AGENT_QEMU_GA);
        CU_ASSERT_TRUE(guest_reports_linux(g));
    }
    {
        /* forced to hotcpu: qemu-ga is not asked */
        g_autoptr(Guest) g = guest_new(fx->dom, FALSE, NULL, GUEST_AGENT_HOTCPU);
        g_autofree char *msg = NULL;

        CU_ASSERT_EQUAL(guest_probe(g, &error), GUEST_AGENT_NONE);
        msg = guest_unreachable_message(g, "web1", error);
        CUNIT_ASSERT_CONTAINS(msg, "has no hotcpu agent channel");
        CUNIT_ASSERT_NOT_CONTAINS(msg, "qemu-ga");
        g_clear_error(&error);
    }
    {
        g_autoptr(Guest) g = guest_new(fx->dom, FALSE, NULL, GUEST_AGENT_NONE);
        g_autofree char *msg = NULL;

        CU_ASSERT_EQUAL(guest_probe(g, &error), GUEST_AGENT_NONE);
        CU_ASSERT_PTR_NULL(guest_get_topology(g, NULL));
        msg = guest_unreachable_message(g, "web1", error);
        CUNIT_ASSERT_CONTAINS(msg, "(--guest-agent none)");
        g_clear_error(&error);
    }
    /* qemu-ga not connected: none, and the message names both */
    g_file_set_contents(fx->state, "present 0-3\nonline 0-3\nmode silent\n", -1, NULL);
    {
        g_autoptr(Guest) g = guest_new(fx->dom, FALSE, NULL, GUEST_AGENT_AUTO);
        g_autofree char *msg = NULL;

        CU_ASSERT_EQUAL(guest_probe(g, &error), GUEST_AGENT_NONE);
        msg = guest_unreachable_message(g, "web1", error);
        CUNIT_ASSERT_CONTAINS(msg, "has no hotcpu agent channel");
        CUNIT_ASSERT_CONTAINS(msg, "qemu-ga did not answer either");
        CUNIT_ASSERT_CONTAINS(msg, "QEMU guest agent is not connected");
        CU_ASSERT_FALSE(guest_reports_linux(g));
    }
    CU_ASSERT_TRUE(guest_agent_parse("qemu-ga", &(GuestAgentKind){ 0 }));
    CU_ASSERT_FALSE(guest_agent_parse("qga", &(GuestAgentKind){ 0 }));
    fx_free(fx);
}

static void
test_set_plug_unplug(void)
{
    Fx *fx = fx_new(4, "present 0-3\nonline 0-1\nofflinable auto\n");
    g_autoptr(Guest) g = guest_new(fx->dom, FALSE, NULL, GUEST_AGENT_AUTO);
    g_autoptr(GError) error = NULL;
    g_autoptr(Topology) up = guest_set_num_cpus(g, 4, 0, &error);
    g_autoptr(Topology) down = NULL;
    g_autofree char *s1 = NULL, *s2 = NULL, *log = NULL;

    CU_ASSERT_PTR_NOT_NULL_FATAL(up);
    s1 = state_online(fx);
    CUNIT_ASSERT_STR(s1, "0-3");
    down = guest_set_num_cpus(g, 1, 0, &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(down);
    s2 = state_online(fx);
    CUNIT_ASSERT_STR(s2, "0");
    /* one request each way */
    log = log_text(fx);
    CUNIT_ASSERT_STR(log, "set 2-3 1 0\nset 1-3 0 0\n");
    fx_free(fx);
}

/* qemu-ga changes cpu3 (libvirt sends the highest first), fails on cpu2,
 * libvirt fails after applying part: cpu3 is put back and the error names
 * cpu2. */
static void
test_set_partial_rolled_back(void)
{
    Fx *fx = fx_new(4, "present 0-3\nonline 0-1\nofflinable auto\nmode fail-cpu\nfail 2\n");
    g_autoptr(Guest) g = guest_new(fx->dom, FALSE, NULL, GUEST_AGENT_AUTO);
    g_autoptr(GError) error = NULL;
    g_autofree char *online = NULL, *log = NULL;

    CU_ASSERT_PTR_NULL(guest_set_num_cpus(g, 4, 0, &error));
    CU_ASSERT_TRUE(g_error_matches(error, PROTO_ERROR, PROTO_ERROR_OPERATION_FAILED));
    CUNIT_ASSERT_STR(error->message,
                     "could not online CPU 2: internal error: unable to execute QEMU agent "
                     "command 'guest-set-vcpus': pwrite(\"/sys/devices/system/cpu/cpu2//online\"): "
                     "Device or resource busy; CPU 3, which it had onlined, was put back offline");
    CUNIT_ASSERT_CONTAINS(error->message, "Device or resource busy");
    CUNIT_ASSERT_CONTAINS(error->message, "CPU 3, which it had onlined, was put back offline");
    online = state_online(fx);
    CUNIT_ASSERT_STR(online, "0-1");
    log = log_text(fx);
    CUNIT_ASSERT_STR(log, "set 2-3 1 -1\nset 3 0 0\n");
    fx_free(fx);
}

static void
test_set_partial_unplug(void)
{
    Fx *fx = fx_new(4, "present 0-3\nonline 0-3\nofflinable auto\nmode fail-cpu\nfail 2\n");
    g_autoptr(Guest) g = guest_new(fx->dom, FALSE, NULL, GUEST_AGENT_QEMU_GA);
    g_autoptr(GError) error = NULL;
    g_autofree char *online = NULL;

    /* offlines 3 then fails on 2 */
    CU_ASSERT_PTR_NULL(guest_set_num_cpus(g, 2, 0, &error));
    CUNIT_ASSERT_CONTAINS(error ? error->message : NULL, "could not offline CPU 2");
    CUNIT_ASSERT_CONTAINS(error ? error->message : NULL, "CPU 3, which it had offlined, was put "
                                                         "back online");
    online = state_online(fx);
    CUNIT_ASSERT_STR(online, "0-3");
    fx_free(fx);
}

/* The CPU that failed first in the request: nothing changed, and it is
 * named from libvirt's text, not guessed from the order. */
static void
test_set_first_fails(void)
{
    Fx *fx = fx_new(4, "present 0-3\nonline 0-1\nofflinable auto\nmode fail-cpu\nfail 3\n");
    g_autoptr(Guest) g = guest_new(fx->dom, FALSE, NULL, GUEST_AGENT_AUTO);
    g_autoptr(GError) error = NULL;
    g_autoptr(CpuList) left = cpulist_parse("2-3", NULL);
    g_autoptr(CpuList) one = cpulist_parse("2", NULL);

    CU_ASSERT_PTR_NULL(guest_set_num_cpus(g, 4, 0, &error));
    CUNIT_ASSERT_CONTAINS(error ? error->message : NULL,
                          "could not online CPU 3: internal error: unable to execute");
    CUNIT_ASSERT_CONTAINS(error ? error->message : NULL, "; nothing else had been changed");
    CU_ASSERT_EQUAL(guest_qga_failed_cpu("open(\"/sys/devices/system/cpu/cpu3//online\")", left),
                    3);
    CU_ASSERT_EQUAL(guest_qga_failed_cpu("open(\"/sys/devices/system/cpu/cpu7//online\")", left),
                    -1);
    CU_ASSERT_EQUAL(guest_qga_failed_cpu("something else", one), 2);
    CU_ASSERT_EQUAL(guest_qga_failed_cpu(NULL, left), -1);
    fx_free(fx);
}

/* qemu-ga says it did part, without an error: the rest is asked again. */
static void
test_set_short_and_stuck(void)
{
    Fx *fx = fx_new(4, "present 0-3\nonline 0\nofflinable auto\nmode short\n");
    g_autoptr(GError) error = NULL;
    g_autofree char *online = NULL;

    {
        g_autoptr(Guest) g = guest_new(fx->dom, FALSE, NULL, GUEST_AGENT_AUTO);
        g_autoptr(Topology) t = guest_set_num_cpus(g, 4, 0, &error);

        CU_ASSERT_PTR_NOT_NULL(t);
        online = state_online(fx);
        CUNIT_ASSERT_STR(online, "0-3");
    }
    g_file_set_contents(fx->state, "present 0-3\nonline 0\nofflinable auto\nmode stuck\n", -1,
                        NULL);
    {
        g_autoptr(Guest) g = guest_new(fx->dom, FALSE, NULL, GUEST_AGENT_AUTO);

        CU_ASSERT_PTR_NULL(guest_set_num_cpus(g, 3, 0, &error));
        CUNIT_ASSERT_CONTAINS(error ? error->message : NULL,
                              "could not online CPUs 1-2: qemu-ga reported success, but the "
                              "CPUs stayed offline; nothing else had been changed");
    }
    fx_free(fx);
}

static void
test_windows(void)
{
    Fx *fx = fx_new(4, "present 0-3\nonline 0-3\nmode windows\n");
    g_autoptr(Guest) g = guest_new(fx->dom, FALSE, NULL, GUEST_AGENT_AUTO);
    g_autoptr(GError) error = NULL;
    g_autoptr(Topology) t = guest_get_topology(g, NULL);

    CU_ASSERT_PTR_NOT_NULL(t);
    CU_ASSERT_FALSE(guest_reports_linux(g));
    CU_ASSERT_PTR_NULL(guest_set_num_cpus(g, 2, 0, &error));
    CU_ASSERT_TRUE(g_error_matches(error, GUEST_ERROR, GUEST_ERROR_UNSUPPORTED));
    CUNIT_ASSERT_STR(error ? error->message : NULL,
                     "the qemu-ga of domain 'web1' cannot online or offline CPUs (Windows guests "
                     "do not support it): requested 2 online CPUs but the guest cannot offline "
                     "CPUs 0-3");
    fx_free(fx);
}

static void
test_restore_exact(void)
{
    Fx *fx = fx_new(6, "present 0-5\nonline 0-1,4-5\nofflinable auto\n");
    g_autoptr(Guest) g = guest_new(fx->dom, FALSE, NULL, GUEST_AGENT_AUTO);
    g_autoptr(GError) error = NULL;
    g_autoptr(CpuList) want = cpulist_parse("0,2-3", NULL);
    g_autoptr(Topology) t = guest_restore_online(g, want, &error);
    g_autofree char *online = state_online(fx);

    CU_ASSERT_PTR_NOT_NULL(t);
    /* the set, not just as many */
    CUNIT_ASSERT_STR(online, "0,2-3");
    fx_free(fx);
}

/* The hot add lands while we wait: present follows libvirt's count. */
static void
test_wait_count_plug(void)
{
    Fx *fx = fx_new(2, "present libvirt\nonline 0-1\nofflinable auto\n");
    g_autoptr(Guest) g = guest_new(fx->dom, FALSE, NULL, GUEST_AGENT_AUTO);
    g_autoptr(GError) error = NULL;
    g_autoptr(Topology) last = NULL;
    g_autofree char *online = NULL;
    GuestWaitResult r;

    CU_ASSERT_EQUAL_FATAL(virDomainSetVcpusFlags(fx->dom, 4, VIR_DOMAIN_AFFECT_LIVE), 0);
    r = guest_wait_count(g, 4, g_get_monotonic_time() + 5 * G_USEC_PER_SEC, &last, &error);
    CU_ASSERT_EQUAL(r, GUEST_WAIT_REACHED);
    online = state_online(fx);
    CUNIT_ASSERT_STR(online, "0-3");
    CU_ASSERT_EQUAL(guest_wait_present(g, 4, 2, g_get_monotonic_time() + G_USEC_PER_SEC), 4);
    fx_free(fx);
}

/* guest-set-vcpus blocked: a refusal at once, not a wait to the deadline */
static void
test_wait_count_refused(void)
{
    Fx *fx = fx_new(4, "present 0-3\nonline 0-1\nofflinable auto\nmode disabled\n");
    g_autoptr(Guest) g = guest_new(fx->dom, FALSE, NULL, GUEST_AGENT_AUTO);
    g_autoptr(GError) error = NULL;
    g_autoptr(Topology) last = NULL;
    gint64 t0 = g_get_monotonic_time();
    GuestWaitResult r = guest_wait_count(g, 4, t0 + 10 * G_USEC_PER_SEC, &last, &error);

    CU_ASSERT_EQUAL(r, GUEST_WAIT_REFUSED);
    CU_ASSERT_TRUE(g_get_monotonic_time() - t0 < 3 * G_USEC_PER_SEC);
    CUNIT_ASSERT_CONTAINS(error ? error->message : NULL,
                          "cannot online or offline CPUs (its guest-set-vcpus is not supported "
                          "there): ");
    CUNIT_ASSERT_CONTAINS(error ? error->message : NULL, "has been disabled for this instance");
    CU_ASSERT_PTR_NOT_NULL(last);
    fx_free(fx);
}

static void
test_wait_count_timeout(void)
{
    /* nobody ejects: 4 present stay */
    Fx *fx = fx_new(4, "present 0-3\nonline 0-3\nofflinable auto\n");
    g_autoptr(Guest) g = guest_new(fx->dom, FALSE, NULL, GUEST_AGENT_AUTO);
    g_autoptr(Topology) last = NULL;
    GuestWaitResult r
        = guest_wait_count(g, 2, g_get_monotonic_time() + G_USEC_PER_SEC, &last, NULL);
    g_autofree char *online = state_online(fx);

    CU_ASSERT_EQUAL(r, GUEST_WAIT_TIMEOUT);
    /* the CPUs about to go were offlined meanwhile */
    CUNIT_ASSERT_STR(online, "0-1");
    CU_ASSERT_EQUAL(last ? cpulist_count(last->present) : 0, 4);
    fx_free(fx);
}

static void
register_pure_suite(void)
{
    static const CunitTest tests[] = {
        { "plan", test_plan },
        { "plan with fixed CPUs", test_plan_fixed },
        { "topology unknowns", test_topology_unknowns },
        { "what a partial change did", test_changed },
        { NULL, NULL },
    };

    cunit_add_suite("qga-pure", tests);
}

static void
register_driver_suite(void)
{
    static const CunitTest tests[] = {
        { "agent choice", test_choice },
        { "plug and unplug", test_set_plug_unplug },
        { "partial plug rolled back", test_set_partial_rolled_back },
        { "partial unplug rolled back", test_set_partial_unplug },
        { "the first CPU fails", test_set_first_fails },
        { "short and stuck replies", test_set_short_and_stuck },
        { "windows", test_windows },
        { "restore an exact set", test_restore_exact },
        { "wait: plug lands", test_wait_count_plug },
        { "wait: refused", test_wait_count_refused },
        { "wait: timeout", test_wait_count_timeout },
        { NULL, NULL },
    };

    cunit_add_suite("qga-test-driver", tests);
}

static const CunitSuite suites[] = {
    { "qga-pure", register_pure_suite },
    { "qga-test-driver", register_driver_suite },
    { NULL, NULL },
};

static void
quiet(void *opaque, virErrorPtr err)
{
}

int
main(int argc, char **argv)
{
    virSetErrorFunc(NULL, quiet);
    return cunit_run(argc, argv, suites);
}
