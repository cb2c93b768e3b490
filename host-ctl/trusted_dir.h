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
