/* checks.c: the refusals of `set`, as pure functions. */
#include "checks.h"

#include <libvirt/libvirt.h>
#include <string.h>

/* clang-format off */
G_DEFINE_QUARK(hotcpu-check-error-quark, check_error)
/* clang-format on */

/* "vCPUs" or "vCPU" after @n */
#define S(n) ((n) == 1 ? "" : "s")

#define refuse(error, ...)                                                                         \
    (g_set_error((error), CHECK_ERROR, CHECK_ERROR_REFUSED, __VA_ARGS__), FALSE)

static const char *
state_name(int state)
{
    switch (state) {
    case VIR_DOMAIN_NOSTATE:
        return "no state";
    case VIR_DOMAIN_RUNNING:
        return "running";
    case VIR_DOMAIN_BLOCKED:
        return "blocked";
    case VIR_DOMAIN_PAUSED:
        return "paused";
    case VIR_DOMAIN_SHUTDOWN:
        return "being shut down";
    case VIR_DOMAIN_SHUTOFF:
        return "shut off";
    case VIR_DOMAIN_CRASHED:
        return "crashed";
    case VIR_DOMAIN_PMSUSPENDED:
        return "suspended by guest power management";
    default:
        return "unknown";
    }
}

gboolean
check_domain_running(const char *dom, int state, GError **error)
{
    if (state == VIR_DOMAIN_RUNNING)
        return TRUE;
    if (state == VIR_DOMAIN_SHUTOFF)
        return refuse(error,
                      "domain '%s' is not running (state: shut off); vCPU hot plug needs a "
                      "running domain; to change its persistent definition, use --config",
                      dom);
    return refuse(error,
                  "domain '%s' is not running (state: %s); vCPU hot plug needs a running domain",
                  dom, state_name(state));
}

/* A job libvirt runs on a domain, in words ("has a dump in progress"). */
static const char *
job_operation_words(int operation)
{
    switch (operation) {
    case VIR_DOMAIN_JOB_OPERATION_MIGRATION_OUT:
        return "is being migrated to another host";
    case VIR_DOMAIN_JOB_OPERATION_MIGRATION_IN:
        return "is being migrated in from another host";
    case VIR_DOMAIN_JOB_OPERATION_SAVE:
        return "has a save in progress";
    case VIR_DOMAIN_JOB_OPERATION_RESTORE:
        return "has a restore in progress";
    case VIR_DOMAIN_JOB_OPERATION_DUMP:
        return "has a dump in progress";
    case VIR_DOMAIN_JOB_OPERATION_SNAPSHOT:
    case VIR_DOMAIN_JOB_OPERATION_SNAPSHOT_REVERT:
        return "has a snapshot in progress";
    case VIR_DOMAIN_JOB_OPERATION_BACKUP:
        return "has a backup in progress";
    default:
        return NULL;
    }
}

static gboolean
refuse_job(GError **error, const char *dom, int job_operation)
{
    const char *words = job_operation_words(job_operation);

    if (words)
        return refuse(error,
                      "domain '%s' %s (a libvirt job), and a vCPU change now would change "
                      "the devices under it; try again when it has finished",
                      dom, words);
    return refuse(error,
                  "domain '%s' has a job in progress (such as a migration, save or dump); "
                  "try again when it has finished",
                  dom);
}

gboolean
check_no_job(const char *dom, const virDomainControlInfo *control, int job_type, int job_operation,
             GError **error)
{
    switch (control != NULL ? (int)control->state : -1) {
    case VIR_DOMAIN_CONTROL_JOB:
        return refuse_job(error, dom, job_operation);
    case VIR_DOMAIN_CONTROL_OCCUPIED:
        return refuse(error, "domain '%s' is busy: libvirt is talking to its hypervisor; try again",
                      dom);
    case VIR_DOMAIN_CONTROL_ERROR:
        /* QEMU's driver says ERROR/INTERNAL while another client's
         * synchronous job (a vCPU change waiting for the guest) holds the
         * domain outside the monitor: busy, not broken. */
        if (control->details == VIR_DOMAIN_CONTROL_ERROR_REASON_INTERNAL)
            return refuse(error,
                          "domain '%s' is busy with another change in libvirt (such as a vCPU "
                          "change from another controller); try again when it has finished",
                          dom);
        return refuse(error, "libvirt cannot control domain '%s' (its hypervisor monitor failed)",
                      dom);
    default:
        break;
    }
    if (job_type == VIR_DOMAIN_JOB_BOUNDED || job_type == VIR_DOMAIN_JOB_UNBOUNDED)
        return refuse_job(error, dom, job_operation);
    return TRUE;
}

