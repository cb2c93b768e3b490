/* cancel.c: the self-pipe behind cancel.h. */
#include "cancel.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t received;
static volatile sig_atomic_t pending;
static volatile sig_atomic_t holding;  /* cancel_hold() */
static volatile sig_atomic_t held_one; /* a signal came while held */
static int pipe_fds[2] = { -1, -1 };

static void
raise_pending(void)
{
    const char byte = 1;

    pending = 1;
    /* Nonblocking: a full pipe is as readable as it gets. */
    if (write(pipe_fds[1], &byte, 1) < 0) {
    }
}

static void
on_signal(int sig)
{
    int saved = errno;

    if (received == 0)
        received = sig;
    if (holding && !held_one)
        held_one = 1;
    else
        raise_pending();
    errno = saved;
}

void
cancel_hold(void)
{
    held_one = 0;
    holding = 1;
}

void
cancel_release(void)
{
    holding = 0;
    if (held_one && pipe_fds[1] >= 0)
        raise_pending();
    held_one = 0;
}

void
cancel_watch_signals(void)
{
    static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
    struct sigaction sa;

    if (pipe_fds[0] >= 0 || pipe2(pipe_fds, O_CLOEXEC | O_NONBLOCK) < 0)
        return;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    /* SA_RESTART: libvirt's calls go on; our own waits poll the pipe. */
    sa.sa_flags = SA_RESTART;
    for (guint i = 0; i < G_N_ELEMENTS(sigs); i++)
        sigaction(sigs[i], &sa, NULL);
}

int
cancel_signal(void)
{
    return received;
}

gboolean
cancel_requested(void)
{
    return pending != 0;
}

void
cancel_acknowledge(void)
{
    char buf[64];

    pending = 0;
    while (pipe_fds[0] >= 0 && read(pipe_fds[0], buf, sizeof(buf)) > 0)
        ;
}

int
cancel_fd(void)
{
    return pipe_fds[0];
}

gboolean
cancel_sleep_ms(guint ms)
{
    struct pollfd pfd = { .fd = pipe_fds[0], .events = POLLIN };

    if (pending)
        return FALSE;
    while (poll(&pfd, pipe_fds[0] >= 0 ? 1 : 0, (int)MIN(ms, G_MAXINT)) < 0 && errno == EINTR)
        if (pending)
            return FALSE;
    return pending == 0;
}
