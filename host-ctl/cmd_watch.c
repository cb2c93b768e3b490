/* cmd_watch.c: `hotcpu-ctl watch DOMAIN [--load S]`: the guest's events,
 * one line each (or one JSON object per line), until interrupted.
 *
 * It holds the agent's channel, which serves one client at a time; when a
 * short-lived client (set, get, a hook) takes it over, watch waits a
 * moment and connects again, quietly: the agent then tells the current
 * topology, so nothing is missed but the moment itself.  It goes on through
 * the agent restarting, the guest rebooting, the domain stopping (it waits
 * for it to start) and libvirtd restarting, and says so once each.
 */
#include "agent_client.h"
#include "autoscale_explain.h"
#include "protocol.h"
#include "cancel.h"
#include "ctl_util.h"
#include "domain_follow.h"
#include "safe_text.h"

/* How long watch leaves the channel to another client before it asks for
 * it again. */
#define WATCH_YIELD_MS 250
/* The longest event name printed, in bytes (ours are below 20). */
#define WATCH_EVENT_NAME_MAX 64

typedef struct {
    CtlContext *ctx;
    DomainFollow *follow;
    guint load_s;      /* --load: seconds between load events, 0: none */
    gboolean explain;  /* --explain: autoscale's count beside each load line */
    char *shown;       /* the sets of the last topology printed */
    guint shown_epoch; /* domain_follow_epoch() when it was printed */
} Watch;

static char *
stamp(void)
{
    g_autoptr(GDateTime) now = g_date_time_new_now_local();
    return g_date_time_format(now, "%H:%M:%S");
}

static void
print_topology(Watch *w, JsonNode *data)
{
    g_autoptr(Topology) topo = topology_from_json(data, NULL);
    g_autofree char *t = stamp();

    if (!topo)
        return;
    {
        g_autofree char *online = cpulist_format(topo->online);
        g_autofree char *present = cpulist_format(topo->present);
        output_text(w->ctx->out,
                    "%s topology-changed: %u of %u CPUs online (online %s, present %s)\n", t,
                    cpulist_count(topo->online), cpulist_count(topo->present), online, present);
    }
}

/* What autoscale makes of the load @data (autoscale_desired(), with the
 * policy it would use), as "; autoscale: ..." text; into @json too when
 * given: {"vcpus", "desired", "demand", "held"}. */
static char *
explain(Watch *w, JsonNode *data, JsonObject *json)
{
    virDomainPtr dom = domain_follow_domain(w->follow);
    int n = dom ? virDomainGetVcpusFlags(dom, VIR_DOMAIN_AFFECT_LIVE) : -1;
    g_autoptr(GError) error = NULL;
    AutoscalePolicy p;
    AutoscaleSample s;
    double demand;
    guint want;
    gboolean held;

    if (n < 1 || !autoscale_policy_for(w->ctx, domain_follow_name(w->follow), dom, n, &p, &error)) {
        const char *why = error ? error->message : "no live vCPU count";

        virResetLastError();
        if (json)
            json_object_set_string_member(json, "error", why);
        return g_strdup_printf("; autoscale: cannot tell (%s)", why);
    }
    autoscale_sample_from_load(data, 0, &s);
    want = autoscale_desired(&p, &s, n, &demand);
    held = want > (guint)n && s.steal > AUTOSCALE_STEAL_HIGH;
    if (json) {
        json_object_set_int_member(json, "vcpus", n);
        json_object_set_int_member(json, "desired", want);
        if (demand >= 0)
            json_object_set_double_member(json, "demand", demand);
        else
            json_object_set_null_member(json, "demand");
        json_object_set_boolean_member(json, "held", held);
    }
    if (held)
        return g_strdup_printf("; autoscale: %d vCPUs, wants %u but holds: steal %.2f > %.2f, the "
                               "host's CPUs are saturated",
                               n, want, s.steal, AUTOSCALE_STEAL_HIGH);
    if (demand < 0)
        return g_strdup_printf("; autoscale: %d vCPUs, wants %u (no busy fraction)", n, want);
    return g_strdup_printf("; autoscale: %d vCPUs, wants %u (demand %.2f CPUs, target %.2f)", n,
                           want, demand, p.target);
}

/* A figure of a load line: "unknown" where the guest did not say. */
static char *
load_figure(double v)
{
    return v < 0 ? g_strdup("unknown") : g_strdup_printf("%.2f", v);
}

