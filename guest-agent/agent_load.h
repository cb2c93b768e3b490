/* agent_load.h: the agent's side of get-load and watch-load (agent.c's
 * helpers; the parsing and the fractions are in load.[ch]).
 *
 * get-load answers for the time since the previous get-load of the same
 * peer, or since the agent started for a peer's first one.  watch-load
 * gives the peer one repeating timer that sends a "load" event for the time
 * since the previous one; a second watch-load of the same peer replaces the
 * interval.  The timer goes with its peer: at once when a unix client
 * leaves, at the next tick when no host holds the virtio port any more (a
 * momentary "no host" while a host connects must not end a watch just
 * asked for).  Nobody watching: no timer at all.
 */
#pragma once

#include <glib.h>

#include "channel.h"
#include "commands.h"

/* The load sampler's own state: the start sample, each peer's baseline
 * and watch.  The agent holds one (Agent.load). */
typedef struct AgentLoad AgentLoad;

/* Takes the first sample under @proc_root (copied; the baseline of every
 * first get-load). */
AgentLoad *agent_load_new(const char *proc_root);
/* Stops every watch and frees the samples; accepts NULL. */
void agent_load_free(AgentLoad *load);

void agent_load_get(AgentLoad *load, CommandCall *call);
/* The watch sends its events on @channel, which must outlive @load. */
void agent_load_watch(AgentLoad *load, Channel *channel, CommandCall *call, guint interval_s);
/* @peer left: its baseline and its watch go. */
void agent_load_forget(AgentLoad *load, guint64 peer);
