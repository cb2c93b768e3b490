/* commands.h: the protocol's commands, dispatched from a static table.
 *
 * commands_dispatch() decodes one line, checks the arguments against the
 * command's spec (unknown, missing, wrongly typed or out-of-range arguments
 * are InvalidParameter before any handler runs) and calls the handler with a
 * CommandCall.  The handler answers it exactly once, now or later, with
 * command_call_return() or command_call_fail(); both free the call.
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "agent.h"
#include "protocol.h"

struct CommandCall {
    Agent *agent;
    guint64 peer;
    JsonNode *id; /* NULL when the request had none */
    const char *name;
};

void commands_dispatch(Agent *agent, guint64 peer, const char *line, gsize len);
/* For lines the channel discarded (over PROTO_MAX_LINE): a ParseError. */
void commands_reply_line_too_long(Agent *agent, guint64 peer);

/* Answers {"return": @value} (consumed) and frees @call. */
void command_call_return(CommandCall *call, JsonNode *value);
/* Answers {"error": ...} and frees @call. */
void command_call_fail(CommandCall *call, ProtoErrorClass cls, const char *format, ...)
    G_GNUC_PRINTF(3, 4);
/* Same with @error's message; a non-PROTO_ERROR domain becomes OperationFailed. */
void command_call_fail_error(CommandCall *call, const GError *error);
/* Frees without answering (the peer is gone). */
void command_call_free(CommandCall *call);

/* The command names, in table order, NULL-terminated (static). */
const char *const *commands_names(void);
