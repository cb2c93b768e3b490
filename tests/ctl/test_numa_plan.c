/* test_numa_plan.c: prepare on a NUMA domain (issue 21, item 1): where the
 * vCPUs a new maximum adds go among the <cpu><numa> cells, on XML strings. */
#include <CUnit/Basic.h>
#include <string.h>

#include "cunit_runner.h"
#include "domain_edit.h"
#include "numa_plan.h"
#include "set_pins.h"

/* A definition of @max vCPUs (@current live), @per_socket cores a socket,
 * with @cells (the <cell> elements). */
static char *
numa_xml(guint current, guint max, guint per_socket, const char *cells)
{
    return g_strdup_printf(
        "<domain type='kvm'>\n  <name>numa1</name>\n"
        "  <memory unit='KiB'>2097152</memory>\n"
        "  <vcpu placement='static' current='%u'>%u</vcpu>\n"
        "  <os><type arch='x86_64' machine='pc-q35-10.0'>hvm</type></os>\n"
        "  <cpu mode='host-model'><topology sockets='%u' dies='1' cores='%u' threads='1'/>\n"
        "    <numa>%s</numa>\n  </cpu>\n"
        "  <devices/>\n</domain>\n",
        current, max, max / per_socket, per_socket, cells);
}

#define TWO_CELLS                                                                                  \
    "<cell id='0' cpus='0-1' memory='1048576' unit='KiB'/>"                                        \
    "<cell id='1' cpus='2-3' memory='1048576' unit='KiB'/>"

static void
expect_cell(const NumaPlan *plan, guint i, const char *want)
{
    g_autofree char *text = cpulist_format(((NumaCell *)plan->cells->pdata[i])->after);

    if (strcmp(text, want) != 0)
        fprintf(stderr, "cell %u: '%s', expected '%s'\n", i, text, want);
    CU_ASSERT_STRING_EQUAL(text, want);
}

static NumaPlan *
read_ok(const char *xml)
{
    g_autoptr(GError) error = NULL;
    NumaPlan *plan = numa_plan_read(xml, &error);

    CU_ASSERT_PTR_NULL(error);
    return plan;
}

/* The domain: cells 0-1 and 2-3, max 4 -> 8: the new vCPUs go to
 * the cells in turn, so that plugging in id order keeps them balanced. */
static void
test_even_round_robin(void)
{
    g_autofree char *xml = numa_xml(2, 4, 1, TWO_CELLS);
    g_autoptr(NumaPlan) plan = read_ok(xml);
    g_autoptr(GError) error = NULL;
    g_autofree char *text = NULL;

    CU_ASSERT_PTR_NOT_NULL_FATAL(plan);
    CU_ASSERT_EQUAL(plan->cells->len, 2);
    CU_ASSERT_TRUE(numa_plan_spread(plan, 8, 1, NULL, 0, "numa1", &error));
    expect_cell(plan, 0, "0-1,4,6");
    expect_cell(plan, 1, "2-3,5,7");
    CU_ASSERT_TRUE(numa_plan_changes(plan));
    text = numa_plan_text(plan, TRUE);
    CU_ASSERT_STRING_EQUAL(text, "cell 0: 0-1,4,6; cell 1: 2-3,5,7");
}

/* Sockets of two: a socket never straddles two cells. */
static void
test_whole_sockets(void)
{
    g_autofree char *xml = numa_xml(2, 4, 2, TWO_CELLS);
    g_autoptr(NumaPlan) plan = read_ok(xml);
    g_autoptr(GError) error = NULL;

    CU_ASSERT_PTR_NOT_NULL_FATAL(plan);
    CU_ASSERT_TRUE(numa_plan_spread(plan, 8, 2, NULL, 0, "numa1", &error));
    expect_cell(plan, 0, "0-1,4-5");
    expect_cell(plan, 1, "2-3,6-7");
}

/* 3 new sockets over 2 cells: refused with the reason, unless --cells
 * names the split. */
