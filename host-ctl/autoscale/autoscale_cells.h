/* autoscale_cells.h: autoscale on a NUMA domain grows and shrinks every
 * cell alike (issue 21, item 4).
 *
 * prepare lays the vCPUs out so that the next ones in id order go to the
 * cells in turn, a socket at a time (numa_plan.h), and set plugs and
 * unplugs in id order.  So autoscale keeps the cells balanced by changing
 * whole rounds: a multiple of one socket per cell, one change adding (or
 * removing) a socket's vCPUs to each cell.
 */
#pragma once

#include "autoscale_decide.h"

/* @p for a domain of @n_cells NUMA cells (0 or 1: unchanged): its step
 * @n_cells times as large, its ceiling rounded down and its floor up to
 * whole steps (the floor stays below the ceiling when they cross), its
 * max_change up to a whole step. */
void autoscale_cells_policy(AutoscalePolicy *p, guint n_cells);
