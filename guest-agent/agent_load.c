/* agent_load.c: get-load baselines per peer and watch-load timers. */
#include "agent_load.h"
#include "glib_compat.h"

#include <string.h>

#include "load.h"

struct AgentLoad {
    char *proc_root;
    LoadSample *start;     /* /proc/stat at start */
    GHashTable *baselines; /* &peer -> LoadSample of its last get-load */
    GHashTable *watches;   /* &peer -> its watch-load timer */
};

typedef struct {
    AgentLoad *load;
    Channel *channel;
    guint64 peer;
    guint interval_s;
    guint timer;
    guint missed; /* ticks in a row that found no host on the port */
    LoadSample *prev;
} LoadWatch;

/* Ticks in a row without a host after which a watch ends.  On the virtio
 * port (one peer for the agent's life) a host that leaves is not seen
 * leaving; a watcher that only yields the port for a moment to a short
 * client (autoscale's samples) must not lose its watch, one that is gone
 * must not keep the agent waking. */
#define LOAD_WATCH_MAX_MISSED 3

static void
load_watch_free(gpointer data)
{
    LoadWatch *watch = data;

    if (watch->timer != 0)
        g_source_remove(watch->timer);
    load_sample_free(watch->prev);
    g_free(watch);
}

AgentLoad *
agent_load_new(const char *proc_root)
{
    g_autoptr(GError) error = NULL;
    AgentLoad *load = g_new0(AgentLoad, 1);

    load->proc_root = g_strdup(proc_root);
    load->baselines = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free,
                                            (GDestroyNotify)load_sample_free);
    load->watches = g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL, load_watch_free);
    /* One read at start, so that a first get-load covers something. */
    load->start = load_sample_read(proc_root, &error);
    if (load->start == NULL)
        g_debug("No CPU load baseline at start: %s", error->message);
    return load;
}

void
agent_load_free(AgentLoad *load)
{
    if (load == NULL)
        return;
    g_hash_table_unref(load->watches);
    g_hash_table_unref(load->baselines);
    load_sample_free(load->start);
    g_free(load->proc_root);
    g_free(load);
}

/* Appends the load from @prev to now and returns the new sample (NULL with
 * @error when /proc/stat cannot be read). */
static LoadSample *
write_load(AgentLoad *load, const LoadSample *prev, GString *out, GError **error)
{
    LoadPressure pressure;
    gboolean has_pressure = load_pressure_read(load->proc_root, &pressure);
    LoadSample *cur = load_sample_read(load->proc_root, error);

    if (cur != NULL)
        load_write_json(prev, cur, has_pressure ? &pressure : NULL, out);
    return cur;
}

void
agent_load_get(AgentLoad *load, CommandCall *call)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GString) text = g_string_new(NULL);
    const LoadSample *prev = g_hash_table_lookup(load->baselines, &call->peer);
    LoadSample *cur = write_load(load, prev != NULL ? prev : load->start, text, &error);

    if (cur == NULL) {
        command_call_fail(call, PROTO_ERROR_OPERATION_FAILED, "cannot read the CPU load: %s",
                          error->message);
        return;
    }
    g_hash_table_replace(load->baselines, g_memdup2(&call->peer, sizeof(guint64)), cur);
    command_call_return_json(call, text->str);
}

static gboolean
on_watch_tick(gpointer user_data)
{
    LoadWatch *watch = user_data;
    g_autoptr(GError) error = NULL;
    GString *line;
    LoadSample *cur;
    g_autofree char *text = NULL;

    if (!channel_peer_connected(watch->channel, watch->peer)) {
        if (++watch->missed < LOAD_WATCH_MAX_MISSED)
            return G_SOURCE_CONTINUE; /* the baseline stays: the next covers both */
        g_debug("Load watch of peer %" G_GUINT64_FORMAT " ends: it left.", watch->peer);
        watch->timer = 0;
        g_hash_table_remove(watch->load->watches, &watch->peer);
        return G_SOURCE_REMOVE;
    }
    watch->missed = 0;
    line = proto_event_begin("load");
    cur = write_load(watch->load, watch->prev, line, &error);
    if (cur == NULL) {
        g_warning("Cannot read the CPU load: %s", error->message);
        g_string_free(line, TRUE);
        return G_SOURCE_CONTINUE;
    }
    text = proto_event_end(line);
    channel_send(watch->channel, watch->peer, text, strlen(text));
    load_sample_free(watch->prev);
    watch->prev = cur;
    return G_SOURCE_CONTINUE;
}

void
agent_load_watch(AgentLoad *load, Channel *channel, CommandCall *call, guint interval_s)
{
    g_autoptr(GError) error = NULL;
    LoadSample *start = load_sample_read(load->proc_root, &error);
    LoadWatch *watch;

    if (start == NULL) {
        command_call_fail(call, PROTO_ERROR_OPERATION_FAILED, "cannot read the CPU load: %s",
                          error->message);
        return;
    }
    watch = g_hash_table_lookup(load->watches, &call->peer);
    if (watch != NULL && watch->interval_s == interval_s) {
        /* The same watch asked for again: a watcher that came back after
         * yielding the port.  Restarting the period would starve it of
         * events whenever it yields more often than the interval. */
        load_sample_free(start);
        watch->missed = 0;
        command_call_return(call, NULL);
        return;
    }
    if (watch == NULL) {
        watch = g_new0(LoadWatch, 1);
        watch->load = load;
        watch->channel = channel;
        watch->peer = call->peer;
        g_hash_table_insert(load->watches, &watch->peer, watch);
    } else {
        g_source_remove(watch->timer);
        load_sample_free(watch->prev);
    }
    watch->prev = start;
    watch->interval_s = interval_s;
    /* Not g_timeout_add_seconds: it may fire up to a second early. */
    watch->timer = g_timeout_add(interval_s * 1000, on_watch_tick, watch);
    g_debug("Peer %" G_GUINT64_FORMAT " watches the load every %u s.", call->peer, interval_s);
    command_call_return(call, NULL);
}

void
agent_load_forget(AgentLoad *load, guint64 peer)
{
    g_hash_table_remove(load->baselines, &peer);
    g_hash_table_remove(load->watches, &peer);
}
