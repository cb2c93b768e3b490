/* virt_events.c: libvirt's default event loop in a background thread. */
#include "virt_events.h"

#include <libvirt/libvirt.h>

static gsize started;
static gint running;

static gpointer
run_events(gpointer data)
{
    /* Never returns: the process ends with the thread blocked in poll(). */
    for (;;)
        if (virEventRunDefaultImpl() < 0)
            g_usleep(100 * 1000); /* a failing poll must not spin */
    return NULL;
}

void
virt_events_start(void)
{
    if (g_once_init_enter(&started)) {
        virEventRegisterDefaultImpl();
        g_thread_unref(g_thread_new("libvirt-events", run_events, NULL));
        g_atomic_int_set(&running, 1);
        g_once_init_leave(&started, 1);
    }
}

gboolean
virt_events_running(void)
{
    return g_atomic_int_get(&running) != 0;
}
