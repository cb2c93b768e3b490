/* cpu_planner.c: which CPUs to change so that a count are online. */
#include "cpu_planner.h"

CpuList *
cpu_planner_fixed(const Topology *topo)
{
    CpuList *fixed = cpulist_new();

    for (guint i = 0; i < topo->cpus->len; i++) {
        const CpuInfo *cpu = g_ptr_array_index(topo->cpus, i);

        if (cpu->online && !cpu->can_offline)
            cpulist_add(fixed, cpu->id);
    }
    return fixed;
}

CpuPlanVerdict
cpu_planner_count(const Topology *topo, guint count, gboolean *online, GArray *ids)
{
    guint present = topo->cpus->len;
    guint now = 0, fixed = 0, can_come = 0, want;
    gboolean up;

    for (guint i = 0; i < present; i++) {
        const CpuInfo *cpu = g_ptr_array_index(topo->cpus, i);

        if (cpu->online)
            now++;
        if (cpu->online && !cpu->can_offline)
            fixed++;
        else if (!cpu->online && cpu->can_offline)
            can_come++;
    }
    if (count == 0)
        return CPU_PLAN_ZERO;
    if (count > present)
        return CPU_PLAN_NOT_PRESENT;
    if (count < fixed)
        return CPU_PLAN_FIXED;
    if (count > now + can_come)
        return CPU_PLAN_STUCK;
    up = count > now;
    want = up ? count - now : now - count;
    for (guint k = 0, chosen = 0; k < present && chosen < want; k++) {
        /* lowest-numbered first to bring online, highest-numbered first to
         * take offline */
        const CpuInfo *cpu = g_ptr_array_index(topo->cpus, up ? k : present - 1 - k);

        if (cpu->can_offline && (cpu->online ? !up : up)) {
            g_array_append_val(ids, cpu->id);
            chosen++;
        }
    }
    *online = up;
    return CPU_PLAN_OK;
}
