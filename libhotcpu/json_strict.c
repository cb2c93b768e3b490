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

/* *p is on the opening quote; leaves *p after the closing one. */
static gboolean
check_string(const char **p, const char *end)
{
    const char *s = *p + 1;

    while (s < end) {
        guchar c = (guchar)*s;

        if (c == '"') {
            *p = s + 1;
            return TRUE;
        }
        if (c < 0x20)
            return FALSE;
        if (c == '\\') {
            s++;
            if (s >= end)
                return FALSE;
            if (*s == 'u') {
                for (int i = 1; i <= 4; i++) {
                    if (s + i >= end || !g_ascii_isxdigit(s[i]))
                        return FALSE;
                }
                s += 4;
            } else if (strchr("\"\\/bfnrt", *s) == NULL || *s == '\0') {
                return FALSE;
            }
        }
        s++;
    }
    return FALSE;
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

/* A value starts at c->p (holding @ch). */
static gboolean
check_value(Checker *c, char ch)
{
    if (ch == '{' || ch == '[') {
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
        if (!check_string(&c->p, c->end))
            return syntax_fail(c, "malformed string");
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
        if (ch != '"' || !check_string(&c->p, c->end))
            return syntax_fail(c, "expected a string key");
        c->state = ST_COLON;
        return TRUE;
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
