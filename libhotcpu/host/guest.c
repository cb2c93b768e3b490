/* guest.c: the guest side of one domain: which agent answers, and the calls
 * dispatched to it (guest_hotcpu.c, guest_qga.c). */
#include "guest_private.h"

#include <string.h>

#include "agent_client.h"
#include "virt_channel.h"

/* clang-format off */
G_DEFINE_QUARK(hotcpu-guest-error-quark, guest_error)
/* clang-format on */

/* The agents in order of preference, with their back ends. */
static const struct {
    GuestAgentKind kind;
    const char *name;
    const char *label;
    const GuestOps *ops;
} agents[] = {
    { GUEST_AGENT_HOTCPU, "hotcpu", "the hotcpu agent", &guest_hotcpu_ops },
    { GUEST_AGENT_QEMU_GA, "qemu-ga", "the qemu-ga", &guest_qga_ops },
};

static const GuestOps *
ops_of(GuestAgentKind kind)
{
    for (guint i = 0; i < G_N_ELEMENTS(agents); i++)
        if (agents[i].kind == kind)
            return agents[i].ops;
    return NULL;
}

const char *
guest_agent_name(GuestAgentKind kind)
{
    if (kind == GUEST_AGENT_AUTO)
        return "auto";
    for (guint i = 0; i < G_N_ELEMENTS(agents); i++)
        if (agents[i].kind == kind)
            return agents[i].name;
    return "none";
}

const char *
guest_agent_label(GuestAgentKind kind)
{
    for (guint i = 0; i < G_N_ELEMENTS(agents); i++)
        if (agents[i].kind == kind)
            return agents[i].label;
    return "no guest agent";
}

gboolean
guest_agent_parse(const char *name, GuestAgentKind *kind)
{
    static const GuestAgentKind all[]
        = { GUEST_AGENT_AUTO, GUEST_AGENT_HOTCPU, GUEST_AGENT_QEMU_GA, GUEST_AGENT_NONE };

    for (guint i = 0; i < G_N_ELEMENTS(all); i++)
        if (g_strcmp0(name, guest_agent_name(all[i])) == 0) {
            *kind = all[i];
            return TRUE;
        }
    return FALSE;
}

Guest *
guest_new(virDomainPtr dom, gboolean has_channel, const char *socket_path, GuestAgentKind choice)
{
    Guest *guest = g_new0(Guest, 1);

    if (dom && virDomainRef(dom) == 0)
        guest->dom = dom;
    guest->has_channel = has_channel;
    guest->socket_path = g_strdup(socket_path);
    guest->choice = choice;
    guest->kind = GUEST_AGENT_NONE;
    guest->os_linux = guest->os_windows = -1;
    guest->channel_state = -1;
    return guest;
}

void
guest_set_timeout(Guest *guest, guint timeout_ms)
{
    guest->set_timeout_ms = timeout_ms;
}

guint
guest_limit_ms(const Guest *guest, guint ms)
{
    return guest->set_timeout_ms > 0 ? MIN(ms, guest->set_timeout_ms) : ms;
}

guint
guest_set_timeout_ms(const Guest *guest)
{
    return guest_limit_ms(guest, GUEST_SET_TIMEOUT_MS);
}

void
guest_set_patient(Guest *guest, gboolean patient)
{
    guest->patient = patient;
}

/* hotcpu-agent, or a CONNECT error naming the agent that answers. */
static gboolean
need_hotcpu(Guest *guest, GError **error)
{
    GuestAgentKind kind = guest_probe(guest, error);

    if (kind == GUEST_AGENT_HOTCPU)
        return TRUE;
    if (kind != GUEST_AGENT_NONE)
        g_set_error(error, AGENT_CLIENT_ERROR, AGENT_CLIENT_ERROR_CONNECT,
                    "%s answers, and it has no events or load: this needs hotcpu-agent in the "
                    "guest",
                    guest_agent_label(kind));
    return FALSE;
}

AgentClient *
guest_connect_hotcpu(Guest *guest, GError **error)
{
    return need_hotcpu(guest, error) ? guest_hotcpu_connect(guest, error) : NULL;
}

