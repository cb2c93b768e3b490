/* set_pin_stages.c: set's two stages for the pins of a plug's new vCPUs
 * (set_pins.h): the rule is chosen before anything changes (a refusal is
 * exit 3, nothing changed), the pins are set once libvirt has the vCPUs,
 * before the after hooks. */
#include "set_run.h"

#include "ctl_util.h"

/* The enabled vCPUs of @info: <vcpus> when libvirt wrote it, else the
 * first @current ids. */
static CpuList *
enabled_vcpus(const DomainInfo *info, guint current)
{
    CpuList *enabled = cpulist_new();

    for (guint i = 0; i < info->vcpus->len; i++) {
        const VcpuSlot *s = &g_array_index(info->vcpus, VcpuSlot, i);

        if (s->enabled)
            cpulist_add(enabled, s->id);
    }
    if (info->vcpus->len == 0)
        for (guint id = 0; id < current; id++)
            cpulist_add(enabled, id);
    return enabled;
}

void
set_pins_clear(SetRun *run)
{
    g_clear_pointer(&run->pin_plan, pin_plan_free);
    g_clear_pointer(&run->pins_set, json_object_unref);
    g_clear_pointer(&run->pins_removed, json_object_unref);
}

gboolean
set_plan_pins(SetRun *run)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(CpuList) enabled = NULL;

    if (run->count <= (guint)run->live_cur) {
        if (run->req.cpuset)
            output_warning(run->ctx->out,
                           "--cpuset is for the vCPUs a plug adds; domain '%s' goes from %d to %u "
                           "vCPUs",
                           run->name, run->live_cur, run->count);
        return TRUE;
    }
    enabled = enabled_vcpus(run->info, (guint)run->live_cur);
    run->pin_plan
        = set_pins_plan(run->xml, enabled, run->count - (guint)run->live_cur, run->req.cpuset,
                        run->req.strict_pinning, ctl_host_cpus(run->conn), run->name, &error);
    if (!run->pin_plan)
        return set_finish(run, CTL_EXIT_REFUSED, "refused",
                          g_strdup_printf("%s; nothing changed", error->message));
    {
        /* the host's NUMA nodes, for the "dedicated" pattern's choice by
         * cell; without them the choice is the lowest free host CPU */
        g_autofree char *caps = virConnectGetCapabilities(run->conn);

        if (!caps)
            virResetLastError();
        set_pins_read_host_nodes(run->pin_plan, caps);
    }
    if (run->pin_plan->unclear)
        output_warning(run->ctx->out, "%s; they stay unpinned", run->pin_plan->unclear);
    if (!g_str_equal(run->pin_plan->rule, "none"))
        run->rec.pin_rule = run->pin_plan->rule;
    return TRUE;
}

/* An unplug: the pins of the vCPUs it removed come off with them. */
static gboolean
unpin_removed(SetRun *run)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(DomainInfo) now = NULL;
    g_autoptr(CpuList) before = NULL, after = NULL, removed = NULL;
    g_autofree char *warning = NULL;
    int cur = 0, max = 0;

    if (run->info->pinned_vcpus->len == 0)
        return TRUE;
    if (!(now = ctl_domain_info(run->dom, NULL, &error))
        || !ctl_vcpu_counts(run->dom, TRUE, &cur, &max, &error)) {
        output_warning(run->ctx->out,
                       "cannot read which vCPUs domain '%s' removed, so their pins stay: %s",
                       run->name, error->message);
        return TRUE;
    }
    before = enabled_vcpus(run->info, (guint)run->live_cur);
    after = enabled_vcpus(now, (guint)cur);
    removed = cpulist_new();
    for (gint v = cpulist_next(before, -1); v >= 0; v = cpulist_next(before, v))
        if (!cpulist_contains(after, (guint)v))
            cpulist_add(removed, (guint)v);
    run->pins_removed
        = set_pins_unpin(run->dom, run->xml, removed, ctl_host_cpus(run->conn), &warning);
    run->rec.pins_removed = run->pins_removed;
    if (warning)
        output_warning(run->ctx->out, "%s", warning);
    return TRUE;
}

gboolean
set_pin_plugged(SetRun *run)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(DomainInfo) now = NULL;
    g_autoptr(CpuList) before = NULL, after = NULL, added = NULL;
    g_autofree char *warning = NULL;
    int cur = 0, max = 0;

    if (run->count < (guint)run->live_cur)
        return unpin_removed(run);
    if (!run->pin_plan || g_str_equal(run->pin_plan->rule, "none"))
        return TRUE;
    if (!(now = ctl_domain_info(run->dom, NULL, &error))
        || !ctl_vcpu_counts(run->dom, TRUE, &cur, &max, &error)) {
        output_warning(run->ctx->out,
                       "cannot read which vCPUs domain '%s' got, so none was "
                       "pinned: %s",
                       run->name, error->message);
        return TRUE;
    }
    before = enabled_vcpus(run->info, (guint)run->live_cur);
    after = enabled_vcpus(now, (guint)cur);
    added = cpulist_new();
    for (gint v = cpulist_next(after, -1); v >= 0; v = cpulist_next(after, v))
        if (!cpulist_contains(before, (guint)v))
            cpulist_add(added, (guint)v);
    run->pins_set = set_pins_apply(run->pin_plan, run->dom, added, &warning);
    run->rec.pins = run->pins_set;
    if (warning)
        output_warning(run->ctx->out, "%s", warning);
    return TRUE;
}
