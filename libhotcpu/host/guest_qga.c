/* guest_qga.c: the guest side through qemu-guest-agent, by way of libvirt's
 * virDomainGetGuestVcpus / virDomainSetGuestVcpus (guest-get-vcpus and
 * guest-set-vcpus inside), for guests that have no hotcpu-agent.
 *
 * What qemu-ga does that this file answers for:
 * - guest-set-vcpus works through the list in order and stops at the first
 *   CPU it cannot change, returning how many it did; libvirt then asks again
 *   for the rest, which fails on that CPU, so virDomainSetGuestVcpus fails
 *   after applying part.  So every change is read back; when the whole was
 *   not done, what was changed is put back (all or nothing, as hotcpu-agent
 *   does) and the error names the CPU that failed.
 * - It leaves hot-added CPUs offline and sends no events: the waits poll
 *   virDomainGetGuestVcpus, 50 ms doubling to 1 s.
 * - In Windows guests guest-set-vcpus is not supported and no CPU can be
 *   offlined: said in one sentence, never confirmed.
 * - It knows CPU ids, online and can-offline only: the rest of the
 *   topology is unknown (-1 / NULL), never zero.
 */
#include "guest_private.h"

#include "cancel.h"

#include <stdlib.h>
#include <string.h>

#include "agent_client.h"
#include "cpu_planner.h"
#include "deadline.h"
#include "protocol.h"
#include "virt_compat.h"
#include "virt_util.h"

#define QGA_POLL_FIRST_MS 50
#define QGA_POLL_MAX_MS 1000
/* Rounds of guest-set-vcpus while each one gets further: qemu-ga may do
 * part of a request and say so without an error. */
#define QGA_SET_ROUNDS 4

/* libvirt >= 11.2 reports an agent's late reply with its own code. */
#define QGA_ERR_AGENT_COMMAND_TIMEOUT 112

/* ---- the pure parts ----------------------------------------------------- */

Topology *
guest_qga_topology(const char *vcpus, const char *online, const char *offlinable, GError **error)
{
    g_autoptr(Topology) topo = topology_new_unknown();
    g_autoptr(CpuList) present = NULL, on = NULL, off = NULL;
    g_autoptr(GError) err = NULL;

    if (!vcpus || !online || !offlinable || !(present = cpulist_parse(vcpus, &err))
        || !(on = cpulist_parse(online, &err)) || !(off = cpulist_parse(offlinable, &err))) {
        g_set_error(error, AGENT_CLIENT_ERROR, AGENT_CLIENT_ERROR_PROTOCOL,
                    "libvirt's guest vCPU information is incomplete (%s)",
                    err ? err->message : "a list is missing");
        return NULL;
    }
    for (gint id = cpulist_next(on, -1); id >= 0; id = cpulist_next(on, id))
        if (!cpulist_contains(present, (guint)id)) {
            g_set_error(error, AGENT_CLIENT_ERROR, AGENT_CLIENT_ERROR_PROTOCOL,
                        "qemu-ga reports CPU %d online but not present", id);
            return NULL;
        }
    for (gint id = cpulist_next(present, -1); id >= 0; id = cpulist_next(present, id)) {
        CpuInfo *cpu = topology_add_cpu(topo, (guint)id);

        cpu->online = cpulist_contains(on, (guint)id);
        cpu->can_offline = cpulist_contains(off, (guint)id);
    }
    cpulist_free(topo->present);
    topo->present = g_steal_pointer(&present);
    cpulist_free(topo->online);
    topo->online = g_steal_pointer(&on);
    return g_steal_pointer(&topo);
}

