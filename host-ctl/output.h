/* output.h: what hotcpu-ctl prints, as text or (--json) as exactly one JSON
 * object on stdout per run.
 *
 * Text: results on stdout; "error: ..." and "warning: ..." on stderr, like
 * virsh.  JSON: the command's object on stdout; failures as
 * {"error": TEXT, "exit": N, ...}; warnings gathered under "warnings" in the
 * one object (and still printed on stderr).
 *
 * Warning and error texts are printed as one line: control characters in
 * them (also newlines) are escaped and invalid UTF-8 is replaced
 * (safe_text), whatever they quote.
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

typedef struct Output Output;

Output *output_new(gboolean json);
void output_free(Output *out);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Output, output_free)

gboolean output_is_json(const Output *out);

/* For the commands that run until interrupted (watch, autoscale): every
 * result is printed as it comes, one JSON object per line with --json, its
 * warnings with it; text is flushed line by line. */
void output_set_stream(Output *out, gboolean stream);

/* Prints "warning: TEXT" on stderr; remembered for the JSON object. */
void output_warning(Output *out, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/* Text mode only: prints on stdout (no-op with --json). */
void output_text(Output *out, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/* Prints the result object @obj (consumed; warnings added) on stdout in JSON
 * mode; nothing in text mode.  Call once. */
void output_result(Output *out, JsonObject *obj);

/* --help and --version: @text under @key ("help", "version") in JSON mode;
 * else the text as it is, or "hotcpu-ctl VERSION" for the version. */
void output_info(Output *out, const char *key, const char *text);

/* Reports a failure and returns @exit_code: "error: TEXT" on stderr, or in
 * JSON mode {"error": TEXT, "exit": N} merged with @extra (consumed, may be
 * NULL) on stdout. */
int output_fail(Output *out, int exit_code, JsonObject *extra, const char *fmt, ...)
    G_GNUC_PRINTF(4, 5);

/* Like output_fail with the message of @error. */
int output_fail_error(Output *out, int exit_code, JsonObject *extra, const GError *error);
