/* audit.h: the record of every `set`: an "attempt" record before anything
 * can change, and one final record, refused, failed or done.
 *
 * A record is one JSON line appended to the audit log (default
 * /var/log/hotcpu/audit.log) on an O_APPEND descriptor under flock, so that
 * concurrent writers never interleave, and made durable with fdatasync.  A
 * record is written whole or not at all: after a failed or short write the
 * file is cut back to its size before.  The final record also goes to syslog
 * as a one-line summary (ident hotcpu-ctl, facility LOG_DAEMON).
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#define AUDIT_DEFAULT_PATH "/var/log/hotcpu/audit.log"

typedef struct AuditLog AuditLog;

/* Opens @path for appending (mode 0640), creating it and its folder (0750)
 * when missing.  The folder must be trusted (trusted_dir.h: owned by root or
 * us, not group/other writable) and the file is opened relative to it
 * without following a symlink; it must be a regular file (or a character
 * device such as /dev/null).  G_FILE_ERROR with the path in the message on
 * failure. */
AuditLog *audit_open(const char *path, GError **error);
void audit_close(AuditLog *log);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(AuditLog, audit_close)

typedef struct {
    const char *command; /* "set" */
    const char *reason;  /* why the change was asked (autoscale), NULL */
    const char *domain;  /* as found, or as asked when not found */
    const char *uuid;    /* NULL when unknown */
    /* The hypervisor host as libvirt names it (virConnectGetHostname): a
     * migrated domain's records show where each change ran.  NULL: unknown. */
    const char *hypervisor_host;
    gint previous;       /* live vCPUs before; -1 unknown */
    gint requested;      /* vCPUs asked (after --sockets); -1 unknown */
    gint actual;         /* live vCPUs after; -1 unknown */
    const char *outcome; /* "attempt", "done", "refused", "vetoed", "failed", ... */
    gint exit_code;      /* -1 (null): an attempt record */
    const char *error;   /* NULL when none */
    gboolean config;     /* --config was given */
    gboolean force;
    const char *guest;       /* "confirmed", "unconfirmed", "not-checked" */
    const char *guest_agent; /* the agent that did the guest's side: "hotcpu", "qemu-ga",
                                "none" (NULL: none) */
    gint guest_online;       /* -1 unknown */
    gint guest_present;      /* -1 unknown */
    /* After a "nothing changed" exit: "restored" (the guest has the online
     * CPUs it had before the first hook again), "failed", or NULL (not
     * needed). */
    const char *guest_restore;
    gboolean reconnected; /* libvirtd's connection broke and was opened again */
    /* libvirt counts more vCPUs than the guest has present after an unplug
     * QEMU did not confirm (libvirt 9.0 under TCG): "actual" is libvirt's
     * count, not QEMU's. */
    gboolean libvirt_stale;
    GPtrArray *hooks; /* HookResult *, before then after; NULL: none ran */
    /* The pins a plug set on its new vCPUs, {"ID": "host CPUs"}, and the
     * rule they came from (set_pins.h); NULL: none. */
    JsonObject *pins;
    const char *pin_rule;
    /* The pins an unplug took off the vCPUs it removed, {"ID": "host CPUs
     * they had"}; NULL: none. */
    JsonObject *pins_removed;
    /* set --node: the NUMA cell and the vCPU ids changed in it; NULL
     * node_vcpus: no --node. */
    guint node;
    const char *node_vcpus;
} AuditRecord;

/* The record as JSON, with "time" (UTC, ISO 8601 with microseconds), "user"
 * and "uid" added.  json_object_unref. */
JsonObject *audit_record_to_json(const AuditRecord *rec);

/* Appends @rec as one line, whole and synced, or not at all.  FALSE with
 * @error on a failed or short write or sync (the file is then as before). */
gboolean audit_write(AuditLog *log, const AuditRecord *rec, GError **error);

/* Sends the summary of @rec to syslog. */
void audit_syslog(const AuditRecord *rec);
