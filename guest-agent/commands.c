/* commands.c: the command table and the generic argument checks. */
#include "commands.h"

#include <stdarg.h>
#include <string.h>

#include "config.h"

#include "agent.h"
#include "agent_load.h"
#include "cpulist.h"
#include "topology_writer.h"
#include "topology_sysfs.h"

#define COMMAND_MAX_ARGS 4
/* The longest "cpus" list set-online-cpus takes, in bytes.  The canonical
 * form of any set of CPULIST_MAX_CPUS ids fits (the longest, "0-1,3-4,...",
 * is about 26.6 KB); a list spelled out one id at a time may not. */
#define COMMAND_MAX_CPULIST_LEN 32768

typedef enum {
    COMMAND_ARG_INT,    /* an integer from min to max */
    COMMAND_ARG_STRING, /* a string of min to max bytes */
} CommandArgType;

typedef struct {
    const char *name;
    CommandArgType type;
    gboolean required;
    gint64 min;
    gint64 max;
    gint64 fallback; /* integer value when absent and not required */
} CommandArg;

/* A checked argument.  .string points into the request: valid while the
 * handler runs; NULL for an integer argument or an absent one. */
typedef struct {
    gint64 integer;
    const char *string;
} CommandValue;

typedef struct {
    const char *name;
    /* @values: one per spec entry, in spec order. */
    void (*handler)(CommandCall *call, const CommandValue *values);
    const CommandArg *args;
    guint n_args;
} CommandDef;

static void cmd_ping(CommandCall *call, const CommandValue *values);
static void cmd_info(CommandCall *call, const CommandValue *values);
static void cmd_get_topology(CommandCall *call, const CommandValue *values);
static void cmd_set_num_cpus(CommandCall *call, const CommandValue *values);
static void cmd_get_load(CommandCall *call, const CommandValue *values);
static void cmd_watch_load(CommandCall *call, const CommandValue *values);
static void cmd_set_online_cpus(CommandCall *call, const CommandValue *values);

static const CommandArg set_num_cpus_args[] = {
    { "count", COMMAND_ARG_INT, TRUE, 1, CPULIST_MAX_CPUS, 0 },
    { "wait", COMMAND_ARG_INT, FALSE, 0, PROTO_SET_NUM_CPUS_MAX_WAIT_S, 0 },
};

static const CommandArg watch_load_args[] = {
    { "interval", COMMAND_ARG_INT, TRUE, 1, 3600, 0 },
};

/* An empty list is a string the planner refuses, saying why. */
static const CommandArg set_online_cpus_args[] = {
    { "cpus", COMMAND_ARG_STRING, TRUE, 0, COMMAND_MAX_CPULIST_LEN, 0 },
};

static const CommandDef command_table[] = {
    { "ping", cmd_ping, NULL, 0 },
    { "info", cmd_info, NULL, 0 },
    { "get-topology", cmd_get_topology, NULL, 0 },
    { "set-num-cpus", cmd_set_num_cpus, set_num_cpus_args, G_N_ELEMENTS(set_num_cpus_args) },
    { "get-load", cmd_get_load, NULL, 0 },
    { "watch-load", cmd_watch_load, watch_load_args, G_N_ELEMENTS(watch_load_args) },
    { "set-online-cpus", cmd_set_online_cpus, set_online_cpus_args,
      G_N_ELEMENTS(set_online_cpus_args) },
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

    agent_send(call->agent, call->peer, line);
    if (value != NULL)
        json_node_unref(value);
    command_call_free(call);
}

