/* set_run.h: `hotcpu-ctl set` as named stages over one SetRun.
 *
 * set_execute() (set_run.c) runs the stages in order (host-ctl/README.md
 * walks through them; set_stages.c, set_apply.c, set_guest.c); each returns
 * TRUE to go on, or FALSE once it has ended the run through one of the
 * endings (set_end.c), which all end in set_finish(), the single exit: it
 * writes the one audit record and prints the one result.  Between stages,
 * and inside the ones that wait (hooks, convergence, the guest), a
 * SIGINT/SIGTERM/SIGHUP ends the run through set_interrupted().
 */
#pragma once

#include <glib.h>
#include <libvirt/libvirt.h>

#include "audit.h"
#include "ctl_util.h"
#include "domain_lock.h"
#include "hook_runner.h"
#include "set_pins.h"
#include "set_timings.h"
#include "virt_fault.h"

/* What `set` is asked: by its command line, or by autoscale. */
typedef struct {
    const char *domain;
    guint value; /* vCPUs, or sockets with @sockets */
    gboolean sockets, config, force, require_guest;
    guint timeout;               /* seconds */
    const char *reason;          /* why (autoscale), into the audit record; NULL */
    const char *const *hook_env; /* --hook-env NAME=VALUE, checked; NULL: none */
    const char *cpuset;          /* --cpuset: host CPUs for the new vCPUs; NULL */
    gboolean strict_pinning;     /* refuse a plug whose pins follow no rule */
    gboolean has_node;           /* --node: grow or shrink NUMA cell @node alone */
    guint node;
    gboolean timings; /* --timings: print where the time went */
} SetRequest;

/* Runs `set` to its end; returns its exit code.  The result is printed and
 * recorded (one JSON object, or one line per result in stream mode). */
int set_execute(CtlContext *ctx, const SetRequest *req);

typedef struct {
    CtlContext *ctx;

    SetRequest req;  /* as asked (its strings borrowed from the caller) */
    guint count;     /* vCPUs requested, after --sockets */
    gint64 deadline; /* of the change and the guest's confirmation */

    /* the domain */
    const char *name; /* as asked, then libvirt's: owned by dom, renewed with it */
    char uuid[VIR_UUID_STRING_BUFLEN];
    virConnectPtr conn;
    char *uri;     /* the connection's, for the hooks */
    char *hv_host; /* libvirt's host name, for the record; NULL: unknown */
    virDomainPtr dom;
    DomainLock *lock;
    DomainInfo *info;
    char *xml; /* the live XML, for the hooks */
    int live_cur, live_max, cfg_cur, cfg_max, hv_max;

    /* the guest */
    Guest *guest;
    GuestAgentKind agent;   /* the agent that answered the checks */
    Topology *guest_before; /* before the first hook: what "nothing changed" gives back */

    /* hooks */
    char **hook_vars; /* the hooks' custom properties, NAME=VALUE */
    char **roots;
    char *domxml_path;
    HookEnv env;
    guint after_from; /* index of the first after hook in hooks */

    /* outcome */
    gboolean converged;
    AuditRecord rec;
    AuditLog *audit;
    GPtrArray *hooks; /* HookResult *, before then after */
    char *error;      /* the last libvirt failure while converging */
    gboolean config_done;
    gboolean applied;          /* setVcpus was called: the domain may have changed */
    gboolean after_hooks_done; /* they ran (they run once, whatever happens) */
    gboolean reconnected;      /* libvirt's connection was opened again once */
    gboolean libvirt_stale;    /* libvirt counts vCPUs QEMU removed (libvirt 9.0, TCG) */
    gboolean libvirt_stuck;    /* the convergence loop ended: retries failed at once alike */
    int exit_code;
    SetTimings timings; /* --timings (set_timings.h); kept whether shown or not */
    /* pins for a plug's new vCPUs (set_pins.h, set_pin_stages.c) */
    PinPlan *pin_plan; /* NULL when no plug */
    JsonObject *pins_set;
    JsonObject *pins_removed; /* an unplug's: the pins of the vCPUs it removed */
    /* --node N (req.has_node): the vCPU ids of cell N to enable or disable (set_node.c) */
    CpuList *node_ids; /* NULL without --node */
    char *node_ids_text;
} SetRun;

/* ---- the endings (set_end.c) ---- */

/* Records the attempt, prints the result and ends the run with @exit_code;
 * @msg (taken) is the error text, NULL on success.  Returns FALSE, so that
 * a stage can `return set_finish(...)`. */
gboolean set_finish(SetRun *run, int exit_code, const char *outcome, char *msg);

/* ---- the stages, in order (set_stages.c, set_apply.c, set_guest.c) ---- */
gboolean set_open_and_lock(SetRun *run);
gboolean set_read_domain(SetRun *run);
gboolean set_check(SetRun *run);
gboolean set_record_attempt(SetRun *run); /* refuses when it cannot */
gboolean set_snapshot_guest(SetRun *run);
gboolean set_before_hooks(SetRun *run);
gboolean set_prepare_guest(SetRun *run);
gboolean set_plan_pins(SetRun *run);
gboolean set_apply(SetRun *run);
/* After the change: a plug pins its new vCPUs by the plan; an unplug
 * takes the pins off the vCPUs it removed (set_pins_unpin). */
gboolean set_pin_plugged(SetRun *run);
/* --node (set_node.c): chooses run->node_ids in set_check; FALSE with
 * @error (one sentence naming the domain, the cell and the limit) when the
 * domain has no such cell or the cell has not enough vCPUs to change. */
gboolean set_node_choose(SetRun *run, GError **error);
/* The change by virDomainSetVcpu of exactly run->node_ids; ends the run
 * (FALSE) when libvirt fails. */
gboolean set_node_apply(SetRun *run);
/* The guest's online CPUs after the change: @before with the node's ids
 * added (plug) or taken away (unplug). */
CpuList *set_node_guest_online(const SetRun *run, const CpuList *before);
/* Frees what set_plan_pins and set_pin_plugged keep in @run. */
void set_pins_clear(SetRun *run);
gboolean set_after_hooks(SetRun *run);
gboolean set_update_config(SetRun *run);
gboolean set_confirm_guest(SetRun *run);

/* Ends a run whose domain did not change (@exit_code 4 or 5, or a signal
 * before the change): the guest gets back the online CPUs it had before
 * the first hook, and @msg says so.  When it cannot, the exit code is no
 * longer "nothing changed" and @msg says what the guest has instead. */
gboolean set_finish_unchanged(SetRun *run, int exit_code, const char *outcome, char *msg);

/* Runs the after hooks (once), with HOTCPU_OUTCOME from run->env.outcome. */
void set_run_after_hooks(SetRun *run);

/* After a libvirt failure classified as @fault: when the connection was
 * lost, opens it again once (libvirtd restarted) and returns what remains
 * (NONE when the domain runs on); else returns @fault. */
VirtFault set_recover(SetRun *run, VirtFault fault);

/* Ends a run whose domain stopped or whose connection stays lost @when
 * ("during the change"): the after hooks run with the outcome, exit 6, the
 * count unknown (null), @why libvirt's words or NULL. */
gboolean set_finish_fault(SetRun *run, VirtFault fault, const char *when, const char *why);

/* Ends a run that got SIGINT, SIGTERM or SIGHUP: exit 128 + the signal,
 * outcome "interrupted", the state as far as it is known. */
gboolean set_interrupted(SetRun *run);
