/* hook_discover.c: which hooks there are and whether they may run.
 *
 * Decisions beyond the header:
 * - A directory entry is a hook when its name does not start with '.', it
 *   is (or links to) a regular file, and we may execute it (X_OK).
 *   Anything else is skipped silently and not recorded, as VDSM does: a
 *   README or a disabled (chmod -x) hook next to the real ones is normal.
 * - Trust: the root, the phase folder and the hook must each be owned by
 *   root or by the user running hotcpu-ctl (our effective uid) and not be
 *   writable by group or others.  When the root or the phase folder fails
 *   that, every hook in it is refused and recorded, so the audit record
 *   says why nothing ran.  Their parents are checked with each hook's
 *   path (hook_spawn.c's header), where a sticky /tmp is fine:
 *   --hooks-dir /tmp/x, root's, is as safe as /tmp/x itself.
 * - The root and the phase folder are held open while their hooks run, so
 *   the listing and each hook's checks see one folder.
 * - A symlink in the phase folder is followed; the file it leads to must
 *   pass the hook's check, and the folder holding that file must be
 *   trusted like a hooks folder (not even sticky-writable).
 */
#include "config.h"

#include "hook_discover.h"

#include "trusted_dir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

const char *
hook_phase_folder(HookPhase phase)
{
    return phase == HOOK_PHASE_BEFORE ? "before_set_num_of_cpus" : "after_set_num_of_cpus";
}

char **
hooks_roots(const char *override)
{
    if (override != NULL && *override != '\0')
        return g_strdupv((char *[]){ (char *) override, NULL });
    return g_strdupv((char *[]){ HOOKS_ETC_DIR, HOTCPU_HOOKS_LIBEXEC_DIR, NULL });
}

static char *
fd_untrusted_reason(int fd, const char *what, const char *path)
{
    struct stat st;

    if (fstat(fd, &st) < 0)
        return g_strdup_printf("%s %s cannot be examined: %s", what, path, g_strerror(errno));
    return trust_reason(&st, what, path);
}

/* Opens the phase folder @dir of @root (both followed if they are links)
 * and checks both.  -1 when there is no such folder (the normal case);
 * else its descriptor, with *@refusal set when its hooks must not run. */
int
hook_open_phase_dir(const char *root, HookPhase phase, const char *dir, char **refusal)
{
    int root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int dir_fd;

    if (root_fd < 0)
        return -1;
    dir_fd = openat(root_fd, hook_phase_folder(phase), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd >= 0)
        *refusal = fd_untrusted_reason(root_fd, "the hooks folder", root);
    close(root_fd);
    if (dir_fd >= 0 && *refusal == NULL)
        *refusal = fd_untrusted_reason(dir_fd, "the hooks folder", dir);
    return dir_fd;
}

static gint
compare_names(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The hook file names in @dir_fd, in strcmp order. */
GPtrArray *
hook_list(int dir_fd)
{
    GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
    int fd = fcntl(dir_fd, F_DUPFD_CLOEXEC, 3);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    struct dirent *entry;

    if (d == NULL) {
        if (fd >= 0)
            close(fd);
        return names;
    }
    while ((entry = readdir(d)) != NULL) {
        struct stat st;

        if (entry->d_name[0] == '.')
            continue;
        if (fstatat(dir_fd, entry->d_name, &st, 0) < 0 || !S_ISREG(st.st_mode))
            continue;
        if (faccessat(dir_fd, entry->d_name, X_OK, 0) < 0)
            continue;
        g_ptr_array_add(names, g_strdup(entry->d_name));
    }
    closedir(d);
    g_ptr_array_sort(names, compare_names);
    return names;
}

/* The folder holding the file open on @fd, checked like a hooks folder. */
static char *
link_target_reason(int fd, const char *path)
{
    g_autofree char *proc = g_strdup_printf("/proc/self/fd/%d", fd);
    g_autofree char *target = g_file_read_link(proc, NULL);
    g_autofree char *folder = target != NULL ? g_path_get_dirname(target) : NULL;
    struct stat st;

    if (folder == NULL || stat(folder, &st) < 0)
        return g_strdup_printf("the hook %s is a link whose target cannot be examined", path);
    return trust_reason(&st, "the folder of the link's target", folder);
}

/* Checks hook @name of @dir_fd, at @path: the file, the folder of a
 * link's target, every folder on @path.  0 when it may run, else -1 with
 * *@refusal set.  *@checked is the file that was checked. */
int
hook_check(int dir_fd, const char *name, const char *path, struct stat *checked, char **refusal)
{
    struct stat link_st;
    int fd;

    if (fstatat(dir_fd, name, &link_st, AT_SYMLINK_NOFOLLOW) < 0
        || (fd = openat(dir_fd, name, O_PATH | O_CLOEXEC)) < 0) {
        *refusal = g_strdup_printf("the hook %s cannot be opened: %s", path, g_strerror(errno));
        return -1;
    }
    if (fstat(fd, checked) < 0 || !S_ISREG(checked->st_mode))
        *refusal = g_strdup_printf("the hook %s is not a regular file", path);
    else if (!(*refusal = trust_reason(checked, "the hook", path)) && S_ISLNK(link_st.st_mode))
        *refusal = link_target_reason(fd, path);
    close(fd);
    if (*refusal == NULL)
        *refusal = trusted_path_reason(path, "the hook");
    return *refusal == NULL ? 0 : -1;
}

/* NULL when @path still names the file checked as @checked. */
char *
hook_changed_reason(const char *path, const struct stat *checked)
{
    struct stat now;

    if (stat(path, &now) < 0)
        return g_strdup_printf("the hook %s cannot be examined: %s", path, g_strerror(errno));
    if (now.st_dev != checked->st_dev || now.st_ino != checked->st_ino)
        return g_strdup_printf("the hook %s was replaced while it was checked", path);
    return NULL;
}
