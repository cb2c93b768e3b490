/* guest.c: the guest side of one domain, through hotcpu-agent. */
#include "guest.h"

#include "agent_client.h"
#include "cancel.h"
#include "deadline.h"
#include "protocol.h"
#include "virt_channel.h"

/* How often a channel another client holds is asked for again. */
#define GUEST_BUSY_RETRY_MS 50

struct Guest {
    virDomainPtr dom; /* our reference, or NULL */
    gboolean has_channel;
    gboolean no_open_channel; /* the driver lacks virDomainOpenChannel */
    char *socket_path;
    GuestAgentKind choice;
    GuestAgentKind kind; /* valid once probed */
    gboolean probed;
};

const char *
guest_agent_name(GuestAgentKind kind)
{
    switch (kind) {
    case GUEST_AGENT_AUTO:
        return "auto";
    case GUEST_AGENT_HOTCPU:
        return "hotcpu";
    case GUEST_AGENT_NONE:
        break;
    }
    return "none";
}

Guest *
guest_new(virDomainPtr dom, gboolean has_channel, const char *socket_path, GuestAgentKind choice)
{
    Guest *guest = g_new0(Guest, 1);

    if (dom && virDomainRef(dom) == 0)
        guest->dom = dom;
    guest->has_channel = has_channel;
    guest->socket_path = g_strdup(socket_path);
    guest->choice = choice;
    return guest;
}

void
guest_set_domain(Guest *guest, virDomainPtr dom)
{
    if (guest->dom)
        virDomainFree(guest->dom);
    guest->dom = dom && virDomainRef(dom) == 0 ? dom : NULL;
}

void
guest_free(Guest *guest)
{
    if (!guest)
        return;
    if (guest->dom)
        virDomainFree(guest->dom);
    g_free(guest->socket_path);
    g_free(guest);
}

/* ---- reaching hotcpu-agent ---------------------------------------------- */

/* The agent's channel through libvirt (virDomainOpenChannel): works over
 * any URI.  NULL with @error; *unsupported when the driver lacks the call. */
