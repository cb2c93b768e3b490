/* uevent.c: kernel uevents from NETLINK_KOBJECT_UEVENT (or a test socket). */
#include "uevent.h"

#include <errno.h>
#include <gio/gio.h>
#include <glib-unix.h>
#include <linux/netlink.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "cpulist.h"

#define DEVPATH_CPU_PREFIX "/devices/system/cpu/cpu"

struct UeventMonitor {
    int fd;
    gboolean netlink;
    char *socket_path; /* test socket to unlink, or NULL */
    char *subsystem;
    guint watch;
    UeventFunc func;
    gpointer user_data;
};

void
uevent_free(Uevent *event)
{
    if (event == NULL)
        return;
    g_free(event->action);
    g_free(event->devpath);
    g_free(event->subsystem);
    g_free(event);
}

static Uevent *
invalid(GError **error, const char *reason)
{
    g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "not a kernel uevent: %s", reason);
    return NULL;
}

Uevent *
uevent_parse(const char *buf, gsize len, GError **error)
{
    g_autoptr(Uevent) event = g_new0(Uevent, 1);
    g_autofree char *head_action = NULL;
    const char *head_devpath;
    const char *end = buf + len;
    const char *p;
    const char *at;
    gsize head_len;

    if (len == 0 || len > UEVENT_MAX_SIZE)
        return invalid(error, len == 0 ? "empty" : "too long");
    /* udevd re-sends events on group 2 with a binary "libudev" header. */
    if (len >= 8 && memcmp(buf, "libudev", 8) == 0)
        return invalid(error, "a udev message");

    head_len = strnlen(buf, len);
    at = memchr(buf, '@', head_len);
    if (at == NULL || at == buf || at + 1 == buf + head_len)
        return invalid(error, "no ACTION@DEVPATH header");
    head_action = g_strndup(buf, (gsize)(at - buf));
    head_devpath = at + 1;

    for (p = buf + head_len + 1; p < end; p += strnlen(p, (gsize)(end - p)) + 1) {
        gsize item_len = strnlen(p, (gsize)(end - p));
        const char *eq = memchr(p, '=', item_len);
        g_autofree char *key = NULL;
        g_autofree char *value = NULL;

        if (item_len == 0)
            continue;
        if (eq == NULL || eq == p)
            return invalid(error, "an item without KEY=");
        key = g_strndup(p, (gsize)(eq - p));
        value = g_strndup(eq + 1, item_len - (gsize)(eq - p) - 1);
        if (strcmp(key, "ACTION") == 0) {
            g_free(event->action);
            event->action = g_steal_pointer(&value);
        } else if (strcmp(key, "DEVPATH") == 0) {
            g_free(event->devpath);
            event->devpath = g_steal_pointer(&value);
        } else if (strcmp(key, "SUBSYSTEM") == 0) {
            g_free(event->subsystem);
            event->subsystem = g_steal_pointer(&value);
        } else if (strcmp(key, "SEQNUM") == 0) {
            guint64 seq = 0;

            if (!g_ascii_string_to_unsigned(value, 10, 0, G_MAXUINT64, &seq, NULL))
                return invalid(error, "SEQNUM is not a number");
            event->seqnum = seq;
        }
    }

    if (event->action == NULL || event->devpath == NULL)
        return invalid(error, "ACTION or DEVPATH missing");
    if (strcmp(event->action, head_action) != 0
        || strncmp(event->devpath, head_devpath, (gsize)(buf + head_len - head_devpath)) != 0
        || strlen(event->devpath) != (gsize)(buf + head_len - head_devpath))
        return invalid(error, "the header does not match ACTION and DEVPATH");
    return g_steal_pointer(&event);
}

gint
uevent_cpu_id(const Uevent *event)
{
    const char *digits;
    guint64 id = 0;

    if (event->devpath == NULL || !g_str_has_prefix(event->devpath, DEVPATH_CPU_PREFIX))
        return -1;
    digits = event->devpath + strlen(DEVPATH_CPU_PREFIX);
    /* g_ascii_string_to_unsigned rejects signs, spaces and trailing junk;
     * leading zeros ("cpu01") are not the kernel's names. */
    if (digits[0] == '0' && digits[1] != '\0')
        return -1;
    if (!g_ascii_string_to_unsigned(digits, 10, 0, CPULIST_MAX_CPUS - 1, &id, NULL))
        return -1;
    return (gint)id;
}

