/* uevent.h: the kernel's device events, from netlink or a test socket.
 *
 * The kernel multicasts each uevent on NETLINK_KOBJECT_UEVENT group 1 as one
 * datagram "ACTION@DEVPATH\0KEY=VALUE\0KEY=VALUE\0...".  The monitor reads
 * them, parses them with uevent_parse() and passes those of one subsystem to
 * a callback.  For tests, uevent_monitor_new_socket() reads the very same
 * datagrams from a unix socket instead, through the same code.
 */
#pragma once

#include <glib.h>

/* Larger datagrams are not kernel uevents (its buffer is 2 KiB). */
#define UEVENT_MAX_SIZE 8192

typedef struct {
    char *action;    /* "add", "remove", "online", "offline", "bind", ... */
    char *devpath;   /* "/devices/system/cpu/cpu3" */
    char *subsystem; /* "cpu"; NULL when the message has none */
    guint64 seqnum;  /* 0 when absent */
} Uevent;

/* Parses one datagram.  Fails (G_IO_ERROR_INVALID_DATA, with the reason) on
 * anything that is not a kernel uevent: no '@' header, a header that does
 * not match the ACTION/DEVPATH keys, an item without '=', a udev ("libudev")
 * message, more than UEVENT_MAX_SIZE bytes. */
Uevent *uevent_parse(const char *buf, gsize len, GError **error);
void uevent_free(Uevent *event);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Uevent, uevent_free)

/* The CPU number of a "/devices/system/cpu/cpuN" devpath, or -1. */
gint uevent_cpu_id(const Uevent *event);

/* @event is NULL when events were lost (the socket buffer overran): the
 * receiver should re-read whatever state it follows. */
typedef void (*UeventFunc)(const Uevent *event, gpointer user_data);

typedef struct UeventMonitor UeventMonitor;

/* Only events whose SUBSYSTEM equals @subsystem reach @func. */
UeventMonitor *uevent_monitor_new_netlink(const char *subsystem, UeventFunc func,
                                          gpointer user_data, GError **error);
/* Binds a unix datagram socket at @path (replacing a stale socket there). */
UeventMonitor *uevent_monitor_new_socket(const char *path, const char *subsystem, UeventFunc func,
                                         gpointer user_data, GError **error);
/* Accepts NULL.  Removes a socket file it created. */
void uevent_monitor_free(UeventMonitor *monitor);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(UeventMonitor, uevent_monitor_free)
