/* set_run.c: `set`'s driver: a SetRun made from its request, the stages
 * in order (host-ctl/README.md walks through them), and what the run holds
 * freed at its end. */
#include <stdlib.h>

#include "set_run.h"

#include "cancel.h"

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
    set_pins_clear(run);
    g_clear_pointer(&run->node_ids, cpulist_free);
    g_clear_pointer(&run->node_ids_text, g_free);
    domain_lock_release(run->lock);
    if (run->dom)
        virDomainFree(run->dom);
    g_free(run->uri);
    free(run->hv_host);
    if (run->conn)
        virConnectClose(run->conn);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(SetRun, set_run_clear)

static void
set_run_init(SetRun *run, CtlContext *ctx, const SetRequest *req)
{
    run->ctx = ctx;
    run->req = *req;
    run->name = run->rec.domain = req->domain;
    run->hooks = g_ptr_array_new_with_free_func((GDestroyNotify)hook_result_free);
    run->rec.command = "set";
    run->rec.reason = req->reason;
    run->rec.previous = run->rec.requested = run->rec.actual = -1;
    run->rec.guest_online = run->rec.guest_present = -1;
    run->rec.config = run->req.config;
    run->rec.force = run->req.force;
    run->rec.guest = "not-checked";
    run->rec.guest_agent = guest_agent_name(GUEST_AGENT_NONE);
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
    { set_plan_pins, SET_STAGE_CHECKS },
    { set_record_attempt, SET_STAGE_AUDIT },
    { set_snapshot_guest, SET_STAGE_SNAPSHOT },
    { set_before_hooks, SET_STAGE_BEFORE_HOOKS },
    { set_prepare_guest, SET_STAGE_GUEST_OFFLINE },
    { set_apply, SET_STAGE_LIBVIRT },
    { set_pin_plugged, SET_STAGE_LIBVIRT }, /* virDomainPinVcpuFlags */
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
