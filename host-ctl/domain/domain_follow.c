/* domain_follow.c: follow a domain through stops, starts and libvirtd
 * restarts. */
#include "domain_follow.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include "cancel.h"
#include "ctl_util.h"

/* How often a lost connection is tried again. */
#define FOLLOW_RECONNECT_MS 2000
/* How long a wait for the domain to start sleeps between looks when no
 * lifecycle event comes (a driver without events). */
#define FOLLOW_LOOK_MS 5000

struct DomainFollow {
    CtlContext *ctx;
    char *name;
    char uuid[VIR_UUID_STRING_BUFLEN];
    virConnectPtr conn;
    virDomainPtr dom;
    int callback;     /* lifecycle event callback id, -1 */
    int wake[2];      /* written by the lifecycle callback (libvirt's event thread) */
    guint generation; /* bumped by every reconnect */
    gint starts;      /* bumped by every start seen (event thread: atomic) */
    Guest *guest;
    guint guest_epoch;
    char *said; /* the last note */
};

static int
on_lifecycle(virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque)
{
    DomainFollow *f = opaque;
    const char byte = 1;

    /* A new boot: a new channel path, maybe other agents (the Guest is
     * made again), a topology to show again. */
    if (event == VIR_DOMAIN_EVENT_STARTED)
        g_atomic_int_inc(&f->starts);
    if (write(f->wake[1], &byte, 1) < 0) {
        /* full pipe: already awake */
    }
    return 0;
}

static void
watch_lifecycle(DomainFollow *f)
{
    f->callback
        = virConnectDomainEventRegisterAny(f->conn, f->dom, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                           VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle), f, NULL);
    if (f->callback < 0)
        virResetLastError(); /* no events: the waits look every few seconds */
}

static void
drop_connection(DomainFollow *f)
{
    if (f->callback >= 0 && f->conn)
        virConnectDomainEventDeregisterAny(f->conn, f->callback);
    f->callback = -1;
    if (f->dom)
        virDomainFree(f->dom);
    if (f->conn)
        virConnectClose(f->conn);
    f->dom = NULL;
    f->conn = NULL;
    virResetLastError();
}

DomainFollow *
domain_follow_new(CtlContext *ctx, const char *name, int *exit_code, GError **error)
{
    g_autoptr(DomainFollow) f = g_new0(DomainFollow, 1);

    f->ctx = ctx;
    f->callback = -1;
    f->wake[0] = f->wake[1] = -1;
    if (pipe2(f->wake, O_CLOEXEC | O_NONBLOCK) < 0) {
        *exit_code = CTL_EXIT_HYPERVISOR;
        g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno), "cannot make a pipe: %s",
                    g_strerror(errno));
        return NULL;
    }
    if (!(f->dom = ctl_open_domain(ctx, name, FALSE, &f->conn, exit_code, error)))
        return NULL;
    f->name = g_strdup(virDomainGetName(f->dom));
    virDomainGetUUIDString(f->dom, f->uuid);
    watch_lifecycle(f);
    return g_steal_pointer(&f);
}

void
domain_follow_free(DomainFollow *f)
{
    if (!f)
        return;
    guest_free(f->guest);
    drop_connection(f);
    for (int i = 0; i < 2; i++)
        if (f->wake[i] >= 0)
            close(f->wake[i]);
    g_free(f->name);
    g_free(f->said);
    g_free(f);
}

const char *
domain_follow_name(const DomainFollow *f)
{
    return f->name;
}

virDomainPtr
domain_follow_domain(const DomainFollow *f)
{
    return f->dom;
}

virConnectPtr
domain_follow_connection(const DomainFollow *f)
{
    return f->conn;
}

void
domain_follow_guest_failed(DomainFollow *f)
{
    g_clear_pointer(&f->guest, guest_free);
}

guint
domain_follow_epoch(const DomainFollow *f)
{
    return f->generation + (guint)g_atomic_int_get(&((DomainFollow *)f)->starts);
}

Guest *
domain_follow_guest(DomainFollow *f, gboolean patient)
{
    g_autoptr(DomainInfo) info = NULL;

    if (f->guest && f->guest_epoch == domain_follow_epoch(f))
        return f->guest;
    g_clear_pointer(&f->guest, guest_free);
    if (!(info = ctl_domain_info(f->dom, NULL, NULL))) {
        virResetLastError();
        return NULL;
    }
    f->guest = ctl_guest_new(f->ctx, f->conn, f->dom, info);
    guest_set_patient(f->guest, patient);
    f->guest_epoch = domain_follow_epoch(f);
    return f->guest;
}

void
domain_follow_note(DomainFollow *f, const char *text)
{
    g_autoptr(GDateTime) now = g_date_time_new_now_local();
    g_autofree char *stamp = g_date_time_format(now, "%H:%M:%S");
    g_autofree char *iso = g_date_time_format_iso8601(now);
    JsonObject *obj;

    if (g_strcmp0(f->said, text) == 0)
        return;
    g_free(f->said);
    f->said = g_strdup(text);
    output_text(f->ctx->out, "%s %s\n", stamp, text);
    obj = json_object_new();
    json_object_set_string_member(obj, "time", iso);
    json_object_set_string_member(obj, "domain", f->name);
    json_object_set_string_member(obj, "note", text);
    output_result(f->ctx->out, obj);
}

gboolean
domain_follow_sleep(DomainFollow *f, guint ms)
{
    struct pollfd pfd[2]
        = { { .fd = f->wake[0], .events = POLLIN }, { .fd = cancel_fd(), .events = POLLIN } };
    char buf[64];

    if (cancel_requested())
        return FALSE;
    if (poll(pfd, cancel_fd() >= 0 ? 2 : 1, (int)ms) > 0)
        while (read(f->wake[0], buf, sizeof(buf)) > 0)
            ;
    return !cancel_requested();
}

/* A new connection after libvirtd restarted; FALSE when not yet. */
static gboolean
reconnect(DomainFollow *f)
{
    g_autoptr(GError) error = NULL;
    int rc = 0;

    drop_connection(f);
    if (!(f->dom = ctl_open_domain(f->ctx, f->uuid, FALSE, &f->conn, &rc, &error)))
        return FALSE;
    f->generation++;
    watch_lifecycle(f);
    return TRUE;
}

gboolean
domain_follow_wait_running(DomainFollow *f)
{
    g_autofree char *stopped = g_strdup_printf("domain '%s' is not running; waiting for it to "
                                               "start",
                                               f->name);
    g_autofree char *lost = g_strdup_printf("the connection to libvirtd was lost; reconnecting "
                                            "(domain '%s')",
                                            f->name);
    gboolean waited = FALSE;

    while (!cancel_requested()) {
        if (!f->conn || virConnectIsAlive(f->conn) != 1) {
            domain_follow_note(f, lost);
            waited = TRUE;
            if (!reconnect(f) && !domain_follow_sleep(f, FOLLOW_RECONNECT_MS))
                return FALSE;
            continue;
        }
        if (virDomainIsActive(f->dom) == 1) {
            if (waited) {
                g_autofree char *runs = g_strdup_printf("domain '%s' runs", f->name);
                domain_follow_note(f, runs);
                /* a start, whether or not its event came (drivers without) */
                g_atomic_int_inc(&f->starts);
            }
            return TRUE;
        }
        virResetLastError();
        domain_follow_note(f, stopped);
        waited = TRUE;
        if (!domain_follow_sleep(f, FOLLOW_LOOK_MS))
            return FALSE;
    }
    return FALSE;
}
