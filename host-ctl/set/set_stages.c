/* set_stages.c: the stages of `set` around the change: open and lock, read
 * the domain, check, the hooks, the persistent definition. */
#include "cancel.h"
#include "checks.h"
#include "hook_env.h"
#include "policy.h"
#include "set_run.h"
#include "support_matrix.h"

static gboolean
refuse(SetRun *run, char *msg)
{
    return set_finish(run, CTL_EXIT_REFUSED, "refused", msg);
}

static gboolean
refuse_error(SetRun *run, const GError *error)
{
    return refuse(run, g_strdup(error->message));
}

static gboolean
fail_error(SetRun *run, const GError *error)
{
    return set_finish(run, CTL_EXIT_HYPERVISOR, "failed", g_strdup(error->message));
}

gboolean
set_open_and_lock(SetRun *run)
{
    g_autoptr(GError) error = NULL;
    int exit_code = CTL_EXIT_OK;
    const char *name = run->name;

    /* The audit log is opened before anything can change: a change that
     * cannot be recorded is not made.  A write that fails later, after the
     * change, only warns: the exit code then describes the domain. */
    if (!(run->audit = audit_open(run->ctx->audit_log, &error)))
        return refuse(run, g_strdup_printf("%s; nothing changed", error->message));

    set_timings_enter(&run->timings, SET_STAGE_CONNECT);
    if (!(run->dom = ctl_open_domain(run->ctx, name, FALSE, &run->conn, &exit_code, &error)))
        return set_finish(run, exit_code, exit_code == CTL_EXIT_REFUSED ? "refused" : "failed",
                          g_strdup(error->message));
    set_timings_enter(&run->timings, SET_STAGE_LOCK);
    run->name = run->rec.domain = virDomainGetName(run->dom);
    if (!(run->uri = virConnectGetURI(run->conn)))
        virResetLastError(); /* unknown: the hooks get "" */
    if (!(run->rec.hypervisor_host = run->hv_host = virConnectGetHostname(run->conn)))
        virResetLastError(); /* unknown: null in the record */
    if (virDomainGetUUIDString(run->dom, run->uuid) == 0)
        run->rec.uuid = run->uuid;

    /* one set per domain at a time */
    if (!(run->lock = domain_lock_acquire(run->ctx->lock_dir, run->rec.uuid, &error))) {
        if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_BUSY))
            return refuse(run, g_strdup_printf("another hotcpu-ctl set is already running on "
                                               "domain '%s'; try again when it has finished",
                                               run->name));
        return refuse_error(run, error);
    }
    return TRUE;
}

/* virDomainGetControlInfo's state, -1 when not supported or failing (the
 * test driver has it; job info it has not). */
/* virDomainGetControlInfo into @ci; NULL when the driver cannot say. */
static const virDomainControlInfo *
control_info(virDomainPtr dom, virDomainControlInfo *ci)
{
    if (virDomainGetControlInfo(dom, ci, 0) < 0) {
        virResetLastError();
        return NULL;
    }
    return ci;
}

/* libvirt's job on @dom: its virDomainJobType (-1: cannot say), and what
 * it does in *@operation (virDomainJobOperation, -1: not said). */
static int
job_type(virDomainPtr dom, int *operation)
{
    virTypedParameterPtr params = NULL;
    int type, nparams = 0;

    *operation = -1;
    if (virDomainGetJobStats(dom, &type, &params, &nparams, 0) < 0) {
        virResetLastError();
        return -1;
    }
    if (virTypedParamsGetInt(params, nparams, VIR_DOMAIN_JOB_OPERATION, operation) != 1)
        *operation = -1;
    virTypedParamsFree(params, nparams);
    return type;
}

/* Growing past the host's size: a warning, or the policy's refusal. */
static gboolean
check_host(SetRun *run, const Policy *policy, int current, GError **error)
{
    g_autofree char *warning = NULL;

    if (!check_host_size(policy, run->name, (guint)MAX(current, 0), run->count,
                         ctl_host_cpus(run->conn), &warning, error))
        return FALSE;
    if (warning)
        output_warning(run->ctx->out, "%s", warning);
    return TRUE;
}

