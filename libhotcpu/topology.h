/* topology.h: the guest's CPU topology, read from sysfs or from JSON.
 *
 * Every sysfs path is relative to an injectable root (default
 * TOPOLOGY_DEFAULT_SYSFS_ROOT) so tests run on fake trees.  Layout used:
 *   ROOT/{online,present,possible}            range lists
 *   ROOT/cpuN/online                          "0"/"1"; absent (x86 cpu0): the CPU
 *                                            cannot be offlined and is online
 *                                            iff it is in ROOT/online
 *   ROOT/cpuN/topology/{physical_package_id,die_id,core_id,thread_siblings_list}
 *                                            absent while the CPU is offline
 *   ROOT/cpuN/nodeM                           NUMA node link (kept when offline)
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "cpulist.h"

#define TOPOLOGY_DEFAULT_SYSFS_ROOT "/sys/devices/system/cpu"

typedef struct {
    guint id;
    gboolean online;
    gboolean can_offline; /* has a writable-in-principle "online" file */
    /* -1 where the kernel hides the value (offline CPU) or lacks it: JSON null */
    gint socket;
    gint die;
    gint core;
    gint node;
    CpuList *siblings; /* thread siblings incl. itself; NULL when hidden */
} CpuInfo;

typedef struct {
    CpuList *online;
    CpuList *present;
    CpuList *possible; /* NULL when unknown (qemu-ga does not tell): JSON null */
    /* Summary, like lscpu, over the online CPUs whose topology is visible:
     * sockets = distinct packages; threads_per_core = most siblings of any
     * CPU; cores_per_socket = distinct (package, core) pairs / sockets.
     * -1 when unknown (qemu-ga): JSON null. */
    gint sockets;
    gint cores_per_socket;
    gint threads_per_core;
    GPtrArray *cpus; /* CpuInfo *, one per present CPU, ascending id */
} Topology;

/* An empty topology for a source that knows less than sysfs: no CPUs,
 * empty online and present sets, possible and the summary unknown. */
Topology *topology_new_unknown(void);
/* Appends CPU @id (ids must come in ascending order) with everything but
 * its id unknown (offline, -1, NULL); returns it for the caller to fill. */
CpuInfo *topology_add_cpu(Topology *topo, guint id);

/* Reads the topology under @sysfs_root (NULL: the default).  A CPU's state
 * comes from its own cpuN/online file when it has one (the top-level mask
 * lags behind); topo->online is built from those states.  An offline CPU's
 * socket/die/core/siblings are -1/NULL even if a stale topology/ folder is
 * there.  Missing per-CPU files give -1/NULL fields; a missing or malformed
 * online/present/possible file, or a cpuN/online holding neither "0" nor
 * "1", is an error (G_IO_ERROR_*), with the path in the message. */
Topology *topology_read(const char *sysfs_root, GError **error);
void topology_free(Topology *topo);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Topology, topology_free)

/* The contract's JSON shape (docs/protocol.md), including
 * "online-count"/"present-count".  New floating-free node; json_node_unref. */
JsonNode *topology_to_json(const Topology *topo);
/* Inverse of topology_to_json, validating types; for the host side.
 * "id", "online", "can-offline" and the top-level members are required
 * ("possible" and the summary counts may be null: unknown);
 * absent per-CPU socket/die/core/node/siblings read as -1/NULL.  The counts
 * are type-checked, not compared with the lists.  cpus come out sorted by
 * id.  Fails with G_IO_ERROR_INVALID_DATA. */
Topology *topology_from_json(JsonNode *node, GError **error);

/* TRUE when present and online sets are the same (what an event reports). */
gboolean topology_same_sets(const Topology *a, const Topology *b);

/* Finds a present CPU by id, or NULL. */
const CpuInfo *topology_find_cpu(const Topology *topo, guint id);
