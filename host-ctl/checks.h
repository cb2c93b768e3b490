/* checks.h: the checks `hotcpu-ctl set` makes before changing anything.
 *
 * Pure functions over facts the caller gathered (libvirt, the domain XML, the
 * agent, the files).  Each returns TRUE when the change may go on, else FALSE
 * with a user-facing sentence in @error (CHECK_ERROR, CHECK_ERROR_REFUSED)
 * naming the domain, the value asked and the limit.
 */
#pragma once

#include <glib.h>

#include "domain_info.h"
#include "policy.h"
#include "support_matrix.h"

#define CHECK_ERROR (check_error_quark())
GQuark check_error_quark(void);
typedef enum {
    CHECK_ERROR_REFUSED,
} CheckError;

/* libvirt's domain state (virDomainState) must be RUNNING. */
gboolean check_domain_running(const char *dom, int state, GError **error);

/* No job on the domain.  @control_state is virDomainControlState, or -1 when
 * virDomainGetControlInfo is not supported; @job_type is virDomainJobType, or
 * -1 when virDomainGetJobInfo is not supported.  What is not supported is
 * not held against the domain. */
gboolean check_no_job(const char *dom, int control_state, int job_type, GError **error);

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
 * matrix row for @os_id; no metadata and an answering agent: Linux; else
 * (no metadata, or an id the matrix does not know) plug allowed and unplug
 * refused unless @force.  @matrix NULL (unreadable) counts as knowing no id.
 * A matrix row that says no is also overridden by @force. */
gboolean check_guest_os(const SupportMatrix *matrix, const char *os_id, GuestAgentState agent,
                        const char *dom, guint current, guint count, gboolean force,
                        GError **error);

/* An unplug from @current to @count removes vCPU ids @count..@current-1;
 * refused when one of them has a <vcpupin>, unless @force. */
gboolean check_pins(const DomainInfo *info, const char *dom, guint current, guint count,
                    gboolean force, GError **error);

/* The host policy.  @persistent_current is the persistent definition's
 * current vCPU count, 0 when there is none. */
gboolean check_policy(const Policy *policy, const char *dom, guint current, guint count,
                      guint persistent_current, GError **error);
