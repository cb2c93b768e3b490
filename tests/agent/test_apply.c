/* test_apply.c: cpu_plan_apply writes, and puts back on failure. */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent_test.h"
#include "cpu_control.h"
#include "fake_sysfs.h"
#include "protocol.h"
#include "topology_sysfs.h"

static CpuPlan *
plan_for(const char *root, guint count)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(Topology) topo = topology_read(root, &error);
    CpuPlan *plan;

    g_assert_no_error(error);
    plan = cpu_plan_new(topo, count, &error);
    g_assert_no_error(error);
    return plan;
}

/* Replaces ROOT/cpuN/online by something a write fails on. */
typedef enum { BREAK_DIR, BREAK_FIFO } BreakKind;

static void
break_online_file(const char *root, guint cpu, BreakKind kind)
{
    g_autofree char *name = g_strdup_printf("cpu%u", cpu);
    g_autofree char *path = g_build_filename(root, name, "online", NULL);

    g_assert(unlink(path) == 0);
    if (kind == BREAK_DIR)
        g_assert(mkdir(path, 0755) == 0); /* open(O_WRONLY): EISDIR */
    else
        g_assert(mkfifo(path, 0644) == 0); /* no reader, O_NONBLOCK: ENXIO */
}

static void
test_apply_up_down(void)
{
    char *root = fake_sysfs_new_simple(4, 2, 4);
    g_autoptr(GError) error = NULL;
    g_autoptr(CpuPlan) up = plan_for(root, 4);
    g_autoptr(CpuPlan) down = NULL;
    guint changed = 99;

    CU_ASSERT(cpu_plan_apply(root, up, &changed, &error));
    g_assert_no_error(error);
    CU_ASSERT_EQUAL(changed, 2);
    CU_ASSERT_EQUAL(fake_sysfs_get_online(root, 0), -1);
    CU_ASSERT_EQUAL(fake_sysfs_get_online(root, 1), 1);
    CU_ASSERT_EQUAL(fake_sysfs_get_online(root, 2), 1);
    CU_ASSERT_EQUAL(fake_sysfs_get_online(root, 3), 1);

    down = plan_for(root, 1);
    CU_ASSERT(cpu_plan_apply(root, down, &changed, &error));
    CU_ASSERT_EQUAL(changed, 3);
    CU_ASSERT_EQUAL(fake_sysfs_get_online(root, 1), 0);
    CU_ASSERT_EQUAL(fake_sysfs_get_online(root, 2), 0);
    CU_ASSERT_EQUAL(fake_sysfs_get_online(root, 3), 0);
    fake_sysfs_destroy(root);
}

static void
test_rollback_online(void)
{
    /* 0-1 online of 0-5; asking for 5 onlines 2, 3, then fails on 4. */
    char *root = fake_sysfs_new_simple(6, 2, 6);
    g_autoptr(GError) error = NULL;
    g_autoptr(CpuPlan) plan = plan_for(root, 5);
    guint changed = 99;

    break_online_file(root, 4, BREAK_DIR);
    CU_ASSERT_FALSE(cpu_plan_apply(root, plan, &changed, &error));
    CU_ASSERT(g_error_matches(error, PROTO_ERROR, PROTO_ERROR_OPERATION_FAILED));
    CU_ASSERT_EQUAL(changed, 0);
    CUNIT_ASSERT_CONTAINS(error->message, "CPU 4");
    CUNIT_ASSERT_CONTAINS(error->message, g_strerror(EISDIR));
    CUNIT_ASSERT_CONTAINS(error->message, "CPUs 2-3 were put back");
    CU_ASSERT_EQUAL(fake_sysfs_get_online(root, 1), 1);
    CU_ASSERT_EQUAL(fake_sysfs_get_online(root, 2), 0);
    CU_ASSERT_EQUAL(fake_sysfs_get_online(root, 3), 0);
    CU_ASSERT_EQUAL(fake_sysfs_get_online(root, 5), 0);
    fake_sysfs_destroy(root);
}

static void
test_rollback_offline(void)
{
    /* All 6 online; asking for 1 offlines 5, 4, 3, then fails on 2. */
    char *root = fake_sysfs_new_simple(6, 6, 6);
    g_autoptr(GError) error = NULL;
    g_autoptr(CpuPlan) plan = plan_for(root, 1);

    break_online_file(root, 2, BREAK_FIFO);
    CU_ASSERT_FALSE(cpu_plan_apply(root, plan, NULL, &error));
    CU_ASSERT(g_error_matches(error, PROTO_ERROR, PROTO_ERROR_OPERATION_FAILED));
    CUNIT_ASSERT_CONTAINS(error->message, "take offline CPU 2");
    CUNIT_ASSERT_CONTAINS(error->message, g_strerror(ENXIO));
    CUNIT_ASSERT_CONTAINS(error->message, "CPUs 3-5 were put back");
    for (guint i = 1; i < 6; i++) {
        if (i != 2)
            CU_ASSERT_EQUAL(fake_sysfs_get_online(root, i), 1);
    }
    fake_sysfs_destroy(root);
}

static void
test_fail_first(void)
{
    char *root = fake_sysfs_new_simple(4, 2, 4);
    g_autoptr(GError) error = NULL;
    g_autoptr(CpuPlan) plan = plan_for(root, 3);

    break_online_file(root, 2, BREAK_DIR);
    CU_ASSERT_FALSE(cpu_plan_apply(root, plan, NULL, &error));
    CUNIT_ASSERT_CONTAINS(error->message, "bring online CPU 2");
    CUNIT_ASSERT_CONTAINS(error->message, "Nothing else had been changed");
    CU_ASSERT_EQUAL(fake_sysfs_get_online(root, 1), 1);
    CU_ASSERT_EQUAL(fake_sysfs_get_online(root, 3), 0);
    fake_sysfs_destroy(root);
}

static void
test_write_online_errno(void)
{
    char *root = fake_sysfs_new_simple(2, 2, 2);

    CU_ASSERT_EQUAL(cpu_control_write_online(root, 1, FALSE), 0);
    CU_ASSERT_EQUAL(fake_sysfs_get_online(root, 1), 0);
    CU_ASSERT_EQUAL(cpu_control_write_online(root, 1, TRUE), 0);
    CU_ASSERT_EQUAL(fake_sysfs_get_online(root, 1), 1);
    /* cpu0 has no online file, cpu7 does not exist. */
    CU_ASSERT_EQUAL(cpu_control_write_online(root, 7, TRUE), -ENOENT);
    break_online_file(root, 1, BREAK_FIFO);
    CU_ASSERT_EQUAL(cpu_control_write_online(root, 1, TRUE), -ENXIO);
    fake_sysfs_destroy(root);
}

static const CunitTest tests[] = {
    { "apply up and down", test_apply_up_down },
    { "rollback while onlining", test_rollback_online },
    { "rollback while offlining", test_rollback_offline },
    { "failure on the first CPU", test_fail_first },
    { "write_online returns -errno", test_write_online_errno },
    { NULL, NULL },
};

void
register_apply_suite(void)
{
    cunit_add_suite("apply", tests);
}
