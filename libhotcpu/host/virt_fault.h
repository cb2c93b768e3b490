/* virt_fault.h: what a failed libvirt call means, once the first call of a
 * command has worked.
 *
 * Any later call can fail because the domain or the connection went away:
 * an OOM kill or `virsh destroy` stops the domain, libvirtd restarts or the
 * network to a remote host breaks.  Users and the audit log must hear that
 * in one sentence ("the domain stopped running during the change"), never
 * as a count of -1.
 */
#pragma once

#include <glib.h>
#include <libvirt/libvirt.h>

typedef enum {
    VIRT_FAULT_NONE,            /* the domain runs and the connection is up */
    VIRT_FAULT_DOMAIN_STOPPED,  /* the domain is gone or no longer running */
    VIRT_FAULT_CONNECTION_LOST, /* the connection to libvirtd broke */
    VIRT_FAULT_OTHER,           /* something else failed */
} VirtFault;

/* Classifies the failure of the libvirt call just made on @dom (libvirt's
 * last error must still be set), asking libvirt when the error alone does
 * not tell.  *@message (may be NULL) gets libvirt's text (g_free). */
VirtFault virt_fault_classify(virDomainPtr dom, char **message);

/* Whether @dom still runs, asked now: NONE, DOMAIN_STOPPED or
 * CONNECTION_LOST (or OTHER when libvirt cannot tell). */
VirtFault virt_fault_check(virDomainPtr dom);

/* The audit outcome: "domain-stopped", "connection-lost", "failed". */
const char *virt_fault_outcome(VirtFault fault);

/* "the domain 'NAME' stopped running", "the connection to libvirtd
 * was lost", ... (g_free). */
char *virt_fault_describe(VirtFault fault, const char *dom_name);
