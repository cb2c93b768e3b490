/* guest_hotcpu.c: the guest side through hotcpu-agent, on its channel
 * org.hotcpu.agent.0: through libvirt's channel stream, or the unix socket
 * where the driver has no virDomainOpenChannel. */
#include "guest_private.h"

#include "agent_client.h"
#include "cancel.h"
#include "deadline.h"
#include "protocol.h"
#include "safe_text.h"
#include "virt_channel.h"

/* How often a channel another client holds is asked for again. */
#define GUEST_BUSY_RETRY_MS 50

/* ---- reaching hotcpu-agent ---------------------------------------------- */

/* A client on the channel libvirt opened as @fd. */
static AgentClient *
client_on_channel(Guest *guest, int fd, VirtChannel *channel, gint64 deadline, GError **error)
{
    AgentClient *client;

    g_debug("reached the hotcpu agent of domain '%s' through libvirt's channel stream "
            "(virDomainOpenChannel)",
            virDomainGetName(guest->dom));
    client = agent_client_new_fd(fd, deadline_ms_left(deadline), error);
    if (client)
        agent_client_set_close_func(client, (GDestroyNotify)virt_channel_close, channel);
    else
        virt_channel_close(channel);
    return client;
}

/* The agent's channel through libvirt (virDomainOpenChannel): works over
 * any URI.  One client at a time: a busy channel is waited for, and, but by
 * a patient guest, taken over after GUEST_BUSY_FORCE_MS (whoever held it
 * reconnects; a client that died may have left libvirt holding it for
 * ever).  NULL with @error; *unsupported when the driver lacks the call. */
static AgentClient *
connect_libvirt(Guest *guest, gint64 deadline, gboolean *unsupported, GError **error)
{
    gint64 force_at = guest->patient ? G_MAXINT64 : deadline_after_ms(GUEST_BUSY_FORCE_MS);

    for (;;) {
        g_autoptr(GError) err = NULL;
        VirtChannel *channel = NULL;
        gboolean force = g_get_monotonic_time() >= force_at;
        int fd = virt_channel_open(guest->dom, AGENT_CHANNEL_NAME, force, &channel, &err);

        if (fd >= 0)
            return client_on_channel(guest, fd, channel, deadline, error);
        if (g_error_matches(err, VIRT_CHANNEL_ERROR, VIRT_CHANNEL_ERROR_BUSY)
            && deadline_ms_left(deadline) > 0
            && cancel_sleep_ms(MIN(deadline_ms_left(deadline), GUEST_BUSY_RETRY_MS))) {
            if (force)
                g_debug("another client holds the channel; taking it over");
            continue;
        }
        *unsupported = g_error_matches(err, VIRT_CHANNEL_ERROR, VIRT_CHANNEL_ERROR_UNSUPPORTED);
        g_set_error_literal(error, AGENT_CLIENT_ERROR,
                            g_error_matches(err, VIRT_CHANNEL_ERROR, VIRT_CHANNEL_ERROR_BUSY)
                                ? AGENT_CLIENT_ERROR_TIMEOUT
                                : AGENT_CLIENT_ERROR_CONNECT,
                            err->message);
        return NULL;
    }
}

static AgentClient *hotcpu_reach(Guest *guest, guint timeout_ms, GError **error);

/* A connection whose bounds fit the domain: a topology of its maximum
 * vCPUs, and no more (reply_limits.h). */
static AgentClient *
hotcpu_connect(Guest *guest, guint timeout_ms, GError **error)
{
    AgentClient *client = hotcpu_reach(guest, timeout_ms, error);

    if (client)
        agent_client_set_max_vcpus(client, guest_max_cpus(guest));
    return client;
}

