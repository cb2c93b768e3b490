/* cmd_guest_set.c: `hotcpu-ctl guest-set DOMAIN COUNT`: the agent alone. */
#include "agent_client.h"
#include "agent_hint.h"
#include "ctl.h"
#include "guest.h"
#include "virt_util.h"

int
cmd_guest_set(CtlContext *ctx, const CmdArgs *args)
{
    const char *name = cmd_arg_string(args, "domain");
    guint count = cmd_arg_uint(args, "count", 0);
    g_autoptr(virConnect) conn = NULL;
    g_autoptr(virDomain) dom = NULL;
    g_autoptr(DomainInfo) info = NULL;
    g_autoptr(GError) error = NULL;
    g_autoptr(Topology) topo = NULL;
    g_autofree char *online = NULL;
    JsonObject *obj;
    int rc = 0;

    if (!(dom = ctl_open_domain(ctx, name, TRUE, &conn, &rc, &error)))
        return output_fail_error(ctx->out, rc, NULL, error);
    name = virDomainGetName(dom);
    if (virDomainIsActive(dom) != 1)
        return output_fail(ctx->out, CTL_EXIT_REFUSED, NULL, "domain '%s' is not running", name);
    if (count < 1)
        return output_fail(ctx->out, CTL_EXIT_REFUSED, NULL,
                           "requested 0 CPUs but domain '%s' needs at least 1 online", name);
    if (!(info = ctl_domain_info(dom, NULL, &error)))
        return output_fail_error(ctx->out, CTL_EXIT_HYPERVISOR, NULL, error);
    if (!info->agent_socket) {
        g_autofree char *msg = agent_unreachable_message(name, NULL, NULL);
        return output_fail(ctx->out, CTL_EXIT_NO_AGENT, NULL, "%s", msg);
    }
    topo = guest_set_num_cpus(info->agent_socket, count, 0, &error);
    if (!topo) {
        if (error->domain == PROTO_ERROR) {
            /* The agent answered and refused: InvalidParameter and Busy change
             * nothing; OperationFailed was rolled back by the agent. */
            int code = error->code == PROTO_ERROR_OPERATION_FAILED ? CTL_EXIT_HYPERVISOR
                                                                   : CTL_EXIT_REFUSED;
            return output_fail(ctx->out, code, NULL,
                               "the hotcpu agent of domain '%s' refused %u online CPUs: %s", name,
                               count, error->message);
        }
        {
            g_autofree char *msg = agent_unreachable_message(name, info->agent_socket, error);
            return output_fail(ctx->out, CTL_EXIT_NO_AGENT, NULL, "%s", msg);
        }
    }
    online = cpulist_format(topo->online);
    obj = json_object_new();
    json_object_set_string_member(obj, "domain", name);
    json_object_set_int_member(obj, "requested", count);
    json_object_set_member(obj, "topology", topology_to_json(topo));
    json_object_set_int_member(obj, "exit", 0);
    output_text(ctx->out, "Domain '%s': the guest has %u CPUs online (%s) of %u present.\n", name,
                cpulist_count(topo->online), online, cpulist_count(topo->present));
    output_result(ctx->out, obj);
    return CTL_EXIT_OK;
}
