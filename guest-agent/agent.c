/* agent.c: the agent's state machine on top of one GMainLoop. */
#include "config.h"

#include "agent.h"

#include <errno.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <string.h>

#include "agent_load.h"
#include "commands.h"
#include "cpu_control.h"
#include "protocol.h"
#include "topology_writer.h"
#include "topology_sysfs.h"

typedef struct {
    Agent *agent;
    guint cpu;
    guint attempt;
    guint timer;
} OnlineRetry;

struct PendingSetCpus {
    CommandCall *call;
    guint64 peer; /* held in the channel until answered (a half close) */
    guint count;
    guint wait_s;
    guint deadline;
};

static void pending_try(Agent *agent, gboolean final);

static gboolean
on_trim(gpointer user_data)
{
    Agent *agent = user_data;

    agent->trim_idle = 0;
#ifdef __GLIBC__
    /* The big reply's transient memory (topologies, its text) is free by
     * now; give the pages back instead of keeping them for the next one. */
    malloc_trim(0);
#endif
    return G_SOURCE_REMOVE;
}

void
agent_send(Agent *agent, guint64 peer, const char *line)
{
    gsize len = strlen(line);

    channel_send(agent->channel, peer, line, len);
    /* Once, from an idle: only after a big line, so the idle cost stays nil. */
    if (len > AGENT_TRIM_AFTER_BYTES && agent->trim_idle == 0)
        agent->trim_idle = g_idle_add(on_trim, agent);
}

/* ---- topology-changed -------------------------------------------------- */

static char *
format_topology_event(const Topology *topo)
{
    GString *line = proto_event_begin("topology-changed");

    topology_write_json(topo, line);
    return proto_event_end(line);
}

/* {"event": "agent-started", "data": {"version": ..., "protocol": 1}} */
static char *
format_started_event(void)
{
    g_autoptr(JsonObject) data = json_object_new();
    g_autoptr(JsonNode) node = json_node_new(JSON_NODE_OBJECT);

    json_object_set_string_member(data, "version", HOTCPU_VERSION);
    json_object_set_int_member(data, "protocol", PROTO_VERSION);
    json_node_set_object(node, data);
    return proto_format_event(PROTO_EVENT_AGENT_STARTED, node);
}

/* What a topology-changed reports: only the two sets are kept, not the
 * whole topology (8192 CPUs' details would stay in the heap for good). */
static void
remember_announced(Agent *agent, const Topology *topo)
{
    cpulist_free(agent->announced_online);
    cpulist_free(agent->announced_present);
    agent->announced_online = cpulist_copy(topo->online);
    agent->announced_present = cpulist_copy(topo->present);
}

static gboolean
announced_same(Agent *agent, const Topology *topo)
{
    return agent->announced_online != NULL && cpulist_equal(agent->announced_online, topo->online)
           && cpulist_equal(agent->announced_present, topo->present);
}

static gboolean
on_check(gpointer user_data)
{
    Agent *agent = user_data;
    g_autoptr(GError) error = NULL;
    g_autoptr(Topology) topo = NULL;

    agent->check_timer = 0;
    topo = topology_read(agent->config->sysfs_root, &error);
    if (topo == NULL) {
        g_warning("Cannot read the CPU topology: %s", error->message);
    } else if (!announced_same(agent, topo)) {
        g_autofree char *online = cpulist_format(topo->online);
        g_autofree char *present = cpulist_format(topo->present);

        g_message("CPUs online: %s of present %s.", online, present);
        /* An event nobody receives need not be written (a big one is not
         * cheap); a host that connects later gets the state anyway. */
        if (channel_peer_count(agent->channel) > 0) {
            g_autofree char *line = format_topology_event(topo);

            channel_broadcast(agent->channel, line, strlen(line));
        }
        remember_announced(agent, topo);
    }
    pending_try(agent, FALSE);
    return G_SOURCE_REMOVE;
}

void
agent_schedule_check(Agent *agent)
{
    if (agent->check_timer == 0)
        agent->check_timer = g_timeout_add(AGENT_CHECK_DELAY_MS, on_check, agent);
}

