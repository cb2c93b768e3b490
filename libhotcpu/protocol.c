/* protocol.c: encode and decode the hotcpu wire protocol, version 1. */
#include "protocol.h"
#include "glib_compat.h"

#include <string.h>

#include "json_strict.h"

/* clang-format off */
G_DEFINE_QUARK(proto-error-quark, proto_error)
/* clang-format on */

static const char *const class_names[] = {
    [PROTO_ERROR_PARSE] = "ParseError",
    [PROTO_ERROR_COMMAND_NOT_FOUND] = "CommandNotFound",
    [PROTO_ERROR_INVALID_PARAMETER] = "InvalidParameter",
    [PROTO_ERROR_BUSY] = "Busy",
    [PROTO_ERROR_OPERATION_FAILED] = "OperationFailed",
};

const char *
proto_error_class_name(ProtoErrorClass cls)
{
    if ((guint)cls >= G_N_ELEMENTS(class_names))
        return class_names[PROTO_ERROR_OPERATION_FAILED];
    return class_names[cls];
}

ProtoErrorClass
proto_error_class_from_name(const char *name)
{
    for (guint i = 0; name != NULL && i < G_N_ELEMENTS(class_names); i++) {
        if (strcmp(name, class_names[i]) == 0)
            return (ProtoErrorClass)i;
    }
    return PROTO_ERROR_OPERATION_FAILED;
}

/* ---- framing ---------------------------------------------------------- */

typedef struct {
    ProtoLineStatus status;
    char *line;
    gsize len;
} QueuedLine;

struct ProtoLineReader {
    gsize max_line;
    GByteArray *partial; /* never longer than max_line */
    gboolean discarding; /* inside an overlong line, waiting for '\n' */
    GQueue lines;        /* QueuedLine *, complete lines and TOO_LONG marks */
};

static void
queued_line_free(gpointer data)
{
    QueuedLine *q = data;

    g_free(q->line);
    g_free(q);
}

ProtoLineReader *
proto_line_reader_new(gsize max_line)
{
    ProtoLineReader *reader = g_new0(ProtoLineReader, 1);

    reader->max_line = max_line;
    reader->partial = g_byte_array_new();
    g_queue_init(&reader->lines);
    return reader;
}

void
proto_line_reader_free(ProtoLineReader *reader)
{
    if (reader == NULL)
        return;
    g_byte_array_unref(reader->partial);
    g_queue_clear_full(&reader->lines, queued_line_free);
    g_free(reader);
}

static void
push_line(ProtoLineReader *reader, ProtoLineStatus status, const guint8 *data, gsize len)
{
    QueuedLine *q = g_new0(QueuedLine, 1);

    q->status = status;
    if (status == PROTO_LINE_OK) {
        q->line = g_malloc(len + 1);
        memcpy(q->line, data, len);
        q->line[len] = '\0';
        q->len = len;
    }
    g_queue_push_tail(&reader->lines, q);
}

void
proto_line_reader_feed(ProtoLineReader *reader, const void *data, gsize len)
{
    const guint8 *p = data;
    const guint8 *end = p + len;

    while (p < end) {
        /* Find the next byte that ends or breaks the current line. */
        const guint8 *stop = p;

        while (stop < end && *stop != '\n' && *stop != PROTO_RESYNC_BYTE)
            stop++;

        if (!reader->discarding) {
            gsize chunk = (gsize)(stop - p);

            if (reader->partial->len + chunk > reader->max_line) {
                /* Report it now, not at its end, so a peer sending an
                 * endless line gets an answer. */
                push_line(reader, PROTO_LINE_TOO_LONG, NULL, 0);
                g_byte_array_set_size(reader->partial, 0);
                reader->discarding = TRUE;
            } else {
                g_byte_array_append(reader->partial, p, (guint)chunk);
            }
        }
        if (stop == end)
            break;

        if (*stop == '\n') {
            /* Blank lines carry nothing; skipping them lets a peer send
             * "\xff\n" to resync without provoking an error reply. */
            if (!reader->discarding && reader->partial->len > 0)
                push_line(reader, PROTO_LINE_OK, reader->partial->data, reader->partial->len);
        }
        /* '\n' ends the line; 0xFF drops it.  Either way, start afresh. */
        g_byte_array_set_size(reader->partial, 0);
        reader->discarding = FALSE;
        p = stop + 1;
    }
}

