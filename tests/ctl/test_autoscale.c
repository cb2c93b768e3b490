/* test_autoscale.c: autoscale's decisions as a pure function over a
 * synthetic series of load samples and an injected clock: no sleeps. */
#include <CUnit/Basic.h>
#include <string.h>

#include "autoscale_cells.h"
#include "autoscale_decide.h"
#include "cunit_runner.h"

static const AutoscalePolicy policy = {
    .floor = 1,
    .ceiling = 4,
    .step = 1,
    .target = 0.75,
    .up_after = 30,
    .down_after = 300,
    .cooldown = 60,
};

static AutoscaleSample
sample(double t, double busy, double pressure)
{
    AutoscaleSample s = { t, TRUE, busy, pressure, 0, -1 };
    return s;
}

/* Feeds busy @busy every second from @from to @to; returns the first
 * decision that is not HOLD (or the last HOLD). */
static AutoscaleDecision
feed(const AutoscalePolicy *p, AutoscaleState *st, double from, double to, double busy,
     double pressure, guint current, double *when)
{
    AutoscaleDecision d = { .action = AUTOSCALE_HOLD, .target = current };

    for (double t = from; t <= to; t += 1) {
        AutoscaleSample s = sample(t, busy, pressure);
        d = autoscale_decide(p, st, &s, current);
        *when = t;
        if (d.action != AUTOSCALE_HOLD)
            break;
    }
    return d;
}

static void
test_up_after_the_window(void)
{
    AutoscaleState st;
    double when = -1;
    AutoscaleDecision d;

    autoscale_state_init(&st);
    d = feed(&policy, &st, 0, 29, 0.95, -1, 1, &when);
    CU_ASSERT_EQUAL(d.action, AUTOSCALE_HOLD); /* not before */
    d = feed(&policy, &st, 30, 40, 0.95, -1, 1, &when);
    CU_ASSERT_EQUAL(d.action, AUTOSCALE_UP);
    CU_ASSERT_EQUAL(d.target, 2);
    CU_ASSERT_EQUAL(when, 30);
    CU_ASSERT_STRING_EQUAL(d.reason,
                           "autoscale: busy 0.95 > 0.85 for 30 s (demand 0.95 CPUs): 2 vCPUs for "
                           "busy 0.75");
}

static void
test_down_after_the_window(void)
{
    AutoscaleState st;
    double when = -1;
    AutoscaleDecision d;

    autoscale_state_init(&st);
    d = feed(&policy, &st, 0, 400, 0.20, 0.0, 3, &when);
    CU_ASSERT_EQUAL(d.action, AUTOSCALE_DOWN);
    CU_ASSERT_EQUAL(d.target, 1); /* 3 x 0.20 = 0.60 fits on one: in one change */
    CU_ASSERT_EQUAL(when, 300);
    CU_ASSERT_STRING_EQUAL(d.reason, "autoscale: busy 0.20 < 0.65 for 300 s (CPU pressure 0.00, "
                                     "demand 0.60 CPUs): 1 vCPUs, the most wanted in that time");
    /* tasks waiting for a CPU keep the CPUs, however idle it looks */
    autoscale_state_init(&st);
    d = feed(&policy, &st, 0, 400, 0.20, 0.08, 3, &when);
    CU_ASSERT_EQUAL(d.action, AUTOSCALE_HOLD);
    /* an idle guest's own noise in the pressure does not */
    autoscale_state_init(&st);
    d = feed(&policy, &st, 0, 400, 0.15, 0.03, 2, &when);
    CU_ASSERT_EQUAL(d.action, AUTOSCALE_DOWN);
    CU_ASSERT_EQUAL(d.target, 1);
}

/* Below the band, but the work would not fit on one CPU fewer: held, or
 * the step down would be undone a window later. */
static void
test_down_only_when_it_fits(void)
{
    AutoscaleState st;
    double when = -1;

    autoscale_state_init(&st);
    /* 2 x 0.45 = 0.90 on one CPU: above the target */
    CU_ASSERT_EQUAL(feed(&policy, &st, 0, 1000, 0.45, 0.0, 2, &when).action, AUTOSCALE_HOLD);
    /* 3 x 0.45 = 1.35 on two: 0.675, within it */
    autoscale_state_init(&st);
    CU_ASSERT_EQUAL(feed(&policy, &st, 0, 1000, 0.45, 0.0, 3, &when).action, AUTOSCALE_DOWN);
}