/* ---- auto-online ------------------------------------------------------- */

static void
online_retry_free(gpointer data)
{
    OnlineRetry *retry = data;

    if (retry->timer != 0)
        g_source_remove(retry->timer);
    g_free(retry);
}

static gboolean on_online_retry(gpointer user_data);

/* A hot-added CPU's online file may not take the write at once (the device
 * is still being set up): retry on a timer, never in a sleep. */
static void
online_attempt(OnlineRetry *retry)
{
    Agent *agent = retry->agent;
    int r = cpu_control_write_online(agent->config->sysfs_root, retry->cpu, TRUE);

    retry->timer = 0;
    retry->attempt++;
    if (r == 0) {
        g_message("Brought hot-added CPU %u online.", retry->cpu);
    } else if (retry->attempt < AGENT_ONLINE_ATTEMPTS) {
        guint delay = AGENT_ONLINE_RETRY_MS << (retry->attempt - 1);

        g_debug("Cannot bring CPU %u online yet (%s); retrying in %u ms.", retry->cpu,
                g_strerror(-r), delay);
        retry->timer = g_timeout_add(delay, on_online_retry, retry);
        return;
    } else {
        g_warning("Cannot bring hot-added CPU %u online: %s (gave up after %u attempts).",
                  retry->cpu, g_strerror(-r), retry->attempt);
    }
    g_hash_table_remove(agent->online_retries, GUINT_TO_POINTER(retry->cpu));
    agent_schedule_check(agent);
}

static gboolean
on_online_retry(gpointer user_data)
{
    OnlineRetry *retry = user_data;

    retry->timer = 0;
    online_attempt(retry);
    return G_SOURCE_REMOVE;
}

static void
auto_online(Agent *agent, guint cpu)
{
    OnlineRetry *retry;

    if (g_hash_table_contains(agent->online_retries, GUINT_TO_POINTER(cpu)))
        return;
    retry = g_new0(OnlineRetry, 1);
    retry->agent = agent;
    retry->cpu = cpu;
    g_hash_table_insert(agent->online_retries, GUINT_TO_POINTER(cpu), retry);
    online_attempt(retry);
}

static void
on_uevent(const Uevent *event, gpointer user_data)
{
    Agent *agent = user_data;
    gint cpu;

    if (event == NULL) {
        g_debug("Uevents were lost; re-reading the topology.");
        agent_schedule_check(agent);
        return;
    }
    cpu = uevent_cpu_id(event);
    if (cpu < 0)
        return;
    /* Only "add" means "the hypervisor just plugged it in".  An "offline"
     * is someone's decision (an admin, set-num-cpus) and is respected. */
    if (strcmp(event->action, "add") == 0 && agent->config->auto_online)
        auto_online(agent, (guint)cpu);
    else if (strcmp(event->action, "remove") == 0)
        g_hash_table_remove(agent->online_retries, GUINT_TO_POINTER(cpu));
    agent_schedule_check(agent);
}

/* ---- set-num-cpus ------------------------------------------------------ */

static void
pending_free(Agent *agent, PendingSetCpus *pending)
{
    if (pending->deadline != 0)
        g_source_remove(pending->deadline);
    command_call_free(pending->call);
    channel_release(agent->channel, pending->peer);
    g_free(pending);
}

/* Applies @plan and answers @call (taken over) with {"topology": T}, or
 * with the failure after the rollback.  @what names the request in logs.
 * Returns FALSE when the plan was rolled back. */
static gboolean
apply_and_answer(Agent *agent, CommandCall *call, const CpuPlan *plan, const char *what)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(Topology) after = NULL;

    if (plan->online->len + plan->offline->len > 0) {
        if (!cpu_plan_apply(agent->config->sysfs_root, plan, NULL, &error)) {
            g_warning("%s failed: %s", what, error->message);
            agent_schedule_check(agent);
            command_call_fail_error(call, error);
            return FALSE;
        }
        g_message("%s: brought %u CPUs online, took %u offline.", what, plan->online->len,
                  plan->offline->len);
        /* The kernel sends online/offline uevents; a fake tree does not. */
        agent_schedule_check(agent);
    }

    after = topology_read(agent->config->sysfs_root, &error);
    if (after == NULL) {
        command_call_fail(call, PROTO_ERROR_OPERATION_FAILED,
                          "CPUs were changed, but the topology cannot be read: %s", error->message);
        return TRUE;
    }
    command_call_return_topology(call, after, "topology");
    return TRUE;
}

