/* topology_sysfs.h: the guest's CPU topology from sysfs, the agent's only
 * (libhotcpu's guest wing); the model and its JSON are in topology.h.
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

#include "topology.h"

#define TOPOLOGY_DEFAULT_SYSFS_ROOT "/sys/devices/system/cpu"

/* Reads the topology under @sysfs_root (NULL: the default).  A CPU's state
 * comes from its own cpuN/online file when it has one (the top-level mask
 * lags behind); topo->online is built from those states.  An offline CPU's
 * socket/die/core/siblings are -1/NULL even if a stale topology/ folder is
 * there.  Missing per-CPU files give -1/NULL fields; a missing or malformed
 * online/present/possible file, or a cpuN/online holding neither "0" nor
 * "1", is an error (G_IO_ERROR_*), with the path in the message. */
Topology *topology_read(const char *sysfs_root, GError **error);
