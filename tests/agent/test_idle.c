/* test_idle.c: an idle agent costs nothing (bench/idle-cost on the real
 * agent, --listen socket, nobody connected / a silent client). */
#include <stdio.h>
#include <string.h>

#include "glib_compat.h"
#include "agent_test.h"
#include "fake_sysfs.h"

#define IDLE_SECONDS "3"

static void
measure(GPid pid, double *cpu_ms, guint64 *ctxsw)
{
    const char *tool = g_getenv("HOTCPU_TEST_IDLE_COST");
    g_autofree char *pid_text = g_strdup_printf("%d", (int)pid);
    const char *argv[] = { tool, pid_text, IDLE_SECONDS, NULL };
    g_autofree char *out = NULL;
    g_autoptr(GError) error = NULL;
    int status = -1;
    const char *p;

    if (tool == NULL)
        g_error("HOTCPU_TEST_IDLE_COST is not set (meson sets it)");
    if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, NULL, &status,
                      &error))
        g_error("cannot run %s: %s", tool, error->message);
    CU_ASSERT(g_spawn_check_wait_status(status, NULL));
    fprintf(stderr, "\nidle agent: %s", out);
    p = strstr(out, "cpu_ms=");
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    *cpu_ms = g_ascii_strtod(p + 7, NULL);
    p = strstr(out, "ctxsw=");
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    *ctxsw = g_ascii_strtoull(p + 6, NULL, 10);
}

/* After a moment to settle, the agent must sit still for IDLE_SECONDS: a
 * 100 ms poll would be 30 switches; a spin, thousands. */
static void
assert_idle(GPid pid)
{
    double cpu_ms = -1;
    guint64 ctxsw = G_MAXUINT64;

    g_usleep(200 * 1000);
    measure(pid, &cpu_ms, &ctxsw);
    CU_ASSERT(ctxsw <= 2);
    CU_ASSERT(cpu_ms <= 20);
}

static void
test_idle_nobody_connected(void)
{
    char *tree = fake_sysfs_new_simple(4, 2, 8);
    TestAgent *agent = test_agent_start(tree, NULL, NULL);

    assert_idle(agent->pid);
    CU_ASSERT_EQUAL(test_agent_stop(agent), 0);
    fake_sysfs_destroy(tree);
}

static void
test_idle_silent_client(void)
{
    char *tree = fake_sysfs_new_simple(4, 2, 8);
    TestAgent *agent = test_agent_start(tree, NULL, NULL);
    RawClient *c = raw_connect(agent);
    g_autoptr(JsonNode) pong = raw_call(c, "{\"execute\": \"ping\"}");

    CU_ASSERT_PTR_NOT_NULL(reply_return(pong));
    assert_idle(agent->pid);
    raw_free(c);
    CU_ASSERT_EQUAL(test_agent_stop(agent), 0);
    fake_sysfs_destroy(tree);
}

/* watch-load costs a timer only while someone watches: once the watcher
 * left, the agent is idle again. */
static void
test_idle_after_load_watcher_left(void)
{
    char *tree = fake_sysfs_new_simple(4, 2, 8);
    TestAgent *agent = test_agent_start(tree, NULL, NULL);
    RawClient *c = raw_connect(agent);
    g_autoptr(JsonNode) ok
        = raw_call(c, "{\"execute\": \"watch-load\", \"arguments\": {\"interval\": 1}}");
    g_autoptr(JsonNode) ev = NULL;

    CU_ASSERT_PTR_NOT_NULL(reply_return(ok));
    ev = raw_event(c, 3000);
    CU_ASSERT_PTR_NOT_NULL(ev);
    raw_free(c);
    assert_idle(agent->pid);
    CU_ASSERT_EQUAL(test_agent_stop(agent), 0);
    fake_sysfs_destroy(tree);
}

static const CunitTest tests[] = {
    { "idle after a load watcher left", test_idle_after_load_watcher_left },
    { "idle, nobody connected", test_idle_nobody_connected },
    { "idle, a silent client", test_idle_silent_client },
    { NULL, NULL },
};

void
register_idle_suite(void)
{
    cunit_add_suite("idle", tests);
}
