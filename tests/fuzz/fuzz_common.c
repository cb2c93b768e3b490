/* fuzz_common.c: quiet logs, and the host-side check of agent output. */
#include "fuzz_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol.h"

static GLogWriterOutput
quiet_writer(GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer user_data)
{
    if (level & (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_ERROR)) {
        g_log_writer_standard_streams(level, fields, n_fields, user_data);
        abort();
    }
    return G_LOG_WRITER_HANDLED;
}

void
fuzz_quiet_logs(void)
{
    g_log_set_writer_func(quiet_writer, NULL, NULL);
}

void
fuzz_check_agent_output(const char *text, gsize len)
{
    const char *p = text;
    const char *end = text + len;

    while (p < end) {
        const char *nl = memchr(p, '\n', (gsize)(end - p));
        g_autoptr(GError) error = NULL;
        g_autoptr(ProtoMessage) msg = NULL;

        if (nl == NULL) {
            fprintf(stderr, "agent output without a final newline: %.*s\n", (int)(end - p), p);
            abort();
        }
        msg = proto_parse_message(p, (gsize)(nl - p), &error);
        if (msg == NULL) {
            fprintf(stderr, "the host's parser rejects the agent's line %.*s: %s\n",
                    (int)MIN(nl - p, 400), p, error->message);
            abort();
        }
        p = nl + 1;
    }
}
