/* reply_limits.h: how much the host takes from a guest agent, scaled by the
 * domain's maximum vCPUs (issue 21).
 *
 * A topology grows with the guest: some 110 bytes a CPU on the wire and
 * some 1.5 KB parsed (8192 CPUs with two threads a core: 0.9 MB, 12 MB).
 * One fixed 64 KiB line held some 500 CPUs.  Each bound here is a fixed
 * part (what the protocol's small messages need: the bounds of every
 * domain before) plus a per-vCPU budget, about twice an honest CPU's
 * share, times the domain's maximum, which is capped at CPULIST_MAX_CPUS.
 * So a guest can make the host read and parse no more than its size
 * justifies, and no domain more than the bounds at 8192 vCPUs: a line of
 * 2.1 MiB, 40 MiB parsed, 40 MiB of events set aside, 24 MiB read per call.
 *
 * Requests to the agent stay within PROTO_MAX_LINE (64 KiB): the agent's
 * own reader never takes more.
 */
#pragma once

#include <glib.h>

#include "protocol.h"

/* The wire: one line. */
#define REPLY_LINE_FIXED_BYTES PROTO_MAX_LINE
#define REPLY_LINE_BYTES_PER_CPU 256
/* Memory: one line parsed (proto_parsed_weight), and the events set aside
 * unasked.  The fixed part is what a 64 KiB line of "{}," weighs. */
#define REPLY_PARSED_FIXED_BYTES (8 * 1024 * 1024)
#define REPLY_PARSED_BYTES_PER_CPU 4096
/* Time: what one call or one wait for an event may read, in lines. */
#define REPLY_LINES_PER_CALL 8
#define REPLY_CALL_MIN_BYTES (8 * 1024 * 1024)

typedef struct {
    guint max_cpus;     /* the domain's maximum these are for, capped */
    gsize line_bytes;   /* the longest line, the newline excluded */
    gsize parsed_bytes; /* what one line may weigh parsed */
    gsize queued_bytes; /* what the events set aside may weigh parsed */
    gsize call_bytes;   /* what one call or wait may read */
} ReplyLimits;

/* The bounds for a domain of @max_cpus vCPUs (0: unknown, the fixed parts
 * alone, as for every peer before issue 21). */
void reply_limits_for(guint max_cpus, ReplyLimits *out);
