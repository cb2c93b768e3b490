/* cmd_list.c: `hotcpu-ctl list`: every domain of the connection with its
 * vCPU counts, the range `set` can reach now and why it ends there, and what
 * its guest agent says, cheaply enough to refresh a page every few seconds.
 *
 * One virConnectListAllDomains; then each domain in a worker of a thread
 * pool (libvirt connections are thread-safe, a Guest belongs to one
 * worker), its agent asked with a short deadline, so that N silent guests
 * cost one deadline, not N.
 */
#include <libvirt/virterror.h>

#include "checks.h"
#include "ctl_util.h"
#include "policy.h"

/* How long one guest agent may take to answer list: a page refreshes. */
#define LIST_AGENT_TIMEOUT_MS 1500
#define LIST_MAX_THREADS 64

typedef struct {
    CtlContext *ctx;
    virConnectPtr conn;
    const Policy *policy;
    guint host_cpus;
} ListShared;

/* One domain: filled by its worker. */
typedef struct {
    const ListShared *shared;
    virDomainPtr dom;
    char *name;
    char *uuid;
    const char *state;
    gboolean active, persistent;
    int live_cur, live_max, cfg_cur, cfg_max; /* -1: not known */
    LiveRange range;
    guint reach_min, reach_max; /* with the policy; valid when range.known */
    char *why_min, *why_max;
    GuestAgentKind agent;
    int online, present; /* -1: no agent answered */
    char *error;         /* why something above is not known */
} ListEntry;

static void
list_entry_free(ListEntry *e)
{
    live_range_clear(&e->range);
    virDomainFree(e->dom);
    g_free(e->name);
    g_free(e->uuid);
    g_free(e->why_min);
    g_free(e->why_max);
    g_free(e->error);
    g_free(e);
}

static const char *
state_name(int state)
{
    switch (state) {
    case VIR_DOMAIN_RUNNING:
        return "running";
    case VIR_DOMAIN_BLOCKED:
        return "blocked";
    case VIR_DOMAIN_PAUSED:
        return "paused";
    case VIR_DOMAIN_SHUTDOWN:
        return "shutting down";
    case VIR_DOMAIN_SHUTOFF:
        return "shut off";
    case VIR_DOMAIN_CRASHED:
        return "crashed";
    case VIR_DOMAIN_PMSUSPENDED:
        return "suspended";
    default:
        return "unknown";
    }
}

/* Narrows the live range by the host policy, as set's checks would refuse
 * (check_policy, check_host_size), keeping a sentence for each bound. */
static void
reach_compute(ListEntry *e)
{
    const Policy *p = e->shared->policy;
    const char *origin = p && p->origin ? p->origin : "defaults";
    g_autofree char *fixed = cpulist_format(e->range.fixed);

    e->reach_min = e->range.min;
    e->why_min = cpulist_count(e->range.fixed) > 1
                     ? g_strdup_printf("vCPUs %s are not hot-pluggable: they were there at boot "
                                       "(hotcpu-ctl prepare, then a full restart, makes them so)",
                                       fixed)
                     : g_strdup("a domain keeps at least one vCPU (vCPU 0 is never unplugged)");
    e->reach_max = e->range.max;
    e->why_max = g_strdup_printf("the domain's maximum is %u vCPU%s", e->range.max,
                                 e->range.max == 1 ? "" : "s");
    if (!p)
        return;
    if (!p->allow_unplug && e->range.current > e->reach_min) {
        e->reach_min = e->range.current;
        g_free(e->why_min);
        e->why_min = g_strdup_printf("the host policy (%s) forbids vCPU hot unplug", origin);
    }
    if (!p->allow_below_persistent && e->cfg_cur > 0 && (guint)e->cfg_cur > e->reach_min) {
        e->reach_min = (guint)e->cfg_cur;
        g_free(e->why_min);
        e->why_min = g_strdup_printf("the host policy (%s) forbids going below the persistent "
                                     "definition's %d vCPU%s",
                                     origin, e->cfg_cur, e->cfg_cur == 1 ? "" : "s");
    }
    if (p->max_vcpus_per_host_cpu > 0 && e->shared->host_cpus > 0) {
        guint limit = (guint)(p->max_vcpus_per_host_cpu * e->shared->host_cpus + 1e-9);

        /* set refuses only growing past it: the current count stays reachable */
        limit = MAX(limit, e->range.current);
        if (limit < e->reach_max) {
            e->reach_max = limit;
            g_free(e->why_max);
            e->why_max = g_strdup_printf("the host policy (%s) allows at most %g vCPUs per host "
                                         "CPU, %u on this host",
                                         origin, p->max_vcpus_per_host_cpu, limit);
        }
    }
    e->reach_min = MIN(e->reach_min, e->reach_max);
}

