/* virt_channel.c: a virStream bridged to a socketpair in libvirt's event
 * loop thread.
 *
 * Everything after virt_channel_open() returns runs in the event thread:
 * the stream callback moves bytes from the stream to our end of the pair,
 * the handle callback from the pair to the stream, each buffering what the
 * other side does not take yet (as virsh's console does).  Either side's
 * end or error shuts the bridge down; the caller sees EOF.
 *
 * Nothing is sent on a stream before it has shown that it lives: data
 * from the agent (it greets every host that connects), or BRIDGE_GATE_MS
 * without an end.  libvirtd (seen in 11.3, the code is unchanged in
 * master) queues one message twice when it cannot write a client's data
 * to a channel whose QEMU end is gone (daemonStreamHandleWrite after
 * daemonStreamHandleWriteData failed), and then spins or crashes.  A
 * channel opened while its domain is being destroyed ends at once; a
 * client that sends right after opening (our 0xFF) hit that every few
 * tries in e2e-autoscale's watch test.  The gate leaves a window of
 * microseconds instead of seconds.
 */
#include "virt_channel.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>

#include "virt_util.h"

/* clang-format off */
G_DEFINE_QUARK(hotcpu-virt-channel-error-quark, virt_channel_error)
/* clang-format on */

/* What one side may hold back before the bridge gives up on a peer that
 * does not read: far above the protocol's 64 KiB line. */
#define BRIDGE_MAX_BUFFERED (4 * 1024 * 1024)
#define BRIDGE_CHUNK 65536
/* How long a stream that says nothing must stay open before we send: an
 * agent greets within a few milliseconds; the end of a channel whose
 * domain is going away came within 1 ms of the open (libvirtd's log). */
#define BRIDGE_GATE_MS 200

typedef struct {
    gint refs;   /* one per registration (stream callback, handle) */
    GMutex lock; /* the failure path of virt_channel_open vs the callbacks */
    virStreamPtr st;
    int fd;    /* the bridge's end of the socketpair */
    int watch; /* virEventAddHandle id, -1 once removed */
    gboolean stream_watched;
    GByteArray *to_fd;     /* from the stream, not yet written to fd */
    GByteArray *to_st;     /* from fd, not yet sent on the stream */
    gboolean open_to_send; /* the stream has shown that it lives (see above) */
    int gate_timer;        /* virEventAddTimeout id until then, else -1 */
    gboolean closed;
} Bridge;

typedef enum {
    READ_MORE,  /* would block: wait for the next event */
    READ_END,   /* the stream ended (EOF): finish it */
    READ_ERROR, /* error, or a peer that does not read: abort */
} ReadResult;

static void
bridge_unref(void *opaque)
{
    Bridge *b = opaque;

    if (!g_atomic_int_dec_and_test(&b->refs))
        return;
    if (b->st)
        virStreamFree(b->st);
    if (b->fd >= 0)
        close(b->fd);
    g_byte_array_unref(b->to_fd);
    g_byte_array_unref(b->to_st);
    g_mutex_clear(&b->lock);
    g_free(b);
}

/* @graceful: the stream ended (EOF), so it is finished, as virsh's console
 * does; else (an error, or our own close) aborted. */
static void
bridge_shutdown(Bridge *b, gboolean graceful)
{
    if (b->closed)
        return;
    b->closed = TRUE;
    if (b->stream_watched) {
        virStreamEventRemoveCallback(b->st);
        b->stream_watched = FALSE;
    }
    if (b->gate_timer >= 0) {
        virEventRemoveTimeout(b->gate_timer);
        b->gate_timer = -1;
    }
    /* Our peer gets EOF at once; libvirt closes its side of the channel. */
    shutdown(b->fd, SHUT_RDWR);
    if ((graceful ? virStreamFinish(b->st) : virStreamAbort(b->st)) < 0)
        virResetLastError();
    if (b->watch >= 0) {
        virEventRemoveHandle(b->watch);
        b->watch = -1;
    }
}

