/* load.h: the guest's CPU load from /proc, for get-load and watch-load.
 *
 * A LoadSample is what /proc/stat says at one moment: the time counters of
 * each online CPU and the number of runnable tasks.  Two samples give the
 * busy fraction of each CPU between them:
 *
 *   busy  = user + nice + system + irq + softirq
 *   total = busy + idle + iowait + steal
 *   busy fraction = d(busy) / d(total), steal fraction = d(steal) / d(total)
 *
 * guest and guest_nice are left out: the kernel counts them in user and
 * nice already.  CPU pressure comes from /proc/pressure/cpu (PSI), when the
 * kernel has it.  Every path is below an injectable root (default "/proc")
 * so tests run on fake files.  Nothing here keeps state or logs.
 */
#pragma once

#include <glib.h>

#define LOAD_DEFAULT_PROC_ROOT "/proc"

typedef struct {
    guint id;
    guint64 busy; /* user + nice + system + irq + softirq */
    guint64 steal;
    guint64 total; /* busy + idle + iowait + steal */
} LoadCpu;

typedef struct {
    gint64 taken_at; /* g_get_monotonic_time() when read */
    GArray *cpus;    /* LoadCpu, as /proc/stat lists them (online CPUs) */
    gint64 runnable; /* procs_running; -1 when the file has no such line */
} LoadSample;

/* CPU pressure, as fractions 0..1 (the kernel's percentages / 100). */
typedef struct {
    double some_avg10;
    double some_avg60;
} LoadPressure;

/* Parses the text of /proc/stat.  Fails (G_IO_ERROR_INVALID_DATA) when no
 * "cpuN" line can be read or a cpu line is malformed. */
LoadSample *load_parse_stat(const char *text, GError **error);
/* Reads @proc_root/stat (NULL: the default root). */
LoadSample *load_sample_read(const char *proc_root, GError **error);
void load_sample_free(LoadSample *sample);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(LoadSample, load_sample_free)

/* Parses the "some" line of /proc/pressure/cpu.  FALSE when it has none. */
gboolean load_parse_pressure(const char *text, LoadPressure *out);
/* Reads @proc_root/pressure/cpu; FALSE when the kernel has no PSI (no
 * file, or reading it fails as with psi=0) or it cannot be parsed. */
gboolean load_pressure_read(const char *proc_root, LoadPressure *out);

/* Appends the get-load object for the time from @prev to @cur:
 *   {"seconds": S, "busy": F, "steal": F,
 *    "cpus": [{"id": N, "busy": F, "steal": F}, ...],
 *    "pressure": {"some-avg10": F, "some-avg60": F} or null,
 *    "runnable": N or null}
 * A CPU of @cur missing from @prev (it came online since), or without time
 * counted between the two, has null fractions; the overall busy and steal
 * add up the CPUs that have figures (null when none has).  @prev may be
 * NULL: then every fraction is null.  Fractions have 4 decimals. */
void load_write_json(const LoadSample *prev, const LoadSample *cur, const LoadPressure *pressure,
                     GString *out);
