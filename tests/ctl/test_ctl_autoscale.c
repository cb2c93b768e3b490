/* test_ctl_autoscale.c: autoscale and watch --explain end to end on the
 * real binaries (issue 19): hotcpu-ctl against libvirt's test driver, the
 * real hotcpu-agent on a fake sysfs tree and a fake /proc whose counters
 * the test moves on while they run, so the agent reports the load the
 * test chooses: 4 busy tasks on 1 of 8 vCPUs, with or without the host's
 * steal. */
#include <signal.h>
#include <string.h>

#include "agent_call.h"
#include "ctl_fixture.h"
#include "cunit_runner.h"
#include "fake_sysfs.h"

typedef struct {
    char *tree, *proc, *socket;
    GSubprocess *agent;
    guint64 ticks, stolen; /* the fake CPU's busy and steal counters so far */
} Guest;

/* The agent's /proc: one CPU that ran @busy_ticks and lost @steal_ticks
 * more to the host, @runnable tasks running, CPU pressure 0.66. */
static void
proc_advance(Guest *g, guint busy_ticks, guint steal_ticks, guint runnable)
{
    g_autofree char *stat = g_build_filename(g->proc, "stat", NULL);
    g_autofree char *text = NULL;

    g->ticks += busy_ticks;
    g->stolen += steal_ticks;
    text = g_strdup_printf("cpu  0 0 0 0 0 0 0 0 0 0\n"
                           "cpu0 %" G_GUINT64_FORMAT " 0 0 0 0 0 0 %" G_GUINT64_FORMAT " 0 0\n"
                           "procs_running %u\n",
                           g->ticks, g->stolen, runnable);
    CU_ASSERT_FATAL(g_file_set_contents(stat, text, -1, NULL));
}

static Guest *
guest_start(Fx *fx)
{
    Guest *g = g_new0(Guest, 1);
    g_autofree char *pressure = NULL;
    g_autoptr(GError) error = NULL;

    g->tree = fake_sysfs_new_simple(8, 1, 8);
    g->proc = g_build_filename(fx->dir, "proc", NULL);
    pressure = g_build_filename(g->proc, "pressure", NULL);
    g_mkdir_with_parents(pressure, 0755);
    g_free(pressure);
    pressure = g_build_filename(g->proc, "pressure", "cpu", NULL);
    CU_ASSERT_FATAL(g_file_set_contents(
        pressure, "some avg10=66.00 avg60=30.00 avg300=10.00 total=1000\n", -1, NULL));
    proc_advance(g, 100, 0, 5);
    g->socket = g_build_filename(fx->dir, "agent.sock", NULL);
    g->agent = g_subprocess_new(G_SUBPROCESS_FLAGS_NONE, &error, agent_bin, "--listen", g->socket,
                                "--sysfs-root", g->tree, "--proc-root", g->proc, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g->agent);
    for (int i = 0; i < 500; i++) {
        g_autoptr(JsonNode) pong = NULL;

        if (g_file_test(g->socket, G_FILE_TEST_EXISTS)
            && (pong = agent_client_call_once(g->socket, "ping", NULL, 1000, NULL)))
            return g;
        g_usleep(10 * 1000);
    }
    CU_FAIL_FATAL("the agent did not answer");
    return NULL;
}

static void
guest_stop(Guest *g)
{
    g_subprocess_force_exit(g->agent);
    g_subprocess_wait(g->agent, NULL, NULL);
    g_object_unref(g->agent);
    fake_sysfs_destroy(g->tree);
    g_free(g->proc);
    g_free(g->socket);
    g_free(g);
}

/* Lets hotcpu-ctl @args run for @seconds while the guest's one CPU is
 * fully busy (@steal: the share lost to the host), then stops it with
 * SIGINT. */
static void
run_loaded(Fx *fx, Guest *g, double seconds, double steal, const char *const *args)
{
    GSubprocess *p = fx_spawn_v(fx, args);

    for (double t = 0; t < seconds; t += 0.1) {
        guint stolen = (guint)(10 * steal + 0.5);

        proc_advance(g, 10 - stolen, stolen, 5);
        g_usleep(G_USEC_PER_SEC / 10);
    }
    g_subprocess_send_signal(p, SIGINT);
    fx_finish(fx, p);
    g_object_unref(p);
}

static Fx *
setup(Guest **g)
{
    Fx *fx = fx_new();
    Dom d = { .name = "scale-test-19", .current = 1, .max = 8 };

    *g = guest_start(fx);
    d.agent_socket = (*g)->socket;
    fx_domain(fx, &d);
    return fx;
}

/* Each load line with the count autoscale's rules want for it: 4 tasks
 * (and the agent) on 1 saturated CPU are a demand of 4, 6 vCPUs at 0.75. */
