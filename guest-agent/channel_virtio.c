/* channel_virtio.c: the virtio-serial port, waited on without polling.
 *
 * While no host process holds the other end, the kernel's virtio_console
 * reports the port readable (read() returns 0) and writes would block: a
 * level-triggered poll would spin, and qemu-ga sleeps 100 ms per turn
 * instead.  The kernel does wake the port's wait queue when the host opens
 * or closes its end, when data arrives and when the host consumed what we
 * wrote.  So the port goes into an epoll set EDGE-triggered, and the glib
 * loop watches the epoll fd: we wake exactly on those transitions and an
 * idle agent without a host costs nothing.
 *
 * Edge triggering means every wake must finish the job: read until EAGAIN
 * (host there, nothing more) or 0 (host gone), and write until the queue is
 * empty or EAGAIN; the next edge comes from the kernel.  Whether the host is
 * there is learned from read(): 0 = gone, EAGAIN = there.
 *
 * That answer is only advisory.  The host's data and its PORT_OPEN control
 * message travel on different virtqueues, so a new host's request can be
 * read while the kernel still says "not connected" (read() gives the data,
 * then 0), and the open arrives a moment later.  Treating that 0 as a
 * hang-up lost requests (seen in about a third of quick reconnects in the
 * e2e tests).  So the port is ONE peer for the agent's whole life: a
 * hang-up neither resets the line reader (the host sends 0xFF when it
 * connects, which drops a half line left by its predecessor) nor drops
 * queued replies or a waiting request (a reply meant for a host that left
 * reaches the next one, whose client skips ids it did not send).  Only
 * unsolicited events are not queued while no host is there: a host that
 * connects gets the current topology at once instead.
 */
#include "channel_private.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <glib-unix.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "channel_virtio.h"

typedef struct {
    Channel base;
    char *path;
    int port_fd;
    int epoll_fd;
    guint watch;
    gboolean host_connected;
    gboolean failed;
    ChannelPeer *peer; /* fd = port_fd; one peer for the agent's life */
} ChannelVirtio;

static void virtio_service(ChannelVirtio *cv);

static void
virtio_fail(ChannelVirtio *cv, int err, const char *what)
{
    g_autoptr(GError) error = NULL;

    if (cv->failed)
        return;
    cv->failed = TRUE;
    if (cv->watch != 0) {
        g_source_remove(cv->watch);
        cv->watch = 0;
    }
    /* ENODEV: the port was hot-unplugged, which is no failure of ours
     * (G_IO_ERROR_CLOSED: glib maps ENODEV to a code of its own only from
     * 2.74 on). */
    error = g_error_new(G_IO_ERROR, err == ENODEV ? G_IO_ERROR_CLOSED : g_io_error_from_errno(err),
                        "cannot %s %s: %s", what, cv->path, g_strerror(err));
    if (cv->base.callbacks.failed != NULL)
        cv->base.callbacks.failed(&cv->base, error, cv->base.user_data);
}

static void
virtio_set_connected(ChannelVirtio *cv, gboolean connected)
{
    if (cv->host_connected == connected)
        return;
    cv->host_connected = connected;
    /* No reset and no "disconnected" callback: see the top of this file. */
    if (connected) {
        if (cv->base.callbacks.connected != NULL)
            cv->base.callbacks.connected(&cv->base, cv->peer->id, TRUE, cv->base.user_data);
    } else {
        g_debug("No host holds %s now.", cv->path);
    }
}

/* The port blocks (EAGAIN) while no host is there; a socket standing in for
 * it (tests, --channel on a socket) says EPIPE instead: the same thing. */
static ssize_t
virtio_write(int fd, const void *buf, size_t len)
{
    ssize_t n = write(fd, buf, len);

    if (n < 0 && errno == EPIPE)
        errno = EAGAIN;
    return n;
}

/* Returns FALSE when the channel failed. */
static gboolean
virtio_flush(ChannelVirtio *cv)
{
    int err = 0;

    /* Written even while the kernel says no host is there: it may be a
     * moment early (see the top), and EAGAIN just waits for the edge. */
    if (cv->peer->out->len == 0)
        return TRUE;
    /* BLOCKED: the kernel wakes us (an EPOLLOUT edge) when the host has
     * taken our buffers, or (EPOLLHUP) when it goes away. */
    if (channel_peer_flush(cv->peer, virtio_write, &err) == CHANNEL_FLUSH_FAILED) {
        virtio_fail(cv, err, "write to");
        return FALSE;
    }
    return TRUE;
}

static void
virtio_service(ChannelVirtio *cv)
{
    char buf[16 * 1024];

    while (!cv->failed) {
        ssize_t n;

        if (!virtio_flush(cv))
            return;
        /* Throttled: leave the rest unread; the EPOLLOUT edge after the host
         * drained our output brings us back here. */
        if (channel_peer_deliver(&cv->base, cv->peer))
            return;
        if (cv->failed)
            return;

        n = read(cv->port_fd, buf, sizeof(buf));
        if (n > 0) {
            virtio_set_connected(cv, TRUE);
            proto_line_reader_feed(cv->peer->reader, buf, (gsize)n);
            continue;
        }
        if (n == 0) {
            virtio_set_connected(cv, FALSE);
            return;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            virtio_set_connected(cv, TRUE);
            virtio_flush(cv);
            return;
        }
        /* ENODEV: the port was hot-unplugged. */
        virtio_fail(cv, errno, "read from");
        return;
    }
}

