/* set_end.c: every way `set` ends.  set_finish() is the single exit: it
 * writes the one audit record and prints the one result; the others say
 * what happened and end through it: nothing changed (the guest gets its
 * CPUs back), a signal, the domain or the connection going away in the
 * middle (reconnect once when libvirtd restarted, else end with the
 * truth).  The after hooks run once, whatever the ending.
 *
 * Every libvirt call after the first can fail because QEMU died (an OOM
 * kill, `virsh destroy`) or libvirtd restarted.  The user then reads one
 * sentence naming the domain and what is known, the after hooks still run
 * with the outcome in HOTCPU_OUTCOME, and the record's count is null when
 * it is not known: never -1.
 */
#include "set_run.h"

#include "cancel.h"
#include "deadline.h"

static JsonObject *
set_result_json(SetRun *run)
{
    JsonObject *obj = audit_record_to_json(&run->rec);

    /* what a script needs; the time/user bookkeeping stays in the log */
    json_object_remove_member(obj, "time");
    json_object_remove_member(obj, "user");
    json_object_remove_member(obj, "host");
    json_object_remove_member(obj, "uid");
    json_object_remove_member(obj, "sudo-user");
    json_object_remove_member(obj, "command");
    json_object_remove_member(obj, "error");
    json_object_remove_member(obj, "exit");
    json_object_set_boolean_member(obj, "config-updated", run->config_done);
    if (run->req.timings)
        json_object_set_object_member(obj, "timings", set_timings_to_json(&run->timings));
    return obj;
}

gboolean
set_finish(SetRun *run, int exit_code, const char *outcome, char *msg)
{
    g_autoptr(GError) error = NULL;

    set_timings_enter(&run->timings, SET_STAGE_AUDIT);
    g_free(run->error);
    run->error = msg;
    run->exit_code = exit_code;
    run->rec.exit_code = exit_code;
    run->rec.outcome = outcome;
    run->rec.error = msg;
    run->rec.hooks = run->hooks;

    /* The record never decides the exit code once something may have
     * changed: the code must describe the domain.  The log was opened before
     * any change (set_open_and_lock), so a failure here is a disk error. */
    if (run->audit && !audit_write(run->audit, &run->rec, &error))
        output_warning(run->ctx->out, "%s", error->message);
    audit_syslog(&run->rec);
    set_timings_end(&run->timings);
    if (run->req.timings) {
        g_autofree char *text = set_timings_format(&run->timings);
        output_text(run->ctx->out, "%s", text);
    }

    if (exit_code == CTL_EXIT_OK) {
        JsonObject *obj = set_result_json(run);
        json_object_set_int_member(obj, "exit", 0);
        output_result(run->ctx->out, obj);
    } else {
        output_fail(run->ctx->out, exit_code, set_result_json(run), "%s", msg);
    }
    return FALSE;
}

/* Gives the guest back the online set it had before the first hook.
 * Returns the sentence to add to the run's message; *ok says whether the
 * guest has that set now. */
static char *
restore_guest(SetRun *run, gboolean *ok)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(Topology) now = NULL;
    g_autofree char *want = NULL;

    *ok = TRUE;
    if (!run->guest_before)
        return g_strdup(""); /* no agent answered: nothing was offlined through it */
    want = cpulist_format(run->guest_before->online);
    now = guest_get_topology(run->guest, &error);
    if (now && cpulist_equal(now->online, run->guest_before->online))
        return g_strdup("");
    g_clear_pointer(&now, topology_free);
    g_clear_error(&error);
    if ((now = guest_restore_online(run->guest, run->guest_before->online, &error))) {
        run->rec.guest_restore = "restored";
        return g_strdup_printf("; the guest has its CPUs %s online again", want);
    }
    *ok = FALSE;
    run->rec.guest_restore = "failed";
    return g_strdup_printf("; but the guest could not be given back its online CPUs %s (%s)", want,
                           error->message);
}

gboolean
set_finish_unchanged(SetRun *run, int exit_code, const char *outcome, char *msg)
{
    gboolean ok;
    g_autofree char *note = restore_guest(run, &ok);
    g_autofree char *text = msg;

    if (!ok)
        exit_code = CTL_EXIT_NOT_CONVERGED;
    return set_finish(run, exit_code, outcome, g_strconcat(text, note, NULL));
}

gboolean
set_interrupted(SetRun *run)
{
    int sig = cancel_signal();
    g_autofree char *what = NULL;

    /* Our own cleanup may wait now (the guest, the record); a second
     * signal cuts it short. */
    cancel_acknowledge();
    if (!run->applied)
        return set_finish_unchanged(
            run, 128 + sig, "interrupted",
            g_strdup_printf("interrupted by signal %d (%s) before domain '%s' was changed; "
                            "nothing changed",
                            sig, g_strsignal(sig), run->name));
    run->rec.actual = virDomainGetVcpusFlags(run->dom, VIR_DOMAIN_AFFECT_LIVE);
    what = run->rec.actual >= 0 ? g_strdup_printf("it has %d vCPUs", run->rec.actual)
                                : g_strdup("its vCPU count is unknown");
    run->rec.guest = "unconfirmed";
    return set_finish(run, 128 + sig, "interrupted",
                      g_strdup_printf("interrupted by signal %d (%s) while setting domain '%s' "
                                      "to %u vCPUs: %s (it had %d); the guest's side is "
                                      "unconfirmed",
                                      sig, g_strsignal(sig), run->name, run->count, what,
                                      run->live_cur));
}

