/* agent_client.c: blocking host-side client of the agent channel.
 *
 * Plain POSIX sockets and poll(): the callers (hotcpu-ctl, hooks) are short
 * synchronous programs, and a GMainContext would add nothing but weight. */
#include "agent_client.h"
#include "glib_compat.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cancel.h"
#include "deadline.h"
#include "reply_limits.h"
#include "safe_text.h"
#include "unix_addr.h"

/* clang-format off */
G_DEFINE_QUARK(agent-client-error-quark, agent_client_error)
/* clang-format on */

/* How often one call is sent again to an agent that restarted meanwhile,
 * or that said nothing for AGENT_CLIENT_SILENCE_MS. */
#define AGENT_CLIENT_MAX_RESENDS 3
/* An agent answers within milliseconds, or within the time its sysfs
 * writes take (0.1-0.4 s a CPU under TCG).  A request met by this much
 * silence may have been lost on the way (the port's data and its
 * open/close travel on different virtqueues; see commit 74127a8): it is
 * sent again, same id, so that either answer will do. */
#define AGENT_CLIENT_SILENCE_MS 3000

/* Events nobody waits for must not pile up without bound: in number, and
 * in what they weigh parsed (a 64 KiB line of "{}," parses to some 6 MB;
 * the weight's bound, limits.queued_bytes, grows with the domain).
 * What one call (or one wait for an event) may read from the guest is
 * bounded too (limits.call_bytes): an honest agent sends a reply and a few
 * events; a guest streaming more is not answering, and parsing it costs
 * root's CPU. */
#define MAX_QUEUED_EVENTS 256

struct AgentClient {
    int fd;
    GDestroyNotify close_fn;
    gpointer close_data;
    ProtoLineReader *reader;
    GQueue events;      /* ProtoMessage *, kind EVENT, oldest first */
    gsize queued_bytes; /* their weight, as message_weight() counts */
    gsize call_bytes;   /* read since the current call or wait began */
    char *dropped;      /* why the connection was dropped, NULL while open */
    ReplyLimits limits; /* by the domain's size: agent_client_set_max_vcpus */
};

/* Request ids, unique in the process and not per connection: a reply to a
 * request an earlier connection left behind can reach a later one (the
 * port has one stream of bytes for every host that comes), and with
 * per-connection counters it matched the later one's first request. */
static gint next_request_id;

/* Waits for @events on the socket, or a signal (cancel.h).  FALSE with
 * TIMEOUT, CANCELLED or IO set. */
static gboolean
wait_fd(int fd, short events, gint64 deadline, const char *what, GError **error)
{
    for (;;) {
        struct pollfd pfd[2]
            = { { .fd = fd, .events = events }, { .fd = cancel_fd(), .events = POLLIN } };
        int n = poll(pfd, cancel_fd() >= 0 ? 2 : 1, (int)deadline_ms_left(deadline));

        if (cancel_requested()) {
            g_set_error(error, AGENT_CLIENT_ERROR, AGENT_CLIENT_ERROR_CANCELLED,
                        "interrupted (signal %d) while waiting for the guest agent to %s",
                        cancel_signal(), what);
            return FALSE;
        }
        if (n > 0)
            return TRUE;
        if (n == 0) {
            g_set_error(error, AGENT_CLIENT_ERROR, AGENT_CLIENT_ERROR_TIMEOUT,
                        "timed out waiting for the guest agent to %s", what);
            return FALSE;
        }
        if (errno != EINTR) {
            g_set_error(error, AGENT_CLIENT_ERROR, AGENT_CLIENT_ERROR_IO,
                        "poll on the agent socket failed: %s", g_strerror(errno));
            return FALSE;
        }
    }
}

static gboolean
write_all(AgentClient *client, const char *data, gsize len, gint64 deadline, GError **error)
{
    while (len > 0) {
        ssize_t n = send(client->fd, data, len, MSG_NOSIGNAL);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                if (!wait_fd(client->fd, POLLOUT, deadline, "accept data", error))
                    return FALSE;
                continue;
            }
            g_set_error(error, AGENT_CLIENT_ERROR, AGENT_CLIENT_ERROR_IO,
                        "cannot write to the agent socket: %s", g_strerror(errno));
            return FALSE;
        }
        data += n;
        len -= (gsize)n;
    }
    return TRUE;
}

