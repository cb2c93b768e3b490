/* cmd_guest_set.c: `hotcpu-ctl guest-set DOMAIN COUNT`: the agent alone.
 *
 * It changes the guest, so it keeps set's rules for that: one change of a
 * domain at a time (set's lock) and a record in the audit log of what was
 * asked and what the guest answered (issue 18). */
#include "agent_client.h"
#include "audit.h"
#include "ctl_util.h"
#include "domain_lock.h"

typedef struct {
    CtlContext *ctx;
    CtlDomain *d;
    guint count;
    AuditLog *audit;
    AuditRecord rec;
    char uuid[VIR_UUID_STRING_BUFLEN];
} GuestSetRun;

/* {"guest-agent": NAME}, for a failure's JSON. */
static JsonObject *
agent_json(CtlDomain *d)
{
    JsonObject *obj = json_object_new();

    json_object_set_string_member(obj, "guest-agent", guest_agent_name(guest_kind(d->guest)));
    return obj;
}

/* Records the run (when the audit log is open) and reports a failure with
 * @msg (taken); returns @exit_code. */
static int
fail(GuestSetRun *run, int exit_code, const char *outcome, char *msg)
{
    g_autofree char *text = msg;
    g_autoptr(GError) err = NULL;

    run->rec.exit_code = exit_code;
    run->rec.outcome = outcome;
    run->rec.error = text;
    run->rec.guest_agent = guest_agent_name(guest_kind(run->d->guest));
    if (run->audit) {
        if (!audit_write(run->audit, &run->rec, &err))
            output_warning(run->ctx->out, "%s", err->message);
        audit_syslog(&run->rec);
    }
    return output_fail(run->ctx->out, exit_code, agent_json(run->d), "%s", text);
}

static int
report_refusal(GuestSetRun *run, const GError *error)
{
    CtlDomain *d = run->d;

    if (error->domain == PROTO_ERROR) {
        /* The agent answered and refused: InvalidParameter and Busy change
         * nothing; OperationFailed was rolled back (by hotcpu-agent, or by
         * us for qemu-ga). */
        gboolean failed = error->code == PROTO_ERROR_OPERATION_FAILED;

        return fail(run, failed ? CTL_EXIT_HYPERVISOR : CTL_EXIT_REFUSED,
                    failed ? "failed" : "refused",
                    g_strdup_printf("%s of domain '%s' refused %u online CPUs: %s",
                                    guest_agent_label(guest_kind(d->guest)), d->name, run->count,
                                    error->message));
    }
    if (g_error_matches(error, GUEST_ERROR, GUEST_ERROR_UNSUPPORTED)) /* qemu-ga in Windows */
        return fail(run, CTL_EXIT_REFUSED, "refused", g_strdup(error->message));
    /* Not answering, and answering what cannot be true (GUEST_ERROR_IMPLAUSIBLE):
     * the guest's side is unknown either way. */
    return fail(run, CTL_EXIT_NO_AGENT,
                g_error_matches(error, GUEST_ERROR, GUEST_ERROR_IMPLAUSIBLE) ? "implausible"
                                                                             : "no-agent",
                guest_unreachable_message(d->guest, d->name, error));
}

/* The audit log and the domain's lock; CTL_EXIT_OK or the exit code after
 * reporting (nothing changed). */
static int
guest_set_open(GuestSetRun *run, DomainLock **lock)
{
    g_autoptr(GError) error = NULL;

    if (!(run->audit = audit_open(run->ctx->audit_log, &error)))
        return output_fail(run->ctx->out, CTL_EXIT_REFUSED, NULL, "%s; nothing changed",
                           error->message);
    if (virDomainGetUUIDString(run->d->dom, run->uuid) == 0)
        run->rec.uuid = run->uuid;
    if (!(*lock = domain_lock_acquire(run->ctx->lock_dir, run->rec.uuid, &error))) {
        if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_BUSY))
            return fail(run, CTL_EXIT_REFUSED, "refused",
                        g_strdup_printf("another hotcpu-ctl command is already changing domain "
                                        "'%s'; try again when it has finished; nothing changed",
                                        run->d->name));
        return fail(run, CTL_EXIT_REFUSED, "refused",
                    g_strdup_printf("%s; nothing changed", error->message));
    }
    return CTL_EXIT_OK;
}

