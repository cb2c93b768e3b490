/* autoscale_cells.c: whole rounds over the NUMA cells (autoscale_cells.h). */
#include "autoscale_cells.h"

void
autoscale_cells_policy(AutoscalePolicy *p, guint n_cells)
{
    guint step;

    if (n_cells <= 1)
        return;
    step = MAX(p->step, 1) * n_cells;
    p->step = step;
    p->ceiling = p->ceiling / step * step;
    if (p->floor % step)
        p->floor = MIN(p->ceiling, (p->floor + step - 1) / step * step);
    if (p->max_change % step)
        p->max_change = (p->max_change + step - 1) / step * step;
}
