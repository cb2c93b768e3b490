/* test_hotplug.c: uevents (through --uevent-socket, the netlink code path's
 * parser and handler), topology-changed, auto-online, set-num-cpus waiting. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "agent_test.h"
#include "fake_sysfs.h"

/* What the hypervisor's hot add does to sysfs: cpuN appears offline. */
static void
hot_add(const char *tree, guint id, const char *present)
{
    FakeCpu cpu = { .id = id, .has_online_file = TRUE, .online = FALSE, .node = 0 };

    fake_sysfs_add_cpu(tree, &cpu);
    fake_sysfs_set_masks(tree, NULL, present, NULL);
}

static JsonObject *
event_data(JsonNode *event)
{
    CU_ASSERT_PTR_NOT_NULL_FATAL(event);
    CUNIT_ASSERT_STR(json_object_get_string_member(json_node_get_object(event), "event"),
                     "topology-changed");
    return json_object_get_object_member(json_node_get_object(event), "data");
}

static gboolean
cpu_online_in(JsonObject *topo, guint id)
{
    JsonArray *cpus = json_object_get_array_member(topo, "cpus");

    for (guint i = 0; i < json_array_get_length(cpus); i++) {
        JsonObject *cpu = json_array_get_object_element(cpus, i);

        if (json_object_get_int_member(cpu, "id") == id)
            return json_object_get_boolean_member(cpu, "online");
    }
    CU_FAIL("CPU not in the topology");
    return FALSE;
}

/* Hot add cpu4 and wait for the event; returns its data's owner. */
static JsonNode *
hot_add_and_wait(TestAgent *agent, RawClient *c, const char *tree)
{
    gint64 start;
    JsonNode *event;

    hot_add(tree, 4, "0-4");
    start = g_get_monotonic_time();
    test_agent_uevent(agent, "add", 4, 1001);
    event = raw_event(c, 1000);
    /* "within a second" of the uevent */
    CU_ASSERT(g_get_monotonic_time() - start < G_USEC_PER_SEC);
    return event;
}

static void
test_hot_add_auto_online(void)
{
    char *tree = fake_sysfs_new_simple(4, 2, 8);
    TestAgent *agent = test_agent_start(tree, NULL, NULL);
    RawClient *c = raw_connect(agent);
    g_autoptr(JsonNode) event = NULL;
    g_autoptr(JsonNode) late = NULL;
    JsonObject *data;

    /* A uevent of another subsystem, or for a non-CPU path, changes nothing. */
    {
        g_autoptr(JsonNode) pong = raw_call(c, "{\"execute\": \"ping\"}");
        CU_ASSERT_PTR_NOT_NULL(reply_return(pong));
    }
    event = hot_add_and_wait(agent, c, tree);
    data = event_data(event);
    CUNIT_ASSERT_STR(json_object_get_string_member(data, "present"), "0-4");
    CUNIT_ASSERT_STR(json_object_get_string_member(data, "online"), "0-1,4");
    CU_ASSERT_TRUE(cpu_online_in(data, 4));
    CU_ASSERT_EQUAL(fake_sysfs_get_online(tree, 4), 1);
    /* The older offline CPUs were not touched: only "add" onlines. */
    CU_ASSERT_EQUAL(fake_sysfs_get_online(tree, 2), 0);
    CU_ASSERT_EQUAL(fake_sysfs_get_online(tree, 3), 0);
    /* One event for the burst, nothing after. */
    late = raw_event(c, 400);
    CU_ASSERT_PTR_NULL(late);

    raw_free(c);
    CU_ASSERT_EQUAL(test_agent_stop(agent), 0);
    fake_sysfs_destroy(tree);
}

static void
check_stays_offline(const char *config_text, const char *const *args)
{
    char *tree = fake_sysfs_new_simple(4, 2, 8);
    TestAgent *agent = test_agent_start(tree, config_text, args);
    RawClient *c = raw_connect(agent);
    g_autoptr(JsonNode) event = NULL;
    JsonObject *data;

    event = hot_add_and_wait(agent, c, tree);
    data = event_data(event);
    CUNIT_ASSERT_STR(json_object_get_string_member(data, "present"), "0-4");
    CUNIT_ASSERT_STR(json_object_get_string_member(data, "online"), "0-1");
    CU_ASSERT_FALSE(cpu_online_in(data, 4));
    CU_ASSERT_EQUAL(fake_sysfs_get_online(tree, 4), 0);

    raw_free(c);
    CU_ASSERT_EQUAL(test_agent_stop(agent), 0);
    fake_sysfs_destroy(tree);
}

static void
test_hot_add_no_auto_online(void)
{
    static const char *const args[] = { "--no-auto-online", NULL };

    check_stays_offline(NULL, args);
}

static void
test_hot_add_config_auto_online_off(void)
{
    check_stays_offline("[agent]\nauto-online=false\n", NULL);
}

