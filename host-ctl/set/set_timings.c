/* set_timings.c: the wall time of set's stages (set_timings.h). */
#include "set_timings.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *const stage_names[SET_STAGE_COUNT] = {
    [SET_STAGE_STARTUP] = "start-up",
    [SET_STAGE_INIT] = "init",
    [SET_STAGE_CONNECT] = "connect",
    [SET_STAGE_LOCK] = "lock",
    [SET_STAGE_READ_DOMAIN] = "read-domain",
    [SET_STAGE_CHECKS] = "checks",
    [SET_STAGE_GUEST_PROBE] = "guest-probe",
    [SET_STAGE_SNAPSHOT] = "snapshot",
    [SET_STAGE_BEFORE_HOOKS] = "before-hooks",
    [SET_STAGE_GUEST_OFFLINE] = "guest-offline",
    [SET_STAGE_LIBVIRT] = "libvirt",
    [SET_STAGE_AFTER_HOOKS] = "after-hooks",
    [SET_STAGE_CONFIG] = "config",
    [SET_STAGE_GUEST_CONFIRM] = "guest-confirm",
    [SET_STAGE_AUDIT] = "audit",
};

/* Read once, before main: when our own code first ran (monotonic), and how
 * long after the process's start that was (-1: unknown). */
static gint64 loaded_at_us;
static gint64 startup_us = -1;

/* The process's start in CLOCK_BOOTTIME microseconds: field 22 of
 * /proc/self/stat, in clock ticks since boot; -1 when it cannot be read. */
static gint64
process_start_boottime_us(void)
{
    char buf[1024];
    FILE *f = fopen("/proc/self/stat", "re");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    const char *p;
    unsigned long long ticks;
    long hz = sysconf(_SC_CLK_TCK);

    if (f)
        fclose(f);
    buf[n] = '\0';
    /* The name may hold spaces and parentheses: the fields follow the last
     * ')'.  After it: state (3) ... starttime (22), 19 fields to skip. */
    if (!(p = strrchr(buf, ')')) || hz <= 0
        || sscanf(
               p + 1,
               " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
               &ticks)
               != 1)
        return -1;
    return (gint64)(ticks * (G_USEC_PER_SEC / (unsigned long long)hz));
}

__attribute__((constructor)) static void
set_timings_loaded(void)
{
    struct timespec now;
    gint64 start = process_start_boottime_us();

    loaded_at_us = g_get_monotonic_time();
    if (start >= 0 && clock_gettime(CLOCK_BOOTTIME, &now) == 0)
        startup_us = MAX(0, (gint64)now.tv_sec * G_USEC_PER_SEC + now.tv_nsec / 1000 - start);
}

const char *
set_stage_name(SetStage stage)
{
    return stage < SET_STAGE_COUNT ? stage_names[stage] : "?";
}

void
set_timings_begin(SetTimings *t)
{
    memset(t, 0, sizeof *t);
    t->us[SET_STAGE_STARTUP] = MAX(startup_us, 0);
    t->current = SET_STAGE_INIT;
    t->since = loaded_at_us;
}

void
set_timings_enter(SetTimings *t, SetStage stage)
{
    gint64 now;

    if (t->ended || t->since == 0)
        return;
    now = g_get_monotonic_time();
    t->us[t->current] += MAX(0, now - t->since);
    t->current = stage;
    t->since = now;
}

void
set_timings_end(SetTimings *t)
{
    set_timings_enter(t, t->current);
    t->ended = TRUE;
}

gint64
set_timings_total_us(const SetTimings *t)
{
    gint64 sum = 0;

    for (guint i = 0; i < SET_STAGE_COUNT; i++)
        sum += t->us[i];
    return sum;
}

JsonObject *
set_timings_to_json(const SetTimings *t)
{
    JsonObject *obj = json_object_new();

    for (guint i = 0; i < SET_STAGE_COUNT; i++)
        json_object_set_double_member(obj, stage_names[i], t->us[i] / 1e6);
    json_object_set_double_member(obj, "total", set_timings_total_us(t) / 1e6);
    return obj;
}

char *
set_timings_format(const SetTimings *t)
{
    GString *s = g_string_new("Timings (wall clock, seconds):\n");

    for (guint i = 0; i < SET_STAGE_COUNT; i++)
        g_string_append_printf(s, "  %-14s %8.3f\n", stage_names[i], t->us[i] / 1e6);
    g_string_append_printf(s, "  %-14s %8.3f\n", "total", set_timings_total_us(t) / 1e6);
    return g_string_free(s, FALSE);
}
