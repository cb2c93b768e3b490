/* set_end.c: the domain or the connection going away in the middle of
 * `set`: reconnect once when libvirtd restarted, else end with the truth.
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
