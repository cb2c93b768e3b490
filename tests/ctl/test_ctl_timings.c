/* test_ctl_timings.c: `set --timings` (issue 25): every stage of set named
 * with its wall time, in --json's one object and as text, on success and on
 * a refusal; the stages add up to no more than the total, and the total to
 * no more than the process's life as the test saw it.  The binary runs
 * against libvirt's test driver with the real hotcpu-agent on a fake sysfs
 * tree (ctl_fixture.h).  No speed is asserted: that is the bench's job.
 */
#include <CUnit/Basic.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "cunit_runner.h"
#include "fake_sysfs.h"

#include "ctl_fixture.h"

static const char *const stages[] = {
    "start-up", "init",        "connect",  "lock",          "read-domain",
    "checks",   "guest-probe", "snapshot", "before-hooks",  "guest-offline",
    "libvirt",  "after-hooks", "config",   "guest-confirm", "audit",
};

/* Asserts @t names every stage, each a number >= 0, adding up to at most
 * "total"; returns the total (-1 when missing). */
static double
check_timings(JsonObject *t)
{
    double sum = 0, total;

    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_EQUAL(json_object_get_size(t), G_N_ELEMENTS(stages) + 1);
    for (guint i = 0; i < G_N_ELEMENTS(stages); i++) {
        JsonNode *n = json_object_get_member(t, stages[i]);
        double v;

        CU_ASSERT_PTR_NOT_NULL_FATAL(n);
        /* a number (0 may come back as an integer) */
        CU_ASSERT_TRUE(json_node_get_value_type(n) == G_TYPE_DOUBLE
                       || json_node_get_value_type(n) == G_TYPE_INT64);
        v = json_node_get_double(n);
        if (v < 0)
            fprintf(stderr, "stage %s: %f s\n", stages[i], v);
        CU_ASSERT_TRUE(v >= 0);
        sum += v;
    }
    CU_ASSERT_TRUE_FATAL(json_object_has_member(t, "total"));
    total = json_object_get_double_member(t, "total");
    CU_ASSERT_TRUE(total > 0);
    /* the stages are printed rounded to microseconds */
    CU_ASSERT_TRUE(sum <= total + 20e-6);
    return total;
}

static void
test_timings_json_plug(void)
{
    Fx *fx = fx_new();
    Agent *a = agent_start(fx, fake_sysfs_new_simple(4, 2, 8));
    Dom d = { .name = "web1", .agent_socket = a->socket };
    JsonObject *t;
    gint64 t0, t1;
    double total;

    fx_domain(fx, &d);
    t0 = g_get_monotonic_time();
    CU_ASSERT_EQUAL(fx_run(fx, "--json", "set", "web1", "4", "--timings", "--timeout", "10"), 0);
    t1 = g_get_monotonic_time();
    CU_ASSERT_PTR_NOT_NULL_FATAL(fx->json);
    CU_ASSERT_STRING_EQUAL(json_object_get_string_member(fx->json, "guest"), "confirmed");
    t = json_object_get_object_member(fx->json, "timings");
    total = check_timings(t);
    /* the process lived within the test's two clock reads; its start is
     * read in 10 ms clock ticks */
    CU_ASSERT_TRUE(total <= (t1 - t0) / 1e6 + 0.011);
    /* the stages that ran took time; the guest's answer came through the agent */
    CU_ASSERT_TRUE(json_object_get_double_member(t, "connect") > 0);
    CU_ASSERT_TRUE(json_object_get_double_member(t, "guest-probe") > 0);
    CU_ASSERT_TRUE(json_object_get_double_member(t, "libvirt") > 0);
    CU_ASSERT_TRUE(json_object_get_double_member(t, "guest-confirm") > 0);
    CU_ASSERT_TRUE(json_object_get_double_member(t, "audit") > 0);
    /* exactly one object on stdout */
    CU_ASSERT_EQUAL(strchr(fx->out, '\n')[1], '\0');

    /* without --timings, no such member */
    CU_ASSERT_EQUAL(fx_run(fx, "--json", "set", "web1", "4", "--timeout", "10"), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fx->json);
    CU_ASSERT_FALSE(json_object_has_member(fx->json, "timings"));
    agent_stop(a);
    fx_free(fx);
}

static void
test_timings_text(void)
{
    Fx *fx = fx_new();
    Dom d = { .name = "web1" };

    fx_domain(fx, &d);
    CU_ASSERT_EQUAL(fx_run(fx, "set", "web1", "3", "--timings"), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(fx->out, "Domain 'web1' now has 3 vCPUs (was 2)"));
    CU_ASSERT_PTR_NOT_NULL_FATAL(strstr(fx->out, "Timings (wall clock, seconds):\n"));
    for (guint i = 0; i < G_N_ELEMENTS(stages); i++) {
        g_autofree char *line = g_strdup_printf("\n  %-14s ", stages[i]);
        CU_ASSERT_PTR_NOT_NULL(strstr(fx->out, line));
    }
    CU_ASSERT_PTR_NOT_NULL(strstr(fx->out, "\n  total "));
    /* without it, none */
    CU_ASSERT_EQUAL(fx_run(fx, "set", "web1", "3"), 0);
    CU_ASSERT_PTR_NULL(strstr(fx->out, "Timings"));
    fx_free(fx);
}