CpuList *
guest_qga_plan(const Topology *topo, guint count, gboolean *online, GError **error)
{
    g_autoptr(GArray) ids = g_array_new(FALSE, FALSE, sizeof(guint));
    g_autoptr(CpuList) fixed = NULL;
    g_autofree char *fixed_text = NULL;
    CpuList *plan;

    switch (cpu_planner_count(topo, count, online, ids)) {
    case CPU_PLAN_OK:
        break;
    case CPU_PLAN_ZERO:
        g_set_error_literal(error, PROTO_ERROR, PROTO_ERROR_INVALID_PARAMETER,
                            "requested 0 online CPUs but the guest needs at least 1");
        return NULL;
    case CPU_PLAN_NOT_PRESENT:
        g_set_error(error, PROTO_ERROR, PROTO_ERROR_INVALID_PARAMETER,
                    "requested %u online CPUs but the guest has only %u present", count,
                    topo->cpus->len);
        return NULL;
    case CPU_PLAN_FIXED:
        fixed = cpu_planner_fixed(topo);
        fixed_text = cpulist_format(fixed);
        g_set_error(error, PROTO_ERROR, PROTO_ERROR_INVALID_PARAMETER,
                    "requested %u online CPUs but the guest cannot offline CPU%s %s", count,
                    cpulist_count(fixed) == 1 ? "" : "s", fixed_text);
        return NULL;
    case CPU_PLAN_STUCK:
        g_set_error(error, PROTO_ERROR, PROTO_ERROR_INVALID_PARAMETER,
                    "requested %u online CPUs but the guest cannot bring its other CPUs online",
                    count);
        return NULL;
    }
    plan = cpulist_new();
    for (guint i = 0; i < ids->len; i++)
        cpulist_add(plan, g_array_index(ids, guint, i));
    return plan;
}

CpuList *
guest_qga_changed(const CpuList *cpus, gboolean online, const Topology *before,
                  const Topology *after)
{
    CpuList *changed = cpulist_new();

    for (gint id = cpulist_next(cpus, -1); id >= 0; id = cpulist_next(cpus, id)) {
        gboolean was = cpulist_contains(before->online, (guint)id);
        gboolean is = cpulist_contains(after->online, (guint)id);

        if (was != online && is == online)
            cpulist_add(changed, (guint)id);
    }
    return changed;
}

/* ---- libvirt's guest agent calls ---------------------------------------- */

/* libvirt's last error after a guest vCPU call, kept for a sentence built
 * once the guest's state has been read back. */
typedef struct {
    int code;
    char *msg;
} QgaFault;