static void
test_watch_explain(void)
{
    Guest *g = NULL;
    Fx *fx = setup(&g);

    run_loaded(fx, g, 3.5, 0,
               (const char *const[]){ "watch", "scale-test-19", "--load", "1", "--explain", NULL });
    CU_ASSERT_EQUAL(fx->status, 0);
    CUNIT_ASSERT_CONTAINS(fx->out, "load: busy 1.00, CPU pressure 0.66, runnable 5; autoscale: 1 "
                                   "vCPUs, wants 6 (demand 4.00 CPUs, target 0.75)");
    /* --json: the same as members of each load event */
    run_loaded(fx, g, 3.5, 0,
               (const char *const[]){ "--json", "watch", "scale-test-19", "--load", "1",
                                      "--explain", NULL });
    CU_ASSERT_EQUAL(fx->status, 0);
    CUNIT_ASSERT_CONTAINS(
        fx->out, "\"autoscale\":{\"vcpus\":1,\"desired\":6,\"demand\":4.0,\"held\":false}");
    /* the host saturated: it would hold, and says why */
    run_loaded(fx, g, 3.5, 0.3,
               (const char *const[]){ "watch", "scale-test-19", "--explain", "--load", "1", NULL });
    CUNIT_ASSERT_CONTAINS(fx->out, "autoscale: 1 vCPUs, wants 6 but holds: steal 0.30 > 0.10");
    guest_stop(g);
    fx_free(fx);
}

/* The whole loop, dry: one decision, straight to 6, its reason naming
 * busy, runnable and pressure. */
static void
test_autoscale_one_change(void)
{
    Guest *g = NULL;
    Fx *fx = setup(&g);
    const char *line;

    run_loaded(fx, g, 6, 0,
               (const char *const[]){ "autoscale", "scale-test-19", "--min", "1", "--max", "8",
                                      "--up-after", "2", "--cooldown", "1", "--dry-run", NULL });
    CU_ASSERT_EQUAL(fx->status, 0);
    line = strstr(fx->out, "would set domain 'scale-test-19' from 1 to ");
    CUNIT_ASSERT_CONTAINS(fx->out,
                          "would set domain 'scale-test-19' from 1 to 6 vCPUs: autoscale: busy "
                          "1.00 > 0.85 for ");
    CUNIT_ASSERT_CONTAINS(fx->out, "(runnable 5, CPU pressure 0.66, demand 4.00 CPUs): 6 vCPUs "
                                   "for busy 0.75");
    /* --max-step 2: to 3 */
    run_loaded(fx, g, 6, 0,
               (const char *const[]){ "autoscale", "scale-test-19", "--min", "1", "--max", "8",
                                      "--up-after", "2", "--cooldown", "1", "--max-step", "2",
                                      "--dry-run", NULL });
    CUNIT_ASSERT_CONTAINS(fx->out, "from 1 to 3 vCPUs");
    CUNIT_ASSERT_CONTAINS(fx->out, "(--max-step)");
    CU_ASSERT_PTR_NOT_NULL(line);
    guest_stop(g);
    fx_free(fx);
}

/* Steal says the host's CPUs are saturated: no change, said once, one
 * audit record "held". */
static void
test_autoscale_holds_on_steal(void)
{
    Guest *g = NULL;
    Fx *fx = setup(&g);
    const char *said = "the host's CPUs are saturated, more vCPUs would add contention, not "
                       "capacity; holding at 1 vCPUs (the load wants 6)";
    g_autoptr(GPtrArray) recs = NULL;
    const char *first;

    run_loaded(fx, g, 6, 0.3,
               (const char *const[]){ "autoscale", "scale-test-19", "--min", "1", "--max", "8",
                                      "--up-after", "2", "--cooldown", "1", NULL });
    CU_ASSERT_EQUAL(fx->status, 0);
    first = strstr(fx->out, said);
    CUNIT_ASSERT_CONTAINS(fx->out, said);
    CU_ASSERT(first && !strstr(first + 1, said));
    CUNIT_ASSERT_NOT_CONTAINS(fx->out, "setting domain");
    recs = fx_audit_all(fx);
    CU_ASSERT_EQUAL_FATAL(recs->len, 1);
    CU_ASSERT_STRING_EQUAL(json_object_get_string_member(recs->pdata[0], "command"), "autoscale");
    CU_ASSERT_STRING_EQUAL(json_object_get_string_member(recs->pdata[0], "outcome"), "held");
    CU_ASSERT_EQUAL(json_object_get_int_member(recs->pdata[0], "requested"), 6);
    CU_ASSERT_EQUAL(json_object_get_int_member(recs->pdata[0], "actual"), 1);
    CUNIT_ASSERT_CONTAINS(json_object_get_string_member(recs->pdata[0], "reason"),
                          "autoscale: steal 0.30");
    guest_stop(g);
    fx_free(fx);
}

static void
register_autoscale_suite(void)
{
    static const CunitTest tests[] = {
        { "watch --explain", test_watch_explain },
        { "autoscale: one change to the need", test_autoscale_one_change },
        { "autoscale holds on the host's steal", test_autoscale_holds_on_steal },
        { NULL, NULL },
    };

    cunit_add_suite("autoscale", tests);
}

static const CunitSuite suites[] = {
    { "autoscale", register_autoscale_suite },
    { NULL, NULL },
};

int
main(int argc, char **argv)
{
    if (!fx_init())
        return 1;
    return cunit_run(argc, argv, suites);
}
