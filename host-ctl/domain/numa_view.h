/* numa_view.h: what `get` and `topology` show per NUMA cell (issue 21):
 * libvirt's enabled vCPUs in the cell, and the guest's online CPUs on the
 * node of the same id (what the guest kernel made of the cell). */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>
#include <libvirt/libvirt.h>

#include "domain_info.h"
#include "output.h"
#include "topology.h"

typedef struct {
    guint cell;            /* the cell's id */
    CpuList *vcpus;        /* libvirt: the cell's enabled vCPUs */
    CpuList *guest_online; /* the guest's online CPUs on node @cell; NULL: unknown */
} NumaCellView;

/* The cells of the live XML @xml whose enabled vCPUs @info tells, with
 * @guest's nodes (NULL: unknown, or an agent that does not tell nodes).
 * NULL when the domain has no cells. */
GPtrArray *numa_view_new(const char *xml, const DomainInfo *info, const Topology *guest);
/* The same for the running domain @dom, its live XML read again. */
GPtrArray *numa_view_of(virDomainPtr dom, const DomainInfo *info, const Topology *guest);
/* "NUMA cell 0     vCPUs 0-1,4      guest node 0 online 0-1,4" lines. */
void numa_view_text(Output *out, const GPtrArray *view);
/* [{"cell": 0, "vcpus": "0-1,4", "guest-online": "0-1,4"|null}, ...] */
JsonArray *numa_view_json(const GPtrArray *view);