JsonNode *
guest_get_load(Guest *guest, GError **error)
{
    return need_hotcpu(guest, error) ? guest_hotcpu_get_load(guest, error) : NULL;
}

void
guest_set_domain(Guest *guest, virDomainPtr dom)
{
    if (guest->dom)
        virDomainFree(guest->dom);
    guest->dom = dom && virDomainRef(dom) == 0 ? dom : NULL;
}

void
guest_free(Guest *guest)
{
    if (!guest)
        return;
    if (guest->dom)
        virDomainFree(guest->dom);
    g_free(guest->socket_path);
    g_free(guest->hotcpu_why);
    g_free(guest->qga_why);
    topology_free(guest->probe_topology);
    g_free(guest);
}

const char *
guest_dom_name(const Guest *guest)
{
    const char *name = guest->dom ? virDomainGetName(guest->dom) : NULL;

    return name ? name : "?";
}

gboolean
guest_topology_has(const Topology *topo, guint count)
{
    return cpulist_count(topo->present) == count && cpulist_count(topo->online) == count;
}

GuestWaitResult
guest_wait_finish(Topology *seen, guint count, gboolean refused, GError *err, Topology **last,
                  GError **error)
{
    GuestWaitResult result = refused                           ? GUEST_WAIT_REFUSED
                             : !seen                           ? GUEST_WAIT_NO_AGENT
                             : guest_topology_has(seen, count) ? GUEST_WAIT_REACHED
                                                               : GUEST_WAIT_TIMEOUT;

    if (result != GUEST_WAIT_REACHED && err)
        g_propagate_error(error, err);
    else if (err)
        g_error_free(err);
    if (last)
        *last = seen;
    else
        topology_free(seen);
    return result;
}

gboolean
guest_moved_toward(gint present, guint count, gint from)
{
    if (present == (gint)count)
        return TRUE;
    if (from < 0)
        return FALSE;
    return from > (gint)count ? present < from : present > from;
}

/* ---- which agent -------------------------------------------------------- */

static char **
why_slot(Guest *guest, GuestAgentKind kind)
{
    return kind == GUEST_AGENT_HOTCPU ? &guest->hotcpu_why : &guest->qga_why;
}

GuestAgentKind
guest_probe(Guest *guest, GError **error)
{
    if (!guest->probed) {
        guest->probed = TRUE;
        for (guint i = 0; i < G_N_ELEMENTS(agents) && guest->kind == GUEST_AGENT_NONE; i++) {
            g_autoptr(GError) err = NULL;
            Topology *topo = NULL;

            if (guest->choice != GUEST_AGENT_AUTO && guest->choice != agents[i].kind)
                continue;
            if (agents[i].ops->ping(guest, &topo, &err)) {
                guest->kind = agents[i].kind;
                /* an implausible one is dropped: whoever needs it asks again */
                guest->probe_topology = guest_checked(guest, topo, NULL);
            } else
                *why_slot(guest, agents[i].kind) = g_strdup(err->message);
        }
        g_debug("guest agent of domain '%s': %s (chosen: %s)", guest_dom_name(guest),
                guest_agent_name(guest->kind), guest_agent_name(guest->choice));
    }
    if (guest->kind == GUEST_AGENT_NONE && guest->choice == GUEST_AGENT_NONE)
        g_set_error_literal(error, AGENT_CLIENT_ERROR, AGENT_CLIENT_ERROR_CONNECT,
                            "no guest agent is used (--guest-agent none)");
    else if (guest->kind == GUEST_AGENT_NONE && guest->hotcpu_why && guest->qga_why)
        g_set_error(error, AGENT_CLIENT_ERROR, AGENT_CLIENT_ERROR_CONNECT, "%s; qemu-ga: %s",
                    guest->hotcpu_why, guest->qga_why);
    else if (guest->kind == GUEST_AGENT_NONE)
        g_set_error_literal(error, AGENT_CLIENT_ERROR, AGENT_CLIENT_ERROR_CONNECT,
                            guest->hotcpu_why ? guest->hotcpu_why
                            : guest->qga_why  ? guest->qga_why
                                              : "no guest agent answered");
    return guest->kind;
}

