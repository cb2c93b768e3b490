/* guest.h: the guest side of one domain, as the host programs (hotcpu-ctl and
 * the shipped hooks) reach it.
 *
 * A Guest knows how to reach the domain's guest agent and which agent
 * answers, in this order of preference:
 *   hotcpu   hotcpu-agent on its channel org.hotcpu.agent.0 (guest_hotcpu.c):
 *            the whole topology, events, all-or-nothing set-num-cpus;
 *   qemu-ga  qemu-guest-agent through libvirt's virDomainGetGuestVcpus /
 *            virDomainSetGuestVcpus (guest_qga.c): CPU ids, online and
 *            can-offline only, no events (polled); hotcpu makes its
 *            guest-set-vcpus all-or-nothing by reading back and undoing;
 *   none.
 * Every call connects, asks and disconnects before it returns, except the
 * waits, which hold one hotcpu-agent connection for their whole length:
 * QEMU's chardev serves one client at a time and the hooks connect
 * themselves, so no connection outlives a call.
 *
 * Failures: AGENT_CLIENT_ERROR when the agent did not answer (connect,
 * timeout, I/O, protocol; for qemu-ga: libvirt says it is not connected,
 * not configured or not supported by the driver); PROTO_ERROR when it
 * answered and refused (code = the hotcpu class; qemu-ga's refusals are
 * mapped to InvalidParameter and OperationFailed); GUEST_ERROR_UNSUPPORTED
 * when it answers but cannot online or offline CPUs at all (qemu-ga in a
 * Windows guest).  Every message is a sentence a user can act on.
 */
#pragma once

#include <glib.h>
#include <libvirt/libvirt.h>

#include "agent_client.h"
#include "cpulist.h"
#include "topology.h"

/* How long one agent question may take before the agent counts as not
 * answering. */
#define GUEST_CONNECT_TIMEOUT_MS 2000
#define GUEST_CALL_TIMEOUT_MS 3000
/* The same for a hotcpu port libvirt reports disconnected, with the
 * automatic choice: qemu-ga may answer instead. */
#define GUEST_QUIET_PORT_PING_MS 500
/* How long set-num-cpus may take beyond its wait: the guest kernel takes up
 * to a few hundred ms per CPU, so leave room for dozens. */
#define GUEST_SET_TIMEOUT_MS 20000
/* How long a wait keeps trying an agent that has not answered at all
 * before it counts as absent. */
#define GUEST_NO_ANSWER_GRACE_MS 5000
/* How long a busy channel is waited for before it is taken over. */
#define GUEST_BUSY_FORCE_MS 500

typedef enum {
    GUEST_AGENT_AUTO, /* a choice only: the first of hotcpu, qemu-ga that answers */
    GUEST_AGENT_HOTCPU,
    GUEST_AGENT_QEMU_GA,
    GUEST_AGENT_NONE,
} GuestAgentKind;

/* "hotcpu", "qemu-ga", "none" ("auto" for the choice), as in --json and the
 * audit log. */
const char *guest_agent_name(GuestAgentKind kind);
/* The inverse, for --guest-agent: FALSE when @name is none of the four. */
gboolean guest_agent_parse(const char *name, GuestAgentKind *kind);

typedef enum {
    GUEST_ERROR_UNSUPPORTED, /* the agent answers but cannot online/offline CPUs */
    GUEST_ERROR_IMPLAUSIBLE, /* the agent's answer cannot be true of the domain */
} GuestError;

#define GUEST_ERROR (guest_error_quark())
GQuark guest_error_quark(void);

typedef struct Guest Guest;

/* The guest of @dom, with the agent @choice.  The hotcpu agent is reached
 * through libvirt (virDomainOpenChannel on @dom's connection, which needs a
 * read-write connection and virt_events_start() before it was opened);
 * where the driver lacks that call, or @dom is NULL (a hook run by hand),
 * through @socket_path, the channel's host socket (NULL when none or not on
 * this machine).  @has_channel: the domain has the hotcpu channel (TRUE when
 * not known).  qemu-ga needs @dom.  Connects to nothing yet. */
Guest *guest_new(virDomainPtr dom, gboolean has_channel, const char *socket_path,
                 GuestAgentKind choice);
void guest_free(Guest *guest);
/* The same domain on a new connection (libvirtd restarted). */
void guest_set_domain(Guest *guest, virDomainPtr dom);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Guest, guest_free)

/* Caps every call to the hotcpu agent at @timeout_ms: a connect, a
 * question, a set-num-cpus or set-online-cpus beyond its wait (else
 * GUEST_SET_TIMEOUT_MS).  set gives its --timeout; the shipped hook what
 * fits in the hook runner's limit. */
void guest_set_timeout(Guest *guest, guint timeout_ms);

/* A guest that never takes the hotcpu agent's channel from another client
 * (watch: it holds the channel for long and gives way).  The others wait
 * GUEST_BUSY_FORCE_MS for a busy channel, then take it over: a client that
 * died can leave libvirt holding the channel for ever. */
void guest_set_patient(Guest *guest, gboolean patient);

/* A connection to hotcpu-agent held by the caller (watch); NULL with
 * @error when it does not answer, or the domain's agent is not hotcpu-agent
 * (AGENT_CLIENT_ERROR_CONNECT).  Close it with agent_client_free. */
AgentClient *guest_connect_hotcpu(Guest *guest, GError **error);

/* A load (get-load's reply, a load event's data) as far as it can be
 * believed: each figure a number, clamped to its range (busy, steal and
 * pressure 0 to 1, runnable 0 to GUEST_LOAD_MAX_RUNNABLE); -1 where the
 * guest did not say or said something that is not a number. */
