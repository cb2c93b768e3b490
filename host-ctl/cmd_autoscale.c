/* cmd_autoscale.c: `hotcpu-ctl autoscale DOMAIN --min N --max M ...`: give
 * a domain the vCPUs its load needs, within bounds, until SIGTERM/SIGINT.
 *
 * A sample every few seconds: the guest's load from hotcpu-agent
 * (get-load, on a short connection, so that `watch` and the hooks can use
 * the channel in between), the live count from libvirt.  The decision is
 * autoscale_decide()'s; a change goes through `set`'s whole path (lock,
 * checks, hooks, the guest's confirmation, the audit record with the
 * reason).  The bounds come from the command line, else from
 * /etc/hotcpu/autoscale.d/DOMAIN.conf (docs/autoscale.md).
 */
#include <math.h>
#include <string.h>

#include "audit.h"
#include "autoscale_cells.h"
#include "autoscale_decide.h"
#include "numa_plan.h"
#include "autoscale_explain.h"
#include "cancel.h"
#include "ctl_util.h"
#include "domain_follow.h"
#include "keyfile.h"
#include "policy.h"
#include "set_run.h"

typedef struct {
    guint min, max; /* vCPUs, or sockets with --sockets */
    gboolean sockets, dry_run;
    double target;
    guint up_after, down_after, cooldown;
    guint max_step; /* vCPUs (sockets) one change may add or remove; 0: no limit */
    char *connect;  /* the file's libvirt URI, when -c gives none */
} AutoscaleSettings;

static gboolean
read_double(const char *text, const char *what, double *out, GError **error)
{
    char *end = NULL;
    double v = g_ascii_strtod(text, &end);

    if (!end || *end || !isfinite(v) || v <= 0 || v >= 1) {
        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                    "invalid value '%s' for %s: expected a fraction between 0 and 1, like 0.75",
                    text, what);
        return FALSE;
    }
    *out = v;
    return TRUE;
}

/* What neither the command line nor the domain's file gives. */
static const AutoscaleSettings settings_default = {
    .target = AUTOSCALE_DEFAULT_TARGET,
    .up_after = AUTOSCALE_DEFAULT_UP_AFTER,
    .down_after = AUTOSCALE_DEFAULT_DOWN_AFTER,
    .cooldown = AUTOSCALE_DEFAULT_COOLDOWN,
};

/* [autoscale] min, max, target, up-after, down-after, cooldown, max-step,
 * sockets, dry-run, connect from @path; a missing file is no error. */
static gboolean
settings_from_file(const char *path, AutoscaleSettings *s, GError **error)
{
    g_autoptr(GKeyFile) kf = g_key_file_new();
    g_autoptr(GError) err = NULL;
    static const char *const uints[]
        = { "min", "max", "up-after", "down-after", "cooldown", "max-step" };
    guint *slots[] = { &s->min, &s->max, &s->up_after, &s->down_after, &s->cooldown, &s->max_step };

    g_autofree char *target = NULL;
    gboolean found, sockets = FALSE, dry_run = FALSE;

    if (!keyfile_load_file(kf, path, TRUE, &found, &err)) {
        g_propagate_prefixed_error(error, g_steal_pointer(&err), "cannot read %s: ", path);
        return FALSE;
    }
    if (!found)
        return TRUE;
    for (guint i = 0; i < G_N_ELEMENTS(uints); i++) {
        guint64 v;

        switch (keyfile_uint64(kf, "autoscale", uints[i], &v, NULL)) {
        case KEYFILE_ABSENT:
            break;
        case KEYFILE_READ:
            *slots[i] = (guint)v;
            break;
        case KEYFILE_INVALID:
            g_set_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                        "%s: %s must be a whole number", path, uints[i]);
            return FALSE;
        }
    }
    if (keyfile_string(kf, "autoscale", "target", &target, NULL) != KEYFILE_ABSENT) {
        g_autofree char *what = g_strdup_printf("target in %s", path);
        if (!read_double(target ? target : "", what, &s->target, error))
            return FALSE;
    }
    keyfile_string(kf, "autoscale", "connect", &s->connect, NULL);
    keyfile_bool(kf, "autoscale", "sockets", &sockets, NULL);
    keyfile_bool(kf, "autoscale", "dry-run", &dry_run, NULL);
    s->sockets = s->sockets || sockets;
    s->dry_run = s->dry_run || dry_run;
    return TRUE;
}

