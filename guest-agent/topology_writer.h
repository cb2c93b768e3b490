/* topology_writer.h: a topology as contract JSON text, without a tree.
 *
 * topology_to_json (libhotcpu/topology.c) builds a json-glib tree, about
 * 1.5 KiB per CPU: 12 MiB for 8192 CPUs, plus the generator's copy.  The
 * agent writes its replies and events with this instead, straight into the
 * line it sends: the same text, byte for byte (tests/agent/test_writer.c
 * holds the two to that), for about 100 bytes per CPU.
 */
#pragma once

#include <glib.h>

#include "topology.h"

/* Appends @topo's JSON object to @out. */
void topology_write_json(const Topology *topo, GString *out);
