/* commands.c: the command table and the generic argument checks. */
#include "commands.h"

#include <stdarg.h>
#include <string.h>

#include "config.h"
#include "cpulist.h"
#include "topology_writer.h"

#define COMMAND_MAX_ARGS 4

/* Every argument of every command so far is an integer in a range. */
typedef struct {
    const char *name;
    gboolean required;
    gint64 min;
    gint64 max;
    gint64 fallback; /* value when absent and not required */
} CommandArg;

typedef struct {
    const char *name;
    /* @values: one per spec entry, in spec order. */
    void (*handler)(CommandCall *call, const gint64 *values);
    const CommandArg *args;
    guint n_args;
} CommandDef;

static void cmd_ping(CommandCall *call, const gint64 *values);
static void cmd_info(CommandCall *call, const gint64 *values);
static void cmd_get_topology(CommandCall *call, const gint64 *values);
static void cmd_set_num_cpus(CommandCall *call, const gint64 *values);
static void cmd_get_load(CommandCall *call, const gint64 *values);
static void cmd_watch_load(CommandCall *call, const gint64 *values);

static const CommandArg set_num_cpus_args[] = {
    { "count", TRUE, 1, CPULIST_MAX_CPUS, 0 },
    { "wait", FALSE, 0, PROTO_SET_NUM_CPUS_MAX_WAIT_S, 0 },
};

static const CommandArg watch_load_args[] = {
    { "interval", TRUE, 1, 3600, 0 },
};

static const CommandDef command_table[] = {
    { "ping", cmd_ping, NULL, 0 },
    { "info", cmd_info, NULL, 0 },
    { "get-topology", cmd_get_topology, NULL, 0 },
    { "set-num-cpus", cmd_set_num_cpus, set_num_cpus_args, G_N_ELEMENTS(set_num_cpus_args) },
    { "get-load", cmd_get_load, NULL, 0 },
    { "watch-load", cmd_watch_load, watch_load_args, G_N_ELEMENTS(watch_load_args) },
};

/* ---- answering ---------------------------------------------------------- */

void
command_call_free(CommandCall *call)
{
    if (call == NULL)
        return;
    if (call->id != NULL)
        json_node_unref(call->id);
    g_free(call);
}

void
command_call_return(CommandCall *call, JsonNode *value)
{
    g_autofree char *line = proto_format_return(value, call->id);

    call->ctx->ops->send(call->ctx->owner, call->peer, line);
    if (value != NULL)
        json_node_unref(value);
    command_call_free(call);
}

/* Sends the line opened by proto_return_begin, and frees @call. */
static void
return_line(CommandCall *call, GString *line)
{
    g_autofree char *text = proto_return_end(line, call->id);

    call->ctx->ops->send(call->ctx->owner, call->peer, text);
    command_call_free(call);
}

void
command_call_return_json(CommandCall *call, const char *json)
{
    GString *line = proto_return_begin();

    g_string_append(line, json);
    return_line(call, line);
}

void
command_call_return_topology(CommandCall *call, const Topology *topo, const char *member)
{
    GString *line = proto_return_begin();

    if (member != NULL)
        g_string_append_printf(line, "{\"%s\":", member);
    topology_write_json(topo, line);
    if (member != NULL)
        g_string_append_c(line, '}');
    return_line(call, line);
}

static void
send_error(const CommandContext *ctx, guint64 peer, JsonNode *id, ProtoErrorClass cls,
           const char *desc)
{
    g_autofree char *line = proto_format_error(cls, desc, id);

    g_debug("Answering %s: %s", proto_error_class_name(cls), desc);
    ctx->ops->send(ctx->owner, peer, line);
}

void
command_call_fail(CommandCall *call, ProtoErrorClass cls, const char *format, ...)
{
    g_autofree char *desc = NULL;
    va_list ap;

    va_start(ap, format);
    desc = g_strdup_vprintf(format, ap);
    va_end(ap);
    send_error(call->ctx, call->peer, call->id, cls, desc);
    command_call_free(call);
}

void
command_call_fail_error(CommandCall *call, const GError *error)
{
    ProtoErrorClass cls = error->domain == PROTO_ERROR ? (ProtoErrorClass)error->code
                                                       : PROTO_ERROR_OPERATION_FAILED;

    command_call_fail(call, cls, "%s", error->message);
}

void
commands_reply_line_too_long(const CommandContext *ctx, guint64 peer)
{
    g_autofree char *desc
        = g_strdup_printf("the line is longer than %d bytes; it was discarded", PROTO_MAX_LINE);

    send_error(ctx, peer, NULL, PROTO_ERROR_PARSE, desc);
}

/* ---- handlers ----------------------------------------------------------- */

static void
cmd_ping(CommandCall *call, const gint64 *values)
{
    g_autoptr(JsonObject) empty = json_object_new();

    command_call_return(call, json_node_init_object(json_node_alloc(), empty));
}

static void
cmd_info(CommandCall *call, const gint64 *values)
{
    g_autoptr(JsonObject) obj = json_object_new();
    JsonArray *names = json_array_new();

    for (gsize i = 0; i < G_N_ELEMENTS(command_table); i++)
        json_array_add_string_element(names, command_table[i].name);
    json_object_set_string_member(obj, "version", HOTCPU_VERSION);
    json_object_set_int_member(obj, "protocol", PROTO_VERSION);
    json_object_set_array_member(obj, "commands", names);
    command_call_return(call, json_node_init_object(json_node_alloc(), obj));
}

