/* domain_info.c: the parts of the domain XML we use, through XPath.
 *
 * libxml2 rather than a hand-written GMarkup walker: XPath expressions say
 * what is read in one line each and handle namespaces (libosinfo metadata)
 * properly, and `prepare` edits the same tree.  The document is parsed
 * without network access or entity expansion. */
#include "domain_info.h"

#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>
#include <string.h>

#include "agent_client.h"
#include "hook_env.h"

static void
hook_var_free(gpointer data)
{
    DomainHookVar *v = data;

    g_free(v->name);
    g_free(v->value);
    g_free(v);
}

void
domain_info_free(DomainInfo *info)
{
    if (!info)
        return;
    g_free(info->name);
    g_free(info->uuid);
    g_free(info->type);
    g_free(info->arch);
    if (info->vcpus)
        g_array_unref(info->vcpus);
    if (info->pinned_vcpus)
        g_array_unref(info->pinned_vcpus);
    g_free(info->agent_socket);
    g_free(info->os_id);
    if (info->hook_vars)
        g_ptr_array_unref(info->hook_vars);
    g_free(info);
}

guint
domain_info_vcpus_per_socket(const DomainInfo *info)
{
    return info->dies * info->clusters * info->cores * info->threads;
}

gboolean
domain_info_vcpu_pinned(const DomainInfo *info, guint vcpu)
{
    for (guint i = 0; i < info->pinned_vcpus->len; i++)
        if (g_array_index(info->pinned_vcpus, guint, i) == vcpu)
            return TRUE;
    return FALSE;
}

/* ---- XPath helpers -------------------------------------------------------- */

G_DEFINE_AUTOPTR_CLEANUP_FUNC(xmlDoc, xmlFreeDoc)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(xmlXPathContext, xmlXPathFreeContext)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(xmlXPathObject, xmlXPathFreeObject)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(xmlParserCtxt, xmlFreeParserCtxt)

/* The nodes @expr selects (relative to @at, or the document); NULL when none. */
static xmlXPathObject *
select_nodes(xmlXPathContext *x, xmlNode *at, const char *expr)
{
    xmlXPathObject *obj;

    x->node = at;
    obj = xmlXPathEvalExpression((const xmlChar *)expr, x);
    if (obj && (obj->type != XPATH_NODESET || xmlXPathNodeSetIsEmpty(obj->nodesetval))) {
        xmlXPathFreeObject(obj);
        obj = NULL;
    }
    return obj;
}

/* The text of the first node @expr selects, or NULL. */
static char *
select_text(xmlXPathContext *x, xmlNode *at, const char *expr)
{
    g_autoptr(xmlXPathObject) obj = select_nodes(x, at, expr);
    xmlChar *content;
    char *text;

    if (!obj)
        return NULL;
    content = xmlNodeGetContent(obj->nodesetval->nodeTab[0]);
    text = g_strstrip(g_strdup((const char *)content));
    xmlFree(content);
    return text;
}

/* A number from @expr into *out; absent leaves *out.  @what names it in
 * the error ("<vcpu current>"). */
static gboolean
select_uint(xmlXPathContext *x, xmlNode *at, const char *expr, const char *what, guint *out,
            GError **error)
{
    g_autofree char *text = select_text(x, at, expr);
    guint64 v;

    if (!text)
        return TRUE;
    if (!g_ascii_string_to_unsigned(text, 10, 0, G_MAXINT, &v, NULL)) {
        g_set_error(error, G_MARKUP_ERROR, G_MARKUP_ERROR_INVALID_CONTENT,
                    "%s='%s' is not a number", what, text);
        return FALSE;
    }
    *out = (guint)v;
    return TRUE;
}

/* TRUE when @expr selects anything. */
static gboolean
select_nodes_any(xmlXPathContext *x, xmlNode *at, const char *expr)
{
    g_autoptr(xmlXPathObject) obj = select_nodes(x, at, expr);
    return obj != NULL;
}

static gboolean
select_yes(xmlXPathContext *x, xmlNode *at, const char *expr)
{
    g_autofree char *text = select_text(x, at, expr);
    return g_strcmp0(text, "yes") == 0;
}

/* ---- the parts ------------------------------------------------------------ */