/* The after hooks' _hook_domxml: the domain as it is now.  That is the
 * live XML after the change, or the persistent XML once the domain has
 * stopped (what libvirt gives for a shut-off domain).  When it cannot be
 * read (the connection is lost, a transient domain is gone), the file
 * keeps the XML from before the change and HOTCPU_OUTCOME says why. */
static void
refresh_hook_domxml(SetRun *run)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *xml = NULL;

    if (run->domxml_path == NULL)
        return;
    if (!(xml = virDomainGetXMLDesc(run->dom, 0))) {
        virResetLastError();
        return;
    }
    if (!hook_domxml_replace(run->domxml_path, xml, &error))
        output_warning(run->ctx->out,
                       "the after hooks of domain '%s' get its XML from before the change: %s",
                       run->name, error->message);
}

void
set_run_after_hooks(SetRun *run)
{
    if (run->after_hooks_done)
        return;
    run->after_hooks_done = TRUE;
    /* a read of the domain for nobody costs a libvirt round trip */
    if (hooks_any(run->roots, HOOK_PHASE_AFTER))
        refresh_hook_domxml(run);
    /* reported, not fatal */
    if (!hooks_run(run->roots, HOOK_PHASE_AFTER, &run->env, run->ctx->hook_timeout, run->hooks,
                   NULL)) {
        g_autofree char *why = hook_results_describe_failures(run->hooks, run->after_from);
        output_warning(run->ctx->out, "after hooks failed for domain '%s': %s", run->name, why);
    }
    hook_domxml_remove(run->domxml_path);
    g_clear_pointer(&run->domxml_path, g_free);
}

VirtFault
set_recover(SetRun *run, VirtFault fault)
{
    g_autoptr(GError) error = NULL;
    virConnectPtr conn = NULL;
    virDomainPtr dom;

    if (fault != VIRT_FAULT_CONNECTION_LOST || run->reconnected)
        return fault;
    /* libvirtd restarted (or the network hiccuped): the domain may well run
     * on.  Once, within the deadline. */
    run->reconnected = TRUE;
    for (;;) {
        g_clear_error(&error);
        if ((dom = ctl_reopen_domain(run->ctx, run->uuid, &conn, &error)))
            break;
        if (deadline_ms_left(run->deadline) == 0 || !cancel_sleep_ms(500))
            return fault;
    }
    virDomainFree(run->dom);
    virConnectClose(run->conn);
    run->dom = dom;
    run->conn = conn;
    /* The name was the old handle's (virDomainGetName), freed with it;
     * the record and the hooks' vmName pointed at it too. */
    run->name = run->rec.domain = run->env.vm_name = virDomainGetName(run->dom);
    guest_set_domain(run->guest, dom);
    run->rec.reconnected = TRUE;
    output_warning(run->ctx->out,
                   "the connection to libvirtd broke during the change (libvirtd restarted?) and "
                   "was opened again; carrying on with domain '%s'",
                   run->name);
    return virt_fault_check(run->dom);
}

gboolean
set_finish_fault(SetRun *run, VirtFault fault, const char *when, const char *why)
{
    g_autofree char *what = virt_fault_describe(fault, run->name);
    g_autofree char *state = NULL;

    run->env.outcome = virt_fault_outcome(fault);
    if (!run->after_hooks_done)
        set_run_after_hooks(run);
    if (fault == VIRT_FAULT_DOMAIN_STOPPED || fault == VIRT_FAULT_CONNECTION_LOST)
        run->rec.actual = -1; /* not known: null in the record, words here */
    run->rec.guest = run->rec.guest ? run->rec.guest : "unconfirmed";
    if (fault == VIRT_FAULT_DOMAIN_STOPPED)
        state = run->applied ? g_strdup_printf("it had %d vCPUs, %u were requested, and it is no "
                                               "longer running",
                                               run->live_cur, run->count)
                             : g_strdup_printf("it had %d vCPUs, was not changed, and is no "
                                               "longer running",
                                               run->live_cur);
    else
        state = run->applied
                    ? g_strdup_printf("it had %d vCPUs and %u were requested; whether "
                                      "the change happened is not known",
                                      run->live_cur, run->count)
                    : g_strdup_printf("it had %d vCPUs and was not changed", run->live_cur);
    return set_finish(run, CTL_EXIT_NOT_CONVERGED, virt_fault_outcome(fault),
                      g_strdup_printf("%s %s: %s%s%s%s", what, when, state,
                                      why ? " (libvirt: " : "", why ? why : "", why ? ")" : ""));
}