static gboolean
settings_load(const char *domain, const CmdArgs *args, AutoscaleSettings *s, GError **error)
{
    g_autofree char *path = g_strdup_printf(HOTCPU_ETC_DIR "/autoscale.d/%s.conf", domain);
    const char *target = cmd_arg_string(args, "target");

    *s = settings_default;
    if (!settings_from_file(path, s, error))
        return FALSE;
    /* the command line wins */
    s->min = cmd_arg_uint(args, "min", s->min);
    s->max = cmd_arg_uint(args, "max", s->max);
    s->up_after = cmd_arg_uint(args, "up-after", s->up_after);
    s->down_after = cmd_arg_uint(args, "down-after", s->down_after);
    s->cooldown = cmd_arg_uint(args, "cooldown", s->cooldown);
    s->max_step = cmd_arg_uint(args, "max-step", s->max_step);
    s->sockets = s->sockets || cmd_arg_bool(args, "sockets");
    s->dry_run = s->dry_run || cmd_arg_bool(args, "dry-run");
    if (target && !read_double(target, "--target", &s->target, error))
        return FALSE;
    if (s->min < 1 || s->max < s->min) {
        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                    "autoscale of domain '%s' needs 1 <= --min <= --max (got %u and %u; %s "
                    "can give them too)",
                    domain, s->min, s->max, path);
        return FALSE;
    }
    return TRUE;
}

typedef struct {
    CtlContext *ctx;
    AutoscaleSettings s;
    DomainFollow *follow;
    Policy *policy;
    AutoscaleState state;
    gboolean primed; /* the agent's load baseline is ours (see sample()) */
    guint period_ms;
} Autoscale;

/* A number 0..1 from the guest's reply; -1 for anything else. */
static double
fraction(JsonNode *n)
{
    GType type = n && JSON_NODE_HOLDS_VALUE(n) ? json_node_get_value_type(n) : G_TYPE_INVALID;
    double v = type == G_TYPE_DOUBLE  ? json_node_get_double(n)
               : type == G_TYPE_INT64 ? (double)json_node_get_int(n)
                                      : -1;

    return isfinite(v) && v >= 0 && v <= 1 ? v : -1;
}

void
autoscale_sample_from_load(JsonNode *load, double t, AutoscaleSample *out)
{
    JsonObject *o = load && JSON_NODE_HOLDS_OBJECT(load) ? json_node_get_object(load) : NULL;
    JsonNode *pressure = o ? json_object_get_member(o, "pressure") : NULL;
    JsonNode *runnable = o ? json_object_get_member(o, "runnable") : NULL;

    out->t = t;
    out->answered = o != NULL;
    /* The guest is untrusted: a fraction out of 0..1 or a count out of
     * range is no figure (unknown), never a decision. */
    out->busy = o ? fraction(json_object_get_member(o, "busy")) : -1;
    out->steal = o ? fraction(json_object_get_member(o, "steal")) : -1;
    out->runnable = runnable && JSON_NODE_HOLDS_VALUE(runnable)
                            && json_node_get_value_type(runnable) == G_TYPE_INT64
                            && json_node_get_int(runnable) > 0
                            && json_node_get_int(runnable) <= AUTOSCALE_MAX_RUNNABLE
                        ? json_node_get_int(runnable)
                        : -1;
    out->pressure
        = pressure && JSON_NODE_HOLDS_OBJECT(pressure)
              ? fraction(json_object_get_member(json_node_get_object(pressure), "some-avg10"))
              : -1;
}

/* One sample: the guest's load since the previous one.  The first call
 * after a start or a change only sets the baseline (get-load covers the
 * time since the previous call on the port, whoever made it). */
static gboolean
sample(Autoscale *a, Guest *guest, AutoscaleSample *out)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) load = guest ? guest_get_load(guest, &error) : NULL;
    gboolean o = load && JSON_NODE_HOLDS_OBJECT(load);

    /* A stop that cut the call short says nothing about the agent. */
    if (!o && cancel_signal() != 0)
        return FALSE;
    autoscale_sample_from_load(load, g_get_monotonic_time() / (double)G_USEC_PER_SEC, out);
    if (!o)
        domain_follow_guest_failed(a->follow);
    if (o && !a->primed) {
        a->primed = TRUE;
        return FALSE;
    }
    return TRUE;
}

