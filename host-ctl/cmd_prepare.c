/* cmd_prepare.c: `hotcpu-ctl prepare DOMAIN --max N [--sockets] [--dry-run]`:
 * make a domain's persistent definition hot-plug ready from its next boot.
 *
 * libvirt's own calls where they exist (the maximum through
 * virDomainSetVcpusFlags(MAXIMUM|CONFIG) when no <topology> must change
 * with it; the channel through virDomainAttachDeviceFlags(CONFIG), which
 * adds a virtio-serial controller when there is none); a redefinition
 * (virDomainDefineXML) only for the per-vCPU hotpluggable flags and a
 * topology that changes with the maximum.  Then the definition is read
 * again: "ready" is what libvirt kept, not what was asked. */
#include "agent_client.h"
#include "audit.h"
#include "checks.h"
#include "ctl_util.h"
#include "domain_edit.h"
#include "domain_lock.h"

#define CHANNEL_XML                                                                                \
    "<channel type='unix'><target type='virtio' name='" AGENT_CHANNEL_NAME "'/></channel>"

typedef struct {
    CtlContext *ctx;
    guint value;
    gboolean sockets, dry_run;
    const char *name;
    char uuid[VIR_UUID_STRING_BUFLEN];
    virConnectPtr conn;
    virDomainPtr dom;
    DomainLock *lock;
    AuditLog *audit;
    gboolean running;
    DomainInfo *def;   /* the persistent definition the plan was made from */
    guint max;         /* vCPUs, after --sockets */
    const char *cells; /* --cells: the new vCPUs of each NUMA cell, or NULL */
    DomainEditPlan plan;
    GPtrArray *applied; /* static strings: the steps libvirt took */
    gboolean ready;
    AuditRecord rec;
} PrepareRun;

