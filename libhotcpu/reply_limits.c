/* reply_limits.c: the bounds on what a guest agent sends, by domain size. */
#include "reply_limits.h"

#include "cpulist.h"

void
reply_limits_for(guint max_cpus, ReplyLimits *out)
{
    gsize cpus = MIN(max_cpus, CPULIST_MAX_CPUS);

    out->max_cpus = (guint)cpus;
    out->line_bytes = REPLY_LINE_FIXED_BYTES + REPLY_LINE_BYTES_PER_CPU * cpus;
    out->parsed_bytes = REPLY_PARSED_FIXED_BYTES + REPLY_PARSED_BYTES_PER_CPU * cpus;
    out->queued_bytes = out->parsed_bytes;
    out->call_bytes = MAX(REPLY_CALL_MIN_BYTES, REPLY_LINES_PER_CALL * out->line_bytes);
}
