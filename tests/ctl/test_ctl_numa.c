/* test_ctl_numa.c: NUMA domains on libvirt's test driver (issue 21):
 * prepare spreads the new vCPUs over the cells by whole sockets, prints
 * the mapping, and refuses (exit 3, nothing changed) a maximum it cannot
 * spread evenly unless --cells names the split. */
#include <CUnit/Basic.h>
#include <string.h>

#include "cunit_runner.h"
#include "fake_sysfs.h"

#include "ctl_fixture.h"

#define TWO_CELLS                                                                                  \
    "<cpu><numa><cell id='0' cpus='0-1' memory='524288'/>"                                         \
    "<cell id='1' cpus='2-3' memory='524288'/></numa></cpu>"

/* numa1: shut off, max 4, cells 0-1 and 2-3, the agent channel there. */
static Fx *
numa_domain(void)
{
    Fx *fx = fx_new();
    g_autofree char *sock = g_build_filename(fx->dir, "agent.sock", NULL);
    Dom d = { .name = "numa1",
              .current = 2,
              .max = 4,
              .vcpus = TWO_CELLS,
              .runstate = 5,
              .agent_socket = sock };

    fx_domain(fx, &d);
    return fx;
}

static void
test_prepare_spreads(void)
{
    Fx *fx = numa_domain();

    CU_ASSERT_EQUAL(fx_run(fx, "prepare", "numa1", "--max", "8"), 0);
    if (fx->status != 0)
        fprintf(stderr, "\nprepare: %s\n", fx->err);
    CUNIT_ASSERT_CONTAINS(fx->out, "NUMA cells' vCPUs: cell 0: 0-1; cell 1: 2-3 -> "
                                   "cell 0: 0-1,4,6; cell 1: 2-3,5,7");
    CU_ASSERT_EQUAL(fx_run(fx, "--json", "prepare", "numa1", "--max", "8", "--dry-run"), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fx->json);
    fx_free(fx);
}

static void
test_prepare_uneven_refused(void)
{
    Fx *fx = numa_domain();
    g_autoptr(JsonObject) rec = NULL;

    CU_ASSERT_EQUAL(fx_run(fx, "prepare", "numa1", "--max", "7"), 3);
    CU_ASSERT_TRUE(err_has(fx, "cannot spread 3 new vCPUs (3 sockets of 1) evenly over the 2 "
                               "NUMA cells of domain 'numa1'"));
    rec = fx_audit_last(fx, 1);
    CU_ASSERT_STRING_EQUAL(json_object_get_string_member(rec, "outcome"), "refused");
    /* named: done as named */
    CU_ASSERT_EQUAL(fx_run(fx, "prepare", "numa1", "--max", "7", "--cells", "1,2"), 0);
    CUNIT_ASSERT_CONTAINS(fx->out, "-> cell 0: 0-1,4; cell 1: 2-3,5-6");
    /* wrong --cells: refused with the reason */
    CU_ASSERT_EQUAL(fx_run(fx, "prepare", "numa1", "--max", "7", "--cells", "2,2"), 3);
    CU_ASSERT_TRUE(err_has(fx, "--cells gives 4 new vCPUs but domain 'numa1' gets 3"));
    CU_ASSERT_EQUAL(fx_run(fx, "prepare", "numa1", "--max", "7", "--cells", "a"), 3);
    fx_free(fx);
}

static void
test_cells_without_numa(void)
{
    Fx *fx = fx_new();
    Dom d = { .name = "flat", .current = 2, .max = 4, .runstate = 5 };

    fx_domain(fx, &d);
    CU_ASSERT_EQUAL(fx_run(fx, "prepare", "flat", "--max", "8", "--cells", "2,2"), 3);
    CU_ASSERT_TRUE(err_has(fx, "--cells was given but domain 'flat' has no NUMA cells"));
    fx_free(fx);
}

/* ---- get and topology per cell ------------------------------------------------ */

/* A guest of 4 CPUs, 0-1 on node 0 and 2-3 on node 1, @online of them
 * online. */
