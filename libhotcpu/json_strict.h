/* json_strict.h: an RFC 8259 syntax check, run before json-glib sees a text.
 *
 * json-glib 1.6 is lenient where a protocol must not be: it accepts
 * comments, single-quoted strings, hex numbers and trailing data ("{} {}"),
 * silently wraps integers beyond 64 bits, turns 1e999 into inf (which its
 * generator then prints as invalid JSON), and recurses once per nesting
 * level.  json_strict_check() walks the text iteratively, so deep nesting
 * cannot exhaust the stack, and bounds the depth.  It neither allocates a
 * tree nor logs.
 */
#pragma once

#include <glib.h>

/* The deepest @max_depth json_strict_check() takes. */
#define JSON_STRICT_DEPTH_LIMIT 64

typedef struct {
    /* In: a member name of the top-level object to watch, or NULL. */
    const char *watch_key;
    /* An integer beyond 64 bits somewhere: valid JSON, but json-glib wraps
     * it, so no integer of the tree may be trusted as is. */
    gboolean huge_int;
    /* Such an integer is the value of the top-level member @watch_key. */
    gboolean huge_int_at_key;
    /* What the text parses to, counted before a parser builds it: objects
     * and arrays, and every value (members and elements, containers
     * included).  A tree's weight in memory follows from these
     * (proto_parsed_weight), not from the text's length: "{}," is 3 bytes
     * and a hash table parsed. */
    gsize containers;
    gsize values;
} JsonStrictReport;

/* TRUE when @text (@len bytes, need not be NUL-terminated) is one JSON value
 * with at most @max_depth (<= JSON_STRICT_DEPTH_LIMIT) levels of nesting and
 * every number a finite double, and every \u escape a character other
 * than NUL (a surrogate only as half of a pair, so the decoded text is
 * valid UTF-8).  Integers beyond 64 bits fail too, unless @report is given:
 * then they pass and are reported.  The text is expected to be valid UTF-8
 * already.  On failure sets @error
 * (G_IO_ERROR_INVALID_DATA) with a message naming the byte offset. */
gboolean json_strict_check(const char *text, gsize len, guint max_depth, JsonStrictReport *report,
                           GError **error);
