/* guest.h: what hotcpu-ctl asks the guest agent, over libhotcpu's
 * agent_client.
 *
 * Every function connects, asks and disconnects before it returns: QEMU's
 * chardev accepts one client at a time and the hooks connect themselves, so
 * no connection outlives a call.  Failures are AGENT_CLIENT_ERROR (no
 * answer: connect, timeout, I/O, protocol) or PROTO_ERROR (the agent
 * answered with an error; code = its class).
 */
#pragma once

#include <glib.h>

#include "topology.h"

/* How long a single agent question may take before the agent counts as not
 * answering. */
#define GUEST_CONNECT_TIMEOUT_MS 2000
#define GUEST_CALL_TIMEOUT_MS 3000

/* TRUE when the agent behind @socket_path answers a ping. */
gboolean guest_ping(const char *socket_path, GError **error);

Topology *guest_get_topology(const char *socket_path, GError **error);

/* set-num-cpus {"count": @count, "wait": @wait_s}; returns the topology of
 * the reply. */
Topology *guest_set_num_cpus(const char *socket_path, guint count, guint wait_s, GError **error);

typedef enum {
    GUEST_WAIT_REACHED,  /* @count CPUs present and online */
    GUEST_WAIT_TIMEOUT,  /* the agent answered, but not that state by the deadline */
    GUEST_WAIT_NO_AGENT, /* the agent never answered */
} GuestWaitResult;

/* How long guest_wait_count keeps trying an agent that has not answered at
 * all before it counts as absent. */
#define GUEST_NO_ANSWER_GRACE_MS 5000

/* Waits until the guest has exactly @count CPUs present and online, asking
 * the agent to online/offline CPUs as needed (set-num-cpus), until the
 * monotonic time @deadline_us (an agent that never answers: at most
 * GUEST_NO_ANSWER_GRACE_MS).  *last gets the last topology seen (NULL when
 * none); *error the last failure when the result is not REACHED. */
GuestWaitResult guest_wait_count(const char *socket_path, guint count, gint64 deadline_us,
                                 Topology **last, GError **error);
