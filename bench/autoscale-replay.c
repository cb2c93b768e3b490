/* autoscale-replay: autoscale's decisions over recorded or synthetic load
 * traces, on a simulated clock (autoscale_sim.h).
 *
 *   autoscale-replay [options] TRACE.csv...
 *
 * Per trace: the vCPU count over time (with --timeline, and every change
 * with --verbose), the CPU-seconds of work above the count, the
 * vCPU-seconds above the need, the changes, and the time from each change
 * of the need to the count meeting it.  --compare replays each trace twice,
 * with --max-step 1 (the one-step policy autoscale had before) and with
 * the options given, and prints a markdown table (docs/autoscale.md).
 */
#include <locale.h>
#include <stdlib.h>

#include "autoscale_sim.h"

typedef struct {
    int min, max, start, max_step;
    double target, up_after, down_after, cooldown, plug, unplug;
    gboolean compare, timeline, verbose;
} ReplayArgs;

static void
print_result(const LoadTrace *trace, const SimResult *r, gboolean timeline)
{
    printf("%s: %u changes, under-provisioned %.0f CPU-s, over-provisioned %.0f vCPU-s\n",
           trace->name, r->changes, r->under, r->over);
    for (int k = 0; k < 2; k++)
        printf("  %s needed %u times: met %u times, in %.0f s on average, %.0f s at most\n",
               k == 0 ? "more" : "fewer", r->steps[k], r->met[k], r->step_mean[k], r->step_max[k]);
    if (!timeline)
        return;
    for (guint i = 0; i < r->timeline->len; i++) {
        const TracePoint *p = &g_array_index(r->timeline, TracePoint, i);
        printf("  %8.1f s  %2.0f vCPUs\n", p->t, p->demand);
    }
}

/* The longest time to meet a change of the need, "-" when there was
 * none, "never" when none was met before the need moved again or the
 * trace ended. */
static char *
took(const SimResult *r, int k)
{
    if (r->steps[k] == 0)
        return g_strdup("-");
    if (r->met[k] == 0)
        return g_strdup("never");
    return g_strdup_printf("%.0f s", r->step_max[k]);
}

static void
print_row(const LoadTrace *trace, const SimResult *old, const SimResult *now)
{
    double less = old->under > 0 ? 100 * (1 - now->under / old->under) : 0;

    g_autofree char *up1 = took(old, 0), *up2 = took(now, 0);
    g_autofree char *down1 = took(old, 1), *down2 = took(now, 1);

    printf("| %s | %u / %u | %.0f / %.0f (%s%.0f %%) | %.0f / %.0f | %s / %s | %s / %s |\n",
           trace->name, old->changes, now->changes, old->under, now->under, less > 0 ? "-" : "",
           less > 0 ? less : -less, old->over, now->over, up1, up2, down1, down2);
}

static SimSetup
setup_from(const ReplayArgs *a, int max_step)
{
    SimSetup s = sim_setup_default();

    s.policy.floor = a->min;
    s.policy.ceiling = a->max;
    s.policy.target = a->target;
    s.policy.up_after = a->up_after;
    s.policy.down_after = a->down_after;
    s.policy.cooldown = a->cooldown;
    s.policy.max_change = max_step;
    s.start = CLAMP(a->start, a->min, a->max);
    s.plug_s = a->plug;
    s.unplug_s = a->unplug;
    return s;
}

int
main(int argc, char **argv)
{
    SimSetup def = sim_setup_default();
    ReplayArgs a = { (int)def.policy.floor,
                     (int)def.policy.ceiling,
                     (int)def.start,
                     0,
                     def.policy.target,
                     def.policy.up_after,
                     def.policy.down_after,
                     def.policy.cooldown,
                     def.plug_s,
                     def.unplug_s,
                     FALSE,
                     FALSE,
                     FALSE };
    GOptionEntry entries[] = {
        { "min", 0, 0, G_OPTION_ARG_INT, &a.min, "fewest vCPUs (1)", "N" },
        { "max", 0, 0, G_OPTION_ARG_INT, &a.max, "most vCPUs (8)", "N" },
        { "start", 0, 0, G_OPTION_ARG_INT, &a.start, "vCPUs at the start (1)", "N" },
        { "max-step", 0, 0, G_OPTION_ARG_INT, &a.max_step, "most vCPUs a change moves (0: any)",
          "N" },
        { "target", 0, 0, G_OPTION_ARG_DOUBLE, &a.target, "busy fraction aimed at (0.75)", "F" },
        { "up-after", 0, 0, G_OPTION_ARG_DOUBLE, &a.up_after, "seconds (30)", "S" },
        { "down-after", 0, 0, G_OPTION_ARG_DOUBLE, &a.down_after, "seconds (300)", "S" },
        { "cooldown", 0, 0, G_OPTION_ARG_DOUBLE, &a.cooldown, "seconds (60)", "S" },
        { "plug", 0, 0, G_OPTION_ARG_DOUBLE, &a.plug, "seconds a change up takes (0.2)", "S" },
        { "unplug", 0, 0, G_OPTION_ARG_DOUBLE, &a.unplug, "seconds a change down takes (1)", "S" },
        { "compare", 0, 0, G_OPTION_ARG_NONE, &a.compare,
          "one-step (--max-step 1) against the options given, as a table", NULL },
        { "timeline", 0, 0, G_OPTION_ARG_NONE, &a.timeline, "the vCPU count over time", NULL },
        { "verbose", 'v', 0, G_OPTION_ARG_NONE, &a.verbose, "each decision as autoscale says it",
          NULL },
        { NULL },
    };
    g_autoptr(GOptionContext) ctx = g_option_context_new("TRACE.csv... - replay load traces");
    g_autoptr(GError) error = NULL;
    int rc = 0;

    setlocale(LC_ALL, "");
    g_option_context_add_main_entries(ctx, entries, NULL);
    if (!g_option_context_parse(ctx, &argc, &argv, &error) || argc < 2) {
        fprintf(stderr, "autoscale-replay: %s\n",
                error ? error->message : "no trace given (see --help)");
        return 2;
    }
    if (a.min < 1 || a.max < a.min || a.max_step < 0 || a.target <= 0.1 || a.target >= 0.9
        || a.up_after < 1 || a.down_after < 1 || a.cooldown < 0 || a.plug < 0 || a.unplug < 0) {
        fprintf(stderr, "autoscale-replay: needs 1 <= --min <= --max, 0.1 < --target < 0.9, "
                        "windows of a second or more\n");
        return 2;
    }
    if (a.compare)
        printf("| trace | changes, one-step / new | under-provisioned CPU-s | over-provisioned "
               "vCPU-s | longest time to more vCPUs needed | to fewer |\n"
               "|---|---|---|---|---|---|\n");
    for (int i = 1; i < argc; i++) {
        g_autoptr(LoadTrace) trace = load_trace_read(argv[i], &error);

        if (!trace) {
            fprintf(stderr, "autoscale-replay: %s\n", error->message);
            g_clear_error(&error);
            rc = 1;
            continue;
        }
        if (a.compare) {
            SimSetup one = setup_from(&a, 1), now = setup_from(&a, a.max_step);
            g_autoptr(SimResult) r1 = sim_run(trace, &one, NULL);
            g_autoptr(SimResult) r2 = sim_run(trace, &now, a.verbose ? stdout : NULL);

            print_row(trace, r1, r2);
        } else {
            SimSetup s = setup_from(&a, a.max_step);
            g_autoptr(SimResult) r = sim_run(trace, &s, a.verbose ? stdout : NULL);

            print_result(trace, r, a.timeline);
        }
    }
    return rc;
}