static gboolean
on_epoll_ready(int fd, GIOCondition condition, gpointer user_data)
{
    ChannelVirtio *cv = user_data;
    struct epoll_event events[4];

    /* Consume the edge, or the epoll fd stays readable and glib spins. */
    while (epoll_wait(cv->epoll_fd, events, G_N_ELEMENTS(events), 0) < 0 && errno == EINTR)
        ;
    virtio_service(cv);
    if (cv->failed) {
        cv->watch = 0;
        return G_SOURCE_REMOVE;
    }
    return G_SOURCE_CONTINUE;
}

static void
virtio_send(Channel *channel, guint64 peer, const char *data, gsize len)
{
    ChannelVirtio *cv = (ChannelVirtio *)channel;

    if (cv->failed)
        return;
    if (!channel_peer_queue(cv->peer, data, len)) {
        /* The host holds the port open but does not read, or no host has
         * come for a long time.  We cannot hang up on it, so drop what it
         * has not taken: bounded memory beats completeness; it can ask
         * again. */
        g_warning("The host does not read from %s; dropping %u bytes of queued output.", cv->path,
                  cv->peer->out->len);
        g_byte_array_set_size(cv->peer->out, 0);
        if (!channel_peer_queue(cv->peer, data, len))
            return;
    }
    virtio_flush(cv);
}

static void
virtio_broadcast(Channel *channel, const char *data, gsize len)
{
    ChannelVirtio *cv = (ChannelVirtio *)channel;

    /* Events are not kept for a host that is not there: it asks for the
     * state, or gets it on connect. */
    if (!cv->host_connected)
        return;
    virtio_send(channel, cv->peer->id, data, len);
}

static guint
virtio_peer_count(Channel *channel)
{
    ChannelVirtio *cv = (ChannelVirtio *)channel;

    return cv->host_connected ? 1 : 0;
}

static gboolean
virtio_peer_connected(Channel *channel, guint64 peer)
{
    ChannelVirtio *cv = (ChannelVirtio *)channel;

    return cv->host_connected && peer == cv->peer->id;
}

static void
virtio_free(Channel *channel)
{
    ChannelVirtio *cv = (ChannelVirtio *)channel;

    if (cv->watch != 0)
        g_source_remove(cv->watch);
    if (cv->epoll_fd >= 0)
        close(cv->epoll_fd);
    if (cv->port_fd >= 0)
        close(cv->port_fd);
    channel_peer_free(cv->peer);
    g_free(cv->path);
    g_free(cv);
}

static const ChannelOps virtio_ops = {
    .send = virtio_send,
    .broadcast = virtio_broadcast,
    .peer_count = virtio_peer_count,
    .peer_connected = virtio_peer_connected,
    .free = virtio_free,
};

Channel *
channel_virtio_new_fd(int fd, const char *name, const ChannelCallbacks *callbacks,
                      gpointer user_data, GError **error)
{
    ChannelVirtio *cv;
    struct epoll_event ev = {
        .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
    };
    int epfd;
    int flags = fcntl(fd, F_GETFL);

    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
        int err = errno;
        g_set_error(error, G_IO_ERROR, g_io_error_from_errno(err),
                    "cannot make %s non-blocking: %s", name, g_strerror(err));
        return NULL;
    }
    epfd = epoll_create1(EPOLL_CLOEXEC);
    if (epfd < 0) {
        int err = errno;
        g_set_error(error, G_IO_ERROR, g_io_error_from_errno(err), "cannot create an epoll set: %s",
                    g_strerror(err));
        return NULL;
    }
    ev.data.fd = fd;
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
        int err = errno;
        close(epfd);
        g_set_error(error, G_IO_ERROR, g_io_error_from_errno(err), "cannot watch %s with epoll: %s",
                    name, g_strerror(err));
        return NULL;
    }

    cv = g_new0(ChannelVirtio, 1);
    channel_init(&cv->base, &virtio_ops, callbacks, user_data);
    cv->path = g_strdup(name);
    cv->port_fd = fd;
    cv->epoll_fd = epfd;
    cv->peer = channel_peer_new(1, fd);
    /* Adding a ready fd to an edge-triggered set reports it once, so the
     * first wake tells us whether a host is already there. */
    cv->watch = g_unix_fd_add(epfd, G_IO_IN, on_epoll_ready, cv);
    return &cv->base;
}

Channel *
channel_virtio_new(const char *path, const ChannelCallbacks *callbacks, gpointer user_data,
                   GError **error)
{
    Channel *channel;
    int fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);

    if (fd < 0) {
        int err = errno;
        g_set_error(error, G_IO_ERROR, g_io_error_from_errno(err), "cannot open %s: %s", path,
                    g_strerror(err));
        return NULL;
    }
    channel = channel_virtio_new_fd(fd, path, callbacks, user_data, error);
    if (channel == NULL)
        close(fd);
    return channel;
}
