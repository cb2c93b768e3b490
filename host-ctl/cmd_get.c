/* cmd_get.c: `hotcpu-ctl get DOMAIN`. */
#include "agent_client.h"
#include "checks.h"
#include "ctl_util.h"
#include "numa_view.h"

static void
add_counts(JsonObject *obj, const char *key, int current, int maximum)
{
    JsonObject *o = json_object_new();
    if (current >= 0)
        json_object_set_int_member(o, "current", current);
    else
        json_object_set_null_member(o, "current");
    if (maximum >= 0)
        json_object_set_int_member(o, "maximum", maximum);
    else
        json_object_set_null_member(o, "maximum");
    json_object_set_object_member(obj, key, o);
}

typedef struct {
    int live_cur, live_max, cfg_cur, cfg_max; /* -1: not there */
    gboolean persistent;
    Topology *guest;  /* NULL: unknown */
    LiveRange range;  /* known only when running and the XML tells */
    GPtrArray *cells; /* numa_view.h; NULL: no NUMA cells */
} GetView;

static void
add_range(JsonObject *obj, const LiveRange *r)
{
    JsonObject *o;
    g_autofree char *fixed = NULL;

    if (!r->known) {
        json_object_set_null_member(obj, "live-range");
        return;
    }
    o = json_object_new();
    fixed = cpulist_format(r->fixed);
    json_object_set_int_member(o, "min", r->min);
    json_object_set_int_member(o, "max", r->max);
    json_object_set_string_member(o, "not-hotpluggable", fixed);
    json_object_set_object_member(obj, "live-range", o);
}

static JsonObject *
view_json(const CtlDomain *d, const GetView *v)
{
    JsonObject *obj = json_object_new();

    json_object_set_string_member(obj, "domain", d->name);
    json_object_set_boolean_member(obj, "running", d->active);
    add_counts(obj, "live", v->live_cur, v->live_max);
    add_range(obj, &v->range);
    if (v->persistent)
        add_counts(obj, "config", v->cfg_cur, v->cfg_max);
    else
        json_object_set_null_member(obj, "config");
    if (v->guest) {
        JsonObject *g = json_object_new();
        json_object_set_int_member(g, "online", cpulist_count(v->guest->online));
        json_object_set_int_member(g, "present", cpulist_count(v->guest->present));
        json_object_set_object_member(obj, "guest", g);
    } else {
        json_object_set_null_member(obj, "guest");
    }
    json_object_set_string_member(
        obj, "guest-agent", guest_agent_name(d->guest ? guest_kind(d->guest) : GUEST_AGENT_NONE));
    if (v->cells)
        json_object_set_array_member(obj, "numa-cells", numa_view_json(v->cells));
    json_object_set_int_member(obj, "exit", 0);
    return obj;
}

/* The layout of virsh vcpucount, plus the guest's view. */
static void
view_text(Output *out, const CtlDomain *d, const GetView *v)
{
    if (v->persistent)
        output_text(out, "%-12s %-12s %3d\n", "maximum", "config", v->cfg_max);
    if (d->active)
        output_text(out, "%-12s %-12s %3d\n", "maximum", "live", v->live_max);
    if (v->persistent)
        output_text(out, "%-12s %-12s %3d\n", "current", "config", v->cfg_cur);
    if (d->active)
        output_text(out, "%-12s %-12s %3d\n", "current", "live", v->live_cur);
    if (v->range.known) {
        /* how far libvirt can go live: down to the non-hotpluggable vCPUs */
        output_text(out, "%-12s %-12s %3u\n", "live-range", "minimum", v->range.min);
        output_text(out, "%-12s %-12s %3u\n", "live-range", "maximum", v->range.max);
    }
    if (v->guest) {
        output_text(out, "%-12s %-12s %3u\n", "guest", "online", cpulist_count(v->guest->online));
        output_text(out, "%-12s %-12s %3u\n", "guest", "present", cpulist_count(v->guest->present));
        output_text(out, "%-12s %-12s %s\n", "guest", "agent",
                    guest_agent_name(guest_kind(d->guest)));
    } else if (d->active) {
        /* why in detail: `hotcpu-ctl topology` */
        output_text(out, "%-12s %-12s %s\n", "guest", "online",
                    "unknown (no guest agent answers: hotcpu-ctl topology says why)");
    }
    numa_view_text(out, v->cells);
}

static int
cmd_get(CtlContext *ctx, const CmdArgs *args)
{
    g_auto(CtlDomain) d = { 0 };
    g_autoptr(GError) error = NULL;
    g_autoptr(Topology) guest = NULL;
    GetView v = { -1, -1, -1, -1, FALSE, NULL, { 0 }, NULL };
    int rc;

    if ((rc = ctl_domain_open(ctx, args, NULL, &d)) != CTL_EXIT_OK)
        return rc;
    v.persistent = virDomainIsPersistent(d.dom) == 1;
    if ((d.active && !ctl_vcpu_counts(d.dom, TRUE, &v.live_cur, &v.live_max, &error))
        || (v.persistent && !ctl_vcpu_counts(d.dom, FALSE, &v.cfg_cur, &v.cfg_max, &error)))
        return output_fail_error(ctx->out, CTL_EXIT_HYPERVISOR, NULL, error);
    if (d.active) {
        v.guest = guest = guest_get_topology(d.guest, NULL);
        live_range_compute(d.info, &v.range);
        v.cells = numa_view_of(d.dom, d.info, guest);
    }

    view_text(ctx->out, &d, &v);
    output_result(ctx->out, view_json(&d, &v));
    live_range_clear(&v.range);
    g_clear_pointer(&v.cells, g_ptr_array_unref);
    return CTL_EXIT_OK;
}

const CmdDef cmd_get_def = {
    .name = "get",
    .handler = cmd_get,
    .opts = cmd_opts_domain_only,
    .summary = "show the vCPU counts of a domain",
    .description = "Shows the live and persistent current and maximum vCPU counts, and the\n"
                   "    number of CPUs online in the guest when its guest agent answers.",
};
