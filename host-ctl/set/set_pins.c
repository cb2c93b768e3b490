/* set_pins.c: pins for the vCPUs a plug adds, by rule (set_pins.h). */
#include "set_pins.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>
#include <libvirt/virterror.h>
#include <string.h>

#include "hook_env.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC(xmlDoc, xmlFreeDoc)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(xmlXPathContext, xmlXPathFreeContext)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(xmlXPathObject, xmlXPathFreeObject)

static void
add_all(CpuList *dst, const CpuList *src)
{
    for (gint c = cpulist_next(src, -1); c >= 0; c = cpulist_next(src, c))
        cpulist_add(dst, (guint)c);
}

void
pin_plan_free(PinPlan *plan)
{
    if (!plan)
        return;
    g_free(plan->unclear);
    cpulist_free(plan->cpuset);
    if (plan->pins)
        g_hash_table_unref(plan->pins);
    numa_plan_free(plan->cells);
    cpulist_free(plan->taken);
    if (plan->host_nodes)
        g_hash_table_unref(plan->host_nodes);
    if (plan->memnodes)
        g_hash_table_unref(plan->memnodes);
    g_free(plan);
}

static xmlXPathObject *
select_nodes(xmlXPathContext *x, const char *expr)
{
    xmlXPathObject *obj = xmlXPathEvalExpression((const xmlChar *)expr, x);

    if (obj && (!obj->nodesetval || obj->nodesetval->nodeNr == 0)) {
        xmlXPathFreeObject(obj);
        return NULL;
    }
    return obj;
}

/* <cputune><vcpupin vcpu= cpuset=> of the live XML; a pin that does not
 * read is left out (libvirt wrote it: it reads). */
static void
read_pins(xmlXPathContext *x, GHashTable *pins)
{
    g_autoptr(xmlXPathObject) obj = select_nodes(x, "/domain/cputune/vcpupin");

    for (int i = 0; obj && i < obj->nodesetval->nodeNr; i++) {
        xmlNode *n = obj->nodesetval->nodeTab[i];
        g_autofree char *vcpu = (char *)xmlGetNoNsProp(n, (const xmlChar *)"vcpu");
        g_autofree char *cpuset = (char *)xmlGetNoNsProp(n, (const xmlChar *)"cpuset");
        guint64 id;
        CpuList *set;

        if (!vcpu || !cpuset || !g_ascii_string_to_unsigned(vcpu, 10, 0, G_MAXINT, &id, NULL)
            || !(set = cpulist_parse(cpuset, NULL)))
            continue;
        g_hash_table_replace(pins, GUINT_TO_POINTER((guint)id), set);
    }
}

/* Drops the pins of vCPUs not in @enabled: libvirt keeps the pin of a
 * vCPU an unplug disabled, and a disabled vCPU occupies no host CPU. */
static void
keep_enabled(GHashTable *pins, const CpuList *enabled)
{
    GHashTableIter it;
    gpointer key;

    g_hash_table_iter_init(&it, pins);
    while (g_hash_table_iter_next(&it, &key, NULL))
        if (!cpulist_contains(enabled, GPOINTER_TO_UINT(key)))
            g_hash_table_iter_remove(&it);
}

/* <numatune><memnode cellid= nodeset=>: the host nodes of each cell. */
static void
read_memnodes(xmlXPathContext *x, GHashTable *memnodes)
{
    g_autoptr(xmlXPathObject) obj = select_nodes(x, "/domain/numatune/memnode");

    for (int i = 0; obj && i < obj->nodesetval->nodeNr; i++) {
        xmlNode *n = obj->nodesetval->nodeTab[i];
        g_autofree char *cell = (char *)xmlGetNoNsProp(n, (const xmlChar *)"cellid");
        g_autofree char *nodeset = (char *)xmlGetNoNsProp(n, (const xmlChar *)"nodeset");
        guint64 id;
        CpuList *set;

        if (!cell || !nodeset || !g_ascii_string_to_unsigned(cell, 10, 0, G_MAXINT, &id, NULL)
            || !(set = cpulist_parse(nodeset, NULL)))
            continue;
        g_hash_table_replace(memnodes, GUINT_TO_POINTER((guint)id), set);
    }
}