static void
prepare_run_clear(PrepareRun *run)
{
    domain_edit_plan_clear(&run->plan);
    domain_info_free(run->def);
    if (run->applied)
        g_ptr_array_unref(run->applied);
    domain_lock_release(run->lock);
    audit_close(run->audit);
    if (run->dom)
        virDomainFree(run->dom);
    if (run->conn)
        virConnectClose(run->conn);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(PrepareRun, prepare_run_clear)

/* ---- what changes, for the text and the JSON --------------------------------- */

typedef struct {
    const char *what;
    char *before, *after;
} Change;

static void
change_free(gpointer p)
{
    Change *c = p;
    g_free(c->before);
    g_free(c->after);
    g_free(c);
}

static void
add_change(GPtrArray *changes, const char *what, char *before, char *after)
{
    Change *c = g_new0(Change, 1);

    c->what = what;
    c->before = before;
    c->after = after;
    g_ptr_array_add(changes, c);
}

#define S(n) ((n) == 1 ? "" : "s")

static char *
topology_text(const DomainInfo *def, guint sockets)
{
    g_autofree char *dies
        = def->dies * def->clusters > 1
              ? g_strdup_printf(" x %u dies x %u clusters", def->dies, def->clusters)
              : g_strdup("");

    return g_strdup_printf("%u socket%s%s x %u core%s x %u thread%s", sockets, S(sockets), dies,
                           def->cores, S(def->cores), def->threads, S(def->threads));
}

static char *
ids_text(const CpuList *ids)
{
    char *text = cpulist_format(ids);

    if (*text)
        return text;
    g_free(text);
    return g_strdup("none");
}

/* The plan's changes, before -> after. */
static GPtrArray *
plan_changes(const PrepareRun *run)
{
    const DomainEditPlan *p = &run->plan;
    GPtrArray *changes = g_ptr_array_new_with_free_func(change_free);

    if (p->max_after != p->max_before)
        add_change(changes, "maximum vCPUs", g_strdup_printf("%u", p->max_before),
                   g_strdup_printf("%u", p->max_after));
    if (p->has_topology && p->sockets_after != p->sockets_before)
        add_change(changes, "topology", topology_text(run->def, p->sockets_before),
                   topology_text(run->def, p->sockets_after));
    if (!cpulist_equal(p->hot_before, p->hot_after))
        add_change(changes, "hot-pluggable vCPUs", ids_text(p->hot_before), ids_text(p->hot_after));
    if (!cpulist_equal(p->enabled_before, p->enabled_after))
        add_change(changes, "vCPUs enabled at boot", ids_text(p->enabled_before),
                   ids_text(p->enabled_after));
    if (numa_plan_changes(p->numa))
        add_change(changes, "NUMA cells' vCPUs", numa_plan_text(p->numa, FALSE),
                   numa_plan_text(p->numa, TRUE));
    if (p->add_channel)
        add_change(changes, "agent channel", g_strdup("none"), g_strdup(AGENT_CHANNEL_NAME));
    return changes;
}

static JsonArray *
changes_json(GPtrArray *changes)
{
    JsonArray *arr = json_array_new();

    for (guint i = 0; i < changes->len; i++) {
        const Change *c = changes->pdata[i];
        JsonObject *o = json_object_new();

        json_object_set_string_member(o, "what", c->what);
        json_object_set_string_member(o, "before", c->before);
        json_object_set_string_member(o, "after", c->after);
        json_array_add_object_element(arr, o);
    }
    return arr;
}

static JsonObject *
result_json(const PrepareRun *run)
{
    JsonObject *obj = json_object_new();
    JsonArray *applied = json_array_new();

    json_object_set_string_member(obj, "domain", run->name ? run->name : "");
    json_object_set_boolean_member(obj, "running", run->running);
    json_object_set_boolean_member(obj, "dry-run", run->dry_run);
    json_object_set_boolean_member(obj, "ready", run->ready);
    if (run->def) {
        g_autoptr(GPtrArray) changes = plan_changes(run);
        json_object_set_int_member(obj, "maximum", run->plan.max_after);
        json_object_set_array_member(obj, "changes", changes_json(changes));
    }
    for (guint i = 0; run->applied && i < run->applied->len; i++)
        json_array_add_string_element(applied, run->applied->pdata[i]);
    json_object_set_array_member(obj, "applied", applied);
    return obj;
}

/* ---- the single exit -------------------------------------------------------------- */

/* Records (unless a dry run), reports, and returns @exit_code; @msg (taken)
 * is the error, NULL on success. */
static int
prepare_finish(PrepareRun *run, int exit_code, const char *outcome, char *msg)
{
    g_autofree char *error = msg;
    g_autoptr(GError) err = NULL;
    JsonObject *obj = result_json(run);

    run->rec.exit_code = exit_code;
    run->rec.outcome = outcome;
    run->rec.error = error;
    if (run->audit && !audit_write(run->audit, &run->rec, &err))
        output_warning(run->ctx->out, "%s", err->message);
    if (!run->dry_run)
        audit_syslog(&run->rec);
    if (exit_code != CTL_EXIT_OK)
        return output_fail(run->ctx->out, exit_code, obj, "%s", error);
    json_object_set_int_member(obj, "exit", 0);
    output_result(run->ctx->out, obj);
    return CTL_EXIT_OK;
}

static int
refuse(PrepareRun *run, const GError *error)
{
    return prepare_finish(run, CTL_EXIT_REFUSED, "refused", g_strdup(error->message));
}

/* ---- stages ------------------------------------------------------------------------ */

/* The audit log (not for a dry run: it changes nothing), the domain (a dry
 * run reads only, so it needs no write access), its lock.  CTL_EXIT_OK or
 * the exit code after reporting. */
static int
prepare_open(PrepareRun *run, const char *name)
{
    g_autoptr(GError) error = NULL;
    int exit_code = CTL_EXIT_OK;

    run->name = run->rec.domain = name;
    if (!run->dry_run && !(run->audit = audit_open(run->ctx->audit_log, &error)))
        return prepare_finish(run, CTL_EXIT_REFUSED, "refused",
                              g_strdup_printf("%s; nothing changed", error->message));
    if (!(run->dom = ctl_open_domain(run->ctx, name, run->dry_run, &run->conn, &exit_code, &error)))
        return prepare_finish(run, exit_code, exit_code == CTL_EXIT_REFUSED ? "refused" : "failed",
                              g_strdup(error->message));
    run->name = run->rec.domain = virDomainGetName(run->dom);
    if (virDomainGetUUIDString(run->dom, run->uuid) == 0)
        run->rec.uuid = run->uuid;
    run->running = virDomainIsActive(run->dom) == 1;
    if (virDomainIsPersistent(run->dom) != 1)
        return prepare_finish(run, CTL_EXIT_REFUSED, "refused",
                              g_strdup_printf("domain '%s' is transient: it has no persistent "
                                              "definition to prepare",
                                              run->name));
    if (run->dry_run)
        return CTL_EXIT_OK;
    if (!(run->lock = domain_lock_acquire(run->ctx->lock_dir, run->rec.uuid, &error))) {
        if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_BUSY))
            return prepare_finish(run, CTL_EXIT_REFUSED, "refused",
                                  g_strdup_printf("another hotcpu-ctl command is already "
                                                  "changing domain '%s'; try again when it has "
                                                  "finished",
                                                  run->name));
        return refuse(run, error);
    }
    return CTL_EXIT_OK;
}

