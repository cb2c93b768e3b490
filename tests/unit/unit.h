/* unit.h: the CUnit suites of the libhotcpu unit tests, one per area. */
#pragma once

#include <CUnit/CUnit.h>

void register_cpulist_suite(void);
void register_protocol_suite(void);
void register_topology_suite(void);
void register_agent_client_suite(void);

/* Adds a suite and its tests; aborts the program when CUnit refuses (that is
 * a broken test program, not a failing test). */
typedef struct {
    const char *name;
    CU_TestFunc func;
} UnitTest;

void unit_add_suite(const char *name, const UnitTest *tests);

/* CU_ASSERT_STRING_EQUAL that also prints both strings when they differ. */
#define UNIT_ASSERT_STR(actual, expected) unit_assert_str((actual), (expected), __LINE__, __FILE__)
void unit_assert_str(const char *actual, const char *expected, unsigned line, const char *file);
