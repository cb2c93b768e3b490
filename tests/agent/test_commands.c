/* test_commands.c: the commands against the real agent. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "agent_call.h"
#include "agent_test.h"
#include "config.h"
#include "fake_sysfs.h"
#include "topology.h"

static void
test_ping_info(void)
{
    char *tree = fake_sysfs_new_simple(4, 2, 8);
    TestAgent *agent = test_agent_start(tree, NULL, NULL);
    RawClient *c = raw_connect(agent);
    g_autoptr(JsonNode) pong = raw_call(c, "{\"execute\": \"ping\", \"id\": 42}");
    g_autoptr(JsonNode) pong2 = raw_call(c, "{\"execute\": \"ping\", \"id\": {\"a\": [1, \"x\"]}}");
    g_autoptr(JsonNode) pong3 = raw_call(c, "{\"execute\": \"ping\"}");
    g_autoptr(JsonNode) info = raw_call(c, "{\"execute\": \"info\", \"id\": \"i\"}");
    JsonObject *ret;
    JsonArray *names;

    CU_ASSERT_PTR_NULL(reply_error_class(pong));
    CU_ASSERT_EQUAL(json_object_get_size(reply_return(pong)), 0);
    CU_ASSERT_EQUAL(json_object_get_int_member(json_node_get_object(pong), "id"), 42);
    /* The contract: an id is a string or an integer; no other is echoed. */
    CUNIT_ASSERT_STR(reply_error_class(pong2), "InvalidParameter");
    CU_ASSERT_FALSE(json_object_has_member(json_node_get_object(pong2), "id"));
    CU_ASSERT_FALSE(json_object_has_member(json_node_get_object(pong3), "id"));

    ret = reply_return(info);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ret);
    CUNIT_ASSERT_STR(json_object_get_string_member(ret, "version"), HOTCPU_VERSION);
    CU_ASSERT_EQUAL(json_object_get_int_member(ret, "protocol"), 1);
    names = json_object_get_array_member(ret, "commands");
    CU_ASSERT_EQUAL_FATAL(json_array_get_length(names), 7);
    CUNIT_ASSERT_STR(json_array_get_string_element(names, 0), "ping");
    CUNIT_ASSERT_STR(json_array_get_string_element(names, 1), "info");
    CUNIT_ASSERT_STR(json_array_get_string_element(names, 2), "get-topology");
    CUNIT_ASSERT_STR(json_array_get_string_element(names, 3), "set-num-cpus");
    CUNIT_ASSERT_STR(json_array_get_string_element(names, 4), "get-load");
    CUNIT_ASSERT_STR(json_array_get_string_element(names, 5), "watch-load");
    CUNIT_ASSERT_STR(json_array_get_string_element(names, 6), "set-online-cpus");
    CUNIT_ASSERT_STR(json_object_get_string_member(json_node_get_object(info), "id"), "i");

    raw_free(c);
    CU_ASSERT_EQUAL(test_agent_stop(agent), 0);
    fake_sysfs_destroy(tree);
}

