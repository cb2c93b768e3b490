/* cmd_topology.c: `hotcpu-ctl topology DOMAIN`, the guest's view. */
#include <stdio.h>

#include "agent_client.h"
#include "agent_hint.h"
#include "ctl.h"
#include "guest.h"
#include "virt_util.h"

char *
agent_unreachable_message(const char *dom, const char *socket_path, const GError *error)
{
    if (!socket_path)
        return g_strdup_printf(
            "domain '%s' has no hotcpu agent channel: its live XML needs a <channel "
            "type='unix'> with <target type='virtio' name='org.hotcpu.agent.0'/>",
            dom);
    return g_strdup_printf(
        "the hotcpu agent of domain '%s' did not answer on %s (%s): check that the "
        "org.hotcpu.agent.0 channel is in the domain XML and that hotcpu-agent is installed "
        "and running in the guest",
        dom, socket_path, error ? error->message : "no reply");
}

static char *
field(gint v)
{
    return v < 0 ? g_strdup("-") : g_strdup_printf("%d", v);
}

int
cmd_topology(CtlContext *ctx, const CmdArgs *args)
{
    const char *name = cmd_arg_string(args, "domain");
    g_autoptr(virConnect) conn = NULL;
    g_autoptr(virDomain) dom = NULL;
    g_autoptr(DomainInfo) info = NULL;
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) reply = NULL;
    g_autoptr(Topology) topo = NULL;
    int rc = 0;

    if (!(dom = ctl_open_domain(ctx, name, TRUE, &conn, &rc, &error)))
        return output_fail_error(ctx->out, rc, NULL, error);
    name = virDomainGetName(dom);
    if (virDomainIsActive(dom) != 1)
        return output_fail(ctx->out, CTL_EXIT_REFUSED, NULL,
                           "domain '%s' is not running: its guest topology needs a running guest",
                           name);
    if (!(info = ctl_domain_info(dom, NULL, &error)))
        return output_fail_error(ctx->out, CTL_EXIT_HYPERVISOR, NULL, error);
    if (info->agent_socket)
        reply = agent_client_call_once(info->agent_socket, "get-topology", NULL,
                                       GUEST_CALL_TIMEOUT_MS, &error);
    if (!reply) {
        g_autofree char *msg = agent_unreachable_message(name, info->agent_socket, error);
        return output_fail(ctx->out, CTL_EXIT_NO_AGENT, NULL, "%s", msg);
    }
    g_clear_error(&error);
    if (!(topo = topology_from_json(reply, &error)))
        return output_fail(
            ctx->out, CTL_EXIT_NO_AGENT, NULL,
            "the hotcpu agent of domain '%s' sent a topology that cannot be read: %s", name,
            error->message);

    if (output_is_json(ctx->out)) {
        /* the agent's object as it came (validated above) */
        JsonObject *obj = json_object_ref(json_node_get_object(reply));
        output_result(ctx->out, obj);
        return CTL_EXIT_OK;
    }

    output_text(ctx->out, "%3s %-6s %6s %4s %-16s %4s\n", "CPU", "ONLINE", "SOCKET", "CORE",
                "THREAD SIBLINGS", "NODE");
    for (guint i = 0; i < topo->cpus->len; i++) {
        const CpuInfo *c = topo->cpus->pdata[i];
        g_autofree char *sock = field(c->socket);
        g_autofree char *core = field(c->core);
        g_autofree char *node = field(c->node);
        g_autofree char *sib = c->siblings ? cpulist_format(c->siblings) : g_strdup("-");
        output_text(ctx->out, "%3u %-6s %6s %4s %-16s %4s\n", c->id, c->online ? "yes" : "no", sock,
                    core, sib, node);
    }
    {
        g_autofree char *online = cpulist_format(topo->online);
        g_autofree char *present = cpulist_format(topo->present);
        g_autofree char *possible = cpulist_format(topo->possible);
        output_text(ctx->out, "\n");
        output_text(ctx->out, "%-22s %s\n", "On-line CPU(s) list:", online);
        output_text(ctx->out, "%-22s %s\n", "Present CPU(s) list:", present);
        output_text(ctx->out, "%-22s %s\n", "Possible CPU(s) list:", possible);
        output_text(ctx->out, "%-22s %u\n", "Thread(s) per core:", topo->threads_per_core);
        output_text(ctx->out, "%-22s %u\n", "Core(s) per socket:", topo->cores_per_socket);
        output_text(ctx->out, "%-22s %u\n", "Socket(s):", topo->sockets);
    }
    return CTL_EXIT_OK;
}