static void
list_entry_fill(gpointer data, gpointer user_data)
{
    ListEntry *e = data;
    CtlContext *ctx = e->shared->ctx;
    g_autoptr(GError) error = NULL;
    g_autoptr(DomainInfo) info = NULL;
    g_autoptr(Guest) guest = NULL;
    g_autoptr(Topology) topo = NULL;

    if (e->persistent && !ctl_vcpu_counts(e->dom, FALSE, &e->cfg_cur, &e->cfg_max, &error)) {
        e->error = g_strdup(error->message);
        return;
    }
    if (!e->active)
        return;
    if (!ctl_vcpu_counts(e->dom, TRUE, &e->live_cur, &e->live_max, &error)
        || !(info = ctl_domain_info(e->dom, NULL, &error))) {
        e->error = g_strdup(error->message);
        return;
    }
    live_range_compute(info, &e->range);
    if (e->range.known)
        reach_compute(e);
    guest = ctl_guest_new(ctx, e->shared->conn, e->dom, info);
    guest_set_timeout(guest, LIST_AGENT_TIMEOUT_MS);
    if ((topo = guest_get_topology(guest, &error))) {
        e->online = (int)cpulist_count(topo->online);
        e->present = (int)cpulist_count(topo->present);
    } else {
        e->error = guest_unreachable_message(guest, e->name, error);
    }
    e->agent = guest_kind(guest);
}

static void
set_count(JsonObject *o, const char *key, int n)
{
    if (n >= 0)
        json_object_set_int_member(o, key, n);
    else
        json_object_set_null_member(o, key);
}

static JsonObject *
counts_json(int current, int maximum)
{
    JsonObject *o = json_object_new();
    set_count(o, "current", current);
    set_count(o, "maximum", maximum);
    return o;
}

static JsonObject *
entry_json(const ListEntry *e)
{
    JsonObject *o = json_object_new();

    json_object_set_string_member(o, "domain", e->name);
    json_object_set_string_member(o, "uuid", e->uuid);
    json_object_set_string_member(o, "state", e->state);
    json_object_set_boolean_member(o, "running", e->active);
    json_object_set_boolean_member(o, "persistent", e->persistent);
    if (e->active)
        json_object_set_object_member(o, "live", counts_json(e->live_cur, e->live_max));
    else
        json_object_set_null_member(o, "live");
    if (e->persistent)
        json_object_set_object_member(o, "config", counts_json(e->cfg_cur, e->cfg_max));
    else
        json_object_set_null_member(o, "config");
    if (e->range.known) {
        JsonObject *r = json_object_new();
        g_autofree char *fixed = cpulist_format(e->range.fixed);

        json_object_set_int_member(r, "min", e->reach_min);
        json_object_set_int_member(r, "max", e->reach_max);
        json_object_set_string_member(r, "min-reason", e->why_min);
        json_object_set_string_member(r, "max-reason", e->why_max);
        json_object_set_string_member(r, "not-hotpluggable", fixed);
        json_object_set_object_member(o, "live-range", r);
    } else {
        json_object_set_null_member(o, "live-range");
    }
    json_object_set_string_member(o, "guest-agent", guest_agent_name(e->agent));
    if (e->online >= 0) {
        JsonObject *g = json_object_new();
        json_object_set_int_member(g, "online", e->online);
        json_object_set_int_member(g, "present", e->present);
        json_object_set_object_member(o, "guest", g);
    } else {
        json_object_set_null_member(o, "guest");
    }
    if (e->error)
        json_object_set_string_member(o, "problem", e->error);
    return o;
}

static char *
count_text(int n)
{
    return n >= 0 ? g_strdup_printf("%d", n) : g_strdup("-");
}

static void
entry_text(Output *out, const ListEntry *e)
{
    g_autofree char *live
        = e->active ? g_strdup_printf("%d/%d", e->live_cur, e->live_max) : g_strdup("-");
    g_autofree char *cfg
        = e->persistent ? g_strdup_printf("%d/%d", e->cfg_cur, e->cfg_max) : g_strdup("-");
    g_autofree char *range
        = e->range.known ? g_strdup_printf("%u-%u", e->reach_min, e->reach_max) : g_strdup("-");
    g_autofree char *online = count_text(e->online);

    output_text(out, "%-20s %-10s %-8s %-8s %-8s %-8s %s\n", e->name, e->state, live, cfg, range,
                guest_agent_name(e->agent), online);
}