gboolean
check_sockets(const DomainInfo *info, const char *dom, guint value, gboolean sockets, guint *vcpus,
              GError **error)
{
    guint per = domain_info_vcpus_per_socket(info);

    if (sockets) {
        if (value == 0)
            return refuse(error, "requested 0 sockets but domain '%s' needs at least 1", dom);
        if (value > G_MAXINT / per)
            return refuse(error, "requested %u sockets but domain '%s' allows at most %u vCPUs",
                          value, dom, info->vcpu_max);
        *vcpus = value * per;
        return TRUE;
    }
    if (per > 1 && value % per != 0)
        return refuse(error,
                      "requested %u vCPU%s but domain '%s' has %u vCPUs per socket "
                      "(%u core%s x %u thread%s%s); ask for a multiple of %u, or give sockets "
                      "with --sockets",
                      value, S(value), dom, per, info->cores, S(info->cores), info->threads,
                      S(info->threads), info->dies * info->clusters > 1 ? " x dies x clusters" : "",
                      per);
    *vcpus = value;
    return TRUE;
}

gboolean
check_count(const char *dom, guint count, guint dom_max, gint hv_max, const char *hv_type,
            gboolean config, guint persistent_max, GError **error)
{
    if (count < 1)
        return refuse(error, "requested 0 vCPUs but domain '%s' needs at least 1", dom);
    if (count > dom_max)
        return refuse(error, "requested %u vCPU%s but domain '%s' allows at most %u", count,
                      S(count), dom, dom_max);
    if (hv_max >= 0 && count > (guint)hv_max)
        return refuse(error,
                      "requested %u vCPUs but the hypervisor (type '%s') allows at most %d "
                      "for domain '%s'",
                      count, hv_type ? hv_type : "default", hv_max, dom);
    if (config && persistent_max == 0)
        return refuse(error,
                      "domain '%s' is transient: --config has no persistent definition "
                      "to update",
                      dom);
    if (config && count > persistent_max)
        return refuse(error,
                      "requested %u vCPUs with --config but the persistent definition of "
                      "domain '%s' allows at most %u",
                      count, dom, persistent_max);
    return TRUE;
}

/* The refusal by a matrix row that says no. */
static gboolean
refuse_by_row(const SupportMatrix *matrix, const SupportVerdict *v, const char *os_id,
              const char *dom, const char *what, GError **error)
{
    if (!os_id)
        return refuse(error,
                      "domain '%s' runs on architecture %s, where vCPU %s is not allowed "
                      "(row '%s' of %s); use --force to do it anyway",
                      dom, v->arch, what, v->row, support_matrix_origin(matrix));
    if (v->arch)
        return refuse(error,
                      "domain '%s' runs guest OS %s, which does not allow vCPU %s on %s "
                      "(row '%s' of %s); use --force to do it anyway",
                      dom, os_id, what, v->arch, v->row, support_matrix_origin(matrix));
    return refuse(error,
                  "domain '%s' runs guest OS %s, which does not allow vCPU %s "
                  "(row '%s' of %s); use --force to do it anyway",
                  dom, os_id, what, v->row, support_matrix_origin(matrix));
}

gboolean
check_guest_os(const SupportMatrix *matrix, const char *os_id, const char *arch,
               GuestAgentState agent, const char *dom, guint current, guint count, gboolean force,
               GError **error)
{
    gboolean unplug = count < current;
    const char *what = unplug ? "hot unplug" : "hot plug";
    SupportVerdict v = { 0 };

    if (count == current)
        return TRUE;
    if (matrix)
        v = support_matrix_lookup(matrix, os_id, arch);
    if (v.found) {
        if ((unplug ? v.unplug : v.plug) || force)
            return TRUE;
        return refuse_by_row(matrix, &v, os_id, dom, what, error);
    }
    if (!os_id && agent == GUEST_AGENT_ANSWERS)
        return TRUE; /* the agent runs only on Linux: plug and unplug */
    if (!unplug || force)
        return TRUE;
    if (os_id)
        return refuse(error,
                      "domain '%s' runs guest OS %s, which the support matrix %s does not list, "
                      "so vCPU hot unplug is refused; use --force to do it anyway",
                      dom, os_id, matrix ? support_matrix_origin(matrix) : "(unreadable)");
    return refuse(error,
                  "domain '%s' has no guest OS metadata and its hotcpu agent does not answer "
                  "(nor a qemu-ga that reports Linux), so vCPU hot unplug is refused; use "
                  "--force to do it anyway",
                  dom);
}

