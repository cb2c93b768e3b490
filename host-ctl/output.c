/* output.c: text vs --json output. */
#include "output.h"

#include <stdio.h>
#include <string.h>

#include "safe_text.h"

struct Output {
    gboolean json;
    gboolean printed; /* the one JSON object is out */
    gboolean stream;  /* JSON lines: one object per result, for watch/autoscale */
    GPtrArray *warnings;
};

Output *
output_new(gboolean json)
{
    Output *out = g_new0(Output, 1);
    out->json = json;
    out->warnings = g_ptr_array_new_with_free_func(g_free);
    return out;
}

void
output_free(Output *out)
{
    if (!out)
        return;
    g_ptr_array_unref(out->warnings);
    g_free(out);
}

gboolean
output_is_json(const Output *out)
{
    return out->json;
}

/* A message as one printable line.  Guest text is escaped where it enters
 * (agent_client.c), but a message may also quote what a parser found in a
 * guest's reply (a CPU list): escape again here, where it leaves, so that no
 * control character or invalid UTF-8 reaches a terminal or the JSON. */
static char *
printable_vprintf(const char *fmt, va_list ap)
{
    g_autofree char *raw = g_strdup_vprintf(fmt, ap);

    return safe_text(raw, -1, 0);
}

void
output_warning(Output *out, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *msg = NULL;

    va_start(ap, fmt);
    msg = printable_vprintf(fmt, ap);
    va_end(ap);
    fprintf(stderr, "warning: %s\n", msg);
    g_ptr_array_add(out->warnings, g_steal_pointer(&msg));
}

void
output_text(Output *out, const char *fmt, ...)
{
    va_list ap;

    if (out->json)
        return;
    va_start(ap, fmt);
    vfprintf(stdout, fmt, ap);
    va_end(ap);
    if (out->stream)
        fflush(stdout);
}

static void
print_object(Output *out, JsonObject *obj)
{
    g_autoptr(JsonNode) node = json_node_new(JSON_NODE_OBJECT);
    g_autoptr(JsonGenerator) gen = json_generator_new();
    g_autofree char *text = NULL;

    if (out->printed && !out->stream) {
        json_object_unref(obj);
        return;
    }
    if (out->warnings->len > 0 && !json_object_has_member(obj, "warnings")) {
        JsonArray *arr = json_array_new();
        for (guint i = 0; i < out->warnings->len; i++)
            json_array_add_string_element(arr, out->warnings->pdata[i]);
        json_object_set_array_member(obj, "warnings", arr);
    }
    json_node_take_object(node, obj);
    json_generator_set_root(gen, node);
    json_generator_set_pretty(gen, FALSE);
    text = json_generator_to_data(gen, NULL);
    printf("%s\n", text);
    fflush(stdout);
    out->printed = TRUE;
    /* the next line carries its own warnings */
    g_ptr_array_set_size(out->warnings, 0);
}

void
output_set_stream(Output *out, gboolean stream)
{
    out->stream = stream;
}

void
output_result(Output *out, JsonObject *obj)
{
    if (!out->json) {
        json_object_unref(obj);
        return;
    }
    print_object(out, obj);
}

int
output_fail_error(Output *out, int exit_code, JsonObject *extra, const GError *error)
{
    return output_fail(out, exit_code, extra, "%s", error->message);
}

int
output_fail(Output *out, int exit_code, JsonObject *extra, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *msg = NULL;

    va_start(ap, fmt);
    msg = printable_vprintf(fmt, ap);
    va_end(ap);
    if (!out->json) {
        fprintf(stderr, "error: %s\n", msg);
        if (extra)
            json_object_unref(extra);
        return exit_code;
    }
    if (!extra)
        extra = json_object_new();
    json_object_set_string_member(extra, "error", msg);
    json_object_set_int_member(extra, "exit", exit_code);
    print_object(out, extra);
    return exit_code;
}

void
output_info(Output *out, const char *key, const char *text)
{
    if (out->json) {
        JsonObject *obj = json_object_new();
        json_object_set_string_member(obj, key, text);
        json_object_set_int_member(obj, "exit", 0);
        output_result(out, obj);
    } else if (strcmp(key, "version") == 0) {
        printf("hotcpu-ctl %s\n", text);
    } else {
        fputs(text, stdout);
    }
}