void
set_pins_read_host_nodes(PinPlan *plan, const char *caps_xml)
{
    g_autoptr(xmlDoc) doc
        = caps_xml ? xmlReadMemory(caps_xml, (int)strlen(caps_xml), "caps.xml", NULL,
                                   XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING)
                   : NULL;
    g_autoptr(xmlXPathContext) x = doc ? xmlXPathNewContext(doc) : NULL;
    g_autoptr(xmlXPathObject) obj
        = x ? select_nodes(x, "/capabilities/host/topology/cells/cell") : NULL;

    for (int i = 0; obj && i < obj->nodesetval->nodeNr; i++) {
        xmlNode *cell = obj->nodesetval->nodeTab[i];
        g_autofree char *id = (char *)xmlGetNoNsProp(cell, (const xmlChar *)"id");
        g_autoptr(CpuList) cpus = cpulist_new();
        guint64 node;

        if (!id || !g_ascii_string_to_unsigned(id, 10, 0, G_MAXINT, &node, NULL))
            continue;
        for (xmlNode *c = cell->children; c; c = c->next) {
            if (c->type != XML_ELEMENT_NODE || !xmlStrEqual(c->name, (const xmlChar *)"cpus"))
                continue;
            for (xmlNode *cpu = c->children; cpu; cpu = cpu->next) {
                g_autofree char *cid = NULL;
                guint64 n;

                if (cpu->type != XML_ELEMENT_NODE
                    || !xmlStrEqual(cpu->name, (const xmlChar *)"cpu"))
                    continue;
                cid = (char *)xmlGetNoNsProp(cpu, (const xmlChar *)"id");
                if (cid && g_ascii_string_to_unsigned(cid, 10, 0, G_MAXINT, &n, NULL))
                    cpulist_add(cpus, (guint)n);
            }
        }
        if (!plan->host_nodes)
            plan->host_nodes
                = g_hash_table_new_full(NULL, NULL, NULL, (GDestroyNotify)cpulist_free);
        g_hash_table_replace(plan->host_nodes, GUINT_TO_POINTER((guint)node),
                             g_steal_pointer(&cpus));
    }
}

/* hotcpu's <metadata> pin policy, or NULL. */
static char *
read_policy(xmlXPathContext *x)
{
    g_autoptr(xmlXPathObject) obj = select_nodes(
        x, "(/domain/metadata/hotcpu:pin/@policy | /domain/metadata/hotcpu:*/hotcpu:pin/@policy)");
    xmlChar *text;
    char *policy;

    if (!obj)
        return NULL;
    text = xmlNodeGetContent(obj->nodesetval->nodeTab[0]);
    policy = g_strdup((const char *)text);
    xmlFree(text);
    return policy;
}

/* The pins of @enabled vCPUs: TRUE when every one is pinned to the same
 * host CPUs (*shared), or each to one host CPU of its own (*dedicated). */
static void
pattern_of(const PinPlan *plan, const CpuList *enabled, gboolean *shared, gboolean *dedicated)
{
    g_autoptr(CpuList) seen = cpulist_new();
    const CpuList *first = NULL;

    *shared = *dedicated = TRUE;
    for (gint v = cpulist_next(enabled, -1); v >= 0; v = cpulist_next(enabled, v)) {
        const CpuList *set = g_hash_table_lookup(plan->pins, GUINT_TO_POINTER((guint)v));

        if (!set) {
            *shared = *dedicated = FALSE;
            return;
        }
        if (first && !cpulist_equal(first, set))
            *shared = FALSE;
        first = first ? first : set;
        if (cpulist_count(set) != 1 || cpulist_contains(seen, (guint)cpulist_next(set, -1)))
            *dedicated = FALSE;
        else
            cpulist_add(seen, (guint)cpulist_next(set, -1));
    }
}

/* Any of @enabled pinned? */
static gboolean
any_pinned(const PinPlan *plan, const CpuList *enabled)
{
    for (gint v = cpulist_next(enabled, -1); v >= 0; v = cpulist_next(enabled, v))
        if (g_hash_table_contains(plan->pins, GUINT_TO_POINTER((guint)v)))
            return TRUE;
    return FALSE;
}

static gboolean
parse_cpuset(PinPlan *plan, const char *text, const char *dom, GError **error)
{
    g_autoptr(GError) local = NULL;
    gint last;

    plan->cpuset = cpulist_parse(text, &local);
    if (!plan->cpuset || cpulist_count(plan->cpuset) == 0) {
        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                    "--cpuset '%s' for domain '%s' is not a list of host CPUs%s%s", text, dom,
                    local ? ": " : "", local ? local->message : "");
        return FALSE;
    }
    last = cpulist_last(plan->cpuset);
    if (plan->host_cpus > 0 && last >= (gint)plan->host_cpus) {
        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                    "--cpuset names host CPU %d for domain '%s' but the host has CPUs 0-%u", last,
                    dom, plan->host_cpus - 1);
        return FALSE;
    }
    return TRUE;
}

