/* cmd_set.c: `hotcpu-ctl set DOMAIN COUNT`: its options, and the command
 * line made into the SetRequest that set_execute() (set/) runs. */
#include "set_run.h"

#include "hook_env.h"

static int
cmd_set(CtlContext *ctx, const CmdArgs *args)
{
    SetRequest req = {
        .domain = cmd_arg_string(args, "domain"),
        .value = cmd_arg_uint(args, "count", 0),
        .sockets = cmd_arg_bool(args, "sockets"),
        .config = cmd_arg_bool(args, "config"),
        .force = cmd_arg_bool(args, "force"),
        .require_guest = cmd_arg_bool(args, "require-guest"),
        .timeout = cmd_arg_uint(args, "timeout", CTL_DEFAULT_TIMEOUT_S),
        .hook_env = cmd_arg_strings(args, "hook-env"),
        .cpuset = cmd_arg_string(args, "cpuset"),
        .strict_pinning = cmd_arg_bool(args, "strict-pinning"),
        .has_node = cmd_arg_bool(args, "node"),
        .node = cmd_arg_uint(args, "node", 0),
        .timings = cmd_arg_bool(args, "timings"),
    };
    g_autoptr(GError) error = NULL;

    if (!hook_env_check_args(req.hook_env, &error))
        return output_fail(ctx->out, CTL_EXIT_USAGE, NULL, "%s", error->message);
    return set_execute(ctx, &req);
}

static const CmdOptDef opts_set[] = {
    CMD_OPT_DOMAIN,
    { "count", OPT_UINT, TRUE, TRUE, "count", "number of vCPUs (or of sockets with --sockets)" },
    { "sockets", OPT_BOOL, FALSE, FALSE, NULL,
      "count is in sockets: count x cores x threads vCPUs, from the domain's <cpu><topology>" },
    { "config", OPT_BOOL, FALSE, FALSE, NULL,
      "also update the persistent definition (after the live change succeeded); on a shut-off "
      "domain, change only the persistent definition (no hooks)" },
    { "timeout", OPT_UINT, FALSE, FALSE, "seconds",
      "how long to wait for the guest and for an unplug to converge (default " G_STRINGIFY(
          CTL_DEFAULT_TIMEOUT_S) ")" },
    { "force", OPT_BOOL, FALSE, FALSE, NULL,
      "override the guest OS support matrix and <vcpupin> refusals (not the host policy)" },
    { "require-guest", OPT_BOOL, FALSE, FALSE, NULL,
      "fail with exit 7 when the guest agent cannot confirm the change" },
    { "hook-env", OPT_STRING_LIST, FALSE, FALSE, "name=value",
      "a variable for this run's hooks, over the domain's <metadata> (repeatable)" },
    { "cpuset", OPT_STRING, FALSE, FALSE, "list",
      "host CPUs to pin the vCPUs a plug adds to (one each when as many as new vCPUs)" },
    { "strict-pinning", OPT_BOOL, FALSE, FALSE, NULL,
      "refuse a plug into a pinned domain whose pins follow no rule" },
    { "node", OPT_UINT, FALSE, FALSE, "cell",
      "grow or shrink this NUMA cell alone: its disabled vCPUs are enabled, its enabled ones "
      "disabled" },
    { "timings", OPT_BOOL, FALSE, FALSE, NULL, "also print the wall time of each stage of set" },
    { NULL },
};
CMD_OPTS_FIT(opts_set);

const CmdDef cmd_set_def = {
    .name = "set",
    .handler = cmd_set,
    .opts = opts_set,
    .summary = "hot plug or unplug vCPUs of a running domain",
    .description
    = "Checks the request (domain running and idle, limits, topology, hot-pluggable vCPUs,\n"
      "    guest OS, vCPU pins, host policy and size), runs the before hooks, changes the\n"
      "    live vCPU count through libvirt, runs the after hooks, then waits up to --timeout\n"
      "    seconds until the guest agent (hotcpu-agent, else qemu-ga: --guest-agent) reports\n"
      "    COUNT CPUs present and online.  With --config on a shut-off domain, changes its\n"
      "    persistent definition only, without hooks.  Every attempt is recorded in the\n"
      "    audit log and in syslog.",
};
