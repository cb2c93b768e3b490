/* autoscale_decide.h: when autoscale changes a domain's vCPUs, as a pure
 * function of the load samples and an injected clock (docs/autoscale.md).
 *
 * Up by one step when the guest stays busy above the target's band, or CPU
 * pressure says tasks wait, for @up_after seconds; down by one step when it
 * stays below the band, and the same work on one step fewer would still be
 * within the target, for @down_after seconds (Kubernetes' scale-down
 * stabilization); never within @cooldown of the last change; never outside
 * [floor, ceiling] (the bounds, narrowed by the host policy).  No sample
 * from the guest's agent: hold, and say so once.
 */
#pragma once

#include <glib.h>

/* Defaults: the and Kubernetes' (HPA's 0.1 tolerance, 300 s
 * scale-down stabilization). */
#define AUTOSCALE_DEFAULT_TARGET 0.75
#define AUTOSCALE_BAND 0.10
#define AUTOSCALE_DEFAULT_UP_AFTER 30
#define AUTOSCALE_DEFAULT_DOWN_AFTER 300
#define AUTOSCALE_DEFAULT_COOLDOWN 60
/* CPU pressure (PSI "some", 10 s average) above which tasks wait for a CPU
 * often enough to call for one more, whatever the busy fraction says; and
 * below which a scale down may go on.  LOW is not 0: an idle guest under
 * TCG with a watcher sits at 0.02-0.03 (measured), and the pressure rises
 * anyway when a CPU goes, which the projection of is_low() accounts for. */
#define AUTOSCALE_PRESSURE_HIGH 0.10
#define AUTOSCALE_PRESSURE_LOW 0.05

typedef struct {
    guint floor, ceiling;                  /* vCPUs: the bounds, narrowed by the host policy */
    guint step;                            /* vCPUs per step: 1, or one socket's */
    double target;                         /* busy fraction aimed at */
    double up_after, down_after, cooldown; /* seconds */
} AutoscalePolicy;

typedef struct {
    double t;          /* seconds on a monotonic clock */
    gboolean answered; /* the guest's agent gave this sample */
    double busy;       /* mean busy fraction of the online CPUs; < 0 unknown */
    double pressure;   /* PSI some avg10, 0 to 1; < 0 unknown (no PSI) */
} AutoscaleSample;

typedef struct {
    double high_since; /* when the load went above the band; < 0 not above */
    double low_since;  /* when it went below; < 0 not below */
    double last_change;
    gboolean changed_once; /* last_change is valid */
    gboolean silent;       /* the agent's silence was said */
    /* The last change `set` refused, not asked again before refused_until
     * (see autoscale_refused); refused_to 0: none. */
    guint refused_from, refused_to;
    double refused_until, refused_backoff;
} AutoscaleState;

typedef enum {
    AUTOSCALE_HOLD,
    AUTOSCALE_UP,
    AUTOSCALE_DOWN,
} AutoscaleAction;

typedef struct {
    AutoscaleAction action;
    guint target; /* vCPUs for UP/DOWN */
    /* Why, for the output and the audit record ("autoscale: busy 0.92 >
     * 0.85 for 30 s"); for HOLD only set when worth saying once. */
    char reason[160];
} AutoscaleDecision;

/* The lowest count autoscale may go to: @min, raised by the host policy
 * (no unplug at all: @current; not below the persistent definition:
 * @persistent, when there is one, i.e. > 0). */
guint autoscale_floor(guint min, gboolean allow_unplug, gboolean allow_below_persistent,
                      guint persistent, guint current);

void autoscale_state_init(AutoscaleState *state);

/* Feeds @sample (with the domain at @current vCPUs) and decides.  After an
 * UP or DOWN that was carried out, call autoscale_changed(). */
AutoscaleDecision autoscale_decide(const AutoscalePolicy *policy, AutoscaleState *state,
                                   const AutoscaleSample *sample, guint current);

/* A change was made at @t: the windows start again, the cooldown runs. */
void autoscale_changed(AutoscaleState *state, double t);

/* `set` refused to go from @from to @to at @t (exit 3: a check, the
 * policy, the guest OS).  The windows start again, and that change is not
 * asked again for the returned number of seconds: the longer window (at
 * least the cooldown, at least a minute) at first, twice that after each further refusal, at
 * most an hour.  Refusals for a passing reason (another change holds the
 * domain) then cost one retry later; lasting ones do not fill the audit
 * log.  A change that succeeds (autoscale_changed) forgets it. */
double autoscale_refused(const AutoscalePolicy *policy, AutoscaleState *state, double t, guint from,
                         guint to);
