/* test_ctl_qga.c: hotcpu-ctl and the shipped hooks with qemu-ga, on
 * libvirt's test driver: qemu-ga comes from the LD_PRELOAD shim qga_mock.c
 * (the test driver has no guest-agent calls), hotcpu-agent, where a test
 * wants both, is the real one on a fake sysfs tree.
 */
#include <CUnit/Basic.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "cunit_runner.h"
#include "fake_sysfs.h"

#include "ctl_fixture.h"

static const char *before_hook, *after_hook;

/* Gives @fx a qemu-ga in state @text (see qga_mock.c). */
static void
qga_state(Fx *fx, const char *text)
{
    if (!fx->qga_state)
        fx->qga_state = g_build_filename(fx->dir, "qga.state", NULL);
    g_assert(g_file_set_contents(fx->qga_state, text, -1, NULL));
}

static char *
qga_line(Fx *fx, const char *key)
{
    g_autofree char *text = NULL;
    g_auto(GStrv) lines = NULL;
    g_autofree char *prefix = g_strconcat(key, " ", NULL);

    g_file_get_contents(fx->qga_state, &text, NULL, NULL);
    lines = g_strsplit(text ? text : "", "\n", -1);
    for (guint i = 0; lines[i]; i++)
        if (g_str_has_prefix(lines[i], prefix))
            return g_strdup(lines[i] + strlen(prefix));
    return g_strdup("");
}

static gboolean
out_has(Fx *fx, const char *needle)
{
    gboolean found = strstr(fx->out, needle) != NULL;

    if (!found)
        fprintf(stderr, "\nexpected '%s' in stdout: %s\n", needle, fx->out);
    return found;
}

static const char *
json_str(JsonObject *obj, const char *key)
{
    return obj ? json_object_get_string_member_with_default(obj, key, "(none)") : "(no json)";
}

/* ---- get, topology, guest-set ------------------------------------------- */

static void
test_topology_get(void)
{
    Fx *fx = fx_new();
    Dom d = { .name = "web1", .current = 4 };

    fx_domain(fx, &d);
    qga_state(fx, "present 0-3\nonline 0-1\nofflinable auto\n");
    CU_ASSERT_EQUAL(fx_run(fx, "topology", "web1"), 0);
    CU_ASSERT_TRUE(out_has(fx, "CPU ONLINE SOCKET CORE THREAD SIBLINGS  NODE CAN-OFFLINE"));
    CU_ASSERT_TRUE(out_has(fx, "  0 yes         -    - -                   - no"));
    CU_ASSERT_TRUE(out_has(fx, "  3 no          -    - -                   - yes"));
    CU_ASSERT_TRUE(out_has(fx, "On-line CPU(s) list:   0-1"));
    CU_ASSERT_TRUE(out_has(fx, "Possible CPU(s) list:  unknown"));
    CU_ASSERT_TRUE(out_has(fx, "Socket(s):             unknown"));
    CU_ASSERT_TRUE(out_has(fx, "Guest agent:           qemu-ga"));
    CU_ASSERT_EQUAL(fx_run(fx, "--json", "topology", "web1"), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fx->json);
    CU_ASSERT_STRING_EQUAL(json_str(fx->json, "guest-agent"), "qemu-ga");
    CU_ASSERT_TRUE(json_object_get_null_member(fx->json, "sockets"));
    CU_ASSERT_TRUE(json_object_get_null_member(fx->json, "threads-per-core"));
    CU_ASSERT_TRUE(json_object_get_null_member(fx->json, "possible"));
    CU_ASSERT_EQUAL(json_object_get_int_member(fx->json, "online-count"), 2);

    CU_ASSERT_EQUAL(fx_run(fx, "get", "web1"), 0);
    CU_ASSERT_TRUE(out_has(fx, "guest        online         2"));
    CU_ASSERT_TRUE(out_has(fx, "guest        present        4"));
    CU_ASSERT_TRUE(out_has(fx, "guest        agent        qemu-ga"));
    CU_ASSERT_EQUAL(fx_run(fx, "--json", "get", "web1"), 0);
    CU_ASSERT_STRING_EQUAL(json_str(fx->json, "guest-agent"), "qemu-ga");
    fx_free(fx);
}

