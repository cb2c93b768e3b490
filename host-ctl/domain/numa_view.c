/* numa_view.c: the per-cell view of get and topology (numa_view.h). */
#include "numa_view.h"

#include "numa_plan.h"

#include <stdlib.h>

static void
cell_view_free(gpointer p)
{
    NumaCellView *v = p;

    cpulist_free(v->vcpus);
    cpulist_free(v->guest_online);
    g_free(v);
}

/* The guest's online CPUs on node @node; NULL when no CPU tells its node
 * (qemu-ga, or a kernel without NUMA). */
static CpuList *
guest_node_online(const Topology *guest, guint node)
{
    gboolean told = FALSE;
    CpuList *online = cpulist_new();

    for (guint i = 0; guest && i < guest->cpus->len; i++) {
        const CpuInfo *c = guest->cpus->pdata[i];

        told = told || c->node >= 0;
        if (c->online && c->node == (gint)node)
            cpulist_add(online, c->id);
    }
    if (told)
        return online;
    cpulist_free(online);
    return NULL;
}

static gboolean
enabled(const DomainInfo *info, guint id)
{
    for (guint i = 0; i < info->vcpus->len; i++) {
        const VcpuSlot *s = &g_array_index(info->vcpus, VcpuSlot, i);

        if (s->id == id)
            return s->enabled;
    }
    return info->vcpus->len == 0 && id < info->vcpu_current;
}

GPtrArray *
numa_view_new(const char *xml, const DomainInfo *info, const Topology *guest)
{
    g_autoptr(NumaPlan) cells = xml ? numa_plan_read(xml, NULL) : NULL;
    GPtrArray *view;

    if (!cells)
        return NULL;
    view = g_ptr_array_new_with_free_func(cell_view_free);
    for (guint i = 0; i < cells->cells->len; i++) {
        const NumaCell *c = cells->cells->pdata[i];
        NumaCellView *v = g_new0(NumaCellView, 1);

        v->cell = c->id;
        v->vcpus = cpulist_new();
        for (gint id = cpulist_next(c->before, -1); id >= 0; id = cpulist_next(c->before, id))
            if (enabled(info, (guint)id))
                cpulist_add(v->vcpus, (guint)id);
        v->guest_online = guest_node_online(guest, c->id);
        g_ptr_array_add(view, v);
    }
    return view;
}

void
numa_view_text(Output *out, const GPtrArray *view)
{
    for (guint i = 0; view && i < view->len; i++) {
        const NumaCellView *v = view->pdata[i];
        g_autofree char *vcpus = cpulist_format(v->vcpus);
        g_autofree char *online = v->guest_online ? cpulist_format(v->guest_online) : NULL;

        output_text(out, "NUMA cell %-3u vCPUs %-16s guest node %u online %s\n", v->cell,
                    *vcpus ? vcpus : "none", v->cell,
                    online ? (*online ? online : "none") : "unknown");
    }
}

JsonArray *
numa_view_json(const GPtrArray *view)
{
    JsonArray *a = json_array_new();

    for (guint i = 0; view && i < view->len; i++) {
        const NumaCellView *v = view->pdata[i];
        JsonObject *o = json_object_new();
        g_autofree char *vcpus = cpulist_format(v->vcpus);

        json_object_set_int_member(o, "cell", v->cell);
        json_object_set_string_member(o, "vcpus", vcpus);
        if (v->guest_online) {
            g_autofree char *online = cpulist_format(v->guest_online);
            json_object_set_string_member(o, "guest-online", online);
        } else {
            json_object_set_null_member(o, "guest-online");
        }
        json_array_add_object_element(a, o);
    }
    return a;
}

GPtrArray *
numa_view_of(virDomainPtr dom, const DomainInfo *info, const Topology *guest)
{
    char *xml = info ? virDomainGetXMLDesc(dom, 0) : NULL;
    GPtrArray *view = xml ? numa_view_new(xml, info, guest) : NULL;

    free(xml); /* libvirt's allocation */
    return view;
}
