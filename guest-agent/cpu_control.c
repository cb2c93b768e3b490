/* cpu_control.c: set-num-cpus and set-online-cpus planning, applying and
 * rolling back. */
#include "cpu_control.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "cpu_planner.h"
#include "protocol.h"

void
cpu_plan_free(CpuPlan *plan)
{
    if (plan == NULL)
        return;
    g_array_unref(plan->online);
    g_array_unref(plan->offline);
    g_free(plan);
}

static CpuPlan *
cpu_plan_alloc(void)
{
    CpuPlan *plan = g_new0(CpuPlan, 1);

    plan->online = g_array_new(FALSE, FALSE, sizeof(guint));
    plan->offline = g_array_new(FALSE, FALSE, sizeof(guint));
    return plan;
}

CpuPlan *
cpu_plan_new(const Topology *topo, guint count, GError **error)
{
    g_autoptr(CpuPlan) plan = cpu_plan_alloc();
    g_autoptr(GArray) ids = g_array_new(FALSE, FALSE, sizeof(guint));
    g_autoptr(CpuList) fixed = NULL;
    gboolean online = FALSE;

    switch (cpu_planner_count(topo, count, &online, ids)) {
    case CPU_PLAN_OK:
        break;
    case CPU_PLAN_ZERO:
        g_set_error(error, PROTO_ERROR, PROTO_ERROR_INVALID_PARAMETER, "count must be at least 1");
        return NULL;
    case CPU_PLAN_NOT_PRESENT:
        g_set_error(error, PROTO_ERROR, PROTO_ERROR_INVALID_PARAMETER,
                    "requested %u CPUs but only %u are present", count, topo->cpus->len);
        return NULL;
    case CPU_PLAN_FIXED:
        fixed = cpu_planner_fixed(topo);
        g_set_error(error, PROTO_ERROR, PROTO_ERROR_INVALID_PARAMETER,
                    "requested %u CPUs but %u online CPUs cannot be taken offline", count,
                    cpulist_count(fixed));
        return NULL;
    case CPU_PLAN_STUCK:
        g_set_error(error, PROTO_ERROR, PROTO_ERROR_INVALID_PARAMETER,
                    "requested %u CPUs but offline CPUs without an online file cannot be "
                    "brought online",
                    count);
        return NULL;
    }
    g_array_append_vals(online ? plan->online : plan->offline, ids->data, ids->len);
    return g_steal_pointer(&plan);
}

/* Fails with InvalidParameter "CPU 6 is ..." / "CPUs 6-7 are ..." when
 * @cpus is not empty; @what follows the verb. */
static gboolean
refuse_cpus(const CpuList *cpus, const char *what, GError **error)
{
    g_autofree char *text = NULL;

    if (cpulist_count(cpus) == 0)
        return TRUE;
    text = cpulist_format(cpus);
    g_set_error(error, PROTO_ERROR, PROTO_ERROR_INVALID_PARAMETER, "%s %s %s %s",
                cpulist_count(cpus) == 1 ? "CPU" : "CPUs", text,
                cpulist_count(cpus) == 1 ? "is" : "are", what);
    return FALSE;
}

CpuPlan *
cpu_plan_new_exact(const Topology *topo, const CpuList *wanted, GError **error)
{
    g_autoptr(CpuPlan) plan = cpu_plan_alloc();
    g_autoptr(CpuList) absent = cpulist_new();
    g_autoptr(CpuList) fixed = cpulist_new(); /* left out, cannot be taken offline */
    g_autoptr(CpuList) stuck = cpulist_new(); /* listed, cannot be brought online */
    g_autofree char *present_text = cpulist_format(topo->present);
    g_autofree char *not_present = g_strdup_printf("not present (present: %s)", present_text);

    if (cpulist_count(wanted) == 0) {
        g_set_error_literal(error, PROTO_ERROR, PROTO_ERROR_INVALID_PARAMETER,
                            "the list of CPUs is empty: at least one CPU must stay online");
        return NULL;
    }
    for (gint c = cpulist_next(wanted, -1); c >= 0; c = cpulist_next(wanted, c)) {
        if (!cpulist_contains(topo->present, (guint)c))
            cpulist_add(absent, (guint)c);
    }
    /* topo->cpus is in ascending id order: online lowest first... */
    for (guint i = 0; i < topo->cpus->len; i++) {
        const CpuInfo *cpu = g_ptr_array_index(topo->cpus, i);
        gboolean want = cpulist_contains(wanted, cpu->id);

        if (want && !cpu->online && cpu->can_offline)
            g_array_append_val(plan->online, cpu->id);
        else if (want && !cpu->online)
            cpulist_add(stuck, cpu->id);
        else if (!want && cpu->online && !cpu->can_offline)
            cpulist_add(fixed, cpu->id);
    }
    /* ...offline highest first, as set-num-cpus does. */
    for (guint i = topo->cpus->len; i > 0; i--) {
        const CpuInfo *cpu = g_ptr_array_index(topo->cpus, i - 1);

        if (cpu->online && cpu->can_offline && !cpulist_contains(wanted, cpu->id))
            g_array_append_val(plan->offline, cpu->id);
    }
    if (!refuse_cpus(absent, not_present, error)
        || !refuse_cpus(fixed, "left out but cannot be taken offline (no online file)", error)
        || !refuse_cpus(stuck, "offline and cannot be brought online (no online file)", error))
        return NULL;
    return g_steal_pointer(&plan);
}

