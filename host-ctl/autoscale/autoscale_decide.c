/* autoscale_decide.c: the decisions of autoscale, pure. */
#include "autoscale_decide.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

guint
autoscale_floor(guint min, gboolean allow_unplug, gboolean allow_below_persistent, guint persistent,
                guint current)
{
    guint floor = min;

    if (!allow_unplug)
        floor = MAX(floor, current);
    if (!allow_below_persistent && persistent > 0)
        floor = MAX(floor, persistent);
    return floor;
}

void
autoscale_state_init(AutoscaleState *state)
{
    state->up_since = state->window_start = -1;
    state->up_first = state->up_least = 0;
    state->n_wanted = 0;
    state->host_busy_said = FALSE;
    state->last_change = 0;
    state->changed_once = FALSE;
    state->silent = FALSE;
    state->refused_from = state->refused_to = 0;
    state->refused_until = state->refused_backoff = 0;
}

/* The samples before @t say nothing about the count from now on. */
static void
forget_samples(AutoscaleState *state)
{
    state->up_since = state->window_start = -1;
    state->n_wanted = 0;
}

static void
restart_windows(AutoscaleState *state, double t)
{
    forget_samples(state);
    state->last_change = t;
    state->changed_once = TRUE;
}

void
autoscale_changed(AutoscaleState *state, double t)
{
    restart_windows(state, t);
    state->refused_from = state->refused_to = 0;
    state->refused_backoff = 0;
}

#define AUTOSCALE_REFUSED_MIN_S 60
#define AUTOSCALE_REFUSED_MAX_S 3600

double
autoscale_refused(const AutoscalePolicy *p, AutoscaleState *state, double t, guint from, guint to)
{
    double first
        = MIN(MAX(MAX(MAX(p->up_after, p->down_after), p->cooldown), AUTOSCALE_REFUSED_MIN_S),
              AUTOSCALE_REFUSED_MAX_S);
    gboolean again
        = state->refused_from == from && state->refused_to == to && state->refused_backoff > 0;

    restart_windows(state, t);
    state->refused_backoff
        = again ? MIN(state->refused_backoff * 2, AUTOSCALE_REFUSED_MAX_S) : first;
    state->refused_from = from;
    state->refused_to = to;
    state->refused_until = t + state->refused_backoff;
    return state->refused_backoff;
}

static AutoscaleDecision
change(AutoscaleAction action, guint target)
{
    AutoscaleDecision d = { .action = action, .target = target, .desired = target };
    return d;
}

/* Back inside the bounds first (they may have changed, or the domain was
 * set by hand); HOLD when inside. */
static AutoscaleDecision
into_bounds(const AutoscalePolicy *p, guint current)
{
    AutoscaleDecision d = change(AUTOSCALE_HOLD, current);

    if (current < p->floor) {
        d = change(AUTOSCALE_UP, p->floor);
        g_snprintf(d.reason, sizeof(d.reason), "autoscale: %u vCPUs is below the minimum of %u",
                   current, p->floor);
    } else if (current > p->ceiling) {
        d = change(AUTOSCALE_DOWN, p->ceiling);
        g_snprintf(d.reason, sizeof(d.reason), "autoscale: %u vCPUs is above the maximum of %u",
                   current, p->ceiling);
    }
    return d;
}

guint
autoscale_period_ms(guint up_after, guint down_after)
{
    return CLAMP(MIN(up_after, down_after) * 1000 / 5, 1000, 5000);
}

/* The share of time the vCPUs were not idle: busy, and the time the host
 * took from them (steal), which they wanted to run too.  < 0: unknown. */
static double
active(const AutoscaleSample *s)
{
    return s->busy < 0 ? -1 : MIN(1.0, s->busy + MAX(s->steal, 0));
}

double
autoscale_demand(const AutoscaleSample *s, guint current)
{
    double busy = active(s), used = busy * current;

    if (busy < 0)
        return -1;
    /* Saturated CPUs hide how much more is wanted; the runnable tasks (but
     * the agent, which is running as it counts them) each want one. */
    if (busy >= AUTOSCALE_SATURATED && s->runnable > 1)
        return MAX(used, (double)(s->runnable - 1));
    return used;
}

/* @count rounded up to whole units, within [floor, ceiling]. */
static guint
in_units(const AutoscalePolicy *p, guint count)
{
    guint unit = MAX(p->step, 1);

    count = (count + unit - 1) / unit * unit;
    return CLAMP(count, p->floor, MAX(p->floor, p->ceiling));
}

/* ceil(@cpus / target), 1 at least; a hair under a whole number is that
 * number (3 x 0.50 / 0.75 is 2, not 2.0000001). */
static guint
for_target(const AutoscalePolicy *p, double cpus)
{
    double n = ceil(cpus / p->target - 1e-6);

    return n < 1 ? 1 : n > G_MAXUINT16 ? G_MAXUINT16 : (guint)n;
}

