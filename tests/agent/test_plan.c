/* test_plan.c: which CPUs set-num-cpus and set-online-cpus change
 * (cpu_plan_new, cpu_plan_new_exact: pure). */
#include <string.h>

#include "agent_test.h"
#include "cpu_control.h"
#include "fake_sysfs.h"
#include "protocol.h"
#include "topology_sysfs.h"

/* A tree with the given CPU ids present; @online and @fixed are masks of
 * ids that are online / have no online file.  Ids < 32. */
static char *
make_tree(const guint *ids, gsize n, guint32 online, guint32 fixed)
{
    char *root = fake_sysfs_new();
    g_autoptr(CpuList) present = cpulist_new();
    g_autoptr(CpuList) on = cpulist_new();
    g_autofree char *present_text = NULL;
    g_autofree char *online_text = NULL;

    for (gsize i = 0; i < n; i++) {
        FakeCpu cpu = {
            .id = ids[i],
            .has_online_file = !(fixed & (1u << ids[i])),
            .online = (online & (1u << ids[i])) || (fixed & (1u << ids[i])),
            .socket = 0,
            .core = (gint)ids[i],
            .node = 0,
        };
        fake_sysfs_add_cpu(root, &cpu);
        cpulist_add(present, ids[i]);
        if (cpu.online)
            cpulist_add(on, ids[i]);
    }
    present_text = cpulist_format(present);
    online_text = cpulist_format(on);
    fake_sysfs_set_masks(root, online_text, present_text, "0-31");
    return root;
}

/* @plan as text: "+2,+3" / "-7,-6" / "" / "error:CLASS" (NULL @plan). */
static char *
format_plan(const CpuPlan *plan, const GError *error)
{
    g_autoptr(GString) out = g_string_new(NULL);

    if (plan == NULL) {
        g_assert(error->domain == PROTO_ERROR);
        return g_strdup_printf("error:%s", proto_error_class_name(error->code));
    }
    g_assert_null(error);
    for (guint i = 0; i < plan->offline->len; i++)
        g_string_append_printf(out, "%s-%u", out->len ? "," : "",
                               g_array_index(plan->offline, guint, i));
    for (guint i = 0; i < plan->online->len; i++)
        g_string_append_printf(out, "%s+%u", out->len ? "," : "",
                               g_array_index(plan->online, guint, i));
    return g_strdup(out->str);
}

static char *
plan_text(const char *root, guint count)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(Topology) topo = topology_read(root, &error);
    g_autoptr(CpuPlan) plan = NULL;

    g_assert_no_error(error);
    plan = cpu_plan_new(topo, count, &error);
    return format_plan(plan, error);
}

/* The exact plan for @wanted (a range list) as text; with @message, also
 * the error's text after the class: "error:CLASS: message". */
static char *
exact_text(const char *root, const char *wanted, gboolean message)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(Topology) topo = topology_read(root, &error);
    g_autoptr(CpuList) list = cpulist_parse(wanted, &error);
    g_autoptr(CpuPlan) plan = NULL;
    g_autofree char *text = NULL;

    g_assert_no_error(error);
    plan = cpu_plan_new_exact(topo, list, &error);
    text = format_plan(plan, error);
    if (plan == NULL && message)
        return g_strdup_printf("%s: %s", text, error->message);
    return g_steal_pointer(&text);
}

#define ASSERT_PLAN(root, count, expected)                                                         \
    do {                                                                                           \
        g_autofree char *got_ = plan_text((root), (count));                                        \
        CUNIT_ASSERT_STR(got_, (expected));                                                        \
    } while (0)

#define ASSERT_EXACT(root, wanted, expected)                                                       \
    do {                                                                                           \
        g_autofree char *got_ = exact_text((root), (wanted), FALSE);                               \
        CUNIT_ASSERT_STR(got_, (expected));                                                        \
    } while (0)

#define ASSERT_EXACT_ERROR(root, wanted, expected)                                                 \
    do {                                                                                           \
        g_autofree char *got_ = exact_text((root), (wanted), TRUE);                                \
        CUNIT_ASSERT_STR(got_, (expected));                                                        \
    } while (0)

static void
test_plan_up_down(void)
{
    /* cpu0 without online file, 0-1 online of 0-3. */
    char *root = fake_sysfs_new_simple(4, 2, 8);

    ASSERT_PLAN(root, 4, "+2,+3");
    ASSERT_PLAN(root, 3, "+2");
    ASSERT_PLAN(root, 2, "");
    ASSERT_PLAN(root, 1, "-1");
    fake_sysfs_destroy(root);
}

