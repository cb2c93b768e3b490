/* autoscale_decide.c: the decisions of autoscale, pure. */
#include "autoscale_decide.h"

#include <stdio.h>

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
    state->high_since = state->low_since = -1;
    state->last_change = 0;
    state->changed_once = FALSE;
    state->silent = FALSE;
    state->refused_from = state->refused_to = 0;
    state->refused_until = state->refused_backoff = 0;
}

static void
restart_windows(AutoscaleState *state, double t)
{
    state->high_since = state->low_since = -1;
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

static gboolean
is_high(const AutoscalePolicy *p, const AutoscaleSample *s)
{
    return (s->busy >= 0 && s->busy > p->target + AUTOSCALE_BAND)
           || s->pressure > AUTOSCALE_PRESSURE_HIGH;
}

static guint
one_step_down(const AutoscalePolicy *p, guint current)
{
    return current > p->floor + p->step ? current - p->step : p->floor;
}

/* Low: below the band, no tasks waiting, and the same work on one step
 * fewer CPUs still within the target, so that the step down is not undone
 * by a step up a window later. */
static gboolean
is_low(const AutoscalePolicy *p, const AutoscaleSample *s, guint current)
{
    guint fewer = one_step_down(p, current);
    double projected = fewer > 0 && fewer < current ? s->busy * current / fewer : s->busy;

    return s->busy >= 0 && s->busy < p->target - AUTOSCALE_BAND && projected <= p->target
           && (s->pressure < 0 || s->pressure < AUTOSCALE_PRESSURE_LOW);
}

static AutoscaleDecision
change(AutoscaleAction action, guint target)
{
    AutoscaleDecision d = { action, target, "" };
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

static AutoscaleDecision
scale_up(const AutoscalePolicy *p, const AutoscaleSample *s, double since, guint current)
{
    AutoscaleDecision d = change(AUTOSCALE_UP, MIN(p->ceiling, current + p->step));
    double held = s->t - since;

    if (s->busy >= 0 && s->busy > p->target + AUTOSCALE_BAND)
        g_snprintf(d.reason, sizeof(d.reason), "autoscale: busy %.2f > %.2f for %.0f s", s->busy,
                   p->target + AUTOSCALE_BAND, held);
    else
        g_snprintf(d.reason, sizeof(d.reason),
                   "autoscale: CPU pressure %.2f > %.2f for %.0f s (busy %.2f)", s->pressure,
                   AUTOSCALE_PRESSURE_HIGH, held, s->busy);
    return d;
}

static AutoscaleDecision
scale_down(const AutoscalePolicy *p, const AutoscaleSample *s, double since, guint current)
{
    AutoscaleDecision d = change(AUTOSCALE_DOWN, one_step_down(p, current));

    g_snprintf(d.reason, sizeof(d.reason), "autoscale: busy %.2f < %.2f for %.0f s", s->busy,
               p->target - AUTOSCALE_BAND, s->t - since);
    return d;
}

/* The agent's silence and its end are said once each. */
static gboolean
track_silence(AutoscaleState *state, const AutoscaleSample *s, guint current, AutoscaleDecision *d)
{
    if (!s->answered) {
        state->high_since = state->low_since = -1;
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

/* Moves the windows on with @s: since when the load is above / below. */
static void
track_windows(const AutoscalePolicy *p, AutoscaleState *state, const AutoscaleSample *s,
              guint current)
{
    if (is_high(p, s)) {
        state->low_since = -1;
        if (state->high_since < 0)
            state->high_since = s->t;
    } else if (is_low(p, s, current)) {
        state->high_since = -1;
        if (state->low_since < 0)
            state->low_since = s->t;
    } else {
        state->high_since = state->low_since = -1;
    }
}

AutoscaleDecision
autoscale_decide(const AutoscalePolicy *p, AutoscaleState *state, const AutoscaleSample *s,
                 guint current)
{
    AutoscaleDecision hold = change(AUTOSCALE_HOLD, current);
    gboolean cooled = !state->changed_once || s->t - state->last_change >= p->cooldown;
    AutoscaleDecision d;

    /* No change without a view of the guest confirmed by its agent. */
    if (track_silence(state, s, current, &hold))
        return hold;
    /* The windows run during the cooldown too; only acting waits. */
    track_windows(p, state, s, current);
    if (!cooled)
        return hold;
    d = into_bounds(p, current);
    if (d.action == AUTOSCALE_HOLD && state->high_since >= 0
        && s->t - state->high_since >= p->up_after && current < p->ceiling)
        d = scale_up(p, s, state->high_since, current);
    else if (d.action == AUTOSCALE_HOLD && state->low_since >= 0
             && s->t - state->low_since >= p->down_after && current > p->floor)
        d = scale_down(p, s, state->low_since, current);
    /* What `set` refused is not asked again before its backoff ends. */
    if (d.action == AUTOSCALE_HOLD
        || (current == state->refused_from && d.target == state->refused_to
            && s->t < state->refused_until))
        return hold;
    return d;
}
