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

#include "agent.h"

/* Takes the first sample (the baseline of every first get-load). */
void agent_load_init(Agent *agent);
/* Stops every watch and frees the samples. */
void agent_load_clear(Agent *agent);

void agent_load_get(Agent *agent, CommandCall *call);
void agent_load_watch(Agent *agent, CommandCall *call, guint interval_s);
/* @peer left: its baseline and its watch go. */
void agent_load_forget(Agent *agent, guint64 peer);
