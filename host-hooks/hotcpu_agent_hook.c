/* hotcpu_agent_hook.c: the shipped hook "50_hotcpu_agent".
 *
 * Built twice from this one source, installed in the hooks root and run by
 * the phase's 50_hotcpu_agent front (hook_front.c) when there is work:
 *   hotcpu-agent-hook-before, as before_set_num_of_cpus/50_hotcpu_agent
 *     (-DHOTCPU_HOOK_BEFORE): on an
 *     unplug, asks the guest agent to bring the guest down to numberOfCpus
 *     online CPUs first, so the guest offlines them before the hypervisor
 *     ejects them.
 *   hotcpu-agent-hook-after, as after_set_num_of_cpus/50_hotcpu_agent
 *     (-DHOTCPU_HOOK_AFTER): on a plug,
 *     asks the agent to online the new CPUs, waiting for a hot add still in
 *     flight, and prints the resulting online set.
 *
 * Everything comes from the environment the hook runner sets (numberOfCpus,
 * previousNumberOfCpus, vmId, vmName, LIBVIRT_DEFAULT_URI,
 * HOTCPU_AGENT_SOCKET), so it also runs by hand with the same variables.
 * It reaches the guest the way hotcpu-ctl does (libhotcpu/host/guest.h),
 * choosing the agent the same way: hotcpu-agent when it answers, through
 * libvirt's channel stream on LIBVIRT_DEFAULT_URI for the domain whose UUID
 * is vmId (so a hook works for remote hypervisors too) or, where the driver
 * cannot open channels, through the socket in HOTCPU_AGENT_SOCKET; else
 * qemu-ga through libvirt (virDomainSetGuestVcpus), so a domain without
 * hotcpu-agent gets the same offline-before-unplug and online-after-plug.
 * hotcpu-ctl holds no libvirt job and no agent connection while hooks run,
 * so calling libvirt from here cannot deadlock.
 *
 * Exit codes (the runner's: 0 ok, 1 failed):
 *   0  nothing to do in this direction; the agent did what was asked; or no
 *      agent answered (no channel, no reply to a ping within 3 s, or an
 *      agent too old to know set-num-cpus), or the agent cannot change CPUs
 *      at all (qemu-ga in a Windows guest).  A guest without a usable agent
 *      is still changed, as the contract says; we warn.
 *   1  bad environment; or an agent that answered the ping then refused or
 *      failed (InvalidParameter, Busy past its retries, OperationFailed, no
 *      reply in time).  Before an unplug this aborts the change, which is
 *      what we want: the guest could not or would not give those CPUs up,
 *      and ejecting CPUs it still runs on ends in an unplug timeout or worse.
 *      After a plug it tells the truth: the guest did not reach the count
 *      (nothing to abort).
 */
#include "config.h"

#include <libvirt/virterror.h>
#include <stdio.h>
#include <string.h>

#include "agent_client.h"
#include "guest.h"
#include "virt_events.h"
#include "virt_util.h"

#if defined(HOTCPU_HOOK_BEFORE) == defined(HOTCPU_HOOK_AFTER)
#error "define exactly one of HOTCPU_HOOK_BEFORE and HOTCPU_HOOK_AFTER"
#endif

#ifdef HOTCPU_HOOK_BEFORE
#define HOOK_NAME "before_set_num_of_cpus/50_hotcpu_agent"
#else
#define HOOK_NAME "after_set_num_of_cpus/50_hotcpu_agent"
#endif

/* How long the after-hook lets the agent wait for the hot-added CPUs. */
#define AFTER_WAIT_S 10
/* How long the agent's set-num-cpus may take beyond that wait: with the
 * probe (3 s) and the connect (2 s), the after hook ends within 27 s, inside
 * the runner's default 30 s, so the runner never has to kill it. */
#define HOOK_SET_LIMIT_MS 12000
/* The protocol's limit; the agent checks the guest's real one. */
#define MAX_CPUS CPULIST_MAX_CPUS

