/* topology.c: the guest's CPU topology, the model and its contract JSON.
 * Reading it from sysfs is the agent's (guest/topology_sysfs.c). */
#include "topology.h"
#include "glib_compat.h"

#include <errno.h>
#include <gio/gio.h>
#include <stdlib.h>
#include <string.h>

static void
cpu_info_free(gpointer data)
{
    CpuInfo *info = data;

    cpulist_free(info->siblings);
    g_free(info);
}

static CpuInfo *
cpu_info_new(guint id)
{
    CpuInfo *info = g_new0(CpuInfo, 1);

    info->id = id;
    info->socket = info->die = info->core = info->node = -1;
    return info;
}

static Topology *
topology_new(void)
{
    Topology *topo = g_new0(Topology, 1);

    topo->online = cpulist_new();
    topo->present = cpulist_new();
    topo->possible = cpulist_new();
    topo->cpus = g_ptr_array_new_with_free_func(cpu_info_free);
    return topo;
}

Topology *
topology_new_unknown(void)
{
    Topology *topo = topology_new();

    g_clear_pointer(&topo->possible, cpulist_free);
    topo->sockets = topo->cores_per_socket = topo->threads_per_core = -1;
    return topo;
}

CpuInfo *
topology_add_cpu(Topology *topo, guint id)
{
    CpuInfo *cpu = cpu_info_new(id);

    g_ptr_array_add(topo->cpus, cpu);
    return cpu;
}

void
topology_free(Topology *topo)
{
    if (topo == NULL)
        return;
    cpulist_free(topo->online);
    cpulist_free(topo->present);
    cpulist_free(topo->possible);
    g_ptr_array_unref(topo->cpus);
    g_free(topo);
}

/* ---- JSON -------------------------------------------------------------- */

static void
add_int_or_null(JsonBuilder *b, const char *name, gint value)
{
    json_builder_set_member_name(b, name);
    if (value < 0)
        json_builder_add_null_value(b);
    else
        json_builder_add_int_value(b, value);
}

/* @list as range-list text; null when it is unknown (NULL). */
static void
add_list(JsonBuilder *b, const char *name, const CpuList *list)
{
    g_autofree char *text = list != NULL ? cpulist_format(list) : NULL;

    json_builder_set_member_name(b, name);
    if (text == NULL)
        json_builder_add_null_value(b);
    else
        json_builder_add_string_value(b, text);
}

JsonNode *
topology_to_json(const Topology *topo)
{
    g_autoptr(JsonBuilder) b = json_builder_new();

    json_builder_begin_object(b);
    add_list(b, "online", topo->online);
    add_list(b, "present", topo->present);
    add_list(b, "possible", topo->possible);
    json_builder_set_member_name(b, "online-count");
    json_builder_add_int_value(b, cpulist_count(topo->online));
    json_builder_set_member_name(b, "present-count");
    json_builder_add_int_value(b, cpulist_count(topo->present));
    add_int_or_null(b, "sockets", topo->sockets);
    add_int_or_null(b, "cores-per-socket", topo->cores_per_socket);
    add_int_or_null(b, "threads-per-core", topo->threads_per_core);

    json_builder_set_member_name(b, "cpus");
    json_builder_begin_array(b);
    for (guint i = 0; i < topo->cpus->len; i++) {
        const CpuInfo *cpu = g_ptr_array_index(topo->cpus, i);

        json_builder_begin_object(b);
        json_builder_set_member_name(b, "id");
        json_builder_add_int_value(b, cpu->id);
        json_builder_set_member_name(b, "online");
        json_builder_add_boolean_value(b, cpu->online);
        json_builder_set_member_name(b, "can-offline");
        json_builder_add_boolean_value(b, cpu->can_offline);
        add_int_or_null(b, "socket", cpu->socket);
        add_int_or_null(b, "die", cpu->die);
        add_int_or_null(b, "core", cpu->core);
        add_int_or_null(b, "node", cpu->node);
        json_builder_set_member_name(b, "siblings");
        if (cpu->siblings == NULL) {
            json_builder_add_null_value(b);
        } else {
            json_builder_begin_array(b);
            for (gint s = cpulist_next(cpu->siblings, -1); s >= 0;
                 s = cpulist_next(cpu->siblings, s))
                json_builder_add_int_value(b, s);
            json_builder_end_array(b);
        }
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
    json_builder_end_object(b);
    return json_builder_get_root(b);
}

static gboolean
bad_field(GError **error, const char *where, const char *name, const char *what)
{
    g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "topology%s: '%s' %s", where, name,
                what);
    return FALSE;
}

