/* test_agent_client.c: the host-side client against a scripted fake agent
 * serving one connection on a unix socket from a thread. */
#include <errno.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "agent_call.h"
#include "reply_limits.h"
#include "unit.h"

typedef struct FakeAgent FakeAgent;
typedef void (*FakeScript)(FakeAgent *agent, int fd);

struct FakeAgent {
    char *dir;
    char *path;
    int listen_fd;
    GThread *thread;
    FakeScript script;
    /* Filled by the thread, read by the test after the join. */
    gboolean got_resync; /* the first byte was 0xFF */
    GPtrArray *requests; /* request lines as received */
};

/* Reads one line (without '\n'); NULL at EOF.  Leading 0xFF bytes are
 * noted and skipped. */
static char *
agent_read_line(FakeAgent *agent, int fd)
{
    GString *line = g_string_new(NULL);
    char c;

    for (;;) {
        ssize_t n = read(fd, &c, 1);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            g_string_free(line, TRUE);
            return NULL;
        }
        if ((guchar)c == 0xFF) {
            if (line->len == 0 && agent->requests->len == 0)
                agent->got_resync = TRUE;
            continue;
        }
        if (c == '\n')
            break;
        g_string_append_c(line, c);
    }
    g_ptr_array_add(agent->requests, g_strdup(line->str));
    return g_string_free(line, FALSE);
}

/* Reads a request and returns its id as JSON text ("\"hotcpu-ctl-...\""). */
static char *
agent_read_request_id(FakeAgent *agent, int fd)
{
    g_autofree char *line = agent_read_line(agent, fd);
    g_autoptr(ProtoRequest) req = NULL;
    g_autoptr(JsonGenerator) gen = json_generator_new();

    if (line == NULL)
        return NULL;
    req = proto_parse_request(line, strlen(line), NULL, NULL);
    if (req == NULL || req->id == NULL)
        return g_strdup("null");
    json_generator_set_root(gen, req->id);
    return json_generator_to_data(gen, NULL);
}

static void
agent_send(int fd, const char *text)
{
    gsize len = strlen(text);

    while (len > 0) {
        ssize_t n = send(fd, text, len, MSG_NOSIGNAL);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        text += n;
        len -= (gsize)n;
    }
}