static AutoscalePolicy
policy_of(const AutoscaleSettings *s, const Policy *host, virDomainPtr dom, guint current)
{
    g_autofree char *xml = NULL;
    g_autoptr(DomainInfo) info = ctl_domain_info(dom, &xml, NULL);
    g_autoptr(NumaPlan) cells = xml ? numa_plan_read(xml, NULL) : NULL;
    guint unit = s->sockets && info ? domain_info_vcpus_per_socket(info) : 1;
    int persistent = virDomainIsPersistent(dom) == 1
                         ? virDomainGetVcpusFlags(dom, VIR_DOMAIN_AFFECT_CONFIG)
                         : 0;
    AutoscalePolicy p = { 0,           s->max * unit, unit,        s->target,
                          s->up_after, s->down_after, s->cooldown, s->max_step * unit };

    p.floor = autoscale_floor(s->min * unit, host->allow_unplug, host->allow_below_persistent,
                              MAX(persistent, 0), current);
    /* a NUMA domain: whole rounds, a socket to each cell */
    autoscale_cells_policy(&p, cells ? cells->cells->len : 0);
    virResetLastError();
    return p;
}

static AutoscalePolicy
bounds(Autoscale *a, virDomainPtr dom, guint current)
{
    return policy_of(&a->s, a->policy, dom, current);
}

gboolean
autoscale_policy_for(CtlContext *ctx, const char *name, virDomainPtr dom, guint current,
                     AutoscalePolicy *out, GError **error)
{
    g_autofree char *path = g_strdup_printf(HOTCPU_ETC_DIR "/autoscale.d/%s.conf", name);
    g_autoptr(Policy) host = policy_load(ctx->policy, !ctx->policy_explicit, error);
    AutoscaleSettings s = settings_default;
    gboolean ok = host && settings_from_file(path, &s, error);
    int maximum
        = ok ? virDomainGetVcpusFlags(dom, VIR_DOMAIN_AFFECT_LIVE | VIR_DOMAIN_VCPU_MAXIMUM) : -1;

    g_free(s.connect);
    if (!ok)
        return FALSE;
    virResetLastError();
    /* bounds the file does not give: all the domain allows */
    if (s.min < 1)
        s.min = 1;
    if (s.max < s.min) {
        g_autoptr(DomainInfo) info = s.sockets ? ctl_domain_info(dom, NULL, NULL) : NULL;
        guint unit = info ? MAX(domain_info_vcpus_per_socket(info), 1) : 1;

        s.max = MAX((maximum > 0 ? (guint)maximum : current) / unit, s.min);
    }
    *out = policy_of(&s, host, dom, current);
    return TRUE;
}

/* The host's saturation held a change back: one audit record, as for a
 * change, with outcome "held" (said once per episode, like the line). */
static void
record_hold(Autoscale *a, virDomainPtr dom, const AutoscaleDecision *d, guint current)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(AuditLog) log = NULL;
    char uuid[VIR_UUID_STRING_BUFLEN] = "";
    AuditRecord rec = { 0 };

    if (a->s.dry_run)
        return;
    if (virDomainGetUUIDString(dom, uuid) < 0)
        virResetLastError();
    rec.command = "autoscale";
    rec.reason = d->reason;
    rec.domain = domain_follow_name(a->follow);
    rec.uuid = uuid[0] ? uuid : NULL;
    rec.previous = rec.actual = (gint)current;
    rec.requested = (gint)d->desired;
    rec.outcome = "held";
    rec.exit_code = 0;
    rec.guest_online = rec.guest_present = -1;
    if (!(log = audit_open(a->ctx->audit_log, &error)) || !audit_write(log, &rec, &error)) {
        g_autofree char *note = g_strdup_printf(
            "autoscale of domain '%s': cannot record the hold: %s", rec.domain, error->message);
        domain_follow_note(a->follow, note);
    }
}

