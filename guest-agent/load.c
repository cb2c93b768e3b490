/* load.c: /proc/stat and /proc/pressure/cpu, and the busy fractions. */
#include "load.h"
#include "glib_compat.h"

#include <gio/gio.h>
#include <string.h>

#include "cpulist.h"

/* /proc/stat's cpu columns, in order. */
enum {
    COL_USER,
    COL_NICE,
    COL_SYSTEM,
    COL_IDLE,
    COL_IOWAIT,
    COL_IRQ,
    COL_SOFTIRQ,
    COL_STEAL,
    N_COLS, /* guest and guest_nice follow; they are in user and nice */
};

void
load_sample_free(LoadSample *sample)
{
    if (sample == NULL)
        return;
    g_array_unref(sample->cpus);
    g_free(sample);
}

/* "cpuN a b c ..." (the "cpu " sum line is not one).  Columns a kernel too
 * old to have are 0. */
static gboolean
parse_cpu_line(const char *line, LoadCpu *out)
{
    g_auto(GStrv) words = g_strsplit_set(line, " \t", -1);
    guint64 col[N_COLS] = { 0 };
    guint64 id;
    guint n = 0;

    if (!g_ascii_string_to_unsigned(words[0] + 3, 10, 0, CPULIST_MAX_CPUS - 1, &id, NULL))
        return FALSE;
    for (gsize i = 1; words[i] != NULL && n < N_COLS; i++) {
        if (*words[i] == '\0')
            continue;
        if (!g_ascii_string_to_unsigned(words[i], 10, 0, G_MAXUINT64 / 16, &col[n++], NULL))
            return FALSE;
    }
    if (n < 4) /* user nice system idle: every kernel has them */
        return FALSE;
    out->id = (guint)id;
    out->busy = col[COL_USER] + col[COL_NICE] + col[COL_SYSTEM] + col[COL_IRQ] + col[COL_SOFTIRQ];
    out->steal = col[COL_STEAL];
    out->total = out->busy + col[COL_IDLE] + col[COL_IOWAIT] + col[COL_STEAL];
    return TRUE;
}

LoadSample *
load_parse_stat(const char *text, GError **error)
{
    g_autoptr(LoadSample) sample = g_new0(LoadSample, 1);
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);

    sample->taken_at = g_get_monotonic_time();
    sample->cpus = g_array_new(FALSE, FALSE, sizeof(LoadCpu));
    sample->runnable = -1;
    for (gsize i = 0; lines[i] != NULL; i++) {
        const char *line = lines[i];
        guint64 running;

        if (g_str_has_prefix(line, "cpu") && g_ascii_isdigit(line[3])) {
            LoadCpu cpu;

            if (!parse_cpu_line(line, &cpu)) {
                g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                            "malformed CPU line in /proc/stat: '%.64s'", line);
                return NULL;
            }
            g_array_append_val(sample->cpus, cpu);
        } else if (g_str_has_prefix(line, "procs_running ")
                   && g_ascii_string_to_unsigned(line + 14, 10, 0, G_MAXINT64, &running, NULL)) {
            sample->runnable = (gint64)running;
        }
    }
    if (sample->cpus->len == 0) {
        g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "/proc/stat lists no CPU");
        return NULL;
    }
    return g_steal_pointer(&sample);
}

LoadSample *
load_sample_read(const char *proc_root, GError **error)
{
    g_autofree char *path
        = g_build_filename(proc_root != NULL ? proc_root : LOAD_DEFAULT_PROC_ROOT, "stat", NULL);
    g_autofree char *text = NULL;
    g_autoptr(GError) local = NULL;
    LoadSample *sample;

    if (!g_file_get_contents(path, &text, NULL, &local)) {
        g_set_error(error, G_IO_ERROR, g_io_error_from_file_error(local->code),
                    "cannot read %s: %s", path, local->message);
        return NULL;
    }
    sample = load_parse_stat(text, &local);
    if (sample == NULL)
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: %s", path, local->message);
    return sample;
}

/* "avg10=1.23" among the words of @line. */
static gboolean
pressure_field(const char *line, const char *key, double *out)
{
    g_autofree char *needle = g_strdup_printf(" %s=", key);
    const char *p = strstr(line, needle);
    char *end;
    double value;

    if (p == NULL)
        return FALSE;
    p += strlen(needle);
    value = g_ascii_strtod(p, &end);
    if (end == p || (*end != ' ' && *end != '\0' && *end != '\n') || value < 0 || value > 100)
        return FALSE;
    *out = value / 100;
    return TRUE;
}