/* Decides and applies when enough CPUs are present (or @final: now or
 * never).  Returns TRUE when @call was answered (and freed). */
static gboolean
set_cpus_try(Agent *agent, CommandCall *call, guint count, guint wait_s, gboolean final)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(Topology) topo = topology_read(agent->config->sysfs_root, &error);
    g_autoptr(CpuPlan) plan = NULL;
    g_autofree char *what = NULL;
    guint present;

    if (topo == NULL) {
        g_warning("set-num-cpus: cannot read the CPU topology: %s", error->message);
        command_call_fail(call, PROTO_ERROR_OPERATION_FAILED, "cannot read the CPU topology: %s",
                          error->message);
        return TRUE;
    }
    present = topo->cpus->len;
    if (count > present) {
        if (!final)
            return FALSE;
        if (wait_s > 0)
            command_call_fail(call, PROTO_ERROR_INVALID_PARAMETER,
                              "requested %u CPUs but only %u are present after waiting %u s", count,
                              present, wait_s);
        else
            command_call_fail(call, PROTO_ERROR_INVALID_PARAMETER,
                              "requested %u CPUs but only %u are present", count, present);
        return TRUE;
    }

    plan = cpu_plan_new(topo, count, &error);
    if (plan == NULL) {
        command_call_fail_error(call, error);
        return TRUE;
    }
    what = g_strdup_printf("set-num-cpus %u", count);
    apply_and_answer(agent, call, plan, what);
    return TRUE;
}

static void
pending_try(Agent *agent, gboolean final)
{
    PendingSetCpus *pending = agent->pending;

    if (pending == NULL)
        return;
    /* Let auto-online finish first, or we would race it for the same CPU. */
    if (!final && g_hash_table_size(agent->online_retries) > 0)
        return;
    if (!set_cpus_try(agent, pending->call, pending->count, pending->wait_s, final))
        return;
    pending->call = NULL; /* answered and freed */
    agent->pending = NULL;
    pending_free(agent, pending);
}

static gboolean
on_pending_deadline(gpointer user_data)
{
    Agent *agent = user_data;

    agent->pending->deadline = 0;
    pending_try(agent, TRUE);
    return G_SOURCE_REMOVE;
}

/* set-num-cpus after argument checks: answers @call (taken over) now, or
 * later when @wait_s > 0 and fewer than @count CPUs are present yet. */
void
agent_set_num_cpus(Agent *agent, CommandCall *call, guint count, guint wait_s)
{
    PendingSetCpus *pending;

    if (agent->pending != NULL) {
        command_call_fail(call, PROTO_ERROR_BUSY,
                          "another set-num-cpus (%u CPUs) is still waiting for hot-added CPUs",
                          agent->pending->count);
        return;
    }
    if (set_cpus_try(agent, call, count, wait_s, wait_s == 0))
        return;

    /* Not enough CPUs present yet: answer when uevents bring them (the
     * topology check calls pending_try) or at the deadline. */
    g_debug("set-num-cpus %u: waiting up to %u s for CPUs to be hot added.", count, wait_s);
    pending = g_new0(PendingSetCpus, 1);
    pending->call = call;
    pending->peer = call->peer;
    channel_hold(agent->channel, call->peer);
    pending->count = count;
    pending->wait_s = wait_s;
    /* Not g_timeout_add_seconds: it rounds to glib's second ticks and may
     * fire early, and "wait" promises the full time. */
    pending->deadline = g_timeout_add(wait_s * 1000, on_pending_deadline, agent);
    agent->pending = pending;
}

/* ---- set-online-cpus --------------------------------------------------- */

