/* test_channel.c: the virtio channel's edge-triggered loop on a socketpair.
 *
 * A socketpair end behaves like the port for what matters here: read()
 * gives EAGAIN while the other end is open and 0 once it is closed, and the
 * end stays "readable" forever after: a level-triggered loop would spin.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "agent.h"
#include "agent_test.h"
#include "fake_sysfs.h"
#include "channel_virtio.h"
#include "protocol.h"

typedef struct {
    Channel *channel;
    guint connected;
    guint disconnected;
    guint too_long;
    guint64 peer;
    GPtrArray *lines;
} Recorder;

static void
on_line(Channel *channel, guint64 peer, const char *line, gsize len, gpointer user_data)
{
    Recorder *rec = user_data;
    g_autofree char *echo = g_strdup_printf("got %s\n", line);

    g_ptr_array_add(rec->lines, g_strndup(line, len));
    channel_send(channel, peer, echo, strlen(echo));
}

static void
on_too_long(Channel *channel, guint64 peer, gpointer user_data)
{
    ((Recorder *)user_data)->too_long++;
}

static void
on_connected(Channel *channel, guint64 peer, gboolean announce, gpointer user_data)
{
    Recorder *rec = user_data;

    CU_ASSERT_TRUE(announce);
    rec->connected++;
    rec->peer = peer;
}

static void
on_disconnected(Channel *channel, guint64 peer, gpointer user_data)
{
    Recorder *rec = user_data;

    CU_ASSERT_EQUAL(peer, rec->peer);
    rec->disconnected++;
}

static const ChannelCallbacks callbacks = {
    .line = on_line,
    .line_too_long = on_too_long,
    .connected = on_connected,
    .disconnected = on_disconnected,
};

static gboolean
on_timeout(gpointer user_data)
{
    *(gboolean *)user_data = TRUE;
    return G_SOURCE_REMOVE;
}

/* Runs the default main context for @ms; returns how many iterations
 * dispatched something (a spinning watch makes that huge). */
static guint
run_for(guint ms)
{
    gboolean done = FALSE;
    guint iterations = 0;

    g_timeout_add(ms, on_timeout, &done);
    while (!done) {
        if (g_main_context_iteration(NULL, TRUE))
            iterations++;
    }
    return iterations;
}

static void
run_until(guint *counter, guint value)
{
    gint64 deadline = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;

    while (*counter < value && g_get_monotonic_time() < deadline) {
        if (!g_main_context_iteration(NULL, FALSE))
            g_usleep(1000);
    }
}

static char *
read_some(int fd)
{
    char buf[256];
    ssize_t n;

    for (int i = 0; i < 5000; i++) {
        g_main_context_iteration(NULL, FALSE);
        n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
        if (n > 0)
            return g_strndup(buf, (gsize)n);
        g_usleep(1000);
    }
    return NULL;
}

static void
test_virtio_lines_and_hangup(void)
{
    Recorder rec = { .lines = g_ptr_array_new_with_free_func(g_free) };
    g_autoptr(GError) error = NULL;
    g_autofree char *reply = NULL;
    g_autofree char *long_line = NULL;
    int sv[2];

    g_assert(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) == 0);
    rec.channel = channel_virtio_new_fd(sv[0], "socketpair", &callbacks, &rec, &error);
    g_assert_no_error(error);

    /* The first wake finds the "host" there (read: EAGAIN). */
    run_until(&rec.connected, 1);
    CU_ASSERT_EQUAL(rec.connected, 1);

    g_assert(write(sv[1], "{\"a\":1}\n", 8) == 8);
    reply = read_some(sv[1]);
    CUNIT_ASSERT_STR(reply, "got {\"a\":1}\n");
    /* What a watch-load timer asks at each tick. */
    CU_ASSERT_TRUE(channel_peer_connected(rec.channel, rec.peer));
    CU_ASSERT_FALSE(channel_peer_connected(rec.channel, rec.peer + 1));

    /* 0xFF drops a half line; a line over the limit is reported once. */
    g_assert(write(sv[1],
                   "half\xff"
                   "whole\n",
                   11)
             == 11);
    g_free(reply);
    reply = read_some(sv[1]);
    CUNIT_ASSERT_STR(reply, "got whole\n");
    long_line = g_malloc(PROTO_MAX_LINE + 10);
    memset(long_line, 'x', PROTO_MAX_LINE + 9);
    long_line[PROTO_MAX_LINE + 9] = '\n';
    for (gsize off = 0; off < PROTO_MAX_LINE + 10;) {
        ssize_t n = write(sv[1], long_line + off, PROTO_MAX_LINE + 10 - off);

        if (n < 0) {
            g_assert(errno == EAGAIN);
            n = 0;
        }
        off += (gsize)n;
        g_main_context_iteration(NULL, FALSE);
    }
    run_until(&rec.too_long, 1);
    CU_ASSERT_EQUAL(rec.too_long, 1);
    CU_ASSERT_EQUAL(rec.lines->len, 2);

    /* Nothing to do: nothing happens. */
    CU_ASSERT(run_for(300) <= 2);

    /* The host goes away: the channel notes it (no "disconnected": the port
     * is one peer for life), then silence although the fd stays readable
     * (read() 0) forever. */
    close(sv[1]);
    for (int i = 0; i < 5000 && channel_peer_count(rec.channel) != 0; i++) {
        g_main_context_iteration(NULL, FALSE);
        g_usleep(1000);
    }
    CU_ASSERT_EQUAL(channel_peer_count(rec.channel), 0);
    CU_ASSERT_FALSE(channel_peer_connected(rec.channel, rec.peer));
    CU_ASSERT_EQUAL(rec.disconnected, 0);
    {
        guint busy = run_for(500);

        if (busy > 2)
            fprintf(stderr, "\n%u main loop iterations in 500 ms with the peer gone\n", busy);
        CU_ASSERT(busy <= 2);
    }
    /* A reply while nobody is there is kept for the next host (it may be
     * there already: see channel_virtio.c); the channel does not fail. */
    channel_send(rec.channel, rec.peer, "kept\n", 5);
    CU_ASSERT(run_for(100) <= 2);
    channel_free(rec.channel);
    g_ptr_array_unref(rec.lines);
}

