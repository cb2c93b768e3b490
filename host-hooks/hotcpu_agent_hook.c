/* hotcpu_agent_hook.c: the shipped hook "50_hotcpu_agent".
 *
 * Built twice from this one source:
 *   before_set_num_of_cpus/50_hotcpu_agent (-DHOTCPU_HOOK_BEFORE): on an
 *     unplug, asks the guest agent to bring the guest down to numberOfCpus
 *     online CPUs first, so the guest offlines them before the hypervisor
 *     ejects them.
 *   after_set_num_of_cpus/50_hotcpu_agent (-DHOTCPU_HOOK_AFTER): on a plug,
 *     asks the agent to online the new CPUs, waiting for a hot add still in
 *     flight, and prints the resulting online set.
 *
 * Everything comes from the environment the hook runner sets (numberOfCpus,
 * previousNumberOfCpus, HOTCPU_AGENT_SOCKET, vmName), so it also runs by hand
 * with the same variables.  It never calls libvirt: a hook calling back into
 * libvirtd while the caller holds the domain can deadlock.
 *
 * Exit codes (the runner's: 0 ok, 1 failed):
 *   0  nothing to do in this direction; the agent did what was asked; or no
 *      agent answered (empty socket variable, socket missing, no reply to a
 *      ping within 3 s, or an agent too old to know set-num-cpus).  A guest
 *      without the agent is still changed, as the contract says; we warn.
 *   1  bad environment; or an agent that answered the ping then refused or
 *      failed (InvalidParameter, Busy, OperationFailed, no reply in time).
 *      Before an unplug this aborts the change, which is what we want: the
 *      guest could not or would not give those CPUs up, and ejecting CPUs it
 *      still runs on ends in an unplug timeout or worse.  After a plug it
 *      tells the truth: the guest did not reach the count (nothing to abort).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "agent_client.h"
#include "topology.h"

#if defined(HOTCPU_HOOK_BEFORE) == defined(HOTCPU_HOOK_AFTER)
#error "define exactly one of HOTCPU_HOOK_BEFORE and HOTCPU_HOOK_AFTER"
#endif

#ifdef HOTCPU_HOOK_BEFORE
#define HOOK_NAME "before_set_num_of_cpus/50_hotcpu_agent"
#else
#define HOOK_NAME "after_set_num_of_cpus/50_hotcpu_agent"
#endif

#define CONNECT_TIMEOUT_MS 3000
/* An agent that does not answer a ping this fast is taken as absent: a QEMU
 * chardev accepts the connection even when no agent runs in the guest. */
#define PING_TIMEOUT_MS 3000
/* How long the after-hook lets the agent wait for the hot-added CPUs. */
#define AFTER_WAIT_S 10
/* Offlining a CPU takes the kernel up to a few hundred ms; leave room for
 * dozens, and stay under the runner's default 30 s hook timeout. */
#define SET_TIMEOUT_MS ((AFTER_WAIT_S + 12) * 1000)
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
guest_name(void)
{
    const char *name = g_getenv("vmName");

    return name != NULL && *name != '\0' ? name : "(unnamed)";
}

static void
warn_no_agent(const char *why)
{
    g_printerr("%s: warning: %s; the guest's side of the vCPU change of domain '%s' is not "
               "coordinated with its agent.\n",
               HOOK_NAME, why, guest_name());
}

/* Prints the guest's online set from a set-num-cpus reply.  FALSE when the
 * reply is not a topology or does not show exactly @count CPUs online. */
static gboolean
report_topology(JsonNode *reply, guint count)
{
    JsonNode *node = reply != NULL && JSON_NODE_HOLDS_OBJECT(reply)
                         ? json_object_get_member(json_node_get_object(reply), "topology")
                         : NULL;
    g_autoptr(Topology) topo = node != NULL ? topology_from_json(node, NULL) : NULL;
    g_autofree char *online = NULL;

    if (topo == NULL) {
        g_printerr("%s: the guest agent of domain '%s' answered without a topology.\n", HOOK_NAME,
                   guest_name());
        return FALSE;
    }
    online = cpulist_format(topo->online);
    if (cpulist_count(topo->online) != count) {
        g_printerr("%s: the guest agent of domain '%s' reports %u CPUs online (%s), not %u.\n",
                   HOOK_NAME, guest_name(), cpulist_count(topo->online), online, count);
        return FALSE;
    }
    printf("%s: domain '%s' has %u CPUs online in the guest: %s\n", HOOK_NAME, guest_name(), count,
           online);
    return TRUE;
}

