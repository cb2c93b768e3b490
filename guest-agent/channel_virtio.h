/* channel_virtio.h: the virtio transport on an already open fd, for tests.
 *
 * channel_virtio_new() opens the port by path.  This takes any fd that
 * behaves like a port (a socketpair end: EAGAIN while the other end is
 * there, read() 0 once it is gone) under a display @name.  On success the
 * channel owns @fd; on failure the caller still does.
 */
#pragma once

#include "channel.h"

Channel *channel_virtio_new_fd(int fd, const char *name, const ChannelCallbacks *callbacks,
                               gpointer user_data, GError **error);
