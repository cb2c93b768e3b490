/* channel.c: the transport-independent part of the channels. */
#include "channel_private.h"

#include <errno.h>
#include <unistd.h>

void
channel_init(Channel *channel, const ChannelOps *ops, const ChannelCallbacks *callbacks,
             gpointer user_data)
{
    channel->ops = ops;
    channel->callbacks = *callbacks;
    channel->user_data = user_data;
}

void
channel_send(Channel *channel, guint64 peer, const char *data, gsize len)
{
    channel->ops->send(channel, peer, data, len);
}

void
channel_broadcast(Channel *channel, const char *data, gsize len)
{
    channel->ops->broadcast(channel, data, len);
}

void
channel_hold(Channel *channel, guint64 peer)
{
    if (channel->ops->hold != NULL)
        channel->ops->hold(channel, peer, TRUE);
}

void
channel_release(Channel *channel, guint64 peer)
{
    if (channel->ops->hold != NULL)
        channel->ops->hold(channel, peer, FALSE);
}

gboolean
channel_peer_connected(Channel *channel, guint64 peer)
{
    return channel->ops->peer_connected(channel, peer);
}

guint
channel_peer_count(Channel *channel)
{
    return channel->ops->peer_count(channel);
}

void
channel_free(Channel *channel)
{
    if (channel == NULL)
        return;
    channel->ops->free(channel);
}

ChannelPeer *
channel_peer_new(guint64 id, int fd)
{
    ChannelPeer *peer = g_new0(ChannelPeer, 1);

    peer->id = id;
    peer->fd = fd;
    peer->reader = proto_line_reader_new(PROTO_MAX_LINE);
    peer->out = g_byte_array_new();
    peer->last_active = g_get_monotonic_time();
    return peer;
}

void
channel_peer_free(ChannelPeer *peer)
{
    if (peer == NULL)
        return;
    proto_line_reader_free(peer->reader);
    g_byte_array_unref(peer->out);
    g_free(peer);
}

gboolean
channel_peer_throttled(const ChannelPeer *peer)
{
    return peer->out->len >= CHANNEL_HIGH_WATER;
}

static gboolean
deliver_lines(Channel *channel, ChannelPeer *peer)
{
    for (;;) {
        g_autofree char *line = NULL;
        gsize len = 0;
        ProtoLineStatus status;

        if (peer->dead)
            return FALSE;
        if (channel_peer_throttled(peer))
            return TRUE;
        status = proto_line_reader_next(peer->reader, &line, &len);
        switch (status) {
        case PROTO_LINE_NONE:
            return FALSE;
        case PROTO_LINE_OK:
            if (channel->callbacks.line != NULL)
                channel->callbacks.line(channel, peer->id, line, len, channel->user_data);
            break;
        case PROTO_LINE_TOO_LONG:
            if (channel->callbacks.line_too_long != NULL)
                channel->callbacks.line_too_long(channel, peer->id, channel->user_data);
            break;
        }
    }
}

gboolean
channel_peer_deliver(Channel *channel, ChannelPeer *peer)
{
    gboolean throttled;

    if (peer->delivering)
        return FALSE;
    peer->delivering = TRUE;
    throttled = deliver_lines(channel, peer);
    peer->delivering = FALSE;
    return throttled;
}

gboolean
channel_peer_queue(ChannelPeer *peer, const char *data, gsize len)
{
    if (len > CHANNEL_MAX_OUTPUT || peer->out->len > CHANNEL_MAX_OUTPUT - len)
        return FALSE;
    g_byte_array_append(peer->out, (const guint8 *)data, len);
    if (peer->out->len > CHANNEL_SMALL_OUTPUT)
        peer->out_big = TRUE;
    return TRUE;
}

ChannelFlushResult
channel_peer_flush(ChannelPeer *peer, ssize_t (*write_fn)(int fd, const void *buf, size_t len),
                   int *err)
{
    gsize done = 0;
    ChannelFlushResult result = CHANNEL_FLUSH_DONE;

    while (done < peer->out->len) {
        ssize_t n = write_fn(peer->fd, peer->out->data + done, peer->out->len - done);

        if (n > 0) {
            done += (gsize)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            result = CHANNEL_FLUSH_BLOCKED;
        } else {
            *err = n < 0 ? errno : EIO;
            result = CHANNEL_FLUSH_FAILED;
        }
        break;
    }
    if (done > 0) {
        g_byte_array_remove_range(peer->out, 0, (guint)done);
        peer->last_active = g_get_monotonic_time();
    }
    if (peer->out->len == 0 && peer->out_big) {
        /* remove_range keeps the capacity: drop the big buffer itself. */
        g_byte_array_unref(peer->out);
        peer->out = g_byte_array_new();
        peer->out_big = FALSE;
    }
    return result;
}