static AgentClient *
hotcpu_reach(Guest *guest, guint timeout_ms, GError **error)
{
    gint64 deadline = deadline_after_ms(guest_limit_ms(guest, timeout_ms));

    if (!guest->has_channel) {
        g_set_error(error, AGENT_CLIENT_ERROR, AGENT_CLIENT_ERROR_CONNECT,
                    "the domain has no " AGENT_CHANNEL_NAME " channel");
        return NULL;
    }
    if (guest->dom && !guest->no_open_channel) {
        g_autoptr(GError) err = NULL;
        AgentClient *client = connect_libvirt(guest, deadline, &guest->no_open_channel, &err);

        if (client)
            return client;
        if (!guest->no_open_channel) {
            g_propagate_error(error, g_steal_pointer(&err));
            return NULL;
        }
        /* libvirt's test driver, for one: use the socket, if it is ours */
    }
    if (!guest->socket_path) {
        g_set_error(error, AGENT_CLIENT_ERROR, AGENT_CLIENT_ERROR_CONNECT,
                    "the " AGENT_CHANNEL_NAME " channel has no host socket on this machine");
        return NULL;
    }
    g_debug("reaching the hotcpu agent through the unix socket %s%s", guest->socket_path,
            guest->dom ? " (the libvirt driver has no virDomainOpenChannel)" : "");
    return agent_client_connect(guest->socket_path, deadline_ms_left(deadline), error);
}

/* Connect, one call, disconnect: one budget for the whole exchange. */
static JsonNode *
hotcpu_call_once(Guest *guest, const char *execute, JsonObject *arguments, guint timeout_ms,
                 GError **error)
{
    gint64 deadline = deadline_after_ms(guest_limit_ms(guest, timeout_ms));
    g_autoptr(AgentClient) client = hotcpu_connect(guest, timeout_ms, error);

    if (!client)
        return NULL;
    return agent_client_call(client, execute, arguments, deadline_ms_left(deadline), error);
}

/* The agent's topology, parsed.  The parser's message may quote the guest
 * (a CPU list it sent): escaped, it is safe to print, log and put into
 * JSON, as agent_client's are. */
static Topology *
topology_from_guest(JsonNode *node, GError **error)
{
    g_autoptr(GError) local = NULL;
    Topology *topo = topology_from_json(node, &local);

    if (!topo) {
        g_autofree char *why = safe_text(local->message, -1, SAFE_TEXT_GUEST_MAX);

        g_set_error_literal(error, local->domain, local->code, why);
    }
    return topo;
}

static Topology *
call_topology_within(AgentClient *client, guint timeout_ms, GError **error)
{
    g_autoptr(JsonNode) reply = agent_client_call(client, "get-topology", NULL, timeout_ms, error);

    return reply ? topology_from_guest(reply, error) : NULL;
}

static Topology *
call_topology(Guest *guest, AgentClient *client, GError **error)
{
    return call_topology_within(client, guest_limit_ms(guest, GUEST_CALL_TIMEOUT_MS), error);
}

/* set-num-cpus, answered within the guest's set limit (guest_set_timeout)
 * beyond its wait, and by @deadline_us at the latest. */
static Topology *
call_set_num_cpus(Guest *guest, AgentClient *client, guint count, guint wait_s, gint64 deadline_us,
                  GError **error)
{
    g_autoptr(JsonObject) args = json_object_new();
    g_autoptr(JsonNode) reply = NULL;
    guint wait = MIN(wait_s, PROTO_SET_NUM_CPUS_MAX_WAIT_S);
    guint timeout_ms
        = MIN(wait * 1000 + guest_set_timeout_ms(guest), deadline_ms_left(deadline_us));
    JsonNode *topo;

    json_object_set_int_member(args, "count", count);
    if (wait > 0)
        json_object_set_int_member(args, "wait", wait);
    reply = agent_client_call(client, "set-num-cpus", args, timeout_ms, error);
    if (!reply)
        return NULL;
    if (!JSON_NODE_HOLDS_OBJECT(reply)
        || !(topo = json_object_get_member(json_node_get_object(reply), "topology"))) {
        g_set_error(error, AGENT_CLIENT_ERROR, AGENT_CLIENT_ERROR_PROTOCOL,
                    "the agent's set-num-cpus reply has no topology");
        return NULL;
    }
    return topology_from_guest(topo, error);
}