/* The persistent definition (without secrets: only the redefinition needs
 * them), parsed; NULL with @error. */
static DomainInfo *
read_definition(PrepareRun *run, NumaPlan **numa, GError **error)
{
    g_autoptr(SecretXml) xml = virDomainGetXMLDesc(run->dom, VIR_DOMAIN_XML_INACTIVE);
    g_autoptr(GError) local = NULL;
    DomainInfo *def;

    if (!xml) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
                    "cannot read the persistent definition of domain '%s': %s", run->name,
                    virt_last_error());
        return NULL;
    }
    if (!(def = domain_info_parse(xml, error)))
        return NULL;
    *numa = numa_plan_read(xml, &local);
    if (local) {
        domain_info_free(def);
        g_propagate_error(error, g_steal_pointer(&local));
        return NULL;
    }
    return def;
}

/* Where the vCPUs below @max go in the definition's NUMA cells (@numa,
 * NULL when none), by the sockets of @def: FALSE with @error (a refusal)
 * when they cannot go evenly, or not as --cells says. */
static gboolean
plan_numa(PrepareRun *run, const DomainInfo *def, NumaPlan *numa, GError **error)
{
    g_autofree guint *split = NULL;
    guint n_split = 0;

    if (run->cells && !numa) {
        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                    "--cells was given but domain '%s' has no NUMA cells", run->name);
        return FALSE;
    }
    if (!numa)
        return TRUE;
    if (run->cells && !numa_split_parse(run->cells, &split, &n_split, error))
        return FALSE;
    return numa_plan_spread(numa, run->max,
                            def->has_topology ? domain_info_vcpus_per_socket(def) : 1, split,
                            n_split, run->name, error);
}

/* The definition, the checks of the maximum, the plan. */
static int
prepare_read(PrepareRun *run)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(NumaPlan) numa = NULL;
    int hv_max;
    guint host;

    if (!(run->def = read_definition(run, &numa, &error)))
        return prepare_finish(run, CTL_EXIT_HYPERVISOR, "failed", g_strdup(error->message));
    run->rec.previous = run->rec.actual = run->def->vcpu_max;
    run->rec.requested = run->sockets ? -1 : (gint)run->value; /* sockets: known once checked */
    hv_max = virConnectGetMaxVcpus(run->conn, run->def->type);
    if (hv_max < 0)
        virResetLastError(); /* unknown: libvirt itself will still refuse */
    if (!check_prepare_max(run->def, run->name, run->value, run->sockets, hv_max, run->def->type,
                           &run->max, &error)) {
        g_clear_pointer(&run->def, domain_info_free); /* no plan to show */
        return refuse(run, error);
    }
    run->rec.requested = run->max;
    host = ctl_host_cpus(run->conn);
    if (host > 0 && run->max > host)
        output_warning(run->ctx->out,
                       "a maximum of %u vCPUs for domain '%s' is more than the host's %u logical "
                       "CPU%s: vCPUs beyond that will compete for host CPUs",
                       run->max, run->name, host, S(host));
    domain_edit_plan(run->def, run->max, &run->plan);
    if (!plan_numa(run, run->def, numa, &error))
        return refuse(run, error);
    domain_edit_plan_set_numa(run->def, &run->plan, g_steal_pointer(&numa));
    return CTL_EXIT_OK;
}

/* The redefinition: the definition with its secrets, edited, defined again. */
static gboolean
redefine(PrepareRun *run, GError **error)
{
    g_autoptr(SecretXml) xml
        = virDomainGetXMLDesc(run->dom, VIR_DOMAIN_XML_INACTIVE | VIR_DOMAIN_XML_SECURE);
    g_autoptr(SecretXml) edited = NULL;
    virDomainPtr dom;

    if (!xml) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
                    "cannot read the persistent definition: %s", virt_last_error());
        return FALSE;
    }
    if (!(edited = domain_edit_xml(xml, &run->plan, error)))
        return FALSE;
    if (!(dom = virDomainDefineXML(run->conn, edited))) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
                    "libvirt refused the edited definition: %s", virt_last_error());
        return FALSE;
    }
    virDomainFree(dom);
    return TRUE;
}

