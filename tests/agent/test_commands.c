/* test_commands.c: the four commands against the real agent. */
#include <errno.h>
#include <fcntl.h>
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
    CU_ASSERT_EQUAL_FATAL(json_array_get_length(names), 6);
    CUNIT_ASSERT_STR(json_array_get_string_element(names, 0), "ping");
    CUNIT_ASSERT_STR(json_array_get_string_element(names, 1), "info");
    CUNIT_ASSERT_STR(json_array_get_string_element(names, 2), "get-topology");
    CUNIT_ASSERT_STR(json_array_get_string_element(names, 3), "set-num-cpus");
    CUNIT_ASSERT_STR(json_array_get_string_element(names, 4), "get-load");
    CUNIT_ASSERT_STR(json_array_get_string_element(names, 5), "watch-load");
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

static const CunitTest tests[] = {
    { "ping and info", test_ping_info },
    { "get-topology", test_get_topology },
    { "set-num-cpus up and down", test_set_num_cpus },
    { "rollback reply over the wire", test_rollback_over_the_wire },
    { NULL, NULL },
};

void
register_commands_suite(void)
{
    cunit_add_suite("commands", tests);
}