AgentClient *
agent_client_new_fd(int fd, guint timeout_ms, GError **error)
{
    gint64 deadline = deadline_after_ms(timeout_ms);
    g_autoptr(AgentClient) client = g_new0(AgentClient, 1);
    const char resync = (char)PROTO_RESYNC_BYTE;

    client->fd = fd;
    reply_limits_for(0, &client->limits);
    client->reader = proto_line_reader_new(client->limits.line_bytes);
    g_queue_init(&client->events);
    /* Makes the agent drop whatever half line an earlier client left. */
    if (!write_all(client, &resync, 1, deadline, error))
        return NULL;
    return g_steal_pointer(&client);
}

void
agent_client_set_close_func(AgentClient *client, GDestroyNotify close_fn, gpointer data)
{
    client->close_fn = close_fn;
    client->close_data = data;
}

void
agent_client_set_max_vcpus(AgentClient *client, guint max_vcpus)
{
    reply_limits_for(max_vcpus, &client->limits);
    proto_line_reader_free(client->reader);
    client->reader = proto_line_reader_new(client->limits.line_bytes);
}

/* "for a domain of N vCPUs", for the sentences of a bound. */
static char *
domain_size(const AgentClient *client)
{
    if (client->limits.max_cpus == 0)
        return g_strdup("for a domain of unknown size");
    return g_strdup_printf("for a domain of %u vCPUs", client->limits.max_cpus);
}

/* connect() on a non-blocking unix socket, retrying a full backlog until
 * @deadline.  FALSE with @error. */
static gboolean
connect_unix(int fd, const char *socket_path, gint64 deadline, GError **error)
{
    struct sockaddr_un addr;
    g_autoptr(GError) local = NULL;

    if (!unix_addr_fill(&addr, socket_path, &local)) {
        g_set_error(error, AGENT_CLIENT_ERROR, AGENT_CLIENT_ERROR_CONNECT,
                    "cannot connect to the agent: %s", local->message);
        return FALSE;
    }
    for (;;) {
        if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0)
            return TRUE;
        if (errno == EINTR)
            continue;
        /* A unix socket's full backlog gives EAGAIN and no progress: the
         * listener is busy (QEMU serves one client), so retry until the
         * deadline instead of failing at once. */
        if (errno == EAGAIN && deadline_ms_left(deadline) > 0 && cancel_sleep_ms(10))
            continue;
        g_set_error(error, AGENT_CLIENT_ERROR,
                    errno == EAGAIN ? AGENT_CLIENT_ERROR_TIMEOUT : AGENT_CLIENT_ERROR_CONNECT,
                    "cannot connect to the agent socket %s: %s", socket_path, g_strerror(errno));
        return FALSE;
    }
}

AgentClient *
agent_client_connect(const char *socket_path, guint timeout_ms, GError **error)
{
    gint64 deadline = deadline_after_ms(timeout_ms);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

    if (fd < 0) {
        g_set_error(error, AGENT_CLIENT_ERROR, AGENT_CLIENT_ERROR_CONNECT,
                    "cannot create a socket: %s", g_strerror(errno));
        return NULL;
    }
    if (!connect_unix(fd, socket_path, deadline, error)) {
        close(fd);
        return NULL;
    }
    return agent_client_new_fd(fd, deadline_ms_left(deadline), error);
}

void
agent_client_free(AgentClient *client)
{
    if (client == NULL)
        return;
    if (client->close_fn)
        client->close_fn(client->close_data);
    if (client->fd >= 0)
        close(client->fd);
    proto_line_reader_free(client->reader);
    g_queue_clear_full(&client->events, (GDestroyNotify)proto_message_free);
    g_free(client->dropped);
    g_free(client);
}

/* Ends the connection for good: the guest went over a limit.  @why is
 * the sentence every later call fails with. */
static void
drop_connection(AgentClient *client, char *why, GError **error)
{
    g_free(client->dropped);
    client->dropped = why;
    shutdown(client->fd, SHUT_RDWR);
    g_queue_clear_full(&client->events, (GDestroyNotify)proto_message_free);
    g_queue_init(&client->events);
    client->queued_bytes = 0;
    g_set_error_literal(error, AGENT_CLIENT_ERROR, AGENT_CLIENT_ERROR_PROTOCOL, why);
}