/* The host CPUs no pin uses. */
static guint
free_host_cpus(const PinPlan *plan)
{
    guint n = 0;

    for (guint c = 0; c < plan->host_cpus; c++)
        n += !cpulist_contains(plan->taken, c);
    return n;
}

/* The rule when no --cpuset and no policy: the live pins' pattern. */
static gboolean
plan_pattern(PinPlan *plan, const CpuList *enabled, gboolean strict, const char *dom,
             GError **error)
{
    gboolean shared, dedicated;
    g_autofree char *ids = NULL;

    if (!any_pinned(plan, enabled)) {
        plan->rule = "none";
        return TRUE;
    }
    pattern_of(plan, enabled, &shared, &dedicated);
    /* One vCPU on one host CPU is both; a dedicated CPU is the likelier
     * intent (VDSM's dedicated-CPU policy pins so). */
    if (shared && dedicated)
        shared = FALSE;
    if (dedicated && free_host_cpus(plan) < plan->n_new) {
        plan->rule = "none";
        plan->unclear = g_strdup_printf(
            "the vCPUs of domain '%s' are pinned one host CPU each, but %u of the host's %u CPUs "
            "are free for the %u new vCPU%s; give --cpuset LIST, or <hotcpu:pin "
            "policy=\"same-cell|spread|none\"/> in hotcpu's <metadata>",
            dom, free_host_cpus(plan), plan->host_cpus, plan->n_new, plan->n_new == 1 ? "" : "s");
        if (!strict)
            return TRUE;
        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "%s (--strict-pinning)",
                    plan->unclear);
        return FALSE;
    }
    if (shared || dedicated) {
        plan->rule = "pattern";
        plan->pattern = dedicated ? "dedicated" : "shared";
        return TRUE;
    }
    ids = cpulist_format(enabled);
    plan->rule = "none";
    plan->unclear = g_strdup_printf(
        "the pins of domain '%s' (vCPUs %s) follow no clear pattern (neither all on the same "
        "host CPUs nor one host CPU each), so the %u new vCPU%s cannot be pinned by it; give "
        "--cpuset LIST, or <hotcpu:pin policy=\"same-cell|spread|none\"/> in hotcpu's "
        "<metadata>",
        dom, ids, plan->n_new, plan->n_new == 1 ? "" : "s");
    if (!strict)
        return TRUE;
    g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "%s (--strict-pinning)",
                plan->unclear);
    return FALSE;
}