static int
compare_names(gconstpointer a, gconstpointer b)
{
    const ListEntry *x = *(ListEntry *const *)a, *y = *(ListEntry *const *)b;
    return g_strcmp0(x->name, y->name);
}

static int
cmd_list(CtlContext *ctx, const CmdArgs *args)
{
    g_autoptr(virConnect) conn = virConnectOpen(ctx->uri);
    g_autoptr(GError) error = NULL;
    g_autoptr(Policy) policy = NULL;
    g_autoptr(GPtrArray) entries = g_ptr_array_new_with_free_func((GDestroyNotify)list_entry_free);
    virDomainPtr *doms = NULL;
    ListShared shared = { ctx, NULL, NULL, 0 };
    JsonArray *arr;
    JsonObject *result;
    GThreadPool *pool;
    int n;

    if (!conn)
        return output_fail(ctx->out, CTL_EXIT_HYPERVISOR, NULL,
                           "failed to connect to the hypervisor%s%s%s: %s", ctx->uri ? " '" : "",
                           ctx->uri ? ctx->uri : "", ctx->uri ? "'" : "", virt_last_error());
    if ((n = virConnectListAllDomains(conn, &doms, 0)) < 0)
        return output_fail(ctx->out, CTL_EXIT_HYPERVISOR, NULL, "cannot list the domains: %s",
                           virt_last_error());
    /* the bounds the policy puts on set; a policy that cannot be read is
     * said, and the ranges are then libvirt's alone */
    if (!(policy = policy_load(ctx->policy, !ctx->policy_explicit, &error)))
        output_warning(ctx->out, "%s", error->message);
    shared.conn = conn;
    shared.policy = policy;
    shared.host_cpus = ctl_host_cpus(conn);

    for (int i = 0; i < n; i++) {
        ListEntry *e = g_new0(ListEntry, 1);
        char uuid[VIR_UUID_STRING_BUFLEN] = "";
        int state = -1, reason;

        e->shared = &shared;
        e->dom = doms[i];
        e->name = g_strdup(virDomainGetName(e->dom));
        if (virDomainGetUUIDString(e->dom, uuid) < 0)
            virResetLastError();
        e->uuid = g_strdup(uuid);
        if (virDomainGetState(e->dom, &state, &reason, 0) < 0)
            virResetLastError();
        e->state = state_name(state);
        e->active = virDomainIsActive(e->dom) == 1;
        e->persistent = virDomainIsPersistent(e->dom) == 1;
        e->live_cur = e->live_max = e->cfg_cur = e->cfg_max = -1;
        e->online = e->present = -1;
        e->agent = GUEST_AGENT_NONE;
        g_ptr_array_add(entries, e);
    }
    g_free(doms);
    g_ptr_array_sort(entries, compare_names);

    pool = g_thread_pool_new(list_entry_fill, NULL, LIST_MAX_THREADS, FALSE, NULL);
    for (guint i = 0; i < entries->len; i++)
        g_thread_pool_push(pool, entries->pdata[i], NULL);
    g_thread_pool_free(pool, FALSE, TRUE); /* waits for every domain */

    output_text(ctx->out, "%-20s %-10s %-8s %-8s %-8s %-8s %s\n", "DOMAIN", "STATE", "LIVE",
                "CONFIG", "RANGE", "AGENT", "ONLINE");
    arr = json_array_new();
    for (guint i = 0; i < entries->len; i++) {
        const ListEntry *e = entries->pdata[i];

        entry_text(ctx->out, e);
        json_array_add_object_element(arr, entry_json(e));
    }
    result = json_object_new();
    json_object_set_array_member(result, "domains", arr);
    /* where set records its changes: the page's history reads it */
    json_object_set_string_member(result, "audit-log", ctx->audit_log);
    json_object_set_int_member(result, "exit", 0);
    output_result(ctx->out, result);
    return CTL_EXIT_OK;
}

static const CmdOptDef opts_list[] = {
    { NULL },
};

const CmdDef cmd_list_def = {
    .name = "list",
    .handler = cmd_list,
    .opts = opts_list,
    .summary = "list every domain's vCPUs and what set can reach",
    .description
    = "Lists every domain of the connection: its state, live and persistent current\n"
      "    and maximum vCPU counts, the live range set can reach now (the non\n"
      "    hot-pluggable boot vCPUs, the maximum and the host policy bound it, each\n"
      "    bound with its reason), the guest agent that answers and the guest's online\n"
      "    CPUs.  The guest agents are asked in parallel, each for at most\n"
      "    " G_STRINGIFY(LIST_AGENT_TIMEOUT_MS) " ms.  Reads only.",
};
