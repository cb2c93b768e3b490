/* test_autoscale_replay.c: autoscale's decisions over the shipped load
 * traces (bench/traces), on a simulated clock (bench/autoscale_sim.h):
 * the proportional policy against the one-step policy it replaced, which
 * --max-step 1 reproduces. */
#include <CUnit/Basic.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>

#include "autoscale_sim.h"
#include "cunit_runner.h"

static LoadTrace *
trace(const char *name)
{
    g_autofree char *file
        = g_str_has_suffix(name, ".jsonl") ? g_strdup(name) : g_strdup_printf("%s.csv", name);
    g_autofree char *path = g_build_filename(g_getenv("HOTCPU_TEST_TRACES"), file, NULL);
    g_autoptr(GError) error = NULL;
    LoadTrace *t = load_trace_read(path, &error);

    if (!t)
        fprintf(stderr, "\n    %s\n", error->message);
    return t;
}

/* Replays @name both ways with @setup; prints both lines. */
static void
both(const char *name, const SimSetup *setup, SimResult **one, SimResult **now)
{
    g_autoptr(LoadTrace) t = trace(name);
    SimSetup s1 = *setup;

    *one = *now = NULL;
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    s1.policy.max_change = 1;
    *one = sim_run(t, &s1, NULL);
    *now = sim_run(t, setup, NULL);
    fprintf(stderr,
            "\n    %s: one-step %u changes, %.0f CPU-s under, %.0f over; new %u changes, "
            "%.0f CPU-s under, %.0f over",
            name, (*one)->changes, (*one)->under, (*one)->over, (*now)->changes, (*now)->under,
            (*now)->over);
}

/* A load that lasts: at least 50 % fewer CPU-seconds without a vCPU, and
 * no more changes. */
static void
check_better(const char *name)
{
    SimSetup setup = sim_setup_default();
    g_autoptr(SimResult) one = NULL;
    g_autoptr(SimResult) now = NULL;

    both(name, &setup, &one, &now);
    CU_ASSERT_FATAL(one && now);
    CU_ASSERT(one->under > 0);
    CU_ASSERT(now->under <= one->under * 0.5);
    CU_ASSERT(now->changes <= one->changes);
    CU_ASSERT(now->changes > 0);
}

static void
test_step(void)
{
    SimSetup setup = sim_setup_default();
    g_autoptr(SimResult) one = NULL;
    g_autoptr(SimResult) now = NULL;

    check_better("step");
    /* up in one change, down in one change */
    both("step", &setup, &one, &now);
    CU_ASSERT_EQUAL(now->changes, 2);
    CU_ASSERT_EQUAL(g_array_index(now->timeline, TracePoint, 1).demand, 6);
    CU_ASSERT_EQUAL(g_array_index(now->timeline, TracePoint, 2).demand, 1);
    /* the need was met, each time */
    CU_ASSERT_EQUAL(now->met[0], now->steps[0]);
    CU_ASSERT_EQUAL(now->met[1], now->steps[1]);
}

static void
test_ramp(void)
{
    check_better("ramp");
}

/* Loads that change slower than the windows: one vCPU a window is all
 * they need, and both policies are alike; the new one is no worse. */
static void
check_no_worse(const char *name, guint more_changes)
{
    SimSetup setup = sim_setup_default();
    g_autoptr(SimResult) one = NULL;
    g_autoptr(SimResult) now = NULL;

    both(name, &setup, &one, &now);
    CU_ASSERT_FATAL(one && now);
    CU_ASSERT(now->under <= one->under);
    CU_ASSERT(now->over <= one->over);
    CU_ASSERT(now->changes <= one->changes + more_changes);
}

static void
test_slow_loads(void)
{
    check_no_worse("ramp-slow", 0);
    check_no_worse("diurnal", 0);
    /* A day in an hour: one change more than one-step, which never
     * reaches the night's floor before the morning (it gives back one
     * vCPU per window); the new one does, and holds a third fewer idle
     * vCPU-seconds. */
    check_no_worse("diurnal-1h", 1);
}

/* Loads that come and go faster than the window: nothing changes. */
static void
test_spikes_and_square_wave(void)
{
    const char *names[] = { "spikes", "square" };
    SimSetup setup = sim_setup_default();

    for (guint i = 0; i < G_N_ELEMENTS(names); i++) {
        g_autoptr(SimResult) one = NULL;
        g_autoptr(SimResult) now = NULL;

        both(names[i], &setup, &one, &now);
        CU_ASSERT_FATAL(one && now);
        CU_ASSERT_EQUAL(now->changes, 0);
        CU_ASSERT_EQUAL(one->changes, 0);
    }
}

/* Bursts longer than --up-after, closer together than --down-after: up
 * once, and the vCPUs stay for the next burst, where one-step climbs a
 * vCPU a burst. */