/* Each step through libvirt; *step names the one that failed. */
static gboolean
apply_steps(PrepareRun *run, const char **step, GError **error)
{
    *step = "the maximum";
    if (run->plan.max_by_api
        && virDomainSetVcpusFlags(run->dom, run->max,
                                  VIR_DOMAIN_VCPU_MAXIMUM | VIR_DOMAIN_AFFECT_CONFIG)
               < 0) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s", virt_last_error());
        return FALSE;
    }
    if (run->plan.max_by_api)
        g_ptr_array_add(run->applied, "maximum");
    *step = "the vCPU layout";
    if (run->plan.redefine && !redefine(run, error))
        return FALSE;
    if (run->plan.redefine)
        g_ptr_array_add(run->applied, "layout");
    *step = "the agent channel";
    if (run->plan.add_channel
        && virDomainAttachDeviceFlags(run->dom, CHANNEL_XML, VIR_DOMAIN_AFFECT_CONFIG) < 0) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s", virt_last_error());
        return FALSE;
    }
    if (run->plan.add_channel)
        g_ptr_array_add(run->applied, "channel");
    return TRUE;
}

static char *
join_applied(GPtrArray *applied)
{
    GString *s = g_string_new(NULL);

    for (guint i = 0; i < applied->len; i++)
        g_string_append_printf(s, "%s%s", i ? ", " : "", (const char *)applied->pdata[i]);
    return g_string_free(s, FALSE);
}

/* The changes.  A failure after a step that worked is exit 6, naming what
 * the definition already has: running prepare again finishes the job. */
static int
prepare_apply(PrepareRun *run)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *done = NULL;
    const char *step = NULL;
    int max;

    if (apply_steps(run, &step, &error))
        return CTL_EXIT_OK;
    if (run->applied->len == 0)
        return prepare_finish(run, CTL_EXIT_HYPERVISOR, "failed",
                              g_strdup_printf("libvirt could not change %s of domain '%s': %s; "
                                              "nothing changed",
                                              step, run->name, error->message));
    max = virDomainGetVcpusFlags(run->dom, VIR_DOMAIN_AFFECT_CONFIG | VIR_DOMAIN_VCPU_MAXIMUM);
    run->rec.actual = max >= 0 ? max : -1;
    done = join_applied(run->applied);
    return prepare_finish(run, CTL_EXIT_NOT_CONVERGED, "partial",
                          g_strdup_printf("libvirt could not change %s of domain '%s': %s; "
                                          "already in its persistent definition: the new %s; "
                                          "run prepare again once the cause is fixed",
                                          step, run->name, error->message, done));
}

/* What libvirt kept: the definition read again must need nothing more. */
static int
prepare_verify(PrepareRun *run)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(NumaPlan) numa = NULL;
    g_autoptr(DomainInfo) now = read_definition(run, &numa, &error);
    g_auto(DomainEditPlan) again = { 0 };

    if (!now || !plan_numa(run, now, numa, &error))
        return prepare_finish(run, CTL_EXIT_NOT_CONVERGED, "partial",
                              g_strdup_printf("%s, after changing it", error->message));
    run->rec.actual = now->vcpu_max;
    domain_edit_plan(now, run->max, &again);
    domain_edit_plan_set_numa(now, &again, g_steal_pointer(&numa));
    run->ready = domain_edit_plan_ready(&again);
    if (run->ready)
        return CTL_EXIT_OK;
    return prepare_finish(run, CTL_EXIT_NOT_CONVERGED, "partial",
                          g_strdup_printf("the persistent definition of domain '%s' does not have "
                                          "the planned layout after the changes (libvirt did not "
                                          "keep all of them); nothing more was done",
                                          run->name));
}

/* ---- text --------------------------------------------------------------------- */

static void
print_changes(PrepareRun *run, const char *header)
{
    g_autoptr(GPtrArray) changes = plan_changes(run);

    output_text(run->ctx->out, "%s\n", header);
    for (guint i = 0; i < changes->len; i++) {
        const Change *c = changes->pdata[i];
        output_text(run->ctx->out, "  %s: %s -> %s\n", c->what, c->before, c->after);
    }
}

/* The running domain already has the layout (the definition took effect). */
static gboolean
live_ready(PrepareRun *run)
{
    g_autoptr(DomainInfo) live = ctl_domain_info(run->dom, NULL, NULL);
    g_auto(LiveRange) range = { 0 };

    if (!live)
        return TRUE; /* cannot tell: say nothing */
    live_range_compute(live, &range);
    return live->has_agent_channel && live->vcpu_max == run->max
           && (!range.known || cpulist_count(range.fixed) <= 1);
}