static void
update_watches(Bridge *b)
{
    gboolean sending = b->open_to_send && b->to_st->len > 0;

    if (b->closed)
        return;
    virEventUpdateHandle(b->watch, VIR_EVENT_HANDLE_READABLE
                                       | (b->to_fd->len ? VIR_EVENT_HANDLE_WRITABLE : 0));
    virStreamEventUpdateCallback(b->st, VIR_STREAM_EVENT_READABLE
                                            | (sending ? VIR_STREAM_EVENT_WRITABLE : 0));
}

/* Writes what the stream gave to our peer, as far as it takes it. */
static gboolean
flush_to_fd(Bridge *b)
{
    while (b->to_fd->len > 0) {
        ssize_t n = send(b->fd, b->to_fd->data, b->to_fd->len, MSG_NOSIGNAL | MSG_DONTWAIT);

        if (n < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
        g_byte_array_remove_range(b->to_fd, 0, (guint)n);
    }
    return TRUE;
}

/* Sends what our peer wrote on the stream, as far as it takes it. */
static gboolean
flush_to_stream(Bridge *b)
{
    while (b->open_to_send && b->to_st->len > 0) {
        int n = virStreamSend(b->st, (const char *)b->to_st->data, b->to_st->len);

        if (n == -2)
            return TRUE; /* would block: the WRITABLE event comes back */
        if (n < 0)
            return FALSE;
        g_byte_array_remove_range(b->to_st, 0, (guint)n);
    }
    return TRUE;
}

/* Data from the stream proves it lives: what waited may go. */
static void
open_gate(Bridge *b)
{
    b->open_to_send = TRUE;
    if (b->gate_timer >= 0) {
        virEventRemoveTimeout(b->gate_timer);
        b->gate_timer = -1;
    }
}

static ReadResult
read_stream(Bridge *b)
{
    char buf[BRIDGE_CHUNK];

    for (;;) {
        int n = virStreamRecv(b->st, buf, sizeof(buf));

        if (n == -2)
            return READ_MORE;
        if (n == 0)
            return READ_END;
        if (n < 0)
            return READ_ERROR;
        open_gate(b);
        g_byte_array_append(b->to_fd, (const guint8 *)buf, (guint)n);
        if (b->to_fd->len > BRIDGE_MAX_BUFFERED)
            return READ_ERROR;
    }
}

static gboolean
read_fd(Bridge *b)
{
    char buf[BRIDGE_CHUNK];

    for (;;) {
        ssize_t n = recv(b->fd, buf, sizeof(buf), MSG_DONTWAIT);

        if (n < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
        if (n == 0)
            return FALSE; /* our peer closed: end the stream */
        g_byte_array_append(b->to_st, (const guint8 *)buf, (guint)n);
        if (b->to_st->len > BRIDGE_MAX_BUFFERED)
            return FALSE;
    }
}

static void
on_stream(virStreamPtr st, int events, void *opaque)
{
    Bridge *b = opaque;
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&b->lock);
    ReadResult r = READ_MORE;
    gboolean ok = TRUE;

    if (b->closed)
        return;
    if (events & VIR_STREAM_EVENT_READABLE) {
        r = read_stream(b);
        /* what came before the end still reaches our peer */
        ok = flush_to_fd(b) && r == READ_MORE;
    }
    if (ok && (events & VIR_STREAM_EVENT_WRITABLE))
        ok = flush_to_stream(b);
    if (!ok || (events & (VIR_STREAM_EVENT_ERROR | VIR_STREAM_EVENT_HANGUP))) {
        virResetLastError();
        bridge_shutdown(b, r == READ_END);
        return;
    }
    update_watches(b);
}

/* BRIDGE_GATE_MS passed without data and without an end: the stream is
 * open (no agent answers, or it is slow); what waited may go. */
static void
on_gate(int timer G_GNUC_UNUSED, void *opaque)
{
    Bridge *b = opaque;
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&b->lock);

    if (b->closed)
        return;
    open_gate(b);
    if (!flush_to_stream(b)) {
        virResetLastError();
        bridge_shutdown(b, FALSE);
        return;
    }
    update_watches(b);
}