/* One whole line as a message within the domain's bounds; NULL with
 * @error (too big, or invalid: the parser's words escaped, they may quote
 * the guest). */
static ProtoMessage *
parse_line(AgentClient *client, const char *line, gsize len, GError **error)
{
    g_autoptr(GError) local = NULL;
    ProtoMessageLimits limits
        = { .max_line = client->limits.line_bytes, .max_parsed = client->limits.parsed_bytes };
    ProtoMessage *msg = proto_parse_message_within(line, len, &limits, &local);

    if (msg == NULL && g_error_matches(local, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE)) {
        g_autofree char *size = domain_size(client);

        g_set_error(error, AGENT_CLIENT_ERROR, AGENT_CLIENT_ERROR_TOO_BIG,
                    "the guest agent's reply is too big: %s, %s", local->message, size);
        return NULL;
    }
    if (msg == NULL) {
        g_autofree char *why = safe_text(local->message, -1, SAFE_TEXT_GUEST_MAX);

        g_set_error(error, AGENT_CLIENT_ERROR, AGENT_CLIENT_ERROR_PROTOCOL,
                    "the guest agent sent an invalid message: %s", why);
    }
    return msg;
}

/* Reads what the socket has into the line reader, waiting until
 * @deadline; FALSE with @error on a timeout, an error, the peer closing or
 * the call's byte budget spent (the connection dropped). */
static gboolean
read_more(AgentClient *client, gint64 deadline, const char *what, GError **error)
{
    char buf[4096];
    ssize_t n;

    if (g_get_monotonic_time() >= deadline) {
        g_set_error(error, AGENT_CLIENT_ERROR, AGENT_CLIENT_ERROR_TIMEOUT,
                    "timed out waiting for the guest agent to %s", what);
        return FALSE;
    }
    if (!wait_fd(client->fd, POLLIN, deadline, what, error))
        return FALSE;
    n = recv(client->fd, buf, sizeof(buf), 0);
    if (n < 0) {
        if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
            return TRUE;
        g_set_error(error, AGENT_CLIENT_ERROR, AGENT_CLIENT_ERROR_IO,
                    "cannot read from the agent socket: %s", g_strerror(errno));
        return FALSE;
    }
    if (n == 0) {
        g_set_error_literal(error, AGENT_CLIENT_ERROR, AGENT_CLIENT_ERROR_IO,
                            "the agent socket was closed by its peer");
        return FALSE;
    }
    client->call_bytes += (gsize)n;
    if (client->call_bytes > client->limits.call_bytes) {
        drop_connection(client,
                        g_strdup_printf("the guest agent sent more than %.1f MiB without "
                                        "finishing to %s; the connection was dropped",
                                        client->limits.call_bytes / (1024.0 * 1024), what),
                        error);
        return FALSE;
    }
    proto_line_reader_feed(client->reader, buf, (gsize)n);
    return TRUE;
}

/* The next message from the agent, waiting until @deadline.  The deadline
 * and a signal are checked on every turn that would read more: a guest
 * that always has data waiting never lets poll() time out. */
static ProtoMessage *
read_message(AgentClient *client, gint64 deadline, const char *what, GError **error)
{
    for (;;) {
        g_autofree char *line = NULL;
        gsize len = 0;

        if (client->dropped) {
            g_set_error_literal(error, AGENT_CLIENT_ERROR, AGENT_CLIENT_ERROR_PROTOCOL,
                                client->dropped);
            return NULL;
        }
        if (cancel_requested()) {
            g_set_error(error, AGENT_CLIENT_ERROR, AGENT_CLIENT_ERROR_CANCELLED,
                        "interrupted (signal %d) while waiting for the guest agent to %s",
                        cancel_signal(), what);
            return NULL;
        }
        switch (proto_line_reader_next(client->reader, &line, &len)) {
        case PROTO_LINE_OK:
            return parse_line(client, line, len, error);
        case PROTO_LINE_TOO_LONG: {
            g_autofree char *size = domain_size(client);

            g_set_error(error, AGENT_CLIENT_ERROR, AGENT_CLIENT_ERROR_TOO_BIG,
                        "the guest agent's reply of more than %" G_GSIZE_FORMAT
                        " bytes exceeds the limit of %" G_GSIZE_FORMAT " bytes %s",
                        client->limits.line_bytes, client->limits.line_bytes, size);
            return NULL;
        }
        case PROTO_LINE_NONE:
            break;
        }
        /* Lines already read are taken first (at most one recv()'s worth):
         * more is read only while the deadline allows. */
        if (!read_more(client, deadline, what, error))
            return NULL;
    }
}

