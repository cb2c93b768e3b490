/* test_stream.c: floods, half lines, hang-ups, clients that never read. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent_test.h"
#include "fake_sysfs.h"

#define FLOOD 10000

static void
test_flood(void)
{
    char *tree = fake_sysfs_new_simple(4, 2, 8);
    TestAgent *agent = test_agent_start(tree, NULL, NULL);
    RawClient *c = raw_connect(agent);
    g_autoptr(GString) burst = g_string_new(NULL);
    guint ok = 0, in_order = 0, errors = 0;

    /* Written in one go before reading anything; every fifth is bad. */
    for (int i = 0; i < FLOOD; i++) {
        if (i % 5 == 4)
            g_string_append_printf(burst, "{\"execute\": \"nope\", \"id\": %d}\n", i);
        else
            g_string_append_printf(burst, "{\"execute\": \"ping\", \"id\": %d}\n", i);
    }
    raw_send(c, burst->str, burst->len);
    for (int i = 0; i < FLOOD; i++) {
        g_autoptr(JsonNode) r = raw_reply(c, 20000);

        if (r == NULL)
            break;
        if (json_object_get_int_member(json_node_get_object(r), "id") == i)
            in_order++;
        if (reply_error_class(r) == NULL)
            ok++;
        else
            errors++;
    }
    CU_ASSERT_EQUAL(in_order, FLOOD);
    CU_ASSERT_EQUAL(ok, FLOOD / 5 * 4);
    CU_ASSERT_EQUAL(errors, FLOOD / 5);
    {
        g_autoptr(JsonNode) pong = raw_call(c, "{\"execute\": \"ping\"}");
        CU_ASSERT_PTR_NOT_NULL(reply_return(pong));
    }
    raw_free(c);
    CU_ASSERT_EQUAL(test_agent_stop(agent), 0);
    fake_sysfs_destroy(tree);
}

static void
test_hangup_mid_line(void)
{
    char *tree = fake_sysfs_new_simple(4, 2, 8);
    TestAgent *agent = test_agent_start(tree, NULL, NULL);

    for (int round = 0; round < 20; round++) {
        RawClient *gone = raw_connect(agent);

        raw_send_str(gone, "{\"execute\": \"set-num-cpus\", \"argum");
        raw_free(gone);
    }
    {
        RawClient *c = raw_connect(agent);
        g_autoptr(JsonNode) pong = NULL;

        /* The new client's line is not glued to the old half line. */
        raw_send_str(c, "ents\": {\"count\": 4}}\n");
        {
            g_autoptr(JsonNode) r = raw_reply(c, 10000);
            CUNIT_ASSERT_STR(reply_error_class(r), "ParseError");
        }
        pong = raw_call(c, "{\"execute\": \"ping\"}");
        CU_ASSERT_PTR_NOT_NULL(reply_return(pong));
        raw_free(c);
    }
    CU_ASSERT_EQUAL(fake_sysfs_get_online(tree, 2), 0);
    CU_ASSERT_EQUAL(fake_sysfs_get_online(tree, 3), 0);

    /* A client that asks and leaves at once: the agent carries on. */
    {
        RawClient *hit = raw_connect(agent);
        RawClient *c = NULL;
        g_autoptr(JsonNode) pong = NULL;

        raw_send_str(hit, "{\"execute\": \"get-topology\"}\n{\"execute\": \"ping\"}\n");
        raw_free(hit);
        c = raw_connect(agent);
        pong = raw_call(c, "{\"execute\": \"ping\"}");
        CU_ASSERT_PTR_NOT_NULL(reply_return(pong));
        raw_free(c);
    }
    CU_ASSERT_EQUAL(test_agent_stop(agent), 0);
    fake_sysfs_destroy(tree);
}

static void
test_resync_byte(void)
{
    char *tree = fake_sysfs_new_simple(4, 2, 8);
    TestAgent *agent = test_agent_start(tree, NULL, NULL);
    RawClient *c = raw_connect(agent);
    g_autoptr(JsonNode) r = NULL;
    g_autoptr(JsonNode) none = NULL;

    raw_send_str(c, "{\"execute\": \"set-num-cpus\", \"arguments\": {\"co");
    raw_send(c, "\xff", 1);
    raw_send_str(c, "{\"execute\": \"ping\", \"id\": 1}\n");
    r = raw_reply(c, 10000);
    CU_ASSERT_PTR_NOT_NULL(reply_return(r));
    CU_ASSERT_EQUAL(json_object_get_int_member(json_node_get_object(r), "id"), 1);
    /* Exactly one reply: the dropped half line got none. */
    none = raw_reply(c, 300);
    CU_ASSERT_PTR_NULL(none);
    raw_free(c);
    CU_ASSERT_EQUAL(test_agent_stop(agent), 0);
    fake_sysfs_destroy(tree);
}