gboolean
check_pins(const DomainInfo *info, const char *dom, guint current, guint count,
           const CpuList *removing, gboolean force, GError **error)
{
    g_autoptr(GString) ids = NULL;
    g_autoptr(CpuList) leaving = NULL;
    guint n = 0;

    if (force || count >= current)
        return TRUE;
    ids = g_string_new(NULL);
    leaving = removing ? cpulist_copy(removing) : cpulist_new();
    for (guint v = count; !removing && v < current; v++)
        cpulist_add(leaving, v);
    for (gint v = cpulist_next(leaving, -1); v >= 0; v = cpulist_next(leaving, v)) {
        if (!domain_info_vcpu_pinned(info, (guint)v))
            continue;
        g_string_append_printf(ids, "%s%d", n ? ", " : "", v);
        n++;
    }
    if (n == 0)
        return TRUE;
    return refuse(error,
                  "unplugging domain '%s' from %u to %u vCPUs would remove vCPU%s %s, "
                  "which %s an explicit <vcpupin>; use --force to do it anyway",
                  dom, current, count, n > 1 ? "s" : "", ids->str, n > 1 ? "have" : "has");
}

gboolean
check_policy(const Policy *policy, const char *dom, guint current, guint count,
             guint persistent_current, GError **error)
{
    const char *origin = policy->origin ? policy->origin : "defaults";

    if (count < current && !policy->allow_unplug)
        return refuse(error,
                      "the host policy (%s) forbids vCPU hot unplug: requested %u vCPU%s but "
                      "domain '%s' has %u",
                      origin, count, S(count), dom, current);
    if (!policy->allow_below_persistent && persistent_current > 0 && count < persistent_current)
        return refuse(error,
                      "the host policy (%s) forbids going below the persistent definition: "
                      "requested %u vCPU%s but domain '%s' is defined with %u",
                      origin, count, S(count), dom, persistent_current);
    return TRUE;
}

gboolean
check_host_size(const Policy *policy, const char *dom, guint current, guint count, guint host_cpus,
                char **warning, GError **error)
{
    double ratio = policy->max_vcpus_per_host_cpu;
    /* truncation is floor here; the epsilon lets 1.1 x 10 host CPUs be 11 */
    guint limit = ratio > 0 ? (guint)(ratio * host_cpus + 1e-9) : 0;

    *warning = NULL;
    if (count <= current || host_cpus == 0)
        return TRUE;
    if (ratio > 0 && count > limit)
        return refuse(error,
                      "the host policy (%s) allows at most %g vCPUs per host CPU, %u on this "
                      "host of %u logical CPU%s: requested %u vCPUs for domain '%s'",
                      policy->origin ? policy->origin : "defaults", ratio, limit, host_cpus,
                      S(host_cpus), count, dom);
    if (count > host_cpus)
        *warning = g_strdup_printf("domain '%s' would have %u vCPUs, more than the host's %u "
                                   "logical CPU%s: its vCPUs will compete for host CPUs",
                                   dom, count, host_cpus, S(host_cpus));
    return TRUE;
}

/* ---- hot-pluggable vCPUs ---------------------------------------------------- */

static gboolean
is_qemu_domain(const DomainInfo *info)
{
    return g_strcmp0(info->type, "qemu") == 0 || g_strcmp0(info->type, "kvm") == 0;
}

