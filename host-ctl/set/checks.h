/* checks.h: the checks `hotcpu-ctl set` makes before changing anything.
 *
 * Pure functions over facts the caller gathered (libvirt, the domain XML, the
 * agent, the files).  Each returns TRUE when the change may go on, else FALSE
 * with a user-facing sentence in @error (CHECK_ERROR, CHECK_ERROR_REFUSED)
 * naming the domain, the value asked and the limit.
 */
#pragma once

#include <glib.h>
#include <libvirt/libvirt.h>

#include "cpulist.h"
#include "domain_info.h"
#include "policy.h"
#include "support_matrix.h"

#define CHECK_ERROR (check_error_quark())
GQuark check_error_quark(void);
typedef enum {
    CHECK_ERROR_REFUSED,
} CheckError;

/* libvirt's domain state (virDomainState) must be RUNNING; a shut-off
 * domain's refusal names --config, which changes its definition. */
gboolean check_domain_running(const char *dom, int state, GError **error);

/* No job on the domain.  @control is what virDomainGetControlInfo said, or
 * NULL when it is not supported; @job_type is virDomainJobType, or -1 when
 * virDomainGetJobStats is not supported; @job_operation the job's
 * virDomainJobOperation (-1: unknown), which the refusal names.  What is
 * not supported is not held against the domain. */
gboolean check_no_job(const char *dom, const virDomainControlInfo *control, int job_type,
                      int job_operation, GError **error);

/* With @sockets, @value sockets are @value x vCPUs per socket; without it,
 * @value vCPUs, which must be a whole number of sockets when a socket holds
 * more than one vCPU.  Stores the vCPU count in *vcpus on success. */
gboolean check_sockets(const DomainInfo *info, const char *dom, guint value, gboolean sockets,
                       guint *vcpus, GError **error);

/* 1 <= @count <= @dom_max (the live maximum), @count <= @hv_max (-1: unknown)
 * and, with @config, @count <= @persistent_max (0: no persistent definition,
 * which is itself refused with @config). */
gboolean check_count(const char *dom, guint count, guint dom_max, gint hv_max, const char *hv_type,
                     gboolean config, guint persistent_max, GError **error);

typedef enum {
    GUEST_AGENT_UNKNOWN = 0, /* no channel, or it did not answer */
    GUEST_AGENT_ANSWERS,     /* the hotcpu agent answered, or qemu-ga reporting Linux */
} GuestAgentState;

/* The guest OS allows going from @current to @count vCPUs: the support
 * matrix row for @os_id on architecture @arch (either NULL: unknown; a row
 * for the architecture alone applies without OS metadata too); no row and
 * no metadata but an answering agent: Linux; else (no metadata, or an id
 * the matrix does not know) plug allowed and unplug refused unless @force.
 * @matrix NULL (unreadable) counts as knowing no row.  A matrix row that
 * says no is also overridden by @force. */
gboolean check_guest_os(const SupportMatrix *matrix, const char *os_id, const char *arch,
                        GuestAgentState agent, const char *dom, guint current, guint count,
                        gboolean force, GError **error);

/* An unplug from @current to @count removes vCPU ids @count..@current-1
 * (@removing when not NULL: set --node's); refused when one of them has a
 * <vcpupin>, unless @force. */
gboolean check_pins(const DomainInfo *info, const char *dom, guint current, guint count,
                    const CpuList *removing, gboolean force, GError **error);

/* The host policy.  @persistent_current is the persistent definition's
 * current vCPU count, 0 when there is none. */
gboolean check_policy(const Policy *policy, const char *dom, guint current, guint count,
                      guint persistent_current, GError **error);

/* The host's size.  Growing from @current to @count vCPUs past @host_cpus
 * (the host's logical CPUs, virNodeGetInfo; 0: unknown) is allowed with a
 * warning (*warning, a sentence to g_free; NULL when none); past the
 * policy's max-vcpus-per-host-cpu x @host_cpus it is refused.  Lowering the
 * count is never refused for it. */
gboolean check_host_size(const Policy *policy, const char *dom, guint current, guint count,
                         guint host_cpus, char **warning, GError **error);

/* How far a running domain's vCPU count can move live, decided as libvirt's
 * QEMU driver decides it (checked with libvirt 11.3): an unplug removes only
 * enabled hot-pluggable vCPUs, the highest id first whatever their `order`;
 * a plug enables disabled vCPUs (all of them hot-pluggable), the lowest id
 * first.  Read from the live XML's <vcpus>; a QEMU domain (type 'qemu' or
 * 'kvm') without <vcpus> was started without one and has not been plugged
 * since: its boot vCPUs are not hot-pluggable, as libvirt makes them. */
typedef struct {
    gboolean known;     /* FALSE: the XML does not tell; nothing is checked */
    guint current;      /* enabled vCPUs */
    guint min, max;     /* the counts libvirt can reach live */
    CpuList *fixed;     /* the enabled vCPUs that are not hot-pluggable */
    CpuList *removable; /* the enabled hot-pluggable ones */
} LiveRange;

/* Fills @range from @info (the live XML).  Free with live_range_clear. */
void live_range_compute(const DomainInfo *info, LiveRange *range);
void live_range_clear(LiveRange *range);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(LiveRange, live_range_clear)

/* @count is within @range (always TRUE when the range is not known).  The
 * refusal names the vCPUs in the way and the way out: `hotcpu-ctl prepare
 * DOM --max @prepare_max` and a full restart (@prepare_max 0: the domain is
 * transient and has no definition to prepare). */
gboolean check_live_range(const LiveRange *range, const char *dom, guint count, guint prepare_max,
                          GError **error);

/* prepare's maximum for the definition @def: @value vCPUs, or @value
 * sockets with @sockets; a whole number of sockets, at least the defined
 * current count, at most @hv_max (-1: unknown) for hypervisor type
 * @hv_type.  Stores the vCPU count in *max. */
gboolean check_prepare_max(const DomainInfo *def, const char *dom, guint value, gboolean sockets,
                           gint hv_max, const char *hv_type, guint *max, GError **error);