static void
on_fd(int watch, int fd, int events, void *opaque)
{
    Bridge *b = opaque;
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&b->lock);
    gboolean ok = TRUE;

    if (b->closed)
        return;
    if (events & VIR_EVENT_HANDLE_READABLE)
        ok = read_fd(b) && flush_to_stream(b);
    if (ok && (events & VIR_EVENT_HANDLE_WRITABLE))
        ok = flush_to_fd(b);
    if (!ok || (events & (VIR_EVENT_HANDLE_ERROR | VIR_EVENT_HANDLE_HANGUP))) {
        virResetLastError();
        bridge_shutdown(b, FALSE);
        return;
    }
    update_watches(b);
}

static void
set_open_error(GError **error, const char *name)
{
    int code = virt_last_error_code();
    const char *msg = virt_last_error();
    VirtChannelError kind = VIRT_CHANNEL_ERROR_FAILED;

    if (code == VIR_ERR_NO_SUPPORT)
        kind = VIRT_CHANNEL_ERROR_UNSUPPORTED;
    else if (strstr(msg, "Active channel stream exists"))
        kind = VIRT_CHANNEL_ERROR_BUSY;
    g_set_error(error, VIRT_CHANNEL_ERROR, kind, "cannot open channel %s through libvirt: %s", name,
                msg);
}

/* Registers @b's two watches; each holds a reference of its own. */
static gboolean
bridge_watch(Bridge *b)
{
    g_atomic_int_inc(&b->refs);
    if (virStreamEventAddCallback(b->st, VIR_STREAM_EVENT_READABLE, on_stream, b, bridge_unref)
        < 0) {
        g_atomic_int_dec_and_test(&b->refs);
        return FALSE;
    }
    b->stream_watched = TRUE;
    g_atomic_int_inc(&b->refs);
    b->watch = virEventAddHandle(b->fd, VIR_EVENT_HANDLE_READABLE, on_fd, b, bridge_unref);
    if (b->watch < 0) {
        g_atomic_int_dec_and_test(&b->refs);
        return FALSE;
    }
    g_atomic_int_inc(&b->refs);
    b->gate_timer = virEventAddTimeout(BRIDGE_GATE_MS, on_gate, b, bridge_unref);
    if (b->gate_timer < 0) {
        g_atomic_int_dec_and_test(&b->refs);
        return FALSE;
    }
    return TRUE;
}

int
virt_channel_open(virDomainPtr dom, const char *name, gboolean force, VirtChannel **channel,
                  GError **error)
{
    virStreamPtr st = virStreamNew(virDomainGetConnect(dom), VIR_STREAM_NONBLOCK);
    Bridge *b;
    int pair[2];

    if (!st || virDomainOpenChannel(dom, name, st, force ? VIR_DOMAIN_CHANNEL_FORCE : 0) < 0) {
        set_open_error(error, name);
        if (st)
            virStreamFree(st);
        return -1;
    }
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, pair) < 0) {
        g_set_error(error, VIRT_CHANNEL_ERROR, VIRT_CHANNEL_ERROR_FAILED,
                    "cannot create a socket pair: %s", g_strerror(errno));
        virStreamAbort(st);
        virStreamFree(st);
        return -1;
    }
    b = g_new0(Bridge, 1);
    b->refs = 1; /* the caller's, until virt_channel_close */
    g_mutex_init(&b->lock);
    b->st = st;
    b->fd = pair[1];
    b->watch = -1;
    b->gate_timer = -1;
    b->to_fd = g_byte_array_new();
    b->to_st = g_byte_array_new();
    g_mutex_lock(&b->lock);
    if (!bridge_watch(b)) {
        g_set_error(error, VIRT_CHANNEL_ERROR, VIRT_CHANNEL_ERROR_FAILED,
                    "cannot watch channel %s: %s (is libvirt's event loop running?)", name,
                    virt_last_error());
        bridge_shutdown(b, FALSE);
        g_mutex_unlock(&b->lock);
        bridge_unref(b);
        close(pair[0]);
        return -1;
    }
    g_mutex_unlock(&b->lock);
    *channel = (VirtChannel *)b;
    return pair[0];
}

