/* domain_edit.c: prepare's plan and its edit of the definition's XML. */
#include "domain_edit.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <string.h>

void
domain_edit_secret_free(char *xml)
{
    if (!xml)
        return;
    explicit_bzero(xml, strlen(xml));
    g_free(xml);
}

/* ---- the plan ------------------------------------------------------------ */

void
domain_edit_plan_clear(DomainEditPlan *plan)
{
    cpulist_free(plan->hot_before);
    cpulist_free(plan->hot_after);
    cpulist_free(plan->enabled_before);
    cpulist_free(plan->enabled_after);
    g_free(plan->order);
    numa_plan_free(plan->numa);
    memset(plan, 0, sizeof(*plan));
}

/* The definition's vCPUs as libvirt reads them: <vcpus> when written (an
 * absent hotpluggable attribute means: only when disabled), else the first
 * `current` enabled and not hot-pluggable, the rest disabled. */
static void
read_layout(const DomainInfo *def, CpuList *enabled, CpuList *hot)
{
    for (guint i = 0; i < def->vcpus->len; i++) {
        const VcpuSlot *s = &g_array_index(def->vcpus, VcpuSlot, i);

        if (s->enabled)
            cpulist_add(enabled, s->id);
        if (s->hotpluggable)
            cpulist_add(hot, s->id);
    }
    if (def->vcpus->len > 0)
        return;
    for (guint id = 0; id < def->vcpu_max; id++)
        cpulist_add(id < def->vcpu_current ? enabled : hot, id);
}

/* The enabled set to write: the definition's when it still fits (vCPU 0
 * in it, the current count, every id below the new maximum), else the
 * first `current` ids. */
static CpuList *
enabled_after(const DomainEditPlan *plan)
{
    CpuList *e = cpulist_copy(plan->enabled_before);

    if (cpulist_contains(e, 0) && cpulist_count(e) == plan->current
        && cpulist_last(e) < (gint)plan->max_after)
        return e;
    cpulist_free(e);
    e = cpulist_new();
    for (guint id = 0; id < plan->current; id++)
        cpulist_add(e, id);
    return e;
}

/* The definition's order values, kept when every enabled vCPU of the new
 * layout has one (libvirt wants all or none); else none. */
static guint *
order_after(const DomainInfo *def, const DomainEditPlan *plan)
{
    g_autofree guint *order = g_new0(guint, plan->max_after);

    for (guint i = 0; i < def->vcpus->len; i++) {
        const VcpuSlot *s = &g_array_index(def->vcpus, VcpuSlot, i);

        if (s->id < plan->max_after && cpulist_contains(plan->enabled_after, s->id))
            order[s->id] = s->order;
    }
    for (gint id = cpulist_next(plan->enabled_after, -1); id >= 0;
         id = cpulist_next(plan->enabled_after, id))
        if (order[id] == 0)
            return NULL;
    return g_steal_pointer(&order);
}

void
domain_edit_plan(const DomainInfo *def, guint max, DomainEditPlan *plan)
{
    g_autoptr(CpuList) kept = cpulist_new();

    memset(plan, 0, sizeof(*plan));
    plan->current = def->vcpu_current;
    plan->max_before = def->vcpu_max;
    plan->max_after = max;
    plan->has_topology = def->has_topology;
    plan->sockets_before = def->sockets;
    plan->sockets_after = def->has_topology ? max / domain_info_vcpus_per_socket(def) : 1;
    plan->enabled_before = cpulist_new();
    plan->hot_before = cpulist_new();
    read_layout(def, plan->enabled_before, plan->hot_before);
    plan->hot_after = cpulist_new();
    for (guint id = 1; id < max; id++)
        cpulist_add(plan->hot_after, id);
    plan->enabled_after = enabled_after(plan);
    plan->add_channel = !def->has_agent_channel;

    /* What the maximum through the API alone leaves: the slots it adds are
     * disabled, hence hot-pluggable. */
    for (gint id = cpulist_next(plan->hot_before, -1); id >= 0 && id < (gint)max;
         id = cpulist_next(plan->hot_before, id))
        cpulist_add(kept, id);
    for (guint id = plan->max_before; id < max; id++)
        cpulist_add(kept, id);
    plan->max_by_api = max != plan->max_before && !plan->has_topology;
    plan->redefine = (max != plan->max_before && plan->has_topology)
                     || !cpulist_equal(kept, plan->hot_after)
                     || !cpulist_equal(plan->enabled_before, plan->enabled_after);
    if (plan->redefine)
        plan->order = order_after(def, plan);
}

void
domain_edit_plan_set_numa(const DomainInfo *def, DomainEditPlan *plan, NumaPlan *numa)
{
    numa_plan_free(plan->numa);
    plan->numa = numa;
    if (numa_plan_changes(numa) && !plan->redefine) {
        plan->redefine = TRUE;
        plan->order = order_after(def, plan);
    }
}

