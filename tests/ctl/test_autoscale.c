/* test_autoscale.c: autoscale's decisions as a pure function over a
 * synthetic series of load samples and an injected clock: no sleeps. */
#include <CUnit/Basic.h>
#include <string.h>

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
    AutoscaleSample s = { t, TRUE, busy, pressure };
    return s;
}

/* Feeds busy @busy every second from @from to @to; returns the first
 * decision that is not HOLD (or the last HOLD). */
static AutoscaleDecision
feed(const AutoscalePolicy *p, AutoscaleState *st, double from, double to, double busy,
     double pressure, guint current, double *when)
{
    AutoscaleDecision d = { AUTOSCALE_HOLD, current, "" };

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
    CU_ASSERT_STRING_EQUAL(d.reason, "autoscale: busy 0.95 > 0.85 for 30 s");
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
    CU_ASSERT_EQUAL(d.target, 2);
    CU_ASSERT_EQUAL(when, 300);
    CU_ASSERT_STRING_EQUAL(d.reason, "autoscale: busy 0.20 < 0.65 for 300 s");
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
    AutoscaleDecision d = { AUTOSCALE_HOLD, 2, "" };

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
    CU_ASSERT_PTR_NOT_NULL(strstr(d.reason, "above the maximum of 4"));
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
    AutoscaleSample quiet = { 40, FALSE, -1, -1 };
    AutoscaleDecision d;
    double when = -1;

    autoscale_state_init(&st);
    feed(&policy, &st, 0, 29, 0.95, -1, 1, &when);
    d = autoscale_decide(&policy, &st, &quiet, 1);
    CU_ASSERT_EQUAL(d.action, AUTOSCALE_HOLD);
    CU_ASSERT_PTR_NOT_NULL(strstr(d.reason, "does not answer: holding at 1 vCPUs"));
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
    CU_ASSERT_PTR_NOT_NULL(strstr(d.reason, "CPU pressure 0.25 > 0.10 for 30 s"));
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

static void
register_autoscale_suite(void)
{
    static const CunitTest tests[] = {
        { "up after the window, not before", test_up_after_the_window },
        { "down after its window; pressure keeps CPUs", test_down_after_the_window },
        { "down only when the work fits on fewer", test_down_only_when_it_fits },
        { "no flapping at the band's edge", test_no_flapping_at_the_edge },
        { "cooldown", test_cooldown },
        { "bounds and socket steps", test_bounds },
        { "host policy narrows the floor", test_policy_floor },
        { "the agent going silent", test_agent_silent },
        { "pressure calls for a CPU", test_pressure_calls_for_more },
        { "a refused change backs off", test_refused_backs_off },
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
