/* autoscale_sim.c: autoscale_decide() replayed over a load trace. */
#include "autoscale_sim.h"

#include "autoscale_explain.h"

#include <gio/gio.h>
#include <math.h>
#include <string.h>

/* The simulation's time step: fine against the sample period (1 to 5 s)
 * and the plug time (0.2 s). */
#define SIM_DT 0.05
/* PSI's avg10: an exponential average over 10 s. */
#define SIM_PSI_TAU 10.0

void
load_trace_free(LoadTrace *trace)
{
    if (!trace)
        return;
    g_free(trace->name);
    if (trace->points)
        g_array_unref(trace->points);
    g_free(trace);
}

/* The columns of a trace, by their index in the header; -1: absent. */
typedef struct {
    int t, demand, vcpus, busy, runnable, steal;
    GArray *cpus; /* int: the cpuN columns */
    guint n;
} TraceColumns;

static gboolean
read_header(const char *line, TraceColumns *c)
{
    g_auto(GStrv) names = g_strsplit(line, ",", -1);

    c->t = c->demand = c->vcpus = c->busy = c->runnable = c->steal = -1;
    c->n = g_strv_length(names);
    for (int i = 0; names[i]; i++) {
        const char *name = g_strstrip(names[i]);
        int *slot = g_str_equal(name, "t")          ? &c->t
                    : g_str_equal(name, "demand")   ? &c->demand
                    : g_str_equal(name, "vcpus")    ? &c->vcpus
                    : g_str_equal(name, "busy")     ? &c->busy
                    : g_str_equal(name, "runnable") ? &c->runnable
                    : g_str_equal(name, "steal")    ? &c->steal
                                                    : NULL;

        if (slot)
            *slot = i;
        else if (g_str_has_prefix(name, "cpu") && g_ascii_isdigit(name[3]))
            g_array_append_val(c->cpus, i);
        /* pressure and anything else: the simulation models its own */
    }
    return c->t >= 0 && (c->demand >= 0 || (c->vcpus >= 0 && (c->busy >= 0 || c->cpus->len > 0)));
}

static gboolean
number(char **cells, int col, double *out)
{
    char *end = NULL;

    if (col < 0)
        return TRUE;
    *out = g_ascii_strtod(g_strstrip(cells[col]), &end);
    return end && end != cells[col] && *end == '\0' && isfinite(*out) && *out >= 0;
}

/* One row's demand: as given, or what autoscale would read from what the
 * guest measured. */
static gboolean
read_row(const TraceColumns *c, char **cells, TracePoint *p)
{
    double vcpus = 0, busy = -1, runnable = -1;

    p->demand = 0;
    p->steal = 0;
    if (g_strv_length(cells) != c->n || !number(cells, c->t, &p->t)
        || !number(cells, c->steal, &p->steal) || p->steal > 1)
        return FALSE;
    if (c->demand >= 0)
        return number(cells, c->demand, &p->demand);
    if (!number(cells, c->vcpus, &vcpus) || vcpus < 1 || !number(cells, c->busy, &busy)
        || !number(cells, c->runnable, &runnable))
        return FALSE;
    if (c->cpus->len > 0) {
        double sum = 0, one;

        for (guint i = 0; i < c->cpus->len; i++) {
            if (!number(cells, g_array_index(c->cpus, int, i), &one) || one > 1)
                return FALSE;
            sum += one;
        }
        busy = sum / c->cpus->len;
        vcpus = c->cpus->len;
    }
    if (busy < 0 || busy > 1)
        return FALSE;
    {
        AutoscaleSample s = { p->t, TRUE, busy, -1, p->steal, (gint64)runnable };
        p->demand = autoscale_demand(&s, (guint)vcpus);
    }
    return TRUE;
}

/* `hotcpu-ctl --json watch DOMAIN --load S` output: the load events, on
 * the CPUs online as the topology events before them say. */