static gboolean
read_vcpu(xmlXPathContext *x, DomainInfo *info, GError **error)
{
    return select_uint(x, NULL, "/domain/vcpu", "<vcpu>", &info->vcpu_max, error)
           && select_uint(x, NULL, "/domain/vcpu/@current", "<vcpu current>", &info->vcpu_current,
                          error);
}

static gboolean
read_vcpu_slots(xmlXPathContext *x, DomainInfo *info, GError **error)
{
    g_autoptr(xmlXPathObject) obj = select_nodes(x, NULL, "/domain/vcpus/vcpu");

    for (int i = 0; obj && i < obj->nodesetval->nodeNr; i++) {
        xmlNode *n = obj->nodesetval->nodeTab[i];
        VcpuSlot slot = { 0 };

        if (!select_uint(x, n, "@id", "<vcpus><vcpu id>", &slot.id, error)
            || !select_uint(x, n, "@order", "<vcpus><vcpu order>", &slot.order, error))
            return FALSE;
        slot.enabled = select_yes(x, n, "@enabled");
        /* libvirt's default when the attribute is absent: a vCPU enabled at
         * boot is not hot-pluggable, a disabled one is (all disabled vCPUs
         * must be) */
        slot.hotpluggable_absent = !select_nodes_any(x, n, "@hotpluggable");
        if (slot.hotpluggable_absent)
            slot.hotpluggable = !slot.enabled;
        else
            slot.hotpluggable = select_yes(x, n, "@hotpluggable");
        g_array_append_val(info->vcpus, slot);
    }
    return TRUE;
}

static gboolean
read_topology(xmlXPathContext *x, DomainInfo *info, GError **error)
{
    static const char *const keys[] = { "sockets", "dies", "clusters", "cores", "threads" };
    guint *slots[] = { &info->sockets, &info->dies, &info->clusters, &info->cores, &info->threads };
    g_autoptr(xmlXPathObject) obj = select_nodes(x, NULL, "/domain/cpu/topology");

    if (!obj)
        return TRUE;
    info->has_topology = TRUE;
    for (guint i = 0; i < G_N_ELEMENTS(keys); i++) {
        g_autofree char *expr = g_strdup_printf("@%s", keys[i]);
        g_autofree char *what = g_strdup_printf("<topology %s>", keys[i]);

        if (!select_uint(x, obj->nodesetval->nodeTab[0], expr, what, slots[i], error))
            return FALSE;
        if (*slots[i] == 0)
            *slots[i] = 1;
    }
    return TRUE;
}

static gint
cmp_guint(gconstpointer a, gconstpointer b)
{
    guint x = *(const guint *)a, y = *(const guint *)b;
    return x < y ? -1 : x > y;
}

static gboolean
read_pins(xmlXPathContext *x, DomainInfo *info, GError **error)
{
    g_autoptr(xmlXPathObject) obj = select_nodes(x, NULL, "/domain/cputune/vcpupin[@vcpu]");

    for (int i = 0; obj && i < obj->nodesetval->nodeNr; i++) {
        guint id = 0;

        if (!select_uint(x, obj->nodesetval->nodeTab[i], "@vcpu", "<vcpupin vcpu>", &id, error))
            return FALSE;
        g_array_append_val(info->pinned_vcpus, id);
    }
    g_array_sort(info->pinned_vcpus, cmp_guint);
    return TRUE;
}

static void
read_channel(xmlXPathContext *x, DomainInfo *info)
{
    static const char chan[] = "/domain/devices/channel[target[@type='virtio' and "
                               "@name='" AGENT_CHANNEL_NAME "']]";
    g_autoptr(xmlXPathObject) obj = select_nodes(x, NULL, chan);

    info->has_agent_channel = obj != NULL;
    info->agent_socket = select_text(
        x, NULL,
        "(" /* the first channel that has a bind path */
        "/domain/devices/channel[target[@type='virtio' and @name='" AGENT_CHANNEL_NAME "']]"
        "/source[not(@mode) or @mode='bind']/@path)[1]");
}

/* hotcpu's <metadata>: hook-env elements directly under <metadata>, or in
 * one hotcpu element there (as `virsh metadata --key` writes them). */