static void
qga_fault_clear(QgaFault *f)
{
    g_clear_pointer(&f->msg, g_free);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(QgaFault, qga_fault_clear)

static void
qga_fault_take(QgaFault *f)
{
    qga_fault_clear(f);
    f->msg = g_strdup(virt_last_error());
    f->code = virt_last_error_code();
    virResetLastError();
}

/* libvirt did not reach qemu-ga at all (not connected, not configured, no
 * such API in the driver, domain gone, no reply in time). */
static gboolean
fault_is_no_answer(const QgaFault *f)
{
    return f->code == VIR_ERR_NO_SUPPORT || f->code == VIR_ERR_AGENT_UNRESPONSIVE
           || f->code == VIR_ERR_ARGUMENT_UNSUPPORTED || f->code == VIR_ERR_OPERATION_INVALID
           || f->code == VIR_ERR_OPERATION_TIMEOUT || f->code == QGA_ERR_AGENT_COMMAND_TIMEOUT
           || f->code == VIR_ERR_NO_DOMAIN;
}

/* qemu-ga cannot change CPUs at all: guest-set-vcpus disabled or
 * unsupported (Windows), or libvirt refusing to offline a CPU no Windows
 * guest can offline. */
static gboolean
fault_is_unsupported(Guest *guest, const QgaFault *f)
{
    return strstr(f->msg, "has been disabled") || strstr(f->msg, "not currently supported")
           || strstr(f->msg, "has not been found") || strstr(f->msg, "CommandNotFound")
           || strstr(f->msg, "CommandDisabled")
           || (f->code == VIR_ERR_OPERATION_UNSUPPORTED && guest_qga_os_is_windows(guest));
}

static void
set_unsupported(Guest *guest, const char *why, GError **error)
{
    g_set_error(error, GUEST_ERROR, GUEST_ERROR_UNSUPPORTED,
                "the qemu-ga of domain '%s' cannot online or offline CPUs (%s): %s",
                guest_dom_name(guest),
                guest_qga_os_is_windows(guest) ? "Windows guests do not support it"
                                               : "its guest-set-vcpus is not supported there",
                why);
}

/* @f as our error: no answer, not supported, or "could not @what". */
static void
set_error_from_fault(Guest *guest, const QgaFault *f, const char *what, GError **error)
{
    if (fault_is_no_answer(f))
        g_set_error(error, AGENT_CLIENT_ERROR, AGENT_CLIENT_ERROR_CONNECT, "libvirt: %s", f->msg);
    else if (fault_is_unsupported(guest, f))
        set_unsupported(guest, f->msg, error);
    else
        /* as hotcpu-agent's OperationFailed: the caller names agent and domain */
        g_set_error(error, PROTO_ERROR, PROTO_ERROR_OPERATION_FAILED, "could not %s: %s", what,
                    f->msg);
}

static Topology *
qga_read(Guest *guest, GError **error)
{
    virTypedParameterPtr params = NULL;
    unsigned int n = 0;
    Topology *topo;

    if (!guest->dom) {
        g_set_error_literal(error, AGENT_CLIENT_ERROR, AGENT_CLIENT_ERROR_CONNECT,
                            "qemu-ga is reached through libvirt, and no libvirt domain was given");
        return NULL;
    }
    if (virDomainGetGuestVcpus(guest->dom, &params, &n, 0) < 0) {
        g_auto(QgaFault) f = { 0 };

        qga_fault_take(&f);
        /* an answer that is an error is as good as none for reading */
        g_set_error(error, AGENT_CLIENT_ERROR,
                    fault_is_no_answer(&f) ? AGENT_CLIENT_ERROR_CONNECT
                                           : AGENT_CLIENT_ERROR_PROTOCOL,
                    "libvirt: %s", f.msg);
        return NULL;
    }
    {
        const char *vcpus = NULL, *online = NULL, *offlinable = NULL;

        virTypedParamsGetString(params, (int)n, "vcpus", &vcpus);
        virTypedParamsGetString(params, (int)n, "online", &online);
        virTypedParamsGetString(params, (int)n, "offlinable", &offlinable);
        topo = guest_qga_topology(vcpus, online, offlinable, error);
    }
    virTypedParamsFree(params, (int)n);
    return topo;
}

gboolean
guest_qga_os_is_windows(Guest *guest)
{
    virTypedParameterPtr params = NULL;
    int n = 0;
    const char *id = NULL, *release = NULL;

    if (guest->os_windows >= 0)
        return guest->os_windows == 1;
    guest->os_windows = guest->os_linux = 0;
    if (!guest->dom
        || virDomainGetGuestInfo(guest->dom, VIR_DOMAIN_GUEST_INFO_OS, &params, &n, 0) < 0) {
        virResetLastError(); /* unknown: neither */
        return FALSE;
    }
    virTypedParamsGetString(params, n, VIR_DOMAIN_GUEST_INFO_OS_ID, &id);
    virTypedParamsGetString(params, n, VIR_DOMAIN_GUEST_INFO_OS_KERNEL_RELEASE, &release);
    /* qemu-ga says "mswindows" in Windows and the os-release ID elsewhere;
     * libvirt does not pass the kernel name on, so the BSDs are named. */
    guest->os_windows = g_strcmp0(id, "mswindows") == 0;
    guest->os_linux = id && release && !guest->os_windows && strcmp(id, "freebsd") != 0
                      && strcmp(id, "netbsd") != 0 && strcmp(id, "openbsd") != 0;
    g_debug("qemu-ga of domain '%s' reports OS id '%s', kernel '%s'", guest_dom_name(guest),
            id ? id : "(none)", release ? release : "(none)");
    virTypedParamsFree(params, n);
    return guest->os_windows == 1;
}

/* One virDomainSetGuestVcpus of @cpus to @online; FALSE with *@f. */
static gboolean
qga_set(Guest *guest, const CpuList *cpus, gboolean online, QgaFault *f)
{
    g_autofree char *map = cpulist_format(cpus);

    g_debug("qemu-ga of domain '%s': %s CPUs %s", guest_dom_name(guest),
            online ? "online" : "offline", map);
    if (virDomainSetGuestVcpus(guest->dom, map, online ? 1 : 0, 0) == 0)
        return TRUE;
    qga_fault_take(f);
    g_debug("qemu-ga of domain '%s': libvirt: %s", guest_dom_name(guest), f->msg);
    return FALSE;
}

/* Of @cpus, those not (yet) @online in @topo. */
static CpuList *
not_yet(const CpuList *cpus, gboolean online, const Topology *topo)
{
    CpuList *left = cpulist_new();

    for (gint id = cpulist_next(cpus, -1); id >= 0; id = cpulist_next(cpus, id))
        if (cpulist_contains(topo->online, (guint)id) != online)
            cpulist_add(left, (guint)id);
    return left;
}

static const char *
verb(gboolean online)
{
    return online ? "online" : "offline";
}

static guint
poll_next(guint sleep_ms)
{
    return MIN(sleep_ms * 2, QGA_POLL_MAX_MS);
}

static void
poll_sleep(guint sleep_ms, gint64 deadline_us)
{
    cancel_sleep_ms(MIN(sleep_ms, deadline_ms_left(deadline_us)));
}

gint
guest_qga_failed_cpu(const char *msg, const CpuList *left)
{
    const char *p = msg;

    /* qemu-ga names the file: open("/sys/devices/system/cpu/cpu3//online") */
    while (p && (p = strstr(p, "/sys/devices/system/cpu/cpu"))) {
        guint64 id;
        char *end;

        p += strlen("/sys/devices/system/cpu/cpu");
        id = g_ascii_strtoull(p, &end, 10);
        if (end != p && id < CPULIST_MAX_CPUS && cpulist_contains(left, (guint)id))
            return (gint)id;
    }
    return cpulist_count(left) == 1 ? cpulist_next(left, -1) : -1;
}

/* "; CPUs 1-2, which it had onlined, were put back offline" and the like:
 * what happened to @changed, the part of a failed request that was done. */
static char *
describe_undo(Guest *guest, const CpuList *changed, gboolean online, const Topology *before)
{
    g_autofree char *text = cpulist_format(changed);
    gboolean one = cpulist_count(changed) == 1;
    g_autoptr(Topology) now = NULL;
    g_auto(QgaFault) f = { 0 };

    if (cpulist_count(changed) == 0)
        return g_strdup("; nothing else had been changed");
    if (qga_set(guest, changed, !online, &f) && (now = qga_read(guest, NULL))
        && cpulist_equal(now->online, before->online))
        return g_strdup_printf("; CPU%s %s, which it had %sd, %s put back %s", one ? "" : "s", text,
                               verb(online), one ? "was" : "were", verb(!online));
    return g_strdup_printf("; CPU%s %s, which it had %sd, could not be put back %s (%s)",
                           one ? "" : "s", text, verb(online), verb(!online),
                           f.msg ? f.msg : "they did not change back");
}

/* The end of a request that was not done whole: names the CPU that failed,
 * puts back what was changed, and says so.  @after: the state read back
 * (NULL when it could not be read); @f: libvirt's failure (msg NULL when
 * libvirt said nothing and the CPUs just did not change). */
static void
qga_fail(Guest *guest, const Topology *before, const Topology *after, const CpuList *cpus,
         gboolean online, const QgaFault *f, GError **error)
{
    g_autoptr(CpuList) left = after ? not_yet(cpus, online, after) : cpulist_copy(cpus);
    g_autoptr(CpuList) changed
        = after ? guest_qga_changed(cpus, online, before, after) : cpulist_new();
    gint cpu = guest_qga_failed_cpu(f->msg, left);
    g_autofree char *left_text = cpulist_format(left);
    g_autofree char *what = cpu >= 0 ? g_strdup_printf("%s CPU %d", verb(online), cpu)
                                     : g_strdup_printf("%s CPUs %s", verb(online), left_text);
    g_autofree char *undo = after ? describe_undo(guest, changed, online, before)
                                  : g_strdup("; the guest's CPUs could not be read back");
    g_autoptr(GError) err = NULL;

    if (f->msg) {
        set_error_from_fault(guest, f, what, &err);
    } else {
        g_set_error(&err, PROTO_ERROR, PROTO_ERROR_OPERATION_FAILED,
                    "could not %s: qemu-ga reported success, but the CPU%s stayed %s", what,
                    cpu >= 0 ? "" : "s", verb(!online));
    }
    /* not read back: what changed is unknown, so no "nothing changed" */
    g_set_error(error, after ? err->domain : AGENT_CLIENT_ERROR,
                after ? err->code : AGENT_CLIENT_ERROR_IO, "%s%s", err->message, undo);
}

/* Changes @cpus (all in the other state in @before) to @online, all or
 * nothing.  Returns the state after. */
static Topology *
qga_apply(Guest *guest, const Topology *before, const CpuList *cpus, gboolean online,
          GError **error)
{
    g_autoptr(CpuList) todo = cpulist_copy(cpus);
    g_autoptr(Topology) after = NULL;
    g_auto(QgaFault) f = { 0 };

    for (guint round = 0; round < QGA_SET_ROUNDS; round++) {
        guint before_round = cpulist_count(todo);
        gboolean ok = qga_set(guest, todo, online, &f);

        g_clear_pointer(&after, topology_free);
        if (!(after = qga_read(guest, ok ? error : NULL)) && ok)
            return NULL;
        if (after) {
            cpulist_free(todo);
            todo = not_yet(cpus, online, after);
            if (cpulist_count(todo) == 0)
                return g_steal_pointer(&after); /* done, whatever libvirt said */
        }
        /* qemu-ga may do part of a request without an error: the rest
         * again, while each round gets further */
        if (!ok || !after || cpulist_count(todo) == before_round)
            break;
    }
    qga_fail(guest, before, after, cpus, online, &f, error);
    return NULL;
}

/* ---- the calls ---------------------------------------------------------- */

static gboolean
qga_ping(Guest *guest, Topology **topo, GError **error)
{
    *topo = qga_read(guest, error);
    return *topo != NULL;
}

static Topology *
qga_get_topology(Guest *guest, GError **error)
{
    return qga_read(guest, error);
}

/* The guest's state once it has @count CPUs present, or at @deadline_us. */
static Topology *
read_when_present(Guest *guest, guint count, gint64 deadline_us, GError **error)
{
    guint sleep_ms = QGA_POLL_FIRST_MS;

    for (;;) {
        Topology *topo = qga_read(guest, error);

        if (!topo || cpulist_count(topo->present) >= count || deadline_ms_left(deadline_us) == 0)
            return topo;
        topology_free(topo);
        poll_sleep(sleep_ms, deadline_us);
        sleep_ms = poll_next(sleep_ms);
    }
}

/* @count CPUs online, from the state *@topo just read (each libvirt agent
 * call is a guest-sync and a command: no second read).  TRUE with *@topo
 * replaced by the state after; FALSE with *@topo as it was. */
static gboolean
set_from(Guest *guest, Topology **topo, guint count, GError **error)
{
    g_autoptr(CpuList) plan = NULL;
    g_autoptr(GError) err = NULL;
    gboolean online = FALSE;
    Topology *after;

    if (!(plan = guest_qga_plan(*topo, count, &online, &err))) {
        /* a Windows guest offlines nothing */
        if (count < cpulist_count((*topo)->online) && guest_qga_os_is_windows(guest))
            set_unsupported(guest, err->message, error);
        else
            g_propagate_error(error, g_steal_pointer(&err));
        return FALSE;
    }
    if (cpulist_count(plan) == 0)
        return TRUE;
    if (!(after = qga_apply(guest, *topo, plan, online, error)))
        return FALSE;
    topology_free(*topo);
    *topo = after;
    return TRUE;
}

static Topology *
qga_set_num_cpus(Guest *guest, guint count, guint wait_s, GError **error)
{
    g_autoptr(Topology) topo
        = read_when_present(guest, count, deadline_after_ms((guint64)wait_s * 1000), error);

    return topo && set_from(guest, &topo, count, error) ? g_steal_pointer(&topo) : NULL;
}

static Topology *
qga_restore_online(Guest *guest, const CpuList *online, GError **error)
{
    g_autoptr(Topology) topo = qga_read(guest, error);
    g_autoptr(CpuList) up = cpulist_new(), down = NULL;

    if (!topo)
        return NULL;
    for (gint id = cpulist_next(online, -1); id >= 0; id = cpulist_next(online, id))
        if (!cpulist_contains(topo->online, (guint)id))
            cpulist_add(up, (guint)id);
    down = not_yet(topo->online, FALSE, topo);
    for (gint id = cpulist_next(online, -1); id >= 0; id = cpulist_next(online, id))
        cpulist_remove(down, (guint)id);
    /* online first: the guest never has fewer CPUs than either set */
    for (guint pass = 0; pass < 2; pass++) {
        const CpuList *cpus = pass == 0 ? up : down;
        Topology *after;

        if (cpulist_count(cpus) == 0)
            continue;
        if (!(after = qga_apply(guest, topo, cpus, pass == 0, error)))
            return NULL;
        topology_free(topo);
        topo = after;
    }
    return g_steal_pointer(&topo);
}

/* One turn of qga_wait_count: read, and online/offline toward @count as far
 * as the present CPUs allow.  A hot add still landing (fewer present than
 * @count, and more than at the turn before, @prev) is waited for: one
 * guest-set-vcpus for all the new CPUs, not one per CPU as they appear.
 * Returns the state seen (NULL: no answer, with @error); sets *refused when
 * qemu-ga cannot change CPUs at all. */
static Topology *
wait_turn(Guest *guest, guint count, const Topology *prev, gboolean *refused, GError **error)
{
    g_autoptr(Topology) topo = qga_read(guest, error);
    g_autoptr(GError) err = NULL;
    guint present, target;

    if (!topo || guest_topology_has(topo, count))
        return g_steal_pointer(&topo);
    present = cpulist_count(topo->present);
    if (present < count && (!prev || cpulist_count(prev->present) != present))
        return g_steal_pointer(&topo);
    /* an unplug: offline the CPUs about to go (the guest kernel would on
     * the eject); a hot add that stopped short: online what is there */
    target = MIN(count, present);
    if (target == 0 || cpulist_count(topo->online) == target)
        return g_steal_pointer(&topo);
    if (set_from(guest, &topo, target, &err))
        return g_steal_pointer(&topo);
    *refused = g_error_matches(err, GUEST_ERROR, GUEST_ERROR_UNSUPPORTED);
    g_propagate_error(error, g_steal_pointer(&err));
    return g_steal_pointer(&topo);
}

static GuestWaitResult
qga_wait_count(Guest *guest, guint count, gint64 deadline_us, Topology **last, GError **error)
{
    g_autoptr(Topology) seen = NULL;
    g_autoptr(GError) err = NULL;
    gint64 give_up = deadline_after_ms(GUEST_NO_ANSWER_GRACE_MS);
    guint sleep_ms = QGA_POLL_FIRST_MS;
    gboolean refused = FALSE;

    for (;;) {
        Topology *topo;

        g_clear_error(&err);
        if ((topo = wait_turn(guest, count, seen, &refused, &err))) {
            /* qemu-ga has no events: poll, quickly again while things move */
            sleep_ms
                = seen && topology_same_sets(seen, topo) ? poll_next(sleep_ms) : QGA_POLL_FIRST_MS;
            g_clear_pointer(&seen, topology_free);
            seen = topo;
        }
        if (refused || (seen && guest_topology_has(seen, count))
            || deadline_ms_left(deadline_us) == 0 || (!seen && deadline_ms_left(give_up) == 0))
            break;
        poll_sleep(sleep_ms, deadline_us);
        if (!topo)
            sleep_ms = poll_next(sleep_ms);
    }
    return guest_wait_finish(g_steal_pointer(&seen), count, refused, g_steal_pointer(&err), last,
                             error);
}

static gint
qga_wait_present(Guest *guest, guint count, gint from, gint64 deadline_us)
{
    guint sleep_ms = QGA_POLL_FIRST_MS;

    for (;;) {
        g_autoptr(Topology) topo = qga_read(guest, NULL);
        gint present = topo ? (gint)cpulist_count(topo->present) : -1;

        if (!topo || guest_moved_toward(present, count, from) || deadline_ms_left(deadline_us) == 0)
            return present;
        poll_sleep(sleep_ms, deadline_us);
        sleep_ms = poll_next(sleep_ms);
    }
}

const GuestOps guest_qga_ops = {
    .ping = qga_ping,
    .get_topology = qga_get_topology,
    .set_num_cpus = qga_set_num_cpus,
    .restore_online = qga_restore_online,
    .wait_count = qga_wait_count,
    .wait_present = qga_wait_present,
};