static void
test_sighup_reloads_auto_online(void)
{
    char *tree = fake_sysfs_new_simple(4, 2, 8);
    TestAgent *agent = test_agent_start(tree, "[agent]\nauto-online=true\n", NULL);
    RawClient *c = raw_connect(agent);
    g_autoptr(JsonNode) event = NULL;
    g_autoptr(JsonNode) pong = NULL;

    write_text(agent->dir, "agent.conf", "[agent]\nauto-online=false\n");
    kill(agent->pid, SIGHUP);
    /* Still serving after the reload. */
    g_usleep(200 * 1000);
    pong = raw_call(c, "{\"execute\": \"ping\"}");
    CU_ASSERT_PTR_NOT_NULL(reply_return(pong));
    event = hot_add_and_wait(agent, c, tree);
    CU_ASSERT_FALSE(cpu_online_in(event_data(event), 4));
    CU_ASSERT_EQUAL(fake_sysfs_get_online(tree, 4), 0);

    raw_free(c);
    CU_ASSERT_EQUAL(test_agent_stop(agent), 0);
    fake_sysfs_destroy(tree);
}

static void
test_auto_online_retries(void)
{
    char *tree = fake_sysfs_new_simple(4, 2, 8);
    TestAgent *agent = test_agent_start(tree, NULL, NULL);
    RawClient *c = raw_connect(agent);
    g_autofree char *dir = g_build_filename(tree, "cpu4", NULL);
    g_autoptr(JsonNode) event = NULL;

    /* The uevent comes before the online file can be written. */
    g_assert(g_mkdir_with_parents(dir, 0755) == 0);
    fake_sysfs_set_masks(tree, NULL, "0-4", NULL);
    test_agent_uevent(agent, "add", 4, 2001);
    g_usleep(60 * 1000);
    fake_sysfs_set_online(tree, 4, FALSE);

    for (int i = 0; i < 100 && fake_sysfs_get_online(tree, 4) != 1; i++)
        g_usleep(20 * 1000);
    CU_ASSERT_EQUAL(fake_sysfs_get_online(tree, 4), 1);
    /* The last event shows it online. */
    for (;;) {
        g_autoptr(JsonNode) next = raw_event(c, 1000);

        if (next == NULL)
            break;
        g_clear_pointer(&event, json_node_unref);
        event = g_steal_pointer(&next);
    }
    CU_ASSERT_TRUE(cpu_online_in(event_data(event), 4));

    raw_free(c);
    CU_ASSERT_EQUAL(test_agent_stop(agent), 0);
    fake_sysfs_destroy(tree);
}

static void
test_admin_offline_respected(void)
{
    char *tree = fake_sysfs_new_simple(4, 4, 8);
    TestAgent *agent = test_agent_start(tree, NULL, NULL);
    RawClient *c = raw_connect(agent);
    g_autoptr(JsonNode) event = NULL;
    g_autoptr(JsonNode) none = NULL;
    JsonObject *data;

    /* An admin in the guest: echo 0 > cpu3/online. */
    fake_sysfs_set_online(tree, 3, FALSE);
    test_agent_uevent(agent, "offline", 3, 3001);
    event = raw_event(c, 1000);
    data = event_data(event);
    CUNIT_ASSERT_STR(json_object_get_string_member(data, "online"), "0-2");
    /* Not brought back. */
    g_usleep(300 * 1000);
    CU_ASSERT_EQUAL(fake_sysfs_get_online(tree, 3), 0);
    none = raw_event(c, 200);
    CU_ASSERT_PTR_NULL(none);

    raw_free(c);
    CU_ASSERT_EQUAL(test_agent_stop(agent), 0);
    fake_sysfs_destroy(tree);
}

static void
wait_for_hot_add(const char *const *args)
{
    char *tree = fake_sysfs_new_simple(4, 4, 8);
    TestAgent *agent = test_agent_start(tree, NULL, args);
    RawClient *c = raw_connect(agent);
    RawClient *other = raw_connect(agent);
    g_autoptr(JsonNode) busy = NULL;
    g_autoptr(JsonNode) busy_exact = NULL;
    g_autoptr(JsonNode) pong = NULL;
    g_autoptr(JsonNode) early = NULL;
    g_autoptr(JsonNode) reply = NULL;
    JsonObject *ret;

    raw_send_str(c, "{\"execute\": \"set-num-cpus\", \"arguments\": {\"count\": 6, \"wait\": 10}, "
                    "\"id\": 1}\n");
    /* Let it arrive first, then: the agent answers others meanwhile... */
    g_usleep(100 * 1000);
    pong = raw_call(other, "{\"execute\": \"ping\"}");
    CU_ASSERT_PTR_NOT_NULL(reply_return(pong));
    /* ...but not a second set-num-cpus. */
    busy = raw_call(other,
                    "{\"execute\": \"set-num-cpus\", \"arguments\": {\"count\": 2}, \"id\": 2}");
    CUNIT_ASSERT_STR(reply_error_class(busy), "Busy");
    /* ...nor a set-online-cpus, which the waiting one would undo. */
    busy_exact = raw_call(
        other, "{\"execute\": \"set-online-cpus\", \"arguments\": {\"cpus\": \"0-1\"}, \"id\": 3}");
    CUNIT_ASSERT_STR(reply_error_class(busy_exact), "Busy");
    CU_ASSERT_EQUAL(fake_sysfs_get_online(tree, 3), 1);

    hot_add(tree, 4, "0-4");
    test_agent_uevent(agent, "add", 4, 4001);
    early = raw_reply(c, 300);
    CU_ASSERT_PTR_NULL(early); /* 5 present: still waiting */
    FakeCpu cpu5 = { .id = 5, .has_online_file = TRUE, .online = FALSE, .node = 0 };
    fake_sysfs_add_cpu(tree, &cpu5);
    fake_sysfs_set_masks(tree, NULL, "0-5", NULL);
    test_agent_uevent(agent, "add", 5, 4002);

    reply = raw_reply(c, 5000);
    ret = reply_return(reply);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ret);
    CU_ASSERT_EQUAL(json_object_get_int_member(json_node_get_object(reply), "id"), 1);
    CU_ASSERT_EQUAL(
        json_object_get_int_member(json_object_get_object_member(ret, "topology"), "online-count"),
        6);
    CU_ASSERT_EQUAL(fake_sysfs_get_online(tree, 4), 1);
    CU_ASSERT_EQUAL(fake_sysfs_get_online(tree, 5), 1);

    raw_free(c);
    raw_free(other);
    CU_ASSERT_EQUAL(test_agent_stop(agent), 0);
    fake_sysfs_destroy(tree);
}

