/* guest.c: short conversations with the guest agent. */
#include "guest.h"

#include "agent_client.h"
#include "protocol.h"

gboolean
guest_ping(const char *socket_path, GError **error)
{
    g_autoptr(JsonNode) reply = NULL;

    if (!socket_path) {
        g_set_error(error, AGENT_CLIENT_ERROR, AGENT_CLIENT_ERROR_CONNECT,
                    "the domain has no org.hotcpu.agent.0 channel with a host socket");
        return FALSE;
    }
    reply = agent_client_call_once(socket_path, "ping", NULL, GUEST_CALL_TIMEOUT_MS, error);
    return reply != NULL;
}

static Topology *
call_topology(AgentClient *client, const char *socket_path, GError **error)
{
    g_autoptr(JsonNode) reply = NULL;

    if (client)
        reply = agent_client_call(client, "get-topology", NULL, GUEST_CALL_TIMEOUT_MS, error);
    else
        reply = agent_client_call_once(socket_path, "get-topology", NULL, GUEST_CALL_TIMEOUT_MS,
                                       error);
    if (!reply)
        return NULL;
    return topology_from_json(reply, error);
}

Topology *
guest_get_topology(const char *socket_path, GError **error)
{
    return call_topology(NULL, socket_path, error);
}

static Topology *
call_set_num_cpus(AgentClient *client, guint count, guint wait_s, GError **error)
{
    g_autoptr(JsonObject) args = json_object_new();
    g_autoptr(JsonNode) reply = NULL;
    JsonNode *topo;

    json_object_set_int_member(args, "count", count);
    json_object_set_int_member(args, "wait", MIN(wait_s, 60));
    reply = agent_client_call(client, "set-num-cpus", args,
                              MIN(wait_s, 60) * 1000 + GUEST_CALL_TIMEOUT_MS, error);
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

Topology *
guest_set_num_cpus(const char *socket_path, guint count, guint wait_s, GError **error)
{
    g_autoptr(AgentClient) client
        = agent_client_connect(socket_path, GUEST_CONNECT_TIMEOUT_MS, error);
    if (!client)
        return NULL;
    return call_set_num_cpus(client, count, wait_s, error);
}

static guint
remaining_ms(gint64 deadline_us)
{
    gint64 left = deadline_us - g_get_monotonic_time();
    return left <= 0 ? 0 : (guint)MIN(left / 1000, G_MAXUINT);
}

GuestWaitResult
guest_wait_count(const char *socket_path, guint count, gint64 deadline_us, Topology **last,
                 GError **error)
{
    g_autoptr(AgentClient) client = NULL;
    g_autoptr(Topology) seen = NULL;
    g_autoptr(GError) err = NULL;
    gboolean answered = FALSE, reached;
    gint64 give_up = g_get_monotonic_time() + GUEST_NO_ANSWER_GRACE_MS * 1000;

    for (;;) {
        g_autoptr(Topology) topo = NULL;
        guint present, online;

        g_clear_error(&err);
        if (!client) {
            client = agent_client_connect(socket_path, GUEST_CONNECT_TIMEOUT_MS, &err);
            if (!client)
                goto next;
        }
        topo = call_topology(client, NULL, &err);
        if (!topo) {
            /* A dead connection (agent restarted): try a new one next turn. */
            if (err->domain == AGENT_CLIENT_ERROR)
                g_clear_pointer(&client, agent_client_free);
            goto next;
        }
        answered = TRUE;
        present = cpulist_count(topo->present);
        online = cpulist_count(topo->online);
        g_clear_pointer(&seen, topology_free);
        seen = g_steal_pointer(&topo);
        if (present == count && online == count)
            break;
        if (online != count) {
            /* Online the hot-added CPUs (waiting for them to appear), or
             * offline the ones about to be ejected. */
            guint wait_s = present < count ? MIN(remaining_ms(deadline_us) / 1000, 60) : 0;
            g_autoptr(Topology) after = call_set_num_cpus(client, count, wait_s, &err);
            if (after) {
                g_clear_pointer(&seen, topology_free);
                seen = g_steal_pointer(&after);
                if (cpulist_count(seen->present) == count && cpulist_count(seen->online) == count)
                    break;
            } else if (err->domain == AGENT_CLIENT_ERROR) {
                g_clear_pointer(&client, agent_client_free);
            }
        }
    next:
        if (remaining_ms(deadline_us) == 0 || (!answered && remaining_ms(give_up) == 0))
            break;
        if (client) {
            /* The agent announces every change; wake on it rather than poll. */
            g_autoptr(JsonNode) ev = agent_client_wait_event(
                client, "topology-changed", MIN(remaining_ms(deadline_us), 1000), NULL);
        } else {
            g_usleep(MIN(remaining_ms(deadline_us), 500) * 1000);
        }
    }
    reached = seen && cpulist_count(seen->present) == count && cpulist_count(seen->online) == count;
    if (last)
        *last = g_steal_pointer(&seen);
    if (reached)
        return GUEST_WAIT_REACHED;
    if (err)
        g_propagate_error(error, g_steal_pointer(&err));
    return answered ? GUEST_WAIT_TIMEOUT : GUEST_WAIT_NO_AGENT;
}