static char *
two_node_tree(guint online)
{
    char *tree = fake_sysfs_new();
    g_autofree char *mask = g_strdup_printf("0-%u", online - 1);

    fake_sysfs_set_masks(tree, mask, "0-3", "0-3");
    for (guint id = 0; id < 4; id++) {
        FakeCpu c = { .id = id,
                      .has_online_file = id != 0,
                      .online = id < online,
                      .socket = (gint)id,
                      .core = 0,
                      .node = (gint)(id / 2) };

        fake_sysfs_add_cpu(tree, &c);
    }
    return tree;
}

static void
test_get_topology_per_cell(void)
{
    Fx *fx = fx_new();
    Agent *a = agent_start(fx, two_node_tree(3));
    Dom d = {
        .name = "numa1", .current = 3, .max = 4, .vcpus = TWO_CELLS, .agent_socket = a->socket
    };
    JsonArray *cells;

    fx_domain(fx, &d);
    CU_ASSERT_EQUAL(fx_run(fx, "get", "numa1"), 0);
    CUNIT_ASSERT_CONTAINS(fx->out, "NUMA cell 0   vCPUs 0-1              guest node 0 online 0-1");
    CUNIT_ASSERT_CONTAINS(fx->out, "NUMA cell 1   vCPUs 2                guest node 1 online 2");
    CU_ASSERT_EQUAL(fx_run(fx, "--json", "get", "numa1"), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fx->json);
    cells = json_object_get_array_member(fx->json, "numa-cells");
    CU_ASSERT_EQUAL_FATAL(json_array_get_length(cells), 2);
    CUNIT_ASSERT_STR(
        json_object_get_string_member(json_array_get_object_element(cells, 1), "vcpus"), "2");
    CUNIT_ASSERT_STR(
        json_object_get_string_member(json_array_get_object_element(cells, 1), "guest-online"),
        "2");
    CU_ASSERT_EQUAL(fx_run(fx, "topology", "numa1"), 0);
    CUNIT_ASSERT_CONTAINS(fx->out, "NUMA cell 1   vCPUs 2                guest node 1 online 2");
    CU_ASSERT_EQUAL(fx_run(fx, "--json", "topology", "numa1"), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fx->json);
    CU_ASSERT_TRUE(json_object_has_member(fx->json, "numa-cells"));
    agent_stop(a);
    fx_free(fx);
}

/* ---- pins for the vCPUs a plug adds ----------------------------------------------- */

#define META_PIN(policy)                                                                           \
    "<hotcpu:hotcpu xmlns:hotcpu='http://hotcpu.org/xmlns/libvirt/domain/1.0'>"                    \
    "<hotcpu:pin policy='" policy "'/></hotcpu:hotcpu>"

/* The pins of the last audit record as "ID=CPUS ..." ("" when none), and
 * its rule in *@rule ("" when none). */
static char *
audit_pins(Fx *fx, char **rule)
{
    g_autoptr(GPtrArray) recs = fx_audit(fx);
    JsonObject *last = recs->len ? recs->pdata[recs->len - 1] : NULL;
    GString *text = g_string_new(NULL);

    *rule = g_strdup(last ? json_object_get_string_member_with_default(last, "pin-rule", "") : "");
    if (last && json_object_has_member(last, "pins")) {
        JsonObject *pins = json_object_get_object_member(last, "pins");
        g_autoptr(GList) ids = json_object_get_members(pins);

        for (GList *l = ids; l; l = l->next)
            g_string_append_printf(text, "%s%s=%s", text->len ? " " : "", (char *)l->data,
                                   json_object_get_string_member(pins, l->data));
    }
    return g_string_free(text, FALSE);
}

/* pin1 with @cputune and @metadata, 2 of 4 vCPUs live (3 with @three),
 * set to @count with @extra (NULL-terminated); checks exit @want and the
 * recorded pins @want_pins and rule @want_rule. */