/* A new host's request can be read while the kernel still reports no host
 * (data and PORT_OPEN travel on different virtqueues): read() gives the
 * data, then 0.  The request must still be run, not dropped as a hang-up. */
static void
test_virtio_request_before_open(void)
{
    Recorder rec = { .lines = g_ptr_array_new_with_free_func(g_free) };
    g_autoptr(GError) error = NULL;
    int sv[2];

    g_assert(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) == 0);
    g_assert(write(sv[1], "\xff{\"execute\":\"ping\"}\n", 21) == 21);
    close(sv[1]);
    rec.channel = channel_virtio_new_fd(sv[0], "socketpair", &callbacks, &rec, &error);
    g_assert_no_error(error);

    for (int i = 0; i < 5000 && rec.lines->len == 0; i++) {
        g_main_context_iteration(NULL, FALSE);
        g_usleep(1000);
    }
    CU_ASSERT_EQUAL(rec.lines->len, 1);
    if (rec.lines->len == 1)
        CUNIT_ASSERT_STR(g_ptr_array_index(rec.lines, 0), "{\"execute\":\"ping\"}");
    CU_ASSERT_EQUAL(rec.disconnected, 0);
    CU_ASSERT(run_for(300) <= 2);

    channel_free(rec.channel);
    g_ptr_array_unref(rec.lines);
}

/* The whole agent on a "port" a host already holds when it starts (it was
 * restarted under a waiting host): it says so first (agent-started, so the
 * host asks again what the dead instance never answered), then tells the
 * state (topology-changed). */
static int port_fd = -1;

static Channel *
open_port(const AgentConfig *config, const ChannelCallbacks *agent_callbacks, gpointer user_data,
          GError **error)
{
    return channel_virtio_new_fd(port_fd, "socketpair", agent_callbacks, user_data, error);
}

static void
test_agent_started_under_a_host(void)
{
    AgentConfig *config = agent_config_new();
    g_autoptr(GError) error = NULL;
    g_autoptr(Agent) agent = NULL;
    g_autofree char *dir = g_dir_make_tmp("hotcpu-started-XXXXXX", NULL);
    g_autofree char *said = NULL;
    char *tree = fake_sysfs_new_simple(2, 2, 4);
    int sv[2];

    g_assert(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) == 0);
    port_fd = sv[0];
    g_free(config->sysfs_root);
    config->sysfs_root = g_strdup(tree);
    config->uevent_socket = g_build_filename(dir, "uevent.sock", NULL);
    agent = agent_new_full(config, open_port, &error);
    g_assert_no_error(error);
    said = read_some(sv[1]);
    CU_ASSERT_PTR_NOT_NULL_FATAL(said);
    CU_ASSERT_TRUE(g_str_has_prefix(said, "{\"event\":\"agent-started\""));
    CUNIT_ASSERT_CONTAINS(said, "\"protocol\":1");
    g_clear_pointer(&agent, agent_free);
    close(sv[1]);
    g_autofree char *sock = g_build_filename(dir, "uevent.sock", NULL);
    g_unlink(sock);
    fake_sysfs_destroy(tree);
    g_rmdir(dir);
}

static const CunitTest tests[] = {
    { "virtio: lines, resync, hang-up without spinning", test_virtio_lines_and_hangup },
    { "virtio: a request read just before the host's open is run",
      test_virtio_request_before_open },
    { "agent-started under a host that holds the port", test_agent_started_under_a_host },
    { NULL, NULL },
};

void
register_channel_suite(void)
{
    cunit_add_suite("channel", tests);
}