/* Just over and just under the band's edge, alternating: the window starts
 * again each time, so nothing ever changes. */
static void
test_no_flapping_at_the_edge(void)
{
    AutoscaleState st;
    AutoscaleDecision d = { .action = AUTOSCALE_HOLD, .target = 2 };

    autoscale_state_init(&st);
    for (int t = 0; t < 1000; t++) {
        AutoscaleSample s = sample(t, t % 2 ? 0.86 : 0.84, -1);
        d = autoscale_decide(&policy, &st, &s, 2);
        CU_ASSERT_EQUAL(d.action, AUTOSCALE_HOLD);
    }
    autoscale_state_init(&st);
    for (int t = 0; t < 1000; t++) {
        AutoscaleSample s = sample(t, t % 2 ? 0.64 : 0.66, -1);
        d = autoscale_decide(&policy, &st, &s, 2);
        CU_ASSERT_EQUAL(d.action, AUTOSCALE_HOLD);
    }
    /* in the band: held */
    autoscale_state_init(&st);
    CU_ASSERT_EQUAL(feed(&policy, &st, 0, 1000, 0.75, -1, 2, &(double){ 0 }).action,
                    AUTOSCALE_HOLD);
}

static void
test_cooldown(void)
{
    AutoscaleState st;
    double when = -1;
    AutoscaleDecision d;

    autoscale_state_init(&st);
    autoscale_changed(&st, 100);
    /* the window is over at 130, but the cooldown runs until 160 */
    d = feed(&policy, &st, 100, 200, 0.95, -1, 2, &when);
    CU_ASSERT_EQUAL(d.action, AUTOSCALE_UP);
    CU_ASSERT_EQUAL(when, 160);
}

static void
test_bounds(void)
{
    AutoscaleState st;
    double when = -1;
    AutoscaleDecision d;
    AutoscalePolicy sockets = policy;

    autoscale_state_init(&st);
    CU_ASSERT_EQUAL(feed(&policy, &st, 0, 100, 0.99, -1, 4, &when).action, AUTOSCALE_HOLD);
    autoscale_state_init(&st);
    CU_ASSERT_EQUAL(feed(&policy, &st, 0, 1000, 0.01, 0, 1, &when).action, AUTOSCALE_HOLD);
    /* outside the bounds (set by hand): back in at once */
    autoscale_state_init(&st);
    d = feed(&policy, &st, 0, 0, 0.75, -1, 6, &when);
    CU_ASSERT_EQUAL(d.action, AUTOSCALE_DOWN);
    CU_ASSERT_EQUAL(d.target, 4);
    CUNIT_ASSERT_CONTAINS(d.reason, "above the maximum of 4");
    /* whole sockets of 2: a step is 2 vCPUs, never past the ceiling */
    sockets.step = 2;
    sockets.ceiling = 6;
    autoscale_state_init(&st);
    d = feed(&sockets, &st, 0, 100, 0.95, -1, 4, &when);
    CU_ASSERT_EQUAL(d.target, 6);
}

static void
test_policy_floor(void)
{
    CU_ASSERT_EQUAL(autoscale_floor(1, TRUE, TRUE, 4, 6), 1);
    CU_ASSERT_EQUAL(autoscale_floor(1, FALSE, TRUE, 4, 6), 6); /* no unplug at all */
    CU_ASSERT_EQUAL(autoscale_floor(1, TRUE, FALSE, 4, 6), 4); /* not below the definition */
    CU_ASSERT_EQUAL(autoscale_floor(5, TRUE, FALSE, 4, 6), 5);
    CU_ASSERT_EQUAL(autoscale_floor(1, TRUE, FALSE, 0, 6), 1); /* transient: no definition */
}