enum {
    EXIT_OK = 0,
    EXIT_FAILED = 1,
};

/* Reads a count from the environment: decimal digits only, 1..MAX_CPUS. */
static gboolean
env_count(const char *name, guint *out)
{
    const char *text = g_getenv(name);
    g_autoptr(GError) error = NULL;
    guint64 value;

    if (text == NULL) {
        g_printerr("%s: the environment variable %s is not set; this hook is run by "
                   "hotcpu-ctl, which sets it.\n",
                   HOOK_NAME, name);
        return FALSE;
    }
    if (!g_ascii_string_to_unsigned(text, 10, 1, MAX_CPUS, &value, &error)) {
        g_printerr("%s: %s='%s' is not a CPU count between 1 and %d.\n", HOOK_NAME, name, text,
                   MAX_CPUS);
        return FALSE;
    }
    *out = (guint)value;
    return TRUE;
}

static const char *
env_text(const char *name)
{
    const char *v = g_getenv(name);

    return v != NULL && *v != '\0' ? v : NULL;
}

static const char *
guest_name(void)
{
    const char *name = env_text("vmName");

    return name != NULL ? name : "(unnamed)";
}

static void
warn_no_agent(const char *why)
{
    g_printerr("%s: warning: %s; the guest's side of the vCPU change of domain '%s' is not "
               "coordinated with its agent.\n",
               HOOK_NAME, why, guest_name());
}

/* The domain vmId on LIBVIRT_DEFAULT_URI, or NULL (no such variables, or
 * libvirt cannot be reached: the socket may still do). */
static virDomainPtr
open_domain(virConnectPtr *conn_out)
{
    const char *uri = env_text("LIBVIRT_DEFAULT_URI");
    const char *uuid = env_text("vmId");
    virConnectPtr conn;
    virDomainPtr dom;

    if (uri == NULL || uuid == NULL || virInitialize() < 0)
        return NULL;
    virt_events_start();
    if ((conn = virConnectOpen(uri)) == NULL) {
        g_printerr("%s: warning: cannot connect to %s: %s\n", HOOK_NAME, uri, virt_last_error());
        return NULL;
    }
    if ((dom = virDomainLookupByUUIDString(conn, uuid)) == NULL) {
        g_printerr("%s: warning: no domain with UUID %s on %s: %s\n", HOOK_NAME, uuid, uri,
                   virt_last_error());
        virConnectClose(conn);
        return NULL;
    }
    *conn_out = conn;
    return dom;
}

/* Prints the guest's online set.  FALSE when it is not exactly @count. */
static gboolean
report_topology(const Topology *topo, guint count, GuestAgentKind agent)
{
    g_autofree char *online = cpulist_format(topo->online);

    if (cpulist_count(topo->online) != count) {
        g_printerr("%s: the guest agent of domain '%s' reports %u CPUs online (%s), not %u.\n",
                   HOOK_NAME, guest_name(), cpulist_count(topo->online), online, count);
        return FALSE;
    }
    printf("%s: domain '%s' has %u CPUs online in the guest: %s (%s)\n", HOOK_NAME, guest_name(),
           count, online, guest_agent_name(agent));
    return TRUE;
}

static int
report_failure(guint count, const GError *error)
{
    if (g_error_matches(error, PROTO_ERROR, PROTO_ERROR_COMMAND_NOT_FOUND)) {
        warn_no_agent("the guest agent is too old to know set-num-cpus");
        return EXIT_OK;
    }
    if (g_error_matches(error, GUEST_ERROR, GUEST_ERROR_UNSUPPORTED)) {
        warn_no_agent(error->message);
        return EXIT_OK;
    }
    if (error->domain == PROTO_ERROR)
        g_printerr("%s: the guest agent of domain '%s' could not bring the guest to %u online "
                   "CPU%s: %s (%s).\n",
                   HOOK_NAME, guest_name(), count, count == 1 ? "" : "s", error->message,
                   proto_error_class_name((ProtoErrorClass)error->code));
    else
        g_printerr("%s: the guest agent of domain '%s' did not confirm %u online CPU%s: %s.\n",
                   HOOK_NAME, guest_name(), count, count == 1 ? "" : "s", error->message);
    return EXIT_FAILED;
}

