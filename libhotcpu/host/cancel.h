/* cancel.h: SIGINT, SIGTERM and SIGHUP end a host program's long waits.
 *
 * The handler only remembers the first signal and makes a pipe readable
 * (the self-pipe trick); every wait that can last (the agent client's poll,
 * the hook runner's, retry pauses) also polls cancel_fd() and gives up when
 * it is readable, so the program reaches its own cleanup: kill the running
 * hook, give the guest back its CPUs, write the record, exit 128+N.
 */
#pragma once

#include <glib.h>

/* Installs the handlers (once).  Before it, nothing is cancelled. */
void cancel_watch_signals(void);

/* The first signal received, 0 when none (stays set). */
int cancel_signal(void);

/* TRUE while a signal waits to be acted on: waits end.  After
 * cancel_acknowledge() the program's own cleanup may wait again, until a
 * further signal (a second Ctrl-C) ends those waits too. */
gboolean cancel_requested(void);
void cancel_acknowledge(void);

/* Between cancel_hold() and cancel_release() the first signal is only
 * remembered (cancel_signal()), so that a change in progress runs to its
 * end (autoscale on `systemctl stop`); it acts at cancel_release().  A
 * further signal while held acts at once: a second Ctrl-C still cuts
 * short. */
void cancel_hold(void);
void cancel_release(void);

/* Readable once a signal came; -1 before cancel_watch_signals(). */
int cancel_fd(void);

/* Sleeps @ms milliseconds, or less when a signal comes; FALSE then. */
gboolean cancel_sleep_ms(guint ms);
