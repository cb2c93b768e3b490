/* set_apply.c: the change itself: virDomainSetVcpusFlags, and the
 * convergence loop when libvirt gives up half way. */
#include <string.h>

#include "cancel.h"
#include "deadline.h"
#include "set_run.h"

/* How long one convergence turn waits for the guest to show the result of
 * a request libvirt gave up on. */
#define SET_SETTLE_MS 2000

static gboolean
is_timeout_error(int code, const char *msg)
{
    return code == VIR_ERR_OPERATION_TIMEOUT || (msg && strstr(msg, "timed out"));
}

/* After libvirt reported an unplug (or plug) timeout or a partial change:
 * keep asking for the count while the deadline allows.  libvirt 11.3
 * re-reads QEMU's vCPU slots at its next vCPU job, so the same request
 * again, once the guest has settled, both corrects libvirt's count and goes
 * on with vCPUs it did not get to.  libvirt itself waited (5 s per vCPU)
 * before it gave up, so without an agent to watch there is nothing to wait
 * for: retry at once.  Returns NONE, or the fault that ended it (the domain
 * stopped, the connection stays lost). */
static VirtFault
converge(SetRun *run)
{
    /* At least one retry even when the deadline has passed: it is what
     * makes libvirt's count right, and the record must not be wrong. */
    for (guint attempt = 0;
         (attempt == 0 || deadline_ms_left(run->deadline) > 0) && !cancel_requested(); attempt++) {
        gint view = virDomainGetVcpusFlags(run->dom, VIR_DOMAIN_AFFECT_LIVE);
        gint64 settle = MIN(run->deadline, deadline_after_ms(SET_SETTLE_MS));
        gint present = run->agent != GUEST_AGENT_NONE
                           ? guest_wait_present(run->guest, run->count, view, settle)
                           : -1;
        VirtFault fault;

        if (present >= 0)
            run->rec.guest_present = present;
        if (virDomainSetVcpusFlags(run->dom, run->count, VIR_DOMAIN_AFFECT_LIVE) == 0) {
            run->converged = TRUE;
            return VIRT_FAULT_NONE;
        }
        g_free(run->error);
        fault = set_recover(run, virt_fault_classify(run->dom, &run->error));
        if (fault == VIRT_FAULT_DOMAIN_STOPPED || fault == VIRT_FAULT_CONNECTION_LOST)
            return fault;
    }
    return VIRT_FAULT_NONE;
}

/* The live count after the change into the record; FALSE (the run ended)
 * when it cannot be read because the domain or the connection went. */
static gboolean
read_actual(SetRun *run)
{
    g_autofree char *why = NULL;
    VirtFault fault;

    run->rec.actual = virDomainGetVcpusFlags(run->dom, VIR_DOMAIN_AFFECT_LIVE);
    if (run->rec.actual >= 0)
        return TRUE;
    fault = set_recover(run, virt_fault_classify(run->dom, &why));
    if (fault == VIRT_FAULT_NONE
        && (run->rec.actual = virDomainGetVcpusFlags(run->dom, VIR_DOMAIN_AFFECT_LIVE)) >= 0)
        return TRUE;
    return set_finish_fault(run, fault == VIRT_FAULT_NONE ? VIRT_FAULT_OTHER : fault,
                            "during the change", why);
}

/* libvirt refused or gave up: a plain refusal changed nothing; a timeout
 * or a partial change goes to the convergence loop. */
static gboolean
handle_failure(SetRun *run, char *err_text, int code)
{
    VirtFault fault = set_recover(run, virt_fault_classify(run->dom, NULL));
    int now;

    if (fault == VIRT_FAULT_DOMAIN_STOPPED || fault == VIRT_FAULT_CONNECTION_LOST) {
        g_autofree char *why = err_text;
        return set_finish_fault(run, fault, "during the change", why);
    }
    now = virDomainGetVcpusFlags(run->dom, VIR_DOMAIN_AFFECT_LIVE);
    if (!run->reconnected && !is_timeout_error(code, err_text) && now == run->live_cur) {
        /* a plain refusal by the hypervisor: nothing changed, and the guest
         * gets back what it had */
        g_autofree char *why = err_text;
        run->rec.actual = now;
        return set_finish_unchanged(run, CTL_EXIT_HYPERVISOR, "failed",
                                    g_strdup_printf("libvirt could not set domain '%s' to %u "
                                                    "vCPUs: %s; nothing changed",
                                                    run->name, run->count, why));
    }
    output_warning(run->ctx->out,
                   "libvirt reported '%s' for domain '%s'; establishing the actual "
                   "vCPU count and retrying for up to %u s",
                   err_text, run->name, run->timeout);
    g_free(run->error);
    run->error = err_text;
    fault = converge(run);
    if (fault != VIRT_FAULT_NONE)
        return set_finish_fault(run, fault, "during the change", run->error);
    return read_actual(run);
}

gboolean
set_apply(SetRun *run)
{
    VirtFault fault;

    run->deadline = deadline_after_ms((guint64)run->timeout * 1000);
    /* The domain may have stopped while the before hooks ran: then no
     * further calls into it. */
    fault = set_recover(run, virt_fault_check(run->dom));
    if (fault != VIRT_FAULT_NONE)
        return set_finish_fault(run, fault, "while the before hooks ran", NULL);
    run->applied = TRUE;
    if (virDomainSetVcpusFlags(run->dom, run->count, VIR_DOMAIN_AFFECT_LIVE) == 0) {
        run->converged = TRUE;
        return read_actual(run);
    }
    return handle_failure(run, g_strdup(virt_last_error()), virt_last_error_code());
}