static glong
vm_rss_kib(GPid pid)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/status", (int)pid);
    g_autofree char *text = NULL;
    const char *p;

    if (!g_file_get_contents(path, &text, NULL, NULL))
        return -1;
    p = strstr(text, "VmRSS:");
    return p != NULL ? strtol(p + 6, NULL, 10) : -1;
}

static void
test_client_that_never_reads(void)
{
    char *tree = fake_sysfs_new_simple(64, 64, 64);
    TestAgent *agent = test_agent_start(tree, NULL, NULL);
    RawClient *stuck = raw_connect(agent);
    RawClient *c = raw_connect(agent);
    g_autoptr(GString) req = g_string_new(NULL);
    gsize sent = 0;
    gint64 deadline = g_get_monotonic_time() + 20 * G_USEC_PER_SEC;
    glong rss;

    /* get-topology of 64 CPUs: ~7 KB a reply.  Keep writing without ever
     * reading until the agent stops taking requests (the kernel's buffer
     * fills once the agent throttles this client). */
    for (int i = 0; i < 100; i++)
        g_string_append(req, "{\"execute\": \"get-topology\"}\n");
    g_assert(fcntl(stuck->fd, F_SETFL, O_NONBLOCK) == 0);
    for (int idle = 0; idle < 20 && g_get_monotonic_time() < deadline;) {
        ssize_t n = send(stuck->fd, req->str, req->len, MSG_NOSIGNAL);

        if (n > 0) {
            sent += (gsize)n;
            idle = 0;
        } else {
            g_assert(errno == EAGAIN);
            idle++;
            g_usleep(50 * 1000);
        }
    }
    CU_ASSERT(g_get_monotonic_time() < deadline); /* it did stop taking them */
    /* Others are still served, and the agent's memory stayed bounded:
     * ~1 MiB of throttled output plus buffers, not the gigabytes of
     * replies those requests would make. */
    {
        g_autoptr(JsonNode) pong = raw_call(c, "{\"execute\": \"ping\"}");
        CU_ASSERT_PTR_NOT_NULL(reply_return(pong));
    }
    rss = vm_rss_kib(agent->pid);
    if (g_getenv("HOTCPU_TEST_AGENT_WRAPPER") == NULL) {
        if (rss > 64 * 1024)
            fprintf(stderr, "\nagent VmRSS %ld KiB after %zu bytes of requests\n", rss, sent);
        CU_ASSERT(rss > 0 && rss < 64 * 1024);
    }
    raw_free(stuck);
    raw_free(c);
    CU_ASSERT_EQUAL(test_agent_stop(agent), 0);
    fake_sysfs_destroy(tree);
}

static void
test_many_clients(void)
{
    char *tree = fake_sysfs_new_simple(4, 2, 8);
    TestAgent *agent = test_agent_start(tree, NULL, NULL);
    RawClient *clients[8];

    for (gsize i = 0; i < G_N_ELEMENTS(clients); i++)
        clients[i] = raw_connect(agent);
    for (gsize i = 0; i < G_N_ELEMENTS(clients); i++) {
        g_autoptr(JsonNode) pong = raw_call(clients[i], "{\"execute\": \"ping\"}");
        CU_ASSERT_PTR_NOT_NULL(reply_return(pong));
    }
    /* A change made through one client is announced to all. */
    {
        g_autoptr(JsonNode) r = raw_call(
            clients[0], "{\"execute\": \"set-num-cpus\", \"arguments\": {\"count\": 3}}");
        CU_ASSERT_PTR_NOT_NULL(reply_return(r));
    }
    for (gsize i = 0; i < G_N_ELEMENTS(clients); i++) {
        g_autoptr(JsonNode) ev = raw_event(clients[i], 3000);

        CU_ASSERT_PTR_NOT_NULL_FATAL(ev);
        CUNIT_ASSERT_STR(
            json_object_get_string_member(
                json_object_get_object_member(json_node_get_object(ev), "data"), "online"),
            "0-2");
        raw_free(clients[i]);
    }
    CU_ASSERT_EQUAL(test_agent_stop(agent), 0);
    fake_sysfs_destroy(tree);
}