void
live_range_compute(const DomainInfo *info, LiveRange *range)
{
    guint disabled = 0;

    memset(range, 0, sizeof(*range));
    range->fixed = cpulist_new();
    range->removable = cpulist_new();
    if (info->vcpus->len == 0 && !is_qemu_domain(info))
        return; /* another driver: nothing to go by */
    range->known = TRUE;
    if (info->vcpus->len == 0) {
        /* libvirt's QEMU driver without <vcpus>: the first `current` vCPUs
         * are enabled and not hot-pluggable, the rest disabled */
        for (guint id = 0; id < info->vcpu_current; id++)
            cpulist_add(range->fixed, id);
        disabled = info->vcpu_max - info->vcpu_current;
    }
    for (guint i = 0; i < info->vcpus->len; i++) {
        const VcpuSlot *s = &g_array_index(info->vcpus, VcpuSlot, i);

        /* In a live XML an enabled vCPU without the attribute was plugged
         * at run time into a slot that virDomainSetVcpusFlags(MAXIMUM) added
         * (it leaves the attribute unset); libvirt unplugs it.  vCPU 0 never. */
        gboolean removable = s->hotpluggable || s->hotpluggable_absent;

        if (!s->enabled)
            disabled++;
        else
            cpulist_add(removable && s->id != 0 ? range->removable : range->fixed, s->id);
    }
    range->current = cpulist_count(range->fixed) + cpulist_count(range->removable);
    range->min = MAX(1, cpulist_count(range->fixed));
    range->max = range->current + disabled;
}

void
live_range_clear(LiveRange *range)
{
    g_clear_pointer(&range->fixed, cpulist_free);
    g_clear_pointer(&range->removable, cpulist_free);
}

gboolean
check_live_range(const LiveRange *range, const char *dom, guint count, guint prepare_max,
                 GError **error)
{
    g_autofree char *fixed = NULL;
    g_autofree char *way_out = NULL;
    guint n;

    if (!range->known || count == range->current)
        return TRUE;
    if (count > range->current && count > range->max)
        return refuse(error,
                      "domain '%s' cannot go above %u vCPUs live: it has only %u disabled vCPU%s "
                      "to enable",
                      dom, range->max, range->max - range->current, S(range->max - range->current));
    if (count >= range->min)
        return TRUE;
    fixed = cpulist_format(range->fixed);
    n = cpulist_count(range->fixed);
    way_out = prepare_max
                  ? g_strdup_printf("run 'hotcpu-ctl prepare %s --max %u' and restart the domain "
                                    "(shut down, then start)",
                                    dom, prepare_max)
                  : g_strdup("the domain is transient: define it with hot-pluggable vCPUs "
                             "(<vcpus>) and start it again");
    return refuse(error,
                  "domain '%s' cannot go below %u vCPU%s live: vCPU%s %s %s not hot-pluggable "
                  "(libvirt makes boot vCPUs non-hotpluggable); %s",
                  dom, range->min, S(range->min), n == 1 ? "" : "s", fixed, n == 1 ? "is" : "are",
                  way_out);
}

/* ---- prepare ---------------------------------------------------------------- */

gboolean
check_prepare_max(const DomainInfo *def, const char *dom, guint value, gboolean sockets,
                  gint hv_max, const char *hv_type, guint *max, GError **error)
{
    guint per = domain_info_vcpus_per_socket(def);
    guint n = value;

    if (value == 0)
        return refuse(error, "requested a maximum of 0 %s but domain '%s' needs at least 1",
                      sockets ? "sockets" : "vCPUs", dom);
    if (sockets && value > G_MAXINT / per)
        return refuse(error, "requested a maximum of %u sockets for domain '%s': too many", value,
                      dom);
    if (sockets)
        n = value * per;
    else if (n % per != 0)
        return refuse(error,
                      "requested a maximum of %u vCPU%s but domain '%s' has %u vCPUs per socket; "
                      "ask for a multiple of %u, or give sockets with --sockets",
                      n, S(n), dom, per, per);
    if (hv_max >= 0 && n > (guint)hv_max)
        return refuse(error,
                      "requested a maximum of %u vCPUs but the hypervisor (type '%s') allows at "
                      "most %d for domain '%s'",
                      n, hv_type ? hv_type : "default", hv_max, dom);
    if (n < def->vcpu_current)
        return refuse(error,
                      "requested a maximum of %u vCPU%s but domain '%s' is defined with %u; the "
                      "maximum cannot be below the current count",
                      n, S(n), dom, def->vcpu_current);
    *max = n;
    return TRUE;
}
