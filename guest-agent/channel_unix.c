/* channel_unix.c: serve the protocol on a unix stream socket.
 *
 * For tests and for running the agent without a VM.  Several clients at
 * once, each with its own line reader and output queue; broadcasts go to
 * all.  Watches are level-triggered (a socket has no idle-readable state
 * like the virtio port), one read of at most CHUNK bytes per wake so that a
 * flooding client cannot starve the others.
 */
#include "channel_private.h"

#include <errno.h>
#include <gio/gio.h>
#include <glib-unix.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define CHUNK (64 * 1024)

typedef struct ChannelUnix ChannelUnix;

typedef struct {
    ChannelUnix *owner;
    ChannelPeer *peer;
    guint in_watch;  /* 0 while throttled, after EOF, or dead */
    guint out_watch; /* only while output waits for the socket */
    guint hup_watch; /* after EOF while an answer is owed: the full close */
    gboolean eof;    /* the client closed its sending side */
} UnixClient;

struct ChannelUnix {
    Channel base;
    char *path;
    int listen_fd;
    guint listen_watch;
    GHashTable *clients; /* &peer->id -> UnixClient */
    guint64 last_id;
    guint reap_idle;
};

static gboolean on_client_in(int fd, GIOCondition condition, gpointer user_data);
static gboolean on_client_out(int fd, GIOCondition condition, gpointer user_data);
static gboolean on_listen_ready(int fd, GIOCondition condition, gpointer user_data);
static void client_kill(UnixClient *c);

static ssize_t
send_nosignal(int fd, const void *buf, size_t len)
{
    return send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
}

static void
client_remove_watches(UnixClient *c)
{
    guint *watches[] = { &c->in_watch, &c->out_watch, &c->hup_watch };

    for (gsize i = 0; i < G_N_ELEMENTS(watches); i++) {
        if (*watches[i] != 0)
            g_source_remove(*watches[i]);
        *watches[i] = 0;
    }
}

static void
client_destroy(UnixClient *c)
{
    client_remove_watches(c);
    close(c->peer->fd);
    channel_peer_free(c->peer);
    g_free(c);
}

static gboolean
reap_dead(gpointer user_data)
{
    ChannelUnix *cu = user_data;
    GHashTableIter iter;
    gpointer value;
    g_autoptr(GArray) gone = g_array_new(FALSE, FALSE, sizeof(guint64));

    cu->reap_idle = 0;
    g_hash_table_iter_init(&iter, cu->clients);
    while (g_hash_table_iter_next(&iter, NULL, &value)) {
        UnixClient *c = value;

        if (!c->peer->dead)
            continue;
        g_array_append_val(gone, c->peer->id);
        g_hash_table_iter_steal(&iter);
        client_destroy(c);
    }
    /* After the table is consistent: the callback may send to others. */
    for (guint i = 0; i < gone->len; i++) {
        if (cu->base.callbacks.disconnected != NULL)
            cu->base.callbacks.disconnected(&cu->base, g_array_index(gone, guint64, i),
                                            cu->base.user_data);
    }
    return G_SOURCE_REMOVE;
}

/* Closing waits for an idle: we may be deep inside this client's own read
 * callback, or inside a broadcast iterating the table. */
static void
client_kill(UnixClient *c)
{
    if (c->peer->dead)
        return;
    c->peer->dead = TRUE;
    client_remove_watches(c);
    if (c->owner->reap_idle == 0)
        c->owner->reap_idle = g_idle_add(reap_dead, c->owner);
}

/* Reads again if the client was throttled and its queue has drained. */
static void
client_resume(UnixClient *c)
{
    if (c->peer->dead || c->eof || c->in_watch != 0 || c->peer->delivering
        || channel_peer_throttled(c->peer))
        return;
    if (channel_peer_deliver(&c->owner->base, c->peer) || c->peer->dead)
        return;
    c->in_watch = g_unix_fd_add(c->peer->fd, G_IO_IN, on_client_in, c);
}

static void
client_flush(UnixClient *c)
{
    int err = 0;

    switch (channel_peer_flush(c->peer, send_nosignal, &err)) {
    case CHANNEL_FLUSH_DONE:
        if (c->out_watch != 0) {
            g_source_remove(c->out_watch);
            c->out_watch = 0;
        }
        if (c->eof && c->peer->holds == 0) {
            /* Answered everything it asked before it hung up: done. */
            client_kill(c);
            return;
        }
        break;
    case CHANNEL_FLUSH_BLOCKED:
        if (c->out_watch == 0)
            c->out_watch = g_unix_fd_add(c->peer->fd, G_IO_OUT, on_client_out, c);
        break;
    case CHANNEL_FLUSH_FAILED:
        g_debug("Client %" G_GUINT64_FORMAT " went away: %s", c->peer->id, g_strerror(err));
        client_kill(c);
        return;
    }
    client_resume(c);
}

