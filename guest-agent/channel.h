/* channel.h: the transports the agent talks over, behind one interface.
 *
 * Like qemu-ga's channel.h: the agent core neither knows nor cares whether
 * its peer is the host behind a virtio-serial port or a local client on a
 * unix socket.  A channel splits what it reads into protocol lines and hands
 * them to the callbacks; what the agent sends goes to one peer or to all.
 *
 * Peers are named by a 64-bit id that is never reused, so an answer that
 * arrives after its peer left (a set-num-cpus that waited) is simply
 * dropped instead of reaching a newcomer or a freed struct.
 *
 * Memory is bounded per peer: at most one partial line (PROTO_MAX_LINE) in,
 * and CHANNEL_MAX_OUTPUT bytes queued out.  A peer that sends faster than it
 * reads stops being read once CHANNEL_HIGH_WATER bytes wait for it (the
 * kernel then pushes back on the sender); a peer whose queue still overflows
 * (events to a client that never reads) is dropped.
 *
 * All callbacks run from the GMainContext the channel was created in.
 * Callbacks may call channel_send/channel_broadcast; a peer is never freed
 * under a running callback (closing is deferred to an idle).
 */
#pragma once

#include <glib.h>

/* High enough that a host may pipeline thousands of requests before it
 * reads (replies are small), low enough to bound memory. */
#define CHANNEL_HIGH_WATER (1024 * 1024)
#define CHANNEL_MAX_OUTPUT (4 * 1024 * 1024)
/* Unix-socket clients served at once.  A newcomer beyond them is served
 * too: the client idle the longest (and owed no answer) is closed. */
#define CHANNEL_MAX_CLIENTS 16

typedef struct Channel Channel;

typedef struct {
    /* One complete line, without its '\n', NUL-terminated. */
    void (*line)(Channel *channel, guint64 peer, const char *line, gsize len, gpointer user_data);
    /* The peer sent a line longer than PROTO_MAX_LINE; it was discarded. */
    void (*line_too_long)(Channel *channel, guint64 peer, gpointer user_data);
    /* A peer came (may be NULL).  @announce: the transport dropped what we
     * sent while nobody was there (virtio-serial), so the agent should tell
     * the newcomer the current state. */
    void (*connected)(Channel *channel, guint64 peer, gboolean announce, gpointer user_data);
    /* A peer left (may be NULL). */
    void (*disconnected)(Channel *channel, guint64 peer, gpointer user_data);
    /* The channel cannot go on (the port was unplugged, an I/O error); the
     * agent should exit and let its service manager start it again. */
    void (*failed)(Channel *channel, const GError *error, gpointer user_data);
} ChannelCallbacks;

/* Opens the virtio-serial port at @path (O_NONBLOCK) and waits for the host
 * without polling: see channel_virtio.c. */
Channel *channel_virtio_new(const char *path, const ChannelCallbacks *callbacks, gpointer user_data,
                            GError **error);
/* Listens on a unix stream socket at @path (an old socket file there is
 * replaced; the file is removed again by channel_free). */
Channel *channel_unix_new(const char *path, const ChannelCallbacks *callbacks, gpointer user_data,
                          GError **error);

/* Queues @data (whole lines) for @peer; dropped when @peer is gone. */
void channel_send(Channel *channel, guint64 peer, const char *data, gsize len);
/* Queues @data for every connected peer; dropped when there is none. */
void channel_broadcast(Channel *channel, const char *data, gsize len);
/* A peer owes us nothing once it stops sending, unless the agent still owes
 * it an answer: between channel_hold and channel_release a peer that
 * half-closes (shutdown(SHUT_WR)) is kept until the answer is written.  A
 * peer that closes entirely is still dropped at once.  Holds nest. */
void channel_hold(Channel *channel, guint64 peer);
void channel_release(Channel *channel, guint64 peer);
/* TRUE while @peer is there: a unix client that has not left; the virtio
 * port's one peer while a host holds the port. */
gboolean channel_peer_connected(Channel *channel, guint64 peer);
/* Number of peers connected now. */
guint channel_peer_count(Channel *channel);

/* Closes everything.  Accepts NULL.  Calls no callback. */
void channel_free(Channel *channel);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Channel, channel_free)