static int
cmd_guest_set(CtlContext *ctx, const CmdArgs *args)
{
    g_auto(CtlDomain) d = { 0 };
    GuestSetRun run = { ctx, &d, cmd_arg_uint(args, "count", 0) };
    g_autoptr(DomainLock) lock = NULL;
    g_autoptr(GError) error = NULL;
    g_autoptr(Topology) topo = NULL;
    g_autofree char *online = NULL;
    JsonObject *obj;
    int rc;

    if ((rc = ctl_domain_open(ctx, args, "", &d)) != CTL_EXIT_OK)
        return rc;
    if (run.count < 1)
        return output_fail(ctx->out, CTL_EXIT_REFUSED, NULL,
                           "requested 0 CPUs but domain '%s' needs at least 1 online", d.name);
    run.rec.command = "guest-set";
    run.rec.domain = d.name;
    run.rec.previous = run.rec.actual = virDomainGetVcpusFlags(d.dom, VIR_DOMAIN_AFFECT_LIVE);
    run.rec.requested = (gint)run.count;
    run.rec.guest = "unconfirmed";
    run.rec.guest_online = run.rec.guest_present = -1;
    if ((rc = guest_set_open(&run, &lock)) != CTL_EXIT_OK) {
        g_clear_pointer(&run.audit, audit_close);
        return rc;
    }
    if (!(topo = guest_set_num_cpus(d.guest, run.count, 0, &error))) {
        rc = report_refusal(&run, error);
        g_clear_pointer(&run.audit, audit_close);
        return rc;
    }

    run.rec.guest = "confirmed";
    run.rec.guest_online = (gint)cpulist_count(topo->online);
    run.rec.guest_present = (gint)cpulist_count(topo->present);
    run.rec.guest_agent = guest_agent_name(guest_kind(d.guest));
    run.rec.exit_code = CTL_EXIT_OK;
    run.rec.outcome = "done";
    {
        g_autoptr(GError) err = NULL;

        if (!audit_write(run.audit, &run.rec, &err))
            output_warning(ctx->out, "%s", err->message);
        audit_syslog(&run.rec);
        g_clear_pointer(&run.audit, audit_close);
    }
    online = cpulist_format(topo->online);
    obj = json_object_new();
    json_object_set_string_member(obj, "domain", d.name);
    json_object_set_int_member(obj, "requested", run.count);
    json_object_set_member(obj, "topology", topology_to_json(topo));
    json_object_set_string_member(obj, "guest-agent", guest_agent_name(guest_kind(d.guest)));
    json_object_set_int_member(obj, "exit", 0);
    output_text(ctx->out, "Domain '%s': the guest has %u CPUs online (%s) of %u present (%s).\n",
                d.name, cpulist_count(topo->online), online, cpulist_count(topo->present),
                guest_agent_name(guest_kind(d.guest)));
    output_result(ctx->out, obj);
    return CTL_EXIT_OK;
}

static const CmdOptDef opts_guest_set[] = {
    CMD_OPT_DOMAIN,
    { "count", OPT_UINT, TRUE, TRUE, "count", "number of CPUs the guest should have online" },
    { NULL },
};
CMD_OPTS_FIT(opts_guest_set);

const CmdDef cmd_guest_set_def = {
    .name = "guest-set",
    .handler = cmd_guest_set,
    .opts = opts_guest_set,
    .summary = "online or offline CPUs inside the guest",
    .description = "Asks the guest agent alone to have COUNT CPUs online; libvirt is not changed.",
};