static gboolean
on_uevent_ready(int fd, GIOCondition condition, gpointer user_data)
{
    UeventMonitor *mon = user_data;

    /* Drain: a hot plug of several CPUs comes as a burst. */
    for (;;) {
        char buf[UEVENT_MAX_SIZE + 1];
        struct sockaddr_nl nl = { 0 };
        struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
        struct msghdr msg = {
            .msg_name = &nl,
            .msg_namelen = sizeof(nl),
            .msg_iov = &iov,
            .msg_iovlen = 1,
        };
        g_autoptr(GError) error = NULL;
        g_autoptr(Uevent) event = NULL;
        ssize_t n = recvmsg(fd, &msg, MSG_DONTWAIT);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == ENOBUFS) {
                /* The kernel dropped events for us: say so, the receiver
                 * re-reads the state. */
                mon->func(NULL, mon->user_data);
                continue;
            }
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                g_warning("Cannot read uevents: %s", g_strerror(errno));
            return G_SOURCE_CONTINUE;
        }
        if ((msg.msg_flags & MSG_TRUNC) || (gsize)n > UEVENT_MAX_SIZE) {
            g_debug("Ignoring an oversized uevent datagram.");
            continue;
        }
        /* Only the kernel (port id 0) sends real uevents; anyone else on the
         * multicast group is not to be believed. */
        if (mon->netlink && nl.nl_pid != 0) {
            g_debug("Ignoring a uevent from user space (port id %u).", nl.nl_pid);
            continue;
        }
        event = uevent_parse(buf, (gsize)n, &error);
        if (event == NULL) {
            g_debug("Ignoring a datagram: %s", error->message);
            continue;
        }
        if (event->subsystem == NULL || strcmp(event->subsystem, mon->subsystem) != 0)
            continue;
        g_debug("uevent %s %s (seqnum %" G_GUINT64_FORMAT ")", event->action, event->devpath,
                event->seqnum);
        mon->func(event, mon->user_data);
    }
}

static UeventMonitor *
monitor_new(int fd, gboolean netlink, const char *subsystem, UeventFunc func, gpointer user_data)
{
    UeventMonitor *mon = g_new0(UeventMonitor, 1);

    mon->fd = fd;
    mon->netlink = netlink;
    mon->subsystem = g_strdup(subsystem);
    mon->func = func;
    mon->user_data = user_data;
    mon->watch = g_unix_fd_add(fd, G_IO_IN, on_uevent_ready, mon);
    return mon;
}

UeventMonitor *
uevent_monitor_new_netlink(const char *subsystem, UeventFunc func, gpointer user_data,
                           GError **error)
{
    struct sockaddr_nl addr = {
        .nl_family = AF_NETLINK, .nl_groups = 1, /* the kernel's own uevents */
    };
    int size = 1024 * 1024;
    int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_KOBJECT_UEVENT);

    if (fd < 0) {
        int err = errno;
        g_set_error(error, G_IO_ERROR, g_io_error_from_errno(err),
                    "cannot open a uevent netlink socket: %s", g_strerror(err));
        return NULL;
    }
    /* A hot plug of many CPUs is a burst of events; a larger buffer avoids
     * ENOBUFS.  Best effort: FORCE needs CAP_NET_ADMIN. */
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
        (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
    if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
        int err = errno;
        close(fd);
        g_set_error(error, G_IO_ERROR, g_io_error_from_errno(err),
                    "cannot listen to kernel uevents: %s", g_strerror(err));
        return NULL;
    }
    return monitor_new(fd, TRUE, subsystem, func, user_data);
}

UeventMonitor *
uevent_monitor_new_socket(const char *path, const char *subsystem, UeventFunc func,
                          gpointer user_data, GError **error)
{
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    struct stat st;
    UeventMonitor *mon;
    int fd;

    if (strlen(path) >= sizeof(addr.sun_path)) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FILENAME_TOO_LONG, "socket path %s is too long",
                    path);
        return NULL;
    }
    strcpy(addr.sun_path, path);
    if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
        unlink(path);
    fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
        int err = errno;
        if (fd >= 0)
            close(fd);
        g_set_error(error, G_IO_ERROR, g_io_error_from_errno(err),
                    "cannot bind the uevent socket %s: %s", path, g_strerror(err));
        return NULL;
    }
    mon = monitor_new(fd, FALSE, subsystem, func, user_data);
    mon->socket_path = g_strdup(path);
    return mon;
}

void
uevent_monitor_free(UeventMonitor *monitor)
{
    if (monitor == NULL)
        return;
    if (monitor->watch != 0)
        g_source_remove(monitor->watch);
    close(monitor->fd);
    if (monitor->socket_path != NULL)
        unlink(monitor->socket_path);
    g_free(monitor->socket_path);
    g_free(monitor->subsystem);
    g_free(monitor);
}
