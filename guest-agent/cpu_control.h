/* cpu_control.h: bringing CPUs online and offline through sysfs.
 *
 * set-num-cpus and set-online-cpus in two steps: cpu_plan_new() (a count)
 * or cpu_plan_new_exact() (a set) decides, from a Topology alone, which
 * CPUs change (pure functions, unit-tested on their own), and
 * cpu_plan_apply() writes ROOT/cpuN/online for each, all or nothing.
 */
#pragma once

#include <glib.h>

#include "topology.h"

typedef struct {
    GArray *online;  /* guint CPU ids to bring online, in the order to do it */
    GArray *offline; /* guint CPU ids to take offline, in the order to do it */
} CpuPlan;

/* Plans reaching exactly @count online CPUs: onlines the lowest-numbered
 * offline CPUs first, offlines the highest-numbered online ones first, never
 * touches a CPU without an "online" file (can_offline FALSE).  Fails with
 * PROTO_ERROR_INVALID_PARAMETER when @count is 0, above the present CPUs, or
 * below what cannot be taken offline. */
CpuPlan *cpu_plan_new(const Topology *topo, guint count, GError **error);
/* Plans making exactly @wanted the online CPUs (set-online-cpus): onlines
 * the listed present CPUs that are offline, lowest first; offlines the
 * online CPUs not listed, highest first.  Fails with
 * PROTO_ERROR_INVALID_PARAMETER, planning nothing, when @wanted is empty,
 * names a CPU that is not present, leaves out an online CPU without an
 * "online" file (it cannot be taken offline) or names an offline one (it
 * cannot be brought online).  @wanted is not kept. */
CpuPlan *cpu_plan_new_exact(const Topology *topo, const CpuList *wanted, GError **error);
void cpu_plan_free(CpuPlan *plan);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CpuPlan, cpu_plan_free)

/* Writes "1"/"0" to @sysfs_root/cpu@cpu/online.  Returns 0 or -errno.  The
 * file is opened O_NONBLOCK so that nothing in the tree can hang the agent. */
int cpu_control_write_online(const char *sysfs_root, guint cpu, gboolean online);

/* Fault injection for tests and fuzzers: when set, @hook runs before each
 * write of cpu_control_write_online; a negative errno it returns is the
 * write's result (nothing is written), 0 lets the write happen.  NULL
 * removes it.  Not thread-safe; the agent has one thread. */
typedef int (*CpuControlWriteHook)(guint cpu, gboolean online, gpointer user_data);
void cpu_control_set_write_hook(CpuControlWriteHook hook, gpointer user_data);

/* Applies @plan.  If a write fails, every CPU already changed is put back
 * (in reverse order) and the result is PROTO_ERROR_OPERATION_FAILED with a
 * message naming the failed CPU, the errno text, and what was restored (or
 * could not be).  @changed_out (may be NULL) receives the number of CPUs
 * left changed: all of the plan on success, normally 0 on failure. */
gboolean cpu_plan_apply(const char *sysfs_root, const CpuPlan *plan, guint *changed_out,
                        GError **error);