Topology *
guest_take_probed_topology(Guest *guest)
{
    return g_steal_pointer(&guest->probe_topology);
}

void
guest_set_live_xml(Guest *guest, const char *xml)
{
    VirtChannelState state = virt_channel_state_in_xml(xml, AGENT_CHANNEL_NAME);

    guest->channel_state = state == VIRT_CHANNEL_STATE_UNKNOWN ? -1 : (int)state;
}

GuestAgentKind
guest_kind(const Guest *guest)
{
    return guest->probed ? guest->kind : GUEST_AGENT_NONE;
}

gboolean
guest_reports_linux(Guest *guest)
{
    GuestAgentKind kind = guest_probe(guest, NULL);

    if (kind == GUEST_AGENT_HOTCPU)
        return TRUE; /* hotcpu-agent runs on Linux only */
    if (kind != GUEST_AGENT_QEMU_GA)
        return FALSE;
    guest_qga_os_is_windows(guest); /* asks for the guest info once */
    return guest->os_linux == 1;
}

/* ---- messages ----------------------------------------------------------- */

static char *
no_channel_message(const char *dom_name)
{
    return g_strdup_printf("domain '%s' has no hotcpu agent channel: its XML needs "
                           "<channel type='unix'> with <target type='virtio' "
                           "name='" AGENT_CHANNEL_NAME "'/> (hotcpu-ctl prepare adds it)",
                           dom_name);
}

static char *
hotcpu_message(const Guest *guest, const char *dom_name, const char *why)
{
    if (!guest->has_channel)
        return no_channel_message(dom_name);
    return g_strdup_printf("the hotcpu agent of domain '%s' did not answer (%s): check that "
                           "hotcpu-agent is installed and running in the guest",
                           dom_name, why ? why : "no reply");
}

static char *
qga_message(const char *dom_name, const char *why)
{
    return g_strdup_printf("the qemu-ga of domain '%s' did not answer (%s): check that "
                           "qemu-guest-agent runs in the guest and the domain has the "
                           "org.qemu.guest_agent.0 channel",
                           dom_name, why ? why : "no reply");
}

char *
guest_unreachable_message(const Guest *guest, const char *dom_name, const GError *error)
{
    const char *why = error ? error->message : NULL;
    g_autofree char *hotcpu = NULL;

    /* It answered: what it said is the news (the sentence names the domain). */
    if (g_error_matches(error, GUEST_ERROR, GUEST_ERROR_IMPLAUSIBLE))
        return g_strdup(error->message);
    /* It answered, more than a guest of its size may send: not silence. */
    if (g_error_matches(error, AGENT_CLIENT_ERROR, AGENT_CLIENT_ERROR_TOO_BIG))
        return g_strdup_printf(
            "the hotcpu agent of domain '%s' answered beyond hotcpu's bounds: %s", dom_name,
            error->message);
    if (guest->choice == GUEST_AGENT_NONE)
        return g_strdup_printf("no guest agent is used for domain '%s' (--guest-agent none)",
                               dom_name);
    /* An agent that answered the probe and failed later */
    if (guest_kind(guest) == GUEST_AGENT_QEMU_GA)
        return qga_message(dom_name, why);
    if (guest_kind(guest) == GUEST_AGENT_HOTCPU)
        return hotcpu_message(guest, dom_name, why);
    if (guest->choice == GUEST_AGENT_QEMU_GA)
        return qga_message(dom_name, guest->qga_why ? guest->qga_why : why);
    hotcpu = hotcpu_message(guest, dom_name, guest->hotcpu_why ? guest->hotcpu_why : why);
    if (guest->choice == GUEST_AGENT_HOTCPU || !guest->qga_why)
        return g_steal_pointer(&hotcpu);
    return g_strdup_printf("%s; qemu-ga did not answer either (%s)", hotcpu, guest->qga_why);
}