/* A refusal ends early: the stages that did not run are 0, the others are
 * there, and the failure's one object carries them. */
static void
test_timings_refused(void)
{
    Fx *fx = fx_new();
    Dom d = { .name = "web1" };
    JsonObject *t;

    fx_domain(fx, &d);
    CU_ASSERT_EQUAL(fx_run(fx, "--json", "set", "web1", "9", "--timings"), 3);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fx->json);
    CU_ASSERT_EQUAL(json_object_get_int_member(fx->json, "exit"), 3);
    t = json_object_get_object_member(fx->json, "timings");
    check_timings(t);
    CU_ASSERT_TRUE(json_object_get_double_member(t, "connect") > 0);
    CU_ASSERT_EQUAL(json_object_get_double_member(t, "libvirt"), 0);
    CU_ASSERT_EQUAL(json_object_get_double_member(t, "guest-confirm"), 0);
    fx_free(fx);
}

/* ---- round trips: what set asks the guest -------------------------------- */

/* The real agent with --verbose, its log in FX/agent.log. */
static GSubprocess *
verbose_agent_start(Fx *fx, const char *tree, char **socket_out, char **log_out)
{
    g_autoptr(GSubprocessLauncher) l = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_NONE);
    g_autoptr(GError) error = NULL;
    GSubprocess *p;

    *socket_out = g_build_filename(fx->dir, "agent.sock", NULL);
    *log_out = g_build_filename(fx->dir, "agent.log", NULL);
    g_subprocess_launcher_set_stderr_file_path(l, *log_out);
    p = g_subprocess_launcher_spawn(l, &error, agent_bin, "--listen", *socket_out, "--sysfs-root",
                                    tree, "--verbose", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    for (int i = 0; i < 500 && !g_file_test(*socket_out, G_FILE_TEST_EXISTS); i++)
        g_usleep(10 * 1000);
    return p;
}

/* How many lines of @path hold @needle. */
static guint
count_lines(const char *path, const char *needle)
{
    g_autofree char *text = NULL;
    guint n = 0;

    if (!g_file_get_contents(path, &text, NULL, NULL))
        return 0;
    for (const char *p = text; (p = strstr(p, needle)); p++)
        n++;
    return n;
}

/* A plug through hotcpu-agent: the probe's answer is the snapshot, so set
 * connects twice (the probe, the confirmation), not three times, and asks
 * get-topology in the probe rather than a ping followed by get-topology. */
static void
test_plug_round_trips(void)
{
    Fx *fx = fx_new();
    char *tree = fake_sysfs_new_simple(4, 1, 8);
    g_autofree char *socket = NULL, *log = NULL;
    GSubprocess *agent = verbose_agent_start(fx, tree, &socket, &log);
    Dom d = { .name = "web1", .current = 1, .agent_socket = socket };

    fx_domain(fx, &d);
    CU_ASSERT_EQUAL(fx_run(fx, "--json", "set", "web1", "4", "--timeout", "10"), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fx->json);
    CU_ASSERT_STRING_EQUAL(json_object_get_string_member(fx->json, "guest"), "confirmed");
    CU_ASSERT_STRING_EQUAL(json_object_get_string_member(fx->json, "guest-agent"), "hotcpu");
    CU_ASSERT_EQUAL(fake_sysfs_get_online(tree, 3), 1);
    g_subprocess_force_exit(agent);
    g_subprocess_wait(agent, NULL, NULL);
    g_object_unref(agent);
    if (count_lines(log, "connected.") != 2) {
        g_autofree char *text = NULL;
        g_file_get_contents(log, &text, NULL, NULL);
        fprintf(stderr, "agent log:\n%s\n", text ? text : "");
    }
    CU_ASSERT_EQUAL(count_lines(log, "connected."), 2);
    CU_ASSERT_EQUAL(count_lines(log, "Running ping "), 0);
    fake_sysfs_destroy(tree);
    fx_free(fx);
}

static void
register_timings_suite(void)
{
    static const CunitTest tests[] = {
        { "json, plug through the agent", test_timings_json_plug },
        { "text", test_timings_text },
        { "refused", test_timings_refused },
        { "plug: two connections to the agent", test_plug_round_trips },
        { NULL, NULL },
    };

    cunit_add_suite("timings", tests);
}

static const CunitSuite suites[] = {
    { "timings", register_timings_suite },
    { NULL, NULL },
};

int
main(int argc, char **argv)
{
    if (!fx_init())
        return 1;
    return cunit_run(argc, argv, suites);
}