static void
test_guest_set(void)
{
    Fx *fx = fx_new();
    Dom d = { .name = "web1", .current = 4 };
    g_autofree char *online = NULL;

    fx_domain(fx, &d);
    qga_state(fx, "present 0-3\nonline 0-1\nofflinable auto\n");
    CU_ASSERT_EQUAL(fx_run(fx, "guest-set", "web1", "3"), 0);
    CU_ASSERT_TRUE(out_has(fx, "the guest has 3 CPUs online (0-2) of 4 present (qemu-ga)"));
    online = qga_line(fx, "online");
    CUNIT_ASSERT_STR(online, "0-2");
    CU_ASSERT_EQUAL(fx_run(fx, "--json", "guest-set", "web1", "1"), 0);
    CU_ASSERT_STRING_EQUAL(json_str(fx->json, "guest-agent"), "qemu-ga");
    CU_ASSERT_EQUAL(fx_run(fx, "guest-set", "web1", "9"), 3);
    CU_ASSERT_TRUE(err_has(fx, "the qemu-ga of domain 'web1' refused 9 online CPUs: requested 9 "
                               "online CPUs but the guest has only 4 present"));
    fx_free(fx);
}

/* qemu-ga onlines cpu3, fails on cpu2: cpu3 goes back, exit 5, CPU named. */
static void
test_guest_set_partial(void)
{
    Fx *fx = fx_new();
    Dom d = { .name = "web1", .current = 4 };
    g_autofree char *online = NULL;

    fx_domain(fx, &d);
    qga_state(fx, "present 0-3\nonline 0-1\nofflinable auto\nmode fail-cpu\nfail 2\n");
    CU_ASSERT_EQUAL(fx_run(fx, "guest-set", "web1", "4"), 5);
    CU_ASSERT_TRUE(err_has(fx, "could not online CPU 2: internal error: unable to execute QEMU "
                               "agent command 'guest-set-vcpus': pwrite("));
    CU_ASSERT_TRUE(err_has(fx, "; CPU 3, which it had onlined, was put back offline"));
    online = qga_line(fx, "online");
    CUNIT_ASSERT_STR(online, "0-1");
    fx_free(fx);
}

/* ---- set ---------------------------------------------------------------- */

static void
test_set_plug(void)
{
    Fx *fx = fx_new();
    Dom d = { .name = "web1" };
    g_autoptr(JsonObject) rec = NULL;
    g_autofree char *online = NULL;

    fx_domain(fx, &d);
    /* present follows libvirt's count: the new CPUs appear offline */
    qga_state(fx, "present libvirt\nonline 0-1\nofflinable auto\n");
    CU_ASSERT_EQUAL(fx_run(fx, "--json", "set", "web1", "4", "--require-guest", "--timeout", "10"),
                    0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fx->json);
    CU_ASSERT_STRING_EQUAL(json_str(fx->json, "guest"), "confirmed");
    CU_ASSERT_STRING_EQUAL(json_str(fx->json, "guest-agent"), "qemu-ga");
    CU_ASSERT_EQUAL(json_object_get_int_member(fx->json, "guest-online"), 4);
    online = qga_line(fx, "online");
    CUNIT_ASSERT_STR(online, "0-3");
    rec = fx_audit_last(fx, 1);
    CU_ASSERT_STRING_EQUAL(json_str(rec, "guest"), "confirmed");
    CU_ASSERT_STRING_EQUAL(json_str(rec, "guest-agent"), "qemu-ga");
    /* text names the agent too */
    CU_ASSERT_EQUAL(fx_run(fx, "set", "web1", "4"), 0);
    CU_ASSERT_TRUE(out_has(fx, "The guest confirmed 4 CPUs present and online (qemu-ga)."));
    fx_free(fx);
}

