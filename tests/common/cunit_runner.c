/* cunit_runner.c: suite registration, the run and the exit status shared by
 * every CUnit test program (see cunit_runner.h). */
#include "cunit_runner.h"

#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

void
cunit_add_suite_full(const char *name, CU_InitializeFunc init, CU_CleanupFunc cleanup,
                     CU_SetUpFunc setup, CU_TearDownFunc teardown, const CunitTest *tests)
{
    CU_pSuite suite = CU_add_suite_with_setup_and_teardown(name, init, cleanup, setup, teardown);

    if (suite == NULL)
        g_error("cannot add CUnit suite %s: %s", name, CU_get_error_msg());
    for (const CunitTest *t = tests; t->name != NULL; t++) {
        if (CU_add_test(suite, t->name, t->func) == NULL)
            g_error("cannot add CUnit test %s: %s", t->name, CU_get_error_msg());
    }
}

void
cunit_add_suite(const char *name, const CunitTest *tests)
{
    cunit_add_suite_full(name, NULL, NULL, NULL, NULL, tests);
}

void
cunit_assert_str(const char *actual, const char *expected, unsigned line, const char *file)
{
    gboolean same = actual != NULL && expected != NULL && strcmp(actual, expected) == 0;

    if (!same)
        fprintf(stderr, "\n%s:%u: got '%s', expected '%s'\n", file, line,
                actual != NULL ? actual : "(null)", expected != NULL ? expected : "(null)");
    CU_assertImplementation(same, line, "string equality", file, "", CU_FALSE);
}

void
cunit_assert_contains(const char *haystack, const char *needle, unsigned line, const char *file)
{
    gboolean found = haystack != NULL && strstr(haystack, needle) != NULL;

    if (!found)
        fprintf(stderr, "\n%s:%u: '%s' does not contain '%s'\n", file, line,
                haystack != NULL ? haystack : "(null)", needle);
    CU_assertImplementation(found, line, "substring", file, "", CU_FALSE);
}

void
cunit_assert_not_contains(const char *haystack, const char *needle, unsigned line, const char *file)
{
    gboolean found = haystack != NULL && strstr(haystack, needle) != NULL;

    if (found)
        fprintf(stderr, "\n%s:%u: '%s' contains '%s'\n", file, line, haystack, needle);
    CU_assertImplementation(!found, line, "no substring", file, "", CU_FALSE);
}

int
cunit_run(int argc, char **argv, const CunitSuite *suites)
{
    const char *only = argc > 1 ? argv[1] : NULL;
    gboolean found = FALSE;
    CU_RunSummary summary;
    unsigned failures;

    if (CU_initialize_registry() != CUE_SUCCESS) {
        fprintf(stderr, "cannot initialise CUnit: %s\n", CU_get_error_msg());
        return EXIT_FAILURE;
    }
    for (const CunitSuite *s = suites; s->name != NULL; s++) {
        if (only == NULL || strcmp(only, s->name) == 0) {
            s->reg();
            found = TRUE;
        }
    }
    if (!found) {
        fprintf(stderr, "unknown suite '%s'\n", only != NULL ? only : "");
        CU_cleanup_registry();
        return EXIT_FAILURE;
    }

    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    /* Read before the cleanup, which resets the counts. */
    failures = CU_get_number_of_failures();
    summary = *CU_get_run_summary();
    CU_cleanup_registry();

    /* A suite whose init failed ran none of its tests: that is no pass, and
     * neither is a run of nothing at all. */
    if (failures > 0 || summary.nTestsFailed > 0 || summary.nSuitesFailed > 0
        || summary.nTestsRun == 0)
        return EXIT_FAILURE;
    return EXIT_SUCCESS;
}
