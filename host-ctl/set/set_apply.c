/* set_apply.c: the change itself: virDomainSetVcpusFlags, and the
 * convergence loop when libvirt gives up half way. */
#include <string.h>

#include "cancel.h"
#include "deadline.h"
#include "set_run.h"

/* How long one convergence turn waits for the guest to show the result of
 * a request libvirt gave up on. */
#define SET_SETTLE_MS 2000
/* The pause before the second retry, doubled each retry up to the last. */
#define SET_RETRY_PAUSE_MS 250
#define SET_RETRY_PAUSE_MAX_MS 4000
/* A failure this quick: libvirt waited for nothing (QEMU refused at once). */
#define SET_FAILED_AT_ONCE_MS 1000

static gboolean
is_timeout_error(int code, const char *msg)
{
    return code == VIR_ERR_OPERATION_TIMEOUT || (msg && strstr(msg, "timed out"));
}

/* The guest's present CPUs asked now; -1 without an agent that answers. */
static gint
guest_present_now(SetRun *run)
{
    g_autoptr(Topology) t = NULL;

    if (run->agent == GUEST_AGENT_NONE || !(t = guest_get_topology(run->guest, NULL)))
        return -1;
    return (gint)cpulist_count(t->present);
}

/* After an unplug libvirt failed with @code (a timeout, or an error it did
 * not report: VIR_ERR_INTERNAL_ERROR): libvirt counts @libvirt_count vCPUs
 * but the guest has fewer present.  QEMU removed a vCPU libvirt did not see go
 * (libvirt 9.0 under TCG: it waits 5 s for a DEVICE_DELETED QEMU never
 * sends, and re-reads QEMU's vCPUs only when libvirtd reconnects); its
 * count stays wrong whatever we ask. */
static gboolean
libvirt_count_stale(SetRun *run, gint libvirt_count, int code)
{
    gint present;

    if (code != VIR_ERR_OPERATION_TIMEOUT && code != VIR_ERR_INTERNAL_ERROR)
        return FALSE;
    if (libvirt_count < 0 || (guint)libvirt_count <= run->count)
        return FALSE;
    present = guest_present_now(run);
    if (present < 0 || present >= libvirt_count)
        return FALSE;
    run->rec.guest_present = present;
    return TRUE;
}

/* After libvirt reported an unplug (or plug) timeout or a partial change:
 * keep asking for the count while the deadline allows.  libvirt 11.3
 * re-reads QEMU's vCPU slots at its next vCPU job, so the same request
 * again, once the guest has settled, both corrects libvirt's count and goes
 * on with vCPUs it did not get to.  The first retry goes at once (libvirt
 * itself waited 5 s per vCPU before it gave up); later ones back off.  A
 * retry that fails at once, the same way as the try before it, with
 * libvirt's count unchanged, ends the loop: libvirt will not move (libvirt
 * 9.0 after a timed-out unplug).  *@code and run->error are the failure
 * that brought us here, then the last one.  Returns NONE, or the fault that
 * ended it (the domain stopped, the connection stays lost). */