static void
test_get_topology(void)
{
    char *tree = fake_sysfs_new_simple(4, 2, 8);
    TestAgent *agent = test_agent_start(tree, NULL, NULL);
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) node
        = agent_client_call_once(agent->sock, "get-topology", NULL, 10000, &error);
    g_autoptr(Topology) topo = NULL;
    const CpuInfo *cpu0, *cpu3;

    g_assert_no_error(error);
    topo = topology_from_json(node, &error);
    g_assert_no_error(error);
    {
        g_autofree char *online = cpulist_format(topo->online);
        g_autofree char *present = cpulist_format(topo->present);
        g_autofree char *possible = cpulist_format(topo->possible);

        CUNIT_ASSERT_STR(online, "0-1");
        CUNIT_ASSERT_STR(present, "0-3");
        CUNIT_ASSERT_STR(possible, "0-7");
    }
    CU_ASSERT_EQUAL(topo->cpus->len, 4);
    CU_ASSERT_EQUAL(json_object_get_int_member(json_node_get_object(node), "online-count"), 2);
    CU_ASSERT_EQUAL(json_object_get_int_member(json_node_get_object(node), "present-count"), 4);
    cpu0 = topology_find_cpu(topo, 0);
    cpu3 = topology_find_cpu(topo, 3);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cpu0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cpu3);
    CU_ASSERT_TRUE(cpu0->online);
    CU_ASSERT_FALSE(cpu0->can_offline);
    CU_ASSERT_FALSE(cpu3->online);
    CU_ASSERT_TRUE(cpu3->can_offline);
    /* Hidden while offline: null. */
    CU_ASSERT_EQUAL(cpu3->core, -1);

    CU_ASSERT_EQUAL(test_agent_stop(agent), 0);
    fake_sysfs_destroy(tree);
}

static gint64
online_count_of(JsonObject *set_result)
{
    JsonObject *topo = json_object_get_object_member(set_result, "topology");

    return json_object_get_int_member(topo, "online-count");
}

static void
test_set_num_cpus(void)
{
    char *tree = fake_sysfs_new_simple(6, 2, 8);
    TestAgent *agent = test_agent_start(tree, NULL, NULL);
    RawClient *c = raw_connect(agent);
    g_autoptr(JsonNode) up = NULL;
    g_autoptr(JsonNode) down = NULL;
    g_autoptr(JsonNode) same = NULL;
    g_autoptr(JsonNode) event = NULL;

    up = raw_call(c, "{\"execute\": \"set-num-cpus\", \"arguments\": {\"count\": 5}, \"id\": 1}");
    CU_ASSERT_PTR_NULL(reply_error_class(up));
    CU_ASSERT_PTR_NOT_NULL_FATAL(reply_return(up));
    CU_ASSERT_EQUAL(online_count_of(reply_return(up)), 5);
    CU_ASSERT_EQUAL(fake_sysfs_get_online(tree, 0), -1);
    CU_ASSERT_EQUAL(fake_sysfs_get_online(tree, 1), 1);
    CU_ASSERT_EQUAL(fake_sysfs_get_online(tree, 2), 1);
    CU_ASSERT_EQUAL(fake_sysfs_get_online(tree, 3), 1);
    CU_ASSERT_EQUAL(fake_sysfs_get_online(tree, 4), 1);
    CU_ASSERT_EQUAL(fake_sysfs_get_online(tree, 5), 0);

    /* The change is announced to every client. */
    event = raw_event(c, 2000);
    CU_ASSERT_PTR_NOT_NULL_FATAL(event);
    CUNIT_ASSERT_STR(json_object_get_string_member(json_node_get_object(event), "event"),
                     "topology-changed");
    CUNIT_ASSERT_STR(
        json_object_get_string_member(
            json_object_get_object_member(json_node_get_object(event), "data"), "online"),
        "0-4");

    down = raw_call(c,
                    "{\"execute\": \"set-num-cpus\", \"arguments\": {\"count\": 2, \"wait\": 0}}");
    CU_ASSERT_PTR_NOT_NULL_FATAL(reply_return(down));
    CU_ASSERT_EQUAL(online_count_of(reply_return(down)), 2);
    CU_ASSERT_EQUAL(fake_sysfs_get_online(tree, 1), 1);
    for (guint i = 2; i < 6; i++)
        CU_ASSERT_EQUAL(fake_sysfs_get_online(tree, i), 0);

    same = raw_call(c, "{\"execute\": \"set-num-cpus\", \"arguments\": {\"count\": 2}}");
    CU_ASSERT_PTR_NOT_NULL_FATAL(reply_return(same));
    CU_ASSERT_EQUAL(online_count_of(reply_return(same)), 2);

    /* Through libhotcpu's client, as hotcpu-ctl does it. */
    {
        g_autoptr(GError) error = NULL;
        g_autoptr(JsonObject) args = json_object_new();
        g_autoptr(JsonNode) r = NULL;

        json_object_set_int_member(args, "count", 1);
        r = agent_client_call_once(agent->sock, "set-num-cpus", args, 10000, &error);
        g_assert_no_error(error);
        CU_ASSERT_EQUAL(online_count_of(json_node_get_object(r)), 1);
        CU_ASSERT_EQUAL(fake_sysfs_get_online(tree, 1), 0);
    }

    raw_free(c);
    CU_ASSERT_EQUAL(test_agent_stop(agent), 0);
    fake_sysfs_destroy(tree);
}

