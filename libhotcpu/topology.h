/* topology.h: the guest's CPU topology, the model both sides share, and
 * its contract JSON.  The agent reads it from sysfs (guest/topology_sysfs.h);
 * the host gets it as JSON, or from qemu-ga. */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "cpulist.h"

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
