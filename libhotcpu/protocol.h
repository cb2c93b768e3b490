/* protocol.h: the hotcpu wire protocol, version 1 (see docs/protocol.md).
 *
 * Newline-delimited JSON objects, UTF-8, at most PROTO_MAX_LINE bytes a line
 * (newline excluded).  A byte 0xFF drops any partial line.
 *
 *   request  {"execute": NAME, "arguments": {...}, "id": ANY}
 *   success  {"return": {...}, "id": ANY}
 *   failure  {"error": {"class": CLASS, "desc": TEXT}, "id": ANY}
 *   event    {"event": NAME, "data": {...}}
 *
 * This module only encodes and decodes; it neither logs nor does I/O.
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "json_strict.h"
/* The virtio-serial port's name: the agent opens /dev/virtio-ports/NAME,
 * the host finds the channel by it in the domain XML.  Defined here only. */
#define AGENT_CHANNEL_NAME "org.hotcpu.agent.0"

#define PROTO_VERSION 1
#define PROTO_MAX_LINE (64 * 1024)
/* Deepest nesting of arrays/objects accepted in one message. */
#define PROTO_MAX_DEPTH 16
#define PROTO_RESYNC_BYTE 0xFF
/* Sent by an agent that starts while a host holds the port: what that host
 * asked before went to the instance that died, and must be asked again. */
#define PROTO_EVENT_AGENT_STARTED "agent-started"
/* The longest "wait" (seconds) set-num-cpus takes: a hot add still in flight. */
#define PROTO_SET_NUM_CPUS_MAX_WAIT_S 60

/* Error classes of the contract.  Used as GError codes in PROTO_ERROR, both
 * for parse failures here and for errors a peer sent us. */
typedef enum {
    PROTO_ERROR_PARSE,             /* "ParseError" */
    PROTO_ERROR_COMMAND_NOT_FOUND, /* "CommandNotFound" */
    PROTO_ERROR_INVALID_PARAMETER, /* "InvalidParameter" */
    PROTO_ERROR_BUSY,              /* "Busy" */
    PROTO_ERROR_OPERATION_FAILED,  /* "OperationFailed" */
} ProtoErrorClass;

#define PROTO_ERROR (proto_error_quark())
GQuark proto_error_quark(void);

const char *proto_error_class_name(ProtoErrorClass cls);
/* Unknown names map to PROTO_ERROR_OPERATION_FAILED. */
ProtoErrorClass proto_error_class_from_name(const char *name);

/* ---- framing ---------------------------------------------------------- */

typedef enum {
    PROTO_LINE_NONE,     /* no complete line buffered */
    PROTO_LINE_OK,       /* *line set: one line, without its '\n', NUL-terminated */
    PROTO_LINE_TOO_LONG, /* a line exceeded the limit; it is being discarded up
                          * to the next '\n'.  Reported once per such line. */
} ProtoLineStatus;

typedef struct ProtoLineReader ProtoLineReader;

ProtoLineReader *proto_line_reader_new(gsize max_line);
void proto_line_reader_free(ProtoLineReader *reader);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ProtoLineReader, proto_line_reader_free)
/* Appends raw bytes.  0xFF bytes drop the partial line and are consumed.
 * Empty lines are skipped (so "\xff\n" is a silent resync).  The partial
 * line never exceeds max_line bytes, whatever is fed; complete lines queue
 * until taken with proto_line_reader_next(), so drain after each feed. */
void proto_line_reader_feed(ProtoLineReader *reader, const void *data, gsize len);
/* Takes the next event out of the buffer.  On PROTO_LINE_OK, *line is newly
 * allocated (g_free) and *len its length; otherwise they are untouched. */
ProtoLineStatus proto_line_reader_next(ProtoLineReader *reader, char **line, gsize *len);

/* ---- requests (agent side) --------------------------------------------- */

typedef struct {
    char *execute;
    JsonObject *arguments; /* never NULL: empty object when absent */
    JsonNode *id;          /* NULL when absent */
} ProtoRequest;

void proto_request_free(ProtoRequest *req);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ProtoRequest, proto_request_free)