/* recv(2) of one byte, or -1 when nothing comes within @timeout_ms. */
static ssize_t
recv_within(int fd, char *byte, int timeout_ms)
{
    struct pollfd pfd = { .fd = fd, .events = POLLIN };

    if (poll(&pfd, 1, timeout_ms) <= 0)
        return -1;
    return recv(fd, byte, 1, 0);
}

/* Issue 12, item 11: sixteen idle clients must not lock out a seventeenth;
 * the one idle the longest makes room. */
static void
test_idle_clients_do_not_lock_out(void)
{
    char *tree = fake_sysfs_new_simple(4, 2, 8);
    TestAgent *agent = test_agent_start(tree, NULL, NULL);
    RawClient *idle[16];
    RawClient *late = NULL;
    g_autoptr(JsonNode) pong = NULL;
    char byte;

    for (gsize i = 0; i < G_N_ELEMENTS(idle); i++) {
        g_autoptr(JsonNode) r = NULL;

        idle[i] = raw_connect(agent);
        r = raw_call(idle[i], "{\"execute\": \"ping\"}");
        CU_ASSERT_PTR_NOT_NULL(reply_return(r));
    }
    late = raw_connect(agent);
    raw_send_str(late, "{\"execute\": \"ping\", \"id\": 17}\n");
    pong = raw_reply(late, 3000);
    CU_ASSERT_PTR_NOT_NULL(reply_return(pong));
    /* The first one, idle the longest, was closed; the second still works. */
    CU_ASSERT_EQUAL(recv_within(idle[0]->fd, &byte, 2000), 0);
    {
        g_autoptr(JsonNode) r = raw_call(idle[1], "{\"execute\": \"ping\"}");
        CU_ASSERT_PTR_NOT_NULL(reply_return(r));
    }
    for (gsize i = 0; i < G_N_ELEMENTS(idle); i++)
        raw_free(idle[i]);
    raw_free(late);
    CU_ASSERT_EQUAL(test_agent_stop(agent), 0);
    fake_sysfs_destroy(tree);
}

/* Issue 12, item 12: a client that half-closes after a waiting
 * set-num-cpus still gets its reply. */
static void
test_half_close_keeps_waiting_reply(void)
{
    char *tree = fake_sysfs_new_simple(2, 2, 4);
    TestAgent *agent = test_agent_start(tree, NULL, NULL);
    RawClient *c = raw_connect(agent);
    FakeCpu cpu2 = { .id = 2, .has_online_file = TRUE, .online = FALSE, .node = 0 };
    g_autoptr(JsonNode) reply = NULL;

    raw_send_str(c, "{\"execute\": \"set-num-cpus\", \"arguments\": {\"count\": 3, "
                    "\"wait\": 10}, \"id\": \"half\"}\n");
    g_assert(shutdown(c->fd, SHUT_WR) == 0);
    g_usleep(200 * 1000);
    fake_sysfs_add_cpu(tree, &cpu2);
    fake_sysfs_set_masks(tree, NULL, "0-2", NULL);
    test_agent_uevent(agent, "add", 2, 5001);
    reply = raw_reply(c, 5000);
    CU_ASSERT_PTR_NOT_NULL(reply_return(reply));
    if (reply != NULL)
        CUNIT_ASSERT_STR(json_object_get_string_member(json_node_get_object(reply), "id"), "half");
    CU_ASSERT_EQUAL(fake_sysfs_get_online(tree, 2), 1);
    raw_free(c);
    CU_ASSERT_EQUAL(test_agent_stop(agent), 0);
    fake_sysfs_destroy(tree);
}

static const CunitTest tests[] = {
    { "16 idle clients do not lock out a 17th", test_idle_clients_do_not_lock_out },
    { "a half-closed client gets its waiting reply", test_half_close_keeps_waiting_reply },
    { "flood of 10000 requests", test_flood },
    { "hang-up mid-line", test_hangup_mid_line },
    { "0xFF drops a half line", test_resync_byte },
    { "client that never reads", test_client_that_never_reads },
    { "several clients, events to all", test_many_clients },
    { NULL, NULL },
};

void
register_stream_suite(void)
{
    cunit_add_suite("stream", tests);
}
