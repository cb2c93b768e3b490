/* test_cpu_planner.c: the one CPU planner (cpu_planner.c) that both
 * hotcpu-agent's set-num-cpus and the host's qemu-ga path use. */
#include "unit.h"

#include "cpu_planner.h"

/* CPUs 0..strlen(@states)-1, one letter each: 'o' online, 'f' online
 * without an online file (fixed), '-' offline, 'x' offline without an
 * online file. */
static Topology *
topo_of(const char *states)
{
    Topology *t = topology_new_unknown();

    for (guint i = 0; states[i]; i++) {
        CpuInfo *cpu = topology_add_cpu(t, i);

        cpu->online = states[i] == 'o' || states[i] == 'f';
        cpu->can_offline = states[i] == 'o' || states[i] == '-';
        cpulist_add(t->present, i);
        if (cpu->online)
            cpulist_add(t->online, i);
    }
    return t;
}

/* "+2,+3" / "-7,-6" / "" in the order to apply, or the verdict's name. */
static char *
plan(const char *states, guint count)
{
    static const char *const verdicts[] = { "ok", "zero", "not-present", "fixed", "stuck" };
    g_autoptr(Topology) t = topo_of(states);
    g_autoptr(GArray) ids = g_array_new(FALSE, FALSE, sizeof(guint));
    g_autoptr(GString) out = g_string_new(NULL);
    gboolean online = FALSE;
    CpuPlanVerdict v = cpu_planner_count(t, count, &online, ids);

    if (v != CPU_PLAN_OK) {
        CU_ASSERT_EQUAL(ids->len, 0);
        return g_strdup(verdicts[v]);
    }
    for (guint i = 0; i < ids->len; i++)
        g_string_append_printf(out, "%s%c%u", i ? "," : "", online ? '+' : '-',
                               g_array_index(ids, guint, i));
    return g_strdup(out->str);
}

#define ASSERT_PLAN(states, count, expected)                                                       \
    do {                                                                                           \
        g_autofree char *got_ = plan(states, count);                                               \
        CUNIT_ASSERT_STR(got_, expected);                                                          \
    } while (0)

static void
test_online_lowest_first(void)
{
    ASSERT_PLAN("oo----", 4, "+2,+3");
    ASSERT_PLAN("o-o-o-", 5, "+1,+3");
    /* never a CPU without an online file: 1 is skipped */
    ASSERT_PLAN("ox--", 3, "+2,+3");
    ASSERT_PLAN("ox--", 2, "+2");
}

static void
test_offline_highest_first(void)
{
    ASSERT_PLAN("oooooo", 2, "-5,-4,-3,-2");
    ASSERT_PLAN("oo-o-o", 2, "-5,-3");
    /* never a CPU without an online file: 3 stays */
    ASSERT_PLAN("fooof", 3, "-3,-2");
}

static void
test_nothing_to_do(void)
{
    ASSERT_PLAN("oo--", 2, "");
    ASSERT_PLAN("fx", 1, "");
}

static void
test_refusals(void)
{
    ASSERT_PLAN("oo--", 0, "zero");
    ASSERT_PLAN("oo--", 5, "not-present");
    ASSERT_PLAN("ffoo", 1, "fixed");
    /* 4 present, but 2 cannot come online */
    ASSERT_PLAN("o-xx", 3, "stuck");
}

static void
test_fixed_list(void)
{
    g_autoptr(Topology) t = topo_of("fo-fx");
    g_autoptr(CpuList) fixed = cpu_planner_fixed(t);
    g_autofree char *text = cpulist_format(fixed);

    CUNIT_ASSERT_STR(text, "0,3");
}

void
register_cpu_planner_suite(void)
{
    static const CunitTest tests[] = {
        { "online: lowest-numbered first, never one without an online file",
          test_online_lowest_first },
        { "offline: highest-numbered first, never one without an online file",
          test_offline_highest_first },
        { "the count already online: nothing", test_nothing_to_do },
        { "refusals: zero, not present, fixed, stuck", test_refusals },
        { "the fixed CPUs", test_fixed_list },
        { NULL, NULL },
    };

    cunit_add_suite("cpu_planner", tests);
}