/* Exactly @wanted online, now (no waiting: the host names CPUs it saw). */
void
agent_set_online_cpus(Agent *agent, CommandCall *call, const CpuList *wanted)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(Topology) topo = NULL;
    g_autoptr(CpuPlan) plan = NULL;
    g_autofree char *text = cpulist_format(wanted);
    g_autofree char *what = g_strdup_printf("set-online-cpus %s", text);
    GHashTableIter iter;
    gpointer cpu;

    /* The waiting set-num-cpus would undo this when its CPUs arrive. */
    if (agent->pending != NULL) {
        command_call_fail(call, PROTO_ERROR_BUSY,
                          "a set-num-cpus (%u CPUs) is still waiting for hot-added CPUs",
                          agent->pending->count);
        return;
    }
    topo = topology_read(agent->config->sysfs_root, &error);
    if (topo == NULL) {
        g_warning("set-online-cpus: cannot read the CPU topology: %s", error->message);
        command_call_fail(call, PROTO_ERROR_OPERATION_FAILED, "cannot read the CPU topology: %s",
                          error->message);
        return;
    }
    plan = cpu_plan_new_exact(topo, wanted, &error);
    if (plan == NULL) {
        command_call_fail_error(call, error);
        return;
    }
    if (!apply_and_answer(agent, call, plan, what))
        return;
    /* A hot-added CPU whose auto-online is still being retried would come
     * online after the answer; the host asked for the set without it. */
    g_hash_table_iter_init(&iter, agent->online_retries);
    while (g_hash_table_iter_next(&iter, &cpu, NULL)) {
        if (!cpulist_contains(wanted, GPOINTER_TO_UINT(cpu)))
            g_hash_table_iter_remove(&iter);
    }
}

/* ---- channel callbacks ------------------------------------------------- */

static void
on_line(Channel *channel, guint64 peer, const char *line, gsize len, gpointer user_data)
{
    Agent *agent = user_data;

    commands_dispatch(agent, peer, line, len);
}

static void
on_line_too_long(Channel *channel, guint64 peer, gpointer user_data)
{
    Agent *agent = user_data;

    commands_reply_line_too_long(agent, peer);
}

static void
on_connected(Channel *channel, guint64 peer, gboolean announce, gpointer user_data)
{
    Agent *agent = user_data;
    g_autoptr(GError) error = NULL;
    g_autoptr(Topology) topo = NULL;
    g_autofree char *line = NULL;

    if (!announce)
        return;
    g_message("The host connected.");
    /* A host that was there when we started may have sent a request to the
     * instance before us, which died with it: tell it to ask again. */
    if (agent->starting != 0) {
        g_autofree char *started = format_started_event();
        agent_send(agent, peer, started);
    }
    /* Events were not kept while nobody listened: tell the current state. */
    topo = topology_read(agent->config->sysfs_root, &error);
    if (topo == NULL) {
        g_warning("Cannot read the CPU topology: %s", error->message);
        return;
    }
    line = format_topology_event(topo);
    agent_send(agent, peer, line);
    remember_announced(agent, topo);
}

static void
on_disconnected(Channel *channel, guint64 peer, gpointer user_data)
{
    Agent *agent = user_data;

    g_debug("Peer %" G_GUINT64_FORMAT " left.", peer);
    agent_load_forget(agent->load, peer);
    if (agent->pending != NULL && agent->pending->call->peer == peer) {
        /* Nobody is left to answer; nothing was changed yet. */
        g_message("Dropping the waiting set-num-cpus %u: its client left.", agent->pending->count);
        pending_free(agent, g_steal_pointer(&agent->pending));
    }
}

/* The port removed under us (a live detach) ends the agent cleanly: under
 * systemd, BindsTo= stops the unit anyway and udev starts it again when a
 * port comes back; an exit status 1 raced BindsTo= into Restart=on-failure
 * and left the unit "failed" (seen in the e2e detach test). */
static void
on_channel_failed(Channel *channel, const GError *error, gpointer user_data)
{
    if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CLOSED)) {
        g_message("The port went away (%s): exiting.", error->message);
        agent_quit(user_data, 0);
        return;
    }
    g_warning("The channel failed: %s", error->message);
    agent_quit(user_data, 1);
}