static CpuControlWriteHook write_hook;
static gpointer write_hook_data;

void
cpu_control_set_write_hook(CpuControlWriteHook hook, gpointer user_data)
{
    write_hook = hook;
    write_hook_data = user_data;
}

int
cpu_control_write_online(const char *sysfs_root, guint cpu, gboolean online)
{
    g_autofree char *name = g_strdup_printf("cpu%u", cpu);
    g_autofree char *path = g_build_filename(sysfs_root, name, "online", NULL);
    const char *value = online ? "1" : "0";
    ssize_t n;
    int fd;

    if (write_hook != NULL) {
        int injected = write_hook(cpu, online, write_hook_data);

        if (injected < 0)
            return injected;
    }
    fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return -errno;
    do {
        n = write(fd, value, 1);
    } while (n < 0 && errno == EINTR);
    if (n != 1) {
        int err = n < 0 ? errno : EIO;
        close(fd);
        return -err;
    }
    /* sysfs reports errors at write(); close() of an ordinary file can still
     * report one on exotic file systems. */
    if (close(fd) < 0 && errno != EINTR)
        return -errno;
    return 0;
}

gboolean
cpu_plan_apply(const char *sysfs_root, const CpuPlan *plan, guint *changed_out, GError **error)
{
    g_autoptr(GArray) changed = g_array_new(FALSE, FALSE, sizeof(guint));
    g_autoptr(GString) restore_failures = g_string_new(NULL);
    g_autoptr(CpuList) restored = cpulist_new();
    g_autofree char *restored_text = NULL;
    guint left_changed = 0;
    const struct {
        GArray *cpus;
        gboolean online;
    } steps[] = {
        { plan->offline, FALSE },
        { plan->online, TRUE },
    };

    for (guint s = 0; s < G_N_ELEMENTS(steps); s++) {
        for (guint i = 0; i < steps[s].cpus->len; i++) {
            guint cpu = g_array_index(steps[s].cpus, guint, i);
            int r = cpu_control_write_online(sysfs_root, cpu, steps[s].online);

            if (r == 0) {
                g_array_append_val(changed, cpu);
                continue;
            }

            /* Put back in reverse order, so that the state walks back the
             * way it came.  A CPU is online in changed iff it was offlined
             * by us, i.e. it was in plan->offline. */
            for (guint j = changed->len; j > 0; j--) {
                guint back = g_array_index(changed, guint, j - 1);
                gboolean was_online = j - 1 < plan->offline->len ? TRUE : FALSE;
                int rr = cpu_control_write_online(sysfs_root, back, was_online);

                if (rr == 0) {
                    cpulist_add(restored, back);
                } else {
                    left_changed++;
                    g_string_append_printf(restore_failures,
                                           " Putting CPU %u back %s failed too (%s); it "
                                           "stays %s.",
                                           back, was_online ? "online" : "offline", g_strerror(-rr),
                                           was_online ? "offline" : "online");
                }
            }
            restored_text = cpulist_format(restored);
            if (changed->len == 0)
                g_string_prepend(restore_failures, " Nothing else had been changed.");
            else if (cpulist_count(restored) > 0)
                g_string_prepend(restore_failures, cpulist_count(restored) == 1
                                                       ? " was put back."
                                                       : " were put back.");
            if (cpulist_count(restored) > 0) {
                g_string_prepend(restore_failures, restored_text);
                g_string_prepend(restore_failures,
                                 cpulist_count(restored) == 1 ? " CPU " : " CPUs ");
            }
            g_set_error(error, PROTO_ERROR, PROTO_ERROR_OPERATION_FAILED,
                        "Cannot %s CPU %u: %s (writing %s/cpu%u/online).%s",
                        steps[s].online ? "bring online" : "take offline", cpu, g_strerror(-r),
                        sysfs_root, cpu, restore_failures->str);
            if (changed_out != NULL)
                *changed_out = left_changed;
            return FALSE;
        }
    }
    if (changed_out != NULL)
        *changed_out = changed->len;
    return TRUE;
}
