/* ctl_util.h: the libvirt and guest helpers every hotcpu-ctl command uses
 * (as virsh keeps virsh-util.c apart from virsh.c). */
#pragma once

#include <glib.h>
#include <libvirt/libvirt.h>

#include "ctl.h"
#include "domain_info.h"
#include "guest.h"
#include "virt_util.h"

/* How hotcpu-ctl logs: libvirt's own error printing off (each command
 * reports once, in its words); with @verbose, debug messages on stderr as
 * "hotcpu-ctl: TEXT". */
void ctl_logging_setup(gboolean verbose);

/* Opens the connection (read-only when @read_only) and finds DOMAIN as virsh
 * does: by id, by UUID, by name.  Reports nothing: on failure returns NULL
 * with @error (in words for the user) and *exit_code, CTL_EXIT_HYPERVISOR
 * when there is no connection, CTL_EXIT_REFUSED when there is no such
 * domain.  On success sets only *conn_out, the domain's connection (the
 * caller's to close). */
virDomainPtr ctl_open_domain(CtlContext *ctx, const char *name, gboolean read_only,
                             virConnectPtr *conn_out, int *exit_code, GError **error);

/* Opens the connection again and finds the domain by @uuid: after libvirtd
 * restarted.  NULL with @error; on success *conn_out is the new connection. */
virDomainPtr ctl_reopen_domain(CtlContext *ctx, const char *uuid, virConnectPtr *conn_out,
                               GError **error);

/* The current and maximum vCPU counts of @dom, live (@live) or persistent.
 * FALSE with @error ("cannot read the [persistent ]vCPU counts of domain
 * ...") when libvirt cannot tell; the outputs are set only on success. */
gboolean ctl_vcpu_counts(virDomainPtr dom, gboolean live, int *cur_out, int *max_out,
                         GError **error);

/* The live domain XML and its parse; NULL with @error on failure. */
DomainInfo *ctl_domain_info(virDomainPtr dom, char **xml_out, GError **error);

/* The host socket of the domain's agent channel when it is a file on this
 * machine (a local connection), else NULL. */
const char *ctl_local_agent_socket(virConnectPtr conn, const DomainInfo *info);

/* The guest side of @dom, as the command line chose to reach it. */
Guest *ctl_guest_new(CtlContext *ctx, virConnectPtr conn, virDomainPtr dom, const DomainInfo *info);

/* The host's logical CPUs, 0 when libvirt cannot tell. */
guint ctl_host_cpus(virConnectPtr conn);

/* A domain as the commands that do not change it (get, topology, guest-set) open it. */
typedef struct {
    virConnectPtr conn;
    virDomainPtr dom;
    const char *name; /* libvirt's name for it */
    gboolean active;
    DomainInfo *info; /* the live XML's; NULL when not running */
    Guest *guest;     /* its guest side; NULL when not running */
} CtlDomain;

void ctl_domain_clear(CtlDomain *d);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(CtlDomain, ctl_domain_clear)

/* Opens the domain named by the command's "domain" option with
 * its live XML and guest when it runs.  With @need_running, a domain that
 * does not run is refused with "domain 'NAME' is not running: @why".
 * Returns CTL_EXIT_OK, or the exit code after reporting the failure. */
int ctl_domain_open(CtlContext *ctx, const CmdArgs *args, const char *need_running, CtlDomain *d);
