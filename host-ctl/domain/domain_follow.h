/* domain_follow.h: a domain followed for as long as a command runs (watch,
 * autoscale).
 *
 * The domain may shut off and start again, the guest reboot, libvirtd
 * restart: the follower waits for the domain to run (woken by libvirt's
 * lifecycle events, not by polling), opens the connection again when it
 * broke, and says each change of state once, as a note line: text, or
 * {"time", "domain", "note"} with --json.
 */
#pragma once

#include <glib.h>
#include <libvirt/libvirt.h>

#include "ctl.h"
#include "guest.h"

typedef struct DomainFollow DomainFollow;

/* Opens the domain named @name (by id, UUID or name).  NULL with @error
 * and *exit_code when there is no connection or no such domain. */
DomainFollow *domain_follow_new(CtlContext *ctx, const char *name, int *exit_code, GError **error);
void domain_follow_free(DomainFollow *f);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DomainFollow, domain_follow_free)

const char *domain_follow_name(const DomainFollow *f);
/* The domain on the current connection (changes after a reconnect). */
virDomainPtr domain_follow_domain(const DomainFollow *f);
virConnectPtr domain_follow_connection(const DomainFollow *f);
/* Changes whenever the domain may have started anew (a lifecycle event, a
 * wait that saw it start) or the connection was made again. */
guint domain_follow_epoch(const DomainFollow *f);
/* The domain's guest side on the current connection (made again for a new
 * epoch); NULL when the live XML cannot be read.  @patient: never take
 * the agent's channel from another client (a watcher). */
Guest *domain_follow_guest(DomainFollow *f, gboolean patient);
/* The guest did not answer: the next domain_follow_guest() looks for its
 * agents again (a Guest remembers which answered, and the agent may start
 * later: a booting guest, a package installed meanwhile). */
void domain_follow_guest_failed(DomainFollow *f);

/* Returns TRUE once the domain runs over a live connection, waiting as long
 * as it takes; FALSE when a signal came (cancel.h). */
gboolean domain_follow_wait_running(DomainFollow *f);

/* Sleeps up to @ms, woken early by a lifecycle event of the domain; FALSE
 * when a signal came. */
gboolean domain_follow_sleep(DomainFollow *f, guint ms);

/* Prints @text as a note, unless it is the note said last. */
void domain_follow_note(DomainFollow *f, const char *text);