static void
test_bursts_no_flapping(void)
{
    SimSetup setup = sim_setup_default();
    g_autoptr(SimResult) one = NULL;
    g_autoptr(SimResult) now = NULL;

    both("bursts", &setup, &one, &now);
    CU_ASSERT_FATAL(one && now);
    CU_ASSERT_EQUAL(now->changes, 1);
    CU_ASSERT(now->changes <= one->changes);
    CU_ASSERT(now->under < one->under);
}

/* The host saturated (steal 0.30) while the load steps up: no vCPU until
 * the steal ends, then the one change. */
static void
test_steal_holds(void)
{
    SimSetup setup = sim_setup_default();
    g_autoptr(SimResult) one = NULL;
    g_autoptr(SimResult) now = NULL;

    both("steal", &setup, &one, &now);
    CU_ASSERT_FATAL(one && now);
    CU_ASSERT_EQUAL(now->changes, 2);
    CU_ASSERT(g_array_index(now->timeline, TracePoint, 1).t > 600);
    CU_ASSERT(g_array_index(one->timeline, TracePoint, 1).t > 600);
    CU_ASSERT_EQUAL(g_array_index(now->timeline, TracePoint, 1).demand, 6);
}

/* The README's run on a real guest, replayed with its windows: the
 * one-step policy makes the run's six changes (1 -> 2 -> 3 -> 4 and back),
 * the new one goes to 4 in one change.  Down, the trace's 5 s averages
 * (interpolated) show the loops' end over two of the replay's 2 s
 * samples, one of which still wanted 3: down in two changes.  Its 10 s
 * window is most of the time under-provisioned either way. */
static void
test_recorded_run(void)
{
    SimSetup setup = sim_setup_default();
    g_autoptr(SimResult) one = NULL;
    g_autoptr(SimResult) now = NULL;

    setup.policy.ceiling = 4;
    setup.policy.up_after = 10;
    setup.policy.down_after = 30;
    setup.policy.cooldown = 10;
    both("readme-run", &setup, &one, &now);
    CU_ASSERT_FATAL(one && now);
    CU_ASSERT_EQUAL(one->changes, 6);
    CU_ASSERT(now->changes <= 3);
    CU_ASSERT_EQUAL(g_array_index(now->timeline, TracePoint, 1).demand, 4);
    CU_ASSERT(now->under < one->under * 0.75);
}

/* Recorded by the e2e test on a real guest (watch --json --load 1, issue
 * 19's run: 4 busy loops on 1 vCPU, then none), replayed with its
 * settings: one change up, one down, as on the guest; one-step needs a
 * change per vCPU. */
static void
test_e2e_recorded_run(void)
{
    SimSetup setup = sim_setup_default();
    g_autoptr(SimResult) one = NULL;
    g_autoptr(SimResult) now = NULL;

    setup.policy.ceiling = 6;
    setup.policy.target = 0.8;
    setup.policy.up_after = 3;
    setup.policy.down_after = 6;
    setup.policy.cooldown = 2;
    both("e2e-run.jsonl", &setup, &one, &now);
    CU_ASSERT_FATAL(one && now);
    CU_ASSERT_EQUAL(now->changes, 2);
    CU_ASSERT_EQUAL(g_array_index(now->timeline, TracePoint, 1).demand, 5);
    CU_ASSERT_EQUAL(g_array_index(now->timeline, TracePoint, 2).demand, 1);
    CU_ASSERT(one->changes > now->changes);
    CU_ASSERT(now->under < one->under);
}

/* A trace file that is not one: an error naming the file and the line. */
static void
test_bad_traces(void)
{
    static const char *const bad[] = {
        "t,busy\n0,0.5\n1,0.5\n",         /* busy without vcpus */
        "t,demand\n0,1\n1\n",             /* a short row */
        "t,demand\n5,1\n1,1\n",           /* time going back */
        "t,demand\n0,1\n1,x\n",           /* not a number */
        "t,demand\n0,-1\n1,1\n",          /* negative */
        "t,vcpus,busy\n0,2,1.5\n1,2,1\n", /* busy beyond 1 */
        "t,demand,steal\n0,1,2\n1,1,0\n", /* steal beyond 1 */
        "t,demand\n0,1\n",                /* one row */
        "t,demand\n0,nan\n1,1\n",         /* not finite */
        "",                               /* empty */
    };
    g_autofree char *dir = g_dir_make_tmp("replay-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "bad.csv", NULL);

    for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(GError) error = NULL;
        g_autoptr(LoadTrace) t = NULL;

        CU_ASSERT_FATAL(g_file_set_contents(path, bad[i], -1, NULL));
        t = load_trace_read(path, &error);
        CU_ASSERT_PTR_NULL(t);
        CUNIT_ASSERT_CONTAINS(error ? error->message : NULL, path);
    }
    {
        g_autoptr(GError) error = NULL;
        g_autoptr(LoadTrace) t = NULL;
        double d, steal;

        /* per-CPU busy: 2 CPUs, one full, one half: 1.5 CPUs, and the
         * time stolen from them: 0.2 at first, none 10 s later */
        CU_ASSERT_FATAL(g_file_set_contents(
            path, "# c\nt,vcpus,cpu0,cpu1,steal\n0,2,1,0.5,0.1\n10,2,1,0.5,0\n", -1, NULL));
        t = load_trace_read(path, &error);
        CU_ASSERT_PTR_NOT_NULL_FATAL(t);
        load_trace_at(t, 5, &d, &steal);
        CU_ASSERT_DOUBLE_EQUAL(d, 1.6, 1e-9);
        CU_ASSERT_DOUBLE_EQUAL(steal, 0.05, 1e-9);
    }
    g_unlink(path);
    {
        g_autoptr(GError) error = NULL;

        /* no file at all */
        CU_ASSERT_PTR_NULL(load_trace_read(path, &error));
        CUNIT_ASSERT_CONTAINS(error ? error->message : NULL, path);
    }
    g_rmdir(dir);
}

