/* domain_lock.c: flock per domain UUID. */
#include "domain_lock.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <gio/gio.h>
#include <sys/file.h>
#include <unistd.h>

struct DomainLock {
    int fd;
};

DomainLock *
domain_lock_acquire(const char *dir, const char *uuid, GError **error)
{
    g_autofree char *path = NULL;
    DomainLock *lock;
    int fd;

    if (!uuid || !*uuid || strchr(uuid, '/')) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "invalid domain UUID '%s'",
                    uuid ? uuid : "");
        return NULL;
    }
    if (g_mkdir_with_parents(dir, 0755) < 0) {
        int e = errno;
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(e),
                    "cannot create the lock folder %s: %s", dir, g_strerror(e));
        return NULL;
    }
    path = g_strdup_printf("%s/%s.lock", dir, uuid);
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644);
    if (fd < 0) {
        int e = errno;
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(e),
                    "cannot open the lock file %s: %s", path, g_strerror(e));
        return NULL;
    }
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
