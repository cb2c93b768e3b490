/* set_node.c: `set DOMAIN COUNT --node N` grows or shrinks NUMA cell N
 * alone (issue 21, item 2).
 *
 * The vCPUs come from the cell's <cpu><numa><cell cpus>: a plug enables
 * the lowest disabled ids of the cell, an unplug disables the highest
 * enabled hot-pluggable ones, and never the cell's last vCPU (its memory
 * would be left without a CPU).  libvirt's virDomainSetVcpu (libvirt 3.1)
 * enables or disables exactly those ids; the guest gets exactly those CPU
 * ids online or offline (the agent's set-online-cpus, qemu-ga's
 * virDomainSetGuestVcpus: guest_restore_online). */
#include "set_run.h"

#include <libvirt/virterror.h>

#include "numa_plan.h"

static gboolean refuse(GError **error, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static gboolean
refuse(GError **error, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    g_propagate_error(error, g_error_new_valist(G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, fmt, ap));
    va_end(ap);
    return FALSE;
}

/* vCPU @id of @info: enabled, and hot-pluggable (a vCPU libvirt may
 * disable).  Without <vcpus>: the first @current ids are enabled, every
 * one but vCPU 0 hot-pluggable. */
static void
slot_of(const DomainInfo *info, guint current, guint id, gboolean *enabled, gboolean *pluggable)
{
    for (guint i = 0; i < info->vcpus->len; i++) {
        const VcpuSlot *s = &g_array_index(info->vcpus, VcpuSlot, i);

        if (s->id == id) {
            *enabled = s->enabled;
            *pluggable = s->hotpluggable;
            return;
        }
    }
    *enabled = id < current;
    *pluggable = info->vcpus->len == 0 && id > 0;
}

/* Cell @node of @cells, or NULL with @error naming the cells there are. */
static const NumaCell *
find_cell(const SetRun *run, const NumaPlan *cells, GError **error)
{
    g_autoptr(CpuList) ids = cpulist_new();
    g_autofree char *text = NULL;

    for (guint i = 0; i < cells->cells->len; i++) {
        const NumaCell *c = cells->cells->pdata[i];

        if (c->id == run->req.node)
            return c;
        cpulist_add(ids, c->id);
    }
    text = cpulist_format(ids);
    refuse(error, "domain '%s' has NUMA cells %s; --node %u is not one", run->name, text,
           run->req.node);
    return NULL;
}

static guint
enabled_in(const SetRun *run, const CpuList *vcpus)
{
    guint n = 0;

    for (gint v = cpulist_next(vcpus, -1); v >= 0; v = cpulist_next(vcpus, v)) {
        gboolean on, pluggable;

        slot_of(run->info, (guint)run->live_cur, (guint)v, &on, &pluggable);
        n += on;
    }
    return n;
}

/* A plug: the cell's lowest disabled vCPUs below the maximum, up to @need. */
static CpuList *
pick_to_enable(const SetRun *run, const CpuList *vcpus, guint need)
{
    CpuList *pick = cpulist_new();

    for (gint v = cpulist_next(vcpus, -1); v >= 0 && cpulist_count(pick) < need;
         v = cpulist_next(vcpus, v)) {
        gboolean on, pluggable;

        slot_of(run->info, (guint)run->live_cur, (guint)v, &on, &pluggable);
        if (!on && (guint)v < (guint)run->live_max)
            cpulist_add(pick, (guint)v);
    }
    return pick;
}

/* An unplug: the cell's highest enabled hot-pluggable vCPUs, up to @need;
 * the cell keeps one of its @enabled. */
static CpuList *
pick_to_disable(const SetRun *run, const CpuList *vcpus, guint need, guint enabled)
{
    CpuList *pick = cpulist_new();

    for (gint v = cpulist_last(vcpus);
         v >= 0 && cpulist_count(pick) < need && cpulist_count(pick) + 1 < enabled; v--) {
        gboolean on, pluggable;

        if (!cpulist_contains(vcpus, (guint)v))
            continue;
        slot_of(run->info, (guint)run->live_cur, (guint)v, &on, &pluggable);
        if (on && pluggable)
            cpulist_add(pick, (guint)v);
    }
    return pick;
}

gboolean
set_node_choose(SetRun *run, GError **error)
{
    g_autoptr(GError) local = NULL;
    g_autoptr(NumaPlan) cells = NULL;
    g_autoptr(CpuList) pick = NULL;
    g_autofree char *cpus = NULL;
    const NumaCell *cell;
    guint current = (guint)run->live_cur, enabled_in_cell, need;
    gboolean plug = run->count > current;

    if (!run->req.has_node)
        return TRUE;
    if (run->req.config)
        return refuse(error,
                      "--node %u changes the running domain '%s' only; --config is for the "
                      "persistent count",
                      run->req.node, run->name);
    cells = numa_plan_read(run->xml, &local);
    if (!cells)
        return refuse(error, "--node %u was given but domain '%s' has no NUMA cells%s%s",
                      run->req.node, run->name, local ? ": " : "", local ? local->message : "");
    if (!(cell = find_cell(run, cells, error)))
        return FALSE;
    need = plug ? run->count - current : current - run->count;
    if (need == 0)
        return TRUE; /* the count it has: no change, as without --node */
    cpus = cpulist_format(cell->before);
    enabled_in_cell = enabled_in(run, cell->before);
    pick = plug ? pick_to_enable(run, cell->before, need)
                : pick_to_disable(run, cell->before, need, enabled_in_cell);
    if (cpulist_count(pick) < need)
        return refuse(error,
                      "NUMA cell %u of domain '%s' (vCPUs %s, %u enabled) can %s %u vCPU%s, but "
                      "%s %u to %u vCPUs takes %u; nothing changed",
                      run->req.node, run->name, cpus, enabled_in_cell, plug ? "gain" : "lose",
                      cpulist_count(pick), cpulist_count(pick) == 1 ? "" : "s",
                      plug ? "growing from" : "shrinking from", current, run->count, need);
    run->node_ids = g_steal_pointer(&pick);
    run->node_ids_text = cpulist_format(run->node_ids);
    run->rec.node = run->req.node;
    run->rec.node_vcpus = run->node_ids_text;
    return TRUE;
}

CpuList *
set_node_guest_online(const SetRun *run, const CpuList *before)
{
    CpuList *want = cpulist_copy(before);
    gboolean plug = run->count > (guint)run->live_cur;

    for (gint v = cpulist_next(run->node_ids, -1); v >= 0; v = cpulist_next(run->node_ids, v)) {
        if (plug)
            cpulist_add(want, (guint)v);
        else
            cpulist_remove(want, (guint)v);
    }
    return want;
}
