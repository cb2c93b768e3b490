/* autoscale_decide.h: when autoscale changes a domain's vCPUs, and to how
 * many, as a pure function of the load samples and an injected clock
 * (docs/autoscale.md).
 *
 * Each sample says how many vCPUs the guest's work wants (its *desired*
 * count, autoscale_desired()): busy x n / target, like Kubernetes' HPA,
 * with the same tolerance band around the target; when the CPUs are
 * saturated the busy fraction cannot say how much more is wanted, and the
 * runnable tasks do.  Up, in one change, when every sample of @up_after
 * seconds wanted more: to the fewest any of them wanted.  Down, in one
 * change, when every sample of @down_after seconds wanted fewer: to the
 * most any of them wanted (HPA's scale-down stabilization), so a dip does
 * not remove CPUs the next peak needs.  Never within @cooldown of the last
 * change; never more than @max_change at once; never outside [floor,
 * ceiling] (the bounds, narrowed by the host policy).  No sample from the
 * guest's agent: hold, and say so once.  Steal time saying the host's own
 * CPUs are saturated: no scale up (more vCPUs would only add contention),
 * said once.
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
/* How long after a change CPU pressure is not believed: PSI's some-avg10
 * decays with a 10 s time constant, so the wait of the old count (1.0 at
 * most) falls below AUTOSCALE_PRESSURE_HIGH only after about 23 s. */
#define AUTOSCALE_PRESSURE_MEMORY_S 30.0
#define AUTOSCALE_PRESSURE_LOW 0.05
/* Busy at or above this, the CPUs are saturated: the busy fraction no
 * longer grows with the demand, the runnable tasks tell it instead. */
#define AUTOSCALE_SATURATED 0.90
/* Steal above this: for a tenth of the time the guest's vCPUs wanted to
 * run, the host ran something else; its CPUs are all busy, and more vCPUs
 * would share the same ones. */
#define AUTOSCALE_STEAL_HIGH 0.10
/* The desired counts remembered for the scale-down window (see
 * AutoscaleState); more distinct values than this in one window keep the
 * older, higher ones longer, never shorter. */
#define AUTOSCALE_HISTORY 64
/* A runnable count above this (the kernel's largest pid_max) is no figure. */
#define AUTOSCALE_MAX_RUNNABLE 4194304

typedef struct {
    guint floor, ceiling;                  /* vCPUs: the bounds, narrowed by the host policy */
    guint step;                            /* vCPUs per unit: 1, or one socket's; counts are
                                              multiples of it */
    double target;                         /* busy fraction aimed at */
    double up_after, down_after, cooldown; /* seconds */
    guint max_change; /* the most vCPUs one change adds or removes (a multiple of step); 0: no
                         limit */
} AutoscalePolicy;

typedef struct {
    double t;          /* seconds on a monotonic clock */
    gboolean answered; /* the guest's agent gave this sample */
    double busy;       /* mean busy fraction of the online CPUs; < 0 unknown */
    double pressure;   /* PSI some avg10, 0 to 1; < 0 unknown (no PSI) */
    double steal;      /* share of the vCPUs' time the host ran something else; < 0 unknown */
    gint64 runnable;   /* procs_running, the agent itself included; < 1 unknown */
} AutoscaleSample;

/* A desired count as the scale-down window remembers it. */
typedef struct {
    double t;
    guint desired;
} AutoscaleWanted;

typedef struct {
    double up_since; /* since when every sample wanted more; < 0 not now */
    guint up_first;  /* what the first of them wanted */
    guint up_least;  /* the fewest the others wanted; 0: no other yet */
    /* Since when the samples are comparable (the last change, the agent's
     * return); < 0: no sample yet. */
    double window_start;
    /* The scale-down window: (time, desired) of the samples, decreasing
     * in desired from the oldest, so that the first is the most wanted
     * within @down_after (a sliding maximum). */
    AutoscaleWanted wanted[AUTOSCALE_HISTORY];
    guint n_wanted;
    gboolean host_busy_said; /* the steal hold was said */
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
    guint target;  /* vCPUs for UP/DOWN */
    guint desired; /* what this sample alone wants (autoscale_desired) */
    /* Why, for the output and the audit record ("autoscale: busy 0.92 >
     * 0.85 for 30 s"); for HOLD only set when worth saying once. */
    char reason[200];
} AutoscaleDecision;

/* The lowest count autoscale may go to: @min, raised by the host policy
 * (no unplug at all: @current; not below the persistent definition:
 * @persistent, when there is one, i.e. > 0). */
guint autoscale_floor(guint min, gboolean allow_unplug, gboolean allow_below_persistent,
                      guint persistent, guint current);

void autoscale_state_init(AutoscaleState *state);

/* The vCPUs the work of @sample wants, with the domain at @current: within
 * the band (or a sample without a busy fraction): @current; above it:
 * ceil(demand / target), at least one unit more, where the demand is busy
 * x @current or, when the CPUs are saturated, the runnable tasks but the
 * agent if they are more; CPU pressure above AUTOSCALE_PRESSURE_HIGH:
 * at least one unit more; below the band with no pressure: ceil(busy x
 * @current / target), the fewest on which the same work stays within the
 * target.  A multiple of the unit, within [floor, ceiling].  @demand (may
 * be NULL) gets the CPUs of work it assumed. */
guint autoscale_desired(const AutoscalePolicy *policy, const AutoscaleSample *sample, guint current,
                        double *demand);

/* The CPUs of work @sample shows on @current vCPUs: busy x @current, or,
 * when the CPUs are saturated (busy >= AUTOSCALE_SATURATED), the runnable
 * tasks but the agent if they are more; -1 without a busy fraction.
 * Here and in autoscale_desired() "busy" is busy + steal: the host's time
 * taken from the vCPUs is time they wanted to run. */
double autoscale_demand(const AutoscaleSample *sample, guint current);

/* Samples are taken this often (ms): a fifth of the shorter window, 1 to
 * 5 s, so that it sees a few of them. */
guint autoscale_period_ms(guint up_after, guint down_after);

/* Feeds @sample (with the domain at @current vCPUs) and decides.  After an
 * UP or DOWN that was carried out, call autoscale_changed().  A HOLD with
 * a reason that starts "autoscale: steal" is the host's saturation,
 * said once (cmd_autoscale.c records it). */
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
