/* unit.h: the CUnit suites of the libhotcpu unit tests, one per area. */
#pragma once

#include "cunit_runner.h"

void register_cpulist_suite(void);
void register_protocol_suite(void);
void register_topology_suite(void);
void register_agent_client_suite(void);
void register_safe_text_suite(void);
void register_cancel_suite(void);
void register_keyfile_suite(void);
void register_cpu_planner_suite(void);
