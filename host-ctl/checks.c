/* checks.c: the refusals of `set`, as pure functions. */
#include "checks.h"

#include <libvirt/libvirt.h>

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
    return refuse(error,
                  "domain '%s' is not running (state: %s); vCPU hot plug needs a running domain",
                  dom, state_name(state));
}

gboolean
check_no_job(const char *dom, int control_state, int job_type, GError **error)
{
    switch (control_state) {
    case VIR_DOMAIN_CONTROL_JOB:
        return refuse(error,
                      "domain '%s' has a job in progress (such as a migration, save or dump); "
                      "try again when it has finished",
                      dom);
    case VIR_DOMAIN_CONTROL_OCCUPIED:
        return refuse(error, "domain '%s' is busy: libvirt is talking to its hypervisor; try again",
                      dom);
    case VIR_DOMAIN_CONTROL_ERROR:
        return refuse(error, "libvirt cannot control domain '%s' (its hypervisor monitor failed)",
                      dom);
    default:
        break;
    }
    if (job_type == VIR_DOMAIN_JOB_BOUNDED || job_type == VIR_DOMAIN_JOB_UNBOUNDED)
        return refuse(error,
                      "domain '%s' has a job in progress (such as a migration, save or dump); "
                      "try again when it has finished",
                      dom);
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

gboolean
check_guest_os(const SupportMatrix *matrix, const char *os_id, GuestAgentState agent,
               const char *dom, guint current, guint count, gboolean force, GError **error)
{
    gboolean unplug = count < current;
    const char *what = unplug ? "hot unplug" : "hot plug";
    SupportVerdict v = { 0 };

    if (count == current)
        return TRUE;
    if (matrix && os_id)
        v = support_matrix_lookup(matrix, os_id);
    if (v.found) {
        if (unplug ? v.unplug : v.plug)
            return TRUE;
        if (force)
            return TRUE;
        return refuse(error,
                      "domain '%s' runs guest OS %s, which does not allow vCPU %s "
                      "(row '%s' of %s); use --force to do it anyway",
                      dom, os_id, what, v.row, support_matrix_origin(matrix));
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
check_pins(const DomainInfo *info, const char *dom, guint current, guint count, gboolean force,
           GError **error)
{
    g_autoptr(GString) ids = NULL;
    guint n = 0;

    if (force || count >= current)
        return TRUE;
    ids = g_string_new(NULL);
    for (guint v = count; v < current; v++) {
        if (!domain_info_vcpu_pinned(info, v))
            continue;
        g_string_append_printf(ids, "%s%u", n ? ", " : "", v);
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