static int
set_guest_cpus(const char *socket_path, guint count, guint wait_s)
{
    g_autoptr(AgentClient) client = NULL;
    g_autoptr(JsonNode) pong = NULL;
    g_autoptr(JsonNode) reply = NULL;
    g_autoptr(JsonObject) args = json_object_new();
    g_autoptr(GError) error = NULL;

    client = agent_client_connect(socket_path, CONNECT_TIMEOUT_MS, &error);
    if (client == NULL) {
        warn_no_agent(error->message);
        return EXIT_OK;
    }
    pong = agent_client_call(client, "ping", NULL, PING_TIMEOUT_MS, &error);
    if (pong == NULL) {
        g_autofree char *why
            = g_strdup_printf("no guest agent answered on %s (%s)", socket_path, error->message);

        warn_no_agent(why);
        return EXIT_OK;
    }

    json_object_set_int_member(args, "count", count);
    if (wait_s > 0)
        json_object_set_int_member(args, "wait", wait_s);
    reply = agent_client_call(client, "set-num-cpus", args, SET_TIMEOUT_MS, &error);
    if (reply == NULL) {
        if (g_error_matches(error, PROTO_ERROR, PROTO_ERROR_COMMAND_NOT_FOUND)) {
            warn_no_agent("the guest agent is too old to know set-num-cpus");
            return EXIT_OK;
        }
        if (error->domain == PROTO_ERROR)
            g_printerr("%s: the guest agent of domain '%s' could not bring the guest to %u "
                       "online CPU%s: %s (%s).\n",
                       HOOK_NAME, guest_name(), count, count == 1 ? "" : "s", error->message,
                       proto_error_class_name((ProtoErrorClass)error->code));
        else
            g_printerr("%s: the guest agent of domain '%s' did not confirm %u online CPU%s: "
                       "%s.\n",
                       HOOK_NAME, guest_name(), count, count == 1 ? "" : "s", error->message);
        return EXIT_FAILED;
    }
    return report_topology(reply, count) ? EXIT_OK : EXIT_FAILED;
}

int
main(int argc, char **argv)
{
    const char *socket_path;
    guint count;
    guint previous;

    if (argc > 1) {
        gboolean help = strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0;

        fprintf(help ? stdout : stderr,
                "Usage: %s\n"
                "A hotcpu hook: takes numberOfCpus, previousNumberOfCpus, HOTCPU_AGENT_SOCKET\n"
                "and vmName from the environment, no arguments.\n",
                argv[0]);
        return help ? EXIT_OK : EXIT_FAILED;
    }

    if (!env_count("numberOfCpus", &count) || !env_count("previousNumberOfCpus", &previous))
        return EXIT_FAILED;

#ifdef HOTCPU_HOOK_BEFORE
    /* A plug needs nothing from the guest beforehand. */
    if (count >= previous)
        return EXIT_OK;
#else
    /* After an unplug the guest already lost the CPUs; hotcpu-ctl itself
     * waits for the agent to report the new count. */
    if (count <= previous)
        return EXIT_OK;
#endif

    socket_path = g_getenv("HOTCPU_AGENT_SOCKET");
    if (socket_path == NULL || *socket_path == '\0') {
        warn_no_agent("the domain has no agent channel (HOTCPU_AGENT_SOCKET is empty)");
        return EXIT_OK;
    }

#ifdef HOTCPU_HOOK_BEFORE
    return set_guest_cpus(socket_path, count, 0);
#else
    return set_guest_cpus(socket_path, count, AFTER_WAIT_S);
#endif
}
