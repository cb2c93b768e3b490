/* trusted_dir.c: owner and mode checks for hotcpu-ctl's folders. */
#include "trusted_dir.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <string.h>
#include <unistd.h>

/* Symlinks followed on one path at most, as the kernel's MAXSYMLINKS. */
#define TRUSTED_PATH_MAX_LINKS 40

static char *
user_label(uid_t uid)
{
    struct passwd *pw = getpwuid(uid);

    return pw != NULL ? g_strdup_printf("%s (uid %u)", pw->pw_name, (guint)uid)
                      : g_strdup_printf("uid %u", (guint)uid);
}

char *
trust_reason(const struct stat *st, const char *what, const char *path)
{
    uid_t me = geteuid();

    if (st->st_uid != 0 && st->st_uid != me) {
        g_autofree char *owner = user_label(st->st_uid);
        g_autofree char *user = me != 0 ? user_label(me) : NULL;

        return g_strdup_printf("%s %s is owned by %s, not by root%s%s", what, path, owner,
                               user != NULL ? " or by the user running hotcpu-ctl, " : "",
                               user != NULL ? user : "");
    }
    if ((st->st_mode & (S_IWGRP | S_IWOTH)) != 0)
        return g_strdup_printf("%s %s is writable by group or others", what, path);
    return NULL;
}

int
trusted_dir_open(const char *dir, int mode, const char *what, GError **error)
{
    g_autofree char *why = NULL;
    struct stat st;
    int fd, e;

    if (g_mkdir_with_parents(dir, mode) < 0) {
        e = errno;
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(e), "cannot create %s %s: %s",
                    what, dir, g_strerror(e));
        return -1;
    }
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) < 0) {
        e = errno;
        if (fd >= 0)
            close(fd);
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(e), "cannot open %s %s: %s", what,
                    dir, g_strerror(e));
        return -1;
    }
    if ((why = trust_reason(&st, what, dir)) != NULL) {
        close(fd);
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_PERM, "%s", why);
        return -1;
    }
    return fd;
}

/* ---- a whole path ---------------------------------------------------------- */

static gboolean
owner_trusted(const struct stat *st)
{
    return st->st_uid == 0 || st->st_uid == geteuid();
}

/* A folder on the way, open (O_PATH) and examined. */
typedef struct {
    int fd;
    struct stat st;
    char *path;
} PathFolder;

static void
path_folder_free(gpointer data)
{
    PathFolder *f = data;

    close(f->fd);
    g_free(f->path);
    g_free(f);
}

