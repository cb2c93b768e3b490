/* virt_events.h: libvirt's event loop, run in a thread of its own.
 *
 * Streams (the agent channel through virDomainOpenChannel), keepalive on the
 * connection and domain events all need a registered event loop; the host
 * programs are otherwise synchronous, so one background thread runs
 * libvirt's default implementation for the life of the process.
 */
#pragma once

#include <glib.h>

/* Registers libvirt's default event loop and starts its thread, once per
 * process.  Call before the first virConnectOpen: a connection opened
 * earlier does not get events. */
void virt_events_start(void);

/* TRUE once virt_events_start() ran. */
gboolean virt_events_running(void);