/* The agent goes silent: hold, said once; the windows start again. */
static void
test_agent_silent(void)
{
    AutoscaleState st;
    AutoscaleSample quiet = { 40, FALSE, -1, -1, -1, -1 };
    AutoscaleDecision d;
    double when = -1;

    autoscale_state_init(&st);
    feed(&policy, &st, 0, 29, 0.95, -1, 1, &when);
    d = autoscale_decide(&policy, &st, &quiet, 1);
    CU_ASSERT_EQUAL(d.action, AUTOSCALE_HOLD);
    CUNIT_ASSERT_CONTAINS(d.reason, "does not answer: holding at 1 vCPUs");
    quiet.t = 41;
    d = autoscale_decide(&policy, &st, &quiet, 1);
    CU_ASSERT_STRING_EQUAL(d.reason, ""); /* once */
    d = feed(&policy, &st, 42, 42, 0.95, -1, 1, &when);
    CU_ASSERT_STRING_EQUAL(d.reason, "autoscale: the guest's agent answers again");
    /* the window began again at 42, not at 0 */
    d = feed(&policy, &st, 43, 100, 0.95, -1, 1, &when);
    CU_ASSERT_EQUAL(when, 72);
    CU_ASSERT_EQUAL(d.action, AUTOSCALE_UP);
}

static void
test_pressure_calls_for_more(void)
{
    AutoscaleState st;
    double when = -1;
    AutoscaleDecision d;

    autoscale_state_init(&st);
    d = feed(&policy, &st, 0, 100, 0.70, 0.25, 2, &when);
    CU_ASSERT_EQUAL(d.action, AUTOSCALE_UP);
    CU_ASSERT_EQUAL(when, 30);
    CUNIT_ASSERT_CONTAINS(d.reason, "CPU pressure 0.25 > 0.10 for 30 s");
}

/* After a change, CPU pressure (a 10 s average) still tells of the old
 * count: as on a real guest, 1 -> 3 for busy loops, then busy inside the
 * band with the old pressure decaying: no second change on it.  Once it
 * has had time to decay, pressure that stays high is believed again. */
static void
test_pressure_after_a_change(void)
{
    AutoscalePolicy p = policy;
    AutoscaleState st;
    double when = -1;
    AutoscaleDecision d;

    p.up_after = 3;
    p.cooldown = 2;
    autoscale_state_init(&st);
    autoscale_changed(&st, 0);
    d = feed(&p, &st, 1, AUTOSCALE_PRESSURE_MEMORY_S - 1, 0.75, 0.31, 3, &when);
    CU_ASSERT_EQUAL(d.action, AUTOSCALE_HOLD);
    d = feed(&p, &st, AUTOSCALE_PRESSURE_MEMORY_S, AUTOSCALE_PRESSURE_MEMORY_S + 10, 0.75, 0.31, 3,
             &when);
    CU_ASSERT_EQUAL(d.action, AUTOSCALE_UP);
    CU_ASSERT_EQUAL(d.target, 4);
}

/* A change `set` refused (the guest OS not allowed to unplug, a policy)
 * is not asked again every window: once after the backoff, which doubles
 * with each refusal up to an hour; any change of the count forgets it. */
static void
test_refused_backs_off(void)
{
    AutoscaleState st;
    double when = -1;
    AutoscaleDecision d;
    double backoff;

    autoscale_state_init(&st);
    d = feed(&policy, &st, 0, 400, 0.10, 0.0, 3, &when);
    CU_ASSERT_EQUAL_FATAL(d.action, AUTOSCALE_DOWN);
    backoff = autoscale_refused(&policy, &st, when, 3, d.target);
    CU_ASSERT(backoff >= policy.down_after);
    /* Within the backoff: the same idle load, no second try. */
    d = feed(&policy, &st, when + 1, when + backoff - 1, 0.10, 0.0, 3, &when);
    CU_ASSERT_EQUAL(d.action, AUTOSCALE_HOLD);
    /* After it: asked once more; refused again, twice as long. */
    d = feed(&policy, &st, when + 1, when + 2 * backoff, 0.10, 0.0, 3, &when);
    CU_ASSERT_EQUAL_FATAL(d.action, AUTOSCALE_DOWN);
    CU_ASSERT_EQUAL(autoscale_refused(&policy, &st, when, 3, d.target), 2 * backoff);
    /* The other way is not held back. */
    d = feed(&policy, &st, when + 1, when + 200, 0.95, 0.0, 3, &when);
    CU_ASSERT_EQUAL(d.action, AUTOSCALE_UP);
    /* A change (by hand) forgets the refusal. */
    autoscale_changed(&st, when);
    d = feed(&policy, &st, when + 1, when + 400, 0.10, 0.0, 3, &when);
    CU_ASSERT_EQUAL(d.action, AUTOSCALE_DOWN);
    CU_ASSERT_EQUAL(autoscale_refused(&policy, &st, when, 3, d.target), backoff);
    /* Never more than an hour. */
    for (int i = 0; i < 20; i++)
        CU_ASSERT(autoscale_refused(&policy, &st, when, 3, 2) <= 3600);
}