guint
autoscale_desired(const AutoscalePolicy *p, const AutoscaleSample *s, guint current, double *demand)
{
    double busy = active(s);
    /* CPU pressure is a 10 s average: after a burst it stays up while the
     * CPUs are idle again.  Tasks wait now only if the CPUs are not. */
    gboolean pressed
        = s->pressure > AUTOSCALE_PRESSURE_HIGH && (busy < 0 || busy >= p->target - AUTOSCALE_BAND);
    double cpus = autoscale_demand(s, current);
    guint want = current;

    if (demand)
        *demand = cpus;
    if (busy >= 0 && busy > p->target + AUTOSCALE_BAND)
        want = MAX(for_target(p, cpus), current + 1);
    else if (busy >= 0 && busy < p->target - AUTOSCALE_BAND
             && (s->pressure < 0 || s->pressure < AUTOSCALE_PRESSURE_LOW))
        want = MIN(for_target(p, cpus), current);
    /* Tasks wait for a CPU: one more unit at least, whatever the busy
     * fraction says (the pressure does not say how many). */
    if (pressed)
        want = MAX(want, current + 1);
    return in_units(p, want);
}

/* The agent's silence and its end are said once each. */
static gboolean
track_silence(AutoscaleState *state, const AutoscaleSample *s, guint current, AutoscaleDecision *d)
{
    if (!s->answered) {
        forget_samples(state);
        if (!state->silent)
            g_snprintf(d->reason, sizeof(d->reason),
                       "autoscale: the guest's agent does not answer: holding at %u vCPUs",
                       current);
        state->silent = TRUE;
        return TRUE;
    }
    if (state->silent)
        g_snprintf(d->reason, sizeof(d->reason), "autoscale: the guest's agent answers again");
    state->silent = FALSE;
    return FALSE;
}

/* The host's CPUs are saturated (steal): more vCPUs add contention, not
 * capacity.  Said once, until the steal falls again. */
static gboolean
host_saturated(AutoscaleState *state, const AutoscaleSample *s, guint current, guint desired,
               AutoscaleDecision *d)
{
    if (s->steal <= AUTOSCALE_STEAL_HIGH) {
        state->host_busy_said = FALSE;
        return FALSE;
    }
    if (desired <= current)
        return FALSE;
    if (!state->host_busy_said)
        g_snprintf(d->reason, sizeof(d->reason),
                   "autoscale: steal %.2f > %.2f: the host's CPUs are saturated, more vCPUs would "
                   "add contention, not capacity; holding at %u vCPUs (the load wants %u)",
                   s->steal, AUTOSCALE_STEAL_HIGH, current, desired);
    state->host_busy_said = TRUE;
    return TRUE;
}

/* Remembers that @desired was wanted at @t; forgets what is older than the
 * scale-down window.  The first kept is then the most wanted within it. */
static void
remember(const AutoscalePolicy *p, AutoscaleState *state, double t, guint desired)
{
    guint kept = 0;

    /* older and no higher: never the maximum again */
    while (state->n_wanted > 0 && state->wanted[state->n_wanted - 1].desired <= desired)
        state->n_wanted--;
    if (state->n_wanted == AUTOSCALE_HISTORY) {
        /* full: the newest keeps its higher count a while longer */
        state->wanted[state->n_wanted - 1].t = t;
    } else {
        state->wanted[state->n_wanted++] = (AutoscaleWanted){ t, desired };
    }
    while (kept < state->n_wanted && state->wanted[kept].t < t - p->down_after)
        kept++;
    if (kept > 0) {
        memmove(state->wanted, state->wanted + kept,
                (state->n_wanted - kept) * sizeof(AutoscaleWanted));
        state->n_wanted -= kept;
    }
}

/* Moves the windows on with the sample at @t that wants @desired. */
static void
track_windows(const AutoscalePolicy *p, AutoscaleState *state, double t, guint desired,
              guint current)
{
    if (state->window_start < 0)
        state->window_start = t;
    if (desired > current) {
        /* The first sample of a rise covers the period before it too:
         * what it wants counts only when no other sample came since. */
        if (state->up_since < 0) {
            state->up_since = t;
            state->up_first = desired;
            state->up_least = 0;
        } else {
            state->up_least = state->up_least ? MIN(state->up_least, desired) : desired;
        }
    } else {
        state->up_since = -1;
    }
    remember(p, state, t, desired);
}

static void
append_load(char *buf, gsize size, const AutoscaleSample *s, double demand)
{
    gsize len = strlen(buf);
    g_autofree char *runnable
        = s->runnable > 0 ? g_strdup_printf("runnable %" G_GINT64_FORMAT ", ", s->runnable) : NULL;
    g_autofree char *pressure
        = s->pressure >= 0 ? g_strdup_printf("CPU pressure %.2f, ", s->pressure) : NULL;
    g_autofree char *steal
        = s->steal >= 0.005 ? g_strdup_printf("steal %.2f counted as busy, ", s->steal) : NULL;

    g_snprintf(buf + len, size - len, " (%s%s%sdemand %.2f CPUs)", runnable ? runnable : "",
               pressure ? pressure : "", steal ? steal : "", MAX(demand, 0));
}