static void
test_plan_bounds(void)
{
    char *root = fake_sysfs_new_simple(4, 2, 8);

    ASSERT_PLAN(root, 0, "error:InvalidParameter");
    ASSERT_PLAN(root, 5, "error:InvalidParameter");
    ASSERT_PLAN(root, 8, "error:InvalidParameter");
    fake_sysfs_destroy(root);
}

static void
test_plan_offline_highest_first(void)
{
    char *root = fake_sysfs_new_simple(8, 8, 8);

    ASSERT_PLAN(root, 2, "-7,-6,-5,-4,-3,-2");
    ASSERT_PLAN(root, 1, "-7,-6,-5,-4,-3,-2,-1");
    ASSERT_PLAN(root, 8, "");
    fake_sysfs_destroy(root);
}

static void
test_plan_online_lowest_first(void)
{
    /* Online 0,3,5 of 0-7: the gaps 1,2,4 fill first. */
    static const guint ids[] = { 0, 1, 2, 3, 4, 5, 6, 7 };
    char *root = make_tree(ids, G_N_ELEMENTS(ids), (1u << 3) | (1u << 5), 1u << 0);

    ASSERT_PLAN(root, 4, "+1");
    ASSERT_PLAN(root, 6, "+1,+2,+4");
    ASSERT_PLAN(root, 8, "+1,+2,+4,+6,+7");
    /* Down: the highest online first, whatever the gaps. */
    ASSERT_PLAN(root, 2, "-5");
    ASSERT_PLAN(root, 1, "-5,-3");
    fake_sysfs_destroy(root);
}

static void
test_plan_fixed_cpus(void)
{
    /* cpu0 and cpu2 have no online file: always online, never offlined. */
    static const guint ids[] = { 0, 1, 2, 3 };
    char *root = make_tree(ids, G_N_ELEMENTS(ids), (1u << 1) | (1u << 3), (1u << 0) | (1u << 2));

    ASSERT_PLAN(root, 2, "-3,-1");
    ASSERT_PLAN(root, 3, "-3");
    ASSERT_PLAN(root, 1, "error:InvalidParameter");
    fake_sysfs_destroy(root);
}

static void
test_plan_holes(void)
{
    /* Present 0-1,4-5,9 (CPUs hot-removed in between); online 0,4. */
    static const guint ids[] = { 0, 1, 4, 5, 9 };
    char *root = make_tree(ids, G_N_ELEMENTS(ids), 1u << 4, 1u << 0);

    ASSERT_PLAN(root, 3, "+1");
    ASSERT_PLAN(root, 4, "+1,+5");
    ASSERT_PLAN(root, 5, "+1,+5,+9");
    ASSERT_PLAN(root, 6, "error:InvalidParameter");
    ASSERT_PLAN(root, 1, "-4");
    fake_sysfs_destroy(root);
}

static void
test_plan_single_cpu(void)
{
    char *root = fake_sysfs_new_simple(1, 1, 4);

    ASSERT_PLAN(root, 1, "");
    ASSERT_PLAN(root, 2, "error:InvalidParameter");
    fake_sysfs_destroy(root);
}

static void
test_exact_hole_given_back(void)
{
    /* hotcpu-ctl's give-back: the admin had offlined CPU 2 of 0-5, an
     * unplug's hook offlined 3-5; exactly 0-1,3-5 comes back, not 2. */
    static const guint ids[] = { 0, 1, 2, 3, 4, 5 };
    char *root = make_tree(ids, G_N_ELEMENTS(ids), 1u << 1, 1u << 0);

    ASSERT_EXACT(root, "0-1,3-5", "+3,+4,+5");
    ASSERT_EXACT(root, "0-1", "");
    ASSERT_EXACT(root, "0,2", "-1,+2");
    /* Non-canonical lists and white space are the same sets. */
    ASSERT_EXACT(root, " 5,4,0-1,3\n", "+3,+4,+5");
    fake_sysfs_destroy(root);
}