static void agent_sendf(int fd, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void
agent_sendf(int fd, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *text = NULL;

    va_start(ap, fmt);
    text = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    agent_send(fd, text);
}

/* Holds the connection open until the client closes it. */
static void
agent_drain(FakeAgent *agent, int fd)
{
    char *line;

    while ((line = agent_read_line(agent, fd)) != NULL)
        g_free(line);
}

static gpointer
agent_thread(gpointer data)
{
    FakeAgent *agent = data;
    int fd = accept(agent->listen_fd, NULL, NULL);

    if (fd >= 0) {
        agent->script(agent, fd);
        close(fd);
    }
    return NULL;
}

static FakeAgent *
fake_agent_start(FakeScript script)
{
    FakeAgent *agent = g_new0(FakeAgent, 1);
    struct sockaddr_un addr = { .sun_family = AF_UNIX };

    agent->dir = g_dir_make_tmp("hotcpu-agent-XXXXXX", NULL);
    g_assert(agent->dir != NULL);
    agent->path = g_build_filename(agent->dir, "agent.sock", NULL);
    agent->script = script;
    agent->requests = g_ptr_array_new_with_free_func(g_free);
    g_strlcpy(addr.sun_path, agent->path, sizeof(addr.sun_path));
    agent->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    g_assert(agent->listen_fd >= 0);
    g_assert(bind(agent->listen_fd, (struct sockaddr *)&addr, sizeof(addr)) == 0);
    g_assert(listen(agent->listen_fd, 1) == 0);
    agent->thread = g_thread_new("fake-agent", agent_thread, agent);
    return agent;
}

/* Waits for the script to end: call after the client is freed, so that
 * drains see EOF.  The recorded requests stay readable. */
static void
fake_agent_join(FakeAgent *agent)
{
    if (agent->thread != NULL)
        g_thread_join(agent->thread);
    agent->thread = NULL;
}

static void
fake_agent_free(FakeAgent *agent)
{
    fake_agent_join(agent);
    close(agent->listen_fd);
    g_unlink(agent->path);
    g_rmdir(agent->dir);
    g_ptr_array_unref(agent->requests);
    g_free(agent->path);
    g_free(agent->dir);
    g_free(agent);
}

/* ---- scripts ----------------------------------------------------------- */

static void
script_pong(FakeAgent *agent, int fd)
{
    g_autofree char *id = agent_read_request_id(agent, fd);

    if (id == NULL)
        return;
    agent_sendf(fd, "{\"return\":{\"pong\":true},\"id\":%s}\n", id);
    agent_drain(agent, fd);
}

static void
script_stale_first(FakeAgent *agent, int fd)
{
    g_autofree char *id = agent_read_request_id(agent, fd);

    if (id == NULL)
        return;
    /* Replies meant for someone else, then an error for another id. */
    agent_send(fd, "{\"return\":{\"stale\":1},\"id\":\"hotcpu-ctl-1-99\"}\n");
    agent_send(fd, "{\"return\":{\"stale\":2},\"id\":12}\n");
    agent_send(fd, "{\"error\":{\"class\":\"Busy\",\"desc\":\"old\"},\"id\":\"x\"}\n");
    agent_send(fd, "{\"return\":{\"stale\":3}}\n");
    agent_sendf(fd, "{\"return\":{\"fresh\":1},\"id\":%s}\n", id);
    agent_drain(agent, fd);
}

static void
script_event_then_reply(FakeAgent *agent, int fd)
{
    g_autofree char *id = agent_read_request_id(agent, fd);

    if (id == NULL)
        return;
    agent_send(fd, "{\"event\":\"other\",\"data\":{\"x\":1}}\n");
    agent_send(fd, "{\"event\":\"topology-changed\",\"data\":{\"online\":\"0-2\"}}\n");
    agent_sendf(fd, "{\"return\":{},\"id\":%s}\n", id);
    agent_drain(agent, fd);
}

/* Loses the first request (as an agent did after a quick host reconnect)
 * and answers the second; records what came. */
static void
script_lose_first(FakeAgent *agent, int fd)
{
    g_autofree char *first = agent_read_request_id(agent, fd);
    g_autofree char *second = first ? agent_read_request_id(agent, fd) : NULL;

    if (second == NULL)
        return;
    /* The lines as received are there; keep just the two ids. */
    g_ptr_array_set_size(agent->requests, 0);
    g_ptr_array_add(agent->requests, g_strdup(first));
    g_ptr_array_add(agent->requests, g_strdup(second));
    agent_sendf(fd, "{\"return\":{\"pong\":true},\"id\":%s}\n", second);
    agent_drain(agent, fd);
}

static void
script_error_reply(FakeAgent *agent, int fd)
{
    g_autofree char *id = agent_read_request_id(agent, fd);

    if (id == NULL)
        return;
    agent_sendf(fd,
                "{\"error\":{\"class\":\"InvalidParameter\",\"desc\":\"count 9 exceeds the 4 "
                "present CPUs\"},\"id\":%s}\n",
                id);
    agent_drain(agent, fd);
}

/* What a hostile guest puts into a desc: ANSI escapes, a carriage return and
 * a forged log line, a bell, C1 CSI, a bidi override, a lone surrogate
 * (which the JSON parser turns into invalid UTF-8), and 2000 more bytes. */
#define HOSTILE_TEXT                                                                               \
    "\\u001b[2J\\u001b[31mOWNED\\r\\nerror: forged line\\u0007\\u009b1m\\u202eevil\\ud83d\\ude00x"

static void
script_hostile_error(FakeAgent *agent, int fd)
{
    g_autofree char *id = agent_read_request_id(agent, fd);
    g_autofree char *tail = g_strnfill(2000, 'A');

    if (id == NULL)
        return;
    agent_sendf(fd,
                "{\"error\":{\"class\":\"OperationFailed\",\"desc\":\"" HOSTILE_TEXT "%s\"},"
                "\"id\":%s}\n",
                tail, id);
    agent_drain(agent, fd);
}

static void
script_hostile_key(FakeAgent *agent, int fd)
{
    g_autofree char *id = agent_read_request_id(agent, fd);

    if (id == NULL)
        return;
    agent_sendf(fd, "{\"return\":{},\"id\":%s,\"" HOSTILE_TEXT "\":1}\n", id);
    agent_drain(agent, fd);
}

/* The agent "restarts" after the request: says so, and answers only the
 * request sent again. */
static void
script_restarted(FakeAgent *agent, int fd)
{
    g_autofree char *lost = agent_read_request_id(agent, fd);
    g_autofree char *again = NULL;

    if (lost == NULL)
        return;
    agent_send(fd, "{\"event\":\"agent-started\",\"data\":{\"version\":\"9\",\"protocol\":1}}\n");
    again = agent_read_request_id(agent, fd);
    if (again == NULL || strcmp(again, lost) != 0)
        return;
    agent_sendf(fd, "{\"return\":{\"again\":true},\"id\":%s}\n", again);
    agent_drain(agent, fd);
}

static void
script_silent(FakeAgent *agent, int fd)
{
    agent_drain(agent, fd);
}

static void
script_close_after_request(FakeAgent *agent, int fd)
{
    g_autofree char *line = agent_read_line(agent, fd);
}

static void
script_garbage(FakeAgent *agent, int fd)
{
    g_autofree char *line = agent_read_line(agent, fd);

    agent_send(fd, "this is not json\n");
    agent_drain(agent, fd);
}

static void
script_late_event(FakeAgent *agent, int fd)
{
    /* No request comes; the event arrives in pieces, after a delay. */
    g_usleep(100 * 1000);
    agent_send(fd, "{\"return\":{},\"id\":\"nobody\"}\n{\"event\":\"topology-");
    g_usleep(50 * 1000);
    agent_send(fd, "changed\",\"data\":{\"online\":\"0\"}}\n{\"event\":\"bare\"}\n");
    agent_drain(agent, fd);
}

static void
script_two_calls(FakeAgent *agent, int fd)
{
    for (guint i = 0; i < 2; i++) {
        g_autofree char *id = agent_read_request_id(agent, fd);

        if (id == NULL)
            return;
        agent_sendf(fd, "{\"return\":{\"n\":%u},\"id\":%s}\n", i, id);
    }
    agent_drain(agent, fd);
}

/* ---- issue 18: a guest that never stops talking -------------------------- */

/* How long a flooding script goes on at most: long enough that a client
 * that only times out when poll() does would still be reading. */
#define FLOOD_MAX_US (8 * G_USEC_PER_SEC)

/* Sends @line again and again for FLOOD_MAX_US, or until the client goes,
 * in blocks of 256 KiB, so that data is always waiting: the client never
 * sees poll() time out. */
static void
flood(int fd, const char *line)
{
    gint64 end = g_get_monotonic_time() + FLOOD_MAX_US;
    GString *block = g_string_new(NULL);

    while (block->len < 256 * 1024)
        g_string_append(block, line);
    while (g_get_monotonic_time() < end)
        if (send(fd, block->str, block->len, MSG_NOSIGNAL) < 0 && errno != EINTR)
            break;
    g_string_free(block, TRUE);
}

static void
script_flood_events(FakeAgent *agent, int fd)
{
    g_autofree char *id = agent_read_request_id(agent, fd);

    if (id != NULL)
        flood(fd, "{\"event\":\"noise\",\"data\":{\"n\":1}}\n");
}

static void
script_flood_other_ids(FakeAgent *agent, int fd)
{
    g_autofree char *id = agent_read_request_id(agent, fd);

    if (id != NULL)
        flood(fd, "{\"return\":{},\"id\":\"someone-else\"}\n");
}

/* An event of 20,000 empty objects: 60 KB on the wire, some 6 MB parsed. */
static char *
dense_event(void)
{
    GString *s = g_string_new("{\"event\":\"dense\",\"data\":{\"x\":[{}");

    for (guint i = 1; i < 20000; i++)
        g_string_append(s, ",{}");
    g_string_append(s, "]}}\n");
    return g_string_free(s, FALSE);
}

/* 300 dense events nobody asked for, then the honest reply. */
static void
script_dense_events(FakeAgent *agent, int fd)
{
    g_autofree char *id = agent_read_request_id(agent, fd);
    g_autofree char *ev = dense_event();

    if (id == NULL)
        return;
    for (guint i = 0; i < 300; i++)
        if (send(fd, ev, strlen(ev), MSG_NOSIGNAL) < 0)
            return;
    agent_sendf(fd, "{\"return\":{},\"id\":%s}\n", id);
    agent_drain(agent, fd);
}

/* ---- issue 21: a reply as long as a big guest's ------------------------- */

/* The length of the reply line script_reply_of_len sends, newline excluded. */
static gsize reply_len;

/* Replies with one line of exactly reply_len bytes: a string padded out. */
static void
script_reply_of_len(FakeAgent *agent, int fd)
{
    g_autofree char *id = agent_read_request_id(agent, fd);
    g_autofree char *head = NULL;
    GString *line;
    const char *tail = "\"},\"id\":";

    if (id == NULL)
        return;
    head = g_strdup("{\"return\":{\"s\":\"");
    line = g_string_new(head);
    while (line->len < reply_len - strlen(tail) - strlen(id) - 1)
        g_string_append_c(line, 'x');
    g_string_append_printf(line, "%s%s}\n", tail, id);
    g_assert(line->len == reply_len + 1);
    agent_send(fd, line->str);
    g_string_free(line, TRUE);
    agent_drain(agent, fd);
}

/* Replies with one line of empty objects, reply_len bytes or so: some 340
 * bytes parsed each. */
static void
script_dense_reply(FakeAgent *agent, int fd)
{
    g_autofree char *id = agent_read_request_id(agent, fd);
    GString *line;

    if (id == NULL)
        return;
    line = g_string_new("{\"return\":{\"x\":[{}");
    while (line->len < reply_len - 64)
        g_string_append(line, ",{}");
    g_string_append_printf(line, "]},\"id\":%s}\n", id);
    agent_send(fd, line->str);
    g_string_free(line, TRUE);
    agent_drain(agent, fd);
}

/* get-topology's reply of @len bytes to a client bounded for @max_vcpus
 * (0: left at the default): the reply, or NULL with *@error. */
static JsonNode *
call_with_reply_of(FakeScript script, gsize len, guint max_vcpus, GError **error)
{
    FakeAgent *agent;
    AgentClient *client;
    JsonNode *ret;

    reply_len = len;
    agent = fake_agent_start(script);
    client = agent_client_connect(agent->path, 2000, error);
    g_assert(client != NULL);
    if (max_vcpus)
        agent_client_set_max_vcpus(client, max_vcpus);
    ret = agent_client_call(client, "get-topology", NULL, 10000, error);
    agent_client_free(client);
    fake_agent_free(agent);
    return ret;
}

static void
test_reply_limits_scale(void)
{
    ReplyLimits small, big, beyond;

    reply_limits_for(0, &small);
    CU_ASSERT_EQUAL(small.line_bytes, PROTO_MAX_LINE);
    CU_ASSERT_EQUAL(small.parsed_bytes, 8 * 1024 * 1024);
    CU_ASSERT_EQUAL(small.call_bytes, 8 * 1024 * 1024);
    reply_limits_for(8192, &big);
    CU_ASSERT_EQUAL(big.line_bytes, PROTO_MAX_LINE + 256 * 8192);
    CU_ASSERT_EQUAL(big.parsed_bytes, (8 + 32) * 1024 * 1024);
    CU_ASSERT_EQUAL(big.call_bytes, 8 * big.line_bytes);
    /* the total cap: no domain is bounded beyond CPULIST_MAX_CPUS vCPUs */
    reply_limits_for(1000000, &beyond);
    CU_ASSERT_EQUAL(beyond.max_cpus, 8192);
    CU_ASSERT_EQUAL(beyond.line_bytes, big.line_bytes);
    CU_ASSERT_EQUAL(beyond.queued_bytes, big.queued_bytes);
}

/* The bound of a domain of 8192 vCPUs takes a line of exactly its length
 * and refuses one byte more, saying so; without a domain the bound stays
 * 64 KiB. */
static void
test_line_bound_scales(void)
{
    ReplyLimits big;
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) at = NULL, past = NULL, small = NULL;
    g_autofree char *expected = NULL;

    reply_limits_for(8192, &big);
    at = call_with_reply_of(script_reply_of_len, big.line_bytes, 8192, &error);
    CU_ASSERT_PTR_NOT_NULL(at);
    CU_ASSERT_PTR_NULL(error);
    g_clear_error(&error);

    past = call_with_reply_of(script_reply_of_len, big.line_bytes + 1, 8192, &error);
    CU_ASSERT_PTR_NULL(past);
    CU_ASSERT_TRUE(g_error_matches(error, AGENT_CLIENT_ERROR, AGENT_CLIENT_ERROR_TOO_BIG));
    expected = g_strdup_printf("exceeds the limit of %" G_GSIZE_FORMAT
                               " bytes for a domain of 8192 vCPUs",
                               big.line_bytes);
    if (error)
        CUNIT_ASSERT_CONTAINS(error->message, expected);
    g_clear_error(&error);

    small = call_with_reply_of(script_reply_of_len, PROTO_MAX_LINE + 1, 0, &error);
    CU_ASSERT_PTR_NULL(small);
    CU_ASSERT_TRUE(g_error_matches(error, AGENT_CLIENT_ERROR, AGENT_CLIENT_ERROR_TOO_BIG));
    if (error)
        CUNIT_ASSERT_CONTAINS(error->message, "limit of 65536 bytes for a domain of unknown size");
}