static void
cmd_get_topology(CommandCall *call, const gint64 *values)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(Topology) topo = topology_read(call->ctx->sysfs_root, &error);

    if (topo == NULL) {
        g_warning("Cannot read the CPU topology: %s", error->message);
        command_call_fail(call, PROTO_ERROR_OPERATION_FAILED, "cannot read the CPU topology: %s",
                          error->message);
        return;
    }
    command_call_return_topology(call, topo, NULL);
}

static void
cmd_set_num_cpus(CommandCall *call, const gint64 *values)
{
    call->ctx->ops->set_num_cpus(call->ctx->owner, call, (guint)values[0], (guint)values[1]);
}

static void
cmd_get_load(CommandCall *call, const gint64 *values)
{
    call->ctx->ops->get_load(call->ctx->owner, call);
}

static void
cmd_watch_load(CommandCall *call, const gint64 *values)
{
    call->ctx->ops->watch_load(call->ctx->owner, call, (guint)values[0]);
}

/* ---- dispatch ----------------------------------------------------------- */

/* A peer-chosen name, made safe to quote in a reply: valid UTF-8, at most
 * 64 characters. */
static char *
quote_name(const char *name)
{
    g_autofree char *valid = g_utf8_make_valid(name, -1);
    g_autofree char *head = NULL;

    if (g_utf8_strlen(valid, -1) <= 64)
        return g_steal_pointer(&valid);
    head = g_utf8_substring(valid, 0, 64);
    return g_strconcat(head, "...", NULL);
}

static const CommandDef *
find_command(const char *name)
{
    for (gsize i = 0; i < G_N_ELEMENTS(command_table); i++) {
        if (strcmp(command_table[i].name, name) == 0)
            return &command_table[i];
    }
    return NULL;
}

static gboolean
check_arguments(const CommandDef *def, JsonObject *arguments, gint64 *values, GError **error)
{
    g_autoptr(GList) members = json_object_get_members(arguments);

    for (GList *l = members; l != NULL; l = l->next) {
        gboolean known = FALSE;

        for (guint i = 0; i < def->n_args; i++)
            known = known || strcmp(def->args[i].name, l->data) == 0;
        if (!known) {
            g_autofree char *shown = quote_name(l->data);
            g_set_error(error, PROTO_ERROR, PROTO_ERROR_INVALID_PARAMETER,
                        "%s takes no argument '%s'", def->name, shown);
            return FALSE;
        }
    }

    for (guint i = 0; i < def->n_args; i++) {
        const CommandArg *arg = &def->args[i];
        JsonNode *node = json_object_get_member(arguments, arg->name);
        gint64 value;

        if (node == NULL) {
            if (arg->required) {
                g_set_error(error, PROTO_ERROR, PROTO_ERROR_INVALID_PARAMETER,
                            "%s needs the argument '%s'", def->name, arg->name);
                return FALSE;
            }
            values[i] = arg->fallback;
            continue;
        }
        if (!JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_INT64) {
            g_set_error(error, PROTO_ERROR, PROTO_ERROR_INVALID_PARAMETER,
                        "argument '%s' of %s must be an integer", arg->name, def->name);
            return FALSE;
        }
        value = json_node_get_int(node);
        if (value < arg->min || value > arg->max) {
            g_set_error(error, PROTO_ERROR, PROTO_ERROR_INVALID_PARAMETER,
                        "argument '%s' of %s is %" G_GINT64_FORMAT
                        "; it must be from %" G_GINT64_FORMAT " to %" G_GINT64_FORMAT,
                        arg->name, def->name, value, arg->min, arg->max);
            return FALSE;
        }
        values[i] = value;
    }
    return TRUE;
}

void
commands_dispatch(const CommandContext *ctx, guint64 peer, const char *line, gsize len)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) bad_id = NULL;
    g_autoptr(ProtoRequest) req = NULL;
    const CommandDef *def;
    gint64 values[COMMAND_MAX_ARGS] = { 0 };
    CommandCall *call;

    /* Blank lines separate nothing; ignore them like a JSON stream parser
     * ignores white space. */
    if (strspn(line, " \t\r") == len)
        return;

    req = proto_parse_request(line, len, &bad_id, &error);
    if (req == NULL) {
        /* Integers beyond 64 bits come back as InvalidParameter, with the
         * id: valid JSON, but no argument can be that big. */
        ProtoErrorClass cls
            = error->domain == PROTO_ERROR ? (ProtoErrorClass)error->code : PROTO_ERROR_PARSE;

        send_error(ctx, peer, bad_id, cls, error->message);
        return;
    }

    call = g_new0(CommandCall, 1);
    call->ctx = ctx;
    call->peer = peer;
    call->id = req->id != NULL ? json_node_ref(req->id) : NULL;

    def = find_command(req->execute);
    if (def == NULL) {
        g_autofree char *shown = quote_name(req->execute);
        command_call_fail(call, PROTO_ERROR_COMMAND_NOT_FOUND, "no command '%s'", shown);
        return;
    }
    G_STATIC_ASSERT(G_N_ELEMENTS(set_num_cpus_args) <= COMMAND_MAX_ARGS);
    if (!check_arguments(def, req->arguments, values, &error)) {
        command_call_fail_error(call, error);
        return;
    }
    g_debug("Running %s for client %" G_GUINT64_FORMAT, def->name, peer);
    def->handler(call, values);
}
