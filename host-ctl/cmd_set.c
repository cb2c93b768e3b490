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
    run->show_timings = req->timings;
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
    if (run->show_timings)
        json_object_set_object_member(obj, "timings", set_timings_to_json(&run->timings));
    return obj;
}

gboolean
set_finish(SetRun *run, int exit_code, const char *outcome, char *msg)
{
    g_autoptr(GError) error = NULL;

    set_timings_enter(&run->timings, SET_STAGE_AUDIT);
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
    set_timings_end(&run->timings);
    if (run->show_timings) {
        g_autofree char *text = set_timings_format(&run->timings);
        output_text(run->ctx->out, "%s", text);
    }

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

/* The stages of set, in order (host-ctl/README.md walks through them),
 * and where --timings counts their time (a stage may split its own). */
static const struct {
    gboolean (*run)(SetRun *);
    SetStage timed_as;
} set_stages[] = {
    { set_open_and_lock, SET_STAGE_AUDIT }, /* the log first, then connect and lock */
    { set_read_domain, SET_STAGE_READ_DOMAIN },
    { set_check, SET_STAGE_CHECKS },
    { set_record_attempt, SET_STAGE_AUDIT },
    { set_snapshot_guest, SET_STAGE_SNAPSHOT },
    { set_before_hooks, SET_STAGE_BEFORE_HOOKS },
    { set_prepare_guest, SET_STAGE_GUEST_OFFLINE },
    { set_apply, SET_STAGE_LIBVIRT },
    { set_after_hooks, SET_STAGE_AFTER_HOOKS },
    { set_update_config, SET_STAGE_CONFIG },
    { set_confirm_guest, SET_STAGE_GUEST_CONFIRM },
};

int
set_execute(CtlContext *ctx, const SetRequest *req)
{
    g_auto(SetRun) run = { 0 };

    /* From here on a signal ends waits, not the process: the run's own
     * cleanup must still give the guest back its CPUs and write the record. */
    set_timings_begin(&run.timings);
    cancel_watch_signals();
    set_run_init(&run, ctx, req);
    for (guint i = 0; i < G_N_ELEMENTS(set_stages); i++) {
        set_timings_enter(&run.timings, set_stages[i].timed_as);
        if (!set_stages[i].run(&run))
            break;
        if (cancel_requested()) {
            set_interrupted(&run);
            break;
        }
    }
    return run.exit_code;
}

int
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
        .timings = cmd_arg_bool(args, "timings"),
    };
    g_autoptr(GError) error = NULL;

    if (!hook_env_check_args(req.hook_env, &error))
        return output_fail(ctx->out, CTL_EXIT_USAGE, NULL, "%s", error->message);
    return set_execute(ctx, &req);
}