static void
check_pins(const char *cputune, const char *metadata, const char *cells, const char *count,
           const char *const *extra, int want, const char *want_pins, const char *want_rule)
{
    Fx *fx = fx_new();
    g_autofree char *vcpus = g_strdup_printf("%s%s", cputune, cells ? cells : "");
    Dom d = {
        .name = "pin1", .current = cells ? 3 : 2, .max = 4, .vcpus = vcpus, .metadata = metadata
    };
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_autofree char *pins = NULL, *rule = NULL;

    fx_domain(fx, &d);
    g_ptr_array_add(argv, "set");
    g_ptr_array_add(argv, "pin1");
    g_ptr_array_add(argv, (gpointer)count);
    for (guint i = 0; extra && extra[i]; i++)
        g_ptr_array_add(argv, (gpointer)extra[i]);
    g_ptr_array_add(argv, NULL);
    CU_ASSERT_EQUAL(fx_run_v(fx, (const char *const *)argv->pdata), want);
    if (fx->status != want)
        fprintf(stderr, "\nset %s: exit %d: %s%s\n", count, fx->status, fx->out, fx->err);
    pins = audit_pins(fx, &rule);
    CUNIT_ASSERT_STR(pins, want_pins);
    CUNIT_ASSERT_STR(rule, want_rule);
    CUNIT_ASSERT_NOT_CONTAINS(fx->err, "libvirt did not pin");
    fx_free(fx);
}

#define SHARED "<cputune><vcpupin vcpu='0' cpuset='4-5'/><vcpupin vcpu='1' cpuset='4-5'/></cputune>"
#define DEDICATED "<cputune><vcpupin vcpu='0' cpuset='1'/><vcpupin vcpu='1' cpuset='2'/></cputune>"
#define DEDICATED_3                                                                                \
    "<cputune><vcpupin vcpu='0' cpuset='1'/><vcpupin vcpu='1' cpuset='2'/>"                        \
    "<vcpupin vcpu='2' cpuset='3'/></cputune>"
#define MIXED "<cputune><vcpupin vcpu='0' cpuset='0-1'/><vcpupin vcpu='1' cpuset='2'/></cputune>"

static void
test_pins_by_pattern(void)
{
    /* every vCPU on the same host CPUs: the new ones too */
    check_pins(SHARED, NULL, NULL, "4", NULL, 0, "2=4-5 3=4-5", "pattern");
    /* one host CPU each: each new one the lowest no pin uses */
    check_pins(DEDICATED, NULL, NULL, "4", NULL, 0, "2=0 3=3", "pattern");
    /* no pins: none set */
    check_pins("", NULL, NULL, "4", NULL, 0, "", "");
}

static void
test_pins_by_cpuset(void)
{
    const char *one_each[] = { "--cpuset", "6-7", NULL };
    const char *shared[] = { "--cpuset", "6", NULL };
    const char *bad[] = { "--cpuset", "x", NULL };
    const char *beyond[] = { "--cpuset", "4000", NULL };

    check_pins(DEDICATED, NULL, NULL, "4", one_each, 0, "2=6 3=7", "cpuset");
    check_pins(DEDICATED, NULL, NULL, "4", shared, 0, "2=6 3=6", "cpuset");
    /* --cpuset wins over the pattern and pins a domain without pins too */
    check_pins("", NULL, NULL, "3", shared, 0, "2=6", "cpuset");
    check_pins(DEDICATED, NULL, NULL, "4", bad, 3, "", "");
    check_pins(DEDICATED, NULL, NULL, "4", beyond, 3, "", "");
}

static void
test_pins_by_metadata(void)
{
    check_pins(DEDICATED, META_PIN("spread"), NULL, "4", NULL, 0, "2=1-2 3=1-2", "spread");
    check_pins(DEDICATED, META_PIN("none"), NULL, "4", NULL, 0, "", "");
    /* same-cell: vCPU 3 is in cell 1, where vCPU 2 runs on host CPU 6 */
    check_pins("<cputune><vcpupin vcpu='0' cpuset='4'/><vcpupin vcpu='1' cpuset='5'/>"
               "<vcpupin vcpu='2' cpuset='6'/></cputune>",
               META_PIN("same-cell"), TWO_CELLS, "4", NULL, 0, "3=6", "same-cell");
    check_pins(DEDICATED, META_PIN("nearby"), NULL, "4", NULL, 3, "", "");
}

