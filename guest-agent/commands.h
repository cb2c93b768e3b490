/* commands.h: the protocol's commands, dispatched from a static table.
 *
 * commands_dispatch() decodes one line, checks the arguments against the
 * command's spec (unknown, missing, wrongly typed, out-of-range integers and
 * over-long strings are InvalidParameter before any handler runs) and calls the handler with a
 * CommandCall.  The handler answers it exactly once, now or later, with
 * command_call_return() or command_call_fail(); both free the call.
 *
 * The commands know nothing of the agent: whoever runs them (the agent, a
 * fuzzer) hands in a CommandContext with the few things they need from it,
 * a way to send a line to a peer and the operations that outlive one line.
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "cpulist.h"
#include "protocol.h"
#include "topology.h"

typedef struct CommandCall CommandCall;

/* What the commands ask of their runner.  @owner is CommandContext.owner. */
typedef struct {
    /* Queues one line (with its '\n') for @peer; dropped when it is gone. */
    void (*send)(gpointer owner, guint64 peer, const char *line);
    /* set-num-cpus after its argument checks: answers @call (taken over)
     * now, or later when @wait_s > 0 and fewer than @count CPUs are present. */
    void (*set_num_cpus)(gpointer owner, CommandCall *call, guint count, guint wait_s);
    /* set-online-cpus after its argument checks (@cpus parsed; whether it
     * fits the CPUs there is for the op to check): answers @call (taken
     * over) now.  @cpus stays the caller's. */
    void (*set_online_cpus)(gpointer owner, CommandCall *call, const CpuList *cpus);
    /* get-load: answers @call (taken over) with the load since the peer's
     * previous get-load. */
    void (*get_load)(gpointer owner, CommandCall *call);
    /* watch-load: answers @call (taken over) and sends the peer a "load"
     * event every @interval_s seconds until it leaves. */
    void (*watch_load)(gpointer owner, CommandCall *call, guint interval_s);
} CommandOps;

typedef struct {
    const CommandOps *ops;
    gpointer owner;
    const char *sysfs_root; /* the CPU sysfs folder; not owned */
} CommandContext;

struct CommandCall {
    const CommandContext *ctx;
    guint64 peer;
    JsonNode *id; /* NULL when the request had none */
};

void commands_dispatch(const CommandContext *ctx, guint64 peer, const char *line, gsize len);
/* For lines the channel discarded (over PROTO_MAX_LINE): a ParseError. */
void commands_reply_line_too_long(const CommandContext *ctx, guint64 peer);

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