/* Carries out @d: through set's whole path, or only said with --dry-run. */
static void
act(Autoscale *a, const AutoscaleDecision *d, const AutoscalePolicy *p, guint current, double t)
{
    g_autofree char *note = g_strdup_printf(
        "%s domain '%s' from %u to %u vCPUs: %s", a->s.dry_run ? "would set" : "setting",
        domain_follow_name(a->follow), current, d->target, d->reason);
    SetRequest req = { domain_follow_name(a->follow),
                       a->s.sockets ? d->target / p->step : d->target,
                       a->s.sockets,
                       FALSE,
                       FALSE,
                       FALSE,
                       CTL_DEFAULT_TIMEOUT_S,
                       d->reason };

    domain_follow_note(a->follow, note);
    /* A stop (SIGTERM) lets the change finish first: its end is bounded by
     * the timeout, and a change cut short leaves the guest to converge on
     * its own.  A second signal still cuts it short. */
    int rc = CTL_EXIT_OK;

    cancel_hold();
    if (!a->s.dry_run)
        rc = set_execute(a->ctx, &req);
    cancel_release();
    a->primed = FALSE;
    if (rc != CTL_EXIT_REFUSED) {
        autoscale_changed(&a->state, t);
        return;
    }
    {
        /* set said why; a lasting refusal must not fill the audit log. */
        double wait = autoscale_refused(p, &a->state, t, current, d->target);
        g_autofree char *again = g_strdup_printf(
            "autoscale: domain '%s' was not set to %u vCPUs (refused); not asking again for %.0f s",
            domain_follow_name(a->follow), d->target, wait);

        domain_follow_note(a->follow, again);
    }
}

static void
step(Autoscale *a)
{
    Guest *guest = domain_follow_guest(a->follow, FALSE);
    virDomainPtr dom = domain_follow_domain(a->follow);
    AutoscaleSample x;
    AutoscaleDecision d;
    AutoscalePolicy p;
    int current;

    if (!sample(a, guest, &x))
        return;
    current = virDomainGetVcpusFlags(dom, VIR_DOMAIN_AFFECT_LIVE);
    if (current < 0) {
        virResetLastError(); /* the domain went: the follow says so */
        return;
    }
    p = bounds(a, dom, (guint)current);
    d = autoscale_decide(&p, &a->state, &x, (guint)current);
    g_debug("autoscale of domain '%s': %d vCPUs (%u-%u), busy %.2f, pressure %.2f, steal %.2f, "
            "runnable %" G_GINT64_FORMAT "%s: wants %u: %s",
            domain_follow_name(a->follow), current, p.floor, p.ceiling, x.busy, x.pressure, x.steal,
            x.runnable, x.answered ? "" : " (no answer)", d.desired,
            d.action == AUTOSCALE_UP     ? "up"
            : d.action == AUTOSCALE_DOWN ? "down"
                                         : "hold");
    if (d.action == AUTOSCALE_HOLD) {
        if (d.reason[0])
            domain_follow_note(a->follow, d.reason);
        if (g_str_has_prefix(d.reason, "autoscale: steal"))
            record_hold(a, dom, &d, (guint)current);
        return;
    }
    act(a, &d, &p, (guint)current, x.t);
}

static void
say_start(Autoscale *a)
{
    g_autofree char *step = a->s.max_step
                                ? g_strdup_printf(", at most %u %s per change", a->s.max_step,
                                                  a->s.sockets ? "sockets" : "vCPUs")
                                : NULL;
    g_autofree char *note = g_strdup_printf(
        "autoscale of domain '%s': %u to %u %s, busy target %.2f (%.2f-%.2f), up after %u s, "
        "down after %u s, cooldown %u s%s%s",
        domain_follow_name(a->follow), a->s.min, a->s.max, a->s.sockets ? "sockets" : "vCPUs",
        a->s.target, a->s.target - AUTOSCALE_BAND, a->s.target + AUTOSCALE_BAND, a->s.up_after,
        a->s.down_after, a->s.cooldown, step ? step : "",
        a->s.dry_run ? "; dry run: nothing is changed" : "");
    domain_follow_note(a->follow, note);
}

/* Runs until a signal comes; the settings are loaded. */
static int
autoscale_run(CtlContext *ctx, const char *name, Autoscale *a)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(Policy) policy = NULL;
    int rc = CTL_EXIT_OK;

    if (!(policy = policy_load(ctx->policy, !ctx->policy_explicit, &error)))
        return output_fail_error(ctx->out, CTL_EXIT_REFUSED, NULL, error);
    if (!(a->follow = domain_follow_new(ctx, name, &rc, &error)))
        return output_fail_error(ctx->out, rc, NULL, error);
    a->policy = policy;
    a->period_ms = autoscale_period_ms(a->s.up_after, a->s.down_after);
    autoscale_state_init(&a->state);
    say_start(a);
    while (!cancel_signal() && domain_follow_wait_running(a->follow)) {
        step(a);
        if (!domain_follow_sleep(a->follow, a->period_ms))
            break;
    }
    if (cancel_signal()) {
        g_autofree char *bye = g_strdup_printf("autoscale of domain '%s' stopped by signal %d (%s)",
                                               name, cancel_signal(), g_strsignal(cancel_signal()));
        domain_follow_note(a->follow, bye);
    }
    g_clear_pointer(&a->follow, domain_follow_free);
    return CTL_EXIT_OK; /* until SIGTERM/SIGINT: that is how it ends */
}

