/* agent_log.h: where hotcpu-agent's messages go.
 *
 * Every message goes to stderr, or straight to the journal when stderr is
 * journald's stream (under systemd), never to stdout; debug and info only
 * when verbose (or G_MESSAGES_DEBUG is set).  glib's default writer does
 * this only from 2.68/2.72 on (g_log_writer_default_set_use_stderr,
 * g_log_set_debug_enabled); our own writer does it on every glib the agent
 * supports, the same way.
 */
#pragma once

#include <glib.h>

/* Installs the writer; call once, first thing in main(). */
void agent_log_init(void);
/* Shows or hides debug and info messages from now on. */
void agent_log_set_verbose(gboolean verbose);
