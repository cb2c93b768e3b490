/* numa_plan.h: where prepare puts the vCPUs it adds on a NUMA domain
 * (issue 21, item 1).
 *
 * libvirt puts a vCPU no <cpu><numa><cell cpus=...> names into the first
 * cell: a two-cell domain whose maximum grew from 4 to 8 had all of 4-7 on
 * node 0, next to node 0's memory only.  prepare therefore writes every
 * vCPU into a cell: the vCPUs no cell names (the new ones, and any an
 * earlier maximum left out) go out by whole sockets, so that no socket
 * straddles two cells, round robin in the cells' order, so that the next
 * vCPUs in id order keep the cells balanced.  By default each cell gets the
 * same number of sockets, and a count that does not divide is refused;
 * --cells N,N,... names the split (new vCPUs per cell, in the cells'
 * order).  Only the cells' cpus attributes change: their order, ids and
 * memory stay.  A maximum that shrinks takes the vCPUs beyond it out of
 * their cells, and is refused if a cell would be left empty.
 */
#pragma once

#include <glib.h>

#include "cpulist.h"

typedef struct {
    guint id;        /* the cell's id attribute */
    CpuList *before; /* its vCPUs as defined */
    CpuList *after;  /* as planned */
} NumaCell;

typedef struct {
    GPtrArray *cells; /* NumaCell *, in the definition's order */
} NumaPlan;

void numa_plan_free(NumaPlan *plan);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(NumaPlan, numa_plan_free)

/* The cells of the definition @xml, each after = before; NULL without
 * error when it has none; NULL with G_MARKUP_ERROR when a cell's id or
 * cpus do not read. */
NumaPlan *numa_plan_read(const char *xml, GError **error);

/* Parses --cells "N,N,...": FALSE with @error when it is not a list of
 * numbers.  *@split gets them (g_free), *@n their number. */
gboolean numa_split_parse(const char *text, guint **split, guint *n, GError **error);

/* Plans @plan's cells for a maximum of @max vCPUs, @per_socket vCPUs a
 * socket (sockets are ids [k x per_socket, (k+1) x per_socket)); @split
 * (NULL: evenly) as numa_split_parse gives it.  FALSE with @error, one
 * sentence naming domain @name, the numbers and what to do. */
gboolean numa_plan_spread(NumaPlan *plan, guint max, guint per_socket, const guint *split,
                          guint n_split, const char *name, GError **error);

/* TRUE when a cell's vCPUs change. */
gboolean numa_plan_changes(const NumaPlan *plan);

/* "cell 0: 0-1,4,6; cell 1: 2-3,5,7", @after or before. */
char *numa_plan_text(const NumaPlan *plan, gboolean after);

/* Writes the planned cpus into the <cell>s of @domain (an xmlNode *, the
 * definition's root).  FALSE with G_MARKUP_ERROR when its cells are not
 * the ones planned from (changed meanwhile). */
gboolean numa_plan_write(const NumaPlan *plan, void *domain, GError **error);