static void
test_set_unplug(void)
{
    Fx *fx = fx_new();
    Dom d = { .name = "web1", .current = 4 };
    g_autoptr(JsonObject) rec = NULL;
    g_autofree char *online = NULL;
    g_autofree char *log_path = NULL, *log = NULL;

    fx_domain(fx, &d);
    qga_state(fx, "present libvirt\nonline 0-3\nofflinable auto\n");
    /* no OS metadata, but qemu-ga reports Linux: unplug allowed */
    CU_ASSERT_EQUAL(fx_run(fx, "set", "web1", "2", "--timeout", "10"), 0);
    online = qga_line(fx, "online");
    CUNIT_ASSERT_STR(online, "0-1");
    /* offlined before libvirt's unplug, highest first, in one request */
    log_path = g_strconcat(fx->qga_state, ".log", NULL);
    g_file_get_contents(log_path, &log, NULL, NULL);
    CUNIT_ASSERT_STR(log, "set 2-3 0 0\n");
    rec = fx_audit_last(fx, 1);
    CU_ASSERT_STRING_EQUAL(json_str(rec, "guest"), "confirmed");
    CU_ASSERT_STRING_EQUAL(json_str(rec, "guest-agent"), "qemu-ga");

    /* a qemu-ga that reports Windows does not vouch for Linux */
    qga_state(fx, "present libvirt\nonline 0-3\nmode windows\n");
    CU_ASSERT_EQUAL(fx_run(fx, "set", "web1", "2"), 3);
    CU_ASSERT_TRUE(err_has(fx, "nor a qemu-ga that reports Linux"));
    fx_free(fx);
}

/* guest-set-vcpus blocked in a Windows guest: never "confirmed". */
static void
test_set_refused(void)
{
    Fx *fx = fx_new();
    Dom d = { .name = "web1" };
    g_autoptr(JsonObject) rec = NULL;

    fx_domain(fx, &d);
    qga_state(fx, "present libvirt\nonline 0-1\nofflinable auto\nos windows\nmode disabled\n");
    CU_ASSERT_EQUAL(fx_run(fx, "--json", "set", "web1", "4", "--timeout", "20"), 0);
    CU_ASSERT_STRING_EQUAL(json_str(fx->json, "guest"), "unconfirmed");
    CU_ASSERT_TRUE(err_has(fx, "the qemu-ga of domain 'web1' cannot online or offline CPUs "
                               "(Windows guests do not support it): "));
    CU_ASSERT_EQUAL(fx_run(fx, "set", "web1", "4", "--require-guest"), 7);
    rec = fx_audit_last(fx, 2);
    CU_ASSERT_STRING_EQUAL(json_str(rec, "guest"), "unconfirmed");
    CU_ASSERT_STRING_EQUAL(json_str(rec, "guest-agent"), "qemu-ga");
    fx_free(fx);
}

static void
test_set_no_agent(void)
{
    Fx *fx = fx_new();
    Dom d = { .name = "web1" };
    g_autoptr(JsonObject) rec = NULL;

    fx_domain(fx, &d);
    qga_state(fx, "present libvirt\nonline 0-1\nmode silent\n");
    CU_ASSERT_EQUAL(fx_run(fx, "set", "web1", "4"), 0);
    CU_ASSERT_TRUE(err_has(fx, "guest side is unconfirmed"));
    CU_ASSERT_TRUE(err_has(fx, "qemu-ga did not answer either (libvirt: Guest agent is not "
                               "responding: QEMU guest agent is not connected)"));
    rec = fx_audit_last(fx, 1);
    CU_ASSERT_STRING_EQUAL(json_str(rec, "guest-agent"), "none");
    fx_free(fx);
}

/* ---- the choice --------------------------------------------------------- */

