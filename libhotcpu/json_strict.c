/* json_strict.c: an iterative RFC 8259 checker (see json_strict.h). */
#include "json_strict.h"

#include <errno.h>
#include <gio/gio.h>
#include <math.h>
#include <string.h>

typedef enum {
    ST_VALUE,          /* a value must come */
    ST_VALUE_OR_CLOSE, /* just after '[' */
    ST_KEY,            /* after ',' in an object */
    ST_KEY_OR_CLOSE,   /* just after '{' */
    ST_COLON,          /* after a key */
    ST_COMMA_OR_CLOSE, /* after a value inside a container */
    ST_DONE,           /* the top-level value is complete */
} CheckState;

typedef struct {
    const char *text;
    const char *p;
    const char *end;
    char stack[JSON_STRICT_DEPTH_LIMIT]; /* '{' or '[' per open container */
    guint depth;
    guint max_depth;
    CheckState state;
    gboolean at_watched_key; /* the value now checked is report->watch_key's */
    JsonStrictReport *report;
    GError **error;
} Checker;

static gboolean
syntax_fail(Checker *c, const char *what)
{
    g_set_error(c->error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                "invalid JSON at byte %" G_GSIZE_FORMAT ": %s", (gsize)(c->p - c->text), what);
    return FALSE;
}

/* The code unit of the four hex digits at @s, or -1. */
static gint
hex4(const char *s, const char *end)
{
    gint value = 0;

    if (end - s < 4)
        return -1;
    for (int i = 0; i < 4; i++) {
        gint digit = g_ascii_xdigit_value(s[i]);

        if (digit < 0)
            return -1;
        value = value * 16 + digit;
    }
    return value;
}

/* Appends the character of the (valid) escape whose letter is at @e. */
static void
append_escape(GString *out, const char *e)
{
    static const char from[] = "\"\\/bfnrt";
    static const char to[] = "\"\\/\b\f\n\r\t";
    gunichar ch;

    if (*e != 'u') {
        g_string_append_c(out, to[strchr(from, *e) - from]);
        return;
    }
    ch = (gunichar)hex4(e + 1, e + 5);
    if (ch >= 0xD800 && ch <= 0xDBFF)
        ch = 0x10000 + ((ch - 0xD800) << 10) + ((gunichar)hex4(e + 7, e + 11) - 0xDC00);
    g_string_append_unichar(out, ch);
}

/* One escape; *s is on the character after the backslash and is left on
 * the escape's last character.  A \u escape must decode to a character
 * other than NUL: a surrogate only as the first half of a pair.  Sets *why
 * on failure. */
static gboolean
check_escape(const char **s, const char *end, const char **why)
{
    gint unit, low;

    if (**s != 'u') {
        *why = "malformed escape in a string";
        return strchr("\"\\/bfnrt", **s) != NULL && **s != '\0';
    }
    unit = hex4(*s + 1, end);
    *why = "malformed \\u escape";
    if (unit < 0)
        return FALSE;
    *s += 4;
    *why = "\\u0000 in a string";
    if (unit == 0)
        return FALSE;
    *why = "a \\u escape of a lone surrogate";
    if (unit >= 0xDC00 && unit <= 0xDFFF)
        return FALSE;
    if (unit >= 0xD800 && unit <= 0xDBFF) {
        if (end - *s < 3 || (*s)[1] != '\\' || (*s)[2] != 'u')
            return FALSE;
        low = hex4(*s + 3, end);
        if (low < 0xDC00 || low > 0xDFFF)
            return FALSE;
        *s += 6;
    }
    return TRUE;
}

/* c->p is on the opening quote; leaves it after the closing one.  When
 * @decoded is given, appends the string's text (escapes decoded). */
static gboolean
check_string(Checker *c, GString *decoded)
{
    const char *s = c->p + 1;
    const char *why = "malformed string";

    for (; s < c->end; s++) {
        const char *escape;
        guchar ch = (guchar)*s;

        if (ch == '"') {
            c->p = s + 1;
            return TRUE;
        }
        if (ch < 0x20)
            break;
        if (ch != '\\') {
            if (decoded != NULL)
                g_string_append_c(decoded, (char)ch);
            continue;
        }
        escape = ++s;
        if (s >= c->end || !check_escape(&s, c->end, &why))
            break;
        if (decoded != NULL)
            append_escape(decoded, escape);
    }
    return syntax_fail(c, why);
}

/* Leaves *s after a run of digits; FALSE when there is none. */
static gboolean
skip_digits(const char **s, const char *end)
{
    if (*s >= end || !g_ascii_isdigit(**s))
        return FALSE;
    while (*s < end && g_ascii_isdigit(**s))
        (*s)++;
    return TRUE;
}

/* The grammar of a number: leaves *s after it and sets *is_float. */
static gboolean
scan_number(const char **s, const char *end, gboolean *is_float)
{
    if (*s < end && **s == '-')
        (*s)++;
    if (*s < end && **s == '0')
        (*s)++;
    else if (!skip_digits(s, end))
        return FALSE;
    if (*s < end && **s == '.') {
        *is_float = TRUE;
        (*s)++;
        if (!skip_digits(s, end))
            return FALSE;
    }
    if (*s < end && (**s == 'e' || **s == 'E')) {
        *is_float = TRUE;
        (*s)++;
        if (*s < end && (**s == '+' || **s == '-'))
            (*s)++;
        if (!skip_digits(s, end))
            return FALSE;
    }
    return TRUE;
}

