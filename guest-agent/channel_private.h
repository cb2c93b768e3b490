/* channel_private.h: what the transports share (not for the agent core).
 *
 * A ChannelPeer is one byte stream: its line reader and its output queue.
 * The transports own the fd and the watches; the helpers here only move
 * bytes and call the callbacks.
 */
#pragma once

#include <sys/types.h>

#include "channel.h"
#include "protocol.h"

typedef struct {
    void (*send)(Channel *channel, guint64 peer, const char *data, gsize len);
    void (*broadcast)(Channel *channel, const char *data, gsize len);
    guint (*peer_count)(Channel *channel);
    gboolean (*peer_connected)(Channel *channel, guint64 peer);
    /* channel_hold/channel_release (may be NULL: the peer never goes). */
    void (*hold)(Channel *channel, guint64 peer, gboolean hold);
    void (*free)(Channel *channel);
} ChannelOps;

struct Channel {
    const ChannelOps *ops;
    ChannelCallbacks callbacks;
    gpointer user_data;
};

/* Output queues that grew past this are given back once they drain, so a
 * big reply's buffer does not stay with the peer for its life. */
#define CHANNEL_SMALL_OUTPUT (64 * 1024)

typedef struct {
    guint64 id;
    int fd;
    ProtoLineReader *reader;
    GByteArray *out;
    gboolean dead;       /* to be closed from an idle; ignore from now on */
    guint holds;         /* answers still owed to this peer (channel_hold) */
    gboolean out_big;    /* out grew past CHANNEL_SMALL_OUTPUT since it was new */
    gint64 last_active;  /* monotonic time of the last byte in or out */
    gboolean delivering; /* inside channel_peer_deliver (no re-entry) */
} ChannelPeer;

void channel_init(Channel *channel, const ChannelOps *ops, const ChannelCallbacks *callbacks,
                  gpointer user_data);

ChannelPeer *channel_peer_new(guint64 id, int fd);
/* Frees the buffers; does NOT close the fd (the transport owns it). */
void channel_peer_free(ChannelPeer *peer);

/* Hands buffered complete lines to the callbacks until there are none or
 * the output queue reaches CHANNEL_HIGH_WATER.  Returns TRUE when it stopped
 * for the latter (the caller must not read more before the queue drains).
 * A nested call (from a callback) returns FALSE at once: the outer one goes
 * on with the remaining lines. */
gboolean channel_peer_deliver(Channel *channel, ChannelPeer *peer);
/* TRUE while the peer should not be read (output over the high-water mark). */
gboolean channel_peer_throttled(const ChannelPeer *peer);

/* Appends @data to the queue.  FALSE when that would pass
 * CHANNEL_MAX_OUTPUT (nothing is appended then). */
gboolean channel_peer_queue(ChannelPeer *peer, const char *data, gsize len);

typedef enum {
    CHANNEL_FLUSH_DONE,    /* queue empty */
    CHANNEL_FLUSH_BLOCKED, /* EAGAIN: wait until writable */
    CHANNEL_FLUSH_FAILED,  /* write error (errno kept in *err) */
} ChannelFlushResult;

/* Writes as much of the queue as the fd takes.  @write_fn is write(2) or a
 * send(2) with MSG_NOSIGNAL. */
ChannelFlushResult channel_peer_flush(ChannelPeer *peer,
                                      ssize_t (*write_fn)(int fd, const void *buf, size_t len),
                                      int *err);
