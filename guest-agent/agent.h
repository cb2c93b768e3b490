/* agent.h: the agent's state and what happens on each kind of event.
 *
 * Everything runs in one GMainLoop: lines from the channel (commands.c),
 * kernel CPU uevents (uevent.c), and the agent's own timers:
 *   - the topology check, armed by any CPU uevent and run CHECK_DELAY_MS
 *     later so that a burst (add, bind, online for each of several CPUs)
 *     becomes one topology-changed event;
 *   - auto-online retries for a hot-added CPU whose online file does not
 *     take the write yet;
 *   - the deadline of a set-num-cpus that waits for hot-added CPUs.
 */
#pragma once

#include <glib.h>

#include "agent_config.h"
#include "channel.h"
#include "commands.h"
#include "topology.h"
#include "uevent.h"

/* Coalescing delay for topology-changed: short enough for "within a
 * second", long enough to merge a hot plug's add/bind/online burst. */
#define AGENT_CHECK_DELAY_MS 75
/* Auto-online: attempts and first retry delay (doubling each time). */
#define AGENT_ONLINE_ATTEMPTS 6
#define AGENT_ONLINE_RETRY_MS 25
/* A line longer than this (a topology of a few thousand CPUs) is followed
 * by a malloc_trim, so the agent shrinks back to its idle size. */
#define AGENT_TRIM_AFTER_BYTES (64 * 1024)

typedef struct PendingSetCpus PendingSetCpus;

typedef struct AgentLoad AgentLoad;

struct Agent {
    AgentConfig *config;
    Channel *channel;
    UeventMonitor *uevents;
    CpuList *announced_online; /* the sets last sent as topology-changed */
    CpuList *announced_present;
    guint check_timer;
    guint trim_idle;            /* malloc_trim after a big line */
    GHashTable *online_retries; /* GUINT_TO_POINTER(cpu) -> OnlineRetry */
    PendingSetCpus *pending;    /* the one set-num-cpus that waits, or NULL */
    AgentLoad *load;            /* get-load and watch-load (agent_load.h) */
    GMainLoop *loop;
    guint starting; /* idle source: set until the loop's first turn is done */
    int exit_status;
};

/* Reads the topology, opens the channel and the uevent source named by
 * @config (taken over).  Fails when the channel cannot be opened or the
 * CPU sysfs cannot be read: the agent would be useless. */
Agent *agent_new(AgentConfig *config, GError **error);
/* The same over the transport @open_channel makes (the fuzzer's in-memory
 * channel); agent_new opens the one @config names. */
typedef Channel *(*AgentChannelOpen)(const AgentConfig *config, const ChannelCallbacks *callbacks,
                                     gpointer user_data, GError **error);
Agent *agent_new_full(AgentConfig *config, AgentChannelOpen open_channel, GError **error);
/* Answers a waiting set-num-cpus (the agent is going away), then frees. */
void agent_free(Agent *agent);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Agent, agent_free)

/* Runs the main loop until agent_quit().  Returns the exit status. */
int agent_run(Agent *agent);
void agent_quit(Agent *agent, int status);

/* Arms the coalescing timer of the topology check. */
void agent_schedule_check(Agent *agent);

/* Queues one line (with its '\n') for @peer; dropped when it is gone. */
void agent_send(Agent *agent, guint64 peer, const char *line);
/* set-num-cpus after its argument checks: answers @call (taken over) now,
 * or later when @wait_s > 0 and fewer than @count CPUs are present. */
void agent_set_num_cpus(Agent *agent, CommandCall *call, guint count, guint wait_s);
/* set-online-cpus after its argument checks (@cpus parsed; whether it fits
 * the CPUs there is checked here): answers @call (taken over) now.  @cpus
 * stays the caller's. */
void agent_set_online_cpus(Agent *agent, CommandCall *call, const CpuList *cpus);
