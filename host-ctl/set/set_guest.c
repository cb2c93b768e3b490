/* set_guest.c: the guest's side of `set`: what it had before the hooks,
 * offline before an unplug, and the guest's confirmation.  Giving it back
 * what it had when nothing changed is an ending (set_end.c). */
#include "agent_client.h"
#include "cancel.h"
#include "deadline.h"
#include "set_run.h"

/* The failures of a call whose channel another client took: the connection
 * refused or closed under it.  Not a timeout, nor an answer that was too
 * big or not plausible: a hostile guest must not make set wait longer. */
static gboolean
channel_taken(const GError *error)
{
    return g_error_matches(error, AGENT_CLIENT_ERROR, AGENT_CLIENT_ERROR_IO)
           || g_error_matches(error, AGENT_CLIENT_ERROR, AGENT_CLIENT_ERROR_CONNECT);
}

gboolean
set_snapshot_guest(SetRun *run)
{
    gint64 until = deadline_after_ms(GUEST_NO_ANSWER_GRACE_MS);
    g_autoptr(GError) error = NULL;

    /* Before the first hook: the shipped before hook offlines CPUs too,
     * and only this snapshot lets a veto give them back.  The agent
     * answered the probe; another client (a page's `list` or `topology`
     * every few seconds) may take the channel mid-call, so ask again
     * rather than go on without it.  Mostly the probe's answer, a moment
     * old, is that state: no second round trip. */
    if (run->agent == GUEST_AGENT_NONE
        || (run->guest_before = guest_take_probed_topology(run->guest)))
        return TRUE;
    while (!(run->guest_before = guest_get_topology(run->guest, &error)) && channel_taken(error)
           && deadline_ms_left(until) > 0 && cancel_sleep_ms(100)) {
        g_debug("reading the guest's CPUs before the hooks: %s; asking again", error->message);
        g_clear_error(&error);
    }
    if (!run->guest_before)
        output_warning(run->ctx->out,
                       "the online CPUs of the guest of domain '%s' could not be read before the "
                       "hooks (%s): if the change does not happen, the CPUs the hooks offline "
                       "stay offline",
                       run->name, error ? error->message : "interrupted");
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
    if (!now || (!run->node_ids && cpulist_count(now->online) <= run->count))
        return TRUE;
    if (run->node_ids) {
        /* --node: exactly the CPUs of the vCPUs that leave, the others as
         * before the hooks (the shipped before hook offlines the highest
         * CPUs down to the count, not the node's) */
        g_autoptr(CpuList) want = set_node_guest_online(
            run, run->guest_before ? run->guest_before->online : now->online);

        if (cpulist_equal(now->online, want))
            return TRUE;
        after = guest_restore_online(run->guest, want, &error);
    } else
        after = guest_set_num_cpus(run->guest, run->count, 0, &error);
    if (!after && !g_error_matches(error, AGENT_CLIENT_ERROR, AGENT_CLIENT_ERROR_CANCELLED))
        output_warning(run->ctx->out,
                       "the guest of domain '%s' could not offline CPUs before the unplug through "
                       "%s (%s); the guest kernel will do it",
                       run->name, guest_agent_name(run->agent), error->message);
    return TRUE;
}

/* The guest's side is unconfirmed: @why (taken) says why. */
static gboolean
unconfirmed_because(SetRun *run, char *why)
{
    g_autofree char *owned = why;

    run->rec.guest = "unconfirmed";
    if (run->req.require_guest)
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
    if (r == GUEST_WAIT_REACHED && run->node_ids && run->guest_before) {
        /* --node: the node's CPUs themselves online (a plug) or offline (an
         * unplug), the others as they were */
        g_autoptr(CpuList) want = set_node_guest_online(run, run->guest_before->online);

        if (!cpulist_equal(seen->online, want)) {
            g_autoptr(Topology) now = guest_restore_online(run->guest, want, &error);

            if (!now) {
                g_autofree char *text = cpulist_format(want);

                return unconfirmed_because(
                    run, g_strdup_printf("the guest of domain '%s' has %u CPUs online but could "
                                         "not be given exactly %s: %s",
                                         run->name, run->count, text, error->message));
            }
            g_clear_pointer(&seen, topology_free);
            seen = g_steal_pointer(&now);
        }
    }
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
                                      run->name, run->count, run->req.timeout,
                                      run->rec.guest_online, run->rec.guest_present, run->count,
                                      error ? ": " : "", error ? error->message : ""));
}
