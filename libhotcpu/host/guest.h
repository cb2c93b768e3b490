/* guest.h: the guest side of one domain, as the host programs (hotcpu-ctl and
 * the shipped hooks) reach it.
 *
 * A Guest knows how to reach the domain's guest agent and which agent
 * answers: hotcpu-agent on its channel org.hotcpu.agent.0, or none.  Every
 * call connects, asks and disconnects before it returns, except the waits,
 * which hold one connection for their whole length: QEMU's chardev serves one
 * client at a time and the hooks connect themselves, so no connection
 * outlives a call.
 *
 * Failures are AGENT_CLIENT_ERROR (no answer: connect, timeout, I/O,
 * protocol) or PROTO_ERROR (the agent answered with an error; code = its
 * class).
 */
#pragma once

#include <glib.h>
#include <libvirt/libvirt.h>

#include "cpulist.h"
#include "topology.h"

/* How long one agent question may take before the agent counts as not
 * answering. */
#define GUEST_CONNECT_TIMEOUT_MS 2000
#define GUEST_CALL_TIMEOUT_MS 3000
/* How long set-num-cpus may take beyond its wait: the guest kernel takes up
 * to a few hundred ms per CPU, so leave room for dozens. */
#define GUEST_SET_TIMEOUT_MS 20000
/* How long a wait keeps trying an agent that has not answered at all
 * before it counts as absent. */
#define GUEST_NO_ANSWER_GRACE_MS 5000

typedef enum {
    GUEST_AGENT_AUTO, /* a choice only: the first of hotcpu, none that answers */
    GUEST_AGENT_HOTCPU,
    GUEST_AGENT_NONE,
} GuestAgentKind;

/* "hotcpu", "none" ("auto" for the choice), as in --json and the audit log. */
const char *guest_agent_name(GuestAgentKind kind);

typedef struct Guest Guest;

/* The guest of @dom, with the agent @choice.  The hotcpu agent is reached
 * through libvirt (virDomainOpenChannel on @dom's connection, which needs a
 * read-write connection and virt_events_start() before it was opened);
 * where the driver lacks that call, or @dom is NULL (a hook run by hand),
 * through @socket_path, the channel's host socket (NULL when none or not on
 * this machine).  @has_channel: the domain has the agent channel (TRUE when
 * not known).  Connects to nothing yet. */
Guest *guest_new(virDomainPtr dom, gboolean has_channel, const char *socket_path,
                 GuestAgentKind choice);
void guest_free(Guest *guest);
/* The same domain on a new connection (libvirtd restarted). */
void guest_set_domain(Guest *guest, virDomainPtr dom);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Guest, guest_free)

/* Which agent answers (a ping), asked once and remembered: the chosen one,
 * or with AUTO the first that answers; GUEST_AGENT_NONE with @error saying
 * why when none does. */
GuestAgentKind guest_probe(Guest *guest, GError **error);

/* "the hotcpu agent of domain 'NAME' did not answer on ... (why): check ..."
 * naming what to check, for a guest whose agent cannot be reached. */
char *guest_unreachable_message(const Guest *guest, const char *dom_name, const GError *error);

Topology *guest_get_topology(Guest *guest, GError **error);

/* set-num-cpus: @count CPUs online, waiting up to @wait_s for a hot add in
 * flight; all or nothing.  A Busy agent (another set-num-cpus waiting), or
 * one that went away mid-call (restarted), is asked again for up to
 * GUEST_NO_ANSWER_GRACE_MS.  Returns the topology after. */
Topology *guest_set_num_cpus(Guest *guest, guint count, guint wait_s, GError **error);

/* Puts the guest back to exactly @online (a set recorded earlier) with
 * set-online-cpus, holes and all; an agent too old to know it
 * (CommandNotFound) is asked set-num-cpus with @online's count instead,
 * which brings back the lowest offline CPUs, not necessarily @online's.  A
 * Busy agent, or one that went away mid-call, is asked again for up to
 * GUEST_NO_ANSWER_GRACE_MS.  Returns the topology after; fails when the
 * agent cannot, or when the guest has another online set than @online. */
Topology *guest_restore_online(Guest *guest, const CpuList *online, GError **error);

typedef enum {
    GUEST_WAIT_REACHED,  /* @count CPUs present and online */
    GUEST_WAIT_TIMEOUT,  /* the agent answered, but not that state by the deadline */
    GUEST_WAIT_NO_AGENT, /* the agent never answered */
} GuestWaitResult;

/* Waits until the guest has exactly @count CPUs present and online, asking
 * the agent to online/offline CPUs as needed, until the monotonic time
 * @deadline_us (an agent that never answers: at most
 * GUEST_NO_ANSWER_GRACE_MS).  *last gets the last topology seen (NULL when
 * none); *error the last failure when the result is not REACHED. */
GuestWaitResult guest_wait_count(Guest *guest, guint count, gint64 deadline_us, Topology **last,
                                 GError **error);

/* After a vCPU request libvirt gave up on: waits, on the agent's
 * topology-changed events, until the guest's present count reaches @count
 * or has moved from @from toward it, or @deadline_us.  Returns the last
 * present count seen, -1 when the agent did not answer. */
gint guest_wait_present(Guest *guest, guint count, gint from, gint64 deadline_us);
