/* guest_private.h: what guest.c shares with the two agent back ends
 * (guest_hotcpu.c, guest_qga.c), and the pure parts the tests call.
 *
 * guest.c probes and dispatches through one GuestOps table per agent; the
 * back ends never probe, and report failures as guest.h describes.
 */
#pragma once

#include "guest.h"

struct Guest {
    virDomainPtr dom; /* our reference, or NULL */
    gboolean has_channel;
    gboolean no_open_channel; /* the driver lacks virDomainOpenChannel */
    gboolean patient;         /* never take the channel from another client */
    char *socket_path;
    GuestAgentKind choice;
    GuestAgentKind kind; /* valid once probed */
    gboolean probed;
    char *hotcpu_why;         /* why hotcpu-agent did not answer the probe */
    char *qga_why;            /* why qemu-ga did not */
    int os_linux;             /* guest_reports_linux: -1 not asked yet, 0, 1 */
    int os_windows;           /* qemu-ga's guest info names Windows: -1, 0, 1 */
    guint max_cpus;           /* the domain's maximum vCPUs, 0 until known */
    guint set_timeout_ms;     /* guest_set_timeout(): caps every call; 0: none */
    Topology *probe_topology; /* what the probe's answer carried, until taken */
    int channel_state;        /* VirtChannelState from guest_set_live_xml(); -1: ask libvirt */
};

typedef struct {
    /* Does the agent answer?  FALSE with @error saying why.  The probe asks
     * for the topology, so *@topo gets it when the answer carried one
     * (NULL else), unchecked. */
    gboolean (*ping)(Guest *guest, Topology **topo, GError **error);
    Topology *(*get_topology)(Guest *guest, GError **error);
    Topology *(*set_num_cpus)(Guest *guest, guint count, guint wait_s, GError **error);
    /* puts @online back; guest.c checks the result is exactly @online */
    Topology *(*restore_online)(Guest *guest, const CpuList *online, GError **error);
    GuestWaitResult (*wait_count)(Guest *guest, guint count, gint64 deadline_us, Topology **last,
                                  GError **error);
    gint (*wait_present)(Guest *guest, guint count, gint from, gint64 deadline_us);
} GuestOps;

extern const GuestOps guest_hotcpu_ops;
/* What only hotcpu-agent does (guest.c checks the agent first). */
AgentClient *guest_hotcpu_connect(Guest *guest, GError **error);
JsonNode *guest_hotcpu_get_load(Guest *guest, GError **error);
extern const GuestOps guest_qga_ops;

/* The domain's name for messages ("?" without a domain).  Read libvirt's
 * last error before calling it: virDomainGetName resets it. */
const char *guest_dom_name(const Guest *guest);

/* @present CPUs and @online of them (both counts), the state a wait wants. */
gboolean guest_topology_has(const Topology *topo, guint count);

/* The end of a wait for @count: its result from @seen (the last state, or
 * NULL when the agent never answered; taken, handed over in *@last) and
 * @refused; @err (taken, may be NULL) becomes *@error unless reached. */
GuestWaitResult guest_wait_finish(Topology *seen, guint count, gboolean refused, GError *err,
                                  Topology **last, GError **error);

/* TRUE when @present has reached @count or moved from @from toward it. */
gboolean guest_moved_toward(gint present, guint count, gint from);

/* qemu-ga's guest info says Windows (asked once; FALSE when unknown). */
gboolean guest_qga_os_is_windows(Guest *guest);

/* ---- qemu-ga, the pure parts (guest_qga.c) ------------------------------ */

/* The CPUs to change so that @count of @topo's CPUs are online, as the
 * hotcpu agent picks them: the lowest-numbered offline CPUs to online
 * (*online TRUE), or the highest-numbered online CPUs that can be
 * offlined (*online FALSE); an empty list when @count are online already.
 * NULL with PROTO_ERROR_INVALID_PARAMETER when @count is 0, above the
 * present CPUs, or below what cannot be offlined. */
CpuList *guest_qga_plan(const Topology *topo, guint count, gboolean *online, GError **error);

/* The topology libvirt's virDomainGetGuestVcpus parameters describe:
 * "vcpus" (present), "online", "offlinable", each a CPU list; the rest
 * unknown.  NULL with AGENT_CLIENT_ERROR_PROTOCOL when a list is missing or
 * malformed, or an online CPU is not present. */
Topology *guest_qga_topology(const char *vcpus, const char *online, const char *offlinable,
                             GError **error);

/* The CPU a failed guest-set-vcpus stopped at: the one of @left (the CPUs
 * of the request not changed) whose sysfs file libvirt's error text @msg
 * names (libvirt sends the CPUs in the order qemu-ga listed them, highest
 * first with qemu-ga 7.2: not something to assume), else the only one
 * left; -1 when it cannot be told. */
gint guest_qga_failed_cpu(const char *msg, const CpuList *left);

/* Of @cpus, those that were not @online in @before and are in @after:
 * what a partial guest-set-vcpus changed, to be put back. */
CpuList *guest_qga_changed(const CpuList *cpus, gboolean online, const Topology *before,
                           const Topology *after);

/* guest_check.c: the domain's maximum vCPUs (CPULIST_MAX_CPUS when there
 * is no domain to ask, as for a hook run by hand). */
guint guest_max_cpus(Guest *guest);
/* @topo (taken) when it passes the check; NULL (freed) with @error when
 * not, or when @topo is NULL. */
Topology *guest_checked(Guest *guest, Topology *topo, GError **error);
/* @ms, or less under guest_set_timeout()'s cap. */
guint guest_limit_ms(const Guest *guest, guint ms);
/* How long a set-num-cpus or set-online-cpus may take beyond its wait. */
guint guest_set_timeout_ms(const Guest *guest);