/* The checks that apply to a shut-off domain's definition: sockets, the
 * maximum, the policy (going below the defined count, the host's size; not
 * allow-unplug: nothing is unplugged). */
static gboolean
check_config_offline(SetRun *run, GError **error)
{
    g_autoptr(Policy) policy = NULL;
    g_autoptr(GError) err = NULL;

    if (!check_sockets(run->info, run->name, run->req.value, run->req.sockets, &run->count, error))
        return FALSE;
    run->rec.requested = run->count;
    /* no live maximum: the persistent one is the limit (and says so) */
    if (!check_count(run->name, run->count, G_MAXINT, run->hv_max, run->info->type, TRUE,
                     run->cfg_max, error))
        return FALSE;
    if (!(policy = policy_load(run->ctx->policy, !run->ctx->policy_explicit, &err))) {
        g_set_error(error, CHECK_ERROR, CHECK_ERROR_REFUSED, "%s; nothing changed", err->message);
        return FALSE;
    }
    return check_policy(policy, run->name, run->count, run->count, run->cfg_cur, error)
           && check_host(run, policy, run->cfg_cur, error);
}

/* `set --config` on a shut-off domain: the persistent count alone, as
 * `virsh setvcpus --config` does; no hooks, no guest.  Ends the run. */
static gboolean
set_config_offline(SetRun *run)
{
    g_autoptr(GError) error = NULL;

    if (!(run->info = ctl_domain_info(run->dom, &run->xml, &error))
        || !ctl_vcpu_counts(run->dom, FALSE, &run->cfg_cur, &run->cfg_max, &error))
        return fail_error(run, error);
    /* the record's counts are the persistent definition's here */
    run->rec.previous = run->rec.actual = run->cfg_cur;
    run->hv_max = virConnectGetMaxVcpus(run->conn, run->info->type);
    if (run->hv_max < 0)
        virResetLastError();
    if (!check_config_offline(run, &error))
        return refuse_error(run, error);
    if ((int)run->count != run->cfg_cur
        && virDomainSetVcpusFlags(run->dom, run->count, VIR_DOMAIN_AFFECT_CONFIG) < 0)
        return set_finish(run, CTL_EXIT_HYPERVISOR, "failed",
                          g_strdup_printf("libvirt could not set the persistent definition of "
                                          "domain '%s' to %u vCPUs: %s; nothing changed",
                                          run->name, run->count, virt_last_error()));
    run->rec.actual = virDomainGetVcpusFlags(run->dom, VIR_DOMAIN_AFFECT_CONFIG);
    run->config_done = TRUE;
    output_text(run->ctx->out,
                "Domain '%s' is shut off: its persistent definition now has %u vCPUs (was %d); "
                "nothing live changed and no hooks ran.\n",
                run->name, run->count, run->cfg_cur);
    return set_finish(run, CTL_EXIT_OK, "done", NULL);
}

gboolean
set_read_domain(SetRun *run)
{
    g_autoptr(GError) error = NULL;
    virDomainControlInfo ci;
    int state, reason, job, operation;

    if (virDomainGetState(run->dom, &state, &reason, 0) < 0)
        return set_finish(run, CTL_EXIT_HYPERVISOR, "failed",
                          g_strdup_printf("cannot read the state of domain '%s': %s", run->name,
                                          virt_last_error()));
    if (state == VIR_DOMAIN_SHUTOFF && run->req.config)
        return set_config_offline(run);
    if (!check_domain_running(run->name, state, &error))
        return refuse_error(run, error);
    job = job_type(run->dom, &operation);
    if (!check_no_job(run->name, control_info(run->dom, &ci), job, operation, &error))
        return refuse_error(run, error);

    if (!(run->info = ctl_domain_info(run->dom, &run->xml, &error))
        || !ctl_vcpu_counts(run->dom, TRUE, &run->live_cur, &run->live_max, &error))
        return fail_error(run, error);
    run->rec.previous = run->rec.actual = run->live_cur; /* until something changes it */
    if (virDomainIsPersistent(run->dom) == 1
        && !ctl_vcpu_counts(run->dom, FALSE, &run->cfg_cur, &run->cfg_max, &error))
        return fail_error(run, error);
    run->hv_max = virConnectGetMaxVcpus(run->conn, run->info->type);
    if (run->hv_max < 0)
        virResetLastError(); /* unknown: libvirt itself will still refuse */
    return TRUE;
}