static void
test_uneven_refused_unless_split(void)
{
    g_autofree char *xml = numa_xml(2, 4, 1, TWO_CELLS);
    g_autoptr(NumaPlan) plan = read_ok(xml);
    g_autoptr(NumaPlan) again = read_ok(xml);
    g_autoptr(GError) error = NULL;
    g_autofree guint *split = NULL;
    guint n = 0;

    CU_ASSERT_FALSE(numa_plan_spread(plan, 7, 1, NULL, 0, "numa1", &error));
    CU_ASSERT_PTR_NOT_NULL_FATAL(error);
    CUNIT_ASSERT_CONTAINS(error->message, "cannot spread 3 new vCPUs (3 sockets of 1) "
                                          "evenly over the 2 NUMA cells of domain "
                                          "'numa1'");
    CUNIT_ASSERT_CONTAINS(error->message, "--cells");
    g_clear_error(&error);

    CU_ASSERT_TRUE(numa_split_parse("2,1", &split, &n, &error));
    CU_ASSERT_EQUAL(n, 2);
    CU_ASSERT_TRUE(numa_plan_spread(again, 7, 1, split, n, "numa1", &error));
    expect_cell(again, 0, "0-1,4,6");
    expect_cell(again, 1, "2-3,5");
}

static void
test_split_errors(void)
{
    g_autofree char *xml = numa_xml(2, 4, 2, TWO_CELLS);
    g_autoptr(GError) error = NULL;
    g_autofree guint *split = NULL;
    guint n = 0;

    CU_ASSERT_FALSE(numa_split_parse("2,x", &split, &n, &error));
    CU_ASSERT_TRUE(g_error_matches(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE));
    g_clear_error(&error);
    {
        g_autoptr(NumaPlan) plan = read_ok(xml);
        const guint three[] = { 2, 2, 0 };

        CU_ASSERT_FALSE(numa_plan_spread(plan, 8, 2, three, 3, "numa1", &error));
        CUNIT_ASSERT_CONTAINS(error->message, "names 3 NUMA cells but domain 'numa1' "
                                              "has 2");
        g_clear_error(&error);
    }
    {
        g_autoptr(NumaPlan) plan = read_ok(xml);
        const guint odd[] = { 3, 1 };

        CU_ASSERT_FALSE(numa_plan_spread(plan, 8, 2, odd, 2, "numa1", &error));
        CUNIT_ASSERT_CONTAINS(error->message, "not a whole number of sockets");
        g_clear_error(&error);
    }
    {
        g_autoptr(NumaPlan) plan = read_ok(xml);
        const guint more[] = { 4, 2 };

        CU_ASSERT_FALSE(numa_plan_spread(plan, 8, 2, more, 2, "numa1", &error));
        CUNIT_ASSERT_CONTAINS(error->message, "gives 6 new vCPUs but domain 'numa1' "
                                              "gets 4");
    }
}

/* A definition an earlier prepare left with vCPUs 4-7 in no cell (libvirt
 * put them all in cell 0): they are spread; once spread, nothing more. */
static void
test_unnamed_vcpus_spread_then_ready(void)
{
    g_autofree char *xml = numa_xml(2, 8, 1, TWO_CELLS);
    g_autofree char *done = numa_xml(2, 8, 1,
                                     "<cell id='0' cpus='0-1,4,6' memory='1048576' unit='KiB'/>"
                                     "<cell id='1' cpus='2-3,5,7' memory='1048576' unit='KiB'/>");
    g_autoptr(NumaPlan) plan = read_ok(xml);
    g_autoptr(NumaPlan) ready = read_ok(done);
    g_autoptr(GError) error = NULL;

    CU_ASSERT_TRUE(numa_plan_spread(plan, 8, 1, NULL, 0, "numa1", &error));
    expect_cell(plan, 0, "0-1,4,6");
    expect_cell(plan, 1, "2-3,5,7");
    CU_ASSERT_TRUE(numa_plan_spread(ready, 8, 1, NULL, 0, "numa1", &error));
    CU_ASSERT_FALSE(numa_plan_changes(ready));
}

/* A half-named socket keeps its other half in the same cell. */
static void
test_half_named_socket(void)
{
    g_autofree char *xml = numa_xml(2, 8, 2,
                                    "<cell id='0' cpus='0-1,4' memory='1048576' unit='KiB'/>"
                                    "<cell id='1' cpus='2-3' memory='1048576' unit='KiB'/>");
    g_autoptr(NumaPlan) plan = read_ok(xml);
    g_autoptr(GError) error = NULL;

    /* socket 2 (4-5) is cell 0's; socket 3 (6-7) alone is to spread: one
     * socket over two cells does not divide */
    CU_ASSERT_FALSE(numa_plan_spread(plan, 8, 2, NULL, 0, "numa1", &error));
    g_clear_error(&error);
    {
        g_autoptr(NumaPlan) p = read_ok(xml);
        const guint split[] = { 0, 2 };

        CU_ASSERT_TRUE(numa_plan_spread(p, 8, 2, split, 2, "numa1", &error));
        expect_cell(p, 0, "0-1,4-5");
        expect_cell(p, 1, "2-3,6-7");
    }
}

