/* guest_check.c: the one gate every guest answer about its CPUs passes
 * before hotcpu uses it (issue 18).
 *
 * The guest is untrusted: a compromised one can say CPU 8191 is online on a
 * domain of 8 vCPUs, or 4 online of 2 present, and a count built on that
 * would be "confirmed".  The agents' answers are parsed strictly already
 * (types, ranges up to CPULIST_MAX_CPUS); this checks that they can be true
 * of this domain. */
#include "guest_private.h"

#include <string.h>

/* Everything in @inner is in @outer; else *@stray is the first that is not. */
static gboolean
cpulist_within(const CpuList *inner, const CpuList *outer, guint *stray)
{
    for (gint id = cpulist_next(inner, -1); id >= 0; id = cpulist_next(inner, id))
        if (!cpulist_contains(outer, (guint)id)) {
            *stray = (guint)id;
            return FALSE;
        }
    return TRUE;
}

guint
guest_max_cpus(Guest *guest)
{
    if (guest->max_cpus == 0 && guest->dom) {
        int max
            = virDomainGetVcpusFlags(guest->dom, VIR_DOMAIN_AFFECT_LIVE | VIR_DOMAIN_VCPU_MAXIMUM);

        if (max <= 0) /* a shut-off domain has no live maximum */
            max = virDomainGetMaxVcpus(guest->dom);
        if (max > 0)
            guest->max_cpus = (guint)MIN(max, CPULIST_MAX_CPUS);
    }
    return guest->max_cpus > 0 ? guest->max_cpus : CPULIST_MAX_CPUS;
}

static gboolean implausible(GError **error, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static gboolean
implausible(GError **error, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *why = NULL;

    va_start(ap, fmt);
    why = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error(error, GUEST_ERROR, GUEST_ERROR_IMPLAUSIBLE,
                "the guest's answer was not plausible: %s", why);
    return FALSE;
}

gboolean
guest_check_topology(Guest *guest, const Topology *topo, GError **error)
{
    const char *dom = guest_dom_name(guest);
    guint max = guest_max_cpus(guest);
    guint present = cpulist_count(topo->present);
    guint stray;
    gint last = cpulist_last(topo->present);

    if (last >= (gint)max)
        return implausible(error,
                           "its agent reports CPU %d present, but domain '%s' has at most "
                           "%u vCPUs",
                           last, dom, max);
    if (!cpulist_within(topo->online, topo->present, &stray))
        return implausible(error, "its agent reports CPU %u online in domain '%s', but not present",
                           stray, dom);
    if (topo->possible && !cpulist_within(topo->present, topo->possible, &stray))
        return implausible(error,
                           "its agent reports CPU %u present in domain '%s', but not "
                           "possible",
                           stray, dom);
    if (topo->cpus->len > present)
        return implausible(error, "its agent lists %u CPUs in domain '%s', but %u present",
                           topo->cpus->len, dom, present);
    for (guint i = 0; i < topo->cpus->len; i++) {
        const CpuInfo *c = topo->cpus->pdata[i];

        if (!cpulist_contains(topo->present, c->id))
            return implausible(error, "its agent lists CPU %u in domain '%s', but not present",
                               c->id, dom);
        if (c->online != cpulist_contains(topo->online, c->id))
            return implausible(error,
                               "its agent says CPU %u of domain '%s' is %s, but %s its "
                               "online list",
                               c->id, dom, c->online ? "online" : "offline",
                               c->online ? "not in" : "in");
    }
    if ((topo->sockets > 0 && (guint)topo->sockets > present)
        || (topo->cores_per_socket > 0 && (guint)topo->cores_per_socket > present)
        || (topo->threads_per_core > 0 && (guint)topo->threads_per_core > present))
        return implausible(error,
                           "its agent reports %d sockets of %d cores of %d threads in "
                           "domain '%s', but %u CPUs present",
                           topo->sockets, topo->cores_per_socket, topo->threads_per_core, dom,
                           present);
    return TRUE;
}

Topology *
guest_checked(Guest *guest, Topology *topo, GError **error)
{
    g_autoptr(Topology) owned = topo;

    if (owned && !guest_check_topology(guest, owned, error))
        return NULL;
    return g_steal_pointer(&owned);
}

/* ---- load --------------------------------------------------------------- */

/* @obj's member @name as a number clamped to [@min, @max]; -1 when absent,
 * null, or not a number (a string, an object: never a Json-CRITICAL). */
static double
load_number(JsonObject *obj, const char *name, double min, double max)
{
    JsonNode *node = obj ? json_object_get_member(obj, name) : NULL;
    GType type
        = node && JSON_NODE_HOLDS_VALUE(node) ? json_node_get_value_type(node) : G_TYPE_INVALID;
    double v;

    if (type == G_TYPE_DOUBLE)
        v = json_node_get_double(node);
    else if (type == G_TYPE_INT64)
        v = (double)json_node_get_int(node);
    else
        return -1;
    /* The strict parser lets no inf or NaN through; a NaN would pass the
     * clamp, so say so. */
    if (v != v)
        return -1;
    /* Four decimals, the agent's own precision: a value like 1e-300 would
     * otherwise reach JSON as json-glib writes it, "1e-300.0", not JSON. */
    v = CLAMP(v, min, max);
    return (double)(gint64)(v * 10000 + 0.5) / 10000;
}

static JsonObject *
load_object(JsonObject *obj, const char *name)
{
    JsonNode *node = obj ? json_object_get_member(obj, name) : NULL;

    return node && JSON_NODE_HOLDS_OBJECT(node) ? json_node_get_object(node) : NULL;
}

gboolean
guest_load_read(JsonNode *data, GuestLoad *out)
{
    JsonObject *o = data && JSON_NODE_HOLDS_OBJECT(data) ? json_node_get_object(data) : NULL;
    JsonObject *pressure = load_object(o, "pressure");
    double runnable = load_number(o, "runnable", 0, GUEST_LOAD_MAX_RUNNABLE);

    out->seconds = load_number(o, "seconds", 0, 1e9);
    out->busy = load_number(o, "busy", 0, 1);
    out->steal = load_number(o, "steal", 0, 1);
    out->pressure = load_number(pressure, "some-avg10", 0, 1);
    out->pressure60 = load_number(pressure, "some-avg60", 0, 1);
    out->runnable = runnable < 0 ? -1 : (gint64)runnable;
    return o != NULL;
}
