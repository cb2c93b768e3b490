/* unix_addr.c: the sockaddr_un of a unix socket path. */
#include "unix_addr.h"

#include <gio/gio.h>
#include <string.h>

gboolean
unix_addr_fill(struct sockaddr_un *addr, const char *path, GError **error)
{
    memset(addr, 0, sizeof(*addr));
    addr->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(addr->sun_path)) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FILENAME_TOO_LONG,
                    "socket path %s is longer than %zu bytes", path, sizeof(addr->sun_path) - 1);
        return FALSE;
    }
    strcpy(addr->sun_path, path);
    return TRUE;
}
