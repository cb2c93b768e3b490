/* fuzz_codec.c: the wire codec on arbitrary bytes.
 *
 * - proto_parse_request: whatever it decides, the reply the agent would
 *   build from it (a return echoing the id, or the error with the id it
 *   handed back) must parse with the host's parser;
 * - proto_parse_message (the host side) must not crash;
 * - json_strict_check must never pass what json-glib cannot parse;
 * - the line reader, fed the input in pieces, must hand out lines without
 *   '\n' or 0xFF and never longer than its limit.
 */
#include <string.h>

#include <json-glib/json-glib.h>

#include "fuzz_common.h"
#include "json_strict.h"
#include "protocol.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_quiet_logs();
    return 0;
}

static void
check_request(const char *text, gsize len)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) id = NULL;
    g_autoptr(ProtoRequest) req = proto_parse_request(text, len, &id, &error);
    g_autofree char *reply = NULL;

    if (req != NULL)
        reply = proto_format_return(NULL, req->id);
    else
        reply = proto_format_error((ProtoErrorClass)error->code, error->message, id);
    fuzz_check_agent_output(reply, strlen(reply));
}

static void
check_strict(const char *text, gsize len)
{
    JsonStrictReport report = { .watch_key = "id" };
    g_autoptr(JsonParser) parser = NULL;

    if (len > PROTO_MAX_LINE || !g_utf8_validate_len(text, len, NULL))
        return;
    if (!json_strict_check(text, len, PROTO_MAX_DEPTH, &report, NULL))
        return;
    parser = json_parser_new();
    if (!json_parser_load_from_data(parser, text, (gssize)len, NULL))
        abort(); /* the checker let through what json-glib refuses */
}

static void
check_reader(const guint8 *data, gsize size)
{
    g_autoptr(ProtoLineReader) reader = proto_line_reader_new(64);
    gsize step = size > 0 ? data[0] % 17 + 1 : 1;

    for (gsize off = 0; off < size; off += step) {
        char *line = NULL;
        gsize len = 0;

        proto_line_reader_feed(reader, data + off, MIN(step, size - off));
        for (;;) {
            ProtoLineStatus st = proto_line_reader_next(reader, &line, &len);

            if (st == PROTO_LINE_NONE)
                break;
            if (st == PROTO_LINE_OK) {
                if (len == 0 || len > 64 || memchr(line, '\n', len) != NULL
                    || memchr(line, 0xFF, len) != NULL || line[len] != '\0')
                    abort();
                g_free(line);
            }
        }
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;

    check_request(text, size);
    proto_message_free(proto_parse_message(text, size, NULL));
    check_strict(text, size);
    check_reader(data, size);
    return 0;
}
