/* deadline.h: monotonic deadlines, as every wait in hotcpu counts them.
 *
 * A deadline is a g_get_monotonic_time() value in microseconds. */
#pragma once

#include <glib.h>

static inline gint64
deadline_after_ms(guint64 ms)
{
    return g_get_monotonic_time() + (gint64)MIN(ms, (guint64)G_MAXINT64 / 2000) * 1000;
}

/* Milliseconds left until @deadline_us, rounded up (a poll() that waits this
 * long does not wake just before it); 0 once past. */
static inline guint
deadline_ms_left(gint64 deadline_us)
{
    gint64 left = deadline_us - g_get_monotonic_time();

    return left <= 0 ? 0 : (guint)MIN((left + 999) / 1000, G_MAXINT);
}