/* ---- the calls ---------------------------------------------------------- */

/* The probe: get-topology rather than ping, so that the one round trip
 * also gives the state set wants next (guest_take_probed_topology).  Any
 * answer counts, a refusal too: the agent is there.  A port libvirt
 * reports disconnected (nothing in the guest holds it) gets a short wait
 * instead of the 3 s one, so a domain with the channel but no agent
 * running falls through to qemu-ga quickly.  Short, not none: libvirt's
 * state lags (seen here: still 'disconnected' 0.3 s after a respawned agent
 * had opened its port and answered).  A hook does not know whether the
 * domain has the channel; the live XML tells (the caller's, when it gave
 * one: guest_set_live_xml). */
static gboolean
hotcpu_ping(Guest *guest, Topology **topo, GError **error)
{
    g_autoptr(JsonNode) pong = NULL;
    g_autoptr(GError) err = NULL;
    guint timeout_ms = GUEST_CALL_TIMEOUT_MS;

    if (guest->dom && guest->has_channel) {
        VirtChannelState state = guest->channel_state >= 0
                                     ? (VirtChannelState)guest->channel_state
                                     : virt_channel_state(guest->dom, AGENT_CHANNEL_NAME);

        if (state == VIRT_CHANNEL_STATE_ABSENT)
            guest->has_channel = FALSE;
        if (state == VIRT_CHANNEL_STATE_DISCONNECTED && guest->choice == GUEST_AGENT_AUTO)
            timeout_ms = GUEST_QUIET_PORT_PING_MS;
    }
    pong = hotcpu_call_once(guest, "get-topology", NULL, timeout_ms, &err);
    if (pong) {
        *topo = topology_from_guest(pong, NULL);
        return TRUE;
    }
    /* a reply past the domain's bounds is an answer too: the calls that
     * need it say so (guest_unreachable_message), not "did not answer" */
    if (err->domain == PROTO_ERROR
        || g_error_matches(err, AGENT_CLIENT_ERROR, AGENT_CLIENT_ERROR_TOO_BIG))
        return TRUE;
    if (timeout_ms == GUEST_QUIET_PORT_PING_MS)
        g_prefix_error(&err, "nothing in the guest holds the " AGENT_CHANNEL_NAME " port: ");
    g_propagate_error(error, g_steal_pointer(&err));
    return FALSE;
}

static Topology *
hotcpu_get_topology(Guest *guest, GError **error)
{
    g_autoptr(AgentClient) client = hotcpu_connect(guest, GUEST_CONNECT_TIMEOUT_MS, error);

    return client ? call_topology(guest, client, error) : NULL;
}

/* Worth asking again: the agent is busy with another set-num-cpus, or went
 * away mid-call (restarted: it reads the kernel's state at start, so the
 * same request to the new instance is safe). */
static gboolean
worth_again(const GError *err)
{
    return g_error_matches(err, PROTO_ERROR, PROTO_ERROR_BUSY)
           || g_error_matches(err, AGENT_CLIENT_ERROR, AGENT_CLIENT_ERROR_IO)
           || g_error_matches(err, AGENT_CLIENT_ERROR, AGENT_CLIENT_ERROR_CONNECT);
}

/* @client again after @err (a new connection when the old one broke);
 * FALSE when the time is up or a signal came. */
static gboolean
prepare_again(Guest *guest, AgentClient **client, const GError *err, gint64 until)
{
    if (!worth_again(err) || deadline_ms_left(until) == 0 || !cancel_sleep_ms(100))
        return FALSE;
    g_debug("%s; asking the hotcpu agent again", err->message);
    if (err->domain != AGENT_CLIENT_ERROR)
        return TRUE;
    g_clear_pointer(client, agent_client_free);
    while (!(*client = hotcpu_connect(guest, GUEST_CONNECT_TIMEOUT_MS, NULL))
           && deadline_ms_left(until) > 0 && cancel_sleep_ms(200))
        ;
    return *client != NULL;
}

