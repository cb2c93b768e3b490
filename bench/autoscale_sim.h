/* autoscale_sim.h: autoscale's decisions (host-ctl/autoscale/autoscale_decide.c, the
 * same code) replayed over a load trace on a simulated clock, with
 * simulated plug and unplug times, and what they cost: CPU-seconds of
 * work that found no vCPU, vCPU-seconds beyond what the load needed, the
 * changes, and how long each change of the need took to be met.
 *
 * A trace is a CSV file (bench/traces/README.md): a header naming the
 * columns, '#' comments, one row per point in time.  `t` (seconds, not
 * decreasing) and either `demand` (CPUs of work that want to run) or what
 * a guest measured: `vcpus` with `busy` (the mean busy fraction) or
 * `cpu0`, `cpu1`, ... (each CPU's), and `runnable`; `steal` (0 to 1) in
 * either case.  Between rows the demand and the steal change linearly; two
 * rows with the same time make a step.  A measured row's demand is what
 * autoscale would read from it (autoscale_demand()).  The JSON lines of
 * `hotcpu-ctl --json watch DOMAIN --load S` are a trace too: each load
 * event on the CPUs online as the topology events before it say.
 *
 * The guest in the simulation: with demand D on n vCPUs, the vCPUs want
 * to run min(D, n) / n of the time, of which the trace's steal is taken
 * by the host (busy + steal, as autoscale counts them, is min(D, n) / n);
 * runnable is ceil(D) plus the agent; CPU pressure ("some", a 10 s
 * average like PSI's avg10) is the share of time D exceeds n.  Samples are taken as
 * cmd_autoscale.c takes them: every autoscale_period_ms(), the first after
 * a start or a change only sets the baseline, a change blocks the loop
 * for its plug or unplug time and the count changes at its end.
 */
#pragma once

#include <glib.h>
#include <stdio.h>

#include "autoscale_decide.h"

typedef struct {
    double t, demand, steal;
} TracePoint;

typedef struct {
    char *name;     /* the file's base name without ".csv" */
    GArray *points; /* TracePoint, by time */
} LoadTrace;

/* Reads a trace; G_IO_ERROR_INVALID_DATA naming the file and the line for
 * anything it does not understand. */
LoadTrace *load_trace_read(const char *path, GError **error);
void load_trace_free(LoadTrace *trace);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(LoadTrace, load_trace_free)

/* The demand and the steal at @t (the first point's before it, the last's
 * after it). */
void load_trace_at(const LoadTrace *trace, double t, double *demand, double *steal);

typedef struct {
    AutoscalePolicy policy;
    guint start;     /* vCPUs at the trace's start */
    double plug_s;   /* how long a change up takes */
    double unplug_s; /* how long a change down takes */
} SimSetup;

typedef struct {
    double under;  /* CPU-seconds of demand above the vCPUs */
    double over;   /* vCPU-seconds above the most the load needed (see below) */
    guint changes; /* changes carried out */
    /* Changes of the needed range that left the count outside it, [0]
     * above (more needed), [1] below: how many, how many were met before
     * the need changed again, the longest and the mean time to meet one. */
    guint steps[2], met[2];
    double step_max[2], step_mean[2];
    GArray
        *timeline; /* TracePoint (t, demand: the vCPU count from t on) at start and each change */
} SimResult;

/* The needed range for demand @d: the counts on which @d is within the
 * target's band, [ceil(d / (target + band)), floor(d / (target - band))],
 * within [floor, ceiling] (at least the low end).  A step is a change of
 * it. */
void sim_needed(const AutoscalePolicy *policy, double d, guint *lo, guint *hi);

/* Replays @trace; with @log, one line per change (and the holds worth
 * saying), as autoscale prints them. */
SimResult *sim_run(const LoadTrace *trace, const SimSetup *setup, FILE *log);
void sim_result_free(SimResult *r);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SimResult, sim_result_free)

/* The defaults of `hotcpu-ctl autoscale --min 1 --max 8`, plug and unplug
 * times as measured under TCG (README), starting at 1 vCPU. */
SimSetup sim_setup_default(void);
