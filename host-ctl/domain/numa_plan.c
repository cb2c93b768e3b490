/* numa_plan.c: prepare's placement of vCPUs in NUMA cells (numa_plan.h). */
#include "numa_plan.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <string.h>

G_DEFINE_AUTOPTR_CLEANUP_FUNC(xmlDoc, xmlFreeDoc)

static gboolean fail(GError **error, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static gboolean
fail(GError **error, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    g_propagate_error(error,
                      g_error_new_valist(G_MARKUP_ERROR, G_MARKUP_ERROR_INVALID_CONTENT, fmt, ap));
    va_end(ap);
    return FALSE;
}

static void
cell_free(gpointer p)
{
    NumaCell *c = p;

    cpulist_free(c->before);
    cpulist_free(c->after);
    g_free(c);
}

void
numa_plan_free(NumaPlan *plan)
{
    if (!plan)
        return;
    g_ptr_array_unref(plan->cells);
    g_free(plan);
}

static xmlNode *
child(xmlNode *parent, const char *name)
{
    for (xmlNode *n = parent ? parent->children : NULL; n; n = n->next)
        if (n->type == XML_ELEMENT_NODE && !n->ns && strcmp((const char *)n->name, name) == 0)
            return n;
    return NULL;
}

static xmlNode *
numa_of(xmlNode *domain)
{
    return child(child(domain, "cpu"), "numa");
}

static gboolean
is_cell(xmlNode *n)
{
    return n->type == XML_ELEMENT_NODE && !n->ns && strcmp((const char *)n->name, "cell") == 0;
}

/* One <cell>'s id and cpus; the cell's position @index names it in errors. */
static NumaCell *
cell_read(xmlNode *node, guint index, GError **error)
{
    g_autofree char *id = (char *)xmlGetProp(node, (const xmlChar *)"id");
    g_autofree char *cpus = (char *)xmlGetProp(node, (const xmlChar *)"cpus");
    g_autoptr(GError) local = NULL;
    guint64 value = index;
    NumaCell *c;

    if (id && !g_ascii_string_to_unsigned(id, 10, 0, G_MAXINT, &value, NULL)) {
        fail(error, "NUMA cell %u of the definition has an unreadable id", index);
        return NULL;
    }
    c = g_new0(NumaCell, 1);
    c->id = (guint)value;
    c->before = cpus ? cpulist_parse(cpus, &local) : cpulist_new();
    if (!c->before) {
        cell_free(c);
        fail(error, "the cpus of NUMA cell %u of the definition do not read: %s", (guint)value,
             local->message);
        return NULL;
    }
    c->after = cpulist_copy(c->before);
    return c;
}

NumaPlan *
numa_plan_read(const char *xml, GError **error)
{
    g_autoptr(xmlDoc) doc
        = xmlReadMemory(xml, (int)strlen(xml), "domain.xml", NULL,
                        XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    xmlNode *numa = doc ? numa_of(xmlDocGetRootElement(doc)) : NULL;
    g_autoptr(NumaPlan) plan = NULL;
    guint index = 0;

    if (!numa)
        return NULL;
    plan = g_new0(NumaPlan, 1);
    plan->cells = g_ptr_array_new_with_free_func(cell_free);
    for (xmlNode *n = numa->children; n; n = n->next) {
        NumaCell *c;

        if (!is_cell(n))
            continue;
        if (!(c = cell_read(n, index++, error)))
            return NULL;
        g_ptr_array_add(plan->cells, c);
    }
    return plan->cells->len ? g_steal_pointer(&plan) : NULL;
}

gboolean
numa_split_parse(const char *text, guint **split, guint *n, GError **error)
{
    g_auto(GStrv) parts = g_strsplit(text, ",", -1);
    g_autofree guint *values = g_new0(guint, g_strv_length(parts) + 1);

    for (guint i = 0; parts[i]; i++) {
        guint64 v;

        if (!g_ascii_string_to_unsigned(g_strstrip(parts[i]), 10, 0, G_MAXINT, &v, NULL)) {
            g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                        "--cells takes the new vCPUs of each NUMA cell in the cells' order, as "
                        "numbers separated by commas (for example 2,2), not '%s'",
                        text);
            return FALSE;
        }
        values[i] = (guint)v;
    }
    *n = g_strv_length(parts);
    *split = g_steal_pointer(&values);
    return TRUE;
}

/* The cell that holds @id, or -1. */
static gint
cell_of(const NumaPlan *plan, guint id)
{
    for (guint i = 0; i < plan->cells->len; i++)
        if (cpulist_contains(((NumaCell *)plan->cells->pdata[i])->after, id))
            return (gint)i;
    return -1;
}

/* Takes the vCPUs from @max on out of the cells; FALSE when one would be
 * left empty. */
static gboolean
drop_beyond(NumaPlan *plan, guint max, const char *name, GError **error)
{
    for (guint i = 0; i < plan->cells->len; i++) {
        NumaCell *c = plan->cells->pdata[i];
        g_autoptr(CpuList) kept = cpulist_new();

        for (gint id = cpulist_next(c->after, -1); id >= 0 && id < (gint)max;
             id = cpulist_next(c->after, id))
            cpulist_add(kept, (guint)id);
        if (cpulist_count(kept) == 0 && cpulist_count(c->after) > 0)
            return fail(error,
                        "a maximum of %u vCPUs would leave NUMA cell %u of domain '%s' without "
                        "vCPUs; choose a larger maximum",
                        max, c->id, name);
        cpulist_free(c->after);
        c->after = g_steal_pointer(&kept);
    }
    return TRUE;
}

/* The sockets below @max no cell names any vCPU of (to spread), and the
 * unnamed vCPUs of the others put into the cell of their socket. */
static GArray *
free_sockets(NumaPlan *plan, guint max, guint per_socket)
{
    GArray *sockets = g_array_new(FALSE, FALSE, sizeof(guint));

    for (guint s = 0; s * per_socket < max; s++) {
        gint home = -1;

        for (guint id = s * per_socket; id < MIN(max, (s + 1) * per_socket) && home < 0; id++)
            home = cell_of(plan, id);
        if (home < 0) {
            g_array_append_val(sockets, s);
            continue;
        }
        for (guint id = s * per_socket; id < MIN(max, (s + 1) * per_socket); id++)
            if (cell_of(plan, id) < 0)
                cpulist_add(((NumaCell *)plan->cells->pdata[home])->after, id);
    }
    return sockets;
}

/* How many of @n_sockets each cell gets: evenly over the cells that have
 * vCPUs (a cell of memory alone stays so), or @split (in vCPUs).  NULL
 * with @error. */
static guint *
sockets_per_cell(const NumaPlan *plan, guint n_sockets, guint per_socket, const guint *split,
                 guint n_split, const char *name, GError **error)
{
    guint n_all = plan->cells->len, n_cells = 0;
    g_autofree guint *share = g_new0(guint, n_all);
    guint sum = 0;

    for (guint i = 0; i < n_all; i++)
        n_cells += cpulist_count(((NumaCell *)plan->cells->pdata[i])->before) > 0;
    if (!split) {
        if (n_cells == 0 || n_sockets % n_cells != 0) {
            fail(error,
                 "cannot spread %u new vCPUs (%u socket%s of %u) evenly over the %u NUMA cells "
                 "of domain '%s' by whole sockets; choose a maximum that adds a multiple of %u "
                 "vCPUs, or name the split with --cells (new vCPUs per cell, in whole sockets)",
                 n_sockets * per_socket, n_sockets, n_sockets == 1 ? "" : "s", per_socket, n_cells,
                 name, n_cells * per_socket);
            return NULL;
        }
        for (guint i = 0; i < n_all; i++)
            if (cpulist_count(((NumaCell *)plan->cells->pdata[i])->before) > 0)
                share[i] = n_sockets / n_cells;
        return g_steal_pointer(&share);
    }
    n_cells = n_all;
    if (n_split != n_cells) {
        fail(error, "--cells names %u NUMA cells but domain '%s' has %u", n_split, name, n_cells);
        return NULL;
    }
    for (guint i = 0; i < n_cells; i++) {
        if (split[i] % per_socket != 0) {
            fail(error,
                 "--cells gives NUMA cell %u %u vCPUs, not a whole number of sockets of %u "
                 "vCPUs",
                 ((NumaCell *)plan->cells->pdata[i])->id, split[i], per_socket);
            return NULL;
        }
        share[i] = split[i] / per_socket;
        sum += share[i];
    }
    if (sum != n_sockets) {
        fail(error, "--cells gives %u new vCPUs but domain '%s' gets %u with this maximum",
             sum * per_socket, name, n_sockets * per_socket);
        return NULL;
    }
    return g_steal_pointer(&share);
}

gboolean
numa_plan_spread(NumaPlan *plan, guint max, guint per_socket, const guint *split, guint n_split,
                 const char *name, GError **error)
{
    g_autoptr(GArray) sockets = NULL;
    g_autofree guint *share = NULL;
    guint next = 0;

    if (per_socket == 0)
        per_socket = 1;
    if (!drop_beyond(plan, max, name, error))
        return FALSE;
    sockets = free_sockets(plan, max, per_socket);
    if (sockets->len == 0) /* every vCPU has its cell: --cells has nothing to split */
        return TRUE;
    if (!(share = sockets_per_cell(plan, sockets->len, per_socket, split, n_split, name, error)))
        return FALSE;
    /* Round robin over the cells that still get sockets: the next sockets
     * in id order go to the cells in turn. */
    for (guint k = 0; k < sockets->len; k++) {
        guint s = g_array_index(sockets, guint, k);
        NumaCell *c;

        while (share[next % plan->cells->len] == 0)
            next++;
        c = plan->cells->pdata[next % plan->cells->len];
        share[next % plan->cells->len]--;
        next++;
        for (guint id = s * per_socket; id < MIN(max, (s + 1) * per_socket); id++)
            cpulist_add(c->after, id);
    }
    return TRUE;
}

gboolean
numa_plan_changes(const NumaPlan *plan)
{
    for (guint i = 0; plan && i < plan->cells->len; i++) {
        const NumaCell *c = plan->cells->pdata[i];

        if (!cpulist_equal(c->before, c->after))
            return TRUE;
    }
    return FALSE;
}

char *
numa_plan_text(const NumaPlan *plan, gboolean after)
{
    GString *s = g_string_new(NULL);

    for (guint i = 0; plan && i < plan->cells->len; i++) {
        const NumaCell *c = plan->cells->pdata[i];
        g_autofree char *cpus = cpulist_format(after ? c->after : c->before);

        g_string_append_printf(s, "%scell %u: %s", i ? "; " : "", c->id, *cpus ? cpus : "none");
    }
    return g_string_free(s, FALSE);
}

gboolean
numa_plan_write(const NumaPlan *plan, void *domain, GError **error)
{
    xmlNode *numa = numa_of(domain);
    guint i = 0;

    if (!plan)
        return TRUE;
    for (xmlNode *n = numa ? numa->children : NULL; n; n = n->next) {
        const NumaCell *c;
        g_autofree char *cpus = NULL;

        if (!is_cell(n))
            continue;
        if (i >= plan->cells->len)
            return fail(error, "the definition's NUMA cells changed meanwhile");
        c = plan->cells->pdata[i++];
        if (cpulist_equal(c->before, c->after))
            continue; /* a cell of memory alone keeps having no cpus */
        cpus = cpulist_format(c->after);
        xmlSetProp(n, (const xmlChar *)"cpus", (const xmlChar *)cpus);
    }
    if (i != plan->cells->len)
        return fail(error, "the definition's NUMA cells changed meanwhile");
    return TRUE;
}
