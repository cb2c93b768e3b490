/* cmd_topology.c: `hotcpu-ctl topology DOMAIN`, the guest's view. */
#include "ctl_util.h"
#include "numa_view.h"

static char *
field(gint v)
{
    return v < 0 ? g_strdup("-") : g_strdup_printf("%d", v);
}

/* A summary count, "unknown" when the agent does not tell (qemu-ga). */
static char *
count_field(gint v)
{
    return v < 0 ? g_strdup("unknown") : g_strdup_printf("%d", v);
}

static void
print_table(Output *out, const Topology *topo)
{
    output_text(out, "%3s %-6s %6s %4s %-16s %4s %s\n", "CPU", "ONLINE", "SOCKET", "CORE",
                "THREAD SIBLINGS", "NODE", "CAN-OFFLINE");
    for (guint i = 0; i < topo->cpus->len; i++) {
        const CpuInfo *c = topo->cpus->pdata[i];
        g_autofree char *sock = field(c->socket);
        g_autofree char *core = field(c->core);
        g_autofree char *node = field(c->node);
        g_autofree char *sib = c->siblings ? cpulist_format(c->siblings) : g_strdup("-");
        output_text(out, "%3u %-6s %6s %4s %-16s %4s %s\n", c->id, c->online ? "yes" : "no", sock,
                    core, sib, node, c->can_offline ? "yes" : "no");
    }
}

static void
print_summary(Output *out, const Topology *topo, GuestAgentKind agent)
{
    g_autofree char *online = cpulist_format(topo->online);
    g_autofree char *present = cpulist_format(topo->present);
    g_autofree char *possible
        = topo->possible ? cpulist_format(topo->possible) : g_strdup("unknown");
    g_autofree char *threads = count_field(topo->threads_per_core);
    g_autofree char *cores = count_field(topo->cores_per_socket);
    g_autofree char *sockets = count_field(topo->sockets);

    output_text(out, "\n");
    output_text(out, "%-22s %s\n", "On-line CPU(s) list:", online);
    output_text(out, "%-22s %s\n", "Present CPU(s) list:", present);
    output_text(out, "%-22s %s\n", "Possible CPU(s) list:", possible);
    output_text(out, "%-22s %s\n", "Thread(s) per core:", threads);
    output_text(out, "%-22s %s\n", "Core(s) per socket:", cores);
    output_text(out, "%-22s %s\n", "Socket(s):", sockets);
    output_text(out, "%-22s %s%s\n", "Guest agent:", guest_agent_name(agent),
                agent == GUEST_AGENT_QEMU_GA ? " (CPU ids, online and can-offline only)" : "");
}

static int
cmd_topology(CtlContext *ctx, const CmdArgs *args)
{
    g_auto(CtlDomain) d = { 0 };
    g_autoptr(GError) error = NULL;
    g_autoptr(Topology) topo = NULL;
    g_autoptr(GPtrArray) cells = NULL;
    int rc;

    if ((rc = ctl_domain_open(ctx, args, "its guest topology needs a running guest", &d))
        != CTL_EXIT_OK)
        return rc;
    if (!(topo = guest_get_topology(d.guest, &error))) {
        g_autofree char *msg = guest_unreachable_message(d.guest, d.name, error);
        return output_fail(ctx->out, CTL_EXIT_NO_AGENT, NULL, "%s", msg);
    }
    cells = numa_view_of(d.dom, d.info, topo);
    if (output_is_json(ctx->out)) {
        g_autoptr(JsonNode) node = topology_to_json(topo);
        JsonObject *obj = json_object_ref(json_node_get_object(node));

        json_object_set_string_member(obj, "guest-agent", guest_agent_name(guest_kind(d.guest)));
        if (cells)
            json_object_set_array_member(obj, "numa-cells", numa_view_json(cells));
        output_result(ctx->out, obj);
        return CTL_EXIT_OK;
    }
    print_table(ctx->out, topo);
    print_summary(ctx->out, topo, guest_kind(d.guest));
    numa_view_text(ctx->out, cells);
    return CTL_EXIT_OK;
}

const CmdDef cmd_topology_def = {
    .name = "topology",
    .handler = cmd_topology,
    .opts = cmd_opts_domain_only,
    .summary = "show the guest's CPU topology",
    .description
    = "Asks the guest agent for the guest's CPU topology and prints it as a table\n"
      "    like 'lscpu -e'; with qemu-ga only CPU ids, online and can-offline are known.",
};