static gboolean
read_watch_lines(LoadTrace *trace, const char *path, char **lines, GError **error)
{
    double vcpus = 0, start = -1;

    for (guint i = 0; lines[i]; i++) {
        g_autoptr(JsonParser) parser = json_parser_new();
        JsonObject *o, *data;
        const char *event, *when;
        g_autoptr(GDateTime) at = NULL;
        TracePoint p = { 0 };

        if (!*g_strstrip(lines[i]))
            continue;
        if (!json_parser_load_from_data(parser, lines[i], -1, NULL)
            || !JSON_NODE_HOLDS_OBJECT(json_parser_get_root(parser))) {
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s:%u: not a JSON object",
                        path, i + 1);
            return FALSE;
        }
        o = json_node_get_object(json_parser_get_root(parser));
        event = json_object_get_string_member_with_default(o, "event", "");
        when = json_object_get_string_member_with_default(o, "time", NULL);
        data = json_object_has_member(o, "data")
                       && JSON_NODE_HOLDS_OBJECT(json_object_get_member(o, "data"))
                   ? json_object_get_object_member(o, "data")
                   : NULL;
        if (g_str_equal(event, "topology-changed") && data)
            vcpus = json_object_get_int_member_with_default(data, "online-count", 0);
        if (!g_str_equal(event, "load") || !data || vcpus < 1 || !when
            || !(at = g_date_time_new_from_iso8601(when, NULL)))
            continue; /* notes, other events, a load before any topology */
        {
            double t = g_date_time_to_unix(at) + g_date_time_get_microsecond(at) / 1e6;
            AutoscaleSample s;

            autoscale_sample_from_load(json_object_get_member(o, "data"), t, &s);
            if (s.busy < 0)
                continue;
            if (start < 0)
                start = t;
            p.t = t - start;
            p.steal = MAX(s.steal, 0);
            p.demand = autoscale_demand(&s, (guint)vcpus);
        }
        if (trace->points->len > 0
            && p.t < g_array_index(trace->points, TracePoint, trace->points->len - 1).t)
            continue;
        g_array_append_val(trace->points, p);
    }
    return TRUE;
}

LoadTrace *
load_trace_read(const char *path, GError **error)
{
    g_autofree char *text = NULL;
    g_autofree char *base = g_path_get_basename(path);
    g_auto(GStrv) lines = NULL;
    g_autoptr(LoadTrace) trace = g_new0(LoadTrace, 1);
    TraceColumns c = { .cpus = g_array_new(FALSE, FALSE, sizeof(int)) };
    gboolean header = FALSE, watch;

    if (!g_file_get_contents(path, &text, NULL, error)) {
        g_array_unref(c.cpus);
        return NULL;
    }
    if (g_str_has_suffix(base, ".csv"))
        base[strlen(base) - 4] = '\0';
    else if (g_str_has_suffix(base, ".jsonl"))
        base[strlen(base) - 6] = '\0';
    trace->name = g_strdup(base);
    trace->points = g_array_new(FALSE, FALSE, sizeof(TracePoint));
    watch = *g_strchug(text) == '{';
    lines = g_strsplit(text, "\n", -1);
    if (watch && !read_watch_lines(trace, path, lines, error)) {
        g_array_unref(c.cpus);
        return NULL;
    }
    for (guint i = 0; lines[i] && !watch; i++) {
        g_auto(GStrv) cells = NULL;
        TracePoint p;
        const char *line = g_strstrip(lines[i]);

        if (*line == '\0' || *line == '#')
            continue;
        if (!header) {
            header = TRUE;
            if (read_header(line, &c))
                continue;
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                        "%s:%u: the header needs t and demand, or t, vcpus and busy (or cpuN)",
                        path, i + 1);
            break;
        }
        cells = g_strsplit(line, ",", -1);
        if (!read_row(&c, cells, &p)
            || (trace->points->len > 0
                && p.t < g_array_index(trace->points, TracePoint, trace->points->len - 1).t)) {
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                        "%s:%u: not a row of the header's numbers, in time order: '%.60s'", path,
                        i + 1, line);
            break;
        }
        g_array_append_val(trace->points, p);
    }
    g_array_unref(c.cpus);
    if (error && *error)
        return NULL;
    if (trace->points->len < 2) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: fewer than two rows", path);
        return NULL;
    }
    return g_steal_pointer(&trace);
}