static gboolean
on_client_out(int fd, GIOCondition condition, gpointer user_data)
{
    UnixClient *c = user_data;

    client_flush(c);
    return G_SOURCE_CONTINUE; /* client_flush removed it when done */
}

static gboolean
on_client_hup(int fd, GIOCondition condition, gpointer user_data)
{
    UnixClient *c = user_data;

    g_debug("Client %" G_GUINT64_FORMAT " closed before its answer was ready.", c->peer->id);
    c->hup_watch = 0;
    client_kill(c);
    return G_SOURCE_REMOVE;
}

/* The client sent its last byte.  A half close (shutdown(SHUT_WR)) still
 * reads: it stays while we owe it output or an answer.  A full close shows
 * as POLLHUP, at once or later, and drops it. */
static void
client_eof(UnixClient *c)
{
    /* A partial line left in the reader is dropped with the client. */
    c->eof = TRUE;
    c->in_watch = 0;
    if (c->peer->out->len == 0 && c->peer->holds == 0) {
        client_kill(c);
        return;
    }
    c->hup_watch = g_unix_fd_add(c->peer->fd, G_IO_HUP | G_IO_ERR, on_client_hup, c);
}

static gboolean
on_client_in(int fd, GIOCondition condition, gpointer user_data)
{
    UnixClient *c = user_data;
    g_autofree char *buf = g_malloc(CHUNK);
    ssize_t n = recv(fd, buf, CHUNK, MSG_DONTWAIT);

    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
            return G_SOURCE_CONTINUE;
        g_debug("Client %" G_GUINT64_FORMAT " went away: %s", c->peer->id, g_strerror(errno));
        client_kill(c);
        return G_SOURCE_REMOVE;
    }
    if (n == 0) {
        client_eof(c);
        return G_SOURCE_REMOVE;
    }
    c->peer->last_active = g_get_monotonic_time();
    proto_line_reader_feed(c->peer->reader, buf, (gsize)n);
    if (channel_peer_deliver(&c->owner->base, c->peer)) {
        /* Over the high-water mark: stop reading until it drains. */
        c->in_watch = 0;
        return G_SOURCE_REMOVE;
    }
    if (c->peer->dead)
        return G_SOURCE_REMOVE;
    return G_SOURCE_CONTINUE;
}

/* Over CHANNEL_MAX_CLIENTS: closes the client idle the longest that is owed
 * no answer, so that a newcomer (@fresh) is always served and idle clients
 * cannot lock everyone out.  No timers: an idle agent stays idle. */
static void
make_room(ChannelUnix *cu, UnixClient *fresh)
{
    GHashTableIter iter;
    gpointer value;
    UnixClient *victim = NULL;
    guint live = 0;

    g_hash_table_iter_init(&iter, cu->clients);
    while (g_hash_table_iter_next(&iter, NULL, &value)) {
        UnixClient *c = value;

        if (c->peer->dead)
            continue;
        live++;
        if (c == fresh || c->peer->holds > 0)
            continue;
        if (victim == NULL || c->peer->last_active < victim->peer->last_active)
            victim = c;
    }
    if (live <= CHANNEL_MAX_CLIENTS || victim == NULL)
        return;
    g_message("Closing client %" G_GUINT64_FORMAT ", idle for %.1f s, to serve a new one "
              "(%d clients at most).",
              victim->peer->id,
              (double)(g_get_monotonic_time() - victim->peer->last_active) / G_USEC_PER_SEC,
              CHANNEL_MAX_CLIENTS);
    client_kill(victim);
}

static gboolean
on_listen_ready(int fd, GIOCondition condition, gpointer user_data)
{
    ChannelUnix *cu = user_data;

    for (;;) {
        UnixClient *c;
        int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

        if (cfd < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                g_warning("Cannot accept a client on %s: %s", cu->path, g_strerror(errno));
            return G_SOURCE_CONTINUE;
        }
        c = g_new0(UnixClient, 1);
        c->owner = cu;
        c->peer = channel_peer_new(++cu->last_id, cfd);
        c->in_watch = g_unix_fd_add(cfd, G_IO_IN, on_client_in, c);
        g_hash_table_insert(cu->clients, &c->peer->id, c);
        g_debug("Client %" G_GUINT64_FORMAT " connected.", c->peer->id);
        make_room(cu, c);
        if (cu->base.callbacks.connected != NULL)
            cu->base.callbacks.connected(&cu->base, c->peer->id, FALSE, cu->base.user_data);
    }
}

static void
client_send(UnixClient *c, const char *data, gsize len)
{
    if (c->peer->dead)
        return;
    if (!channel_peer_queue(c->peer, data, len)) {
        g_warning("Dropping client %" G_GUINT64_FORMAT ": it does not read (%u bytes wait for it).",
                  c->peer->id, c->peer->out->len);
        client_kill(c);
        return;
    }
    if (c->out_watch == 0)
        client_flush(c);
}