static void
print_ready(PrepareRun *run)
{
    g_autofree char *hot = ids_text(run->plan.hot_after);

    output_text(run->ctx->out,
                "Domain '%s' is ready for vCPU hot plug: its persistent definition has a maximum "
                "of %u vCPUs, hot-pluggable vCPUs %s and the agent channel; nothing to change.\n",
                run->name, run->max, hot);
    if (run->running && !live_ready(run))
        output_text(run->ctx->out,
                    "The running domain does not have this layout yet: shut it down and start it "
                    "(a reboot from inside the guest is not enough).\n");
}

static void
print_done(PrepareRun *run)
{
    g_autofree char *header = NULL;

    if (run->dry_run) {
        header = g_strdup_printf("Dry run: prepare would change the persistent definition of "
                                 "domain '%s':",
                                 run->name);
        print_changes(run, header);
        output_text(run->ctx->out, "Nothing was changed (--dry-run).\n");
        return;
    }
    header = g_strdup_printf("Changed the persistent definition of domain '%s':", run->name);
    print_changes(run, header);
    if (run->running)
        output_text(run->ctx->out,
                    "Domain '%s' is running: only its persistent definition "
                    "changed, and the running domain keeps its layout.\n",
                    run->name);
    output_text(run->ctx->out,
                "The changes take effect after a full shutdown and start of the domain (a reboot "
                "from inside the guest is not enough).\n");
}

/* ---- the command ----------------------------------------------------------------- */

static void
prepare_run_init(PrepareRun *run, CtlContext *ctx, const CmdArgs *args)
{
    run->ctx = ctx;
    run->value = cmd_arg_uint(args, "max", 0);
    run->sockets = cmd_arg_bool(args, "sockets");
    run->dry_run = cmd_arg_bool(args, "dry-run");
    run->cells = cmd_arg_string(args, "cells");
    run->applied = g_ptr_array_new();
    run->rec.command = "prepare";
    run->rec.previous = run->rec.requested = run->rec.actual = -1;
    run->rec.guest_online = run->rec.guest_present = -1;
    run->rec.config = TRUE;
    run->rec.guest = "not-checked";
}

static int
cmd_prepare(CtlContext *ctx, const CmdArgs *args)
{
    g_auto(PrepareRun) run = { 0 };
    int rc;

    prepare_run_init(&run, ctx, args);
    if ((rc = prepare_open(&run, cmd_arg_string(args, "domain"))) != CTL_EXIT_OK
        || (rc = prepare_read(&run)) != CTL_EXIT_OK)
        return rc;
    if (domain_edit_plan_ready(&run.plan)) {
        run.ready = TRUE;
        print_ready(&run);
        return prepare_finish(&run, CTL_EXIT_OK, "done", NULL);
    }
    if (!run.dry_run
        && ((rc = prepare_apply(&run)) != CTL_EXIT_OK
            || (rc = prepare_verify(&run)) != CTL_EXIT_OK))
        return rc;
    print_done(&run);
    return prepare_finish(&run, CTL_EXIT_OK, "done", NULL);
}

static const CmdOptDef opts_prepare[] = {
    CMD_OPT_DOMAIN,
    { "max", OPT_UINT, FALSE, TRUE, "count",
      "the maximum: number of vCPUs (or of sockets with --sockets)" },
    { "sockets", OPT_BOOL, FALSE, FALSE, NULL,
      "--max is in sockets: max x cores x threads vCPUs, from the domain's <cpu><topology>" },
    { "dry-run", OPT_BOOL, FALSE, FALSE, NULL, "print the changes and change nothing" },
    { "cells", OPT_STRING, FALSE, FALSE, "N,N,...",
      "on a NUMA domain: the new vCPUs of each cell, in whole sockets (default: evenly)" },
    { NULL },
};
CMD_OPTS_FIT(opts_prepare);

const CmdDef cmd_prepare_def = {
    .name = "prepare",
    .handler = cmd_prepare,
    .opts = opts_prepare,
    .summary = "make a domain's definition hot-plug ready",
    .description
    = "Edits the persistent definition so that the domain can be hot plugged from its\n"
      "    next boot: a maximum of --max vCPUs (growing sockets in its <topology>), every\n"
      "    vCPU but vCPU 0 hot-pluggable, and the " AGENT_CHANNEL_NAME " channel.  Prints\n"
      "    each change; a running domain gets only its definition changed.  The changes\n"
      "    take effect after a full shutdown and start (not a reboot from inside the\n"
      "    guest).  A second run changes nothing.  Recorded in the audit log.",
};