gboolean
domain_edit_plan_ready(const DomainEditPlan *plan)
{
    return plan->max_after == plan->max_before && !plan->redefine && !plan->add_channel
           && !numa_plan_changes(plan->numa);
}

/* ---- the XML ------------------------------------------------------------- */

G_DEFINE_AUTOPTR_CLEANUP_FUNC(xmlDoc, xmlFreeDoc)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(xmlBuffer, xmlBufferFree)

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

/* The first child element of @parent named @name, or NULL. */
static xmlNode *
child(xmlNode *parent, const char *name)
{
    for (xmlNode *n = parent ? parent->children : NULL; n; n = n->next)
        if (n->type == XML_ELEMENT_NODE && !n->ns && strcmp((const char *)n->name, name) == 0)
            return n;
    return NULL;
}

static void
set_uint_prop(xmlNode *node, const char *name, guint value)
{
    char text[16];

    g_snprintf(text, sizeof(text), "%u", value);
    xmlSetProp(node, (const xmlChar *)name, (const xmlChar *)text);
}

/* <vcpu current='C'>M</vcpu>: M must be what the plan expects once the API
 * has set it; written here when the topology changes with it. */
static gboolean
edit_vcpu(xmlNode *vcpu, const DomainEditPlan *plan, GError **error)
{
    xmlChar *content = xmlNodeGetContent(vcpu);
    guint64 now = 0;
    gboolean ok
        = content
          && g_ascii_string_to_unsigned(g_strstrip((char *)content), 10, 1, G_MAXINT, &now, NULL);
    char text[16];

    xmlFree(content);
    if (plan->has_topology) {
        g_snprintf(text, sizeof(text), "%u", plan->max_after);
        xmlNodeSetContent(vcpu, (const xmlChar *)text);
    } else if (!ok || now != plan->max_after) {
        return fail(error,
                    "the definition's maximum is %s, not the %u vCPUs planned (was it "
                    "changed meanwhile?)",
                    ok ? "different" : "unreadable", plan->max_after);
    }
    set_uint_prop(vcpu, "current", plan->current);
    return TRUE;
}

/* A new <vcpus> after <vcpu>, replacing any. */
static void
edit_vcpus(xmlNode *domain, xmlNode *vcpu, const DomainEditPlan *plan)
{
    xmlNode *old = child(domain, "vcpus");
    xmlNode *vcpus = xmlNewNode(NULL, (const xmlChar *)"vcpus");

    if (old) {
        xmlUnlinkNode(old);
        xmlFreeNode(old);
    }
    xmlAddNextSibling(vcpu, vcpus);
    for (guint id = 0; id < plan->max_after; id++) {
        xmlNode *v = xmlNewChild(vcpus, NULL, (const xmlChar *)"vcpu", NULL);
        gboolean on = cpulist_contains(plan->enabled_after, id);

        set_uint_prop(v, "id", id);
        xmlSetProp(v, (const xmlChar *)"enabled", (const xmlChar *)(on ? "yes" : "no"));
        xmlSetProp(v, (const xmlChar *)"hotpluggable",
                   (const xmlChar *)(cpulist_contains(plan->hot_after, id) ? "yes" : "no"));
        if (on && plan->order)
            set_uint_prop(v, "order", plan->order[id]);
    }
}

static char *
dump(xmlDoc *doc)
{
    g_autoptr(xmlBuffer) buf = xmlBufferCreate();
    char *text;

    if (xmlNodeDump(buf, doc, xmlDocGetRootElement(doc), 0, 0) < 0)
        return NULL;
    text = g_strdup((const char *)xmlBufferContent(buf));
    explicit_bzero((void *)xmlBufferContent(buf), xmlBufferLength(buf));
    return text;
}

char *
domain_edit_xml(const char *xml, const DomainEditPlan *plan, GError **error)
{
    g_autoptr(xmlDoc) doc
        = xmlReadMemory(xml, (int)strlen(xml), "domain.xml", NULL,
                        XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    xmlNode *domain = doc ? xmlDocGetRootElement(doc) : NULL;
    xmlNode *vcpu = child(domain, "vcpu");
    xmlNode *topology = child(child(domain, "cpu"), "topology");
    char *text = NULL;

    /* libxml2's own message could quote the document: not passed on */
    if (!domain || domain->ns || strcmp((const char *)domain->name, "domain") != 0)
        fail(error, "the definition is not a well-formed <domain>");
    else if (!vcpu)
        fail(error, "the definition has no <vcpu> element");
    else if (plan->has_topology != (topology != NULL))
        fail(error, "the definition's <topology> changed meanwhile");
    else if (edit_vcpu(vcpu, plan, error)) {
        if (topology)
            set_uint_prop(topology, "sockets", plan->sockets_after);
        edit_vcpus(domain, vcpu, plan);
        if (!numa_plan_write(plan->numa, domain, error))
            return NULL;
        if (!(text = dump(doc)))
            fail(error, "cannot write the edited definition");
        return text;
    }
    return NULL;
}
