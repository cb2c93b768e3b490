/* cpu_planner.h: the one answer to "which CPUs to bring online or take
 * offline so that COUNT are online", for hotcpu-agent's set-num-cpus and
 * for the host's qemu-ga path alike, so that a guest gets the same choice
 * whichever agent answers.
 *
 * The contract: bring online the lowest-numbered offline CPUs first, take
 * offline the highest-numbered online CPUs first, and never choose a CPU
 * whose can_offline is FALSE (it has no "online" file: it can be neither
 * brought online nor taken offline).  Pure: reads @topo only.
 */
#pragma once

#include <glib.h>

#include "topology.h"

typedef enum {
    CPU_PLAN_OK,
    CPU_PLAN_ZERO,        /* count 0: a guest needs at least one CPU online */
    CPU_PLAN_NOT_PRESENT, /* count above the present CPUs */
    CPU_PLAN_FIXED,       /* count below the online CPUs that cannot go offline */
    CPU_PLAN_STUCK,       /* count above what can be online: offline CPUs without
                             an "online" file are in the way */
} CpuPlanVerdict;

/* Plans @count online CPUs over @topo (its cpus in ascending id order).
 * On CPU_PLAN_OK, *@online says the direction (TRUE: bring online) and
 * @ids (a GArray of guint, appended to) the CPUs in the order to change
 * them: ascending to bring online, descending to take offline; empty when
 * @count are online already.  Otherwise @ids and *@online are untouched
 * and the caller words the refusal (cpu_planner_fixed names the CPUs of
 * CPU_PLAN_FIXED). */
CpuPlanVerdict cpu_planner_count(const Topology *topo, guint count, gboolean *online, GArray *ids);

/* The online CPUs of @topo that cannot be taken offline (cpulist_free). */
CpuList *cpu_planner_fixed(const Topology *topo);