ProtoLineStatus
proto_line_reader_next(ProtoLineReader *reader, char **line, gsize *len)
{
    QueuedLine *q = g_queue_pop_head(&reader->lines);
    ProtoLineStatus status;

    if (q == NULL)
        return PROTO_LINE_NONE;
    status = q->status;
    if (status == PROTO_LINE_OK) {
        *line = g_steal_pointer(&q->line);
        if (len != NULL)
            *len = q->len;
    }
    queued_line_free(q);
    return status;
}

static JsonObject *parse_checked(const char *line, gsize len, GError **error);

/* Checks what json-glib must never see (json_strict.h), then parses.
 * Returns the root object, or NULL with PROTO_ERROR_PARSE.  @report: see
 * json_strict_check. */
static JsonObject *
parse_object(const char *line, gsize len, JsonStrictReport *report, GError **error)
{
    g_autoptr(GError) local = NULL;

    if (len > PROTO_MAX_LINE) {
        g_set_error(error, PROTO_ERROR, PROTO_ERROR_PARSE,
                    "line of %" G_GSIZE_FORMAT " bytes exceeds the limit of %d", len,
                    PROTO_MAX_LINE);
        return NULL;
    }
    /* Also rejects NUL bytes inside the line. */
    if (!g_utf8_validate_len(line, len, NULL)) {
        g_set_error_literal(error, PROTO_ERROR, PROTO_ERROR_PARSE, "line is not valid UTF-8");
        return NULL;
    }
    if (!json_strict_check(line, len, PROTO_MAX_DEPTH, report, &local)) {
        g_set_error_literal(error, PROTO_ERROR, PROTO_ERROR_PARSE, local->message);
        return NULL;
    }
    return parse_checked(line, len, error);
}

/* json-glib's half of parse_object, on a text that passed
 * json_strict_check. */
static JsonObject *
parse_checked(const char *line, gsize len, GError **error)
{
    g_autoptr(JsonParser) parser = NULL;
    g_autoptr(GError) local = NULL;
    JsonNode *root;

    parser = json_parser_new();
    if (!json_parser_load_from_data(parser, line, (gssize)len, &local)) {
        g_set_error(error, PROTO_ERROR, PROTO_ERROR_PARSE, "invalid JSON: %s", local->message);
        return NULL;
    }
    root = json_parser_get_root(parser);
    if (root == NULL || !JSON_NODE_HOLDS_OBJECT(root)) {
        g_set_error_literal(error, PROTO_ERROR, PROTO_ERROR_PARSE, "message is not a JSON object");
        return NULL;
    }
    return json_object_ref(json_node_get_object(root));
}

/* ---- requests ---------------------------------------------------------- */

void
proto_request_free(ProtoRequest *req)
{
    if (req == NULL)
        return;
    g_free(req->execute);
    if (req->arguments != NULL)
        json_object_unref(req->arguments);
    if (req->id != NULL)
        json_node_unref(req->id);
    g_free(req);
}

/* The contract: an id is a string or an integer.  Anything else could not
 * be echoed faithfully (json-glib prints 1e18 back as 1e+18.0, which is not
 * JSON, and wraps integers beyond 64 bits), so it is refused, unechoed. */
static gboolean
check_id(JsonNode *id, const JsonStrictReport *report, GError **error)
{
    GType type;

    if (id == NULL)
        return TRUE;
    type = JSON_NODE_HOLDS_VALUE(id) ? json_node_get_value_type(id) : G_TYPE_INVALID;
    if ((type == G_TYPE_STRING || type == G_TYPE_INT64) && !report->huge_int_at_key)
        return TRUE;
    g_set_error_literal(error, PROTO_ERROR, PROTO_ERROR_INVALID_PARAMETER,
                        "'id' must be a string or an integer of at most 64 bits");
    return FALSE;
}