static int
set_guest_cpus(Guest *guest, guint count, guint wait_s)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(Topology) topo = NULL;

    if (guest_probe(guest, &error) == GUEST_AGENT_NONE) {
        g_autofree char *why = g_strdup_printf("no guest agent answered (%s)", error->message);

        warn_no_agent(why);
        return EXIT_OK;
    }
    /* The probe's answer is the guest's state now: when it already has
     * @count present and online (the agent's auto-online was quicker),
     * there is nothing to ask. */
    topo = guest_take_probed_topology(guest);
    if (topo && cpulist_count(topo->present) == count && cpulist_count(topo->online) == count)
        return report_topology(topo, count, guest_kind(guest)) ? EXIT_OK : EXIT_FAILED;
    g_clear_pointer(&topo, topology_free);
    topo = guest_set_num_cpus(guest, count, wait_s, &error);
    if (topo == NULL)
        return report_failure(count, error);
    return report_topology(topo, count, guest_kind(guest)) ? EXIT_OK : EXIT_FAILED;
}

static void
quiet_libvirt(void *opaque, virErrorPtr err)
{
    /* read once with virGetLastErrorMessage where it matters */
}

static gboolean
wants_guest(guint count, guint previous)
{
#ifdef HOTCPU_HOOK_BEFORE
    /* A plug needs nothing from the guest beforehand. */
    return count < previous;
#else
    /* After an unplug the guest already lost the CPUs; hotcpu-ctl itself
     * waits for the agent to report the new count. */
    return count > previous;
#endif
}

int
main(int argc, char **argv)
{
    virConnectPtr conn = NULL;
    g_autoptr(virDomain) dom = NULL;
    g_autoptr(Guest) guest = NULL;
    const char *socket_path = env_text("HOTCPU_AGENT_SOCKET");
    guint count, previous;
    int rc;

    if (argc > 1) {
        gboolean help = strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0;

        fprintf(help ? stdout : stderr,
                "Usage: %s\n"
                "A hotcpu hook: takes numberOfCpus, previousNumberOfCpus, vmId, vmName,\n"
                "LIBVIRT_DEFAULT_URI and HOTCPU_AGENT_SOCKET from the environment, no arguments.\n",
                argv[0]);
        return help ? EXIT_OK : EXIT_FAILED;
    }
    if (!env_count("numberOfCpus", &count) || !env_count("previousNumberOfCpus", &previous))
        return EXIT_FAILED;
    if (!wants_guest(count, previous))
        return EXIT_OK;

    virSetErrorFunc(NULL, quiet_libvirt);
    dom = open_domain(&conn);
    if (dom == NULL && socket_path == NULL) {
        warn_no_agent("the domain has no agent channel this hook can reach (no vmId and "
                      "LIBVIRT_DEFAULT_URI, and HOTCPU_AGENT_SOCKET is empty)");
        return EXIT_OK;
    }
    guest = guest_new(dom, TRUE, socket_path, GUEST_AGENT_AUTO);
    guest_set_timeout(guest, HOOK_SET_LIMIT_MS);
    /* _hook_domxml is the live XML hotcpu-ctl just read: the agent channel's
     * state is in it, no need to ask libvirt again */
    {
        const char *path = env_text("_hook_domxml");
        g_autofree char *xml = NULL;

        if (path && g_file_get_contents(path, &xml, NULL, NULL))
            guest_set_live_xml(guest, xml);
    }
#ifdef HOTCPU_HOOK_BEFORE
    rc = set_guest_cpus(guest, count, 0);
#else
    rc = set_guest_cpus(guest, count, AFTER_WAIT_S);
#endif
    g_clear_pointer(&guest, guest_free);
    g_clear_pointer(&dom, virt_domain_free);
    if (conn != NULL)
        virConnectClose(conn);
    return rc;
}