static void
test_choice(void)
{
    Fx *fx = fx_new();
    Agent *a = agent_start(fx, fake_sysfs_new_simple(4, 2, 8));
    Dom both = { .name = "web1", .current = 4, .agent_socket = a->socket };
    Dom qga_only = { .name = "web1", .current = 4 };

    fx_domain(fx, &both);
    qga_state(fx, "present 0-3\nonline 0\nofflinable auto\n");
    /* both answer: hotcpu-agent is preferred */
    CU_ASSERT_EQUAL(fx_run(fx, "--json", "topology", "web1"), 0);
    CU_ASSERT_STRING_EQUAL(json_str(fx->json, "guest-agent"), "hotcpu");
    CU_ASSERT_EQUAL(json_object_get_int_member(fx->json, "online-count"), 2);
    CU_ASSERT_EQUAL(fx_run(fx, "--json", "--guest-agent", "qemu-ga", "topology", "web1"), 0);
    CU_ASSERT_STRING_EQUAL(json_str(fx->json, "guest-agent"), "qemu-ga");
    CU_ASSERT_EQUAL(json_object_get_int_member(fx->json, "online-count"), 1);
    CU_ASSERT_EQUAL(fx_run(fx, "topology", "web1", "--guest-agent=hotcpu"), 0);
    CU_ASSERT_TRUE(out_has(fx, "Guest agent:           hotcpu"));
    CU_ASSERT_EQUAL(fx_run(fx, "--guest-agent", "none", "topology", "web1"), 7);
    CU_ASSERT_TRUE(err_has(fx, "no guest agent is used for domain 'web1' (--guest-agent none)"));
    CU_ASSERT_EQUAL(fx_run(fx, "--json", "--guest-agent", "none", "get", "web1"), 0);
    CU_ASSERT_TRUE(json_object_get_null_member(fx->json, "guest"));
    CU_ASSERT_STRING_EQUAL(json_str(fx->json, "guest-agent"), "none");
    CU_ASSERT_EQUAL(fx_run(fx, "--guest-agent", "qga", "topology", "web1"), 2);
    CU_ASSERT_TRUE(err_has(fx, "use auto, hotcpu, qemu-ga or none"));

    fx_domain(fx, &qga_only);
    CU_ASSERT_EQUAL(fx_run(fx, "--guest-agent", "hotcpu", "topology", "web1"), 7);
    CU_ASSERT_TRUE(err_has(fx, "has no hotcpu agent channel"));
    qga_state(fx, "present 0-3\nonline 0\nmode silent\n");
    CU_ASSERT_EQUAL(fx_run(fx, "--guest-agent", "qemu-ga", "guest-set", "web1", "2"), 7);
    CU_ASSERT_TRUE(err_has(fx, "the qemu-ga of domain 'web1' did not answer (libvirt: "));
    agent_stop(a);
    fx_free(fx);
}

/* ---- the shipped hooks -------------------------------------------------- */

/* Runs @hook as hotcpu-ctl would for web1 on the test driver, with the shim
 * preloaded (hotcpu-ctl's own hook runner passes no LD_PRELOAD). */