static AgentClient *
connect_libvirt(Guest *guest, gint64 deadline, gboolean *unsupported, GError **error)
{
    for (;;) {
        g_autoptr(GError) err = NULL;
        VirtChannel *channel = NULL;
        int fd = virt_channel_open(guest->dom, AGENT_CHANNEL_NAME, &channel, &err);

        if (fd >= 0) {
            AgentClient *client = NULL;

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
        /* One client at a time: wait for the other to let go. */
        if (g_error_matches(err, VIRT_CHANNEL_ERROR, VIRT_CHANNEL_ERROR_BUSY)
            && deadline_ms_left(deadline) > 0) {
            g_usleep(MIN(deadline_ms_left(deadline), GUEST_BUSY_RETRY_MS) * 1000);
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

static AgentClient *
hotcpu_connect(Guest *guest, guint timeout_ms, GError **error)
{
    gint64 deadline = deadline_after_ms(timeout_ms);

    if (guest->choice == GUEST_AGENT_NONE) {
        g_set_error(error, AGENT_CLIENT_ERROR, AGENT_CLIENT_ERROR_CONNECT,
                    "no guest agent is used (--guest-agent none)");
        return NULL;
    }
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
    gint64 deadline = deadline_after_ms(timeout_ms);
    g_autoptr(AgentClient) client = hotcpu_connect(guest, timeout_ms, error);

    if (!client)
        return NULL;
    return agent_client_call(client, execute, arguments, deadline_ms_left(deadline), error);
}

static Topology *
call_topology(AgentClient *client, GError **error)
{
    g_autoptr(JsonNode) reply
        = agent_client_call(client, "get-topology", NULL, GUEST_CALL_TIMEOUT_MS, error);

    return reply ? topology_from_json(reply, error) : NULL;
}

static Topology *
call_set_num_cpus(AgentClient *client, guint count, guint wait_s, GError **error)
{
    g_autoptr(JsonObject) args = json_object_new();
    g_autoptr(JsonNode) reply = NULL;
    guint wait = MIN(wait_s, PROTO_SET_NUM_CPUS_MAX_WAIT_S);
    JsonNode *topo;

    json_object_set_int_member(args, "count", count);
    if (wait > 0)
        json_object_set_int_member(args, "wait", wait);
    reply = agent_client_call(client, "set-num-cpus", args, wait * 1000 + GUEST_SET_TIMEOUT_MS,
                              error);
    if (!reply)
        return NULL;
    if (!JSON_NODE_HOLDS_OBJECT(reply)
        || !(topo = json_object_get_member(json_node_get_object(reply), "topology"))) {
        g_set_error(error, AGENT_CLIENT_ERROR, AGENT_CLIENT_ERROR_PROTOCOL,
                    "the agent's set-num-cpus reply has no topology");
        return NULL;
    }
    return topology_from_json(topo, error);
}

/* ---- the public calls --------------------------------------------------- */

GuestAgentKind
guest_probe(Guest *guest, GError **error)
{
    g_autoptr(JsonNode) pong = NULL;
    g_autoptr(GError) err = NULL;

    if (guest->probed) {
        if (guest->kind == GUEST_AGENT_NONE)
            g_set_error(error, AGENT_CLIENT_ERROR, AGENT_CLIENT_ERROR_CONNECT,
                        "no guest agent answered");
        return guest->kind;
    }
    pong = hotcpu_call_once(guest, "ping", NULL, GUEST_CALL_TIMEOUT_MS, &err);
    guest->probed = TRUE;
    guest->kind = pong ? GUEST_AGENT_HOTCPU : GUEST_AGENT_NONE;
    if (!pong)
        g_propagate_error(error, g_steal_pointer(&err));
    return guest->kind;
}

char *
guest_unreachable_message(const Guest *guest, const char *dom_name, const GError *error)
{
    if (guest->choice == GUEST_AGENT_NONE)
        return g_strdup_printf("no guest agent is used for domain '%s' (--guest-agent none)",
                               dom_name);
    if (!guest->has_channel)
        return g_strdup_printf(
            "domain '%s' has no hotcpu agent channel: its XML needs <channel type='unix'> with "
            "<target type='virtio' name='" AGENT_CHANNEL_NAME "'/> (hotcpu-ctl prepare adds it)",
            dom_name);
    return g_strdup_printf("the hotcpu agent of domain '%s' did not answer (%s): check that "
                           "hotcpu-agent is installed and running in the guest",
                           dom_name, error ? error->message : "no reply");
}

Topology *
guest_get_topology(Guest *guest, GError **error)
{
    g_autoptr(JsonNode) reply
        = hotcpu_call_once(guest, "get-topology", NULL, GUEST_CALL_TIMEOUT_MS, error);

    return reply ? topology_from_json(reply, error) : NULL;
}

/* Worth asking again: the agent is busy with another set-num-cpus, or went
 * away mid-call (restarted: it reads the kernel's state at start, so the
 * same request to the new instance is safe). */
static gboolean
retry_set_num_cpus(const GError *err)
{
    return g_error_matches(err, PROTO_ERROR, PROTO_ERROR_BUSY)
           || g_error_matches(err, AGENT_CLIENT_ERROR, AGENT_CLIENT_ERROR_IO)
           || g_error_matches(err, AGENT_CLIENT_ERROR, AGENT_CLIENT_ERROR_CONNECT);
}

Topology *
guest_set_num_cpus(Guest *guest, guint count, guint wait_s, GError **error)
{
    g_autoptr(AgentClient) client = hotcpu_connect(guest, GUEST_CONNECT_TIMEOUT_MS, error);
    gint64 retry_until = deadline_after_ms(GUEST_NO_ANSWER_GRACE_MS);

    while (client) {
        g_autoptr(GError) err = NULL;
        Topology *topo = call_set_num_cpus(client, count, wait_s, &err);

        if (topo)
            return topo;
        if (!retry_set_num_cpus(err) || deadline_ms_left(retry_until) == 0
            || !cancel_sleep_ms(100)) {
            g_propagate_error(error, g_steal_pointer(&err));
            return NULL;
        }
        g_debug("set-num-cpus: %s; asking again", err->message);
        if (err->domain == AGENT_CLIENT_ERROR) {
            /* a new connection, to the agent's new instance */
            g_clear_pointer(&client, agent_client_free);
            while (!(client = hotcpu_connect(guest, GUEST_CONNECT_TIMEOUT_MS, NULL))
                   && deadline_ms_left(retry_until) > 0 && cancel_sleep_ms(200))
                ;
            if (!client)
                g_propagate_error(error, g_steal_pointer(&err));
        }
    }
    return NULL;
}

Topology *
guest_restore_online(Guest *guest, const CpuList *online, GError **error)
{
    g_autofree char *want = cpulist_format(online);
    g_autoptr(JsonObject) args = json_object_new();
    g_autoptr(AgentClient) client = hotcpu_connect(guest, GUEST_CONNECT_TIMEOUT_MS, error);
    gint64 retry_until = deadline_after_ms(GUEST_NO_ANSWER_GRACE_MS);
    g_autoptr(GError) err = NULL;
    g_autoptr(JsonNode) reply = NULL;
    g_autoptr(Topology) topo = NULL;
    JsonNode *member = NULL;

    if (!client)
        return NULL;
    json_object_set_string_member(args, "cpus", want);
    /* Asked again like set-num-cpus: Busy, or the agent went away mid-call. */
    while (!(reply = agent_client_call(client, "set-online-cpus", args, GUEST_SET_TIMEOUT_MS, &err))
           && retry_set_num_cpus(err) && deadline_ms_left(retry_until) > 0
           && cancel_sleep_ms(100)) {
        g_debug("set-online-cpus: %s; asking again", err->message);
        if (err->domain == AGENT_CLIENT_ERROR) {
            g_clear_pointer(&client, agent_client_free);
            while (!(client = hotcpu_connect(guest, GUEST_CONNECT_TIMEOUT_MS, NULL))
                   && deadline_ms_left(retry_until) > 0 && cancel_sleep_ms(200))
                ;
            if (!client)
                break;
        }
        g_clear_error(&err);
    }
    /* QEMU serves one client at a time: the fallback connects anew. */
    g_clear_pointer(&client, agent_client_free);
    if (g_error_matches(err, PROTO_ERROR, PROTO_ERROR_COMMAND_NOT_FOUND)) {
        g_debug("the agent has no set-online-cpus; restoring %s with set-num-cpus", want);
        if (!(topo = guest_set_num_cpus(guest, cpulist_count(online), 0, error)))
            return NULL;
    } else if (!reply) {
        g_propagate_error(error, g_steal_pointer(&err));
        return NULL;
    } else if (!JSON_NODE_HOLDS_OBJECT(reply)
               || !(member = json_object_get_member(json_node_get_object(reply), "topology"))) {
        g_set_error(error, AGENT_CLIENT_ERROR, AGENT_CLIENT_ERROR_PROTOCOL,
                    "the agent's set-online-cpus reply has no topology");
        return NULL;
    } else if (!(topo = topology_from_json(member, error))) {
        return NULL;
    }
    if (!cpulist_equal(topo->online, online)) {
        g_autofree char *got = cpulist_format(topo->online);
        g_set_error(error, AGENT_CLIENT_ERROR, AGENT_CLIENT_ERROR_PROTOCOL,
                    "the guest has CPUs %s online, not %s", got, want);
        return NULL;
    }
    return g_steal_pointer(&topo);
}

static gboolean
topology_has(const Topology *topo, guint count)
{
    return cpulist_count(topo->present) == count && cpulist_count(topo->online) == count;
}

/* One turn of guest_wait_count on a connected @client: read the state, and
 * ask for @count online when it is not there.  Returns the state seen (NULL
 * with @error when the agent did not answer). */
static Topology *
wait_turn(AgentClient *client, guint count, gint64 deadline_us, GError **error)
{
    g_autoptr(Topology) topo = call_topology(client, error);
    guint wait_s;

    if (!topo || topology_has(topo, count) || cpulist_count(topo->online) == count)
        return g_steal_pointer(&topo);
    /* Online the hot-added CPUs (waiting for them to appear), or offline the
     * ones about to be ejected. */
    wait_s = cpulist_count(topo->present) < count ? deadline_ms_left(deadline_us) / 1000 : 0;
    {
        g_autoptr(GError) err = NULL;
        g_autoptr(Topology) after = call_set_num_cpus(client, count, wait_s, &err);

        if (after)
            return g_steal_pointer(&after);
        if (err->domain == AGENT_CLIENT_ERROR) {
            g_propagate_error(error, g_steal_pointer(&err));
            return NULL;
        }
    }
    return g_steal_pointer(&topo);
}

GuestWaitResult
guest_wait_count(Guest *guest, guint count, gint64 deadline_us, Topology **last, GError **error)
{
    g_autoptr(AgentClient) client = NULL;
    g_autoptr(Topology) seen = NULL;
    g_autoptr(GError) err = NULL;
    gint64 give_up = deadline_after_ms(GUEST_NO_ANSWER_GRACE_MS);
    GuestWaitResult result;

    for (;;) {
        g_autoptr(Topology) topo = NULL;

        g_clear_error(&err);
        if (!client)
            client = hotcpu_connect(guest, GUEST_CONNECT_TIMEOUT_MS, &err);
        if (client && !(topo = wait_turn(client, count, deadline_us, &err)))
            g_clear_pointer(&client, agent_client_free); /* agent restarted: reconnect */
        if (topo) {
            g_clear_pointer(&seen, topology_free);
            seen = g_steal_pointer(&topo);
            if (topology_has(seen, count))
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
    result = !seen                       ? GUEST_WAIT_NO_AGENT
             : topology_has(seen, count) ? GUEST_WAIT_REACHED
                                         : GUEST_WAIT_TIMEOUT;
    if (result != GUEST_WAIT_REACHED && err)
        g_propagate_error(error, g_steal_pointer(&err));
    if (last)
        *last = g_steal_pointer(&seen);
    return result;
}

static gboolean
moved_toward(gint present, guint count, gint from)
{
    if (present == (gint)count)
        return TRUE;
    if (from < 0)
        return FALSE;
    return from > (gint)count ? present < from : present > from;
}

gint
guest_wait_present(Guest *guest, guint count, gint from, gint64 deadline_us)
{
    g_autoptr(AgentClient) client
        = hotcpu_connect(guest, MIN(GUEST_CONNECT_TIMEOUT_MS, deadline_ms_left(deadline_us)), NULL);
    g_autoptr(Topology) topo = client ? call_topology(client, NULL) : NULL;
    gint present;

    if (!topo)
        return -1;
    for (;;) {
        g_autoptr(JsonNode) ev = NULL;

        present = (gint)cpulist_count(topo->present);
        if (moved_toward(present, count, from))
            return present;
        ev = agent_client_wait_event(client, "topology-changed", deadline_ms_left(deadline_us),
                                     NULL);
        g_clear_pointer(&topo, topology_free);
        if (!ev || !(topo = topology_from_json(ev, NULL)))
            return present;
    }
}