static gboolean
is_int(JsonNode *node)
{
    return node != NULL && JSON_NODE_HOLDS_VALUE(node)
           && json_node_get_value_type(node) == G_TYPE_INT64;
}

/* A required integer in [0, max]. */
static gboolean
get_uint(JsonObject *obj, const char *where, const char *name, gint64 max, guint *out,
         GError **error)
{
    JsonNode *node = json_object_get_member(obj, name);
    gint64 v;

    if (!is_int(node))
        return bad_field(error, where, name, "must be an integer");
    v = json_node_get_int(node);
    if (v < 0 || v > max)
        return bad_field(error, where, name, "is out of range");
    *out = (guint)v;
    return TRUE;
}

/* An integer in [0, G_MAXINT] or null/absent (-1). */
static gboolean
get_int_or_null(JsonObject *obj, const char *where, const char *name, gint *out, GError **error)
{
    JsonNode *node = json_object_get_member(obj, name);
    gint64 v;

    if (node == NULL || JSON_NODE_HOLDS_NULL(node)) {
        *out = -1;
        return TRUE;
    }
    if (!is_int(node))
        return bad_field(error, where, name, "must be an integer or null");
    v = json_node_get_int(node);
    if (v < 0 || v > G_MAXINT)
        return bad_field(error, where, name, "is out of range");
    *out = (gint)v;
    return TRUE;
}

static gboolean
get_bool(JsonObject *obj, const char *where, const char *name, gboolean *out, GError **error)
{
    JsonNode *node = json_object_get_member(obj, name);

    if (node == NULL || !JSON_NODE_HOLDS_VALUE(node)
        || json_node_get_value_type(node) != G_TYPE_BOOLEAN)
        return bad_field(error, where, name, "must be a boolean");
    *out = json_node_get_boolean(node);
    return TRUE;
}

/* A summary count: an integer in [0, CPULIST_MAX_CPUS], or null (-1). */
static gboolean
get_count_or_null(JsonObject *obj, const char *name, gint *out, GError **error)
{
    JsonNode *node = json_object_get_member(obj, name);
    guint v;

    if (node != NULL && JSON_NODE_HOLDS_NULL(node)) {
        *out = -1;
        return TRUE;
    }
    if (!get_uint(obj, "", name, CPULIST_MAX_CPUS, &v, error))
        return FALSE;
    *out = (gint)v;
    return TRUE;
}

static CpuList *
get_list(JsonObject *obj, const char *name, GError **error)
{
    JsonNode *node = json_object_get_member(obj, name);
    g_autoptr(GError) local = NULL;
    CpuList *list;

    if (node == NULL || !JSON_NODE_HOLDS_VALUE(node)
        || json_node_get_value_type(node) != G_TYPE_STRING) {
        bad_field(error, "", name, "must be a CPU list string");
        return NULL;
    }
    list = cpulist_parse(json_node_get_string(node), &local);
    if (list == NULL)
        bad_field(error, "", name, local->message);
    return list;
}

static CpuInfo *
cpu_from_json(JsonNode *node, guint index, GError **error)
{
    g_autofree char *where = g_strdup_printf(" cpus[%u]", index);
    CpuInfo *cpu;
    JsonObject *obj;
    JsonNode *siblings;
    guint id;

    if (node == NULL || !JSON_NODE_HOLDS_OBJECT(node)) {
        bad_field(error, "", "cpus", "must hold objects");
        return NULL;
    }
    obj = json_node_get_object(node);
    if (!get_uint(obj, where, "id", CPULIST_MAX_CPUS - 1, &id, error))
        return NULL;
    cpu = cpu_info_new(id);
    if (!get_bool(obj, where, "online", &cpu->online, error)
        || !get_bool(obj, where, "can-offline", &cpu->can_offline, error)
        || !get_int_or_null(obj, where, "socket", &cpu->socket, error)
        || !get_int_or_null(obj, where, "die", &cpu->die, error)
        || !get_int_or_null(obj, where, "core", &cpu->core, error)
        || !get_int_or_null(obj, where, "node", &cpu->node, error))
        goto fail;

    siblings = json_object_get_member(obj, "siblings");
    if (siblings != NULL && !JSON_NODE_HOLDS_NULL(siblings)) {
        JsonArray *array;

        if (!JSON_NODE_HOLDS_ARRAY(siblings)) {
            bad_field(error, where, "siblings", "must be an array or null");
            goto fail;
        }
        array = json_node_get_array(siblings);
        cpu->siblings = cpulist_new();
        for (guint i = 0; i < json_array_get_length(array); i++) {
            JsonNode *s = json_array_get_element(array, i);

            if (!is_int(s) || json_node_get_int(s) < 0
                || json_node_get_int(s) >= CPULIST_MAX_CPUS) {
                bad_field(error, where, "siblings", "must hold CPU ids");
                goto fail;
            }
            cpulist_add(cpu->siblings, (guint)json_node_get_int(s));
        }
    }
    return cpu;

fail:
    cpu_info_free(cpu);
    return NULL;
}