/* Decodes one line.  Fails with PROTO_ERROR_PARSE for invalid UTF-8, not JSON,
 * not an object, nesting deeper than PROTO_MAX_DEPTH, a line longer than
 * PROTO_MAX_LINE, a \u escape of a lone surrogate or of NUL; with
 * PROTO_ERROR_INVALID_PARAMETER for an "id" that is not a string or an
 * integer of at most 64 bits (then *id_out stays NULL), a missing or
 * non-string "execute", non-object "arguments", unknown top-level keys, or
 * an integer beyond gint64 anywhere (valid JSON, but json-glib would wrap
 * it).  JSON is strict RFC 8259: json-glib's extensions (comments, single
 * quotes, hex, trailing data) and numbers beyond a finite double are
 * PROTO_ERROR_PARSE too.
 * On failure *id_out (if not NULL) receives the request's "id" when it could
 * be read, so the error reply can echo it; caller frees with json_node_unref. */
ProtoRequest *proto_parse_request(const char *line, gsize len, JsonNode **id_out, GError **error);

/* ---- encoding ---------------------------------------------------------- */
/* Each returns one line WITH the trailing '\n'; caller g_free()s.
 * @id may be NULL (omitted). Nodes are not consumed. */
char *proto_format_request(const char *execute, JsonObject *arguments, JsonNode *id);
char *proto_format_return(JsonNode *value, JsonNode *id);
char *proto_format_error(ProtoErrorClass cls, const char *desc, JsonNode *id);
char *proto_format_event(const char *name, JsonNode *data);

/* For values too big to build as a JsonNode tree first (a topology of
 * thousands of CPUs): *_begin returns a line open up to the value, the
 * caller appends the value's JSON text (it must be valid JSON: no check is
 * made), *_end closes the line (consuming @line) and returns it like the
 * functions above. */
GString *proto_return_begin(void);
char *proto_return_end(GString *line, JsonNode *id);
GString *proto_event_begin(const char *name);
char *proto_event_end(GString *line);

/* ---- messages (host side) --------------------------------------------- */

typedef enum {
    PROTO_MSG_RETURN,
    PROTO_MSG_ERROR,
    PROTO_MSG_EVENT,
} ProtoMessageKind;

typedef struct {
    ProtoMessageKind kind;
    JsonNode *id;                /* return/error: NULL when absent */
    JsonNode *value;             /* return: the value; event: the data (may be NULL) */
    char *event;                 /* event: its name */
    ProtoErrorClass error_class; /* error */
    char *error_desc;            /* error */
} ProtoMessage;

void proto_message_free(ProtoMessage *msg);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ProtoMessage, proto_message_free)
/* Decodes a reply or event line from the agent.  PROTO_ERROR_PARSE on
 * anything that is not exactly one of the three shapes: "return" must be an
 * object, "error" an object with string "class" and "desc", "data" (optional)
 * an object; no other keys. */
ProtoMessage *proto_parse_message(const char *line, gsize len, GError **error);

/* What one message from the agent may cost the host: a host reading a
 * topology of thousands of CPUs takes longer lines than PROTO_MAX_LINE
 * (reply_limits.h scales these with the domain). */
typedef struct {
    gsize max_line;   /* bytes, the newline excluded */
    gsize max_parsed; /* proto_parsed_weight() of the line */
} ProtoMessageLimits;

/* What a parsed tree weighs in memory (json-glib's nodes, objects' hash
 * tables), estimated before parsing from json_strict_check's counts and
 * the text's @len: PROTO_WEIGHT_PER_VALUE a value, PROTO_WEIGHT_PER_CONTAINER
 * more an object or array.  Three bytes of "{}," weigh some 340. */
#define PROTO_WEIGHT_PER_VALUE 80
#define PROTO_WEIGHT_PER_CONTAINER 256
gsize proto_parsed_weight(const JsonStrictReport *report, gsize len);

/* proto_parse_message with @limits instead of PROTO_MAX_LINE, and a bound
 * on the parsed weight checked before json-glib builds anything.  A line
 * over either fails with G_IO_ERROR_MESSAGE_TOO_LARGE, its message naming
 * the size and the limit; the rest as proto_parse_message. */
ProtoMessage *proto_parse_message_within(const char *line, gsize len,
                                         const ProtoMessageLimits *limits, GError **error);
