/* topology_writer.c: the contract's topology JSON, streamed as text. */
#include "topology_writer.h"

/* Every value written here is an integer, a boolean, null or a CPU range
 * list (digits, ',' and '-'), so nothing needs escaping. */

static void
member(GString *out, const char *name, gboolean first)
{
    g_string_append_printf(out, first ? "\"%s\":" : ",\"%s\":", name);
}

static void
int_member(GString *out, const char *name, gint64 value)
{
    member(out, name, FALSE);
    g_string_append_printf(out, "%" G_GINT64_FORMAT, value);
}

/* -1 (hidden by the kernel) is null. */
static void
int_or_null_member(GString *out, const char *name, gint value)
{
    if (value < 0) {
        member(out, name, FALSE);
        g_string_append(out, "null");
        return;
    }
    int_member(out, name, value);
}

static void
list_member(GString *out, const char *name, const CpuList *list, gboolean first)
{
    g_autofree char *text = cpulist_format(list);

    member(out, name, first);
    g_string_append_printf(out, "\"%s\"", text);
}

static void
write_cpu(GString *out, const CpuInfo *cpu)
{
    g_string_append_printf(out, "{\"id\":%u,\"online\":%s,\"can-offline\":%s", cpu->id,
                           cpu->online ? "true" : "false", cpu->can_offline ? "true" : "false");
    int_or_null_member(out, "socket", cpu->socket);
    int_or_null_member(out, "die", cpu->die);
    int_or_null_member(out, "core", cpu->core);
    int_or_null_member(out, "node", cpu->node);
    member(out, "siblings", FALSE);
    if (cpu->siblings == NULL) {
        g_string_append(out, "null}");
        return;
    }
    g_string_append_c(out, '[');
    for (gint s = cpulist_next(cpu->siblings, -1); s >= 0; s = cpulist_next(cpu->siblings, s))
        g_string_append_printf(out, out->str[out->len - 1] == '[' ? "%d" : ",%d", s);
    g_string_append(out, "]}");
}

void
topology_write_json(const Topology *topo, GString *out)
{
    g_string_append_c(out, '{');
    list_member(out, "online", topo->online, TRUE);
    list_member(out, "present", topo->present, FALSE);
    list_member(out, "possible", topo->possible, FALSE);
    int_member(out, "online-count", cpulist_count(topo->online));
    int_member(out, "present-count", cpulist_count(topo->present));
    int_member(out, "sockets", topo->sockets);
    int_member(out, "cores-per-socket", topo->cores_per_socket);
    int_member(out, "threads-per-core", topo->threads_per_core);
    member(out, "cpus", FALSE);
    g_string_append_c(out, '[');
    for (guint i = 0; i < topo->cpus->len; i++) {
        if (i > 0)
            g_string_append_c(out, ',');
        write_cpu(out, g_ptr_array_index(topo->cpus, i));
    }
    g_string_append(out, "]}");
}