/* The "online" set of a set-* result; NULL when there is no result. */
static const char *
online_of(JsonObject *set_result)
{
    JsonObject *topo = set_result ? json_object_get_object_member(set_result, "topology") : NULL;

    return topo ? json_object_get_string_member(topo, "online") : NULL;
}

/* The online files of cpu1..cpu5 as "0"/"1" characters (cpu0 has none). */
static char *
tree_states(const char *tree)
{
    GString *out = g_string_new(NULL);

    for (guint cpu = 1; cpu < 6; cpu++)
        g_string_append_c(out, fake_sysfs_get_online(tree, cpu) == 1 ? '1' : '0');
    return g_string_free(out, FALSE);
}

#define ASSERT_STATES(tree, expected)                                                              \
    do {                                                                                           \
        g_autofree char *got_ = tree_states(tree);                                                 \
        CUNIT_ASSERT_STR(got_, (expected));                                                        \
    } while (0)

/* Reads events until one reports @online (TRUE) or none comes for 2 s. */
static gboolean
event_online_seen(RawClient *c, const char *online)
{
    for (;;) {
        g_autoptr(JsonNode) event = raw_event(c, 2000);
        JsonObject *data;

        if (event == NULL)
            return FALSE;
        data = json_object_get_object_member(json_node_get_object(event), "data");
        if (g_strcmp0(json_object_get_string_member(data, "online"), online) == 0)
            return TRUE;
    }
}

static void
test_set_online_cpus(void)
{
    /* 0-5 present, all online but CPU 2 (an admin took it offline). */
    char *tree = fake_sysfs_new_simple(6, 6, 8);
    TestAgent *agent;
    RawClient *c;
    g_autoptr(JsonNode) down = NULL;
    g_autoptr(JsonNode) back = NULL;
    g_autoptr(JsonNode) same = NULL;
    g_autoptr(JsonNode) swap = NULL;

    fake_sysfs_set_online(tree, 2, FALSE);
    agent = test_agent_start(tree, NULL, NULL);
    c = raw_connect(agent);

    /* What an unplug's before hook does: set-num-cpus 2 leaves 0-1. */
    down = raw_call(c, "{\"execute\": \"set-num-cpus\", \"arguments\": {\"count\": 2}}");
    CUNIT_ASSERT_STR(online_of(reply_return(down)), "0-1");
    /* The give-back: exactly the set before, the hole kept. */
    back = raw_call(c, "{\"execute\": \"set-online-cpus\", \"arguments\": {\"cpus\": "
                       "\"0-1,3-5\"}, \"id\": \"back\"}");
    CU_ASSERT_PTR_NOT_NULL_FATAL(reply_return(back));
    CUNIT_ASSERT_STR(json_object_get_string_member(json_node_get_object(back), "id"), "back");
    CUNIT_ASSERT_STR(online_of(reply_return(back)), "0-1,3-5");
    CU_ASSERT_EQUAL(
        json_object_get_int_member(json_object_get_object_member(reply_return(back), "topology"),
                                   "online-count"),
        5);
    ASSERT_STATES(tree, "10111");

    /* Already so: nothing to do, the same answer. */
    same = raw_call(c, "{\"execute\": \"set-online-cpus\", \"arguments\": {\"cpus\": "
                       "\"5,4,3,0-1\\n\"}}");
    CUNIT_ASSERT_STR(online_of(reply_return(same)), "0-1,3-5");
    ASSERT_STATES(tree, "10111");

    /* Some in, some out, in one request. */
    swap = raw_call(c, "{\"execute\": \"set-online-cpus\", \"arguments\": {\"cpus\": "
                       "\"0,2,5\"}}");
    CUNIT_ASSERT_STR(online_of(reply_return(swap)), "0,2,5");
    ASSERT_STATES(tree, "01001");
    /* Announced to every client (earlier sets may come first, or not at
     * all: the check coalesces changes 75 ms apart). */
    CU_ASSERT_TRUE(event_online_seen(c, "0,2,5"));

    /* Through libhotcpu's client, as hotcpu-ctl does it. */
    {
        g_autoptr(GError) error = NULL;
        g_autoptr(JsonObject) args = json_object_new();
        g_autoptr(JsonNode) r = NULL;

        json_object_set_string_member(args, "cpus", "0-3");
        r = agent_client_call_once(agent->sock, "set-online-cpus", args, 10000, &error);
        g_assert_no_error(error);
        CUNIT_ASSERT_STR(online_of(json_node_get_object(r)), "0-3");
        ASSERT_STATES(tree, "11100");
    }

    raw_free(c);
    CU_ASSERT_EQUAL(test_agent_stop(agent), 0);
    fake_sysfs_destroy(tree);
}