static void
unix_send(Channel *channel, guint64 peer, const char *data, gsize len)
{
    ChannelUnix *cu = (ChannelUnix *)channel;
    UnixClient *c = g_hash_table_lookup(cu->clients, &peer);

    if (c != NULL)
        client_send(c, data, len);
}

static void
unix_broadcast(Channel *channel, const char *data, gsize len)
{
    ChannelUnix *cu = (ChannelUnix *)channel;
    GHashTableIter iter;
    gpointer value;

    /* client_send never changes the table (closing is deferred). */
    g_hash_table_iter_init(&iter, cu->clients);
    while (g_hash_table_iter_next(&iter, NULL, &value))
        client_send(value, data, len);
}

static void
unix_hold(Channel *channel, guint64 peer, gboolean hold)
{
    ChannelUnix *cu = (ChannelUnix *)channel;
    UnixClient *c = g_hash_table_lookup(cu->clients, &peer);

    if (c == NULL || c->peer->dead)
        return;
    if (hold) {
        c->peer->holds++;
        return;
    }
    g_return_if_fail(c->peer->holds > 0);
    c->peer->holds--;
    /* Half-closed and nothing left to write: done. */
    if (c->eof && c->peer->holds == 0 && c->peer->out->len == 0)
        client_kill(c);
}

static gboolean
unix_peer_connected(Channel *channel, guint64 peer)
{
    ChannelUnix *cu = (ChannelUnix *)channel;
    UnixClient *c = g_hash_table_lookup(cu->clients, &peer);

    return c != NULL && !c->peer->dead;
}

static guint
unix_peer_count(Channel *channel)
{
    ChannelUnix *cu = (ChannelUnix *)channel;
    GHashTableIter iter;
    gpointer value;
    guint n = 0;

    g_hash_table_iter_init(&iter, cu->clients);
    while (g_hash_table_iter_next(&iter, NULL, &value)) {
        if (!((UnixClient *)value)->peer->dead)
            n++;
    }
    return n;
}

static void
unix_free(Channel *channel)
{
    ChannelUnix *cu = (ChannelUnix *)channel;
    GHashTableIter iter;
    gpointer value;

    if (cu->reap_idle != 0)
        g_source_remove(cu->reap_idle);
    g_hash_table_iter_init(&iter, cu->clients);
    while (g_hash_table_iter_next(&iter, NULL, &value)) {
        g_hash_table_iter_steal(&iter);
        client_destroy(value);
    }
    g_hash_table_unref(cu->clients);
    if (cu->listen_watch != 0)
        g_source_remove(cu->listen_watch);
    if (cu->listen_fd >= 0) {
        close(cu->listen_fd);
        unlink(cu->path);
    }
    g_free(cu->path);
    g_free(cu);
}

static const ChannelOps unix_ops = {
    .send = unix_send,
    .broadcast = unix_broadcast,
    .peer_count = unix_peer_count,
    .peer_connected = unix_peer_connected,
    .hold = unix_hold,
    .free = unix_free,
};

Channel *
channel_unix_new(const char *path, const ChannelCallbacks *callbacks, gpointer user_data,
                 GError **error)
{
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    struct stat st;
    ChannelUnix *cu;
    mode_t old_mask;
    int fd;

    if (strlen(path) >= sizeof(addr.sun_path)) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FILENAME_TOO_LONG,
                    "socket path %s is longer than %zu bytes", path, sizeof(addr.sun_path) - 1);
        return NULL;
    }
    strcpy(addr.sun_path, path);

    /* Replace a stale socket of an earlier run, but nothing else. */
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_EXISTS,
                        "%s exists and is not a socket; not replacing it", path);
            return NULL;
        }
        unlink(path);
    }

    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        int err = errno;
        g_set_error(error, G_IO_ERROR, g_io_error_from_errno(err),
                    "cannot create a unix socket: %s", g_strerror(err));
        return NULL;
    }
    /* The agent changes CPUs: only its owner may talk to it. */
    old_mask = umask(0077);
    if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(fd, 16) < 0) {
        int err = errno;
        umask(old_mask);
        close(fd);
        g_set_error(error, G_IO_ERROR, g_io_error_from_errno(err), "cannot listen on %s: %s", path,
                    g_strerror(err));
        return NULL;
    }
    umask(old_mask);

    cu = g_new0(ChannelUnix, 1);
    channel_init(&cu->base, &unix_ops, callbacks, user_data);
    cu->path = g_strdup(path);
    cu->listen_fd = fd;
    cu->clients = g_hash_table_new(g_int64_hash, g_int64_equal);
    cu->listen_watch = g_unix_fd_add(fd, G_IO_IN, on_listen_ready, cu);
    return &cu->base;
}