static const AutoscalePolicy wide = {
    .floor = 1,
    .ceiling = 8,
    .step = 1,
    .target = 0.75,
    .up_after = 30,
    .down_after = 300,
    .cooldown = 60,
};

static AutoscaleSample
loaded(double t, double busy, double pressure, double steal, gint64 runnable)
{
    AutoscaleSample s = { t, TRUE, busy, pressure, steal, runnable };
    return s;
}

/* Feeds the same sample every second from @from to @to, on @current vCPUs;
 * the first decision that is not HOLD (or the last HOLD). */
static AutoscaleDecision
feed_sample(const AutoscalePolicy *p, AutoscaleState *st, double from, double to, AutoscaleSample s,
            guint current, double *when)
{
    AutoscaleDecision d = { .action = AUTOSCALE_HOLD, .target = current };

    for (double t = from; t <= to; t += 1) {
        s.t = t;
        d = autoscale_decide(p, st, &s, current);
        *when = t;
        if (d.action != AUTOSCALE_HOLD)
            break;
    }
    return d;
}

/* What one sample wants: proportional within the band's outside,
 * the runnable tasks when saturated, whole units, within the bounds. */
static void
test_desired_count(void)
{
    AutoscalePolicy sockets = wide;
    AutoscaleSample s;
    double demand = -1;

    s = loaded(0, 0.75, 0.0, 0, 3); /* in the band: as is */
    CU_ASSERT_EQUAL(autoscale_desired(&wide, &s, 4, NULL), 4);
    s = loaded(0, 0.88, 0.0, 0, 3); /* 4 x 0.88 / 0.75 = 4.69 */
    CU_ASSERT_EQUAL(autoscale_desired(&wide, &s, 4, &demand), 5);
    CU_ASSERT_DOUBLE_EQUAL(demand, 3.52, 1e-9);
    s = loaded(0, 1.0, 0.66, 0, 5); /* 4 tasks (and the agent) on one CPU */
    CU_ASSERT_EQUAL(autoscale_desired(&wide, &s, 1, &demand), 6);
    CU_ASSERT_DOUBLE_EQUAL(demand, 4, 1e-9);
    s = loaded(0, 0.70, 0.66, 0.30, 5); /* saturated counting steal */
    CU_ASSERT_EQUAL(autoscale_desired(&wide, &s, 1, &demand), 6);
    s = loaded(0, 1.0, 0.66, 0, -1); /* saturated, tasks unknown: busy x n */
    CU_ASSERT_EQUAL(autoscale_desired(&wide, &s, 2, NULL), 3);
    s = loaded(0, 0.50, 0.0, 0, 2); /* 3 x 0.50 / 0.75 = 2 exactly */
    CU_ASSERT_EQUAL(autoscale_desired(&wide, &s, 3, NULL), 2);
    s = loaded(0, 0.50, 0.0, 0, 40); /* not saturated: runnable is noise */
    CU_ASSERT_EQUAL(autoscale_desired(&wide, &s, 3, NULL), 2);
    s = loaded(0, 0.01, 0.0, 0, 1); /* idle: the floor */
    CU_ASSERT_EQUAL(autoscale_desired(&wide, &s, 6, NULL), 1);
    s = loaded(0, 0.66, 0.30, 0, 1); /* pressure: one more at least */
    CU_ASSERT_EQUAL(autoscale_desired(&wide, &s, 3, NULL), 4);
    s = loaded(0, 0.30, 0.30, 0, 1); /* the 10 s average's memory of a burst */
    CU_ASSERT_EQUAL(autoscale_desired(&wide, &s, 3, NULL), 3);
    s = loaded(0, 0.20, 0.07, 0, 1); /* some pressure: not fewer */
    CU_ASSERT_EQUAL(autoscale_desired(&wide, &s, 3, NULL), 3);
    s = loaded(0, 1.0, 0.9, 0, 40); /* never past the ceiling */
    CU_ASSERT_EQUAL(autoscale_desired(&wide, &s, 2, NULL), 8);
    s = loaded(0, -1, -1, -1, -1); /* nothing known: as is */
    CU_ASSERT_EQUAL(autoscale_desired(&wide, &s, 3, NULL), 3);
    sockets.step = 2;
    sockets.floor = 2;
    s = loaded(0, 1.0, 0.5, 0, 4); /* 3 tasks: 4 vCPUs, two sockets */
    CU_ASSERT_EQUAL(autoscale_desired(&sockets, &s, 2, NULL), 4);
    s = loaded(0, 0.95, 0.0, 0, -1); /* 2 x 0.95 / 0.75 = 2.53: 3, so 4 */
    CU_ASSERT_EQUAL(autoscale_desired(&sockets, &s, 2, NULL), 4);
}

