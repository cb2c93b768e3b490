/* test_main.c: runs the agent's test suites (all, or the one named). */
#include <signal.h>

#include "agent_test.h"

static const CunitSuite suites[] = {
    { "plan", register_plan_suite },
    { "apply", register_apply_suite },
    { "uevent", register_uevent_suite },
    { "channel", register_channel_suite },
    { "config", register_config_suite },
    { "writer", register_writer_suite },
    { "load", register_load_suite },
    { "commands", register_commands_suite },
    { "badinput", register_badinput_suite },
    { "stream", register_stream_suite },
    { "hotplug", register_hotplug_suite },
    { "idle", register_idle_suite },
    { "memory", register_memory_suite },
    { "load-agent", register_load_agent_suite },
    { NULL, NULL },
};

int
main(int argc, char **argv)
{
    /* As hotcpu-agent's main does: a peer that hangs up must not kill us. */
    signal(SIGPIPE, SIG_IGN);
    return cunit_run(argc, argv, suites);
}
