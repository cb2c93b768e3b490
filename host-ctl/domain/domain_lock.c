/* domain_lock.c: flock per domain UUID. */
#include "domain_lock.h"
#include "trusted_dir.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <gio/gio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

struct DomainLock {
    int fd;
};

/* Opens (creating) @name in @dir_fd, never through a symlink. */
static int
open_lock_file(int dir_fd, const char *name, const char *path, GError **error)
{
    struct stat st;
    int fd = openat(dir_fd, name, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW, 0644);
    int e = errno;

    if (fd < 0) {
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(e),
                    e == ELOOP ? "cannot open the lock file %s: it is a symbolic link"
                               : "cannot open the lock file %s: %s",
                    path, g_strerror(e));
        return -1;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "the lock file %s is not a regular file", path);
        return -1;
    }
    return fd;
}

DomainLock *
domain_lock_acquire(const char *dir, const char *uuid, GError **error)
{
    g_autofree char *name = NULL;
    g_autofree char *path = NULL;
    DomainLock *lock;
    int dir_fd, fd;

    if (!uuid || !*uuid || strchr(uuid, '/') || strcmp(uuid, ".") == 0 || strcmp(uuid, "..") == 0) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "invalid domain UUID '%s'",
                    uuid ? uuid : "");
        return NULL;
    }
    if ((dir_fd = trusted_dir_open(dir, 0755, "the lock folder", error)) < 0)
        return NULL;
    name = g_strdup_printf("%s.lock", uuid);
    path = g_build_filename(dir, name, NULL);
    fd = open_lock_file(dir_fd, name, path, error);
    close(dir_fd);
    if (fd < 0)
        return NULL;
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        int e = errno;
        close(fd);
        if (e == EWOULDBLOCK)
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_BUSY,
                        "another hotcpu-ctl set is running on this domain (lock %s is held)", path);
        else
            g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(e), "cannot lock %s: %s", path,
                        g_strerror(e));
        return NULL;
    }
    lock = g_new0(DomainLock, 1);
    lock->fd = fd;
    return lock;
}

void
domain_lock_release(DomainLock *lock)
{
    if (!lock)
        return;
    flock(lock->fd, LOCK_UN);
    close(lock->fd);
    g_free(lock);
}