static gint
compare_cpu(gconstpointer a, gconstpointer b)
{
    const CpuInfo *x = *(const CpuInfo *const *)a;
    const CpuInfo *y = *(const CpuInfo *const *)b;

    return x->id < y->id ? -1 : x->id > y->id;
}

Topology *
topology_from_json(JsonNode *node, GError **error)
{
    g_autoptr(Topology) topo = topology_new();
    JsonObject *obj;
    JsonNode *cpus, *possible;
    JsonArray *array;
    guint count;

    if (node == NULL || !JSON_NODE_HOLDS_OBJECT(node)) {
        g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                            "topology is not a JSON object");
        return NULL;
    }
    obj = json_node_get_object(node);

    cpulist_free(topo->online);
    cpulist_free(topo->present);
    cpulist_free(topo->possible);
    topo->online = topo->present = topo->possible = NULL;
    if ((topo->online = get_list(obj, "online", error)) == NULL
        || (topo->present = get_list(obj, "present", error)) == NULL)
        return NULL;
    possible = json_object_get_member(obj, "possible");
    if ((possible == NULL || !JSON_NODE_HOLDS_NULL(possible))
        && (topo->possible = get_list(obj, "possible", error)) == NULL)
        return NULL;
    /* The counts are redundant; check their type only. */
    if (!get_uint(obj, "", "online-count", CPULIST_MAX_CPUS, &count, error)
        || !get_uint(obj, "", "present-count", CPULIST_MAX_CPUS, &count, error)
        || !get_count_or_null(obj, "sockets", &topo->sockets, error)
        || !get_count_or_null(obj, "cores-per-socket", &topo->cores_per_socket, error)
        || !get_count_or_null(obj, "threads-per-core", &topo->threads_per_core, error))
        return NULL;

    cpus = json_object_get_member(obj, "cpus");
    if (cpus == NULL || !JSON_NODE_HOLDS_ARRAY(cpus)) {
        bad_field(error, "", "cpus", "must be an array");
        return NULL;
    }
    array = json_node_get_array(cpus);
    for (guint i = 0; i < json_array_get_length(array); i++) {
        CpuInfo *cpu = cpu_from_json(json_array_get_element(array, i), i, error);

        if (cpu == NULL)
            return NULL;
        g_ptr_array_add(topo->cpus, cpu);
    }
    g_ptr_array_sort(topo->cpus, compare_cpu);
    for (guint i = 1; i < topo->cpus->len; i++) {
        const CpuInfo *prev = g_ptr_array_index(topo->cpus, i - 1);
        const CpuInfo *cpu = g_ptr_array_index(topo->cpus, i);

        if (prev->id == cpu->id) {
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                        "topology: cpu %u is listed twice", cpu->id);
            return NULL;
        }
    }
    return g_steal_pointer(&topo);
}

gboolean
topology_same_sets(const Topology *a, const Topology *b)
{
    return cpulist_equal(a->present, b->present) && cpulist_equal(a->online, b->online);
}

const CpuInfo *
topology_find_cpu(const Topology *topo, guint id)
{
    guint lo = 0, hi = topo->cpus->len;

    /* cpus is sorted by id, both from sysfs and from JSON. */
    while (lo < hi) {
        guint mid = lo + (hi - lo) / 2;
        const CpuInfo *cpu = g_ptr_array_index(topo->cpus, mid);

        if (cpu->id == id)
            return cpu;
        if (cpu->id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}