typedef struct {
    const char *what;
    const char *arguments; /* the JSON text of "arguments", NULL: none */
    const char *desc;      /* a part of the error's text */
} BadSetOnline;

/* Each refused as InvalidParameter, with nothing changed. */
static const BadSetOnline bad_set_online[] = {
    { "no arguments", NULL, "needs the argument 'cpus'" },
    { "cpus missing", "{}", "needs the argument 'cpus'" },
    { "cpus an integer", "{\"cpus\": 3}", "must be a string" },
    { "cpus an array", "{\"cpus\": [0, 1]}", "must be a string" },
    { "cpus null", "{\"cpus\": null}", "must be a string" },
    { "unknown argument", "{\"cpus\": \"0-1\", \"count\": 2}", "takes no argument 'count'" },
    { "not a list", "{\"cpus\": \"all\"}", "is not a CPU list" },
    { "reversed range", "{\"cpus\": \"3-1\"}", "is not a CPU list" },
    { "empty item", "{\"cpus\": \"0,,1\"}", "is not a CPU list" },
    { "beyond the id limit", "{\"cpus\": \"0-8192\"}", "is not a CPU list" },
    { "not ASCII", "{\"cpus\": \"0,\\u00e9\"}", "is not a CPU list" },
    { "empty", "{\"cpus\": \"\"}", "the list of CPUs is empty" },
    { "only white space", "{\"cpus\": \" \\n\"}", "the list of CPUs is empty" },
    { "not present", "{\"cpus\": \"0-1,6\"}", "CPU 6 is not present (present: 0-5)" },
    { "cpu0 left out", "{\"cpus\": \"1-3\"}", "CPU 0 is left out but cannot be taken offline" },
};