/* `hotcpu-ctl --json watch --load S` output is a trace: the load events on
 * the CPUs online as the topology events say; notes and other lines are
 * skipped. */
static void
test_watch_output_as_trace(void)
{
    static const char watch[]
        = "{\"time\":\"2026-12-06T10:00:00.000+00\",\"domain\":\"d\",\"note\":\"watching\"}\n"
          "{\"time\":\"2026-12-06T10:00:00.100+00\",\"domain\":\"d\",\"event\":\"topology-"
          "changed\",\"data\":{\"online-count\":1}}\n"
          "{\"time\":\"2026-12-06T10:00:01.000+00\",\"domain\":\"d\",\"event\":\"load\","
          "\"data\":{\"busy\":0.1,\"steal\":0,\"runnable\":1}}\n"
          "{\"time\":\"2026-12-06T10:00:02.000+00\",\"domain\":\"d\",\"event\":\"load\","
          "\"data\":{\"busy\":1.0,\"steal\":0,\"runnable\":5}}\n"
          "{\"time\":\"2026-12-06T10:00:02.500+00\",\"domain\":\"d\",\"event\":\"topology-"
          "changed\",\"data\":{\"online-count\":5}}\n"
          "{\"time\":\"2026-12-06T10:00:03.000+00\",\"domain\":\"d\",\"event\":\"load\","
          "\"data\":{\"busy\":0.8,\"steal\":0,\"runnable\":5}}\n";
    g_autofree char *dir = g_dir_make_tmp("replay-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "watch.jsonl", NULL);
    g_autoptr(GError) error = NULL;
    g_autoptr(LoadTrace) t = NULL;
    const TracePoint *p;

    CU_ASSERT_FATAL(g_file_set_contents(path, watch, -1, NULL));
    t = load_trace_read(path, &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_EQUAL_FATAL(t->points->len, 3);
    p = (const TracePoint *)(gpointer)t->points->data;
    CU_ASSERT_DOUBLE_EQUAL(p[0].t, 0, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(p[0].demand, 0.1, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(p[1].t, 1, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(p[1].demand, 4, 1e-9); /* saturated: the tasks */
    CU_ASSERT_DOUBLE_EQUAL(p[2].demand, 4, 1e-9); /* 0.8 of 5 */
    /* a line that is not an object: an error */
    CU_ASSERT_FATAL(g_file_set_contents(path, "{\"time\":1}\n[]\n", -1, NULL));
    CU_ASSERT_PTR_NULL(load_trace_read(path, NULL));
    g_unlink(path);
    g_rmdir(dir);
}

static void
register_replay_suite(void)
{
    static const CunitTest tests[] = {
        { "step: one change each way", test_step },
        { "ramp", test_ramp },
        { "slow ramp and diurnal sines", test_slow_loads },
        { "spikes and square wave: no change", test_spikes_and_square_wave },
        { "bursts: up once, no flapping", test_bursts_no_flapping },
        { "the host saturated: steal holds", test_steal_holds },
        { "the README's recorded run", test_recorded_run },
        { "the e2e test's recorded run", test_e2e_recorded_run },
        { "bad trace files", test_bad_traces },
        { "watch's JSON output as a trace", test_watch_output_as_trace },
        { NULL, NULL },
    };

    cunit_add_suite("autoscale replayed", tests);
}

static const CunitSuite suites[] = {
    { "autoscale replayed", register_replay_suite },
    { NULL, NULL },
};

int
main(int argc, char **argv)
{
    if (!g_getenv("HOTCPU_TEST_TRACES")) {
        fprintf(stderr, "HOTCPU_TEST_TRACES is not set (meson test sets it)\n");
        return 1;
    }
    return cunit_run(argc, argv, suites);
}
