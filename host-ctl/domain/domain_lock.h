/* domain_lock.h: one `set` at a time per domain.
 *
 * An exclusive, non-blocking flock on DIR/UUID.lock (DIR: /run/hotcpu, or
 * $HOTCPU_LOCK_DIR).  A second `set` on the same domain is refused, not
 * queued.  The kernel drops the lock when the process ends, however it ends.
 */
#pragma once

#include <glib.h>

#define DOMAIN_LOCK_DEFAULT_DIR "/run/hotcpu"

typedef struct DomainLock DomainLock;

/* Takes the lock, creating @dir (0755) and the lock file when missing.  The
 * folder must be trusted (trusted_dir.h) and the file is opened relative to
 * it without following a symlink.
 * Fails with G_IO_ERROR_BUSY when another process holds it, G_FILE_ERROR
 * otherwise; messages name the file. */
DomainLock *domain_lock_acquire(const char *dir, const char *uuid, GError **error);
/* Releases the lock; accepts NULL.  The lock file stays (removing it would
 * race with a process that just opened it). */
void domain_lock_release(DomainLock *lock);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DomainLock, domain_lock_release)
