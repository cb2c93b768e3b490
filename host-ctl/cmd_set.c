/* cmd_set.c: `hotcpu-ctl set DOMAIN COUNT`: check, before hooks, setVcpus,
 * after hooks, wait for the guest, record.
 *
 * Every path out of cmd_set goes through set_finish(), which writes the one
 * audit record and the one result (text or JSON).
 */
#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "agent_client.h"
#include "agent_hint.h"
#include "audit.h"
#include "checks.h"
#include "ctl.h"
#include "domain_lock.h"
#include "guest.h"
#include "hook_runner.h"
#include "policy.h"
#include "support_matrix.h"
#include "virt_util.h"

typedef struct {
    CtlContext *ctx;
    AuditRecord rec;
    AuditLog *audit;
    GPtrArray *hooks; /* HookResult *, before then after */
    char *error;
    gboolean config_done;
} SetRun;

static void
set_run_clear(SetRun *run)
{
    audit_close(run->audit);
    g_ptr_array_unref(run->hooks);
    g_free(run->error);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(SetRun, set_run_clear)

static JsonObject *
set_result_json(SetRun *run)
{
    JsonObject *obj = audit_record_to_json(&run->rec);

    /* what a script needs; the time/user bookkeeping stays in the log */
    json_object_remove_member(obj, "time");
    json_object_remove_member(obj, "user");
    json_object_remove_member(obj, "uid");
    json_object_remove_member(obj, "sudo-user");
    json_object_remove_member(obj, "command");
    json_object_remove_member(obj, "error");
    json_object_remove_member(obj, "exit");
    json_object_set_boolean_member(obj, "config-updated", run->config_done);
    return obj;
}

/* Records the attempt and prints the result; returns @exit_code.  @msg
 * (taken) is the error text, NULL on success. */
static int
set_finish(SetRun *run, int exit_code, const char *outcome, char *msg)
{
    g_autoptr(GError) error = NULL;

    g_free(run->error);
    run->error = msg;
    run->rec.exit_code = exit_code;
    run->rec.outcome = outcome;
    run->rec.error = msg;
    run->rec.hooks = run->hooks;

    /* The record never decides the exit code once something may have
     * changed: the code must describe the domain.  Opening the log is done
     * before any change (see cmd_set), so a failure here is a disk error. */
    if (run->audit && !audit_write(run->audit, &run->rec, &error))
        output_warning(run->ctx->out, "%s", error->message);
    audit_syslog(&run->rec);

    if (exit_code == CTL_EXIT_OK) {
        JsonObject *obj = set_result_json(run);
        json_object_set_int_member(obj, "exit", 0);
        output_result(run->ctx->out, obj);
        return exit_code;
    }
    return output_fail(run->ctx->out, exit_code, set_result_json(run), "%s", msg);
}

static int
refuse(SetRun *run, char *msg)
{
    return set_finish(run, CTL_EXIT_REFUSED, "refused", msg);
}

static int
refuse_error(SetRun *run, const GError *error)
{
    return refuse(run, g_strdup(error->message));
}

/* virDomainGetControlInfo's state, -1 when not supported or failing (the
 * test driver has it; job info it has not). */
static int
control_state(virDomainPtr dom)
{
    virDomainControlInfo ci;

    if (virDomainGetControlInfo(dom, &ci, 0) < 0) {
        virResetLastError();
        return -1;
    }
    return ci.state;
}

static int
job_type(virDomainPtr dom)
{
    virDomainJobInfo ji;

    if (virDomainGetJobInfo(dom, &ji) < 0) {
        virResetLastError();
        return -1;
    }
    return ji.type;
}

static char *
write_domxml(const char *xml, GError **error)
{
    g_autofree char *path = NULL;
    int fd = g_file_open_tmp("hotcpu-domxml-XXXXXX.xml", &path, error);

    if (fd < 0)
        return NULL;
    close(fd);
    if (!g_file_set_contents(path, xml, -1, error)) {
        g_unlink(path);
        return NULL;
    }
    return g_steal_pointer(&path);
}

/* "before hook /x/50_veto exited 1 (output: ...)" for the failed hooks from
 * index @from on. */
static char *
describe_failed_hooks(GPtrArray *hooks, guint from)
{
    GString *s = g_string_new(NULL);

    for (guint i = from; i < hooks->len; i++) {
        const HookResult *h = hooks->pdata[i];
        g_autofree char *out = NULL;

        if (h->exit_code == 0)
            continue;
        if (s->len)
            g_string_append(s, "; ");
        if (h->refused)
            g_string_append_printf(s,
                                   "hook %s was not run: it or its folder is writable by "
                                   "group or others",
                                   h->path);
        else if (h->timed_out)
            g_string_append_printf(s, "hook %s was killed after its timeout", h->path);
        else if (h->exit_code < 0)
            g_string_append_printf(s, "hook %s could not be run", h->path);
        else
            g_string_append_printf(s, "hook %s exited %d", h->path, h->exit_code);
        if (h->output && *h->output) {
            out = g_strstrip(g_strndup(h->output, 200));
            if (*out)
                g_string_append_printf(s, " (%s)", out);
        }
    }
    return g_string_free(s, FALSE);
}

static guint
remaining_ms(gint64 deadline_us)
{
    gint64 left = deadline_us - g_get_monotonic_time();
    return left <= 0 ? 0 : (guint)MIN(left / 1000, G_MAXUINT);
}

/* Waits (at most about 2 s) for the guest to show the result of the vCPU
 * request libvirt gave up on: its present count reaching @count, or moving
 * past libvirt's possibly stale @libvirt_view toward it.  Without an agent,
 * a fixed pause: libvirt offers no event for a vCPU QEMU never reports gone.
 * Returns the last present count seen, -1 when the agent did not answer. */
static gint
settle(const char *socket_path, guint count, gint libvirt_view, gint64 deadline_us)
{
    gint64 until = MIN(deadline_us, g_get_monotonic_time() + 2 * G_USEC_PER_SEC);
    gint present = -1;

    if (!socket_path) {
        g_usleep((gulong)MIN(remaining_ms(until), 1000) * 1000);
        return -1;
    }
    for (;;) {
        g_autoptr(Topology) topo = guest_get_topology(socket_path, NULL);
        if (topo) {
            present = cpulist_count(topo->present);
            if ((guint)present == count
                || (libvirt_view >= 0
                    && ((guint)libvirt_view > count ? present < libvirt_view
                                                    : present > libvirt_view)))
                return present;
        }
        if (remaining_ms(until) == 0)
            return present;
        g_usleep((gulong)MIN(remaining_ms(until), 250) * 1000);
    }
}

static gboolean
is_timeout_error(int code, const char *msg)
{
    return code == VIR_ERR_OPERATION_TIMEOUT || (msg && strstr(msg, "timed out"));
}

/* After libvirt reported an unplug (or plug) timeout or a partial change:
 * keep asking for @count while the deadline allows.  libvirt 11.3 re-reads
 * QEMU's vCPU slots at its next vCPU job, so the same request again, once the
 * guest has settled, both corrects libvirt's count and goes on with vCPUs it
 * did not get to.  *last_error gets the last failure text. */
static gboolean
converge(virDomainPtr dom, guint count, const char *socket_path, gint64 deadline_us,
         gint *guest_present, char **last_error)
{
    /* At least one retry even when the deadline has passed: it is what
     * makes libvirt's count right, and the record must not be wrong. */
    for (guint attempt = 0; attempt == 0 || remaining_ms(deadline_us) > 0; attempt++) {
        gint view = virDomainGetVcpusFlags(dom, VIR_DOMAIN_AFFECT_LIVE);
        gint present = settle(socket_path, count, view, deadline_us);

        if (present >= 0)
            *guest_present = present;
        if (virDomainSetVcpusFlags(dom, count, VIR_DOMAIN_AFFECT_LIVE) == 0)
            return TRUE;
        g_free(*last_error);
        *last_error = g_strdup(virt_last_error());
    }
    return FALSE;
}

int
cmd_set(CtlContext *ctx, const CmdArgs *args)
{
    const char *name = cmd_arg_string(args, "domain");
    guint value = cmd_arg_uint(args, "count", 0);
    gboolean sockets = cmd_arg_bool(args, "sockets");
    gboolean config = cmd_arg_bool(args, "config");
    gboolean force = cmd_arg_bool(args, "force");
    gboolean require_guest = cmd_arg_bool(args, "require-guest");
    guint timeout = cmd_arg_uint(args, "timeout", 30);
    g_auto(SetRun) run = { 0 };
    g_autoptr(GError) error = NULL;
    g_autoptr(virConnect) conn = NULL;
    g_autoptr(virDomain) dom = NULL;
    g_autoptr(DomainLock) lock = NULL;
    g_autoptr(DomainInfo) info = NULL;
    g_autoptr(Policy) policy = NULL;
    g_autoptr(SupportMatrix) matrix = NULL;
    g_autoptr(Topology) guest_before = NULL;
    g_autoptr(Topology) guest_after = NULL;
    g_auto(GStrv) roots = NULL;
    g_autofree char *xml = NULL;
    g_autofree char *domxml_path = NULL;
    char uuid[VIR_UUID_STRING_BUFLEN];
    int state, reason, live_cur, live_max, cfg_cur = 0, cfg_max = 0, hv_max, actual;
    guint count = 0;
    gboolean stopped = FALSE, converged, pre_offlined = FALSE;
    GuestAgentState agent = GUEST_AGENT_UNKNOWN;
    gint64 deadline;
    HookEnv env = { 0 };
    guint after_from;
    int exit_code = CTL_EXIT_OK;

    run.ctx = ctx;
    run.hooks = g_ptr_array_new_with_free_func((GDestroyNotify)hook_result_free);
    run.rec.command = "set";
    run.rec.domain = name;
    run.rec.previous = run.rec.requested = run.rec.actual = -1;
    run.rec.guest_online = run.rec.guest_present = -1;
    run.rec.config = config;
    run.rec.force = force;
    run.rec.guest = "not-checked";

    /* The audit log is opened before anything can change: a change that
     * cannot be recorded is not made (refused, exit 3).  A write that fails
     * later, after the change, only warns: the exit code then describes the
     * domain, which did change. */
    if (!(run.audit = audit_open(ctx->audit_log, &error)))
        return refuse(&run, g_strdup_printf("%s; nothing changed", error->message));

    if (!(dom = ctl_open_domain(ctx, name, FALSE, &conn, &exit_code, &error)))
        return set_finish(&run, exit_code, exit_code == CTL_EXIT_REFUSED ? "refused" : "failed",
                          g_strdup(error->message));
    name = run.rec.domain = virDomainGetName(dom);
    if (virDomainGetUUIDString(dom, uuid) == 0)
        run.rec.uuid = uuid;

    /* 7. one set per domain at a time */
    if (!(lock = domain_lock_acquire(ctx->lock_dir, run.rec.uuid, &error))) {
        if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_BUSY))
            return refuse(&run, g_strdup_printf("another hotcpu-ctl set is already running on "
                                                "domain '%s'; try again when it has finished",
                                                name));
        return refuse_error(&run, error);
    }

    /* 1. running; 2. no job */
    if (virDomainGetState(dom, &state, &reason, 0) < 0)
        return set_finish(
            &run, CTL_EXIT_HYPERVISOR, "failed",
            g_strdup_printf("cannot read the state of domain '%s': %s", name, virt_last_error()));
    if (!check_domain_running(name, state, &error)
        || !check_no_job(name, control_state(dom), job_type(dom), &error))
        return refuse_error(&run, error);

    if (!(info = ctl_domain_info(dom, &xml, &error)))
        return set_finish(&run, CTL_EXIT_HYPERVISOR, "failed", g_strdup(error->message));
    if (!ctl_vcpu_counts(dom, TRUE, &live_cur, &live_max, &error))
        return set_finish(&run, CTL_EXIT_HYPERVISOR, "failed", g_strdup(error->message));
    run.rec.previous = live_cur;
    run.rec.actual = live_cur; /* until something changes it */
    if (virDomainIsPersistent(dom) == 1
        && !ctl_vcpu_counts(dom, FALSE, &cfg_cur, &cfg_max, &error))
        return set_finish(&run, CTL_EXIT_HYPERVISOR, "failed", g_strdup(error->message));
    hv_max = virConnectGetMaxVcpus(conn, info->type);
    if (hv_max < 0)
        virResetLastError(); /* unknown: libvirt itself will still refuse */

    /* 4. sockets; 3. limits */
    if (!check_sockets(info, name, value, sockets, &count, &error))
        return refuse_error(&run, error);
    run.rec.requested = count;
    if (!check_count(name, count, live_max, hv_max, info->type, config, cfg_max, &error))
        return refuse_error(&run, error);

    /* 8. host policy (read first: a broken policy refuses everything) */
    if (!(policy = policy_load(ctx->policy, !ctx->policy_explicit, &error)))
        return refuse(&run, g_strdup_printf("%s; nothing changed", error->message));

    /* 5. guest OS */
    if (!(matrix = support_matrix_load(ctx->support_matrix, &error))) {
        output_warning(ctx->out, "%s; every guest OS counts as unknown", error->message);
        g_clear_error(&error);
    }
    if (info->agent_socket && guest_ping(info->agent_socket, NULL))
        agent = GUEST_AGENT_ANSWERS;
    if (!check_guest_os(matrix, info->os_id, agent, name, live_cur, count, force, &error)
        || !check_pins(info, name, live_cur, count, force, &error)
        || !check_policy(policy, name, live_cur, count, cfg_cur, &error))
        return refuse_error(&run, error);

    /* before hooks: no agent connection is held while they run */
    if (!(domxml_path = write_domxml(xml, &error)))
        return refuse(
            &run, g_strdup_printf("cannot write the domain XML for the hooks: %s", error->message));
    roots = hooks_roots(ctx->hooks_dir);
    env.domxml_path = domxml_path;
    env.vm_id = run.rec.uuid;
    env.vm_name = name;
    env.number_of_cpus = count;
    env.previous_number_of_cpus = live_cur;
    env.agent_socket = info->agent_socket ? info->agent_socket : "";
    if (!hooks_run(roots, HOOK_PHASE_BEFORE, &env, ctx->hook_timeout, run.hooks, &stopped)) {
        g_autofree char *why = describe_failed_hooks(run.hooks, 0);
        g_unlink(domxml_path);
        return set_finish(&run, CTL_EXIT_VETOED, "vetoed",
                          g_strdup_printf("a before hook vetoed setting domain '%s' to %u vCPUs: "
                                          "%s; nothing changed",
                                          name, count, why));
    }
    after_from = run.hooks->len;

    /* An unplug goes quicker and gentler when the guest offlines the CPUs
     * itself first; the kernel would otherwise do it on the ACPI eject. */
    if ((guint)live_cur > count && agent == GUEST_AGENT_ANSWERS) {
        guest_before = guest_get_topology(info->agent_socket, NULL);
        if (guest_before && cpulist_count(guest_before->online) > count) {
            g_autoptr(Topology) t = guest_set_num_cpus(info->agent_socket, count, 0, &error);
            if (t) {
                pre_offlined = TRUE;
            } else {
                output_warning(ctx->out,
                               "the guest of domain '%s' could not offline CPUs "
                               "before the unplug (%s); the guest kernel will do it",
                               name, error->message);
                g_clear_error(&error);
            }
        }
    }

    deadline = g_get_monotonic_time() + (gint64)timeout * G_USEC_PER_SEC;
    if (virDomainSetVcpusFlags(dom, count, VIR_DOMAIN_AFFECT_LIVE) == 0) {
        converged = TRUE;
    } else {
        g_autofree char *err_text = g_strdup(virt_last_error());
        int code = virt_last_error_code();
        int now = virDomainGetVcpusFlags(dom, VIR_DOMAIN_AFFECT_LIVE);

        if (!is_timeout_error(code, err_text) && now == live_cur) {
            /* a plain refusal by the hypervisor: nothing changed, and the
             * guest gets back what it had */
            if (pre_offlined) {
                g_autoptr(Topology) t = guest_set_num_cpus(
                    info->agent_socket, cpulist_count(guest_before->online), 0, NULL);
                if (!t)
                    output_warning(ctx->out,
                                   "the guest of domain '%s' could not put its "
                                   "offlined CPUs back online",
                                   name);
            }
            g_unlink(domxml_path);
            run.rec.actual = now;
            return set_finish(&run, CTL_EXIT_HYPERVISOR, "failed",
                              g_strdup_printf("libvirt could not set domain '%s' to %u vCPUs: "
                                              "%s; nothing changed",
                                              name, count, err_text));
        }
        output_warning(ctx->out,
                       "libvirt reported '%s' for domain '%s'; establishing the actual "
                       "vCPU count and retrying for up to %u s",
                       err_text, name, timeout);
        run.error = g_steal_pointer(&err_text);
        converged = converge(dom, count, info->agent_socket, deadline, &run.rec.guest_present,
                             &run.error);
    }
    actual = virDomainGetVcpusFlags(dom, VIR_DOMAIN_AFFECT_LIVE);
    run.rec.actual = actual;

    /* after hooks: reported, not fatal */
    env.number_of_cpus = count;
    if (!hooks_run(roots, HOOK_PHASE_AFTER, &env, ctx->hook_timeout, run.hooks, &stopped)) {
        g_autofree char *why = describe_failed_hooks(run.hooks, after_from);
        output_warning(ctx->out, "after hooks failed for domain '%s': %s", name, why);
    }
    g_unlink(domxml_path);

    if (!converged || actual != (int)count) {
        g_autofree char *last = g_steal_pointer(&run.error);
        g_autofree char *guest
            = run.rec.guest_present >= 0
                  ? g_strdup_printf("; the guest has %d CPUs present", run.rec.guest_present)
                  : g_strdup("");
        return set_finish(&run, CTL_EXIT_NOT_CONVERGED, "not-converged",
                          g_strdup_printf("domain '%s' has %d vCPUs, not the %u requested (it "
                                          "had %d)%s; libvirt: %s",
                                          name, actual, count, live_cur, guest,
                                          last ? last : "the change did not converge"));
    }
    g_clear_pointer(&run.error, g_free);

    /* the persistent definition follows only a live change that succeeded */
    if (config) {
        if (virDomainSetVcpusFlags(dom, count, VIR_DOMAIN_AFFECT_CONFIG) < 0)
            return set_finish(&run, CTL_EXIT_NOT_CONVERGED, "not-converged",
                              g_strdup_printf("domain '%s' now has %u live vCPUs but its "
                                              "persistent definition could not be updated: %s",
                                              name, count, virt_last_error()));
        run.config_done = TRUE;
    }

    output_text(ctx->out, "Domain '%s' now has %u vCPUs (was %d).\n", name, count, live_cur);
    if (config)
        output_text(ctx->out, "Its persistent definition was updated to %u vCPUs.\n", count);

    /* the guest's side */
    if (info->agent_socket) {
        GuestWaitResult r
            = guest_wait_count(info->agent_socket, count, deadline, &guest_after, &error);
        if (guest_after) {
            run.rec.guest_online = cpulist_count(guest_after->online);
            run.rec.guest_present = cpulist_count(guest_after->present);
        }
        if (r == GUEST_WAIT_REACHED) {
            run.rec.guest = "confirmed";
            output_text(ctx->out, "The guest confirmed %u CPUs present and online.\n", count);
            return set_finish(&run, CTL_EXIT_OK, "done", NULL);
        }
        if (r == GUEST_WAIT_TIMEOUT) {
            run.rec.guest = "unconfirmed";
            return set_finish(&run, CTL_EXIT_NOT_CONVERGED, "not-converged",
                              g_strdup_printf("domain '%s' has %u vCPUs but after %u s its guest "
                                              "has %d CPUs online and %d present, not %u%s%s",
                                              name, count, timeout, run.rec.guest_online,
                                              run.rec.guest_present, count, error ? ": " : "",
                                              error ? error->message : ""));
        }
    }
    run.rec.guest = "unconfirmed";
    {
        g_autofree char *why = agent_unreachable_message(name, info->agent_socket, error);
        if (require_guest)
            return set_finish(&run, CTL_EXIT_NO_AGENT, "unconfirmed",
                              g_strdup_printf("domain '%s' has %u vCPUs, but the guest side is "
                                              "unconfirmed: %s",
                                              name, count, why));
        output_warning(ctx->out, "the guest side is unconfirmed: %s", why);
    }
    return set_finish(&run, exit_code, "done", NULL);
}