static Topology *
hotcpu_set_num_cpus(Guest *guest, guint count, guint wait_s, GError **error)
{
    g_autoptr(AgentClient) client = hotcpu_connect(guest, GUEST_CONNECT_TIMEOUT_MS, error);
    gint64 until = deadline_after_ms(GUEST_NO_ANSWER_GRACE_MS);

    while (client) {
        g_autoptr(GError) err = NULL;
        Topology *topo = call_set_num_cpus(guest, client, count, wait_s, G_MAXINT64, &err);

        if (topo)
            return topo;
        if (!prepare_again(guest, &client, err, until)) {
            g_propagate_error(error, g_steal_pointer(&err));
            return NULL;
        }
    }
    return NULL;
}

/* set-online-cpus, the exact set (an agent without it: set-num-cpus, and
 * guest.c tells whether that gave the same set). */
static Topology *
hotcpu_restore_online(Guest *guest, const CpuList *online, GError **error)
{
    g_autofree char *want = cpulist_format(online);
    g_autoptr(JsonObject) args = json_object_new();
    g_autoptr(AgentClient) client = hotcpu_connect(guest, GUEST_CONNECT_TIMEOUT_MS, error);
    gint64 until = deadline_after_ms(GUEST_NO_ANSWER_GRACE_MS);
    g_autoptr(GError) err = NULL;
    g_autoptr(JsonNode) reply = NULL;
    JsonNode *member;

    if (!client)
        return NULL;
    json_object_set_string_member(args, "cpus", want);
    while (!(reply = agent_client_call(client, "set-online-cpus", args, guest_set_timeout_ms(guest),
                                       &err))
           && prepare_again(guest, &client, err, until))
        g_clear_error(&err);
    /* QEMU serves one client at a time: the fallback connects anew. */
    g_clear_pointer(&client, agent_client_free);
    if (g_error_matches(err, PROTO_ERROR, PROTO_ERROR_COMMAND_NOT_FOUND)) {
        g_debug("the agent has no set-online-cpus; restoring %s with set-num-cpus", want);
        return hotcpu_set_num_cpus(guest, cpulist_count(online), 0, error);
    }
    if (!reply) {
        g_propagate_error(error, g_steal_pointer(&err));
        return NULL;
    }
    if (!JSON_NODE_HOLDS_OBJECT(reply)
        || !(member = json_object_get_member(json_node_get_object(reply), "topology"))) {
        g_set_error(error, AGENT_CLIENT_ERROR, AGENT_CLIENT_ERROR_PROTOCOL,
                    "the agent's set-online-cpus reply has no topology");
        return NULL;
    }
    return topology_from_guest(member, error);
}

/* The least a wait's first look at the guest gets, even when the caller's
 * deadline has passed (the hypervisor's side took it all): the state is
 * worth reporting. */
#define GUEST_LAST_LOOK_MS 500

/* One turn of guest_wait_count on a connected @client: read the state, and
 * ask for @count online when it is not there, all by @deadline_us.  Returns
 * the state seen, NULL when the agent did not answer the read; @error is
 * set (AGENT_CLIENT_ERROR) when the connection is no good any more, also
 * when a state was seen (the agent answered the read, not the change). */
static Topology *
wait_turn(Guest *guest, AgentClient *client, guint count, gint64 deadline_us, GError **error)
{
    g_autoptr(Topology) topo = call_topology_within(
        client,
        guest_limit_ms(guest, MIN(GUEST_CALL_TIMEOUT_MS,
                                  MAX(deadline_ms_left(deadline_us), GUEST_LAST_LOOK_MS))),
        error);
    guint wait_s;

    if (!topo || guest_topology_has(topo, count) || cpulist_count(topo->online) == count
        || deadline_ms_left(deadline_us) == 0)
        return g_steal_pointer(&topo);
    /* Online the hot-added CPUs (waiting for them to appear), or offline the
     * ones about to be ejected. */
    wait_s = cpulist_count(topo->present) < count ? deadline_ms_left(deadline_us) / 1000 : 0;
    {
        g_autoptr(GError) err = NULL;
        g_autoptr(Topology) after
            = call_set_num_cpus(guest, client, count, wait_s, deadline_us, &err);

        if (after)
            return g_steal_pointer(&after);
        if (err->domain == AGENT_CLIENT_ERROR)
            g_propagate_error(error, g_steal_pointer(&err));
    }
    return g_steal_pointer(&topo);
}

