/* set_guest.c: the guest's side of `set`: offline before an unplug, put
 * back on "nothing changed", and the guest's confirmation. */
#include "set_run.h"

gboolean
set_prepare_guest(SetRun *run)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(Topology) after = NULL;

    /* An unplug goes quicker and gentler when the guest offlines the CPUs
     * itself first; the kernel would otherwise do it on the ACPI eject. */
    if ((guint)run->live_cur <= run->count || run->agent == GUEST_AGENT_NONE)
        return TRUE;
    run->guest_before = guest_get_topology(run->guest, NULL);
    if (!run->guest_before || cpulist_count(run->guest_before->online) <= run->count)
        return TRUE;
    if ((after = guest_set_num_cpus(run->guest, run->count, 0, &error)))
        run->pre_offlined = TRUE;
    else
        output_warning(run->ctx->out,
                       "the guest of domain '%s' could not offline CPUs before the unplug through "
                       "%s (%s); the guest kernel will do it",
                       run->name, guest_agent_name(run->agent), error->message);
    return TRUE;
}

void
set_restore_guest(SetRun *run)
{
    g_autoptr(Topology) after = NULL;
    g_autoptr(GError) error = NULL;

    if (!run->pre_offlined)
        return;
    /* exactly the CPUs that were online, not just as many */
    after = guest_restore_online(run->guest, run->guest_before->online, &error);
    if (!after)
        output_warning(run->ctx->out,
                       "the guest of domain '%s' could not put its offlined CPUs back online: %s",
                       run->name, error->message);
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

gboolean
set_confirm_guest(SetRun *run)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(Topology) seen = NULL;
    GuestWaitResult r;

    r = guest_wait_count(run->guest, run->count, run->deadline, &seen, &error);
    if (seen) {
        run->rec.guest_online = cpulist_count(seen->online);
        run->rec.guest_present = cpulist_count(seen->present);
        run->rec.guest_agent = guest_agent_name(guest_kind(run->guest));
    }
    if (r == GUEST_WAIT_REACHED) {
        run->rec.guest = "confirmed";
        output_text(run->ctx->out, "The guest confirmed %u CPUs present and online (%s).\n",
                    run->count, guest_agent_name(guest_kind(run->guest)));
        return set_finish(run, CTL_EXIT_OK, "done", NULL);
    }
    if (r == GUEST_WAIT_NO_AGENT)
        return unconfirmed(run, error);
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
