/* test_main.c: runs the libhotcpu unit suites (all, or the one named). */
#include "unit.h"

/* clang-format off */
static const CunitSuite suites[] = {
    { "cpulist", register_cpulist_suite },
    { "protocol", register_protocol_suite },
    { "topology", register_topology_suite },
    { "agent_client", register_agent_client_suite },
    { "safe_text", register_safe_text_suite },
    { "cancel", register_cancel_suite },
    { "keyfile", register_keyfile_suite },
    { "cpu_planner", register_cpu_planner_suite },
    { NULL, NULL },
};
/* clang-format on */

int
main(int argc, char **argv)
{
    return cunit_run(argc, argv, suites);
}