ProtoRequest *
proto_parse_request(const char *line, gsize len, JsonNode **id_out, GError **error)
{
    JsonStrictReport report = { .watch_key = "id" };
    g_autoptr(JsonObject) obj = parse_object(line, len, &report, error);
    g_autoptr(ProtoRequest) req = NULL;
    JsonNode *execute, *arguments, *id;
    g_autoptr(GList) keys = NULL;

    if (obj == NULL)
        return NULL;

    id = json_object_get_member(obj, "id");
    if (!check_id(id, &report, error))
        return NULL;
    if (id_out != NULL && id != NULL)
        *id_out = json_node_copy(id);

    /* Valid JSON, so not a ParseError; but no argument can be that big, and
     * json-glib wrapped the value, so nothing of it may be used. */
    if (report.huge_int) {
        g_set_error_literal(error, PROTO_ERROR, PROTO_ERROR_INVALID_PARAMETER,
                            "the request holds an integer beyond 64 bits");
        return NULL;
    }

    keys = json_object_get_members(obj);
    for (GList *k = keys; k != NULL; k = k->next) {
        const char *key = k->data;

        if (strcmp(key, "execute") != 0 && strcmp(key, "arguments") != 0
            && strcmp(key, "id") != 0) {
            g_set_error(error, PROTO_ERROR, PROTO_ERROR_INVALID_PARAMETER,
                        "unknown key '%s' in the request", key);
            return NULL;
        }
    }

    execute = json_object_get_member(obj, "execute");
    if (execute == NULL) {
        g_set_error_literal(error, PROTO_ERROR, PROTO_ERROR_INVALID_PARAMETER,
                            "the request has no 'execute'");
        return NULL;
    }
    if (!JSON_NODE_HOLDS_VALUE(execute) || json_node_get_value_type(execute) != G_TYPE_STRING) {
        g_set_error_literal(error, PROTO_ERROR, PROTO_ERROR_INVALID_PARAMETER,
                            "'execute' must be a string");
        return NULL;
    }
    arguments = json_object_get_member(obj, "arguments");
    if (arguments != NULL && !JSON_NODE_HOLDS_OBJECT(arguments)) {
        g_set_error_literal(error, PROTO_ERROR, PROTO_ERROR_INVALID_PARAMETER,
                            "'arguments' must be an object");
        return NULL;
    }

    req = g_new0(ProtoRequest, 1);
    req->execute = g_strdup(json_node_get_string(execute));
    req->arguments
        = arguments != NULL ? json_object_ref(json_node_get_object(arguments)) : json_object_new();
    req->id = id != NULL ? json_node_copy(id) : NULL;
    return g_steal_pointer(&req);
}

/* ---- encoding ---------------------------------------------------------- */

/* Lines are written as text around json-glib's generator, which without
 * pretty-printing escapes control characters in strings, so the only '\n'
 * is the one finish_line appends.  No tree is copied: a topology of 8192
 * CPUs is most of a megabyte of JSON. */
static void
append_node(GString *out, JsonNode *node)
{
    g_autoptr(JsonGenerator) gen = json_generator_new();

    json_generator_set_root(gen, node);
    json_generator_to_gstring(gen, out);
}

static void
append_string(GString *out, const char *text)
{
    g_autoptr(JsonNode) node = json_node_init_string(json_node_alloc(), text);

    append_node(out, node);
}

/* Ends a message opened with '{': the id when there is one, '}' and '\n'. */
static char *
finish_line(GString *out, JsonNode *id)
{
    if (id != NULL) {
        g_string_append(out, ",\"id\":");
        append_node(out, id);
    }
    g_string_append(out, "}\n");
    return g_string_free(out, FALSE);
}

char *
proto_format_request(const char *execute, JsonObject *arguments, JsonNode *id)
{
    GString *out = g_string_new("{\"execute\":");

    append_string(out, execute);
    if (arguments != NULL) {
        g_autoptr(JsonNode) node = json_node_init_object(json_node_alloc(), arguments);

        g_string_append(out, ",\"arguments\":");
        append_node(out, node);
    }
    return finish_line(out, id);
}

