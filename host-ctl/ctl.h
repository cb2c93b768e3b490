/* ctl.h: what hotcpu-ctl's commands share: the global options, the parsed
 * command arguments, the exit codes of the contract, and the libvirt
 * helpers every command uses. */
#pragma once

#include <glib.h>
#include <libvirt/libvirt.h>

#include "domain_info.h"
#include "output.h"

/* Exit codes (docs: CONTRACT.md). */
enum {
    CTL_EXIT_OK = 0,
    CTL_EXIT_USAGE = 2,
    CTL_EXIT_REFUSED = 3,       /* validation, lock held: nothing changed */
    CTL_EXIT_VETOED = 4,        /* a before-hook vetoed: nothing changed */
    CTL_EXIT_HYPERVISOR = 5,    /* the hypervisor call failed: nothing changed */
    CTL_EXIT_NOT_CONVERGED = 6, /* the change did not converge */
    CTL_EXIT_NO_AGENT = 7,      /* the guest agent did not answer */
};

typedef struct {
    const char *uri; /* NULL: $LIBVIRT_DEFAULT_URI, then libvirt's default */
    gboolean json;
    const char *audit_log;
    const char *hooks_dir; /* NULL: $HOTCPU_HOOKS_DIR, then the default roots */
    guint hook_timeout;
    const char *policy;
    gboolean policy_explicit; /* --policy or $HOTCPU_POLICY: the file must exist */
    const char *support_matrix;
    const char *lock_dir;
    Output *out;
} CtlContext;

/* Values of one command's options, by option name. */
typedef struct CmdArgs CmdArgs;
const char *cmd_arg_string(const CmdArgs *args, const char *name);
gboolean cmd_arg_bool(const CmdArgs *args, const char *name);
/* The value of an OPT_UINT option, or @def when not given. */
guint cmd_arg_uint(const CmdArgs *args, const char *name, guint def);

int cmd_set(CtlContext *ctx, const CmdArgs *args);
int cmd_get(CtlContext *ctx, const CmdArgs *args);
int cmd_topology(CtlContext *ctx, const CmdArgs *args);
int cmd_guest_set(CtlContext *ctx, const CmdArgs *args);

/* Opens the connection (read-only when @read_only) and finds DOMAIN as virsh
 * does: by id, by UUID, by name.  Reports nothing: on failure returns NULL
 * with @error (in words for the user) and *exit_code, CTL_EXIT_HYPERVISOR
 * when there is no connection, CTL_EXIT_REFUSED when there is no such
 * domain.  On success sets only *conn_out, the domain's connection (the
 * caller's to close). */
virDomainPtr ctl_open_domain(CtlContext *ctx, const char *name, gboolean read_only,
                             virConnectPtr *conn_out, int *exit_code, GError **error);

/* The current and maximum vCPU counts of @dom, live (@live) or persistent.
 * FALSE with @error ("cannot read the [persistent ]vCPU counts of domain
 * ...") when libvirt cannot tell; the outputs are set only on success. */
gboolean ctl_vcpu_counts(virDomainPtr dom, gboolean live, int *cur_out, int *max_out,
                         GError **error);

/* The live domain XML and its parse; NULL with @error on failure. */
DomainInfo *ctl_domain_info(virDomainPtr dom, char **xml_out, GError **error);