static int
cmd_autoscale(CtlContext *ctx, const CmdArgs *args)
{
    const char *name = cmd_arg_string(args, "domain");
    const char *uri = ctx->uri;
    g_autoptr(GError) error = NULL;
    Autoscale a = { .ctx = ctx };
    int rc;

    output_set_stream(ctx->out, TRUE);
    cancel_watch_signals();
    if (!settings_load(name, args, &a.s, &error)) {
        g_free(a.s.connect);
        return output_fail_error(ctx->out, CTL_EXIT_USAGE, NULL, error);
    }
    /* -c wins over the file's connect= */
    if (!ctx->uri && a.s.connect && *a.s.connect)
        ctx->uri = a.s.connect;
    rc = autoscale_run(ctx, name, &a);
    ctx->uri = uri;
    g_free(a.s.connect);
    return rc;
}

static const CmdOptDef opts_autoscale[] = {
    CMD_OPT_DOMAIN,
    { "min", OPT_UINT, FALSE, FALSE, "count",
      "the fewest vCPUs (sockets with --sockets); required here or in the domain's file" },
    { "max", OPT_UINT, FALSE, FALSE, "count",
      "the most vCPUs (sockets with --sockets); required here or in the domain's file" },
    { "target", OPT_STRING, FALSE, FALSE, "fraction",
      "the busy fraction aimed at (default " G_STRINGIFY(AUTOSCALE_DEFAULT_TARGET) ", +- 0.1)" },
    { "up-after", OPT_UINT, FALSE, FALSE, "seconds",
      "the load wanting more this long: up to what it wanted (default " G_STRINGIFY(
          AUTOSCALE_DEFAULT_UP_AFTER) ")" },
    { "down-after", OPT_UINT, FALSE, FALSE, "seconds",
      "the load wanting fewer this long: down to the most it wanted (default " G_STRINGIFY(
          AUTOSCALE_DEFAULT_DOWN_AFTER) ")" },
    { "cooldown", OPT_UINT, FALSE, FALSE, "seconds",
      "no change this soon after the last (default " G_STRINGIFY(AUTOSCALE_DEFAULT_COOLDOWN) ")" },
    { "max-step", OPT_UINT, FALSE, FALSE, "count",
      "the most vCPUs (sockets with --sockets) one change adds or removes (default: no limit)" },
    { "sockets", OPT_BOOL, FALSE, FALSE, NULL,
      "whole sockets; --min, --max and --max-step in sockets" },
    { "dry-run", OPT_BOOL, FALSE, FALSE, NULL, "print the decisions and change nothing" },
    { NULL },
};
CMD_OPTS_FIT(opts_autoscale);

const CmdDef cmd_autoscale_def = {
    .name = "autoscale",
    .handler = cmd_autoscale,
    .opts = opts_autoscale,
    .summary = "give a domain the vCPUs its load needs",
    .description
    = "Samples the guest's load (hotcpu-agent) and changes the live vCPU count between\n"
      "    --min and --max, in one change to the count the load needs (busy x vCPUs /\n"
      "    target; runnable tasks when the CPUs are saturated): up when every sample of\n"
      "    --up-after seconds wanted more (busy above the target's band, or CPU pressure\n"
      "    says tasks wait), down to the most wanted in --down-after seconds when all of\n"
      "    them wanted fewer; never within --cooldown of the last change, never more than\n"
      "    --max-step at once, never against the host policy nor up while steal says the\n"
      "    host's CPUs are saturated.  Every change goes through set's\n"
      "    path (checks, hooks, the guest's confirmation, the audit record with the\n"
      "    reason).  Bounds not given come from " HOTCPU_ETC_DIR "/autoscale.d/DOMAIN.conf.\n"
      "    Runs until SIGTERM or SIGINT (exit 0); waits while the domain is shut off.",
};
