/* safe_text.h: text from a peer (the guest and its agent) made fit to print
 * on a terminal, to log and to put into JSON.
 *
 * A guest controls the bytes of an agent's error description, of a key it
 * sends, of a CPU list it reports.  Printed raw, ANSI escapes repaint the
 * administrator's terminal, a carriage return hides what came before it,
 * and a newline forges a log line; invalid UTF-8 makes the JSON output
 * unparseable.  Every such text goes through safe_text() before it becomes
 * part of a message.
 */
#pragma once

#include <glib.h>

/* The cap for one piece of guest text in a message. */
#define SAFE_TEXT_GUEST_MAX 512

/* A copy of @len bytes of @text (-1: up to its NUL; NULL: "") that:
 * - is valid UTF-8: each byte that is not part of a valid character becomes
 *   U+FFFD;
 * - holds no control character: C0 (including \n, \r, \t and NUL), DEL, C1,
 *   the line and paragraph separators U+2028/U+2029 and the bidirectional
 *   controls (U+200E, U+200F, U+202A..U+202E, U+2066..U+2069) are written as
 *   visible escapes: \n, \r, \t, \xHH (below U+0080), \u{HHHH} (above);
 * - is at most @max bytes (0: no cap), cut between two characters or
 *   escapes and then ending in "...".
 * A @max below 16 (but not 0) counts as 16.  g_free. */
char *safe_text(const char *text, gssize len, gsize max);