static void
print_load(Watch *w, JsonNode *data)
{
    GuestLoad load;
    g_autofree char *t = stamp();
    g_autofree char *b = NULL;
    g_autofree char *p = NULL;
    g_autofree char *r = NULL;
    g_autofree char *why = NULL;

    /* What the guest sent, believed only as far as guest_load_read does. */
    guest_load_read(data, &load);
    b = load_figure(load.busy);
    p = load_figure(load.pressure);
    r = load.runnable < 0 ? g_strdup("unknown")
                          : g_strdup_printf("%" G_GINT64_FORMAT, load.runnable);
    why = w->explain && !w->ctx->json ? explain(w, data, NULL) : NULL;
    output_text(w->ctx->out, "%s load: busy %s, CPU pressure %s, runnable %s%s\n", t, b, p, r,
                why ? why : "");
}

/* A figure for JSON: null where unknown. */
static void
set_figure(JsonObject *obj, const char *name, double v)
{
    if (v < 0)
        json_object_set_null_member(obj, name);
    else
        json_object_set_double_member(obj, name, v);
}

/* The data of a load event, rebuilt from what guest_load_read believes. */
static JsonNode *
load_json(JsonNode *data)
{
    GuestLoad load;
    JsonObject *obj = json_object_new();
    JsonNode *node = json_node_new(JSON_NODE_OBJECT);

    guest_load_read(data, &load);
    set_figure(obj, "seconds", load.seconds);
    set_figure(obj, "busy", load.busy);
    set_figure(obj, "steal", load.steal);
    if (load.pressure < 0 && load.pressure60 < 0) {
        json_object_set_null_member(obj, "pressure");
    } else {
        JsonObject *pressure = json_object_new();

        set_figure(pressure, "some-avg10", load.pressure);
        set_figure(pressure, "some-avg60", load.pressure60);
        json_object_set_object_member(obj, "pressure", pressure);
    }
    if (load.runnable < 0)
        json_object_set_null_member(obj, "runnable");
    else
        json_object_set_int_member(obj, "runnable", load.runnable);
    json_node_take_object(node, obj);
    return node;
}

/* An event's data as --json prints it: built by us from the fields we
 * know, never the guest's object passed through (json-glib would print a
 * number like 1e17 as 1e+17.0, which is not JSON, and the guest's strings
 * would reach a terminal through jq -r).  NULL: nothing worth printing. */
static JsonNode *
known_data(const char *name, JsonNode *data)
{
    JsonNode *node;

    if (g_strcmp0(name, "topology-changed") == 0) {
        g_autoptr(Topology) topo = topology_from_json(data, NULL);

        return topo ? topology_to_json(topo) : NULL;
    }
    if (g_strcmp0(name, "load") == 0)
        return load_json(data);
    node = json_node_new(JSON_NODE_OBJECT);
    json_node_take_object(node, json_object_new());
    if (g_strcmp0(name, PROTO_EVENT_AGENT_STARTED) == 0 && JSON_NODE_HOLDS_OBJECT(data)) {
        JsonObject *in = json_node_get_object(data);
        JsonNode *version = json_object_get_member(in, "version");
        JsonNode *protocol = json_object_get_member(in, "protocol");

        if (version && JSON_NODE_HOLDS_VALUE(version)
            && json_node_get_value_type(version) == G_TYPE_STRING) {
            g_autofree char *v = safe_text(json_node_get_string(version), -1, 64);

            json_object_set_string_member(json_node_get_object(node), "version", v);
        }
        if (protocol && JSON_NODE_HOLDS_VALUE(protocol)
            && json_node_get_value_type(protocol) == G_TYPE_INT64)
            json_object_set_int_member(json_node_get_object(node), "protocol",
                                       CLAMP(json_node_get_int(protocol), 0, G_MAXINT));
    }
    return node;
}

/* A topology the guest could not have (CPUs beyond the domain's maximum,
 * online beyond present) is not shown: a note says why instead. */
static gboolean
topology_plausible(Watch *w, JsonNode *data)
{
    Guest *guest = domain_follow_guest(w->follow, TRUE);
    g_autoptr(Topology) topo = topology_from_json(data, NULL);
    g_autoptr(GError) error = NULL;

    if (!topo || !guest || guest_check_topology(guest, topo, &error))
        return TRUE; /* one that does not parse is not shown either: known_data() */
    domain_follow_note(w->follow, error->message);
    return FALSE;
}

