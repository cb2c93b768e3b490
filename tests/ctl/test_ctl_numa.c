/* test_ctl_numa.c: NUMA domains on libvirt's test driver (issue 21):
 * prepare spreads the new vCPUs over the cells by whole sockets, prints
 * the mapping, and refuses (exit 3, nothing changed) a maximum it cannot
 * spread evenly unless --cells names the split. */
#include <CUnit/Basic.h>
#include <string.h>

#include "cunit_runner.h"

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

static void
register_numa_suite(void)
{
    static const CunitTest tests[] = {
        { "prepare spreads the new vCPUs over the cells", test_prepare_spreads },
        { "prepare refuses an uneven spread unless --cells", test_prepare_uneven_refused },
        { "--cells on a domain without cells", test_cells_without_numa },
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
