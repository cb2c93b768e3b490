/* commands.h: the protocol's commands, dispatched from a static table.
 *
 * commands_dispatch() decodes one line, checks the arguments against the
 * command's spec (unknown, missing, wrongly typed, out-of-range integers and
 * over-long strings are InvalidParameter before any handler runs) and calls the handler with a
 * CommandCall.  The handler answers it exactly once, now or later, with
 * command_call_return() or command_call_fail(); both free the call.
 *
 * Each command's argument table sits beside its handler.  A command with
 * state that outlives one line (set-num-cpus waiting, set-online-cpus, the
 * load) calls the agent's function for it directly (agent.h,
 * agent_load.h); the header needs only the Agent's name, so no include
 * circle.
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "cpulist.h"
#include "protocol.h"
#include "topology.h"

typedef struct CommandCall CommandCall;
/* The agent (agent.h), whose functions the stateful commands call. */
typedef struct Agent Agent;

struct CommandCall {
    Agent *agent;
    guint64 peer;
    JsonNode *id; /* NULL when the request had none */
};

void commands_dispatch(Agent *agent, guint64 peer, const char *line, gsize len);
/* For lines the channel discarded (over PROTO_MAX_LINE): a ParseError. */
void commands_reply_line_too_long(Agent *agent, guint64 peer);

/* Answers {"return": @value} (consumed; NULL: {}) and frees @call. */
void command_call_return(CommandCall *call, JsonNode *value);
/* Answers {"return": @json}, @json being the JSON text of an object (not
 * checked: our own writers make it), and frees @call. */
void command_call_return_json(CommandCall *call, const char *json);
/* Answers {"return": T}, or {"return": {@member: T}} when @member is not
 * NULL, with T the topology @topo, written as text (no JSON tree: see
 * topology_writer.h), and frees @call. */
void command_call_return_topology(CommandCall *call, const Topology *topo, const char *member);
/* Answers {"error": ...} and frees @call. */
void command_call_fail(CommandCall *call, ProtoErrorClass cls, const char *format, ...)
    G_GNUC_PRINTF(3, 4);
/* Same with @error's message; a non-PROTO_ERROR domain becomes OperationFailed. */
void command_call_fail_error(CommandCall *call, const GError *error);
/* Frees without answering (the peer is gone). */
void command_call_free(CommandCall *call);