static VirtFault
converge(SetRun *run, int *code)
{
    g_autofree char *last = g_strdup(run->error);
    guint pause = SET_RETRY_PAUSE_MS;

    /* At least one retry even when the deadline has passed: it is what
     * makes libvirt's count right, and the record must not be wrong. */
    for (guint attempt = 0;
         (attempt == 0 || deadline_ms_left(run->deadline) > 0) && !cancel_requested(); attempt++) {
        gint view = virDomainGetVcpusFlags(run->dom, VIR_DOMAIN_AFFECT_LIVE);
        gint64 settle = MIN(run->deadline, deadline_after_ms(SET_SETTLE_MS));
        gint64 began = g_get_monotonic_time();
        gint present = run->agent != GUEST_AGENT_NONE
                           ? guest_wait_present(run->guest, run->count, view, settle)
                           : -1;
        gboolean at_once;
        VirtFault fault;

        if (present >= 0)
            run->rec.guest_present = present;
        if (attempt > 0) {
            guint waited = (guint)((g_get_monotonic_time() - began) / 1000);

            if (waited < pause
                && !cancel_sleep_ms(MIN(pause - waited, deadline_ms_left(run->deadline))))
                break;
            pause = MIN(pause * 2, SET_RETRY_PAUSE_MAX_MS);
        }
        began = g_get_monotonic_time();
        if (virDomainSetVcpusFlags(run->dom, run->count, VIR_DOMAIN_AFFECT_LIVE) == 0) {
            run->converged = TRUE;
            return VIRT_FAULT_NONE;
        }
        at_once = g_get_monotonic_time() - began < SET_FAILED_AT_ONCE_MS * 1000;
        *code = virt_last_error_code();
        g_free(run->error);
        fault = set_recover(run, virt_fault_classify(run->dom, &run->error));
        if (fault == VIRT_FAULT_DOMAIN_STOPPED || fault == VIRT_FAULT_CONNECTION_LOST)
            return fault;
        if (at_once && g_strcmp0(run->error, last) == 0
            && virDomainGetVcpusFlags(run->dom, VIR_DOMAIN_AFFECT_LIVE) == view) {
            g_debug("libvirt failed again at once the same way (code %d): no more retries", *code);
            run->libvirt_stuck = TRUE;
            return VIRT_FAULT_NONE;
        }
        g_free(last);
        last = g_strdup(run->error);
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
    /* libvirt's count may already be wrong (an earlier unplug QEMU did not
     * confirm): then this is not "nothing changed" */
    run->libvirt_stale = now == run->live_cur && libvirt_count_stale(run, now, code);
    if (!run->reconnected && !is_timeout_error(code, err_text) && now == run->live_cur
        && !run->libvirt_stale) {
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
                   err_text, run->name, run->req.timeout);
    g_free(run->error);
    run->error = err_text;
    fault = converge(run, &code);
    if (fault != VIRT_FAULT_NONE)
        return set_finish_fault(run, fault, "during the change", run->error);
    if (!read_actual(run))
        return FALSE;
    run->libvirt_stale = !run->converged && libvirt_count_stale(run, run->rec.actual, code);
    run->rec.libvirt_stale = run->libvirt_stale;
    return TRUE;
}

/* --node: virDomainSetVcpu of exactly run->node_ids.  Under TCG an unplug
 * times out in libvirt as the count path's does (the guest ejects the vCPU,
 * QEMU sends no DEVICE_DELETED): the same ids are asked again, once the
 * guest's present count has had time to move, until libvirt counts the
 * change or fails again at once the same way, or the deadline. */
gboolean
set_node_apply(SetRun *run)
{
    gboolean plug = run->count > (guint)run->live_cur;
    g_autofree char *why = NULL;
    guint pause = SET_RETRY_PAUSE_MS;
    int code, now;

    if (virDomainSetVcpu(run->dom, run->node_ids_text, plug ? 1 : 0, VIR_DOMAIN_AFFECT_LIVE) == 0) {
        run->converged = TRUE;
        return read_actual(run);
    }
    why = g_strdup(virt_last_error());
    code = virt_last_error_code();
    now = virDomainGetVcpusFlags(run->dom, VIR_DOMAIN_AFFECT_LIVE);
    if (now == run->live_cur && !is_timeout_error(code, why)) {
        run->rec.actual = now;
        return set_finish_unchanged(run, CTL_EXIT_HYPERVISOR, "failed",
                                    g_strdup_printf("libvirt could not %s vCPU%s %s of NUMA cell "
                                                    "%u of domain '%s': %s; nothing changed",
                                                    plug ? "enable" : "disable",
                                                    cpulist_count(run->node_ids) == 1 ? "" : "s",
                                                    run->node_ids_text, run->req.node, run->name,
                                                    why));
    }
    output_warning(run->ctx->out,
                   "libvirt reported '%s' for vCPUs %s of domain '%s'; establishing the actual "
                   "state and retrying for up to %u s",
                   why, run->node_ids_text, run->name, run->req.timeout);
    for (guint attempt = 0; (attempt == 0 || deadline_ms_left(run->deadline) > 0)
                            && now != (int)run->count && !cancel_requested();
         attempt++) {
        gint64 settle = MIN(run->deadline, deadline_after_ms(SET_SETTLE_MS));
        gint64 began;
        gboolean at_once;
        g_autofree char *again = NULL;

        if (run->agent != GUEST_AGENT_NONE)
            guest_wait_present(run->guest, run->count, now, settle);
        if (attempt > 0) {
            if (!cancel_sleep_ms(MIN(pause, deadline_ms_left(run->deadline))))
                break;
            pause = MIN(pause * 2, SET_RETRY_PAUSE_MAX_MS);
        }
        began = g_get_monotonic_time();
        if (virDomainSetVcpu(run->dom, run->node_ids_text, plug ? 1 : 0, VIR_DOMAIN_AFFECT_LIVE)
            == 0) {
            now = (int)run->count;
            break;
        }
        at_once = g_get_monotonic_time() - began < SET_FAILED_AT_ONCE_MS * 1000;
        again = g_strdup(virt_last_error());
        /* libvirt, having re-read QEMU's vCPUs, may refuse the ids as
         * already changed: its count says */
        now = virDomainGetVcpusFlags(run->dom, VIR_DOMAIN_AFFECT_LIVE);
        if (now == (int)run->count)
            break;
        if (at_once && g_strcmp0(again, why) == 0)
            break;
        g_free(why);
        why = g_steal_pointer(&again);
    }
    if (!read_actual(run))
        return FALSE;
    if (run->rec.actual == (gint)run->count) {
        run->converged = TRUE;
        return TRUE;
    }
    run->rec.guest = "unconfirmed";
    return set_finish(run, CTL_EXIT_NOT_CONVERGED, "not-converged",
                      g_strdup_printf("libvirt did not %s vCPU%s %s of NUMA cell %u of domain "
                                      "'%s' (%s): it has %d vCPUs, not %u",
                                      plug ? "enable" : "disable",
                                      cpulist_count(run->node_ids) == 1 ? "" : "s",
                                      run->node_ids_text, run->req.node, run->name, why,
                                      run->rec.actual, run->count));
}

gboolean
set_apply(SetRun *run)
{
    VirtFault fault;

    run->deadline = deadline_after_ms((guint64)run->req.timeout * 1000);
    /* The domain may have stopped while the before hooks ran: then no
     * further calls into it. */
    fault = set_recover(run, virt_fault_check(run->dom));
    if (fault != VIRT_FAULT_NONE)
        return set_finish_fault(run, fault, "while the before hooks ran", NULL);
    run->applied = TRUE;
    if (run->node_ids)
        return set_node_apply(run);
    if (virDomainSetVcpusFlags(run->dom, run->count, VIR_DOMAIN_AFFECT_LIVE) == 0) {
        run->converged = TRUE;
        return read_actual(run);
    }
    return handle_failure(run, g_strdup(virt_last_error()), virt_last_error_code());
}