/* A line within the bound of bytes that would parse to more than the
 * bound of memory (2 MiB of "{}," is some 240 MB parsed) is refused
 * before json-glib builds it. */
static void
test_parsed_bound(void)
{
    ReplyLimits big;
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) ret = NULL;

    reply_limits_for(8192, &big);
    ret = call_with_reply_of(script_dense_reply, big.line_bytes, 8192, &error);
    CU_ASSERT_PTR_NULL(ret);
    CU_ASSERT_TRUE(g_error_matches(error, AGENT_CLIENT_ERROR, AGENT_CLIENT_ERROR_TOO_BIG));
    if (error)
        CUNIT_ASSERT_CONTAINS(error->message, "bytes parsed, for a domain of 8192 vCPUs");
}

/* ---- tests ------------------------------------------------------------- */

static void
test_matching_reply(void)
{
    FakeAgent *agent = fake_agent_start(script_pong);
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) ret = NULL;
    g_autoptr(JsonObject) args = json_object_new();
    AgentClient *client = agent_client_connect(agent->path, 2000, &error);

    CU_ASSERT_PTR_NULL(error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(client);
    json_object_set_int_member(args, "count", 2);
    ret = agent_client_call(client, "ping", args, 2000, &error);
    CU_ASSERT_PTR_NULL(error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ret);
    CU_ASSERT_TRUE(JSON_NODE_HOLDS_OBJECT(ret));
    CU_ASSERT_TRUE(json_object_get_boolean_member(json_node_get_object(ret), "pong"));
    CU_ASSERT_EQUAL(json_object_get_size(args), 1); /* not consumed */
    agent_client_free(client);
    fake_agent_join(agent);

    /* What went over the wire: 0xFF first, then one request line with a
     * unique string id. */
    CU_ASSERT_TRUE(agent->got_resync);
    CU_ASSERT_EQUAL_FATAL(agent->requests->len, 1);
    {
        const char *line = g_ptr_array_index(agent->requests, 0);
        g_autoptr(ProtoRequest) req = proto_parse_request(line, strlen(line), NULL, NULL);
        g_autofree char *prefix = g_strdup_printf("hotcpu-ctl-%d-", (int)getpid());

        CU_ASSERT_PTR_NOT_NULL_FATAL(req);
        CUNIT_ASSERT_STR(req->execute, "ping");
        CU_ASSERT_EQUAL(json_object_get_int_member(req->arguments, "count"), 2);
        CU_ASSERT_PTR_NOT_NULL_FATAL(req->id);
        CU_ASSERT_TRUE(g_str_has_prefix(json_node_get_string(req->id), prefix));
    }
    fake_agent_free(agent);
}