/* The case: 4 busy loops on 1 of 8 vCPUs.  One change, straight
 * to the count the load needs, after the window; its reason names busy,
 * runnable and pressure. */
static void
test_up_in_one_change(void)
{
    AutoscaleState st;
    double when = -1;
    AutoscaleDecision d;

    autoscale_state_init(&st);
    d = feed_sample(&wide, &st, 0, 100, loaded(0, 1.0, 0.66, 0, 5), 1, &when);
    CU_ASSERT_EQUAL(d.action, AUTOSCALE_UP);
    CU_ASSERT_EQUAL(when, 30);
    CU_ASSERT_EQUAL(d.target, 6);
    CU_ASSERT_STRING_EQUAL(d.reason, "autoscale: busy 1.00 > 0.85 for 30 s (runnable 5, CPU "
                                     "pressure 0.66, demand 4.00 CPUs): 6 vCPUs for busy 0.75");
    /* On 6 the same work is 0.67 busy: inside the band, nothing more. */
    autoscale_changed(&st, when);
    d = feed_sample(&wide, &st, when + 1, when + 2000, loaded(0, 4.0 / 6, 0.01, 0, 5), 6, &when);
    CU_ASSERT_EQUAL(d.action, AUTOSCALE_HOLD);
}

/* Up to the fewest any sample of the window wanted, not to the last. */
static void
test_up_to_the_windows_least(void)
{
    AutoscaleState st;
    double when = -1;
    AutoscaleDecision d;

    autoscale_state_init(&st);
    d = feed_sample(&wide, &st, 0, 10, loaded(0, 1.0, 0.5, 0, 4), 1, &when); /* wants 4 */
    CU_ASSERT_EQUAL(d.action, AUTOSCALE_HOLD);
    d = feed_sample(&wide, &st, 11, 20, loaded(0, 1.0, 0.5, 0, 9), 1, &when); /* wants 8 */
    CU_ASSERT_EQUAL(d.action, AUTOSCALE_HOLD);
    d = feed_sample(&wide, &st, 21, 40, loaded(0, 1.0, 0.5, 0, 7), 1, &when); /* wants 8 */
    CU_ASSERT_EQUAL(d.action, AUTOSCALE_UP);
    CU_ASSERT_EQUAL(when, 30);
    CU_ASSERT_EQUAL(d.target, 4);
}

/* --max-step N: no change moves more than N, either way. */
static void
test_max_step(void)
{
    AutoscalePolicy one = wide;
    AutoscaleState st;
    double when = -1;
    AutoscaleDecision d;

    one.max_change = 1;
    autoscale_state_init(&st);
    d = feed_sample(&one, &st, 0, 100, loaded(0, 1.0, 0.66, 0, 5), 1, &when);
    CU_ASSERT_EQUAL(d.action, AUTOSCALE_UP);
    CU_ASSERT_EQUAL(d.target, 2);
    CUNIT_ASSERT_CONTAINS(d.reason, ": 2 vCPUs for busy 0.75 (--max-step)");
    autoscale_state_init(&st);
    d = feed_sample(&one, &st, 0, 400, loaded(0, 0.02, 0.0, 0, 1), 6, &when);
    CU_ASSERT_EQUAL(d.action, AUTOSCALE_DOWN);
    CU_ASSERT_EQUAL(d.target, 5);
    one.max_change = 3;
    autoscale_state_init(&st);
    d = feed_sample(&one, &st, 0, 400, loaded(0, 0.02, 0.0, 0, 1), 6, &when);
    CU_ASSERT_EQUAL(d.target, 3);
    autoscale_state_init(&st);
    d = feed_sample(&one, &st, 0, 400, loaded(0, 0.02, 0.0, 0, 1), 3, &when);
    CU_ASSERT_EQUAL(d.target, 1);
}

