/* cunit_runner.h: the one CUnit runner of the test programs.
 *
 * A program lists its suites in a static table ({name, register function},
 * ended by {NULL, NULL}) and returns cunit_run() from main; whatever is its
 * own (environment checks, signal dispositions, teardown after the run) stays
 * in its main around that call.  Each register function adds its tests with
 * cunit_add_suite() or cunit_add_suite_full().
 */
#pragma once

#include <CUnit/CUnit.h>

/* A test: its name in CUnit's output and its function.  Tables end with
 * {NULL, NULL}. */
typedef struct {
    const char *name;
    CU_TestFunc func;
} CunitTest;

/* A suite of a program: cunit_run() calls @reg when the suite is to run. */
typedef struct {
    const char *name;
    void (*reg)(void);
} CunitSuite;

/* Adds a suite and its tests.  Aborts the program when CUnit refuses (that is
 * a broken test program, not a failing test). */
void cunit_add_suite(const char *name, const CunitTest *tests);
/* The same with CUnit's optional (NULL) hooks: @init and @cleanup around the
 * suite, @setup and @teardown around each of its tests. */
void cunit_add_suite_full(const char *name, CU_InitializeFunc init, CU_CleanupFunc cleanup,
                          CU_SetUpFunc setup, CU_TearDownFunc teardown, const CunitTest *tests);

/* Registers every suite of @suites, or only the one named by argv[1] (an
 * unknown name is an error), and runs them with CU_BRM_VERBOSE.  Returns
 * EXIT_SUCCESS only when tests ran, no assertion failed, no test failed and
 * no suite failed to initialise; EXIT_FAILURE otherwise. */
int cunit_run(int argc, char **argv, const CunitSuite *suites);

/* CU_ASSERT_STRING_EQUAL that also prints both strings when they differ (and
 * takes NULL for either). */
#define CUNIT_ASSERT_STR(actual, expected)                                                         \
    cunit_assert_str((actual), (expected), __LINE__, __FILE__)
void cunit_assert_str(const char *actual, const char *expected, unsigned line, const char *file);

/* CU_ASSERT that @haystack contains @needle, printing both when it does not. */
#define CUNIT_ASSERT_CONTAINS(haystack, needle)                                                    \
    cunit_assert_contains((haystack), (needle), __LINE__, __FILE__)
void cunit_assert_contains(const char *haystack, const char *needle, unsigned line,
                           const char *file);

/* CU_ASSERT that @haystack (NULL: empty) does not contain @needle,
 * printing both when it does. */
#define CUNIT_ASSERT_NOT_CONTAINS(haystack, needle)                                                \
    cunit_assert_not_contains((haystack), (needle), __LINE__, __FILE__)
void cunit_assert_not_contains(const char *haystack, const char *needle, unsigned line,
                               const char *file);
