/* test_ctl_unchanged.c: "nothing changed" means nothing changed, for the
 * guest too (issue 8, item 1), and a signal in the middle of `set` (issue
 * 12, item 2).
 *
 * With the shipped hooks installed, the before hook offlines the guest's
 * CPUs ahead of an unplug.  A later hook's veto, a hypervisor refusal or a
 * SIGINT must then give the guest back the CPUs it had before the first
 * hook, say so, and record it; when it cannot, the exit code must not claim
 * that nothing changed.  The guest is the real agent on a fake sysfs tree,
 * libvirt the test driver.
 */
#include <glib/gstdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_fixture.h"
#include "cunit_runner.h"
#include "fake_sysfs.h"

/* web1: 6 of 8 vCPUs live, its guest with 6 CPUs online, the shipped
 * before hook installed. */
static Agent *
six_online(Fx *fx)
{
    Agent *a = agent_start(fx, fake_sysfs_new_simple(6, 6, 8));
    Dom d = { .name = "web1", .current = 6, .max = 8, .agent_socket = a->socket };

    fx_domain(fx, &d);
    fx_install_shipped_hook(fx, "before_set_num_of_cpus");
    return a;
}

static guint
online_count(Agent *a)
{
    guint n = 0;

    for (guint cpu = 0; cpu < 6; cpu++)
        n += fake_sysfs_get_online(a->tree, cpu) != 0; /* cpu0 has no file: online */
    return n;
}

static const char *
audit_string(Fx *fx, const char *key)
{
    g_autoptr(GPtrArray) recs = fx_audit(fx);
    JsonObject *last = recs->len ? recs->pdata[recs->len - 1] : NULL;
    static char buf[128];

    g_strlcpy(buf, last ? json_object_get_string_member_with_default(last, key, "") : "",
              sizeof(buf));
    return buf;
}

static void
test_veto_gives_back(void)
{
    Fx *fx = fx_new();
    Agent *a = six_online(fx);

    write_hook(fx, "before_set_num_of_cpus", "60_veto", "#!/bin/sh\necho no >&2\nexit 1\n");
    CU_ASSERT_EQUAL(fx_run(fx, "set", "web1", "2"), 4);
    CU_ASSERT_EQUAL(online_count(a), 6);
    CU_ASSERT_TRUE(err_has(fx, "nothing changed"));
    CU_ASSERT_TRUE(err_has(fx, "the guest has its CPUs 0-5 online again"));
    CU_ASSERT_STRING_EQUAL(audit_string(fx, "outcome"), "vetoed");
    CU_ASSERT_STRING_EQUAL(audit_string(fx, "guest-restore"), "restored");
    agent_stop(a);
    fx_free(fx);
}

static void
test_refusal_gives_back(void)
{
    Fx *fx = fx_new();
    Agent *a = six_online(fx);

    fx->mock = "fail";
    CU_ASSERT_EQUAL(fx_run(fx, "set", "web1", "2"), 5);
    CU_ASSERT_EQUAL(online_count(a), 6);
    CU_ASSERT_TRUE(err_has(fx, "libvirt could not set domain 'web1' to 2 vCPUs"));
    CU_ASSERT_TRUE(err_has(fx, "the guest has its CPUs 0-5 online again"));
    CU_ASSERT_STRING_EQUAL(audit_string(fx, "guest-restore"), "restored");
    agent_stop(a);
    fx_free(fx);
}

/* The agent is gone after the shipped hook offlined CPUs: the guest cannot
 * be given them back, so this is no "nothing changed" (4) but 6. */
static void
test_restore_failure_is_said(void)
{
    Fx *fx = fx_new();
    Agent *a = six_online(fx);
    g_autofree char *veto
        = g_strdup_printf("#!/bin/sh\npkill -f -- '--listen %s'\nexit 1\n", a->socket);

    write_hook(fx, "before_set_num_of_cpus", "60_veto_and_kill_agent", veto);
    CU_ASSERT_EQUAL(fx_run(fx, "set", "web1", "2"), 6);
    CU_ASSERT_EQUAL(online_count(a), 2);
    CU_ASSERT_TRUE(err_has(fx, "the guest could not be given back its online CPUs 0-5"));
    CU_ASSERT_STRING_EQUAL(audit_string(fx, "guest-restore"), "failed");
    agent_stop(a);
    fx_free(fx);
}

