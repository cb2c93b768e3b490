/* agent_hint.h: the message for a guest agent that cannot be reached. */
#pragma once

#include <glib.h>

/* "the hotcpu agent of domain 'NAME' did not answer ...: check ..." naming
 * what to check; @socket_path NULL when the domain has no agent channel. */
char *agent_unreachable_message(const char *dom, const char *socket_path, const GError *error);
