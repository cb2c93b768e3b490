/* ctl.h: what hotcpu-ctl's commands share: the global options, the exit
 * codes of the contract (docs/ and the man page hotcpu-ctl(1)) and the
 * defaults.  The helpers every command uses are in ctl_util.h. */
#pragma once

#include "config.h"

#include <glib.h>

#include "cmd_args.h"
#include "guest.h"
#include "output.h"

/* Exit codes. */
enum {
    CTL_EXIT_OK = 0,
    CTL_EXIT_USAGE = 2,
    CTL_EXIT_REFUSED = 3,       /* validation, lock held: nothing changed */
    CTL_EXIT_VETOED = 4,        /* a before-hook vetoed: nothing changed */
    CTL_EXIT_HYPERVISOR = 5,    /* an attempted change failed (hypervisor or guest
                                   agent, after its rollback): nothing changed */
    CTL_EXIT_NOT_CONVERGED = 6, /* the change did not converge */
    CTL_EXIT_NO_AGENT = 7,      /* the guest agent did not answer */
};

/* Defaults, each defined once (the help texts print them). */
#define CTL_DEFAULT_TIMEOUT_S 30
#define CTL_POLICY_PATH HOTCPU_ETC_DIR "/hotcpu.conf"
#define CTL_MATRIX_ETC_PATH HOTCPU_ETC_DIR "/guest-os-support.ini"
#define CTL_MATRIX_DATA_PATH HOTCPU_DATADIR "/guest-os-support.ini"

struct CtlContext {
    const char *uri; /* NULL: $LIBVIRT_DEFAULT_URI, then libvirt's default */
    gboolean json;
    const char *audit_log;
    const char *hooks_dir; /* NULL: $HOTCPU_HOOKS_DIR, then the default roots */
    guint hook_timeout;
    const char *policy;
    gboolean policy_explicit; /* --policy or $HOTCPU_POLICY: the file must exist */
    const char *support_matrix;
    const char *lock_dir;
    GuestAgentKind guest_agent; /* --guest-agent: auto, or the one to use */
    Output *out;
};

/* The commands, each defined in its cmd_NAME.c; main.c lists them. */
extern const CmdDef cmd_set_def;
extern const CmdDef cmd_get_def;
extern const CmdDef cmd_topology_def;
extern const CmdDef cmd_guest_set_def;
extern const CmdDef cmd_prepare_def;
extern const CmdDef cmd_watch_def;
extern const CmdDef cmd_autoscale_def;
extern const CmdDef cmd_list_def;
