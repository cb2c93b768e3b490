/* set_pins.h: the host CPUs a hot-plugged vCPU is pinned to (issue 21,
 * item 3).
 *
 * libvirt leaves a hot-plugged vCPU pinned nowhere (all host CPUs), even
 * when every live vCPU is pinned: a VM on dedicated CPUs would get a vCPU
 * that runs anywhere.  So a plug pins its new vCPUs by a rule, the first
 * that applies:
 *   cpuset     `set --cpuset LIST`: as many host CPUs as new vCPUs: one
 *              each, in order; else every new vCPU gets the whole LIST;
 *   metadata   <hotcpu:pin policy="same-cell|spread|none"/> in hotcpu's
 *              <metadata>: same-cell: the host CPUs of the pinned vCPUs of
 *              the new vCPU's NUMA cell (all pinned vCPUs' without cells);
 *              spread: those of every pinned vCPU; none: no pin;
 *   pattern    when live vCPUs are pinned and the pins show a clear
 *              pattern: every enabled vCPU pinned to the same host CPUs
 *              (the new ones get them too), or each to one host CPU of
 *              its own (each new one gets the lowest host CPU no pin
 *              uses, from the host CPUs of the host NUMA node of the new
 *              vCPU's cell when there are free ones: the node numatune's
 *              <memnode cellid> names, else the node of the cell's index;
 *              set_pins_read_host_nodes);
 *   none       no live vCPU is pinned: no pin (libvirt's default).
 * Only the pins of enabled vCPUs count: libvirt keeps a disabled vCPU's
 * pin in its live definition, and it occupies no host CPU.
 * Pinned vCPUs that follow no clear pattern: the new vCPUs stay unpinned
 * with a warning, or, under `--strict-pinning`, the change is refused
 * before anything changes.
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>
#include <libvirt/libvirt.h>

#include "cpulist.h"
#include "numa_plan.h"

typedef struct {
    const char *rule;       /* "cpuset", "same-cell", "spread", "none", "pattern" */
    const char *pattern;    /* for "pattern": "shared" or "dedicated" */
    char *unclear;          /* pinned vCPUs without a clear pattern: why (a warning) */
    CpuList *cpuset;        /* "cpuset": --cpuset's host CPUs */
    GHashTable *pins;       /* the live pins: vCPU id (GUINT_TO_POINTER) -> CpuList * */
    NumaPlan *cells;        /* the live NUMA cells (before == after), or NULL */
    guint host_cpus;        /* the host's CPUs (0: unknown) */
    guint n_new;            /* vCPUs the plug adds */
    guint given;            /* new vCPUs given a pin so far (set_pins_choose) */
    CpuList *taken;         /* host CPUs used by a pin so far ("dedicated") */
    GHashTable *host_nodes; /* host NUMA node id -> CpuList * of its host CPUs; or NULL */
    GHashTable *memnodes;   /* cell id -> CpuList * of the host nodes numatune gives it */
} PinPlan;

void pin_plan_free(PinPlan *plan);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(PinPlan, pin_plan_free)

/* The rule for a plug of @n_new vCPUs into the domain of live XML @xml
 * whose enabled vCPUs are @enabled, named @dom: --cpuset @cpuset (NULL:
 * none), --strict-pinning @strict.  NULL with @error (one sentence naming
 * the domain) when --cpuset does not parse or names a CPU the host does
 * not have, or when pins follow no rule under @strict. */
PinPlan *set_pins_plan(const char *xml, const CpuList *enabled, guint n_new, const char *cpuset,
                       gboolean strict, guint host_cpus, const char *dom, GError **error);

/* Reads the host's NUMA nodes and their CPUs from the capabilities
 * @caps_xml (virConnectGetCapabilities' <host><topology><cells>), for the
 * "dedicated" pattern's choice by cell.  Without it (NULL, or nodes that
 * do not read) the choice is the lowest free host CPU overall. */
void set_pins_read_host_nodes(PinPlan *plan, const char *caps_xml);

/* The host CPUs for the new vCPU @vcpu (the next of the plug), or NULL
 * when it gets no pin. */
CpuList *set_pins_choose(PinPlan *plan, guint vcpu);

/* Pins each vCPU of @new_ids (ascending) by @plan with
 * virDomainPinVcpuFlags.  Returns the pins set, {"ID": "host CPUs"} (NULL
 * when none); *@warning (g_free) names the ones libvirt refused. */
JsonObject *set_pins_apply(PinPlan *plan, virDomainPtr dom, const CpuList *new_ids, char **warning);

/* Takes the pins off the vCPUs an unplug removed: each vCPU of @removed
 * that @xml_before (the live definition before the change) pins is pinned
 * again to every one of the @host_cpus host CPUs (libvirt's default, so a
 * later plug pins it by rule, not by a stale pin).  Returns the pins taken
 * off, {"ID": "host CPUs it had"} (NULL when none); *@warning (g_free)
 * names the ones libvirt kept. */
JsonObject *set_pins_unpin(virDomainPtr dom, const char *xml_before, const CpuList *removed,
                           guint host_cpus, char **warning);
