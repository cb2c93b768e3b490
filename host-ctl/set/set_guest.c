/* set_guest.c: the guest's side of `set`: what it had before the hooks,
 * offline before an unplug, given back on "nothing changed" and on a
 * signal, and the guest's confirmation. */
#include "agent_client.h"
#include "cancel.h"
#include "set_run.h"

gboolean
set_snapshot_guest(SetRun *run)
{
    /* Before the first hook: the shipped before hook offlines CPUs too.
     * The probe's answer, a moment old, is that state: no second round trip. */
    if (run->agent != GUEST_AGENT_NONE
        && !(run->guest_before = guest_take_probed_topology(run->guest)))
        run->guest_before = guest_get_topology(run->guest, NULL);
    return TRUE;
}

gboolean
set_prepare_guest(SetRun *run)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(Topology) now = NULL;
    g_autoptr(Topology) after = NULL;

    /* An unplug goes quicker and gentler when the guest offlines the CPUs
     * itself first; the kernel would otherwise do it on the ACPI eject. */
    if ((guint)run->live_cur <= run->count || run->agent == GUEST_AGENT_NONE)
        return TRUE;
    now = guest_get_topology(run->guest, NULL);
    if (!now || cpulist_count(now->online) <= run->count)
        return TRUE;
    if (!(after = guest_set_num_cpus(run->guest, run->count, 0, &error))
        && !g_error_matches(error, AGENT_CLIENT_ERROR, AGENT_CLIENT_ERROR_CANCELLED))
        output_warning(run->ctx->out,
                       "the guest of domain '%s' could not offline CPUs before the unplug through "
                       "%s (%s); the guest kernel will do it",
                       run->name, guest_agent_name(run->agent), error->message);
    return TRUE;
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

/* The guest's side is unconfirmed: @why (taken) says why. */
static gboolean
unconfirmed_because(SetRun *run, char *why)
{
    g_autofree char *owned = why;

    run->rec.guest = "unconfirmed";
    if (run->require_guest)
        return set_finish(run, CTL_EXIT_NO_AGENT, "unconfirmed",
                          g_strdup_printf("domain '%s' has %u vCPUs, but the guest side is "
                                          "unconfirmed: %s",
                                          run->name, run->count, why));
    output_warning(run->ctx->out, "the guest side is unconfirmed: %s", why);
    return set_finish(run, CTL_EXIT_OK, "done", NULL);
}

static gboolean
unconfirmed(SetRun *run, const GError *error)
{
    return unconfirmed_because(run, guest_unreachable_message(run->guest, run->name, error));
}

/* Waits for the guest to reach the count.  When it does not, asks whether
 * the domain or the connection went away meanwhile: *fault says so (after
 * one reconnect, the wait goes on over the new connection). */
static GuestWaitResult
wait_guest(SetRun *run, Topology **seen, VirtFault *fault, GError **error)
{
    for (;;) {
        virDomainPtr before = run->dom;
        GuestWaitResult r;

        g_clear_pointer(seen, topology_free);
        g_clear_error(error);
        r = guest_wait_count(run->guest, run->count, run->deadline, seen, error);
        *fault = VIRT_FAULT_NONE;
        if (r == GUEST_WAIT_REACHED || cancel_requested())
            return r;
        *fault = set_recover(run, virt_fault_check(run->dom));
        if (run->dom == before || *fault != VIRT_FAULT_NONE)
            return r;
    }
}

gboolean
set_confirm_guest(SetRun *run)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(Topology) seen = NULL;
    GuestWaitResult r;
    VirtFault fault;

    r = wait_guest(run, &seen, &fault, &error);
    if (seen) {
        run->rec.guest_online = cpulist_count(seen->online);
        run->rec.guest_present = cpulist_count(seen->present);
        run->rec.guest_agent = guest_agent_name(guest_kind(run->guest));
    }
    if (cancel_requested())
        return set_interrupted(run);
    if (fault == VIRT_FAULT_DOMAIN_STOPPED || fault == VIRT_FAULT_CONNECTION_LOST)
        return set_finish_fault(run, fault, "while its guest was confirming the change", NULL);
    if (r == GUEST_WAIT_REACHED) {
        run->rec.guest = "confirmed";
        output_text(run->ctx->out, "The guest confirmed %u CPUs present and online (%s).\n",
                    run->count, guest_agent_name(guest_kind(run->guest)));
        return set_finish(run, CTL_EXIT_OK, "done", NULL);
    }
    if (r == GUEST_WAIT_NO_AGENT)
        return unconfirmed(run, error);
    if (r == GUEST_WAIT_IMPLAUSIBLE) {
        run->rec.guest = "unconfirmed";
        return set_finish(run, CTL_EXIT_NO_AGENT, "implausible",
                          g_strdup_printf("domain '%s' has %u vCPUs, but %s", run->name, run->count,
                                          error->message));
    }
    if (r == GUEST_WAIT_REFUSED) /* qemu-ga in Windows: it answers, it cannot */
        return unconfirmed_because(run, g_strdup(error->message));
    run->rec.guest = "unconfirmed";
    return set_finish(run, CTL_EXIT_NOT_CONVERGED, "not-converged",
                      g_strdup_printf("domain '%s' has %u vCPUs but after %u s its guest has %d "
                                      "CPUs online and %d present, not %u%s%s",
                                      run->name, run->count, run->timeout, run->rec.guest_online,
                                      run->rec.guest_present, run->count, error ? ": " : "",
                                      error ? error->message : ""));
}