/* ---- the calls, to the agent that answered ------------------------------ */

/* The back end of the answering agent; NULL with @error when none. */
static const GuestOps *
answering(Guest *guest, GError **error)
{
    return ops_of(guest_probe(guest, error));
}

Topology *
guest_get_topology(Guest *guest, GError **error)
{
    const GuestOps *ops = answering(guest, error);

    return ops ? guest_checked(guest, ops->get_topology(guest, error), error) : NULL;
}

Topology *
guest_set_num_cpus(Guest *guest, guint count, guint wait_s, GError **error)
{
    const GuestOps *ops = answering(guest, error);

    g_autoptr(Topology) topo
        = ops ? guest_checked(guest, ops->set_num_cpus(guest, count, wait_s, error), error) : NULL;

    /* The agent said it did it: its topology must say so too. */
    if (topo && cpulist_count(topo->online) != count) {
        g_set_error(error, GUEST_ERROR, GUEST_ERROR_IMPLAUSIBLE,
                    "the guest's answer was not plausible: its agent reports %u CPUs online in "
                    "domain '%s' after agreeing to %u",
                    cpulist_count(topo->online), guest_dom_name(guest), count);
        return NULL;
    }
    return g_steal_pointer(&topo);
}

Topology *
guest_restore_online(Guest *guest, const CpuList *online, GError **error)
{
    const GuestOps *ops = answering(guest, error);
    g_autoptr(Topology) topo
        = ops ? guest_checked(guest, ops->restore_online(guest, online, error), error) : NULL;

    if (!topo)
        return NULL;
    if (!cpulist_equal(topo->online, online)) {
        g_autofree char *want = cpulist_format(online);
        g_autofree char *got = cpulist_format(topo->online);
        g_set_error(error, AGENT_CLIENT_ERROR, AGENT_CLIENT_ERROR_PROTOCOL,
                    "the guest has CPUs %s online, not %s", got, want);
        return NULL;
    }
    return g_steal_pointer(&topo);
}

GuestWaitResult
guest_wait_count(Guest *guest, guint count, gint64 deadline_us, Topology **last, GError **error)
{
    const GuestOps *ops = ops_of(guest_probe(guest, NULL));
    GuestWaitResult result;
    g_autoptr(Topology) seen = NULL;
    g_autoptr(GError) err = NULL;
    g_autoptr(GError) implausible = NULL;

    /* A hotcpu channel whose agent did not answer the probe may still get
     * one (an agent restarting): hotcpu's wait gives it a grace period. */
    if (!ops && guest->has_channel
        && (guest->choice == GUEST_AGENT_AUTO || guest->choice == GUEST_AGENT_HOTCPU))
        ops = &guest_hotcpu_ops;
    if (!ops) {
        if (last)
            *last = NULL;
        guest_probe(guest, error);
        return GUEST_WAIT_NO_AGENT;
    }
    result = ops->wait_count(guest, count, deadline_us, &seen, &err);
    if (result != GUEST_WAIT_NO_AGENT && guest->kind == GUEST_AGENT_NONE)
        guest->kind = GUEST_AGENT_HOTCPU; /* it answered after all */
    /* Reached or not, what the guest said last is what gets recorded. */
    if (seen && !guest_check_topology(guest, seen, &implausible)) {
        result = GUEST_WAIT_IMPLAUSIBLE;
        g_clear_pointer(&seen, topology_free);
        g_clear_error(&err);
        err = g_steal_pointer(&implausible);
    }
    if (err)
        g_propagate_error(error, g_steal_pointer(&err));
    if (last)
        *last = g_steal_pointer(&seen);
    return result;
}

gint
guest_wait_present(Guest *guest, guint count, gint from, gint64 deadline_us)
{
    const GuestOps *ops = answering(guest, NULL);

    gint present = ops ? ops->wait_present(guest, count, from, deadline_us) : -1;

    /* A count the domain cannot have is no answer. */
    return present > (gint)guest_max_cpus(guest) ? -1 : present;
}