/* @folder_fd/@name opened as a folder on the way; NULL with errno. */
static PathFolder *
path_folder_open(int folder_fd, const char *name, const char *path)
{
    PathFolder *f = g_new0(PathFolder, 1);

    f->fd = openat(folder_fd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (f->fd < 0 || fstat(f->fd, &f->st) < 0) {
        int e = errno;

        if (f->fd >= 0)
            close(f->fd);
        g_free(f);
        errno = e;
        return NULL;
    }
    f->path = g_strdup(path);
    return f;
}

/* Pushes the components of @path onto @todo, the first one last (a stack);
 * "" and "." name nothing. */
static void
push_components(GPtrArray *todo, const char *path)
{
    g_auto(GStrv) parts = g_strsplit(path, "/", -1);

    for (guint i = g_strv_length(parts); i-- > 0;)
        if (*parts[i] != '\0' && strcmp(parts[i], ".") != 0)
            g_ptr_array_add(todo, g_strdup(parts[i]));
}

static char *
pop_component(GPtrArray *todo)
{
    return g_ptr_array_steal_index(todo, todo->len - 1);
}

/* Why someone else could replace @entry (the entry @entry_path of @folder,
 * examined as @st); NULL when nobody can. */
static char *
entry_reason(const PathFolder *folder, const char *entry_path, const struct stat *st,
             const char *what, const char *path)
{
    g_autofree char *owner = NULL;

    if ((folder->st.st_mode & (S_IWGRP | S_IWOTH)) == 0)
        return NULL;
    if ((folder->st.st_mode & S_ISVTX) == 0)
        return g_strdup_printf("the folder %s, on the way to %s %s, is writable by group or "
                               "others",
                               folder->path, what, path);
    if (owner_trusted(st))
        return NULL; /* sticky: only its owner, the folder's or root may rename it */
    owner = user_label(st->st_uid);
    return g_strdup_printf("the %s %s, on the way to %s %s, is owned by %s in the folder %s, "
                           "which others may write to",
                           S_ISLNK(st->st_mode)   ? "link"
                           : S_ISDIR(st->st_mode) ? "folder"
                                                  : "file",
                           entry_path, what, path, owner, folder->path);
}

static char *
folder_owner_reason(const PathFolder *folder, const char *what, const char *path)
{
    g_autofree char *owner = NULL;

    if (owner_trusted(&folder->st))
        return NULL;
    owner = user_label(folder->st.st_uid);
    return g_strdup_printf("the folder %s, on the way to %s %s, is owned by %s, not by root "
                           "or by the user running hotcpu-ctl",
                           folder->path, what, path, owner);
}

/* Leaves only "/" in @folders (an absolute symlink starts there again). */
static void
back_to_root(GPtrArray *folders)
{
    if (folders->len > 1)
        g_ptr_array_remove_range(folders, 1, folders->len - 1);
}

/* One step of the walk: the entry @name of the last folder.  Sets *@done
 * when @name was the last component and is not a symlink. */
static char *
walk_entry(GPtrArray *folders, GPtrArray *todo, const char *name, guint *links, gboolean *done,
           const char *what, const char *path)
{
    const PathFolder *folder = folders->pdata[folders->len - 1];
    g_autofree char *entry_path = g_build_filename(folder->path, name, NULL);
    PathFolder *next;
    struct stat st;
    char *why;

    if (fstatat(folder->fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return g_strdup_printf("%s, on the way to %s %s, cannot be examined: %s", entry_path, what,
                               path, g_strerror(errno));
    if ((why = entry_reason(folder, entry_path, &st, what, path)) != NULL)
        return why;
    if (S_ISLNK(st.st_mode)) {
        g_autofree char *target = NULL;
        char buf[PATH_MAX];
        ssize_t n;

        if (++*links > TRUSTED_PATH_MAX_LINKS)
            return g_strdup_printf("%s %s leads through more than %d symbolic links", what, path,
                                   TRUSTED_PATH_MAX_LINKS);
        n = readlinkat(folder->fd, name, buf, sizeof buf - 1);
        if (n < 0)
            return g_strdup_printf("the link %s, on the way to %s %s, cannot be read: %s",
                                   entry_path, what, path, g_strerror(errno));
        target = g_strndup(buf, (gsize)n);
        if (g_path_is_absolute(target))
            back_to_root(folders);
        push_components(todo, target);
        return NULL;
    }
    if (todo->len == 0) {
        *done = TRUE;
        return NULL;
    }
    if (!S_ISDIR(st.st_mode))
        return g_strdup_printf("%s, on the way to %s %s, is not a folder", entry_path, what, path);
    if (!(next = path_folder_open(folder->fd, name, entry_path)))
        return g_strdup_printf("the folder %s, on the way to %s %s, cannot be opened: %s",
                               entry_path, what, path, g_strerror(errno));
    g_ptr_array_add(folders, next);
    if (next->st.st_dev != st.st_dev || next->st.st_ino != st.st_ino)
        return g_strdup_printf("the folder %s, on the way to %s %s, changed while it was "
                               "examined",
                               entry_path, what, path);
    return folder_owner_reason(next, what, path);
}

char *
trusted_path_reason(const char *path, const char *what)
{
    g_autoptr(GPtrArray) folders = g_ptr_array_new_with_free_func(path_folder_free);
    g_autoptr(GPtrArray) todo = g_ptr_array_new_with_free_func(g_free);
    g_autofree char *cwd = NULL;
    PathFolder *root = path_folder_open(AT_FDCWD, "/", "/");
    gboolean done = FALSE;
    guint links = 0;
    char *why;

    if (root == NULL)
        return g_strdup_printf("the folder / cannot be opened: %s", g_strerror(errno));
    g_ptr_array_add(folders, root);
    if ((why = folder_owner_reason(root, what, path)) != NULL)
        return why;
    if (!g_path_is_absolute(path)) {
        /* getcwd's answer has no symlinks: the kernel starts from that folder */
        cwd = g_get_current_dir();
        push_components(todo, path);
        push_components(todo, cwd);
    } else {
        push_components(todo, path);
    }
    while (todo->len > 0 && !done) {
        g_autofree char *name = pop_component(todo);

        if (strcmp(name, "..") == 0) {
            /* every folder on the stack was reached from the one before it */
            if (folders->len > 1)
                g_ptr_array_remove_index(folders, folders->len - 1);
            continue;
        }
        if ((why = walk_entry(folders, todo, name, &links, &done, what, path)) != NULL)
            return why;
    }
    return NULL;
}