static void
test_set_online_cpus_refused(void)
{
    char *tree = fake_sysfs_new_simple(6, 4, 8);
    TestAgent *agent = test_agent_start(tree, NULL, NULL);
    RawClient *c = raw_connect(agent);
    g_autoptr(GString) longest = g_string_new("{\"cpus\": \"");

    for (gsize i = 0; i < G_N_ELEMENTS(bad_set_online); i++) {
        const BadSetOnline *bad = &bad_set_online[i];
        g_autofree char *line = g_strdup_printf(
            "{\"execute\": \"set-online-cpus\"%s%s, \"id\": %zu}",
            bad->arguments ? ", \"arguments\": " : "", bad->arguments ? bad->arguments : "", i);
        g_autoptr(JsonNode) reply = raw_call(c, line);

        if (g_strcmp0(reply_error_class(reply), "InvalidParameter") != 0
            || !strstr(reply_error_desc(reply), bad->desc))
            fprintf(stderr, "\ncase '%s': got %s\n", bad->what,
                    reply_error_desc(reply) ? reply_error_desc(reply) : "a return");
        CUNIT_ASSERT_STR(reply_error_class(reply), "InvalidParameter");
        CUNIT_ASSERT_CONTAINS(reply_error_desc(reply), bad->desc);
        CU_ASSERT_EQUAL(json_object_get_int_member(json_node_get_object(reply), "id"), (gint64)i);
        ASSERT_STATES(tree, "11100");
    }

    /* Over the length cap (32768 bytes), though a valid list. */
    for (guint n = 0; longest->len < 32768 + 20; n++)
        g_string_append_printf(longest, "%s%u", n ? "," : "", n % 4);
    g_string_append(longest, "\"}");
    {
        g_autofree char *line = g_strdup_printf(
            "{\"execute\": \"set-online-cpus\", \"arguments\": %s}", longest->str);
        g_autoptr(JsonNode) reply = raw_call(c, line);

        CUNIT_ASSERT_STR(reply_error_class(reply), "InvalidParameter");
        CUNIT_ASSERT_CONTAINS(reply_error_desc(reply), "bytes long; it must be from 0 to 32768");
        ASSERT_STATES(tree, "11100");
    }

    raw_free(c);
    CU_ASSERT_EQUAL(test_agent_stop(agent), 0);
    fake_sysfs_destroy(tree);
}

/* A file that reads "0" but that even root cannot open for writing (no
 * store method), to make one online write fail after the topology was read. */
static const char *
find_unwritable_zero_file(void)
{
    static const char *const candidates[] = {
        "/sys/devices/system/cpu/smt/active",
        "/proc/sys/fs/quota/drops",
        "/proc/sys/fs/quota/writes",
    };

    for (gsize i = 0; i < G_N_ELEMENTS(candidates); i++) {
        g_autofree char *text = NULL;
        int fd;

        if (!g_file_get_contents(candidates[i], &text, NULL, NULL) || strcmp(text, "0\n") != 0)
            continue;
        fd = open(candidates[i], O_WRONLY | O_NONBLOCK);
        if (fd >= 0) {
            close(fd);
            continue;
        }
        return candidates[i];
    }
    return NULL;
}

static void
test_rollback_over_the_wire(void)
{
    char *tree = fake_sysfs_new_simple(6, 2, 8);
    const char *target = find_unwritable_zero_file();
    g_autofree char *link = g_build_filename(tree, "cpu4", "online", NULL);
    TestAgent *agent;
    RawClient *c;
    g_autoptr(JsonNode) reply = NULL;
    g_autoptr(JsonNode) ping = NULL;

    if (target == NULL) {
        CU_FAIL("no read-only file reading 0 found for the rollback test");
        fake_sysfs_destroy(tree);
        return;
    }
    g_assert(unlink(link) == 0);
    g_assert(symlink(target, link) == 0);

    agent = test_agent_start(tree, NULL, NULL);
    c = raw_connect(agent);
    reply
        = raw_call(c, "{\"execute\": \"set-num-cpus\", \"arguments\": {\"count\": 6}, \"id\": 9}");
    CUNIT_ASSERT_STR(reply_error_class(reply), "OperationFailed");
    CUNIT_ASSERT_CONTAINS(reply_error_desc(reply), "CPU 4");
    CUNIT_ASSERT_CONTAINS(reply_error_desc(reply), g_strerror(EACCES));
    CUNIT_ASSERT_CONTAINS(reply_error_desc(reply), "CPUs 2-3 were put back");
    CU_ASSERT_EQUAL(json_object_get_int_member(json_node_get_object(reply), "id"), 9);
    CU_ASSERT_EQUAL(fake_sysfs_get_online(tree, 1), 1);
    CU_ASSERT_EQUAL(fake_sysfs_get_online(tree, 2), 0);
    CU_ASSERT_EQUAL(fake_sysfs_get_online(tree, 3), 0);
    CU_ASSERT_EQUAL(fake_sysfs_get_online(tree, 5), 0);
    ping = raw_call(c, "{\"execute\": \"ping\"}");
    CU_ASSERT_PTR_NOT_NULL(reply_return(ping));

    raw_free(c);
    CU_ASSERT_EQUAL(test_agent_stop(agent), 0);
    fake_sysfs_destroy(tree);
}