/* An agent tells the whole topology to every host that connects: after
 * watch gave the channel way and came back, that is no change. */
static gboolean
topology_is_news(Watch *w, JsonNode *data)
{
    g_autoptr(Topology) topo = topology_from_json(data, NULL);
    g_autofree char *online = topo ? cpulist_format(topo->online) : NULL;
    g_autofree char *present = topo ? cpulist_format(topo->present) : NULL;
    g_autofree char *sets = topo ? g_strdup_printf("%s/%s", online, present) : NULL;

    guint epoch = domain_follow_epoch(w->follow);

    /* The same sets after a new boot (or a new libvirtd) are news: the
     * epoch is read here, when printing, because a start's event can
     * arrive after the connection it belongs to was made. */
    if (!sets || (g_strcmp0(sets, w->shown) == 0 && epoch == w->shown_epoch))
        return FALSE;
    g_free(w->shown);
    w->shown = g_steal_pointer(&sets);
    w->shown_epoch = epoch;
    return TRUE;
}

/* One event as a line, or as {"time", "domain", "event", "data"}.  The
 * event's name is the guest's text: escaped and capped wherever it goes. */
static void
print_event(Watch *w, const char *raw_name, JsonNode *data)
{
    g_autoptr(GDateTime) now = g_date_time_new_now_local();
    g_autofree char *iso = g_date_time_format_iso8601(now);
    g_autofree char *t = g_date_time_format(now, "%H:%M:%S");
    g_autofree char *name = safe_text(raw_name, -1, WATCH_EVENT_NAME_MAX);
    JsonNode *known;
    JsonObject *obj;

    if (g_strcmp0(name, "topology-changed") == 0
        && (!topology_plausible(w, data) || !topology_is_news(w, data)))
        return;
    if (!(known = known_data(name, data)))
        return; /* a topology-changed whose topology does not parse */
    obj = json_object_new();
    json_object_set_string_member(obj, "time", iso);
    json_object_set_string_member(obj, "domain", domain_follow_name(w->follow));
    json_object_set_string_member(obj, "event", name);
    json_object_set_member(obj, "data", known);
    if (w->explain && w->ctx->json && g_strcmp0(name, "load") == 0) {
        JsonObject *autoscale = json_object_new();

        g_free(explain(w, data, autoscale));
        json_object_set_object_member(obj, "autoscale", autoscale);
    }
    output_result(w->ctx->out, obj);
    if (g_strcmp0(name, "topology-changed") == 0)
        print_topology(w, data);
    else if (g_strcmp0(name, "load") == 0)
        print_load(w, data);
    else if (g_strcmp0(name, PROTO_EVENT_AGENT_STARTED) == 0)
        output_text(w->ctx->out, "%s agent-started: hotcpu-agent (re)started in the guest\n", t);
    else
        output_text(w->ctx->out, "%s %s\n", t, name);
}

/* The topology as the connection starts, when it is news: the agent greets
 * a host that connects with it, but a greeting can go to the connection
 * just before (the probe's), and the guest may have changed meanwhile. */
static gboolean
show_topology(Watch *w, AgentClient *client)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) topo
        = agent_client_call(client, "get-topology", NULL, GUEST_CALL_TIMEOUT_MS, &error);

    if (!topo) {
        g_debug("no topology on the new connection (%s): connecting again", error->message);
        return FALSE;
    }
    /* A topology-changed that came during the call (a greeting meant
     * for the client before us, an event queued in the port) is older
     * than the reply: shown after it, it would turn the clock back. */
    agent_client_drop_events(client, "topology-changed");
    print_event(w, "topology-changed", topo);
    return TRUE;
}

/* Asks for load events on @client (again after the agent restarted). */
static void
start_load(Watch *w, AgentClient *client)
{
    g_autoptr(JsonObject) args = json_object_new();
    g_autoptr(JsonNode) reply = NULL;
    g_autoptr(GError) error = NULL;

    if (w->load_s == 0)
        return;
    json_object_set_int_member(args, "interval", w->load_s);
    reply = agent_client_call(client, "watch-load", args, GUEST_CALL_TIMEOUT_MS, &error);
    /* The connection lost (another client took the channel) is not news:
     * the next connection asks again.  An agent that refuses is. */
    if (!reply && error->domain == PROTO_ERROR) {
        g_autofree char *note
            = g_strdup_printf("the hotcpu agent of domain '%s' cannot send its load (%s)",
                              domain_follow_name(w->follow), error->message);
        domain_follow_note(w->follow, note);
    }
}

