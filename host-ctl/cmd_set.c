/* cmd_set.c: `hotcpu-ctl set DOMAIN COUNT`: the stages in order, and the
 * single exit that records and reports. */
#include <stdlib.h>

#include "set_run.h"

#include "cancel.h"
#include "hook_env.h"

static void
set_run_clear(SetRun *run)
{
    audit_close(run->audit);
    if (run->hooks)
        g_ptr_array_unref(run->hooks);
    g_free(run->error);
    hook_domxml_remove(run->domxml_path);
    g_free(run->domxml_path);
    g_strfreev(run->roots);
    g_strfreev(run->hook_vars);
    topology_free(run->guest_before);
    guest_free(run->guest);
    g_free(run->xml);
    domain_info_free(run->info);
    domain_lock_release(run->lock);
    if (run->dom)
        virDomainFree(run->dom);
    g_free(run->uri);
    if (run->conn)
        virConnectClose(run->conn);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(SetRun, set_run_clear)

static void
set_run_init(SetRun *run, CtlContext *ctx, const SetRequest *req)
{
    run->ctx = ctx;
    run->name = run->rec.domain = req->domain;
    run->value = req->value;
    run->sockets = req->sockets;
    run->config = req->config;
    run->force = req->force;
    run->require_guest = req->require_guest;
    run->timeout = req->timeout;
    run->hook_env_args = req->hook_env;
    run->hooks = g_ptr_array_new_with_free_func((GDestroyNotify)hook_result_free);
    run->rec.command = "set";
    run->rec.reason = req->reason;
    run->rec.previous = run->rec.requested = run->rec.actual = -1;
    run->rec.guest_online = run->rec.guest_present = -1;
    run->rec.config = run->config;
    run->rec.force = run->force;
    run->rec.guest = "not-checked";
    run->rec.guest_agent = guest_agent_name(GUEST_AGENT_NONE);
}

static JsonObject *
set_result_json(SetRun *run)
{
    JsonObject *obj = audit_record_to_json(&run->rec);

    /* what a script needs; the time/user bookkeeping stays in the log */
    json_object_remove_member(obj, "time");
    json_object_remove_member(obj, "user");
    json_object_remove_member(obj, "host");
    json_object_remove_member(obj, "uid");
    json_object_remove_member(obj, "sudo-user");
    json_object_remove_member(obj, "command");
    json_object_remove_member(obj, "error");
    json_object_remove_member(obj, "exit");
    json_object_set_boolean_member(obj, "config-updated", run->config_done);
    return obj;
}

gboolean
set_finish(SetRun *run, int exit_code, const char *outcome, char *msg)
{
    g_autoptr(GError) error = NULL;

    g_free(run->error);
    run->error = msg;
    run->exit_code = exit_code;
    run->rec.exit_code = exit_code;
    run->rec.outcome = outcome;
    run->rec.error = msg;
    run->rec.hooks = run->hooks;

    /* The record never decides the exit code once something may have
     * changed: the code must describe the domain.  The log was opened before
     * any change (set_open_and_lock), so a failure here is a disk error. */
    if (run->audit && !audit_write(run->audit, &run->rec, &error))
        output_warning(run->ctx->out, "%s", error->message);
    audit_syslog(&run->rec);

    if (exit_code == CTL_EXIT_OK) {
        JsonObject *obj = set_result_json(run);
        json_object_set_int_member(obj, "exit", 0);
        output_result(run->ctx->out, obj);
    } else {
        output_fail(run->ctx->out, exit_code, set_result_json(run), "%s", msg);
    }
    return FALSE;
}

gboolean
set_record_attempt(SetRun *run)
{
    g_autoptr(GError) error = NULL;

    run->rec.outcome = "attempt";
    run->rec.exit_code = -1;
    run->rec.hooks = run->hooks;
    if (audit_write(run->audit, &run->rec, &error))
        return TRUE;
    /* Unrecorded, nothing may change.  The log just failed: the refusal
     * goes to syslog and the terminal only. */
    g_clear_pointer(&run->audit, audit_close);
    return set_finish(run, CTL_EXIT_REFUSED, "refused",
                      g_strdup_printf("%s; nothing changed", error->message));
}

/* The stages of set, in order (host-ctl/README.md walks through them). */
static gboolean (*const set_stages[])(SetRun *) = {
    set_open_and_lock,  set_read_domain,   set_check,         set_record_attempt,
    set_snapshot_guest, set_before_hooks,  set_prepare_guest, set_apply,
    set_after_hooks,    set_update_config, set_confirm_guest,
};

int
set_execute(CtlContext *ctx, const SetRequest *req)
{
    g_auto(SetRun) run = { 0 };

    /* From here on a signal ends waits, not the process: the run's own
     * cleanup must still give the guest back its CPUs and write the record. */
    cancel_watch_signals();
    set_run_init(&run, ctx, req);
    for (guint i = 0; i < G_N_ELEMENTS(set_stages); i++) {
        if (!set_stages[i](&run))
            break;
        if (cancel_requested()) {
            set_interrupted(&run);
            break;
        }
    }
    return run.exit_code;
}

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