static void
read_hook_vars(xmlXPathContext *x, DomainInfo *info)
{
    g_autoptr(xmlXPathObject) obj = select_nodes(
        x, NULL, "/domain/metadata/hotcpu:hook-env | /domain/metadata/hotcpu:*/hotcpu:hook-env");

    for (int i = 0; obj && i < obj->nodesetval->nodeNr; i++) {
        xmlNode *n = obj->nodesetval->nodeTab[i];
        DomainHookVar *v = g_new0(DomainHookVar, 1);
        xmlChar *name = xmlGetNoNsProp(n, (const xmlChar *)"name");
        xmlChar *content = xmlNodeGetContent(n);

        v->name = name ? g_strdup((const char *)name) : NULL;
        v->value = g_strdup(content ? (const char *)content : "");
        xmlFree(name);
        xmlFree(content);
        g_ptr_array_add(info->hook_vars, v);
    }
}

/* ---- parse ------------------------------------------------------------------ */

static xmlDoc *
parse_document(const char *xml, GError **error)
{
    g_autoptr(xmlParserCtxt) ctxt = xmlNewParserCtxt();
    xmlDoc *doc;

    if (!ctxt) {
        g_set_error(error, G_MARKUP_ERROR, G_MARKUP_ERROR_PARSE, "out of memory");
        return NULL;
    }
    doc = xmlCtxtReadMemory(ctxt, xml, (int)strlen(xml), "domain.xml", NULL,
                            XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!doc) {
        const xmlError *e = xmlCtxtGetLastError(ctxt);
        g_set_error(error, G_MARKUP_ERROR, G_MARKUP_ERROR_PARSE,
                    "the domain XML is not well formed (line %d: %s)", e ? e->line : 0,
                    e && e->message ? g_strstrip(e->message) : "unknown error");
        return NULL;
    }
    return doc;
}

static gboolean
read_all(xmlXPathContext *x, DomainInfo *info, GError **error)
{
    info->type = select_text(x, NULL, "/domain/@type");
    info->name = select_text(x, NULL, "/domain/name");
    info->uuid = select_text(x, NULL, "/domain/uuid");
    info->arch = select_text(x, NULL, "/domain/os/type/@arch");
    info->os_id
        = select_text(x, NULL, "(/domain/metadata/libosinfo:libosinfo/libosinfo:os/@id)[1]");
    read_channel(x, info);
    read_hook_vars(x, info);
    return read_vcpu(x, info, error) && read_vcpu_slots(x, info, error)
           && read_topology(x, info, error) && read_pins(x, info, error);
}

DomainInfo *
domain_info_parse(const char *xml, GError **error)
{
    g_autoptr(xmlDoc) doc = parse_document(xml, error);
    g_autoptr(xmlXPathContext) x = NULL;
    g_autoptr(DomainInfo) info = NULL;
    xmlNode *root;

    if (!doc)
        return NULL;
    root = xmlDocGetRootElement(doc);
    if (!root || strcmp((const char *)root->name, "domain") != 0 || root->ns) {
        g_set_error(error, G_MARKUP_ERROR, G_MARKUP_ERROR_INVALID_CONTENT,
                    "the document is a <%s>, not a <domain>", root ? (char *)root->name : "");
        return NULL;
    }
    x = xmlXPathNewContext(doc);
    xmlXPathRegisterNs(x, (const xmlChar *)"libosinfo", (const xmlChar *)DOMAIN_INFO_LIBOSINFO_NS);
    xmlXPathRegisterNs(x, (const xmlChar *)"hotcpu", (const xmlChar *)HOOK_ENV_NS);

    info = g_new0(DomainInfo, 1);
    info->vcpus = g_array_new(FALSE, FALSE, sizeof(VcpuSlot));
    info->pinned_vcpus = g_array_new(FALSE, FALSE, sizeof(guint));
    info->hook_vars = g_ptr_array_new_with_free_func(hook_var_free);
    info->sockets = info->dies = info->clusters = info->cores = info->threads = 1;
    if (!read_all(x, info, error))
        return NULL;
    if (info->vcpu_current == 0)
        info->vcpu_current = info->vcpu_max;
    return g_steal_pointer(&info);
}