static AgentClient *
watch_connect(Watch *w)
{
    /* A watcher never takes the channel from another client: it waits. */
    Guest *guest = domain_follow_guest(w->follow, TRUE);
    g_autoptr(GError) error = NULL;
    AgentClient *client;

    if (!guest)
        return NULL;
    client = guest_connect_hotcpu(guest, &error);
    if (!client) {
        g_autofree char *why
            = guest_unreachable_message(guest, domain_follow_name(w->follow), error);
        g_autofree char *note = g_strdup_printf("%s; waiting", why);
        domain_follow_note(w->follow, note);
        domain_follow_guest_failed(w->follow);
        return NULL;
    }
    {
        g_autofree char *note
            = g_strdup_printf("watching domain '%s'", domain_follow_name(w->follow));
        domain_follow_note(w->follow, note);
    }
    /* A connection that does not give the topology is no good (QEMU can
     * leave a new one stuck right after the agent started, seen after a
     * domain restart; the next one works): take another. */
    if (!show_topology(w, client)) {
        agent_client_free(client);
        return NULL;
    }
    start_load(w, client);
    return client;
}

/* Prints events from @client until it closes (another client took the
 * channel, the domain stopped, libvirtd went) or a signal comes. */
static void
watch_events(Watch *w, AgentClient *client)
{
    while (!cancel_requested()) {
        g_autoptr(GError) error = NULL;
        g_autofree char *name = NULL;
        g_autoptr(JsonNode) data = agent_client_next_event(client, NULL, 1000, &name, &error);

        if (data) {
            print_event(w, name, data);
            if (g_strcmp0(name, PROTO_EVENT_AGENT_STARTED) == 0)
                start_load(w, client);
            continue;
        }
        if (!g_error_matches(error, AGENT_CLIENT_ERROR, AGENT_CLIENT_ERROR_TIMEOUT))
            return;
    }
}

static int
cmd_watch(CtlContext *ctx, const CmdArgs *args)
{
    g_autoptr(GError) error = NULL;
    gboolean why = cmd_arg_bool(args, "explain");
    /* --explain alone: autoscale's sample period with its defaults */
    Watch w = { ctx, NULL, cmd_arg_uint(args, "load", why ? 5 : 0), why, NULL, 0 };
    int rc = CTL_EXIT_OK;

    output_set_stream(ctx->out, TRUE);
    cancel_watch_signals();
    if (!(w.follow = domain_follow_new(ctx, cmd_arg_string(args, "domain"), &rc, &error)))
        return output_fail_error(ctx->out, rc, NULL, error);
    while (domain_follow_wait_running(w.follow)) {
        g_autoptr(AgentClient) client = watch_connect(&w);

        if (client)
            watch_events(&w, client);
        g_clear_pointer(&client, agent_client_free);
        if (!domain_follow_sleep(w.follow, WATCH_YIELD_MS))
            break;
    }
    domain_follow_free(w.follow);
    g_free(w.shown);
    return CTL_EXIT_OK; /* until interrupted: that is how it ends */
}

static const CmdOptDef opts_watch[] = {
    CMD_OPT_DOMAIN,
    { "load", OPT_UINT, FALSE, FALSE, "seconds",
      "also the guest's load every so many seconds (1 to 3600)" },
    { "explain", OPT_BOOL, FALSE, FALSE, NULL,
      "beside each load line, the vCPUs autoscale's rules want for it (implies --load 5)" },
    { NULL },
};
CMD_OPTS_FIT(opts_watch);

const CmdDef cmd_watch_def = {
    .name = "watch",
    .handler = cmd_watch,
    .opts = opts_watch,
    .summary = "print the guest's events as they come",
    .description
    = "Holds the hotcpu agent's channel and prints each topology-changed event (and,\n"
      "    with --load, a load event every so many seconds) as a line, or as one JSON\n"
      "    object per line with --json, until interrupted.  Goes on through the agent\n"
      "    restarting, the guest rebooting, the domain stopping and starting and libvirtd\n"
      "    restarting, and says so once each.  Gives the channel way to other clients.",
};