GString *
proto_return_begin(void)
{
    return g_string_new("{\"return\":");
}

char *
proto_return_end(GString *line, JsonNode *id)
{
    return finish_line(line, id);
}

char *
proto_format_return(JsonNode *value, JsonNode *id)
{
    GString *out = proto_return_begin();

    if (value != NULL)
        append_node(out, value);
    else
        g_string_append(out, "{}");
    return proto_return_end(out, id);
}

char *
proto_format_error(ProtoErrorClass cls, const char *desc, JsonNode *id)
{
    GString *out = g_string_new("{\"error\":{\"class\":");

    append_string(out, proto_error_class_name(cls));
    g_string_append(out, ",\"desc\":");
    append_string(out, desc != NULL ? desc : "");
    g_string_append_c(out, '}');
    return finish_line(out, id);
}

GString *
proto_event_begin(const char *name)
{
    GString *out = g_string_new("{\"event\":");

    append_string(out, name);
    g_string_append(out, ",\"data\":");
    return out;
}

char *
proto_event_end(GString *line)
{
    return finish_line(line, NULL);
}

char *
proto_format_event(const char *name, JsonNode *data)
{
    GString *out;

    if (data == NULL) {
        out = g_string_new("{\"event\":");
        append_string(out, name);
        return finish_line(out, NULL);
    }
    out = proto_event_begin(name);
    append_node(out, data);
    return proto_event_end(out);
}

/* ---- messages ---------------------------------------------------------- */

void
proto_message_free(ProtoMessage *msg)
{
    if (msg == NULL)
        return;
    if (msg->id != NULL)
        json_node_unref(msg->id);
    if (msg->value != NULL)
        json_node_unref(msg->value);
    g_free(msg->event);
    g_free(msg->error_desc);
    g_free(msg);
}

static gboolean
only_keys(JsonObject *obj, const char *a, const char *b, GError **error)
{
    g_autoptr(GList) keys = json_object_get_members(obj);

    for (GList *k = keys; k != NULL; k = k->next) {
        if (strcmp(k->data, a) != 0 && strcmp(k->data, b) != 0) {
            g_set_error(error, PROTO_ERROR, PROTO_ERROR_PARSE,
                        "unexpected key '%s' in a '%s' message", (const char *)k->data, a);
            return FALSE;
        }
    }
    return TRUE;
}

static const char *
string_member(JsonObject *obj, const char *name)
{
    JsonNode *node = json_object_get_member(obj, name);

    if (node == NULL || !JSON_NODE_HOLDS_VALUE(node)
        || json_node_get_value_type(node) != G_TYPE_STRING)
        return NULL;
    return json_node_get_string(node);
}

static ProtoMessage *message_from_object(JsonObject *obj, GError **error);

ProtoMessage *
proto_parse_message(const char *line, gsize len, GError **error)
{
    /* From the agent, an integer beyond 64 bits is a broken peer: ParseError. */
    g_autoptr(JsonObject) obj = parse_object(line, len, NULL, error);

    return obj ? message_from_object(obj, error) : NULL;
}

gsize
proto_parsed_weight(const JsonStrictReport *report, gsize len)
{
    return PROTO_WEIGHT_PER_VALUE * report->values + PROTO_WEIGHT_PER_CONTAINER * report->containers
           + len;
}