static int
run_hook(Fx *fx, const char *hook, guint count, guint previous, char **out)
{
    g_autofree char *uri = g_strdup_printf("test://%s", fx->node);
    g_autofree char *n = g_strdup_printf("%u", count);
    g_autofree char *p = g_strdup_printf("%u", previous);
    g_auto(GStrv) envp = g_get_environ();
    const char *argv[] = { hook, NULL };
    g_autofree char *err = NULL;
    int status = -1;

    envp = g_environ_setenv(envp, "LIBVIRT_DEFAULT_URI", uri, TRUE);
    envp = g_environ_setenv(envp, "vmId", UUID1, TRUE);
    envp = g_environ_setenv(envp, "vmName", "web1", TRUE);
    envp = g_environ_setenv(envp, "numberOfCpus", n, TRUE);
    envp = g_environ_setenv(envp, "previousNumberOfCpus", p, TRUE);
    envp = g_environ_setenv(envp, "HOTCPU_AGENT_SOCKET", "", TRUE);
    envp = g_environ_setenv(envp, "LD_PRELOAD", qga_mock_lib, TRUE);
    envp = g_environ_setenv(envp, "HOTCPU_MOCK_QGA_STATE", fx->qga_state, TRUE);
    envp = g_environ_setenv(envp, "G_DEBUG", "fatal-criticals", TRUE);
    g_assert(g_spawn_sync(NULL, (char **)argv, envp, G_SPAWN_DEFAULT, NULL, NULL, out, &err,
                          &status, NULL));
    fprintf(stderr, "\n    [%s %u->%u: %d] %s%s", hook, previous, count, status, *out, err);
    {
        char *both = g_strconcat(*out, err, NULL);
        g_free(*out);
        *out = both;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void
test_hooks(void)
{
    Fx *fx = fx_new();
    Dom d = { .name = "web1", .current = 4 };
    g_autofree char *out1 = NULL, *out2 = NULL, *out3 = NULL, *out4 = NULL;
    g_autofree char *on1 = NULL, *on2 = NULL, *on3 = NULL;

    fx_domain(fx, &d);
    /* before an unplug 4 -> 2: offlines 2-3 through qemu-ga */
    qga_state(fx, "present 0-3\nonline 0-3\nofflinable auto\n");
    CU_ASSERT_EQUAL(run_hook(fx, before_hook, 2, 4, &out1), 0);
    on1 = qga_line(fx, "online");
    CUNIT_ASSERT_STR(on1, "0-1");
    CUNIT_ASSERT_CONTAINS(out1, "has 2 CPUs online in the guest: 0-1 (qemu-ga)");
    /* after a plug 2 -> 4: onlines what qemu-ga leaves offline */
    CU_ASSERT_EQUAL(run_hook(fx, after_hook, 4, 2, &out2), 0);
    on2 = qga_line(fx, "online");
    CUNIT_ASSERT_STR(on2, "0-3");
    /* a partial failure vetoes the unplug, with what was changed put back */
    qga_state(fx, "present 0-3\nonline 0-3\nofflinable auto\nmode fail-cpu\nfail 2\n");
    CU_ASSERT_EQUAL(run_hook(fx, before_hook, 2, 4, &out3), 1);
    CUNIT_ASSERT_CONTAINS(out3, "could not offline CPU 2");
    CUNIT_ASSERT_CONTAINS(out3, "CPU 3, which it had offlined, was put back online");
    on3 = qga_line(fx, "online");
    CUNIT_ASSERT_STR(on3, "0-3");
    /* Windows: nothing to coordinate, a warning, the change goes on */
    qga_state(fx, "present 0-3\nonline 0-3\nmode windows\n");
    CU_ASSERT_EQUAL(run_hook(fx, before_hook, 2, 4, &out4), 0);
    CUNIT_ASSERT_CONTAINS(out4, "cannot online or offline CPUs (Windows guests do not support it)");
    fx_free(fx);
}

static void
register_qga_suite(void)
{
    static const CunitTest tests[] = {
        { "topology and get", test_topology_get },
        { "guest-set", test_guest_set },
        { "guest-set partial, rolled back", test_guest_set_partial },
        { "set plug confirmed", test_set_plug },
        { "set unplug", test_set_unplug },
        { "set, qemu-ga refuses (Windows)", test_set_refused },
        { "set, qemu-ga silent", test_set_no_agent },
        { "agent choice", test_choice },
        { "shipped hooks", test_hooks },
        { NULL, NULL },
    };

    cunit_add_suite("qga", tests);
}

static const CunitSuite suites[] = {
    { "qga", register_qga_suite },
    { NULL, NULL },
};

int
main(int argc, char **argv)
{
    before_hook = g_getenv("HOTCPU_TEST_BEFORE_HOOK");
    after_hook = g_getenv("HOTCPU_TEST_AFTER_HOOK");
    if (!fx_init() || !qga_mock_lib || !before_hook || !after_hook) {
        fprintf(stderr, "HOTCPU_TEST_QGA_MOCK and HOTCPU_TEST_{BEFORE,AFTER}_HOOK must be set\n");
        return 1;
    }
    return cunit_run(argc, argv, suites);
}
