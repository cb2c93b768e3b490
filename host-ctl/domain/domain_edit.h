/* domain_edit.h: what `hotcpu-ctl prepare` changes in a persistent domain
 * definition, and its edit of the definition's XML.
 *
 * domain_edit_plan() compares a definition (the DomainInfo of its inactive
 * XML) with the hot-plug-ready layout for a maximum of M vCPUs: maximum M;
 * with a <topology>, M / (dies x clusters x cores x threads) sockets, the
 * rest kept; <vcpus> with vCPU 0 enabled and not hot-pluggable (libvirt
 * requires it) and vCPUs 1..M-1 hot-pluggable, as many enabled as the
 * current count (the enabled set is kept when it still fits); the agent
 * channel.  domain_edit_xml() writes that layout into the XML with
 * libxml2, touching only <vcpu>, <vcpus> and <topology>; everything else in
 * the definition stays as it was.
 *
 * The XML may hold secrets (it is fetched with VIR_DOMAIN_XML_SECURE so
 * that a redefinition keeps graphics passwords): nothing here logs it,
 * keeps a copy of it or quotes it in an error.  Free it with
 * domain_edit_secret_free().
 */
#pragma once

#include <glib.h>

#include "cpulist.h"
#include "domain_info.h"
#include "numa_plan.h"

typedef struct {
    guint current; /* enabled vCPUs; prepare never changes it */
    guint max_before, max_after;
    gboolean has_topology;
    guint sockets_before, sockets_after; /* 1 without a <topology> */
    CpuList *hot_before, *hot_after;     /* hot-pluggable vCPU ids */
    CpuList *enabled_before, *enabled_after;
    guint *order; /* max_after order values for <vcpus>; NULL: none */
    gboolean add_channel;
    /* how: the maximum through virDomainSetVcpusFlags(MAXIMUM|CONFIG) when
     * no <topology> must change with it; the rest through the XML */
    gboolean max_by_api;
    gboolean redefine;
    NumaPlan *numa; /* the NUMA cells' vCPUs (numa_plan.h); NULL: no cells */
} DomainEditPlan;

/* Plans the layout for @max vCPUs (a whole number of sockets, not below
 * the current count: the caller checked) from the definition @def. */
void domain_edit_plan(const DomainInfo *def, guint max, DomainEditPlan *plan);
/* Adds @numa (taken; planned already, may be NULL) to @plan: a change of
 * the cells' vCPUs is written by the redefinition. */
void domain_edit_plan_set_numa(const DomainInfo *def, DomainEditPlan *plan, NumaPlan *numa);
/* TRUE when the definition already has the layout: nothing to change. */
gboolean domain_edit_plan_ready(const DomainEditPlan *plan);
void domain_edit_plan_clear(DomainEditPlan *plan);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(DomainEditPlan, domain_edit_plan_clear)

/* @xml (a persistent definition, after the maximum went through the API
 * when the plan says so) rewritten to @plan's <vcpu>, <topology sockets>,
 * <vcpus> and the cpus of its NUMA cells.  Fails with G_MARKUP_ERROR when the XML is not a domain
 * or its maximum is not the one the plan expects (changed meanwhile). */
char *domain_edit_xml(const char *xml, const DomainEditPlan *plan, GError **error);

/* Wipes and frees XML that may hold secrets; accepts NULL. */
void domain_edit_secret_free(char *xml);
typedef char SecretXml;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SecretXml, domain_edit_secret_free)
