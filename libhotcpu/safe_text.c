/* safe_text.c: escaping control characters, forcing UTF-8, capping length. */
#include "safe_text.h"

#include <string.h>

#define ELLIPSIS "..."

static gboolean
is_format_control(gunichar c)
{
    return c == 0x2028 || c == 0x2029 || c == 0x200E || c == 0x200F || (c >= 0x202A && c <= 0x202E)
           || (c >= 0x2066 && c <= 0x2069);
}

/* Appends the printable form of @c to @out. */
static void
append_char(GString *out, gunichar c)
{
    if (c == '\n')
        g_string_append(out, "\\n");
    else if (c == '\r')
        g_string_append(out, "\\r");
    else if (c == '\t')
        g_string_append(out, "\\t");
    else if (c < 0x20 || c == 0x7F)
        g_string_append_printf(out, "\\x%02x", (guint)c);
    else if ((c >= 0x80 && c <= 0x9F) || is_format_control(c))
        g_string_append_printf(out, "\\u{%04x}", (guint)c);
    else
        g_string_append_unichar(out, c);
}

/* The next character of [@p, @end) in printable form appended to @out;
 * returns where the character after it starts. */
static const char *
append_next(GString *out, const char *p, const char *end)
{
    gunichar c;

    if (*p == '\0') { /* a NUL inside @len: GLib reports it as invalid */
        g_string_append(out, "\\x00");
        return p + 1;
    }
    c = g_utf8_get_char_validated(p, end - p);
    if (c == (gunichar)-1 || c == (gunichar)-2) {
        g_string_append_unichar(out, 0xFFFD);
        return p + 1;
    }
    append_char(out, c);
    return g_utf8_next_char(p);
}

char *
safe_text(const char *text, gssize len, gsize max)
{
    GString *out = g_string_new(NULL);
    const char *p = text != NULL ? text : "";
    const char *end = p + (len < 0 || text == NULL ? strlen(p) : (gsize)len);
    gsize cut = 0; /* the last boundary that leaves room for the ellipsis */

    if (max != 0 && max < 16)
        max = 16;
    while (p < end) {
        p = append_next(out, p, end);
        if (max == 0)
            continue;
        if (out->len <= max - strlen(ELLIPSIS))
            cut = out->len;
        if (out->len > max)
            break;
    }
    if (max != 0 && out->len > max) {
        g_string_truncate(out, cut);
        g_string_append(out, ELLIPSIS);
    }
    return g_string_free(out, FALSE);
}
