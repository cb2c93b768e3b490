/* virt_channel.h: a domain's virtio channel through libvirt, as a file
 * descriptor.
 *
 * virDomainOpenChannel connects a virStream to the channel named by its
 * target name, over whatever the connection is (qemu+ssh, qemu+tls, ...).
 * The stream is bridged to one end of a socketpair inside libvirt's event
 * loop (virt_events.h), so the caller reads and writes an ordinary socket:
 * the agent client needs no second code path.
 */
#pragma once

#include <glib.h>
#include <libvirt/libvirt.h>

typedef enum {
    VIRT_CHANNEL_ERROR_UNSUPPORTED, /* the driver has no virDomainOpenChannel */
    VIRT_CHANNEL_ERROR_BUSY,        /* another client holds the channel */
    VIRT_CHANNEL_ERROR_FAILED,      /* anything else (no such channel, ...) */
} VirtChannelError;

#define VIRT_CHANNEL_ERROR (virt_channel_error_quark())
GQuark virt_channel_error_quark(void);

typedef struct VirtChannel VirtChannel;

/* Opens channel @name of @dom.  Needs virt_events_start() before the
 * connection was opened, and a read-write connection.  With @force, a
 * stream another client holds is ended (VIR_DOMAIN_CHANNEL_FORCE).  Returns
 * the fd and
 * sets *channel, or returns -1 with @error.  When done, call
 * virt_channel_close(*channel), then close the fd. */
int virt_channel_open(virDomainPtr dom, const char *name, gboolean force, VirtChannel **channel,
                      GError **error);

/* Ends the stream at once (the peer of the fd sees EOF); accepts NULL. */
void virt_channel_close(VirtChannel *channel);

/* TRUE when @conn reaches a libvirtd on this machine, in our mount
 * namespace (no host part, no remote transport): only then do the socket
 * paths in its domain XML name files we can open. */
gboolean virt_connection_is_local(virConnectPtr conn);

typedef enum {
    VIRT_CHANNEL_STATE_UNKNOWN,      /* no XML, or no state attribute (test driver) */
    VIRT_CHANNEL_STATE_ABSENT,       /* the domain has no such channel */
    VIRT_CHANNEL_STATE_DISCONNECTED, /* nothing in the guest holds its port */
    VIRT_CHANNEL_STATE_CONNECTED,    /* a guest process holds its port */
} VirtChannelState;

/* What @dom's live XML says of its virtio channel with target name @name:
 * libvirt's QEMU driver tracks whether the guest side of the port is open
 * (<target ... state='connected'/>), so a disconnected port means no agent
 * runs there, without waiting for an answer that cannot come. */
VirtChannelState virt_channel_state(virDomainPtr dom, const char *name);
/* The same from @xml, a live XML the caller has already read. */
VirtChannelState virt_channel_state_in_xml(const char *xml, const char *name);
