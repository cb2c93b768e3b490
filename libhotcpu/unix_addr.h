/* unix_addr.h: the sockaddr_un of a unix socket path. */
#pragma once

#include <glib.h>
#include <sys/socket.h>
#include <sys/un.h>

/* Fills @addr (AF_UNIX, @path).  FALSE with G_IO_ERROR_FILENAME_TOO_LONG,
 * naming @path, when it does not fit. */
gboolean unix_addr_fill(struct sockaddr_un *addr, const char *path, GError **error);
