/* test_memory.c: the agent's memory at scale (issue 12, item 13).
 *
 * The real agent on a fake tree of CPULIST_MAX_CPUS CPUs: its resident set
 * (VmRSS of /proc/PID/status) while idle, at its peak (VmHWM) over one
 * get-topology and two set-num-cpus swings 1 -> 8192 -> 1 with their
 * topology-changed events, and after them.  The peak must stay within
 * MEMORY_PEAK_KIB and the agent must give back what it took, to within
 * MEMORY_SLACK_KIB of the idle figure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_test.h"
#include "cpulist.h"
#include "fake_sysfs.h"

#define MEMORY_PEAK_KIB (12 * 1024)
#define MEMORY_SLACK_KIB 1024

static glong
status_kib(GPid pid, const char *field)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/status", (int)pid);
    g_autofree char *text = NULL;
    const char *p;

    if (!g_file_get_contents(path, &text, NULL, NULL))
        return -1;
    p = strstr(text, field);
    return p != NULL ? strtol(p + strlen(field), NULL, 10) : -1;
}

/* All CPUs with their topology/ folders (as if each had been online once),
 * then all but cpu0 offline: the agent must ignore the stale folders. */
static char *
big_tree(void)
{
    char *tree = fake_sysfs_new_simple(CPULIST_MAX_CPUS, CPULIST_MAX_CPUS, CPULIST_MAX_CPUS);

    for (guint i = 1; i < CPULIST_MAX_CPUS; i++)
        fake_sysfs_set_online(tree, i, FALSE);
    fake_sysfs_set_masks(tree, "0", NULL, NULL);
    return tree;
}

static void
swing(RawClient *c, guint count)
{
    g_autofree char *line
        = g_strdup_printf("{\"execute\": \"set-num-cpus\", \"arguments\": {\"count\": %u}}", count);
    g_autoptr(JsonNode) reply = raw_call(c, line);
    g_autoptr(JsonNode) event = NULL;
    JsonObject *ret = reply_return(reply);

    CU_ASSERT_PTR_NOT_NULL_FATAL(ret);
    CU_ASSERT_EQUAL(
        json_object_get_int_member(json_object_get_object_member(ret, "topology"), "online-count"),
        count);
    event = raw_event(c, 10000);
    CU_ASSERT_PTR_NOT_NULL(event);
}

static void
test_memory_8192_cpus(void)
{
    char *tree = big_tree();
    TestAgent *agent = test_agent_start(tree, NULL, NULL);
    RawClient *c = raw_connect(agent);
    g_autoptr(JsonNode) pong = raw_call(c, "{\"execute\": \"ping\"}");
    g_autoptr(JsonNode) topo = NULL;
    glong idle, peak, after;

    CU_ASSERT_PTR_NOT_NULL(reply_return(pong));
    /* Known limit, not this test's subject: the replies are ~880 KB lines,
     * over the contract's 64 KiB (see docs/reliability.md). */
    raw_allow_long_lines = TRUE;
    idle = status_kib(agent->pid, "VmRSS:");
    topo = raw_call(c, "{\"execute\": \"get-topology\"}");
    CU_ASSERT_PTR_NOT_NULL_FATAL(reply_return(topo));
    CU_ASSERT_EQUAL(json_object_get_int_member(reply_return(topo), "present-count"),
                    CPULIST_MAX_CPUS);
    swing(c, CPULIST_MAX_CPUS);
    swing(c, 1);
    /* The agent trims from an idle callback after a big line. */
    g_usleep(300 * 1000);
    peak = status_kib(agent->pid, "VmHWM:");
    after = status_kib(agent->pid, "VmRSS:");
    fprintf(stderr, "\nagent on %d CPUs: VmRSS idle %ld KiB, peak (VmHWM) %ld KiB, after %ld KiB\n",
            CPULIST_MAX_CPUS, idle, peak, after);
#if defined(__SANITIZE_ADDRESS__)
    /* ASan's shadow memory and quarantine say nothing about ours: meson
     * does not run this suite in a sanitized build; run by hand, it fails
     * rather than pass without a check. */
    CU_FAIL("built with AddressSanitizer: the memory figures cannot be checked");
#else
    if (g_getenv("HOTCPU_TEST_AGENT_WRAPPER") == NULL) {
        CU_ASSERT(idle > 0);
        CU_ASSERT(peak <= MEMORY_PEAK_KIB);
        CU_ASSERT(after <= idle + MEMORY_SLACK_KIB);
    }
#endif
    raw_allow_long_lines = FALSE;
    raw_free(c);
    CU_ASSERT_EQUAL(test_agent_stop(agent), 0);
    fake_sysfs_destroy(tree);
}

static const CunitTest tests[] = {
    { "8192 CPUs: peak and give-back of the resident set", test_memory_8192_cpus },
    { NULL, NULL },
};

void
register_memory_suite(void)
{
    cunit_add_suite("memory", tests);
}