static void
test_stale_replies_skipped(void)
{
    FakeAgent *agent = fake_agent_start(script_stale_first);
    g_autoptr(GError) error = NULL;
    g_autoptr(AgentClient) client = agent_client_connect(agent->path, 2000, &error);
    g_autoptr(JsonNode) ret = NULL;

    CU_ASSERT_PTR_NOT_NULL_FATAL(client);
    ret = agent_client_call(client, "get-topology", NULL, 2000, &error);
    CU_ASSERT_PTR_NULL(error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ret);
    CU_ASSERT_EQUAL(json_object_get_int_member(json_node_get_object(ret), "fresh"), 1);
    CU_ASSERT_FALSE(json_object_has_member(json_node_get_object(ret), "stale"));
    g_clear_pointer(&client, agent_client_free);
    fake_agent_free(agent);
}

static void
test_event_queued(void)
{
    FakeAgent *agent = fake_agent_start(script_event_then_reply);
    g_autoptr(GError) error = NULL;
    g_autoptr(AgentClient) client = agent_client_connect(agent->path, 2000, &error);
    g_autoptr(JsonNode) ret = NULL;
    g_autoptr(JsonNode) data = NULL;
    g_autoptr(JsonNode) other = NULL;
    g_autoptr(JsonNode) again = NULL;

    CU_ASSERT_PTR_NOT_NULL_FATAL(client);
    ret = agent_client_call(client, "set-num-cpus", NULL, 2000, &error);
    CU_ASSERT_PTR_NULL(error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ret);

    /* Both events arrived during the call and were set aside; they come
     * back by name, without waiting. */
    data = agent_client_wait_event(client, "topology-changed", 0, &error);
    CU_ASSERT_PTR_NULL(error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(data);
    CUNIT_ASSERT_STR(json_object_get_string_member(json_node_get_object(data), "online"), "0-2");
    other = agent_client_wait_event(client, "other", 0, &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(other);
    CU_ASSERT_EQUAL(json_object_get_int_member(json_node_get_object(other), "x"), 1);

    /* Taken means gone: a second wait times out. */
    again = agent_client_wait_event(client, "topology-changed", 100, &error);
    CU_ASSERT_PTR_NULL(again);
    CU_ASSERT_TRUE(g_error_matches(error, AGENT_CLIENT_ERROR, AGENT_CLIENT_ERROR_TIMEOUT));
    g_clear_pointer(&client, agent_client_free);
    fake_agent_free(agent);
}

/* watch asks for the topology as it connects; a topology-changed that came
 * before the reply is older than it and is dropped, others stay. */
static void
test_drop_older_events(void)
{
    FakeAgent *agent = fake_agent_start(script_event_then_reply);
    g_autoptr(GError) error = NULL;
    g_autoptr(AgentClient) client = agent_client_connect(agent->path, 2000, &error);
    g_autoptr(JsonNode) ret = NULL;
    g_autoptr(JsonNode) other = NULL;
    g_autoptr(JsonNode) stale = NULL;

    CU_ASSERT_PTR_NOT_NULL_FATAL(client);
    ret = agent_client_call(client, "get-topology", NULL, 2000, &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ret);
    agent_client_drop_events(client, "topology-changed");
    stale = agent_client_wait_event(client, "topology-changed", 100, &error);
    CU_ASSERT_PTR_NULL(stale);
    CU_ASSERT_TRUE(g_error_matches(error, AGENT_CLIENT_ERROR, AGENT_CLIENT_ERROR_TIMEOUT));
    g_clear_error(&error);
    other = agent_client_wait_event(client, "other", 0, &error);
    CU_ASSERT_PTR_NOT_NULL(other);
    g_clear_pointer(&client, agent_client_free);
    fake_agent_free(agent);
}

static void
test_late_event(void)
{
    FakeAgent *agent = fake_agent_start(script_late_event);
    g_autoptr(GError) error = NULL;
    g_autoptr(AgentClient) client = agent_client_connect(agent->path, 2000, &error);
    g_autoptr(JsonNode) data = NULL;
    g_autoptr(JsonNode) bare = NULL;

    CU_ASSERT_PTR_NOT_NULL_FATAL(client);
    data = agent_client_wait_event(client, "topology-changed", 3000, &error);
    CU_ASSERT_PTR_NULL(error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(data);
    CUNIT_ASSERT_STR(json_object_get_string_member(json_node_get_object(data), "online"), "0");
    /* An event without data gives an empty object, not NULL. */
    bare = agent_client_wait_event(client, "bare", 3000, &error);
    CU_ASSERT_PTR_NULL(error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(bare);
    CU_ASSERT_TRUE(JSON_NODE_HOLDS_OBJECT(bare));
    g_clear_pointer(&client, agent_client_free);
    fake_agent_free(agent);
}

static void
test_error_reply(void)
{
    FakeAgent *agent = fake_agent_start(script_error_reply);
    g_autoptr(GError) error = NULL;
    g_autoptr(AgentClient) client = agent_client_connect(agent->path, 2000, &error);
    g_autoptr(JsonNode) ret = NULL;

    CU_ASSERT_PTR_NOT_NULL_FATAL(client);
    ret = agent_client_call(client, "set-num-cpus", NULL, 2000, &error);
    CU_ASSERT_PTR_NULL(ret);
    CU_ASSERT_TRUE(g_error_matches(error, PROTO_ERROR, PROTO_ERROR_INVALID_PARAMETER));
    if (error != NULL)
        CUNIT_ASSERT_STR(error->message, "count 9 exceeds the 4 present CPUs");
    g_clear_pointer(&client, agent_client_free);
    fake_agent_free(agent);
}

/* Fit for a terminal, a log line and JSON: valid UTF-8, no C0/DEL/C1 or
 * bidi control, at most @max bytes. */
static void
assert_printable(const char *text, gsize max)
{
    CU_ASSERT_TRUE_FATAL(g_utf8_validate(text, -1, NULL));
    CU_ASSERT_TRUE(strlen(text) <= max);
    for (const char *p = text; *p; p = g_utf8_next_char(p)) {
        gunichar c = g_utf8_get_char(p);

        CU_ASSERT_FALSE(c < 0x20 || (c >= 0x7F && c <= 0x9F) || c == 0x202E);
    }
}

static void
test_hostile_error_desc(void)
{
    FakeAgent *agent = fake_agent_start(script_hostile_error);
    g_autoptr(GError) error = NULL;
    g_autoptr(AgentClient) client = agent_client_connect(agent->path, 2000, &error);
    g_autoptr(JsonNode) ret = NULL;

    CU_ASSERT_PTR_NOT_NULL_FATAL(client);
    ret = agent_client_call(client, "set-num-cpus", NULL, 2000, &error);
    CU_ASSERT_PTR_NULL(ret);
    CU_ASSERT_TRUE_FATAL(g_error_matches(error, PROTO_ERROR, PROTO_ERROR_OPERATION_FAILED));
    assert_printable(error->message, 512);
    CU_ASSERT_TRUE(
        g_str_has_prefix(error->message, "\\x1b[2J\\x1b[31mOWNED\\r\\nerror: forged line"));
    CU_ASSERT_TRUE(g_str_has_suffix(error->message, "AAA..."));
    g_clear_pointer(&client, agent_client_free);
    fake_agent_free(agent);
}

static void
test_hostile_key(void)
{
    FakeAgent *agent = fake_agent_start(script_hostile_key);
    g_autoptr(GError) error = NULL;
    g_autoptr(AgentClient) client = agent_client_connect(agent->path, 2000, &error);
    g_autoptr(JsonNode) ret = NULL;

    CU_ASSERT_PTR_NOT_NULL_FATAL(client);
    ret = agent_client_call(client, "ping", NULL, 2000, &error);
    CU_ASSERT_PTR_NULL(ret);
    CU_ASSERT_TRUE_FATAL(g_error_matches(error, AGENT_CLIENT_ERROR, AGENT_CLIENT_ERROR_PROTOCOL));
    assert_printable(error->message, 1024);
    CUNIT_ASSERT_CONTAINS(error->message, "OWNED");
    g_clear_pointer(&client, agent_client_free);
    fake_agent_free(agent);
}

/* A request the agent lost when it restarted is sent again. */
static void
test_resend_after_restart(void)
{
    FakeAgent *agent = fake_agent_start(script_restarted);
    g_autoptr(GError) error = NULL;
    g_autoptr(AgentClient) client = agent_client_connect(agent->path, 2000, &error);
    g_autoptr(JsonNode) ret = NULL;

    CU_ASSERT_PTR_NOT_NULL_FATAL(client);
    ret = agent_client_call(client, "set-num-cpus", NULL, 3000, &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ret);
    CU_ASSERT_TRUE(json_object_get_boolean_member(json_node_get_object(ret), "again"));
    g_clear_pointer(&client, agent_client_free);
    fake_agent_free(agent);
}

/* A request the agent never answers is sent again (same id: every
 * request of the protocol may be asked twice) after a silence, within the
 * call's time; a request that waits for hot-added CPUs is not (the agent
 * would answer the second Busy). */
static void
test_resend_after_silence(void)
{
    FakeAgent *agent = fake_agent_start(script_lose_first);
    g_autoptr(GError) error = NULL;
    g_autoptr(AgentClient) client = agent_client_connect(agent->path, 2000, &error);
    g_autoptr(JsonNode) ret = NULL;

    CU_ASSERT_PTR_NOT_NULL_FATAL(client);
    ret = agent_client_call(client, "ping", NULL, 10000, &error);
    CU_ASSERT_PTR_NOT_NULL(ret);
    CU_ASSERT_PTR_NULL(error);
    g_clear_pointer(&client, agent_client_free);
    fake_agent_join(agent);
    CU_ASSERT_EQUAL_FATAL(agent->requests->len, 2);
    CUNIT_ASSERT_STR(agent->requests->pdata[0], agent->requests->pdata[1]);
    fake_agent_free(agent);
    {
        g_autoptr(JsonObject) args = json_object_new();

        agent = fake_agent_start(script_lose_first);
        client = agent_client_connect(agent->path, 2000, &error);
        CU_ASSERT_PTR_NOT_NULL_FATAL(client);
        json_object_set_int_member(args, "count", 2);
        json_object_set_int_member(args, "wait", 5);
        g_clear_pointer(&ret, json_node_unref);
        ret = agent_client_call(client, "set-num-cpus", args, 4500, &error);
        CU_ASSERT_PTR_NULL(ret);
        CU_ASSERT_TRUE(g_error_matches(error, AGENT_CLIENT_ERROR, AGENT_CLIENT_ERROR_TIMEOUT));
        g_clear_pointer(&client, agent_client_free);
        fake_agent_free(agent);
    }
}

/* The id a client's request had, from what its fake agent received. */
static JsonNode *
first_request_id(FakeAgent *agent)
{
    const char *line;
    g_autoptr(ProtoRequest) req = NULL;

    if (agent->requests->len == 0)
        return NULL;
    line = g_ptr_array_index(agent->requests, 0);
    req = proto_parse_request(line, strlen(line), NULL, NULL);
    return req && req->id ? json_node_copy(req->id) : NULL;
}

/* Ids are unique in the process, not per connection: a reply to a request
 * an earlier connection left behind (a probe that timed out before the
 * agent ran) reached a later connection of the same process and matched
 * its first request's id (watch took a ping's reply for the topology). */
static void
test_ids_unique_across_clients(void)
{
    FakeAgent *a1 = fake_agent_start(script_pong);
    FakeAgent *a2 = fake_agent_start(script_pong);
    g_autoptr(GError) error = NULL;
    g_autoptr(AgentClient) c1 = agent_client_connect(a1->path, 2000, &error);
    g_autoptr(AgentClient) c2 = agent_client_connect(a2->path, 2000, &error);
    g_autoptr(JsonNode) r1 = NULL;
    g_autoptr(JsonNode) r2 = NULL;
    g_autoptr(JsonNode) id1 = NULL;
    g_autoptr(JsonNode) id2 = NULL;

    CU_ASSERT_PTR_NOT_NULL_FATAL(c1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c2);
    r1 = agent_client_call(c1, "ping", NULL, 2000, &error);
    r2 = agent_client_call(c2, "ping", NULL, 2000, &error);
    CU_ASSERT_PTR_NOT_NULL(r1);
    CU_ASSERT_PTR_NOT_NULL(r2);
    g_clear_pointer(&c1, agent_client_free);
    g_clear_pointer(&c2, agent_client_free);
    fake_agent_join(a1);
    fake_agent_join(a2);
    id1 = first_request_id(a1);
    id2 = first_request_id(a2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(id1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(id2);
    CU_ASSERT_FALSE(json_node_equal(id1, id2));
    fake_agent_free(a1);
    fake_agent_free(a2);
}

static void
test_timeout(void)
{
    FakeAgent *agent = fake_agent_start(script_silent);
    g_autoptr(GError) error = NULL;
    g_autoptr(AgentClient) client = agent_client_connect(agent->path, 2000, &error);
    g_autoptr(JsonNode) ret = NULL;
    gint64 start, elapsed;

    CU_ASSERT_PTR_NOT_NULL_FATAL(client);
    start = g_get_monotonic_time();
    ret = agent_client_call(client, "ping", NULL, 300, &error);
    elapsed = g_get_monotonic_time() - start;
    CU_ASSERT_PTR_NULL(ret);
    CU_ASSERT_TRUE(g_error_matches(error, AGENT_CLIENT_ERROR, AGENT_CLIENT_ERROR_TIMEOUT));
    CU_ASSERT_TRUE(elapsed >= 250 * 1000);
    CU_ASSERT_TRUE(elapsed < 3 * G_USEC_PER_SEC);
    g_clear_pointer(&client, agent_client_free);
    fake_agent_free(agent);
}

static void
test_peer_closes(void)
{
    FakeAgent *agent = fake_agent_start(script_close_after_request);
    g_autoptr(GError) error = NULL;
    g_autoptr(AgentClient) client = agent_client_connect(agent->path, 2000, &error);
    g_autoptr(JsonNode) ret = NULL;
    gint64 start;

    CU_ASSERT_PTR_NOT_NULL_FATAL(client);
    start = g_get_monotonic_time();
    ret = agent_client_call(client, "ping", NULL, 5000, &error);
    CU_ASSERT_PTR_NULL(ret);
    CU_ASSERT_TRUE(g_error_matches(error, AGENT_CLIENT_ERROR, AGENT_CLIENT_ERROR_IO));
    /* Noticed at once, not at the deadline. */
    CU_ASSERT_TRUE(g_get_monotonic_time() - start < 2 * G_USEC_PER_SEC);
    g_clear_pointer(&client, agent_client_free);
    fake_agent_free(agent);
}

static void
test_garbage_from_peer(void)
{
    FakeAgent *agent = fake_agent_start(script_garbage);
    g_autoptr(GError) error = NULL;
    g_autoptr(AgentClient) client = agent_client_connect(agent->path, 2000, &error);
    g_autoptr(JsonNode) ret = NULL;

    CU_ASSERT_PTR_NOT_NULL_FATAL(client);
    ret = agent_client_call(client, "ping", NULL, 2000, &error);
    CU_ASSERT_PTR_NULL(ret);
    CU_ASSERT_TRUE(g_error_matches(error, AGENT_CLIENT_ERROR, AGENT_CLIENT_ERROR_PROTOCOL));
    g_clear_pointer(&client, agent_client_free);
    fake_agent_free(agent);
}

static void
test_two_calls_unique_ids(void)
{
    FakeAgent *agent = fake_agent_start(script_two_calls);
    g_autoptr(GError) error = NULL;
    g_autoptr(AgentClient) client = agent_client_connect(agent->path, 2000, &error);
    g_autoptr(JsonNode) r0 = NULL;
    g_autoptr(JsonNode) r1 = NULL;

    CU_ASSERT_PTR_NOT_NULL_FATAL(client);
    r0 = agent_client_call(client, "ping", NULL, 2000, &error);
    r1 = agent_client_call(client, "info", NULL, 2000, &error);
    CU_ASSERT_PTR_NULL(error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r1);
    CU_ASSERT_EQUAL(json_object_get_int_member(json_node_get_object(r0), "n"), 0);
    CU_ASSERT_EQUAL(json_object_get_int_member(json_node_get_object(r1), "n"), 1);
    g_clear_pointer(&client, agent_client_free);
    fake_agent_join(agent);

    CU_ASSERT_EQUAL_FATAL(agent->requests->len, 2);
    {
        const char *l0 = g_ptr_array_index(agent->requests, 0);
        const char *l1 = g_ptr_array_index(agent->requests, 1);
        g_autoptr(ProtoRequest) q0 = proto_parse_request(l0, strlen(l0), NULL, NULL);
        g_autoptr(ProtoRequest) q1 = proto_parse_request(l1, strlen(l1), NULL, NULL);

        CU_ASSERT_PTR_NOT_NULL_FATAL(q0);
        CU_ASSERT_PTR_NOT_NULL_FATAL(q1);
        CU_ASSERT_PTR_NOT_NULL_FATAL(q0->id);
        CU_ASSERT_PTR_NOT_NULL_FATAL(q1->id);
        CU_ASSERT_FALSE(json_node_equal(q0->id, q1->id));
    }
    fake_agent_free(agent);
}

static void
test_call_once(void)
{
    FakeAgent *agent = fake_agent_start(script_pong);
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) ret = agent_client_call_once(agent->path, "ping", NULL, 2000, &error);

    CU_ASSERT_PTR_NULL(error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ret);
    CU_ASSERT_TRUE(json_object_get_boolean_member(json_node_get_object(ret), "pong"));
    /* call_once disconnected, so the script's drain has ended. */
    fake_agent_free(agent);
}

static void
test_connect_fails(void)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *dir = g_dir_make_tmp("hotcpu-agent-XXXXXX", NULL);
    g_autofree char *missing = g_build_filename(dir, "no.sock", NULL);
    g_autofree char *long_path = g_strnfill(200, 'x');
    AgentClient *client = agent_client_connect(missing, 500, &error);

    CU_ASSERT_PTR_NULL(client);
    CU_ASSERT_TRUE(g_error_matches(error, AGENT_CLIENT_ERROR, AGENT_CLIENT_ERROR_CONNECT));
    CUNIT_ASSERT_CONTAINS(error != NULL ? error->message : NULL, missing);
    g_clear_error(&error);

    client = agent_client_connect(long_path, 500, &error);
    CU_ASSERT_PTR_NULL(client);
    CU_ASSERT_TRUE(g_error_matches(error, AGENT_CLIENT_ERROR, AGENT_CLIENT_ERROR_CONNECT));
    g_clear_error(&error);

    g_autoptr(JsonNode) ret = agent_client_call_once(missing, "ping", NULL, 500, &error);
    CU_ASSERT_PTR_NULL(ret);
    CU_ASSERT_TRUE(g_error_matches(error, AGENT_CLIENT_ERROR, AGENT_CLIENT_ERROR_CONNECT));
    agent_client_free(NULL);
    g_rmdir(dir);
}

/* The deadline holds while data keeps coming: poll() never times out then,
 * so the client must look at the clock on every turn.  Before issue 18 the
 * call read until the script gave up (8 s). */
static void
check_flood_bounded(FakeScript script)
{
    FakeAgent *agent = fake_agent_start(script);
    g_autoptr(GError) error = NULL;
    g_autoptr(AgentClient) client = agent_client_connect(agent->path, 2000, &error);
    g_autoptr(JsonNode) ret = NULL;
    gint64 start, elapsed;

    CU_ASSERT_PTR_NOT_NULL_FATAL(client);
    start = g_get_monotonic_time();
    ret = agent_client_call(client, "get-topology", NULL, 1000, &error);
    elapsed = g_get_monotonic_time() - start;
    CU_ASSERT_PTR_NULL(ret);
    CU_ASSERT_PTR_NOT_NULL_FATAL(error);
    CU_ASSERT_TRUE(g_error_matches(error, AGENT_CLIENT_ERROR, AGENT_CLIENT_ERROR_TIMEOUT)
                   || g_error_matches(error, AGENT_CLIENT_ERROR, AGENT_CLIENT_ERROR_PROTOCOL));
    if (elapsed >= 2 * G_USEC_PER_SEC)
        fprintf(stderr, "\nthe call took %.1f s against its 1 s deadline (%s)\n", elapsed / 1e6,
                error->message);
    CU_ASSERT_TRUE(elapsed < 2 * G_USEC_PER_SEC);
    g_clear_pointer(&client, agent_client_free);
    fake_agent_free(agent);
}

static void
test_flood_events_deadline(void)
{
    check_flood_bounded(script_flood_events);
}

static void
test_flood_other_ids_deadline(void)
{
    check_flood_bounded(script_flood_other_ids);
}

/* Events set aside are bounded by their parsed size, not their number:
 * 300 dense events (some 2 GB parsed) end the connection with a sentence
 * instead of reaching the reply behind them. */
static void
test_dense_events_capped(void)
{
    FakeAgent *agent = fake_agent_start(script_dense_events);
    g_autoptr(GError) error = NULL;
    g_autoptr(AgentClient) client = agent_client_connect(agent->path, 2000, &error);
    g_autoptr(JsonNode) ret = NULL;

    CU_ASSERT_PTR_NOT_NULL_FATAL(client);
    ret = agent_client_call(client, "get-topology", NULL, 20000, &error);
    CU_ASSERT_PTR_NULL(ret);
    CU_ASSERT_TRUE(g_error_matches(error, AGENT_CLIENT_ERROR, AGENT_CLIENT_ERROR_PROTOCOL));
    if (error)
        CUNIT_ASSERT_CONTAINS(error->message, "MiB");
    g_clear_pointer(&client, agent_client_free);
    fake_agent_free(agent);
}

void
register_agent_client_suite(void)
{
    static const CunitTest tests[] = {
        { "reply with the matching id", test_matching_reply },
        { "stale replies are skipped", test_stale_replies_skipped },
        { "events during a call are queued", test_event_queued },
        { "older events dropped after a reply", test_drop_older_events },
        { "wait_event reads a later event", test_late_event },
        { "error reply becomes PROTO_ERROR", test_error_reply },
        { "hostile error desc is escaped and capped", test_hostile_error_desc },
        { "hostile key in a bad message is escaped", test_hostile_key },
        { "asked again after agent-started", test_resend_after_restart },
        { "no reply times out", test_timeout },
        { "sent again after a silence", test_resend_after_silence },
        { "peer closes", test_peer_closes },
        { "garbage from the peer", test_garbage_from_peer },
        { "each call has its own id", test_two_calls_unique_ids },
        { "ids unique across clients", test_ids_unique_across_clients },
        { "call_once", test_call_once },
        { "connect to a missing socket", test_connect_fails },
        { "deadline holds under a flood of events", test_flood_events_deadline },
        { "deadline holds under a flood of other ids", test_flood_other_ids_deadline },
        { "queued events capped by parsed size", test_dense_events_capped },
        { "bounds scale with the domain, capped", test_reply_limits_scale },
        { "a line at the bound passes, one byte more is refused", test_line_bound_scales },
        { "a line over the parsed bound is refused unparsed", test_parsed_bound },
        { NULL, NULL },
    };
    cunit_add_suite("agent_client", tests);
}