/* Down to the most any sample of --down-after wanted (HPA's
 * stabilization): a short peak inside the window keeps its CPUs. */
static void
test_down_to_the_windows_most(void)
{
    AutoscaleState st;
    double when = -1;
    AutoscaleDecision d;

    autoscale_state_init(&st);
    d = feed_sample(&wide, &st, 0, 99, loaded(0, 0.02, 0.0, 0, 1), 6, &when); /* wants 1 */
    CU_ASSERT_EQUAL(d.action, AUTOSCALE_HOLD);
    d = feed_sample(&wide, &st, 100, 104, loaded(0, 0.30, 0.0, 0, 1), 6, &when); /* wants 3 */
    CU_ASSERT_EQUAL(d.action, AUTOSCALE_HOLD);
    d = feed_sample(&wide, &st, 105, 500, loaded(0, 0.02, 0.0, 0, 1), 6, &when);
    CU_ASSERT_EQUAL(d.action, AUTOSCALE_DOWN);
    CU_ASSERT_EQUAL(when, 300);
    CU_ASSERT_EQUAL(d.target, 3);
    CUNIT_ASSERT_CONTAINS(d.reason, ": 3 vCPUs, the most wanted in that time");
    /* the peak leaves the window: the rest goes, after the next window */
    autoscale_changed(&st, when);
    d = feed_sample(&wide, &st, when + 1, when + 1000, loaded(0, 0.04, 0.0, 0, 1), 3, &when);
    CU_ASSERT_EQUAL(d.action, AUTOSCALE_DOWN);
    CU_ASSERT_EQUAL(when, 601);
    CU_ASSERT_EQUAL(d.target, 1);
    /* a dip shorter than the window removes nothing */
    autoscale_state_init(&st);
    d = feed_sample(&wide, &st, 0, 100, loaded(0, 0.75, 0.0, 0, 4), 4, &when);
    d = feed_sample(&wide, &st, 101, 350, loaded(0, 0.05, 0.0, 0, 1), 4, &when);
    CU_ASSERT_EQUAL(d.action, AUTOSCALE_HOLD);
    d = feed_sample(&wide, &st, 351, 1000, loaded(0, 0.75, 0.0, 0, 4), 4, &when);
    CU_ASSERT_EQUAL(d.action, AUTOSCALE_HOLD);
}

/* Many distinct counts within one window: the history is bounded, and
 * when full it keeps a higher count longer, never shorter. */
static void
test_history_bounded(void)
{
    AutoscalePolicy big = wide;
    AutoscaleState st;
    AutoscaleDecision d = { .action = AUTOSCALE_HOLD };
    double t = 0;

    big.ceiling = 400;
    autoscale_state_init(&st);
    /* falling from 300 wanted to 1, one count a second, on 300 vCPUs */
    for (guint want = 300; want >= 1; want--, t++) {
        AutoscaleSample s = loaded(t, want * 0.75 / 300 - 0.0001, 0.0, 0, 1);
        d = autoscale_decide(&big, &st, &s, 300);
        CU_ASSERT(st.n_wanted <= AUTOSCALE_HISTORY);
        CU_ASSERT_EQUAL(d.action, AUTOSCALE_HOLD);
    }
    for (; d.action == AUTOSCALE_HOLD && t < 2000; t++) {
        AutoscaleSample s = loaded(t, 0.75 / 300 - 0.0001, 0.0, 0, 1);
        d = autoscale_decide(&big, &st, &s, 300);
    }
    CU_ASSERT_EQUAL(d.action, AUTOSCALE_DOWN);
    CU_ASSERT(d.target >= 1 && d.target < 300);
}

/* The host's CPUs are saturated (steal): no scale up, said once; when
 * the steal falls, the window starts and the change comes. */