void
virt_channel_close(VirtChannel *channel)
{
    Bridge *b = (Bridge *)channel;

    if (!b)
        return;
    /* Ends the stream here and now, not later in the event thread: the
     * process may be about to exit, and libvirtd should see an orderly
     * abort rather than a client that vanished with a stream open. */
    g_mutex_lock(&b->lock);
    bridge_shutdown(b, FALSE);
    g_mutex_unlock(&b->lock);
    bridge_unref(b);
}

gboolean
virt_connection_is_local(virConnectPtr conn)
{
    g_autofree char *uri = virConnectGetURI(conn);
    const char *rest, *scheme_end;

    if (!uri)
        return FALSE;
    scheme_end = strstr(uri, "://");
    if (!scheme_end)
        return FALSE;
    /* "qemu+ssh://", "qemu+tcp://"...: remote transports; "+unix" is local */
    if (memchr(uri, '+', (gsize)(scheme_end - uri)) && !strstr(uri, "+unix://"))
        return FALSE;
    rest = scheme_end + 3;
    return *rest == '/' || *rest == '\0'; /* no host part */
}

/* The state attribute of @dom's virtio channel @name, from its live XML. */
static VirtChannelState
state_from_xml(const char *xml, const char *name)
{
    VirtChannelState state = VIRT_CHANNEL_STATE_UNKNOWN;
    xmlDocPtr doc = xmlReadMemory(xml, (int)strlen(xml), "domain.xml", NULL,
                                  XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    xmlXPathContextPtr ctx = doc ? xmlXPathNewContext(doc) : NULL;
    xmlXPathObjectPtr obj = NULL;

    if (ctx) {
        /* the name comes from our own constant, never from the guest */
        g_autofree char *expr = g_strdup_printf(
            "/domain/devices/channel/target[@type='virtio' and @name='%s']", name);

        obj = xmlXPathEvalExpression((const xmlChar *)expr, ctx);
    }
    if (obj && obj->type == XPATH_NODESET) {
        if (xmlXPathNodeSetIsEmpty(obj->nodesetval)) {
            state = VIRT_CHANNEL_STATE_ABSENT;
        } else {
            xmlChar *attr = xmlGetProp(obj->nodesetval->nodeTab[0], (const xmlChar *)"state");

            if (attr && strcmp((const char *)attr, "disconnected") == 0)
                state = VIRT_CHANNEL_STATE_DISCONNECTED;
            else if (attr && strcmp((const char *)attr, "connected") == 0)
                state = VIRT_CHANNEL_STATE_CONNECTED;
            xmlFree(attr);
        }
    }
    xmlXPathFreeObject(obj);
    xmlXPathFreeContext(ctx);
    xmlFreeDoc(doc);
    return state;
}

VirtChannelState
virt_channel_state_in_xml(const char *xml, const char *name)
{
    return xml ? state_from_xml(xml, name) : VIRT_CHANNEL_STATE_UNKNOWN;
}

VirtChannelState
virt_channel_state(virDomainPtr dom, const char *name)
{
    char *xml = virDomainGetXMLDesc(dom, 0);
    VirtChannelState state;

    if (!xml) {
        virResetLastError();
        return VIRT_CHANNEL_STATE_UNKNOWN;
    }
    state = state_from_xml(xml, name);
    free(xml);
    return state;
}