void
load_trace_at(const LoadTrace *trace, double t, double *demand, double *steal)
{
    const TracePoint *pts = (const TracePoint *)(gpointer)trace->points->data;
    guint n = trace->points->len, i = 0;

    /* the last point at or before t: a step's second row wins */
    while (i + 1 < n && pts[i + 1].t <= t)
        i++;
    if (t <= pts[0].t || i + 1 >= n) {
        *demand = pts[t <= pts[0].t ? 0 : n - 1].demand;
        *steal = pts[t <= pts[0].t ? 0 : n - 1].steal;
        return;
    }
    {
        double f = (t - pts[i].t) / (pts[i + 1].t - pts[i].t);

        *demand = pts[i].demand + f * (pts[i + 1].demand - pts[i].demand);
        *steal = pts[i].steal + f * (pts[i + 1].steal - pts[i].steal);
    }
}

void
sim_needed(const AutoscalePolicy *p, double d, guint *lo, guint *hi)
{
    double l = ceil(d / (p->target + AUTOSCALE_BAND) - 1e-9);
    double h = floor(d / (p->target - AUTOSCALE_BAND) + 1e-9);

    *lo = (guint)CLAMP(l, p->floor, p->ceiling);
    *hi = (guint)CLAMP(h, *lo, p->ceiling);
}

SimSetup
sim_setup_default(void)
{
    SimSetup s = {
        .policy = { .floor = 1,
                    .ceiling = 8,
                    .step = 1,
                    .target = AUTOSCALE_DEFAULT_TARGET,
                    .up_after = AUTOSCALE_DEFAULT_UP_AFTER,
                    .down_after = AUTOSCALE_DEFAULT_DOWN_AFTER,
                    .cooldown = AUTOSCALE_DEFAULT_COOLDOWN,
                    .max_change = 0 },
        .start = 1,
        .plug_s = 0.2,
        .unplug_s = 1.0,
    };
    return s;
}

void
sim_result_free(SimResult *r)
{
    if (!r)
        return;
    g_array_unref(r->timeline);
    g_free(r);
}

/* The simulated guest and autoscale's loop. */
typedef struct {
    const LoadTrace *trace;
    const SimSetup *setup;
    SimResult *r;
    FILE *log;
    AutoscaleState state;
    guint n;            /* vCPUs now */
    double used, span;  /* CPU-seconds run and seconds since the last sample */
    double psi;         /* the modelled avg10 */
    gboolean primed;    /* the baseline is set: the next sample counts */
    double next_sample; /* when autoscale looks next */
    /* the need: its range, since when, and whether the count met it */
    guint lo, hi;
    double need_since;
    int need_open; /* -1: met; 0: more needed; 1: fewer */
    double step_sum[2];
} Sim;

static void
timeline_add(Sim *s, double t)
{
    TracePoint p = { t, s->n, 0 };

    g_array_append_val(s->r->timeline, p);
}

/* The need's range at demand @d; a change of it opens a step, the count
 * entering it closes one. */
static void
track_need(Sim *s, double t, double d)
{
    guint lo, hi;

    sim_needed(&s->setup->policy, d, &lo, &hi);
    if (lo != s->lo || hi != s->hi) {
        s->lo = lo;
        s->hi = hi;
        s->need_since = t;
        s->need_open = s->n < lo ? 0 : s->n > hi ? 1 : -1;
        if (s->need_open >= 0)
            s->r->steps[s->need_open]++;
    }
    if (s->need_open >= 0 && s->n >= s->lo && s->n <= s->hi) {
        double took = t - s->need_since;
        int k = s->need_open;

        s->need_open = -1;
        s->r->met[k]++;
        s->step_sum[k] += took;
        s->r->step_max[k] = MAX(s->r->step_max[k], took);
    }
}