static const ChannelCallbacks channel_callbacks = {
    .line = on_line,
    .line_too_long = on_line_too_long,
    .connected = on_connected,
    .disconnected = on_disconnected,
    .failed = on_channel_failed,
};

/* ---- life cycle -------------------------------------------------------- */

static gboolean
on_started(gpointer user_data)
{
    Agent *agent = user_data;

    agent->starting = 0;
    return G_SOURCE_REMOVE;
}

Agent *
agent_new_full(AgentConfig *config, AgentChannelOpen open_channel, GError **error)
{
    g_autoptr(Agent) agent = g_new0(Agent, 1);
    g_autoptr(GError) local = NULL;
    g_autoptr(Topology) topo = NULL;

    agent->config = config;
    agent->loop = g_main_loop_new(NULL, FALSE);
    agent->online_retries = g_hash_table_new_full(NULL, NULL, NULL, online_retry_free);
    agent->load = agent_load_new(config->proc_root);

    /* Order matters: subscribe to uevents, then read the state (a hot add
     * in between is not missed), then serve (a client, or a test driving
     * --uevent-socket, may act as soon as it can connect). */
    if (config->uevent_socket != NULL)
        agent->uevents
            = uevent_monitor_new_socket(config->uevent_socket, "cpu", on_uevent, agent, error);
    else
        agent->uevents = uevent_monitor_new_netlink("cpu", on_uevent, agent, &local);
    if (agent->uevents == NULL && config->uevent_socket != NULL)
        return NULL;
    if (agent->uevents == NULL)
        /* Commands still work; only hot plug goes unnoticed. */
        g_warning("Hot-added CPUs will not be noticed: %s", local->message);

    topo = topology_read(config->sysfs_root, error);
    if (topo == NULL)
        return NULL;
    remember_announced(agent, topo);

    agent->channel = open_channel(config, &channel_callbacks, agent, error);
    if (agent->channel == NULL)
        return NULL;
    /* The port's first state is seen in the loop's first turn. */
    agent->starting = g_idle_add(on_started, agent);

    return g_steal_pointer(&agent);
}

/* The transport the configuration names: --listen, or the virtio port. */
static Channel *
open_configured_channel(const AgentConfig *config, const ChannelCallbacks *callbacks,
                        gpointer user_data, GError **error)
{
    if (config->listen != NULL)
        return channel_unix_new(config->listen, callbacks, user_data, error);
    return channel_virtio_new(config->channel, callbacks, user_data, error);
}

Agent *
agent_new(AgentConfig *config, GError **error)
{
    return agent_new_full(config, open_configured_channel, error);
}

void
agent_free(Agent *agent)
{
    if (agent == NULL)
        return;
    if (agent->pending != NULL) {
        PendingSetCpus *pending = g_steal_pointer(&agent->pending);

        command_call_fail(g_steal_pointer(&pending->call), PROTO_ERROR_OPERATION_FAILED,
                          "the agent is shutting down; nothing was changed");
        pending_free(agent, pending);
    }
    if (agent->check_timer != 0)
        g_source_remove(agent->check_timer);
    if (agent->trim_idle != 0)
        g_source_remove(agent->trim_idle);
    if (agent->starting != 0)
        g_source_remove(agent->starting);
    g_clear_pointer(&agent->load, agent_load_free);
    g_hash_table_unref(agent->online_retries);
    uevent_monitor_free(agent->uevents);
    channel_free(agent->channel);
    cpulist_free(agent->announced_online);
    cpulist_free(agent->announced_present);
    g_main_loop_unref(agent->loop);
    agent_config_free(agent->config);
    g_free(agent);
}

int
agent_run(Agent *agent)
{
    g_main_loop_run(agent->loop);
    return agent->exit_status;
}

void
agent_quit(Agent *agent, int status)
{
    if (status > agent->exit_status)
        agent->exit_status = status;
    g_main_loop_quit(agent->loop);
}