static void
test_set_online_rollback(void)
{
    char *tree = fake_sysfs_new_simple(6, 2, 8);
    const char *target = find_unwritable_zero_file();
    g_autofree char *link = g_build_filename(tree, "cpu4", "online", NULL);
    TestAgent *agent;
    RawClient *c;
    g_autoptr(JsonNode) reply = NULL;
    g_autoptr(JsonNode) after = NULL;

    if (target == NULL) {
        CU_FAIL("no read-only file reading 0 found for the rollback test");
        fake_sysfs_destroy(tree);
        return;
    }
    g_assert(unlink(link) == 0);
    g_assert(symlink(target, link) == 0);

    agent = test_agent_start(tree, NULL, NULL);
    c = raw_connect(agent);
    /* Takes 1 offline, brings 2 and 3 online, fails on 4: all put back. */
    reply = raw_call(c, "{\"execute\": \"set-online-cpus\", \"arguments\": {\"cpus\": "
                        "\"0,2-5\"}, \"id\": 9}");
    CUNIT_ASSERT_STR(reply_error_class(reply), "OperationFailed");
    CUNIT_ASSERT_CONTAINS(reply_error_desc(reply), "Cannot bring online CPU 4");
    CUNIT_ASSERT_CONTAINS(reply_error_desc(reply), g_strerror(EACCES));
    CUNIT_ASSERT_CONTAINS(reply_error_desc(reply), "CPUs 1-3 were put back");
    CU_ASSERT_EQUAL(json_object_get_int_member(json_node_get_object(reply), "id"), 9);
    CU_ASSERT_EQUAL(fake_sysfs_get_online(tree, 1), 1);
    CU_ASSERT_EQUAL(fake_sysfs_get_online(tree, 2), 0);
    CU_ASSERT_EQUAL(fake_sysfs_get_online(tree, 3), 0);
    CU_ASSERT_EQUAL(fake_sysfs_get_online(tree, 5), 0);
    /* And it keeps answering: a set without CPU 4 works. */
    after = raw_call(c, "{\"execute\": \"set-online-cpus\", \"arguments\": {\"cpus\": "
                        "\"0,2\"}}");
    CU_ASSERT_PTR_NOT_NULL_FATAL(reply_return(after));
    CUNIT_ASSERT_STR(online_of(reply_return(after)), "0,2");

    raw_free(c);
    CU_ASSERT_EQUAL(test_agent_stop(agent), 0);
    fake_sysfs_destroy(tree);
}

static const CunitTest tests[] = {
    { "ping and info", test_ping_info },
    { "get-topology", test_get_topology },
    { "set-num-cpus up and down", test_set_num_cpus },
    { "rollback reply over the wire", test_rollback_over_the_wire },
    { "set-online-cpus: exactly the set, holes kept", test_set_online_cpus },
    { "set-online-cpus: bad arguments refused, nothing changed", test_set_online_cpus_refused },
    { "set-online-cpus: a write failure rolled back", test_set_online_rollback },
    { NULL, NULL },
};

void
register_commands_suite(void)
{
    cunit_add_suite("commands", tests);
}