/* c->p is on '-' or a digit; leaves it after the number.  Rejects numbers
 * no finite double can hold, and integers beyond 64 bits unless a report
 * is wanted (see json_strict.h). */
static gboolean
check_number(Checker *c)
{
    const char *s = c->p;
    gboolean is_float = FALSE;
    g_autofree char *token = NULL;

    if (!scan_number(&s, c->end, &is_float))
        return syntax_fail(c, "malformed number");
    token = g_strndup(c->p, (gsize)(s - c->p));
    errno = 0;
    if (is_float) {
        if (!isfinite(g_ascii_strtod(token, NULL)))
            return syntax_fail(c, "number out of range");
    } else {
        g_ascii_strtoll(token, NULL, 10);
        if (errno == ERANGE) {
            if (c->report == NULL)
                return syntax_fail(c, "number out of range");
            c->report->huge_int = TRUE;
            if (c->depth == 1 && c->at_watched_key)
                c->report->huge_int_at_key = TRUE;
        }
    }
    c->p = s;
    return TRUE;
}

static gboolean
check_literal(const char **p, const char *end)
{
    static const char *const literals[] = { "true", "false", "null" };

    for (guint i = 0; i < G_N_ELEMENTS(literals); i++) {
        gsize n = strlen(literals[i]);

        if ((gsize)(end - *p) >= n && memcmp(*p, literals[i], n) == 0) {
            *p += n;
            return TRUE;
        }
    }
    return FALSE;
}

static void
after_value(Checker *c)
{
    c->state = c->depth == 0 ? ST_DONE : ST_COMMA_OR_CLOSE;
}

static void
close_container(Checker *c)
{
    c->p++;
    c->depth--;
    after_value(c);
}

/* A member's name; notes whether it is the top-level key the report
 * watches. */
static gboolean
check_key(Checker *c)
{
    g_autoptr(GString) name = NULL;

    if (c->depth == 1 && c->report != NULL && c->report->watch_key != NULL)
        name = g_string_new(NULL);
    if (!check_string(c, name))
        return FALSE;
    c->at_watched_key = name != NULL && strcmp(name->str, c->report->watch_key) == 0;
    c->state = ST_COLON;
    return TRUE;
}

/* A value starts at c->p (holding @ch). */
static gboolean
check_value(Checker *c, char ch)
{
    if (c->report != NULL)
        c->report->values++;
    if (ch == '{' || ch == '[') {
        if (c->report != NULL)
            c->report->containers++;
        if (c->depth >= c->max_depth) {
            g_set_error(c->error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                        "JSON nested deeper than %u levels", c->max_depth);
            return FALSE;
        }
        c->stack[c->depth++] = ch;
        c->p++;
        c->state = ch == '{' ? ST_KEY_OR_CLOSE : ST_VALUE_OR_CLOSE;
        return TRUE;
    }
    if (ch == '"') {
        if (!check_string(c, NULL))
            return FALSE;
    } else if (ch == '-' || g_ascii_isdigit(ch)) {
        if (!check_number(c))
            return FALSE;
    } else if (!check_literal(&c->p, c->end)) {
        return syntax_fail(c, "expected a value");
    }
    after_value(c);
    return TRUE;
}

/* One token at c->p (holding @ch) in the current state. */
static gboolean
check_token(Checker *c, char ch)
{
    char open = c->depth > 0 ? c->stack[c->depth - 1] : '\0';

    switch (c->state) {
    case ST_DONE:
        return syntax_fail(c, "data after the end of the message");
    case ST_COLON:
        if (ch != ':')
            return syntax_fail(c, "expected ':'");
        c->p++;
        c->state = ST_VALUE;
        return TRUE;
    case ST_COMMA_OR_CLOSE:
        if (ch == ',') {
            c->p++;
            c->state = open == '{' ? ST_KEY : ST_VALUE;
        } else if ((ch == '}' && open == '{') || (ch == ']' && open == '[')) {
            close_container(c);
        } else {
            return syntax_fail(c, "expected ',' or a closing bracket");
        }
        return TRUE;
    case ST_KEY_OR_CLOSE:
    case ST_KEY:
        if (c->state == ST_KEY_OR_CLOSE && ch == '}') {
            close_container(c);
            return TRUE;
        }
        if (ch != '"')
            return syntax_fail(c, "expected a string key");
        return check_key(c);
    case ST_VALUE_OR_CLOSE:
        if (ch == ']') {
            close_container(c);
            return TRUE;
        }
        return check_value(c, ch);
    case ST_VALUE:
        return check_value(c, ch);
    }
    g_assert_not_reached();
}

gboolean
json_strict_check(const char *text, gsize len, guint max_depth, JsonStrictReport *report,
                  GError **error)
{
    Checker c = {
        .text = text,
        .p = text,
        .end = text + len,
        .max_depth = MIN(max_depth, JSON_STRICT_DEPTH_LIMIT),
        .state = ST_VALUE,
        .report = report,
        .error = error,
    };

    for (;;) {
        while (c.p < c.end && (*c.p == ' ' || *c.p == '\t' || *c.p == '\n' || *c.p == '\r'))
            c.p++;
        if (c.p >= c.end)
            break;
        if (!check_token(&c, *c.p))
            return FALSE;
    }
    if (c.state != ST_DONE)
        return syntax_fail(&c, c.state == ST_VALUE && c.depth == 0 && c.p == text
                                   ? "empty message"
                                   : "message ends too early");
    return TRUE;
}