/* An unplug (--force: the vCPU is pinned) takes the removed vCPU's pin off
 * once the vCPU is gone.  libvirt's test driver pins no disabled vCPU (QEMU's
 * driver does: e2e-numa proves the removal), so here the unplug succeeds and
 * says, naming the vCPU and its pin, that libvirt kept it. */
static void
test_unplug_removes_pin(void)
{
    Fx *fx = fx_new();
    Dom d = { .name = "pin1",
              .current = 3,
              .max = 4,
              .vcpus = DEDICATED_3,
              .os_id = "http://fedoraproject.org/fedora/39" };

    fx_domain(fx, &d);
    CU_ASSERT_EQUAL(fx_run(fx, "set", "pin1", "2"), 3);
    CU_ASSERT_TRUE(err_has(fx, "would remove vCPU 2, which has an explicit <vcpupin>"));
    CU_ASSERT_EQUAL(fx_run(fx, "--json", "set", "pin1", "2", "--force"), 0);
    CU_ASSERT_TRUE(err_has(fx, "libvirt kept the pin of removed vCPU 2 (3: "));
    CU_ASSERT_PTR_NOT_NULL_FATAL(fx->json);
    CU_ASSERT_FALSE(json_object_has_member(fx->json, "pins-removed"));
    fx_free(fx);
}

/* ---- set --node ------------------------------------------------------------------- */

/* Refused before anything changes (exit 3), one sentence naming the
 * domain, the cell and the limit. */
static void
test_node_refusals(void)
{
    Fx *fx = fx_new();
    Dom flat = { .name = "flat", .current = 2, .max = 4 };
    Dom d = { .name = "numa1", .current = 3, .max = 4, .vcpus = TWO_CELLS };

    fx_domain(fx, &flat);
    CU_ASSERT_EQUAL(fx_run(fx, "set", "flat", "3", "--node", "0"), 3);
    CU_ASSERT_TRUE(err_has(fx, "--node 0 was given but domain 'flat' has no NUMA cells"));
    fx_domain(fx, &d);
    CU_ASSERT_EQUAL(fx_run(fx, "set", "numa1", "4", "--node", "5"), 3);
    CU_ASSERT_TRUE(err_has(fx, "domain 'numa1' has NUMA cells 0-1; --node 5 is not one"));
    /* cell 0 (0-1) has every vCPU enabled: nothing to plug there */
    CU_ASSERT_EQUAL(fx_run(fx, "set", "numa1", "4", "--node", "0"), 3);
    CU_ASSERT_TRUE(err_has(fx, "NUMA cell 0 of domain 'numa1' (vCPUs 0-1, 2 enabled) can gain 0 "
                               "vCPUs, but growing from 3 to 4 vCPUs takes 1; nothing changed"));
    /* cell 1 has vCPU 2 alone enabled: it keeps it */
    CU_ASSERT_EQUAL(fx_run(fx, "set", "numa1", "2", "--node", "1"), 3);
    CU_ASSERT_TRUE(err_has(fx, "NUMA cell 1 of domain 'numa1' (vCPUs 2-3, 1 enabled) can lose 0 "
                               "vCPUs, but shrinking from 3 to 2 vCPUs takes 1"));
    CU_ASSERT_EQUAL(fx_run(fx, "set", "numa1", "4", "--node", "1", "--config"), 3);
    CU_ASSERT_TRUE(err_has(fx, "--node 1 changes the running domain 'numa1' only"));
    CU_ASSERT_EQUAL(fx_run(fx, "set", "numa1", "4", "--node", "x"), 2);
    /* the count it has: nothing to do in the cell, done (as without --node) */
    CU_ASSERT_EQUAL(fx_run(fx, "set", "numa1", "3", "--node", "1"), 0);
    {
        /* each refusal recorded as one (the usage error none), then the
         * no-op */
        g_autoptr(GPtrArray) recs = fx_audit(fx);

        CU_ASSERT_EQUAL(recs->len, 6);
        for (guint i = 0; i + 1 < recs->len; i++)
            CU_ASSERT_STRING_EQUAL(json_object_get_string_member(recs->pdata[i], "outcome"),
                                   "refused");
    }
    fx_free(fx);
}