/* Advances the guest by one time step at @t. */
static void
guest_step(Sim *s, double t)
{
    double d, steal;

    load_trace_at(s->trace, t, &d, &steal);
    s->used += MIN(d, s->n) * SIM_DT;
    s->span += SIM_DT;
    s->psi += (MIN(MAX(d - s->n, 0), 1) - s->psi) * (1 - exp(-SIM_DT / SIM_PSI_TAU));
    s->r->under += MAX(d - s->n, 0) * SIM_DT;
    track_need(s, t, d);
    s->r->over += (s->n > s->hi ? s->n - s->hi : 0) * SIM_DT;
}

/* Runs the guest from @from to @to without autoscale looking. */
static void
guest_run(Sim *s, double from, double to)
{
    for (double t = from; t < to - 1e-9; t += SIM_DT)
        guest_step(s, t);
}

static void say(Sim *s, double t, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

static void
say(Sim *s, double t, const char *fmt, ...)
{
    va_list ap;

    if (!s->log)
        return;
    fprintf(s->log, "%8.1f s  ", t);
    va_start(ap, fmt);
    vfprintf(s->log, fmt, ap);
    va_end(ap);
    fputc('\n', s->log);
}

/* autoscale looks at @t; returns when it looks next. */
static double
autoscale_look(Sim *s, double t, double period)
{
    double d, steal;
    AutoscaleSample x;
    AutoscaleDecision dec;
    double took, ran;

    load_trace_at(s->trace, t, &d, &steal);
    /* of the time the vCPUs wanted to run, the host took @steal */
    ran = s->span > 0 ? s->used / (s->n * s->span) : 0;
    x = (AutoscaleSample){
        t, TRUE, MAX(ran - steal, 0), s->psi, MIN(steal, ran), (gint64)ceil(d - 1e-9) + 1
    };
    s->used = s->span = 0;
    if (!s->primed) {
        s->primed = TRUE;
        return t + period;
    }
    dec = autoscale_decide(&s->setup->policy, &s->state, &x, s->n);
    if (dec.action == AUTOSCALE_HOLD) {
        if (dec.reason[0])
            say(s, t, "%s", dec.reason);
        return t + period;
    }
    say(s, t, "from %u to %u vCPUs: %s", s->n, dec.target, dec.reason);
    /* set blocks the loop; the count changes at its end */
    took = dec.action == AUTOSCALE_UP ? s->setup->plug_s : s->setup->unplug_s;
    guest_run(s, t, t + took);
    s->n = dec.target;
    s->r->changes++;
    timeline_add(s, t + took);
    autoscale_changed(&s->state, t);
    s->primed = FALSE;
    return t + took + period;
}

SimResult *
sim_run(const LoadTrace *trace, const SimSetup *setup, FILE *log)
{
    const TracePoint *pts = (const TracePoint *)(gpointer)trace->points->data;
    double start = pts[0].t, end = pts[trace->points->len - 1].t;
    double period
        = autoscale_period_ms((guint)setup->policy.up_after, (guint)setup->policy.down_after)
          / 1000.0;
    Sim s = { .trace = trace, .setup = setup, .log = log, .n = setup->start };
    SimResult *r = g_new0(SimResult, 1);
    double t = start;

    r->timeline = g_array_new(FALSE, FALSE, sizeof(TracePoint));
    s.r = r;
    s.lo = s.hi = 0;
    s.need_open = -1;
    autoscale_state_init(&s.state);
    timeline_add(&s, start);
    s.next_sample = start;
    while (t < end) {
        if (t >= s.next_sample - 1e-9) {
            double next = autoscale_look(&s, t, period);

            /* a change ran the guest until its end */
            t = MAX(t, next - period);
            s.next_sample = next;
            if (t >= end)
                break;
        }
        guest_step(&s, t);
        t += SIM_DT;
    }
    for (int k = 0; k < 2; k++)
        r->step_mean[k] = r->met[k] > 0 ? s.step_sum[k] / r->met[k] : 0;
    return r;
}