/* Sends the line opened by proto_return_begin, and frees @call. */
static void
return_line(CommandCall *call, GString *line)
{
    g_autofree char *text = proto_return_end(line, call->id);

    agent_send(call->agent, call->peer, text);
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
send_error(Agent *agent, guint64 peer, JsonNode *id, ProtoErrorClass cls, const char *desc)
{
    g_autofree char *line = proto_format_error(cls, desc, id);

    g_debug("Answering %s: %s", proto_error_class_name(cls), desc);
    agent_send(agent, peer, line);
}

void
command_call_fail(CommandCall *call, ProtoErrorClass cls, const char *format, ...)
{
    g_autofree char *desc = NULL;
    va_list ap;

    va_start(ap, format);
    desc = g_strdup_vprintf(format, ap);
    va_end(ap);
    send_error(call->agent, call->peer, call->id, cls, desc);
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
commands_reply_line_too_long(Agent *agent, guint64 peer)
{
    g_autofree char *desc
        = g_strdup_printf("the line is longer than %d bytes; it was discarded", PROTO_MAX_LINE);

    send_error(agent, peer, NULL, PROTO_ERROR_PARSE, desc);
}

/* ---- handlers ----------------------------------------------------------- */

static void
cmd_ping(CommandCall *call, const CommandValue *values)
{
    g_autoptr(JsonObject) empty = json_object_new();

    command_call_return(call, json_node_init_object(json_node_alloc(), empty));
}

static void
cmd_info(CommandCall *call, const CommandValue *values)
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
cmd_get_topology(CommandCall *call, const CommandValue *values)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(Topology) topo = topology_read(call->agent->config->sysfs_root, &error);

    if (topo == NULL) {
        g_warning("Cannot read the CPU topology: %s", error->message);
        command_call_fail(call, PROTO_ERROR_OPERATION_FAILED, "cannot read the CPU topology: %s",
                          error->message);
        return;
    }
    command_call_return_topology(call, topo, NULL);
}

static void
cmd_set_num_cpus(CommandCall *call, const CommandValue *values)
{
    agent_set_num_cpus(call->agent, call, (guint)values[0].integer, (guint)values[1].integer);
}

static void
cmd_get_load(CommandCall *call, const CommandValue *values)
{
    agent_load_get(call->agent->load, call);
}

static void
cmd_watch_load(CommandCall *call, const CommandValue *values)
{
    agent_load_watch(call->agent->load, call->agent->channel, call, (guint)values[0].integer);
}

static void
cmd_set_online_cpus(CommandCall *call, const CommandValue *values)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(CpuList) cpus = cpulist_parse(values[0].string, &error);

    if (cpus == NULL) {
        /* The parser quotes the bad item, cut at 64 bytes: maybe inside a
         * character. */
        g_autofree char *why = g_utf8_make_valid(error->message, -1);

        command_call_fail(call, PROTO_ERROR_INVALID_PARAMETER,
                          "argument 'cpus' of set-online-cpus is not a CPU list like "
                          "\"0-1,3\": %s",
                          why);
        return;
    }
    agent_set_online_cpus(call->agent, call, cpus);
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

/* Checks one present argument against its spec and stores it in @value. */
static gboolean
check_value(const CommandDef *def, const CommandArg *arg, JsonNode *node, CommandValue *value,
            GError **error)
{
    GType want = arg->type == COMMAND_ARG_STRING ? G_TYPE_STRING : G_TYPE_INT64;
    gint64 got;

    if (!JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != want) {
        g_set_error(error, PROTO_ERROR, PROTO_ERROR_INVALID_PARAMETER,
                    "argument '%s' of %s must be %s", arg->name, def->name,
                    arg->type == COMMAND_ARG_STRING ? "a string" : "an integer");
        return FALSE;
    }
    if (arg->type == COMMAND_ARG_STRING) {
        value->string = json_node_get_string(node);
        got = (gint64)strlen(value->string);
        if (got < arg->min || got > arg->max) {
            g_set_error(error, PROTO_ERROR, PROTO_ERROR_INVALID_PARAMETER,
                        "argument '%s' of %s is %" G_GINT64_FORMAT
                        " bytes long; it must be from %" G_GINT64_FORMAT " to %" G_GINT64_FORMAT
                        " bytes long",
                        arg->name, def->name, got, arg->min, arg->max);
            return FALSE;
        }
        return TRUE;
    }
    got = json_node_get_int(node);
    if (got < arg->min || got > arg->max) {
        g_set_error(error, PROTO_ERROR, PROTO_ERROR_INVALID_PARAMETER,
                    "argument '%s' of %s is %" G_GINT64_FORMAT "; it must be from %" G_GINT64_FORMAT
                    " to %" G_GINT64_FORMAT,
                    arg->name, def->name, got, arg->min, arg->max);
        return FALSE;
    }
    value->integer = got;
    return TRUE;
}

static gboolean
check_arguments(const CommandDef *def, JsonObject *arguments, CommandValue *values, GError **error)
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

        if (node == NULL && arg->required) {
            g_set_error(error, PROTO_ERROR, PROTO_ERROR_INVALID_PARAMETER,
                        "%s needs the argument '%s'", def->name, arg->name);
            return FALSE;
        }
        if (node == NULL)
            values[i].integer = arg->fallback;
        else if (!check_value(def, arg, node, &values[i], error))
            return FALSE;
    }
    return TRUE;
}

void
commands_dispatch(Agent *agent, guint64 peer, const char *line, gsize len)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) bad_id = NULL;
    g_autoptr(ProtoRequest) req = NULL;
    const CommandDef *def;
    CommandValue values[COMMAND_MAX_ARGS] = { { 0 } };
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

        send_error(agent, peer, bad_id, cls, error->message);
        return;
    }

    call = g_new0(CommandCall, 1);
    call->agent = agent;
    call->peer = peer;
    call->id = req->id != NULL ? json_node_ref(req->id) : NULL;

    def = find_command(req->execute);
    if (def == NULL) {
        g_autofree char *shown = quote_name(req->execute);
        command_call_fail(call, PROTO_ERROR_COMMAND_NOT_FOUND, "no command '%s'", shown);
        return;
    }
    G_STATIC_ASSERT(G_N_ELEMENTS(set_num_cpus_args) <= COMMAND_MAX_ARGS);
    G_STATIC_ASSERT(G_N_ELEMENTS(set_online_cpus_args) <= COMMAND_MAX_ARGS);
    if (!check_arguments(def, req->arguments, values, &error)) {
        command_call_fail_error(call, error);
        return;
    }
    g_debug("Running %s for client %" G_GUINT64_FORMAT, def->name, peer);
    def->handler(call, values);
}