static AutoscaleDecision
scale_up(const AutoscalePolicy *p, const AutoscaleState *state, const AutoscaleSample *s,
         guint current)
{
    guint least = state->up_least ? state->up_least : state->up_first, to = least;
    AutoscaleDecision d;
    double held = s->t - state->up_since, demand;

    if (p->max_change > 0)
        to = MIN(to, current + p->max_change);
    d = change(AUTOSCALE_UP, to);
    autoscale_desired(p, s, current, &demand);
    if (active(s) >= 0 && active(s) > p->target + AUTOSCALE_BAND)
        g_snprintf(d.reason, sizeof(d.reason), "autoscale: busy %.2f > %.2f for %.0f s", active(s),
                   p->target + AUTOSCALE_BAND, held);
    else
        g_snprintf(d.reason, sizeof(d.reason),
                   "autoscale: CPU pressure %.2f > %.2f for %.0f s (busy %.2f)", s->pressure,
                   AUTOSCALE_PRESSURE_HIGH, held, active(s));
    append_load(d.reason, sizeof(d.reason), s, demand);
    g_snprintf(d.reason + strlen(d.reason), sizeof(d.reason) - strlen(d.reason),
               ": %u vCPUs for busy %.2f%s", to, p->target, to < least ? " (--max-step)" : "");
    return d;
}

/* The most wanted by the samples of the last @down_after seconds: the
 * oldest remembered sample, at the window's very start, covers the period
 * before it (it may be the one that straddled the load's fall). */
static guint
most_wanted(const AutoscalePolicy *p, const AutoscaleState *state, double now)
{
    if (state->n_wanted > 1 && state->wanted[0].t <= now - p->down_after)
        return state->wanted[1].desired;
    return state->wanted[0].desired;
}

static AutoscaleDecision
scale_down(const AutoscalePolicy *p, const AutoscaleState *state, const AutoscaleSample *s,
           guint current)
{
    guint most = most_wanted(p, state, s->t), to = most;
    AutoscaleDecision d;
    double demand;

    if (p->max_change > 0 && current > p->floor + p->max_change)
        to = MAX(to, current - p->max_change);
    d = change(AUTOSCALE_DOWN, to);
    autoscale_desired(p, s, current, &demand);
    g_snprintf(d.reason, sizeof(d.reason), "autoscale: busy %.2f < %.2f for %.0f s", active(s),
               p->target - AUTOSCALE_BAND, p->down_after);
    append_load(d.reason, sizeof(d.reason), s, demand);
    g_snprintf(d.reason + strlen(d.reason), sizeof(d.reason) - strlen(d.reason),
               ": %u vCPUs, the most wanted in that time%s", most,
               to > most ? " (--max-step)" : "");
    return d;
}

AutoscaleDecision
autoscale_decide(const AutoscalePolicy *p, AutoscaleState *state, const AutoscaleSample *s,
                 guint current)
{
    AutoscaleDecision hold = change(AUTOSCALE_HOLD, current);
    gboolean cooled = !state->changed_once || s->t - state->last_change >= p->cooldown;
    AutoscaleSample fresh = *s;
    AutoscaleDecision d;
    guint desired;

    /* Right after a change the pressure still tells of the old count (seen
     * on a real guest: 1 -> 5 vCPUs for 4 busy loops, then 5 -> 6 on the
     * pressure that 1 vCPU had left behind): it asks for no more until it
     * has decayed.  It still keeps a count from coming down. */
    if (state->changed_once && s->t - state->last_change < AUTOSCALE_PRESSURE_MEMORY_S)
        fresh.pressure = MIN(fresh.pressure, AUTOSCALE_PRESSURE_HIGH);
    s = &fresh;

    /* No change without a view of the guest confirmed by its agent. */
    if (track_silence(state, s, current, &hold))
        return hold;
    desired = hold.desired = autoscale_desired(p, s, current, NULL);
    /* The windows run during the cooldown too; only acting waits. */
    track_windows(p, state, s->t, desired, current);
    if (host_saturated(state, s, current, desired, &hold)) {
        state->up_since = -1; /* no scale up while the host has no CPU time to give */
        return hold;
    }
    if (!cooled)
        return hold;
    d = into_bounds(p, current);
    if (d.action == AUTOSCALE_HOLD && state->up_since >= 0 && s->t - state->up_since >= p->up_after
        && current < p->ceiling)
        d = scale_up(p, state, s, current);
    else if (d.action == AUTOSCALE_HOLD && state->n_wanted > 0 && state->wanted[0].desired < current
             && s->t - state->window_start >= p->down_after && current > p->floor)
        d = scale_down(p, state, s, current);
    d.desired = desired;
    /* What `set` refused is not asked again before its backoff ends. */
    if (d.action == AUTOSCALE_HOLD
        || (current == state->refused_from && d.target == state->refused_to
            && s->t < state->refused_until))
        return hold;
    return d;
}