PinPlan *
set_pins_plan(const char *xml, const CpuList *enabled, guint n_new, const char *cpuset,
              gboolean strict, guint host_cpus, const char *dom, GError **error)
{
    g_autoptr(PinPlan) plan = g_new0(PinPlan, 1);
    g_autoptr(xmlDoc) doc
        = xmlReadMemory(xml, (int)strlen(xml), "domain.xml", NULL,
                        XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    g_autoptr(xmlXPathContext) x = doc ? xmlXPathNewContext(doc) : NULL;
    g_autofree char *policy = NULL;

    plan->pins = g_hash_table_new_full(NULL, NULL, NULL, (GDestroyNotify)cpulist_free);
    plan->memnodes = g_hash_table_new_full(NULL, NULL, NULL, (GDestroyNotify)cpulist_free);
    plan->host_cpus = host_cpus;
    plan->n_new = n_new;
    plan->taken = cpulist_new();
    if (!x) {
        g_set_error(error, G_MARKUP_ERROR, G_MARKUP_ERROR_INVALID_CONTENT,
                    "the live definition of domain '%s' does not read", dom);
        return NULL;
    }
    xmlXPathRegisterNs(x, (const xmlChar *)"hotcpu", (const xmlChar *)HOOK_ENV_NS);
    read_pins(x, plan->pins);
    keep_enabled(plan->pins, enabled);
    read_memnodes(x, plan->memnodes);
    plan->cells = numa_plan_read(xml, NULL);
    {
        GHashTableIter it;
        gpointer value;

        g_hash_table_iter_init(&it, plan->pins);
        while (g_hash_table_iter_next(&it, NULL, &value))
            add_all(plan->taken, value);
    }
    if (cpuset) {
        plan->rule = "cpuset";
        return parse_cpuset(plan, cpuset, dom, error) ? g_steal_pointer(&plan) : NULL;
    }
    policy = read_policy(x);
    if (policy && (g_str_equal(policy, "same-cell") || g_str_equal(policy, "spread"))) {
        plan->rule = g_str_equal(policy, "spread") ? "spread" : "same-cell";
        return g_steal_pointer(&plan);
    }
    if (policy && g_str_equal(policy, "none")) {
        plan->rule = "none";
        return g_steal_pointer(&plan);
    }
    if (policy) {
        g_set_error(error, G_MARKUP_ERROR, G_MARKUP_ERROR_INVALID_CONTENT,
                    "domain '%s' has <hotcpu:pin policy=\"%.32s\"/> in its metadata; the policy "
                    "is one of same-cell, spread, none",
                    dom, policy);
        return NULL;
    }
    return plan_pattern(plan, enabled, strict, dom, error) ? g_steal_pointer(&plan) : NULL;
}

/* The union of the pins of the vCPUs in @cell (every pin when NULL). */
static CpuList *
pins_union(const PinPlan *plan, const CpuList *cell)
{
    CpuList *all = cpulist_new();
    GHashTableIter it;
    gpointer key, value;

    g_hash_table_iter_init(&it, plan->pins);
    while (g_hash_table_iter_next(&it, &key, &value))
        if (!cell || cpulist_contains(cell, GPOINTER_TO_UINT(key)))
            add_all(all, value);
    return all;
}

/* The cell of @vcpu in the live cells, or NULL. */
static const CpuList *
cell_of(const PinPlan *plan, guint vcpu)
{
    for (guint i = 0; plan->cells && i < plan->cells->cells->len; i++) {
        const NumaCell *c = plan->cells->cells->pdata[i];

        if (cpulist_contains(c->before, vcpu))
            return c->before;
    }
    return NULL;
}

/* The host CPUs of the host node(s) of @vcpu's cell: those numatune's
 * <memnode> gives the cell, else the node whose id is the cell's; NULL
 * when the domain has no cells or the host no such node. */
static CpuList *
cell_host_cpus(const PinPlan *plan, guint vcpu)
{
    const CpuList *nodes = NULL;
    g_autoptr(CpuList) same = NULL;
    CpuList *cpus;
    guint cell = G_MAXUINT;

    for (guint i = 0; plan->cells && i < plan->cells->cells->len; i++) {
        const NumaCell *c = plan->cells->cells->pdata[i];

        if (cpulist_contains(c->before, vcpu))
            cell = c->id;
    }
    if (cell == G_MAXUINT || !plan->host_nodes)
        return NULL;
    nodes = g_hash_table_lookup(plan->memnodes, GUINT_TO_POINTER(cell));
    if (!nodes) {
        same = cpulist_new();
        cpulist_add(same, cell);
        nodes = same;
    }
    cpus = cpulist_new();
    for (gint n = cpulist_next(nodes, -1); n >= 0; n = cpulist_next(nodes, n)) {
        const CpuList *of = g_hash_table_lookup(plan->host_nodes, GUINT_TO_POINTER((guint)n));

        if (of)
            add_all(cpus, of);
    }
    if (cpulist_count(cpus) == 0)
        g_clear_pointer(&cpus, cpulist_free);
    return cpus;
}

/* The lowest host CPU no pin uses, of @vcpu's cell's host node first, or
 * -1. */
static gint
free_host_cpu(const PinPlan *plan, guint vcpu)
{
    g_autoptr(CpuList) near = cell_host_cpus(plan, vcpu);

    for (gint c = near ? cpulist_next(near, -1) : -1; c >= 0; c = cpulist_next(near, c))
        if ((guint)c < plan->host_cpus && !cpulist_contains(plan->taken, (guint)c))
            return c;
    for (guint c = 0; c < plan->host_cpus; c++)
        if (!cpulist_contains(plan->taken, c))
            return (gint)c;
    return -1;
}

CpuList *
set_pins_choose(PinPlan *plan, guint vcpu)
{
    guint nth = plan->given++;
    CpuList *set = NULL;

    if (g_str_equal(plan->rule, "cpuset")) {
        if (cpulist_count(plan->cpuset) != plan->n_new)
            return cpulist_copy(plan->cpuset);
        set = cpulist_new();
        for (gint c = cpulist_next(plan->cpuset, -1); c >= 0; c = cpulist_next(plan->cpuset, c))
            if (nth-- == 0) {
                cpulist_add(set, (guint)c);
                break;
            }
        return set;
    }
    if (g_str_equal(plan->rule, "spread"))
        return pins_union(plan, NULL);
    if (g_str_equal(plan->rule, "same-cell")) {
        const CpuList *cell = cell_of(plan, vcpu);
        CpuList *mine = cell ? pins_union(plan, cell) : NULL;

        if (mine && cpulist_count(mine) > 0)
            return mine;
        cpulist_free(mine);
        return pins_union(plan, NULL);
    }
    if (g_str_equal(plan->rule, "pattern") && g_str_equal(plan->pattern, "shared"))
        return pins_union(plan, NULL);
    if (g_str_equal(plan->rule, "pattern")) {
        gint c = free_host_cpu(plan, vcpu);

        if (c < 0)
            return NULL;
        cpulist_add(plan->taken, (guint)c);
        set = cpulist_new();
        cpulist_add(set, (guint)c);
        return set;
    }
    return NULL;
}

JsonObject *
set_pins_apply(PinPlan *plan, virDomainPtr dom, const CpuList *new_ids, char **warning)
{
    g_autoptr(JsonObject) set = json_object_new();
    g_autoptr(GString) refused = g_string_new(NULL);

    for (gint v = cpulist_next(new_ids, -1); v >= 0; v = cpulist_next(new_ids, v)) {
        g_autoptr(CpuList) cpus = set_pins_choose(plan, (guint)v);
        g_autofree char *text = NULL;
        g_autofree unsigned char *map = NULL;
        int maplen;

        if (!cpus || cpulist_count(cpus) == 0)
            continue;
        maplen = VIR_CPU_MAPLEN(cpulist_last(cpus) + 1);
        map = g_malloc0((gsize)maplen);
        for (gint c = cpulist_next(cpus, -1); c >= 0; c = cpulist_next(cpus, c))
            VIR_USE_CPU(map, c);
        text = cpulist_format(cpus);
        /* CURRENT: the running domain's vCPU (libvirt's test driver takes
         * no other flag) */
        if (virDomainPinVcpuFlags(dom, (unsigned int)v, map, maplen, VIR_DOMAIN_AFFECT_CURRENT)
            < 0) {
            g_string_append_printf(refused, "%s%d (%s: %s)", refused->len ? ", " : "", v, text,
                                   virGetLastErrorMessage());
            continue;
        }
        {
            g_autofree char *key = g_strdup_printf("%d", v);
            json_object_set_string_member(set, key, text);
        }
    }
    if (refused->len)
        *warning = g_strdup_printf("libvirt did not pin vCPU %s", refused->str);
    return json_object_get_size(set) ? g_steal_pointer(&set) : NULL;
}

JsonObject *
set_pins_unpin(virDomainPtr dom, const char *xml_before, const CpuList *removed, guint host_cpus,
               char **warning)
{
    g_autoptr(GHashTable) pins
        = g_hash_table_new_full(NULL, NULL, NULL, (GDestroyNotify)cpulist_free);
    g_autoptr(JsonObject) gone = json_object_new();
    g_autoptr(GString) kept = g_string_new(NULL);
    g_autoptr(xmlDoc) doc
        = xmlReadMemory(xml_before, (int)strlen(xml_before), "domain.xml", NULL,
                        XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    g_autoptr(xmlXPathContext) x = doc ? xmlXPathNewContext(doc) : NULL;
    g_autofree unsigned char *all = NULL;
    int maplen;

    if (!x || host_cpus == 0)
        return NULL;
    read_pins(x, pins);
    maplen = VIR_CPU_MAPLEN((int)host_cpus);
    all = g_malloc0((gsize)maplen);
    for (guint c = 0; c < host_cpus; c++)
        VIR_USE_CPU(all, c);
    for (gint v = cpulist_next(removed, -1); v >= 0; v = cpulist_next(removed, v)) {
        const CpuList *had = g_hash_table_lookup(pins, GUINT_TO_POINTER((guint)v));
        g_autofree char *text = NULL;

        if (!had)
            continue;
        text = cpulist_format(had);
        /* CURRENT: the running domain's (libvirt's test driver takes no
         * other flag) */
        if (virDomainPinVcpuFlags(dom, (unsigned int)v, all, maplen, VIR_DOMAIN_AFFECT_CURRENT)
            < 0) {
            g_string_append_printf(kept, "%s%d (%s: %s)", kept->len ? ", " : "", v, text,
                                   virGetLastErrorMessage());
            continue;
        }
        {
            g_autofree char *key = g_strdup_printf("%d", v);
            json_object_set_string_member(gone, key, text);
        }
    }
    if (kept->len)
        *warning = g_strdup_printf("libvirt kept the pin of removed vCPU %s", kept->str);
    return json_object_get_size(gone) ? g_steal_pointer(&gone) : NULL;
}