static GuestWaitResult
hotcpu_wait_count(Guest *guest, guint count, gint64 deadline_us, Topology **last, GError **error)
{
    g_autoptr(AgentClient) client = NULL;
    g_autoptr(Topology) seen = NULL;
    g_autoptr(GError) err = NULL;
    gint64 give_up = deadline_after_ms(GUEST_NO_ANSWER_GRACE_MS);

    for (;;) {
        g_autoptr(Topology) topo = NULL;

        g_clear_error(&err);
        if (!client)
            client = hotcpu_connect(guest,
                                    MIN(GUEST_CONNECT_TIMEOUT_MS,
                                        MAX(deadline_ms_left(deadline_us), GUEST_LAST_LOOK_MS)),
                                    &err);
        if (client && (topo = wait_turn(guest, client, count, deadline_us, &err), err != NULL))
            g_clear_pointer(&client, agent_client_free); /* agent restarted: reconnect */
        if (topo) {
            g_clear_pointer(&seen, topology_free);
            seen = g_steal_pointer(&topo);
            if (guest_topology_has(seen, count))
                break;
        }
        if (deadline_ms_left(deadline_us) == 0 || (!seen && deadline_ms_left(give_up) == 0))
            break;
        if (client) {
            /* The agent announces every change: wake on it rather than poll. */
            g_autoptr(JsonNode) ev = agent_client_wait_event(
                client, "topology-changed", MIN(deadline_ms_left(deadline_us), 1000), NULL);
        } else {
            /* Nothing to wake on while the agent is away: retry shortly. */
            if (!cancel_sleep_ms(MIN(deadline_ms_left(deadline_us), 500)))
                break;
        }
    }
    return guest_wait_finish(g_steal_pointer(&seen), count, FALSE, g_steal_pointer(&err), last,
                             error);
}

static gint
hotcpu_wait_present(Guest *guest, guint count, gint from, gint64 deadline_us)
{
    g_autoptr(AgentClient) client
        = hotcpu_connect(guest, MIN(GUEST_CONNECT_TIMEOUT_MS, deadline_ms_left(deadline_us)), NULL);
    g_autoptr(Topology) topo = client ? call_topology(guest, client, NULL) : NULL;
    gint present;

    if (!topo)
        return -1;
    for (;;) {
        g_autoptr(JsonNode) ev = NULL;

        present = (gint)cpulist_count(topo->present);
        if (guest_moved_toward(present, count, from))
            return present;
        ev = agent_client_wait_event(client, "topology-changed", deadline_ms_left(deadline_us),
                                     NULL);
        g_clear_pointer(&topo, topology_free);
        if (!ev || !(topo = topology_from_json(ev, NULL)))
            return present;
    }
}

AgentClient *
guest_hotcpu_connect(Guest *guest, GError **error)
{
    return hotcpu_connect(guest, GUEST_CONNECT_TIMEOUT_MS, error);
}

JsonNode *
guest_hotcpu_get_load(Guest *guest, GError **error)
{
    return hotcpu_call_once(guest, "get-load", NULL, GUEST_CALL_TIMEOUT_MS, error);
}

const GuestOps guest_hotcpu_ops = {
    .ping = hotcpu_ping,
    .get_topology = hotcpu_get_topology,
    .set_num_cpus = hotcpu_set_num_cpus,
    .restore_online = hotcpu_restore_online,
    .wait_count = hotcpu_wait_count,
    .wait_present = hotcpu_wait_present,
};