/* Running, not a zombie (killed, and not reaped by our init yet). */
static gboolean
process_running(const char *pid_text)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/stat", atoi(pid_text));
    g_autofree char *stat = NULL;
    const char *state;

    if (!g_file_get_contents(path, &stat, NULL, NULL))
        return FALSE;
    state = strrchr(stat, ')');
    return state && state[1] == ' ' && state[2] != 'Z' && state[2] != 'X';
}

/* A slow before hook with a background child; the test signals hotcpu-ctl
 * once the child runs. */
static void
signal_during_hook(int sig, int want_exit)
{
    Fx *fx = fx_new();
    Agent *a = six_online(fx);
    g_autofree char *pidfile = g_build_filename(fx->dir, "child.pid", NULL);
    g_autofree char *xmlfile = g_build_filename(fx->dir, "domxml.path", NULL);
    g_autofree char *slow = g_strdup_printf(
        "#!/bin/sh\necho \"$_hook_domxml\" > '%s'\nsleep 60 &\necho $! > '%s'\nwait\n", xmlfile,
        pidfile);
    g_autoptr(GSubprocess) p = NULL;
    g_autofree char *child = NULL;
    g_autofree char *xml = NULL;

    write_hook(fx, "before_set_num_of_cpus", "60_slow", slow);
    p = fx_spawn_v(fx, (const char *const[]){ "set", "web1", "2", NULL });
    for (int i = 0; i < 200 && !g_file_test(pidfile, G_FILE_TEST_EXISTS); i++)
        g_usleep(50 * 1000);
    g_usleep(100 * 1000);
    g_subprocess_send_signal(p, sig);
    CU_ASSERT_EQUAL(fx_finish(fx, p), want_exit);
    CU_ASSERT_EQUAL(online_count(a), 6); /* the shipped hook's offlining undone */
    CU_ASSERT_TRUE(err_has(fx, "interrupted by signal"));
    CU_ASSERT_TRUE(err_has(fx, "nothing changed"));
    CU_ASSERT_STRING_EQUAL(audit_string(fx, "outcome"), "interrupted");
    /* the hook's whole process group is gone, and the XML file too */
    CU_ASSERT_TRUE(g_file_get_contents(pidfile, &child, NULL, NULL));
    CU_ASSERT_TRUE(child && !process_running(child));
    CU_ASSERT_TRUE(g_file_get_contents(xmlfile, &xml, NULL, NULL));
    CU_ASSERT_FALSE(xml && g_file_test(g_strstrip(xml), G_FILE_TEST_EXISTS));
    agent_stop(a);
    fx_free(fx);
}

static void
test_sigint_during_hook(void)
{
    signal_during_hook(SIGINT, 130);
}

static void
test_sigterm_during_hook(void)
{
    signal_during_hook(SIGTERM, 143);
}

static void
register_unchanged_suite(void)
{
    static const CunitTest tests[] = {
        { "veto gives the guest back its CPUs", test_veto_gives_back },
        { "hypervisor refusal gives them back", test_refusal_gives_back },
        { "a failed give-back is not 'nothing changed'", test_restore_failure_is_said },
        { "SIGINT during a before hook", test_sigint_during_hook },
        { "SIGTERM during a before hook", test_sigterm_during_hook },
        { NULL, NULL },
    };

    cunit_add_suite("nothing changed", tests);
}

static const CunitSuite suites[] = {
    { "nothing changed", register_unchanged_suite },
    { NULL, NULL },
};

int
main(int argc, char **argv)
{
    if (!fx_init())
        return 1;
    return cunit_run(argc, argv, suites);
}
