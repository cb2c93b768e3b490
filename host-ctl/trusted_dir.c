/* trusted_dir.c: owner and mode checks for hotcpu-ctl's folders. */
#include "trusted_dir.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <unistd.h>

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
