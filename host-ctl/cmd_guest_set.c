/* cmd_guest_set.c: `hotcpu-ctl guest-set DOMAIN COUNT`: the agent alone. */
#include "agent_client.h"
#include "ctl_util.h"

/* {"guest-agent": NAME}, for a failure's JSON. */
static JsonObject *
agent_json(CtlDomain *d)
{
    JsonObject *obj = json_object_new();

    json_object_set_string_member(obj, "guest-agent", guest_agent_name(guest_kind(d->guest)));
    return obj;
}

static int
report_refusal(CtlContext *ctx, CtlDomain *d, guint count, const GError *error)
{
    g_autofree char *msg = NULL;

    if (error->domain == PROTO_ERROR) {
        /* The agent answered and refused: InvalidParameter and Busy change
         * nothing; OperationFailed was rolled back (by hotcpu-agent, or by
         * us for qemu-ga). */
        int code
            = error->code == PROTO_ERROR_OPERATION_FAILED ? CTL_EXIT_HYPERVISOR : CTL_EXIT_REFUSED;
        return output_fail(ctx->out, code, agent_json(d),
                           "%s of domain '%s' refused %u online CPUs: %s",
                           guest_agent_label(guest_kind(d->guest)), d->name, count, error->message);
    }
    if (g_error_matches(error, GUEST_ERROR, GUEST_ERROR_UNSUPPORTED)) /* qemu-ga in Windows */
        return output_fail(ctx->out, CTL_EXIT_REFUSED, agent_json(d), "%s", error->message);
    /* Not answering, and answering what cannot be true (GUEST_ERROR_IMPLAUSIBLE):
     * the guest's side is unknown either way. */
    msg = guest_unreachable_message(d->guest, d->name, error);
    return output_fail(ctx->out, CTL_EXIT_NO_AGENT, agent_json(d), "%s", msg);
}

int
cmd_guest_set(CtlContext *ctx, const CmdArgs *args)
{
    guint count = cmd_arg_uint(args, "count", 0);
    g_auto(CtlDomain) d = { 0 };
    g_autoptr(GError) error = NULL;
    g_autoptr(Topology) topo = NULL;
    g_autofree char *online = NULL;
    JsonObject *obj;
    int rc;

    if ((rc = ctl_domain_open(ctx, args, "", &d)) != CTL_EXIT_OK)
        return rc;
    if (count < 1)
        return output_fail(ctx->out, CTL_EXIT_REFUSED, NULL,
                           "requested 0 CPUs but domain '%s' needs at least 1 online", d.name);
    if (!(topo = guest_set_num_cpus(d.guest, count, 0, &error)))
        return report_refusal(ctx, &d, count, error);

    online = cpulist_format(topo->online);
    obj = json_object_new();
    json_object_set_string_member(obj, "domain", d.name);
    json_object_set_int_member(obj, "requested", count);
    json_object_set_member(obj, "topology", topology_to_json(topo));
    json_object_set_string_member(obj, "guest-agent", guest_agent_name(guest_kind(d.guest)));
    json_object_set_int_member(obj, "exit", 0);
    output_text(ctx->out, "Domain '%s': the guest has %u CPUs online (%s) of %u present (%s).\n",
                d.name, cpulist_count(topo->online), online, cpulist_count(topo->present),
                guest_agent_name(guest_kind(d.guest)));
    output_result(ctx->out, obj);
    return CTL_EXIT_OK;
}