/* The guest OS as the support matrix and the agent see it. */
static gboolean
check_guest(SetRun *run, GError **error)
{
    g_autoptr(SupportMatrix) matrix = NULL;
    g_autoptr(GError) err = NULL;
    gboolean says_linux;

    if (!(matrix = support_matrix_load(run->ctx->support_matrix, &err)))
        output_warning(run->ctx->out, "%s; every guest OS counts as unknown", err->message);
    set_timings_enter(&run->timings, SET_STAGE_GUEST_PROBE);
    run->guest = ctl_guest_new(run->ctx, run->conn, run->dom, run->info);
    guest_set_live_xml(run->guest, run->xml); /* read a moment ago: no second read */
    /* --timeout bounds the guest's side too: no one call of it gets more. */
    guest_set_timeout(run->guest, MAX(run->req.timeout, 1) * 1000);
    run->agent = guest_probe(run->guest, NULL);
    run->rec.guest_agent = guest_agent_name(run->agent);
    /* The agent's word on the OS counts only for an unplug without OS
     * metadata: asking qemu-ga costs a round trip, and it runs on Windows
     * too, so it counts only when it reports Linux. */
    says_linux
        = !run->info->os_id && run->count < (guint)run->live_cur && guest_reports_linux(run->guest);
    set_timings_enter(&run->timings, SET_STAGE_CHECKS);
    return check_guest_os(matrix, run->info->os_id, run->info->arch,
                          says_linux ? GUEST_AGENT_ANSWERS : GUEST_AGENT_UNKNOWN, run->name,
                          run->live_cur, run->count, run->req.force, error);
}

/* What libvirt can reach live, before any hook could touch the guest. */
static gboolean
check_hotpluggable(SetRun *run, GError **error)
{
    g_auto(LiveRange) range = { 0 };

    live_range_compute(run->info, &range);
    return check_live_range(&range, run->name, run->count, (guint)MAX(run->cfg_max, 0), error);
}

gboolean
set_check(SetRun *run)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(Policy) policy = NULL;

    if (!check_sockets(run->info, run->name, run->req.value, run->req.sockets, &run->count, &error))
        return refuse_error(run, error);
    run->rec.requested = run->count;
    /* the domain's custom properties: a bad one refuses before anything ran */
    if (!(run->hook_vars
          = hook_env_build(run->name, run->info->hook_vars, run->req.hook_env, &error)))
        return refuse(run, g_strdup_printf("%s; nothing changed", error->message));
    if (!check_count(run->name, run->count, run->live_max, run->hv_max, run->info->type,
                     run->req.config, run->cfg_max, &error)
        || !check_hotpluggable(run, &error) || !set_node_choose(run, &error))
        return refuse_error(run, error);
    /* read before the guest checks: a broken policy refuses everything */
    if (!(policy = policy_load(run->ctx->policy, !run->ctx->policy_explicit, &error)))
        return refuse(run, g_strdup_printf("%s; nothing changed", error->message));
    if (!check_guest(run, &error)
        || !check_pins(run->info, run->name, run->live_cur, run->count, run->node_ids,
                       run->req.force, &error)
        || !check_policy(policy, run->name, run->live_cur, run->count, run->cfg_cur, &error)
        || !check_host(run, policy, run->live_cur, &error))
        return refuse_error(run, error);
    return TRUE;
}

gboolean
set_record_attempt(SetRun *run)
{
    g_autoptr(GError) error = NULL;

    run->rec.outcome = "attempt";
    run->rec.exit_code = -1;
    run->rec.hooks = run->hooks;
    if (audit_write(run->audit, &run->rec, &error))
        return TRUE;
    /* Unrecorded, nothing may change.  The log just failed: the refusal
     * goes to syslog and the terminal only. */
    g_clear_pointer(&run->audit, audit_close);
    return set_finish(run, CTL_EXIT_REFUSED, "refused",
                      g_strdup_printf("%s; nothing changed", error->message));
}