ProtoMessage *
proto_parse_message_within(const char *line, gsize len, const ProtoMessageLimits *limits,
                           GError **error)
{
    JsonStrictReport report = { 0 };
    g_autoptr(GError) local = NULL;
    g_autoptr(JsonObject) obj = NULL;
    gsize weight;

    if (len > limits->max_line) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE,
                    "a line of %" G_GSIZE_FORMAT " bytes exceeds the limit of %" G_GSIZE_FORMAT
                    " bytes",
                    len, limits->max_line);
        return NULL;
    }
    if (!g_utf8_validate_len(line, len, NULL)) {
        g_set_error_literal(error, PROTO_ERROR, PROTO_ERROR_PARSE, "line is not valid UTF-8");
        return NULL;
    }
    /* With a report, json_strict_check lets integers beyond 64 bits pass:
     * from the agent they are a broken peer, as in proto_parse_message. */
    if (!json_strict_check(line, len, PROTO_MAX_DEPTH, &report, &local)) {
        g_set_error_literal(error, PROTO_ERROR, PROTO_ERROR_PARSE, local->message);
        return NULL;
    }
    if (report.huge_int) {
        g_set_error_literal(error, PROTO_ERROR, PROTO_ERROR_PARSE,
                            "invalid JSON: a number out of range");
        return NULL;
    }
    weight = proto_parsed_weight(&report, len);
    if (weight > limits->max_parsed) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE,
                    "a line of %" G_GSIZE_FORMAT " bytes that would take some %" G_GSIZE_FORMAT
                    " bytes parsed exceeds the limit of %" G_GSIZE_FORMAT " bytes parsed",
                    len, weight, limits->max_parsed);
        return NULL;
    }
    obj = parse_checked(line, len, error);
    return obj ? message_from_object(obj, error) : NULL;
}

/* The reply or event @obj holds. */
static ProtoMessage *
message_from_object(JsonObject *obj, GError **error)
{
    g_autoptr(ProtoMessage) msg = g_new0(ProtoMessage, 1);
    JsonNode *node;

    if ((node = json_object_get_member(obj, "return")) != NULL) {
        if (!only_keys(obj, "return", "id", error))
            return NULL;
        if (!JSON_NODE_HOLDS_OBJECT(node)) {
            g_set_error_literal(error, PROTO_ERROR, PROTO_ERROR_PARSE,
                                "'return' must be an object");
            return NULL;
        }
        msg->kind = PROTO_MSG_RETURN;
        msg->value = json_node_copy(node);
    } else if ((node = json_object_get_member(obj, "error")) != NULL) {
        JsonObject *err;
        const char *cls, *desc;

        if (!only_keys(obj, "error", "id", error))
            return NULL;
        if (!JSON_NODE_HOLDS_OBJECT(node)) {
            g_set_error_literal(error, PROTO_ERROR, PROTO_ERROR_PARSE, "'error' must be an object");
            return NULL;
        }
        err = json_node_get_object(node);
        cls = string_member(err, "class");
        desc = string_member(err, "desc");
        if (cls == NULL || desc == NULL) {
            g_set_error_literal(error, PROTO_ERROR, PROTO_ERROR_PARSE,
                                "'error' needs string members 'class' and 'desc'");
            return NULL;
        }
        msg->kind = PROTO_MSG_ERROR;
        msg->error_class = proto_error_class_from_name(cls);
        msg->error_desc = g_strdup(desc);
    } else if (json_object_has_member(obj, "event")) {
        const char *name = string_member(obj, "event");

        if (!only_keys(obj, "event", "data", error))
            return NULL;
        if (name == NULL) {
            g_set_error_literal(error, PROTO_ERROR, PROTO_ERROR_PARSE, "'event' must be a string");
            return NULL;
        }
        node = json_object_get_member(obj, "data");
        if (node != NULL && !JSON_NODE_HOLDS_OBJECT(node)) {
            g_set_error_literal(error, PROTO_ERROR, PROTO_ERROR_PARSE, "'data' must be an object");
            return NULL;
        }
        msg->kind = PROTO_MSG_EVENT;
        msg->event = g_strdup(name);
        msg->value = node != NULL ? json_node_copy(node) : NULL;
        return g_steal_pointer(&msg);
    } else {
        g_set_error_literal(error, PROTO_ERROR, PROTO_ERROR_PARSE,
                            "message is neither a return, an error nor an event");
        return NULL;
    }

    node = json_object_get_member(obj, "id");
    msg->id = node != NULL ? json_node_copy(node) : NULL;
    return g_steal_pointer(&msg);
}