static void
test_wait_hot_add(void)
{
    wait_for_hot_add(NULL);
}

static void
test_wait_hot_add_no_auto_online(void)
{
    static const char *const args[] = { "--no-auto-online", NULL };

    /* set-num-cpus onlines the new CPUs itself. */
    wait_for_hot_add(args);
}

static void
test_wait_times_out(void)
{
    char *tree = fake_sysfs_new_simple(4, 2, 8);
    TestAgent *agent = test_agent_start(tree, NULL, NULL);
    RawClient *c = raw_connect(agent);
    gint64 start = g_get_monotonic_time();
    g_autoptr(JsonNode) reply = raw_call(
        c,
        "{\"execute\": \"set-num-cpus\", \"arguments\": {\"count\": 6, \"wait\": 1}, \"id\": 3}");
    gint64 took = g_get_monotonic_time() - start;
    g_autoptr(JsonNode) after = NULL;

    CUNIT_ASSERT_STR(reply_error_class(reply), "InvalidParameter");
    CUNIT_ASSERT_CONTAINS(reply_error_desc(reply), "only 4 are present");
    CU_ASSERT(took >= 900 * 1000 && took < 5 * G_USEC_PER_SEC);
    CU_ASSERT_EQUAL(fake_sysfs_get_online(tree, 2), 0);
    CU_ASSERT_EQUAL(fake_sysfs_get_online(tree, 3), 0);
    /* The next set-num-cpus is not Busy. */
    after = raw_call(c, "{\"execute\": \"set-num-cpus\", \"arguments\": {\"count\": 3}}");
    CU_ASSERT_PTR_NOT_NULL(reply_return(after));

    raw_free(c);
    CU_ASSERT_EQUAL(test_agent_stop(agent), 0);
    fake_sysfs_destroy(tree);
}

static void
test_waiting_client_leaves(void)
{
    char *tree = fake_sysfs_new_simple(4, 2, 8);
    TestAgent *agent = test_agent_start(tree, NULL, NULL);
    RawClient *c = raw_connect(agent);
    RawClient *next = NULL;
    g_autoptr(JsonNode) r = NULL;

    raw_send_str(c,
                 "{\"execute\": \"set-num-cpus\", \"arguments\": {\"count\": 6, \"wait\": 30}}\n");
    g_usleep(100 * 1000);
    raw_free(c);
    g_usleep(100 * 1000);
    /* Its wait was dropped with it: the next one is not Busy. */
    next = raw_connect(agent);
    r = raw_call(next, "{\"execute\": \"set-num-cpus\", \"arguments\": {\"count\": 3}}");
    CU_ASSERT_PTR_NOT_NULL(reply_return(r));
    raw_free(next);
    CU_ASSERT_EQUAL(test_agent_stop(agent), 0);
    fake_sysfs_destroy(tree);
}

static const CunitTest tests[] = {
    { "hot add, auto-online", test_hot_add_auto_online },
    { "hot add, --no-auto-online", test_hot_add_no_auto_online },
    { "hot add, auto-online=false in the config", test_hot_add_config_auto_online_off },
    { "SIGHUP re-reads auto-online", test_sighup_reloads_auto_online },
    { "auto-online retries until the file takes it", test_auto_online_retries },
    { "an admin's offline is respected", test_admin_offline_respected },
    { "set-num-cpus waits for hot adds", test_wait_hot_add },
    { "set-num-cpus waits, --no-auto-online", test_wait_hot_add_no_auto_online },
    { "set-num-cpus wait times out", test_wait_times_out },
    { "waiting client leaves", test_waiting_client_leaves },
    { NULL, NULL },
};

void
register_hotplug_suite(void)
{
    cunit_add_suite("hotplug", tests);
}