gboolean
set_before_hooks(SetRun *run)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *why = NULL;

    if (!(run->domxml_path = hook_domxml_write(run->xml, &error)))
        return refuse(
            run, g_strdup_printf("cannot write the domain XML for the hooks: %s", error->message));
    run->roots = hooks_roots(run->ctx->hooks_dir);
    run->env.domxml_path = run->domxml_path;
    run->env.vm_id = run->rec.uuid;
    run->env.vm_name = run->name;
    run->env.number_of_cpus = run->count;
    run->env.previous_number_of_cpus = run->live_cur;
    run->env.agent_socket = ctl_local_agent_socket(run->conn, run->info);
    run->env.libvirt_uri = run->uri;
    run->env.custom = run->hook_vars;
    /* No agent connection is held while hooks run: they connect themselves. */
    if (hooks_run(run->roots, HOOK_PHASE_BEFORE, &run->env, run->ctx->hook_timeout, run->hooks,
                  NULL)) {
        run->after_from = run->hooks->len;
        return TRUE;
    }
    if (cancel_requested())
        return set_interrupted(run);
    why = hook_results_describe_failures(run->hooks, 0);
    return set_finish_unchanged(run, CTL_EXIT_VETOED, "vetoed",
                                g_strdup_printf("a before hook vetoed setting domain '%s' to %u "
                                                "vCPUs: %s; nothing changed",
                                                run->name, run->count, why));
}

gboolean
set_after_hooks(SetRun *run)
{
    gboolean done = run->converged && run->rec.actual == (int)run->count;
    g_autofree char *guest = NULL;

    run->env.outcome = done ? "done" : "not-converged";
    set_run_after_hooks(run);
    if (done) {
        g_clear_pointer(&run->error, g_free);
        return TRUE;
    }
    if (run->libvirt_stale)
        return set_finish(
            run, CTL_EXIT_NOT_CONVERGED, "not-converged",
            g_strdup_printf("libvirt keeps a stale count of %d vCPUs for domain '%s' after an "
                            "unplug QEMU did not confirm: the guest has %d CPUs present, %u were "
                            "requested, and libvirt refuses further changes (%s); restart "
                            "libvirtd to make it re-read QEMU's vCPUs, and unplug under KVM or "
                            "with libvirt 11.3 or newer",
                            run->rec.actual, run->name, run->rec.guest_present, run->count,
                            run->error ? run->error : "no error given"));
    guest = run->rec.guest_present >= 0
                ? g_strdup_printf("; the guest has %d CPUs present", run->rec.guest_present)
                : g_strdup("");
    /* Without a guest agent the stale count cannot be shown, only
     * suspected: libvirt gave up and then refused at once, every time. */
    return set_finish(
        run, CTL_EXIT_NOT_CONVERGED, "not-converged",
        g_strdup_printf("domain '%s' has %d vCPUs, not the %u requested (it had %d)%s; libvirt: "
                        "%s%s",
                        run->name, run->rec.actual, run->count, run->live_cur, guest,
                        run->error ? run->error : "the change did not converge",
                        run->libvirt_stuck && run->rec.actual > (int)run->count
                            ? "; libvirt refused every retry at once: if the guest has fewer "
                              "CPUs than libvirt counts, libvirt keeps a stale count (libvirt "
                              "9.0 after an unplug QEMU did not confirm) until libvirtd restarts"
                            : ""));
}

gboolean
set_update_config(SetRun *run)
{
    /* the persistent definition follows only a live change that succeeded */
    if (run->req.config) {
        if (virDomainSetVcpusFlags(run->dom, run->count, VIR_DOMAIN_AFFECT_CONFIG) < 0)
            return set_finish(run, CTL_EXIT_NOT_CONVERGED, "not-converged",
                              g_strdup_printf("domain '%s' now has %u live vCPUs but its "
                                              "persistent definition could not be updated: %s",
                                              run->name, run->count, virt_last_error()));
        run->config_done = TRUE;
    }
    output_text(run->ctx->out, "Domain '%s' now has %u vCPUs (was %d).\n", run->name, run->count,
                run->live_cur);
    if (run->req.config)
        output_text(run->ctx->out, "Its persistent definition was updated to %u vCPUs.\n",
                    run->count);
    return TRUE;
}