/* libvirt's test driver has no virDomainSetVcpu: the plug of vCPU 3 into
 * cell 1 fails with libvirt's words, exit 5, nothing changed, recorded
 * with the cell and its vCPU. */
static void
test_node_hypervisor_failure(void)
{
    Fx *fx = fx_new();
    Dom d = { .name = "numa1", .current = 3, .max = 4, .vcpus = TWO_CELLS };
    g_autoptr(JsonObject) rec = NULL;

    fx_domain(fx, &d);
    CU_ASSERT_EQUAL(fx_run(fx, "set", "numa1", "4", "--node", "1"), 5);
    CU_ASSERT_TRUE(
        err_has(fx, "libvirt could not enable vCPU 3 of NUMA cell 1 of domain 'numa1': "));
    CU_ASSERT_TRUE(err_has(fx, "nothing changed"));
    rec = fx_audit_last(fx, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rec);
    CU_ASSERT_STRING_EQUAL(json_object_get_string_member(rec, "outcome"), "failed");
    CU_ASSERT_EQUAL(json_object_get_int_member(rec, "node"), 1);
    CUNIT_ASSERT_STR(json_object_get_string_member(rec, "node-vcpus"), "3");
    CU_ASSERT_EQUAL(json_object_get_int_member(rec, "actual"), 3);
    fx_free(fx);
}

/* Pins with no clear pattern: a warning and no pins, or refused. */
static void
test_pins_unclear(void)
{
    const char *strict[] = { "--strict-pinning", NULL };
    Fx *fx = fx_new();
    Dom d = { .name = "pin1", .current = 2, .max = 4, .vcpus = MIXED };

    check_pins(MIXED, NULL, NULL, "4", NULL, 0, "", "");
    check_pins(MIXED, NULL, NULL, "4", strict, 3, "", "");
    fx_domain(fx, &d);
    CU_ASSERT_EQUAL(fx_run(fx, "set", "pin1", "3", "--strict-pinning"), 3);
    CU_ASSERT_TRUE(err_has(fx, "the pins of domain 'pin1' (vCPUs 0-1) follow no clear pattern"));
    CU_ASSERT_TRUE(err_has(fx, "nothing changed"));
    {
        /* refused before the attempt record: one record, "refused" */
        g_autoptr(GPtrArray) all = fx_audit_all(fx);
        JsonObject *only = all->len == 1 ? all->pdata[0] : NULL;

        CU_ASSERT_EQUAL(all->len, 1);
        CU_ASSERT_STRING_EQUAL(only ? json_object_get_string_member(only, "outcome") : "",
                               "refused");
    }
    CU_ASSERT_EQUAL(fx_run(fx, "set", "pin1", "3"), 0);
    CU_ASSERT_TRUE(err_has(fx, "follow no clear pattern"));
    CU_ASSERT_TRUE(err_has(fx, "they stay unpinned"));
    fx_free(fx);
}

static void
register_numa_suite(void)
{
    static const CunitTest tests[] = {
        { "prepare spreads the new vCPUs over the cells", test_prepare_spreads },
        { "prepare refuses an uneven spread unless --cells", test_prepare_uneven_refused },
        { "--cells on a domain without cells", test_cells_without_numa },
        { "get and topology per cell", test_get_topology_per_cell },
        { "pins by the pattern of the live pins", test_pins_by_pattern },
        { "pins by --cpuset", test_pins_by_cpuset },
        { "pins by hotcpu's metadata", test_pins_by_metadata },
        { "pins without a clear pattern", test_pins_unclear },
        { "an unplug takes the removed vCPU's pin off", test_unplug_removes_pin },
        { "set --node: the refusals", test_node_refusals },
        { "set --node: libvirt's failure changes nothing", test_node_hypervisor_failure },
        { NULL, NULL },
    };

    cunit_add_suite("numa", tests);
}

static const CunitSuite suites[] = {
    { "numa", register_numa_suite },
    { NULL, NULL },
};

int
main(int argc, char **argv)
{
    if (!fx_init())
        return 1;
    return cunit_run(argc, argv, suites);
}
