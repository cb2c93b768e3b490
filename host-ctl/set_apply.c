/* set_apply.c: the change itself: virDomainSetVcpusFlags, and the
 * convergence loop when libvirt gives up half way. */
#include <string.h>

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
 * for: retry at once. */
static gboolean
converge(SetRun *run)
{
    /* At least one retry even when the deadline has passed: it is what
     * makes libvirt's count right, and the record must not be wrong. */
    for (guint attempt = 0; attempt == 0 || deadline_ms_left(run->deadline) > 0; attempt++) {
        gint view = virDomainGetVcpusFlags(run->dom, VIR_DOMAIN_AFFECT_LIVE);
        gint64 settle = MIN(run->deadline, deadline_after_ms(SET_SETTLE_MS));
        gint present = run->agent != GUEST_AGENT_NONE
                           ? guest_wait_present(run->guest, run->count, view, settle)
                           : -1;

        if (present >= 0)
            run->rec.guest_present = present;
        if (virDomainSetVcpusFlags(run->dom, run->count, VIR_DOMAIN_AFFECT_LIVE) == 0)
            return TRUE;
        g_free(run->error);
        run->error = g_strdup(virt_last_error());
    }
    return FALSE;
}

gboolean
set_apply(SetRun *run)
{
    g_autofree char *err_text = NULL;
    int code, now;

    run->deadline = deadline_after_ms((guint64)run->timeout * 1000);
    if (virDomainSetVcpusFlags(run->dom, run->count, VIR_DOMAIN_AFFECT_LIVE) == 0) {
        run->converged = TRUE;
        run->rec.actual = virDomainGetVcpusFlags(run->dom, VIR_DOMAIN_AFFECT_LIVE);
        return TRUE;
    }
    err_text = g_strdup(virt_last_error());
    code = virt_last_error_code();
    now = virDomainGetVcpusFlags(run->dom, VIR_DOMAIN_AFFECT_LIVE);
    if (!is_timeout_error(code, err_text) && now == run->live_cur) {
        /* a plain refusal by the hypervisor: nothing changed, and the guest
         * gets back what it had */
        set_restore_guest(run);
        run->rec.actual = now;
        return set_finish(run, CTL_EXIT_HYPERVISOR, "failed",
                          g_strdup_printf("libvirt could not set domain '%s' to %u vCPUs: "
                                          "%s; nothing changed",
                                          run->name, run->count, err_text));
    }
    output_warning(run->ctx->out,
                   "libvirt reported '%s' for domain '%s'; establishing the actual "
                   "vCPU count and retrying for up to %u s",
                   err_text, run->name, run->timeout);
    run->error = g_steal_pointer(&err_text);
    run->converged = converge(run);
    run->rec.actual = virDomainGetVcpusFlags(run->dom, VIR_DOMAIN_AFFECT_LIVE);
    return TRUE;
}