static void
test_host_saturated_holds(void)
{
    AutoscaleState st;
    double when = -1;
    AutoscaleDecision d;
    guint said = 0;

    autoscale_state_init(&st);
    for (double t = 0; t <= 300; t++) {
        AutoscaleSample s = loaded(t, 1.0, 0.5, 0.30, 5);
        d = autoscale_decide(&wide, &st, &s, 2);
        CU_ASSERT_EQUAL(d.action, AUTOSCALE_HOLD);
        if (d.reason[0]) {
            said++;
            CU_ASSERT_STRING_EQUAL(d.reason,
                                   "autoscale: steal 0.30 > 0.10: the host's CPUs are saturated, "
                                   "more vCPUs would add contention, not capacity; holding at 2 "
                                   "vCPUs (the load wants 6)");
        }
    }
    CU_ASSERT_EQUAL(said, 1);
    d = feed_sample(&wide, &st, 301, 400, loaded(0, 1.0, 0.5, 0.01, 5), 2, &when);
    CU_ASSERT_EQUAL(d.action, AUTOSCALE_UP);
    CU_ASSERT_EQUAL(when, 331);
    /* steal never keeps a guest from giving CPUs back */
    autoscale_state_init(&st);
    d = feed_sample(&wide, &st, 0, 400, loaded(0, 0.05, 0.0, 0.40, 1), 4, &when);
    CU_ASSERT_EQUAL(d.action, AUTOSCALE_DOWN);
    /* the stolen time was wanted too: 0.45 x 4 = 1.8 CPUs, 3 vCPUs */
    CUNIT_ASSERT_STR(d.reason, "autoscale: busy 0.45 < 0.65 for 300 s (runnable 1, CPU pressure "
                               "0.00, steal 0.40 counted as busy, demand 1.80 CPUs): 3 vCPUs, the "
                               "most wanted in that time");
}

/* Two NUMA cells: whole rounds of a vCPU to each cell; the bounds in
 * rounds; one change adds to each cell. */
static void
test_cells_whole_rounds(void)
{
    AutoscalePolicy p = policy;
    AutoscaleState st;
    AutoscaleDecision d;
    double when;

    p.floor = 1;
    p.ceiling = 7;
    p.max_change = 1;
    autoscale_cells_policy(&p, 2);
    CU_ASSERT_EQUAL(p.step, 2);
    CU_ASSERT_EQUAL(p.floor, 2);
    CU_ASSERT_EQUAL(p.ceiling, 6);
    CU_ASSERT_EQUAL(p.max_change, 2);
    /* saturated at 2: up by one round, to 4 (a vCPU to each cell) */
    autoscale_state_init(&st);
    d = feed(&p, &st, 0, 40, 1.0, -1, 2, &when);
    CU_ASSERT_EQUAL(d.action, AUTOSCALE_UP);
    CU_ASSERT_EQUAL(d.target, 4);
    /* sockets of 2 over 3 cells */
    p = policy;
    p.step = 2;
    p.floor = 2;
    p.ceiling = 16;
    autoscale_cells_policy(&p, 3);
    CU_ASSERT_EQUAL(p.step, 6);
    CU_ASSERT_EQUAL(p.floor, 6);
    CU_ASSERT_EQUAL(p.ceiling, 12);
    /* one cell, or none: unchanged */
    p = policy;
    autoscale_cells_policy(&p, 1);
    CU_ASSERT_EQUAL(p.step, 1);
    CU_ASSERT_EQUAL(p.ceiling, 4);
}

static void
register_autoscale_suite(void)
{
    static const CunitTest tests[] = {
        { "NUMA cells: whole rounds", test_cells_whole_rounds },
        { "up after the window, not before", test_up_after_the_window },
        { "down after its window; pressure keeps CPUs", test_down_after_the_window },
        { "down only when the work fits on fewer", test_down_only_when_it_fits },
        { "no flapping at the band's edge", test_no_flapping_at_the_edge },
        { "cooldown", test_cooldown },
        { "bounds and socket steps", test_bounds },
        { "host policy narrows the floor", test_policy_floor },
        { "the agent going silent", test_agent_silent },
        { "pressure calls for a CPU", test_pressure_calls_for_more },
        { "no more on the pressure of the old count", test_pressure_after_a_change },
        { "a refused change backs off", test_refused_backs_off },
        { "the count one sample wants", test_desired_count },
        { "up in one change, then steady", test_up_in_one_change },
        { "up to the least the window wanted", test_up_to_the_windows_least },
        { "--max-step limits a change", test_max_step },
        { "down to the most the window wanted", test_down_to_the_windows_most },
        { "the window's history is bounded", test_history_bounded },
        { "steal: the host saturated holds", test_host_saturated_holds },
        { NULL, NULL },
    };

    cunit_add_suite("autoscale decisions", tests);
}

static const CunitSuite suites[] = {
    { "autoscale decisions", register_autoscale_suite },
    { NULL, NULL },
};

int
main(int argc, char **argv)
{
    return cunit_run(argc, argv, suites);
}
