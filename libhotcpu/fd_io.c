/* fd_io.c: writing a whole buffer to a file descriptor. */
#include "fd_io.h"

#include <errno.h>
#include <unistd.h>

gboolean
fd_write_all(int fd, const void *data, gsize len)
{
    const char *p = data;

    while (len > 0) {
        ssize_t n = write(fd, p, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0)
                errno = ENOSPC;
            return FALSE;
        }
        p += n;
        len -= (gsize)n;
    }
    return TRUE;
}
