/* agent_client.h: the host side of the agent channel.
 *
 * Talks over a connected stream socket: the unix socket that libvirt's live
 * XML names for the org.hotcpu.agent.0 channel, the agent's --listen socket,
 * or a channel stream through libvirt (libhotcpu/host), and sends one
 * request at a time and waits for the reply whose id matches, setting aside
 * events that arrive meanwhile.  On connect it sends 0xFF so the agent drops
 * any half line a previous client left behind.
 *
 * QEMU's chardev socket accepts ONE client at a time: hold a connection only
 * as long as needed, and never across running hooks (which connect too).
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "protocol.h"

typedef enum {
    AGENT_CLIENT_ERROR_CONNECT,   /* socket missing, refused */
    AGENT_CLIENT_ERROR_TIMEOUT,   /* no (matching) reply in time */
    AGENT_CLIENT_ERROR_IO,        /* read/write failed, peer closed */
    AGENT_CLIENT_ERROR_PROTOCOL,  /* the peer sent something that is not protocol */
    AGENT_CLIENT_ERROR_CANCELLED, /* a signal came (cancel.h) */
    AGENT_CLIENT_ERROR_TOO_BIG    /* it answered, over the bounds of reply_limits.h */
} AgentClientError;

#define AGENT_CLIENT_ERROR (agent_client_error_quark())
GQuark agent_client_error_quark(void);

typedef struct AgentClient AgentClient;

/* Connects within @timeout_ms.  Does not yet know whether an agent is behind
 * the socket: a QEMU chardev accepts even when the guest has no agent. */
AgentClient *agent_client_connect(const char *socket_path, guint timeout_ms, GError **error);
/* A client on @fd, a connected stream socket (taken over: closed by
 * agent_client_free, also on failure).  Sends the resync byte within
 * @timeout_ms. */
AgentClient *agent_client_new_fd(int fd, guint timeout_ms, GError **error);
/* @close_fn(@data) runs in agent_client_free before the fd is closed (a
 * transport that must end first: a libvirt stream). */
void agent_client_set_close_func(AgentClient *client, GDestroyNotify close_fn, gpointer data);
/* Bounds what @client takes from the agent by the domain's @max_vcpus
 * (reply_limits.h); before, and with 0, the fixed parts alone hold (a line
 * of PROTO_MAX_LINE).  Call it before the first call: what was read is
 * dropped.  A line or a parsed tree over the bounds fails the call with
 * AGENT_CLIENT_ERROR_TOO_BIG, in a sentence naming the size, the limit and
 * @max_vcpus. */
void agent_client_set_max_vcpus(AgentClient *client, guint max_vcpus);
void agent_client_free(AgentClient *client);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(AgentClient, agent_client_free)

/* Sends {"execute": @execute, "arguments": @arguments, "id": <unique>} and
 * waits up to @timeout_ms for the matching reply; when the agent says it
 * started meanwhile (event agent-started: the request went to the instance
 * before it), sends it again.  Returns the "return" value
 * (json_node_unref).  An error reply from the agent fails with PROTO_ERROR and
 * the agent's class as code, its desc as message.  @arguments may be NULL and
 * is not consumed.
 *
 * Every error message this client sets is safe to print, log and put into
 * JSON: guest text in it (an error desc, a key of a malformed message) went
 * through safe_text(), capped at SAFE_TEXT_GUEST_MAX bytes.  The returned
 * JSON is the guest's: whoever prints a string from it escapes it too. */
JsonNode *agent_client_call(AgentClient *client, const char *execute, JsonObject *arguments,
                            guint timeout_ms, GError **error);

/* Returns the data of the next event named @name (already received or
 * arriving within @timeout_ms), removing it from the queue; NULL with
 * AGENT_CLIENT_ERROR_TIMEOUT when none came. */
JsonNode *agent_client_wait_event(AgentClient *client, const char *name, guint timeout_ms,
                                  GError **error);
/* The same for the next event named @name, or of any name when @name is
 * NULL; *@name_out (may be NULL) gets its name (g_free). */
JsonNode *agent_client_next_event(AgentClient *client, const char *name, guint timeout_ms,
                                  char **name_out, GError **error);
/* Forgets the events named @name received so far and not taken: after a
 * reply that tells the same thing, they are older news (the channel keeps
 * order), and shown after it they would turn the clock back. */
void agent_client_drop_events(AgentClient *client, const char *name);
