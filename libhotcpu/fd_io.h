/* fd_io.h: writing a whole buffer to a file descriptor, the one loop every
 * program and test uses for it. */
#pragma once

#include <glib.h>

/* Writes all @len bytes of @data to @fd, through EINTR and short writes.
 * FALSE with errno set when it cannot (ENOSPC for a write of 0 bytes); how
 * much was written is then unknown. */
gboolean fd_write_all(int fd, const void *data, gsize len);