typedef struct {
    double seconds;
    double busy;
    double steal;
    double pressure;   /* some-avg10 */
    double pressure60; /* some-avg60 */
    gint64 runnable;
} GuestLoad;
#define GUEST_LOAD_MAX_RUNNABLE 1000000
/* FALSE (and every figure -1) when @data is not an object. */
gboolean guest_load_read(JsonNode *data, GuestLoad *out);

/* get-load: the guest's load since the previous get-load on the port
 * (docs/protocol.md); hotcpu-agent only. */
JsonNode *guest_get_load(Guest *guest, GError **error);

/* Which agent answers, asked once and remembered: the chosen one, or with
 * AUTO the first that answers (a hotcpu ping, then virDomainGetGuestVcpus);
 * GUEST_AGENT_NONE with @error saying why when none does.  Every call below
 * probes first. */
GuestAgentKind guest_probe(Guest *guest, GError **error);

/* The topology the probe's answer carried (hotcpu-agent's get-topology,
 * qemu-ga's vCPU list), checked as guest_get_topology's is, handed over
 * once: a caller that needs the guest's state right after the probe need
 * not ask again.  NULL when the answer carried none, or it was taken. */
Topology *guest_take_probed_topology(Guest *guest);

/* @xml is the domain's live XML, just read by the caller: the probe takes
 * the agent channel's state from it instead of asking libvirt again. */
void guest_set_live_xml(Guest *guest, const char *xml);

/* The agent that answered the probe (NONE before it or when none did). */
GuestAgentKind guest_kind(const Guest *guest);

/* TRUE when the answering agent vouches for a Linux guest: hotcpu-agent
 * (Linux only), or qemu-ga whose guest info (virDomainGetGuestInfo, OS)
 * names the Linux kernel.  Asked once. */
gboolean guest_reports_linux(Guest *guest);

/* One sentence for a guest whose agent cannot be reached: what did not
 * answer and what to check ("the hotcpu agent of domain 'NAME' did not
 * answer (why): check ..."); @error is the failure of the last call. */
char *guest_unreachable_message(const Guest *guest, const char *dom_name, const GError *error);

/* "the hotcpu agent" / "the qemu-ga" / "no guest agent", for sentences. */
const char *guest_agent_label(GuestAgentKind kind);

Topology *guest_get_topology(Guest *guest, GError **error);

/* @count CPUs online, waiting up to @wait_s for a hot add in flight; all or
 * nothing: the lowest-numbered offline CPUs are onlined, the
 * highest-numbered offlinable online ones offlined, and when one fails the
 * others are put back and the error names it.  A Busy hotcpu agent
 * (another set-num-cpus waiting), or one that went away mid-call
 * (restarted), is asked again for up to GUEST_NO_ANSWER_GRACE_MS.  Returns
 * the topology after. */
Topology *guest_set_num_cpus(Guest *guest, guint count, guint wait_s, GError **error);

/* TRUE when @topo can be true of @guest's domain: CPU ids below its
 * maximum, online within present within possible, the per-CPU list and the
 * summary agreeing with the sets; else GUEST_ERROR_IMPLAUSIBLE, "the
 * guest's answer was not plausible: ..." naming the domain.  For what the
 * guest says unasked (watch's events); the calls below check their own. */
gboolean guest_check_topology(Guest *guest, const Topology *topo, GError **error);

/* Every topology these return passed one check (GUEST_ERROR_IMPLAUSIBLE
 * when not): CPU ids below the domain's maximum, online within present
 * within possible; guest_set_num_cpus's also has @count CPUs online. */

/* Puts the guest back to exactly @online (a set recorded earlier) with
 * set-online-cpus, holes and all; an agent too old to know it
 * (CommandNotFound) is asked set-num-cpus with @online's count instead,
 * which brings back the lowest offline CPUs, not necessarily @online's.  A
 * Busy agent, or one that went away mid-call, is asked again for up to
 * GUEST_NO_ANSWER_GRACE_MS.  Returns the topology after; fails when the
 * agent cannot, or when the guest has another online set than @online. */
Topology *guest_restore_online(Guest *guest, const CpuList *online, GError **error);

typedef enum {
    GUEST_WAIT_REACHED,     /* @count CPUs present and online */
    GUEST_WAIT_TIMEOUT,     /* the agent answered, but not that state by the deadline */
    GUEST_WAIT_NO_AGENT,    /* the agent never answered */
    GUEST_WAIT_REFUSED,     /* the agent answers but cannot do it (GUEST_ERROR_UNSUPPORTED) */
    GUEST_WAIT_IMPLAUSIBLE, /* the agent's answer cannot be true (GUEST_ERROR_IMPLAUSIBLE) */
} GuestWaitResult;

/* Waits until the guest has exactly @count CPUs present and online, asking
 * the agent to online/offline CPUs as needed, until the monotonic time
 * @deadline_us (an agent that never answers: at most
 * GUEST_NO_ANSWER_GRACE_MS).  hotcpu-agent: woken by its events; qemu-ga:
 * polled, 50 ms doubling to 1 s.  *last gets the last topology seen (NULL
 * when none); *error the last failure when the result is not REACHED. */
GuestWaitResult guest_wait_count(Guest *guest, guint count, gint64 deadline_us, Topology **last,
                                 GError **error);

/* After a vCPU request libvirt gave up on: waits until the guest's present
 * count reaches @count or has moved from @from toward it, or @deadline_us.
 * Returns the last present count seen, -1 when no agent answered. */
gint guest_wait_present(Guest *guest, guint count, gint from, gint64 deadline_us);