static void
test_exact_swap_and_order(void)
{
    /* Online 0,3,5 of 0-7: offline highest first, online lowest first. */
    static const guint ids[] = { 0, 1, 2, 3, 4, 5, 6, 7 };
    char *root = make_tree(ids, G_N_ELEMENTS(ids), (1u << 3) | (1u << 5), 1u << 0);

    ASSERT_EXACT(root, "0,3,5", "");
    ASSERT_EXACT(root, "0-2,6-7", "-5,-3,+1,+2,+6,+7");
    ASSERT_EXACT(root, "0", "-5,-3");
    ASSERT_EXACT(root, "0-7", "+1,+2,+4,+6,+7");
    ASSERT_EXACT(root, "0,4", "-5,-3,+4");
    fake_sysfs_destroy(root);
}

static void
test_exact_refused(void)
{
    /* Present 0-1,4-5 (2-3 hot-removed), possible 0-31; online 0,4; cpu0
     * has no online file. */
    static const guint ids[] = { 0, 1, 4, 5 };
    char *root = make_tree(ids, G_N_ELEMENTS(ids), 1u << 4, 1u << 0);

    ASSERT_EXACT_ERROR(root, "",
                       "error:InvalidParameter: the list of CPUs is empty: at least one CPU "
                       "must stay online");
    ASSERT_EXACT_ERROR(root, "0,2",
                       "error:InvalidParameter: CPU 2 is not present (present: 0-1,4-5)");
    ASSERT_EXACT_ERROR(root, "0-7",
                       "error:InvalidParameter: CPUs 2-3,6-7 are not present (present: 0-1,4-5)");
    ASSERT_EXACT_ERROR(root, "1,4",
                       "error:InvalidParameter: CPU 0 is left out but cannot be taken offline "
                       "(no online file)");
    /* Not present wins over left out: the first thing to fix. */
    ASSERT_EXACT_ERROR(root, "9",
                       "error:InvalidParameter: CPU 9 is not present (present: 0-1,4-5)");
    ASSERT_EXACT(root, "0-1,4-5", "+1,+5");
    fake_sysfs_destroy(root);
}

static void
test_exact_fixed_cpus(void)
{
    /* cpu0 and cpu2 have no online file: always online, never offlined. */
    static const guint ids[] = { 0, 1, 2, 3 };
    char *root = make_tree(ids, G_N_ELEMENTS(ids), (1u << 1) | (1u << 3), (1u << 0) | (1u << 2));

    ASSERT_EXACT(root, "0,2", "-3,-1");
    ASSERT_EXACT(root, "0-3", "");
    ASSERT_EXACT_ERROR(root, "1,3",
                       "error:InvalidParameter: CPUs 0,2 are left out but cannot be taken "
                       "offline (no online file)");
    fake_sysfs_destroy(root);
}

static void
test_exact_cannot_online(void)
{
    /* A CPU without an online file that is not in the online mask: offline
     * for good (no file to write). */
    char *root = fake_sysfs_new();
    FakeCpu cpu0 = { .id = 0, .has_online_file = FALSE, .online = TRUE, .node = 0 };
    FakeCpu cpu1 = { .id = 1, .has_online_file = FALSE, .online = FALSE, .node = 0 };

    fake_sysfs_add_cpu(root, &cpu0);
    fake_sysfs_add_cpu(root, &cpu1);
    fake_sysfs_set_masks(root, "0", "0-1", "0-1");
    ASSERT_EXACT(root, "0", "");
    ASSERT_EXACT_ERROR(root, "0-1",
                       "error:InvalidParameter: CPU 1 is offline and cannot be brought online "
                       "(no online file)");
    fake_sysfs_destroy(root);
}

static const CunitTest tests[] = {
    { "up and down", test_plan_up_down },
    { "count out of bounds", test_plan_bounds },
    { "offline highest first", test_plan_offline_highest_first },
    { "online lowest first", test_plan_online_lowest_first },
    { "CPUs without online file", test_plan_fixed_cpus },
    { "holes in present", test_plan_holes },
    { "single CPU", test_plan_single_cpu },
    { "exact: a hole given back", test_exact_hole_given_back },
    { "exact: swaps, offline highest first, online lowest first", test_exact_swap_and_order },
    { "exact: empty, not present, fixed CPU left out", test_exact_refused },
    { "exact: CPUs without online file", test_exact_fixed_cpus },
    { "exact: an offline CPU without online file", test_exact_cannot_online },
    { NULL, NULL },
};

void
register_plan_suite(void)
{
    cunit_add_suite("plan", tests);
}