gboolean
load_parse_pressure(const char *text, LoadPressure *out)
{
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);

    for (gsize i = 0; lines[i] != NULL; i++) {
        LoadPressure p;

        if (!g_str_has_prefix(lines[i], "some "))
            continue;
        if (!pressure_field(lines[i], "avg10", &p.some_avg10)
            || !pressure_field(lines[i], "avg60", &p.some_avg60))
            return FALSE;
        *out = p;
        return TRUE;
    }
    return FALSE;
}

gboolean
load_pressure_read(const char *proc_root, LoadPressure *out)
{
    g_autofree char *path = g_build_filename(proc_root != NULL ? proc_root : LOAD_DEFAULT_PROC_ROOT,
                                             "pressure", "cpu", NULL);
    g_autofree char *text = NULL;

    /* No file: a kernel without CONFIG_PSI; EOPNOTSUPP on reading: psi=0. */
    if (!g_file_get_contents(path, &text, NULL, NULL))
        return FALSE;
    return load_parse_pressure(text, out);
}

/* ---- the fractions ------------------------------------------------------ */

static void
append_fraction(GString *out, const char *name, guint64 part, guint64 whole)
{
    char buf[G_ASCII_DTOSTR_BUF_SIZE];

    g_string_append_printf(out, "\"%s\":", name);
    if (whole == 0) {
        g_string_append(out, "null");
        return;
    }
    /* g_ascii_formatd: a '.' whatever the locale. */
    g_string_append(out, g_ascii_formatd(buf, sizeof(buf), "%.4f", (double)part / (double)whole));
}

/* The counters only grow; a file that says otherwise counts as no time. */
static guint64
delta(guint64 now, guint64 before)
{
    return now > before ? now - before : 0;
}

static const LoadCpu *
find_cpu(const LoadSample *sample, guint id, guint hint)
{
    if (hint < sample->cpus->len && g_array_index(sample->cpus, LoadCpu, hint).id == id)
        return &g_array_index(sample->cpus, LoadCpu, hint);
    for (guint i = 0; i < sample->cpus->len; i++) {
        if (g_array_index(sample->cpus, LoadCpu, i).id == id)
            return &g_array_index(sample->cpus, LoadCpu, i);
    }
    return NULL;
}

/* Appends the "cpus" array; adds each CPU's deltas into @sum. */
static void
write_cpus(const LoadSample *prev, const LoadSample *cur, LoadCpu *sum, GString *out)
{
    g_string_append(out, "\"cpus\":[");
    for (guint i = 0; i < cur->cpus->len; i++) {
        const LoadCpu *now = &g_array_index(cur->cpus, LoadCpu, i);
        const LoadCpu *before = prev != NULL ? find_cpu(prev, now->id, i) : NULL;
        LoadCpu d = { 0 };

        if (before != NULL) {
            d.busy = delta(now->busy, before->busy);
            d.steal = delta(now->steal, before->steal);
            d.total = delta(now->total, before->total);
        }
        sum->busy += d.busy;
        sum->steal += d.steal;
        sum->total += d.total;
        g_string_append_printf(out, "%s{\"id\":%u,", i > 0 ? "," : "", now->id);
        append_fraction(out, "busy", d.busy, d.total);
        g_string_append_c(out, ',');
        append_fraction(out, "steal", d.steal, d.total);
        g_string_append_c(out, '}');
    }
    g_string_append(out, "]");
}

void
load_write_json(const LoadSample *prev, const LoadSample *cur, const LoadPressure *pressure,
                GString *out)
{
    g_autoptr(GString) cpus = g_string_new(NULL);
    char buf[G_ASCII_DTOSTR_BUF_SIZE];
    LoadCpu sum = { 0 };
    double seconds = prev != NULL ? (double)(cur->taken_at - prev->taken_at) / G_USEC_PER_SEC : 0;

    write_cpus(prev, cur, &sum, cpus);
    g_string_append_printf(out, "{\"seconds\":%s,",
                           g_ascii_formatd(buf, sizeof(buf), "%.3f", MAX(seconds, 0)));
    append_fraction(out, "busy", sum.busy, sum.total);
    g_string_append_c(out, ',');
    append_fraction(out, "steal", sum.steal, sum.total);
    g_string_append_printf(out, ",%s,\"pressure\":", cpus->str);
    if (pressure == NULL) {
        g_string_append(out, "null");
    } else {
        g_string_append_printf(out, "{\"some-avg10\":%s,",
                               g_ascii_formatd(buf, sizeof(buf), "%.4f", pressure->some_avg10));
        g_string_append_printf(out, "\"some-avg60\":%s}",
                               g_ascii_formatd(buf, sizeof(buf), "%.4f", pressure->some_avg60));
    }
    if (cur->runnable >= 0)
        g_string_append_printf(out, ",\"runnable\":%" G_GINT64_FORMAT "}", cur->runnable);
    else
        g_string_append(out, ",\"runnable\":null}");
}
