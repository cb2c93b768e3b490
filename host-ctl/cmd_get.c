/* cmd_get.c: `hotcpu-ctl get DOMAIN`. */
#include "ctl.h"
#include "guest.h"
#include "virt_util.h"

static void
add_counts(JsonObject *obj, const char *key, int current, int maximum)
{
    JsonObject *o = json_object_new();
    if (current >= 0)
        json_object_set_int_member(o, "current", current);
    else
        json_object_set_null_member(o, "current");
    if (maximum >= 0)
        json_object_set_int_member(o, "maximum", maximum);
    else
        json_object_set_null_member(o, "maximum");
    json_object_set_object_member(obj, key, o);
}

int
cmd_get(CtlContext *ctx, const CmdArgs *args)
{
    const char *name = cmd_arg_string(args, "domain");
    g_autoptr(virConnect) conn = NULL;
    g_autoptr(virDomain) dom = NULL;
    g_autoptr(DomainInfo) info = NULL;
    g_autoptr(Topology) topo = NULL;
    g_autoptr(GError) error = NULL;
    g_autoptr(GError) agent_error = NULL;
    int live_cur = -1, live_max = -1, cfg_cur = -1, cfg_max = -1;
    int rc = 0;
    gboolean active, persistent;
    JsonObject *obj;

    if (!(dom = ctl_open_domain(ctx, name, TRUE, &conn, &rc, &error)))
        return output_fail_error(ctx->out, rc, NULL, error);
    name = virDomainGetName(dom);
    active = virDomainIsActive(dom) == 1;
    persistent = virDomainIsPersistent(dom) == 1;

    if ((active && !ctl_vcpu_counts(dom, TRUE, &live_cur, &live_max, &error))
        || (persistent && !ctl_vcpu_counts(dom, FALSE, &cfg_cur, &cfg_max, &error)))
        return output_fail_error(ctx->out, CTL_EXIT_HYPERVISOR, NULL, error);

    if (active) {
        info = ctl_domain_info(dom, NULL, &error);
        if (!info)
            return output_fail_error(ctx->out, CTL_EXIT_HYPERVISOR, NULL, error);
        if (info->agent_socket)
            topo = guest_get_topology(info->agent_socket, &agent_error);
    }

    obj = json_object_new();
    json_object_set_string_member(obj, "domain", name);
    json_object_set_boolean_member(obj, "running", active);
    add_counts(obj, "live", live_cur, live_max);
    if (persistent)
        add_counts(obj, "config", cfg_cur, cfg_max);
    else
        json_object_set_null_member(obj, "config");
    if (topo) {
        JsonObject *g = json_object_new();
        json_object_set_int_member(g, "online", cpulist_count(topo->online));
        json_object_set_int_member(g, "present", cpulist_count(topo->present));
        json_object_set_object_member(obj, "guest", g);
    } else {
        json_object_set_null_member(obj, "guest");
    }
    json_object_set_int_member(obj, "exit", 0);

    /* the layout of virsh vcpucount, plus the guest's view */
    if (persistent) {
        output_text(ctx->out, "%-12s %-12s %3d\n", "maximum", "config", cfg_max);
    }
    if (active)
        output_text(ctx->out, "%-12s %-12s %3d\n", "maximum", "live", live_max);
    if (persistent)
        output_text(ctx->out, "%-12s %-12s %3d\n", "current", "config", cfg_cur);
    if (active)
        output_text(ctx->out, "%-12s %-12s %3d\n", "current", "live", live_cur);
    if (topo) {
        output_text(ctx->out, "%-12s %-12s %3u\n", "guest", "online", cpulist_count(topo->online));
        output_text(ctx->out, "%-12s %-12s %3u\n", "guest", "present",
                    cpulist_count(topo->present));
    } else if (active) {
        output_text(ctx->out, "%-12s %-12s %s\n", "guest", "online",
                    info->agent_socket ? "unknown (the hotcpu agent does not answer)"
                                       : "unknown (no org.hotcpu.agent.0 channel)");
    }
    output_result(ctx->out, obj);
    return CTL_EXIT_OK;
}
