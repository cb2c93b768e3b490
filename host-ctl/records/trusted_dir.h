/* trusted_dir.h: folders and files hotcpu-ctl may trust, running as root.
 *
 * Trusted: owned by root or by the user running hotcpu-ctl (the effective
 * uid), and not writable by group or others.  Whoever else could write to
 * a folder could put a symlink or a file of theirs into it: the hooks, the
 * audit log and the lock files live only in trusted folders, and files are
 * opened relative to the folder's descriptor, without following symlinks.
 */
#pragma once

#include <glib.h>
#include <sys/stat.h>

/* NULL when @st is trusted; else why not, as "@what @path is owned by
 * nobody (uid 65534), not by root" or "@what @path is writable by group or
 * others" (g_free). */
char *trust_reason(const struct stat *st, const char *what, const char *path);

/* Opens the folder @dir (following a symlink to it), creating it and its
 * missing parents with @mode first, and checks that it is trusted.  Returns
 * its O_DIRECTORY descriptor, or -1 with G_FILE_ERROR whose message names
 * @what (e.g. "the audit log folder") and @dir. */
int trusted_dir_open(const char *dir, int mode, const char *what, GError **error);

/* NULL when nobody but root and the user running hotcpu-ctl can change
 * what @path leads to, so that opening or executing @path later finds what
 * was checked now; else why not, naming @what and @path ("the hook
 * /etc/...").  Walks @path as the kernel resolves it (a relative path from
 * the current folder, each symlink followed, at most 40): every folder on
 * the way must be owned by root or that user, and each entry on the way must
 * sit in a folder that no one else may write to, except a sticky folder such
 * as /tmp, where others may add entries but not rename or remove an entry
 * owned by root or that user.  The last entry itself (the file) is the
 * caller's to check. */
char *trusted_path_reason(const char *path, const char *what);