/* Roughly what @node weighs in memory, parsed (json-glib: a node, and for
 * an object its hash table).  The depth is bounded by PROTO_MAX_DEPTH. */
static gsize
node_weight(JsonNode *node)
{
    gsize weight = 64;

    if (node == NULL)
        return 0;
    if (JSON_NODE_HOLDS_OBJECT(node)) {
        JsonObjectIter iter;
        const char *key;
        JsonNode *member;

        weight += 256;
        json_object_iter_init(&iter, json_node_get_object(node));
        while (json_object_iter_next(&iter, &key, &member))
            weight += 64 + strlen(key) + node_weight(member);
    } else if (JSON_NODE_HOLDS_ARRAY(node)) {
        JsonArray *array = json_node_get_array(node);

        weight += 64;
        for (guint i = 0; i < json_array_get_length(array); i++)
            weight += 16 + node_weight(json_array_get_element(array, i));
    } else if (JSON_NODE_HOLDS_VALUE(node) && json_node_get_value_type(node) == G_TYPE_STRING) {
        weight += strlen(json_node_get_string(node));
    }
    return weight;
}

static gsize
message_weight(ProtoMessage *msg)
{
    return sizeof(*msg) + strlen(msg->event) + node_weight(msg->value);
}

/* Sets @msg aside; FALSE (the connection dropped) when the events set
 * aside would weigh more than MAX_QUEUED_BYTES. */
static gboolean
queue_event(AgentClient *client, ProtoMessage *msg, GError **error)
{
    gsize weight = message_weight(msg);

    g_queue_push_tail(&client->events, msg);
    client->queued_bytes += weight;
    if (g_queue_get_length(&client->events) > MAX_QUEUED_EVENTS) {
        ProtoMessage *oldest = g_queue_pop_head(&client->events);

        client->queued_bytes -= MIN(client->queued_bytes, message_weight(oldest));
        proto_message_free(oldest);
    }
    if (client->queued_bytes <= client->limits.queued_bytes)
        return TRUE;
    drop_connection(client,
                    g_strdup_printf("the guest agent sent more than %.1f MiB of events nobody "
                                    "asked for; the connection was dropped",
                                    client->limits.queued_bytes / (1024.0 * 1024)),
                    error);
    return FALSE;
}

/* Takes @link's message out of the queue. */
static ProtoMessage *
unqueue(AgentClient *client, GList *link)
{
    ProtoMessage *msg = link->data;

    client->queued_bytes -= MIN(client->queued_bytes, message_weight(msg));
    g_queue_delete_link(&client->events, link);
    return msg;
}

static gboolean
id_matches(JsonNode *id, const char *expected)
{
    return id != NULL && JSON_NODE_HOLDS_VALUE(id) && json_node_get_value_type(id) == G_TYPE_STRING
           && strcmp(json_node_get_string(id), expected) == 0;
}

