/* test_main.c: runs the agent's test suites (all, or the one named). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "agent_test.h"

void
agent_test_add_suite(const char *name, const AgentTest *tests)
{
    CU_pSuite suite = CU_add_suite(name, NULL, NULL);

    if (suite == NULL)
        g_error("cannot add CUnit suite %s: %s", name, CU_get_error_msg());
    for (const AgentTest *t = tests; t->name != NULL; t++) {
        if (CU_add_test(suite, t->name, t->func) == NULL)
            g_error("cannot add CUnit test %s: %s", t->name, CU_get_error_msg());
    }
}

void
agent_test_assert_str(const char *actual, const char *expected, unsigned line, const char *file)
{
    gboolean same = actual != NULL && expected != NULL && strcmp(actual, expected) == 0;

    if (!same)
        fprintf(stderr, "\n%s:%u: got '%s', expected '%s'\n", file, line,
                actual != NULL ? actual : "(null)", expected != NULL ? expected : "(null)");
    CU_assertImplementation(same, line, "string equality", file, "", CU_FALSE);
}

void
agent_test_assert_contains(const char *haystack, const char *needle, unsigned line,
                           const char *file)
{
    gboolean found = haystack != NULL && strstr(haystack, needle) != NULL;

    if (!found)
        fprintf(stderr, "\n%s:%u: '%s' does not contain '%s'\n", file, line,
                haystack != NULL ? haystack : "(null)", needle);
    CU_assertImplementation(found, line, "substring", file, "", CU_FALSE);
}

static const struct {
    const char *name;
    void (*reg)(void);
} suites[] = {
    {"plan", register_plan_suite},
    {"apply", register_apply_suite},
    {"uevent", register_uevent_suite},
    {"channel", register_channel_suite},
    {"config", register_config_suite},
    {"commands", register_commands_suite},
    {"badinput", register_badinput_suite},
    {"stream", register_stream_suite},
    {"hotplug", register_hotplug_suite},
    {"idle", register_idle_suite},
};

int
main(int argc, char **argv)
{
    unsigned failures;
    unsigned ran;
    gboolean found = FALSE;

    /* As hotcpu-agent's main does: a peer that hangs up must not kill us. */
    signal(SIGPIPE, SIG_IGN);
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
        fprintf(stderr, "no suite named %s\n", argv[1]);
        CU_cleanup_registry();
        return EXIT_FAILURE;
    }
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    failures = CU_get_number_of_failures();
    ran = CU_get_number_of_tests_run();
    CU_cleanup_registry();
    /* A suite that ran nothing proves nothing. */
    return failures == 0 && ran > 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
