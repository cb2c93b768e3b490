/* domain_info.c: GMarkup reader for the parts of the domain XML we use. */
#include "domain_info.h"

#include <string.h>

typedef struct {
    char *name;    /* qualified name as written */
    GPtrArray *ns; /* pairs prefix, uri declared on this element ("" = default) */
} Elem;

typedef struct {
    DomainInfo *info;
    GPtrArray *stack; /* Elem * */
    GString *text;    /* character data of the current <vcpu>/<name>/<uuid> */
    /* the <channel> being read */
    gboolean chan_is_agent;
    char *chan_source;
} ParseState;

static void
elem_free(gpointer p)
{
    Elem *e = p;
    g_free(e->name);
    if (e->ns)
        g_ptr_array_unref(e->ns);
    g_free(e);
}

void
domain_info_free(DomainInfo *info)
{
    if (!info)
        return;
    g_free(info->name);
    g_free(info->uuid);
    g_free(info->type);
    if (info->pinned_vcpus)
        g_array_unref(info->pinned_vcpus);
    g_free(info->agent_socket);
    g_free(info->os_id);
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

static const char *
attr(const char **names, const char **values, const char *want)
{
    for (guint i = 0; names[i]; i++)
        if (strcmp(names[i], want) == 0)
            return values[i];
    return NULL;
}

static gboolean
parse_uint_attr(const char *elem, const char *name, const char *text, guint *out, GError **error)
{
    guint64 v;

    if (!g_ascii_string_to_unsigned(text, 10, 0, G_MAXINT, &v, NULL)) {
        g_set_error(error, G_MARKUP_ERROR, G_MARKUP_ERROR_INVALID_CONTENT,
                    "<%s %s='%s'> is not a number", elem, name, text);
        return FALSE;
    }
    *out = (guint)v;
    return TRUE;
}

/* The namespace URI bound to @prefix ("" = default namespace) at the top of
 * the stack, or NULL. */
static const char *
lookup_ns(ParseState *st, const char *prefix)
{
    for (guint i = st->stack->len; i > 0; i--) {
        Elem *e = st->stack->pdata[i - 1];
        if (!e->ns)
            continue;
        for (guint j = 0; j + 1 < e->ns->len; j += 2)
            if (strcmp(e->ns->pdata[j], prefix) == 0)
                return e->ns->pdata[j + 1];
    }
    return NULL;
}

/* Local part of a qualified name, and whether its namespace is @ns_uri. */
static gboolean
name_in_ns(ParseState *st, const char *qname, const char *local, const char *ns_uri)
{
    const char *colon = strchr(qname, ':');
    g_autofree char *prefix = colon ? g_strndup(qname, colon - qname) : g_strdup("");
    const char *lname = colon ? colon + 1 : qname;
    const char *uri;

    if (strcmp(lname, local) != 0)
        return FALSE;
    uri = lookup_ns(st, prefix);
    return uri && strcmp(uri, ns_uri) == 0;
}

/* Path test: the stack (below the element being opened) equals @path. */
static gboolean
at_path(ParseState *st, const char *const *path)
{
    guint n = g_strv_length((char **)path);

    if (st->stack->len != n)
        return FALSE;
    for (guint i = 0; i < n; i++) {
        Elem *e = st->stack->pdata[i];
        if (strcmp(e->name, path[i]) != 0)
            return FALSE;
    }
    return TRUE;
}

static void
on_start(GMarkupParseContext *ctx, const char *name, const char **names, const char **values,
         gpointer user_data, GError **error)
{
    ParseState *st = user_data;
    DomainInfo *info = st->info;
    Elem *e = g_new0(Elem, 1);
    static const char *const p_root[] = { NULL };
    static const char *const p_domain[] = { "domain", NULL };
    static const char *const p_cpu[] = { "domain", "cpu", NULL };
    static const char *const p_cputune[] = { "domain", "cputune", NULL };
    static const char *const p_devices[] = { "domain", "devices", NULL };
    static const char *const p_channel[] = { "domain", "devices", "channel", NULL };

    e->name = g_strdup(name);
    for (guint i = 0; names[i]; i++) {
        const char *prefix = NULL;
        if (strcmp(names[i], "xmlns") == 0)
            prefix = "";
        else if (g_str_has_prefix(names[i], "xmlns:"))
            prefix = names[i] + strlen("xmlns:");
        if (!prefix)
            continue;
        if (!e->ns)
            e->ns = g_ptr_array_new_with_free_func(g_free);
        g_ptr_array_add(e->ns, g_strdup(prefix));
        g_ptr_array_add(e->ns, g_strdup(values[i]));
    }

    if (at_path(st, p_root)) {
        if (strcmp(name, "domain") != 0) {
            g_set_error(error, G_MARKUP_ERROR, G_MARKUP_ERROR_INVALID_CONTENT,
                        "the document is a <%s>, not a <domain>", name);
            elem_free(e);
            return;
        }
        g_free(info->type);
        info->type = g_strdup(attr(names, values, "type"));
    } else if (at_path(st, p_domain)) {
        if (strcmp(name, "vcpu") == 0) {
            const char *cur = attr(names, values, "current");
            if (cur && !parse_uint_attr("vcpu", "current", cur, &info->vcpu_current, error)) {
                elem_free(e);
                return;
            }
        }
        if (strcmp(name, "vcpu") == 0 || strcmp(name, "name") == 0 || strcmp(name, "uuid") == 0)
            g_string_truncate(st->text, 0);
    } else if (at_path(st, p_cpu) && strcmp(name, "topology") == 0) {
        static const char *const keys[] = { "sockets", "dies", "clusters", "cores", "threads" };
        guint *slots[]
            = { &info->sockets, &info->dies, &info->clusters, &info->cores, &info->threads };
        info->has_topology = TRUE;
        for (guint i = 0; i < G_N_ELEMENTS(keys); i++) {
            const char *v = attr(names, values, keys[i]);
            if (v && !parse_uint_attr("topology", keys[i], v, slots[i], error)) {
                elem_free(e);
                return;
            }
            if (*slots[i] == 0)
                *slots[i] = 1;
        }
    } else if (at_path(st, p_cputune) && strcmp(name, "vcpupin") == 0) {
        const char *v = attr(names, values, "vcpu");
        guint id;
        if (v) {
            if (!parse_uint_attr("vcpupin", "vcpu", v, &id, error)) {
                elem_free(e);
                return;
            }
            g_array_append_val(info->pinned_vcpus, id);
        }
    } else if (at_path(st, p_devices) && strcmp(name, "channel") == 0) {
        st->chan_is_agent = FALSE;
        g_clear_pointer(&st->chan_source, g_free);
    } else if (at_path(st, p_channel)) {
        if (strcmp(name, "target") == 0) {
            const char *type = attr(names, values, "type");
            const char *tname = attr(names, values, "name");
            if (g_strcmp0(type, "virtio") == 0 && g_strcmp0(tname, "org.hotcpu.agent.0") == 0)
                st->chan_is_agent = TRUE;
        } else if (strcmp(name, "source") == 0) {
            const char *mode = attr(names, values, "mode");
            const char *path = attr(names, values, "path");
            if (path && (!mode || strcmp(mode, "bind") == 0)) {
                g_free(st->chan_source);
                st->chan_source = g_strdup(path);
            }
        }
    }

    g_ptr_array_add(st->stack, e);

    /* <metadata><X:libosinfo><X:os id=.../>: checked with the element pushed so
     * that its own xmlns declarations count. */
    if (st->stack->len == 4) {
        Elem *d = st->stack->pdata[0], *m = st->stack->pdata[1], *l = st->stack->pdata[2];
        if (strcmp(d->name, "domain") == 0 && strcmp(m->name, "metadata") == 0
            && name_in_ns(st, l->name, "libosinfo", DOMAIN_INFO_LIBOSINFO_NS)
            && name_in_ns(st, name, "os", DOMAIN_INFO_LIBOSINFO_NS)) {
            const char *id = attr(names, values, "id");
            if (id && !info->os_id)
                info->os_id = g_strdup(id);
        }
    }
}

static void
on_end(GMarkupParseContext *ctx, const char *name, gpointer user_data, GError **error)
{
    ParseState *st = user_data;
    DomainInfo *info = st->info;
    static const char *const p_devices[] = { "domain", "devices", NULL };

    if (st->stack->len == 2 && strcmp(((Elem *)st->stack->pdata[0])->name, "domain") == 0) {
        g_autofree char *text = g_strstrip(g_strdup(st->text->str));
        if (strcmp(name, "vcpu") == 0) {
            if (!parse_uint_attr("vcpu", "(text)", text, &info->vcpu_max, error))
                return;
        } else if (strcmp(name, "name") == 0) {
            g_free(info->name);
            info->name = g_steal_pointer(&text);
        } else if (strcmp(name, "uuid") == 0) {
            g_free(info->uuid);
            info->uuid = g_steal_pointer(&text);
        }
    }
    g_ptr_array_remove_index(st->stack, st->stack->len - 1);
    if (at_path(st, p_devices) && strcmp(name, "channel") == 0) {
        if (st->chan_is_agent && st->chan_source && !info->agent_socket)
            info->agent_socket = g_steal_pointer(&st->chan_source);
        g_clear_pointer(&st->chan_source, g_free);
        st->chan_is_agent = FALSE;
    }
}

static void
on_text(GMarkupParseContext *ctx, const char *text, gsize len, gpointer user_data, GError **error)
{
    ParseState *st = user_data;

    if (st->stack->len == 2)
        g_string_append_len(st->text, text, len);
}

static gint
cmp_guint(gconstpointer a, gconstpointer b)
{
    guint x = *(const guint *)a, y = *(const guint *)b;
    return x < y ? -1 : x > y;
}

DomainInfo *
domain_info_parse(const char *xml, GError **error)
{
    static const GMarkupParser parser = { on_start, on_end, on_text, NULL, NULL };
    g_autoptr(DomainInfo) info = g_new0(DomainInfo, 1);
    ParseState st = { 0 };
    GMarkupParseContext *ctx;
    gboolean ok;

    info->pinned_vcpus = g_array_new(FALSE, FALSE, sizeof(guint));
    info->sockets = info->dies = info->clusters = info->cores = info->threads = 1;
    st.info = info;
    st.stack = g_ptr_array_new_with_free_func(elem_free);
    st.text = g_string_new(NULL);

    ctx = g_markup_parse_context_new(&parser, G_MARKUP_PREFIX_ERROR_POSITION, &st, NULL);
    ok = g_markup_parse_context_parse(ctx, xml, -1, error)
         && g_markup_parse_context_end_parse(ctx, error);
    g_markup_parse_context_free(ctx);
    g_ptr_array_unref(st.stack);
    g_string_free(st.text, TRUE);
    g_free(st.chan_source);
    if (!ok)
        return NULL;
    if (info->vcpu_current == 0)
        info->vcpu_current = info->vcpu_max;
    g_array_sort(info->pinned_vcpus, cmp_guint);
    return g_steal_pointer(&info);
}