JsonNode *
agent_client_call(AgentClient *client, const char *execute, JsonObject *arguments, guint timeout_ms,
                  GError **error)
{
    gint64 deadline = deadline_after_ms(timeout_ms);
    g_autofree char *id_text = g_strdup_printf("hotcpu-ctl-%d-%d", (int)getpid(),
                                               g_atomic_int_add(&next_request_id, 1) + 1);
    g_autoptr(JsonNode) id = json_node_init_string(json_node_alloc(), id_text);
    g_autofree char *request = proto_format_request(execute, arguments, id);
    g_autofree char *what = g_strdup_printf("answer '%s'", execute);
    guint resends = 0, silence_resends = 0; /* after agent-started; after a silence */

    /* A request that waits for hot-added CPUs is silent by design, and
     * asked twice the agent would answer the second Busy. */
    gboolean may_resend = arguments == NULL || !json_object_has_member(arguments, "wait")
                          || json_object_get_int_member(arguments, "wait") == 0;

    client->call_bytes = 0;
    if (!write_all(client, request, strlen(request), deadline, error))
        return NULL;

    for (;;) {
        gint64 silence_end = g_get_monotonic_time() + AGENT_CLIENT_SILENCE_MS * 1000;
        gboolean until_silence
            = may_resend && silence_resends < AGENT_CLIENT_MAX_RESENDS && silence_end < deadline;
        g_autoptr(GError) local = NULL;
        g_autoptr(ProtoMessage) msg
            = read_message(client, until_silence ? silence_end : deadline, what, &local);

        if (msg == NULL && until_silence
            && g_error_matches(local, AGENT_CLIENT_ERROR, AGENT_CLIENT_ERROR_TIMEOUT)) {
            silence_resends++;
            if (!write_all(client, request, strlen(request), deadline, error))
                return NULL;
            continue;
        }
        if (msg == NULL) {
            g_propagate_error(error, g_steal_pointer(&local));
            return NULL;
        }
        if (msg->kind == PROTO_MSG_EVENT) {
            /* The agent restarted: our request went to the instance that
             * died.  Every request of the protocol may be asked twice. */
            gboolean restarted = g_strcmp0(msg->event, PROTO_EVENT_AGENT_STARTED) == 0;

            if (!queue_event(client, g_steal_pointer(&msg), error))
                return NULL;
            if (restarted && resends++ < AGENT_CLIENT_MAX_RESENDS
                && !write_all(client, request, strlen(request), deadline, error))
                return NULL;
            continue;
        }
        /* A reply to an earlier request (ours that timed out, or a previous
         * client's): not ours, skip it. */
        if (!id_matches(msg->id, id_text))
            continue;
        if (msg->kind == PROTO_MSG_ERROR) {
            /* The guest wrote the desc: it reaches terminals, logs and JSON. */
            g_autofree char *desc = safe_text(msg->error_desc, -1, SAFE_TEXT_GUEST_MAX);

            g_set_error_literal(error, PROTO_ERROR, msg->error_class, desc);
            return NULL;
        }
        return g_steal_pointer(&msg->value);
    }
}

void
agent_client_drop_events(AgentClient *client, const char *name)
{
    GList *l = client->events.head;

    while (l != NULL) {
        GList *next = l->next;
        ProtoMessage *msg = l->data;

        if (strcmp(msg->event, name) == 0)
            proto_message_free(unqueue(client, l));
        l = next;
    }
}

static JsonNode *
take_event_data(ProtoMessage *msg)
{
    if (msg->value != NULL)
        return g_steal_pointer(&msg->value);
    JsonNode *empty = json_node_new(JSON_NODE_OBJECT);

    json_node_take_object(empty, json_object_new());
    return empty;
}

JsonNode *
agent_client_wait_event(AgentClient *client, const char *name, guint timeout_ms, GError **error)
{
    return agent_client_next_event(client, name, timeout_ms, NULL, error);
}

JsonNode *
agent_client_next_event(AgentClient *client, const char *name, guint timeout_ms, char **name_out,
                        GError **error)
{
    gint64 deadline = deadline_after_ms(timeout_ms);
    g_autofree char *what = g_strdup_printf("send event '%s'", name ? name : "any");

    for (GList *l = client->events.head; l != NULL; l = l->next) {
        ProtoMessage *msg = l->data;

        if (name == NULL || strcmp(msg->event, name) == 0) {
            g_autoptr(ProtoMessage) owned = unqueue(client, l);

            if (name_out)
                *name_out = g_strdup(owned->event);
            return take_event_data(owned);
        }
    }
    client->call_bytes = 0;
    for (;;) {
        g_autoptr(ProtoMessage) msg = read_message(client, deadline, what, error);

        if (msg == NULL)
            return NULL;
        if (msg->kind != PROTO_MSG_EVENT)
            continue; /* a late reply nobody waits for any more */
        if (name == NULL || strcmp(msg->event, name) == 0) {
            if (name_out)
                *name_out = g_strdup(msg->event);
            return take_event_data(msg);
        }
        if (!queue_event(client, g_steal_pointer(&msg), error))
            return NULL;
    }
}
