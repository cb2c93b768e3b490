/* test_main.c: runs the libhotcpu unit suites (all, or the one named). */
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "unit.h"

void
unit_add_suite(const char *name, const UnitTest *tests)
{
    CU_pSuite suite = CU_add_suite(name, NULL, NULL);

    if (suite == NULL)
        g_error("cannot add CUnit suite %s: %s", name, CU_get_error_msg());
    for (const UnitTest *t = tests; t->name != NULL; t++) {
        if (CU_add_test(suite, t->name, t->func) == NULL)
            g_error("cannot add CUnit test %s: %s", t->name, CU_get_error_msg());
    }
}

void
unit_assert_str(const char *actual, const char *expected, unsigned line, const char *file)
{
    gboolean same = actual != NULL && expected != NULL && strcmp(actual, expected) == 0;

    if (!same)
        fprintf(stderr, "\n%s:%u: got '%s', expected '%s'\n", file, line,
                actual != NULL ? actual : "(null)", expected != NULL ? expected : "(null)");
    CU_assertImplementation(same, line, "string equality", file, "", CU_FALSE);
}

static const struct {
    const char *name;
    void (*reg)(void);
} suites[] = {
    { "cpulist", register_cpulist_suite },
    { "protocol", register_protocol_suite },
    { "topology", register_topology_suite },
    { "agent_client", register_agent_client_suite },
};

int
main(int argc, char **argv)
{
    unsigned failures;
    gboolean found = FALSE;

    if (CU_initialize_registry() != CUE_SUCCESS) {
        fprintf(stderr, "cannot initialise CUnit: %s\n", CU_get_error_msg());
        return EXIT_FAILURE;
    }
    for (gsize i = 0; i < G_N_ELEMENTS(suites); i++) {
        if (argc < 2 || strcmp(argv[1], suites[i].name) == 0) {
            suites[i].reg();
            found = TRUE;
        }
    }
    if (!found) {
        fprintf(stderr, "unknown suite '%s'\n", argv[1]);
        CU_cleanup_registry();
        return EXIT_FAILURE;
    }

    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    /* Read before the cleanup, which resets the counts. */
    failures = CU_get_number_of_failures();
    CU_cleanup_registry();
    return failures > 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
