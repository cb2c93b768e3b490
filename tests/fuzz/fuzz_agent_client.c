/* fuzz_agent_client.c: the host's agent client (libhotcpu/host/agent_client.c)
 * through a whole conversation with a guest that sends arbitrary bytes
 * (issue 18): what hotcpu-ctl and the hooks do with one connection.
 *
 * Input: what the guest sends, all of it, before the host asks anything (a
 * hostile guest need not wait).  The bytes 0x01 to 0x04 stand for the
 * quoted id of the host's 1st to 4th call, so that replies can match.  The
 * host then holds one conversation on a socketpair: ping, get-topology
 * (parsed as a topology), set-num-cpus with a wait, get-load, a wait for a
 * topology-changed, events of any name until the stream ends, and the
 * dropping of older events between them.
 *
 * A finding is a crash, a GLib critical, an error message that is not fit
 * to print (invalid UTF-8 or a control character: every message of the
 * client is promised safe), or a call that overruns its deadline by more
 * than a second.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent_client.h"
#include "fuzz_common.h"
#include "topology.h"

/* Each call's deadline: never reached by an input (the stream ends at its
 * end), only by a client that stops watching the clock. */
#define CALL_TIMEOUT_MS 1000
#define N_CALLS 4

/* Calls this process made so far: the client numbers its request ids
 * across the process (hotcpu-ctl-PID-N), so the input's placeholders can
 * be filled in before the calls are made. */
static guint calls_made;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_quiet_logs();
    return 0;
}

static void
check_printable(const char *text)
{
    if (!g_utf8_validate(text, -1, NULL))
        abort();
    for (const char *p = text; *p; p = g_utf8_next_char(p)) {
        gunichar c = g_utf8_get_char(p);

        if (c < 0x20 || (c >= 0x7F && c <= 0x9F) || c == 0x2028 || c == 0x2029) {
            fprintf(stderr, "an error message holds U+%04X: %s\n", c, text);
            abort();
        }
    }
}

/* Every outcome is either a value or a safe error; and it came in time. */
static void
check_outcome(gint64 start, gboolean ok, GError *error)
{
    if (g_get_monotonic_time() - start > (CALL_TIMEOUT_MS + 1000) * 1000) {
        fprintf(stderr, "a call took %" G_GINT64_FORMAT " ms against its %d ms\n",
                (g_get_monotonic_time() - start) / 1000, CALL_TIMEOUT_MS);
        abort();
    }
    if (!ok && error == NULL)
        abort();
    if (error != NULL)
        check_printable(error->message);
}

/* The guest's bytes with the placeholders filled in. */
static GString *
guest_bytes(const uint8_t *data, size_t size)
{
    GString *out = g_string_sized_new(size + 64);

    for (size_t i = 0; i < size; i++) {
        if (data[i] >= 1 && data[i] <= N_CALLS)
            g_string_append_printf(out, "\"hotcpu-ctl-%d-%u\"", (int)getpid(),
                                   calls_made + data[i]);
        else
            g_string_append_c(out, (char)data[i]);
    }
    return out;
}

static JsonNode *
call(AgentClient *client, const char *execute, JsonObject *args)
{
    g_autoptr(GError) error = NULL;
    gint64 start = g_get_monotonic_time();
    JsonNode *reply = agent_client_call(client, execute, args, CALL_TIMEOUT_MS, &error);

    calls_made++;
    check_outcome(start, reply != NULL, error);
    return reply;
}

static void
wait_event(AgentClient *client, const char *name)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *got = NULL;
    gint64 start = g_get_monotonic_time();
    g_autoptr(JsonNode) data = agent_client_next_event(client, name, CALL_TIMEOUT_MS, &got, &error);

    check_outcome(start, data != NULL, error);
    if (data != NULL && (got == NULL || (name != NULL && strcmp(got, name) != 0)))
        abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fds[2];
    g_autoptr(AgentClient) client = NULL;
    g_autoptr(GString) bytes = NULL;
    g_autoptr(JsonObject) set_args = json_object_new();
    g_autoptr(JsonNode) pong = NULL;
    g_autoptr(JsonNode) topo_node = NULL;
    g_autoptr(JsonNode) set_reply = NULL;
    g_autoptr(JsonNode) load = NULL;
    guint first_call = calls_made;

    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, fds) != 0)
        abort();
    client = agent_client_new_fd(fds[0], CALL_TIMEOUT_MS, NULL);
    if (client == NULL)
        abort();
    /* The whole input fits in the socket's buffer (-max_len=4096, each
     * placeholder some 30 bytes). */
    bytes = guest_bytes(data, size);
    if (write(fds[1], bytes->str, bytes->len) != (ssize_t)bytes->len)
        abort();
    shutdown(fds[1], SHUT_WR);

    pong = call(client, "ping", NULL);
    topo_node = call(client, "get-topology", NULL);
    if (topo_node != NULL) {
        g_autoptr(Topology) topo = topology_from_json(topo_node, NULL);

        /* What the host prints of it: the lists, from the numbers. */
        if (topo != NULL)
            g_free(cpulist_format(topo->online));
    }
    agent_client_drop_events(client, "topology-changed");
    json_object_set_int_member(set_args, "count", 2);
    json_object_set_int_member(set_args, "wait", 1);
    set_reply = call(client, "set-num-cpus", set_args);
    load = call(client, "get-load", NULL);
    if (calls_made != first_call + N_CALLS)
        abort();
    wait_event(client, "topology-changed");
    for (guint i = 0; i < 300; i++) {
        g_autoptr(GError) error = NULL;
        g_autoptr(JsonNode) ev = agent_client_next_event(client, NULL, 0, NULL, &error);

        if (ev == NULL) {
            check_outcome(g_get_monotonic_time(), FALSE, error);
            break;
        }
    }
    g_clear_pointer(&client, agent_client_free);
    close(fds[1]);
    return 0;
}