/* A lower maximum takes the vCPUs beyond it out of their cells; one that
 * would empty a cell is refused. */
static void
test_shrink(void)
{
    const char *cells = "<cell id='0' cpus='0-1,4,6' memory='1048576' unit='KiB'/>"
                        "<cell id='1' cpus='2-3,5,7' memory='1048576' unit='KiB'/>";
    g_autofree char *xml = numa_xml(2, 8, 1, cells);
    g_autoptr(NumaPlan) plan = read_ok(xml);
    g_autoptr(NumaPlan) too_far = read_ok(xml);
    g_autoptr(GError) error = NULL;

    CU_ASSERT_TRUE(numa_plan_spread(plan, 4, 1, NULL, 0, "numa1", &error));
    expect_cell(plan, 0, "0-1");
    expect_cell(plan, 1, "2-3");
    CU_ASSERT_FALSE(numa_plan_spread(too_far, 2, 1, NULL, 0, "numa1", &error));
    CUNIT_ASSERT_CONTAINS(error->message, "would leave NUMA cell 1 of domain 'numa1' "
                                          "without vCPUs");
}

/* The edit writes the cells' cpus and nothing else of them: order, ids and
 * memory stay. */
static void
test_edit_writes_cells_only(void)
{
    g_autofree char *xml = numa_xml(2, 4, 1,
                                    "<cell id='1' cpus='2-3' memory='524288' unit='KiB'/>"
                                    "<cell id='0' cpus='0-1' memory='1572864' unit='KiB'/>");
    g_autoptr(DomainInfo) def = domain_info_parse(xml, NULL);
    g_auto(DomainEditPlan) plan = { 0 };
    NumaPlan *numa = read_ok(xml);
    g_autoptr(GError) error = NULL;
    g_autofree char *edited = NULL;

    CU_ASSERT_PTR_NOT_NULL_FATAL(def);
    CU_ASSERT_PTR_NOT_NULL_FATAL(numa);
    CU_ASSERT_TRUE(numa_plan_spread(numa, 8, 1, NULL, 0, "numa1", &error));
    domain_edit_plan(def, 8, &plan);
    domain_edit_plan_set_numa(def, &plan, numa);
    CU_ASSERT_TRUE(plan.redefine);
    CU_ASSERT_FALSE(domain_edit_plan_ready(&plan));
    edited = domain_edit_xml(xml, &plan, &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(edited);
    /* the first cell in the definition's order gets the first new vCPU */
    CUNIT_ASSERT_CONTAINS(edited, "<cell id=\"1\" cpus=\"2-4,6\" memory=\"524288\" unit=\"KiB\"/>");
    CUNIT_ASSERT_CONTAINS(edited,
                          "<cell id=\"0\" cpus=\"0-1,5,7\" memory=\"1572864\" unit=\"KiB\"/>");
    CU_ASSERT_TRUE(strstr(edited, "id=\"1\"") < strstr(edited, "<cell id=\"0\""));
}

/* A cell of memory alone (no cpus) gets no vCPUs unless --cells says so. */
static void
test_memory_only_cell(void)
{
    g_autofree char *xml = numa_xml(2, 4, 1,
                                    "<cell id='0' cpus='0-1' memory='1048576' unit='KiB'/>"
                                    "<cell id='1' memory='524288' unit='KiB'/>"
                                    "<cell id='2' cpus='2-3' memory='1048576' unit='KiB'/>");
    g_autoptr(NumaPlan) plan = read_ok(xml);
    g_autoptr(GError) error = NULL;

    CU_ASSERT_PTR_NOT_NULL_FATAL(plan);
    CU_ASSERT_TRUE(numa_plan_spread(plan, 8, 1, NULL, 0, "numa1", &error));
    expect_cell(plan, 0, "0-1,4,6");
    expect_cell(plan, 1, "");
    expect_cell(plan, 2, "2-3,5,7");
}

static void
test_no_cells(void)
{
    g_autofree char *xml = g_strdup("<domain type='kvm'><name>a</name><vcpu>2</vcpu>"
                                    "<cpu><topology sockets='2' cores='1' threads='1'/></cpu>"
                                    "</domain>");
    g_autoptr(GError) error = NULL;

    CU_ASSERT_PTR_NULL(numa_plan_read(xml, &error));
    CU_ASSERT_PTR_NULL(error);
    CU_ASSERT_PTR_NULL(numa_plan_read("<domain><cpu><numa><cell id='0' cpus='x'/></numa></cpu>"
                                      "</domain>",
                                      &error));
    CU_ASSERT_PTR_NOT_NULL(error);
}

/* ---- set_pins: the rule, without libvirt ---------------------------------- */

#define PINNED_0_1(a, b)                                                                           \
    "<domain type='kvm'><name>pin1</name><vcpu current='2'>4</vcpu><cputune>"                      \
    "<vcpupin vcpu='0' cpuset='" a "'/><vcpupin vcpu='1' cpuset='" b "'/></cputune></domain>"

static void
test_pins_dedicated_needs_free_cpus(void)
{
    g_autoptr(CpuList) enabled = cpulist_parse("0-1", NULL);
    g_autoptr(GError) error = NULL;
    g_autoptr(PinPlan) roomy
        = set_pins_plan(PINNED_0_1("0", "1"), enabled, 2, NULL, TRUE, 4, "pin1", &error);
    g_autoptr(PinPlan) full = NULL, loose = NULL;
    g_autoptr(CpuList) a = NULL, b = NULL;
    g_autofree char *ta = NULL, *tb = NULL;

    CU_ASSERT_PTR_NOT_NULL_FATAL(roomy);
    CU_ASSERT_STRING_EQUAL(roomy->rule, "pattern");
    CU_ASSERT_STRING_EQUAL(roomy->pattern, "dedicated");
    a = set_pins_choose(roomy, 2);
    b = set_pins_choose(roomy, 3);
    ta = cpulist_format(a);
    tb = cpulist_format(b);
    CU_ASSERT_STRING_EQUAL(ta, "2");
    CU_ASSERT_STRING_EQUAL(tb, "3");
    /* a host of 3 CPUs has one left for two new vCPUs: no clear rule */
    full = set_pins_plan(PINNED_0_1("0", "1"), enabled, 2, NULL, TRUE, 3, "pin1", &error);
    CU_ASSERT_PTR_NULL(full);
    CU_ASSERT_PTR_NOT_NULL_FATAL(error);
    CUNIT_ASSERT_CONTAINS(error->message, "but 1 of the host's 3 CPUs are free");
    g_clear_error(&error);
    loose = set_pins_plan(PINNED_0_1("0", "1"), enabled, 2, NULL, FALSE, 3, "pin1", &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(loose);
    CU_ASSERT_STRING_EQUAL(loose->rule, "none");
    CU_ASSERT_PTR_NOT_NULL(loose->unclear);
    {
        /* one vCPU on one host CPU: dedicated, not shared */
        g_autoptr(CpuList) one = cpulist_parse("0", NULL);
        g_autoptr(PinPlan) single = set_pins_plan(
            "<domain><vcpu current='1'>4</vcpu><cputune><vcpupin vcpu='0' cpuset='3'/>"
            "</cputune></domain>",
            one, 1, NULL, TRUE, 4, "pin1", &error);
        g_autoptr(CpuList) next = NULL;
        g_autofree char *text = NULL;

        CU_ASSERT_PTR_NOT_NULL_FATAL(single);
        CU_ASSERT_STRING_EQUAL(single->pattern, "dedicated");
        next = set_pins_choose(single, 1);
        text = cpulist_format(next);
        CU_ASSERT_STRING_EQUAL(text, "0");
    }
}

/* A host of two NUMA nodes, CPUs 0-3 and 4-7, as virConnectGetCapabilities
 * writes it. */
#define HOST_TWO_NODES                                                                             \
    "<capabilities><host><topology><cells num='2'>"                                                \
    "<cell id='0'><cpus num='4'><cpu id='0'/><cpu id='1'/><cpu id='2'/><cpu "                      \
    "id='3'/></cpus></cell>"                                                                       \
    "<cell id='1'><cpus num='4'><cpu id='4'/><cpu id='5'/><cpu id='6'/><cpu "                      \
    "id='7'/></cpus></cell>"                                                                       \
    "</cells></topology></host></capabilities>"

/* vCPUs 0-1 (cell 0) on host CPUs 0-1, vCPU 2 (cell 1) on 4; @extra after
 * the cells. */
#define PINNED_CELLS(extra)                                                                        \
    "<domain><vcpu current='3'>4</vcpu><cputune><vcpupin vcpu='0' cpuset='0'/>"                    \
    "<vcpupin vcpu='1' cpuset='1'/><vcpupin vcpu='2' cpuset='4'/></cputune>" extra                 \
    "<cpu><numa><cell id='0' cpus='0-1' memory='1024'/><cell id='1' cpus='2-3' memory='1024'/>"    \
    "</numa></cpu></domain>"

/* The host CPU the one new vCPU 3 (cell 1) gets on @xml, with @caps. */
static char *
dedicated_pick(const char *xml, const char *caps)
{
    g_autoptr(CpuList) enabled = cpulist_parse("0-2", NULL);
    g_autoptr(GError) error = NULL;
    g_autoptr(PinPlan) plan = set_pins_plan(xml, enabled, 1, NULL, TRUE, 8, "pin1", &error);
    g_autoptr(CpuList) got = NULL;

    if (!plan || !plan->pattern || !g_str_equal(plan->pattern, "dedicated"))
        return g_strdup("(no dedicated plan)");
    set_pins_read_host_nodes(plan, caps);
    got = set_pins_choose(plan, 3);
    return got ? cpulist_format(got) : g_strdup("(none)");
}

/* One host CPU each on a NUMA domain: the new vCPU of cell 1 gets a free
 * host CPU of host node 1, not the lowest free one (2); numatune's
 * <memnode> names the node when it is there; without the host's nodes,
 * or when the node has none free, the lowest free one. */
static void
test_pins_dedicated_by_cell(void)
{
    g_autofree char *same = dedicated_pick(PINNED_CELLS(""), HOST_TWO_NODES);
    g_autofree char *memnode = dedicated_pick(
        PINNED_CELLS("<numatune><memnode cellid='1' mode='strict' nodeset='0'/></numatune>"),
        HOST_TWO_NODES);
    g_autofree char *no_caps = dedicated_pick(PINNED_CELLS(""), NULL);
    g_autofree char *no_node = dedicated_pick(
        PINNED_CELLS("<numatune><memnode cellid='1' mode='strict' nodeset='3'/></numatune>"),
        HOST_TWO_NODES);

    CU_ASSERT_STRING_EQUAL(same, "5");
    CU_ASSERT_STRING_EQUAL(memnode, "2");
    CU_ASSERT_STRING_EQUAL(no_caps, "2");
    CU_ASSERT_STRING_EQUAL(no_node, "2");
}

/* The pin libvirt keeps for a disabled vCPU neither counts in the pattern
 * nor takes a host CPU. */
static void
test_pins_of_disabled_ignored(void)
{
    g_autoptr(CpuList) enabled = cpulist_parse("0-1", NULL);
    g_autoptr(GError) error = NULL;
    g_autoptr(PinPlan) plan
        = set_pins_plan("<domain><vcpu current='2'>4</vcpu><cputune><vcpupin vcpu='0' "
                        "cpuset='1'/><vcpupin vcpu='1' cpuset='2'/><vcpupin vcpu='3' "
                        "cpuset='0-7'/></cputune></domain>",
                        enabled, 2, NULL, TRUE, 8, "pin1", &error);
    g_autoptr(CpuList) a = NULL;
    g_autofree char *text = NULL;

    CU_ASSERT_PTR_NOT_NULL_FATAL(plan);
    CU_ASSERT_STRING_EQUAL(plan->rule, "pattern");
    CU_ASSERT_STRING_EQUAL(plan->pattern, "dedicated");
    a = set_pins_choose(plan, 2);
    text = cpulist_format(a);
    CU_ASSERT_STRING_EQUAL(text, "0");
}

static void
register_numa_plan_suite(void)
{
    static const CunitTest tests[] = {
        { "new vCPUs go round robin, evenly", test_even_round_robin },
        { "by whole sockets", test_whole_sockets },
        { "uneven: refused unless --cells names it", test_uneven_refused_unless_split },
        { "--cells errors", test_split_errors },
        { "vCPUs no cell names are spread; then ready", test_unnamed_vcpus_spread_then_ready },
        { "a half-named socket stays whole", test_half_named_socket },
        { "a lower maximum", test_shrink },
        { "the edit writes the cells' cpus only", test_edit_writes_cells_only },
        { "no cells; unreadable cells", test_no_cells },
        { "a cell of memory alone gets no vCPUs", test_memory_only_cell },
        { "pins: one host CPU each needs free host CPUs", test_pins_dedicated_needs_free_cpus },
        { "pins: one host CPU each from the cell's host node", test_pins_dedicated_by_cell },
        { "pins: a disabled vCPU's pin counts for nothing", test_pins_of_disabled_ignored },
        { NULL, NULL },
    };

    cunit_add_suite("numa_plan", tests);
}

static const CunitSuite suites[] = {
    { "numa_plan", register_numa_plan_suite },
    { NULL, NULL },
};

int
main(int argc, char **argv)
{
    return cunit_run(argc, argv, suites);
}
