/* test_safe_text.c: safe_text(), the escaping of guest text. */
#include <string.h>

#include "safe_text.h"
#include "unit.h"

static void
check(const char *in, gssize len, gsize max, const char *expected)
{
    g_autofree char *out = safe_text(in, len, max);

    CUNIT_ASSERT_STR(out, expected);
}

static void
test_plain_unchanged(void)
{
    check("count 9 exceeds the 4 present CPUs", -1, 0, "count 9 exceeds the 4 present CPUs");
    check("größer \\ 'quoted' \"x\"", -1, 512, "größer \\ 'quoted' \"x\"");
    check("", -1, 0, "");
    check(NULL, -1, 0, "");
}

static void
test_controls_escaped(void)
{
    check("\x1b[31mred\r\nerror: forged\a\t.", -1, 0, "\\x1b[31mred\\r\\nerror: forged\\x07\\t.");
    check("del\x7f", -1, 0, "del\\x7f");
    /* C1 CSI, the line separator, bidi overrides and isolates */
    check("a\xc2\x9b"
          "1m",
          -1, 0, "a\\u{009b}1m");
    check("x\xe2\x80\xa8y\xe2\x80\xaez\xe2\x81\xa6w\xe2\x80\x8f", -1, 0,
          "x\\u{2028}y\\u{202e}z\\u{2066}w\\u{200f}");
    /* NUL inside an explicit length */
    check("a\0b", 3, 0, "a\\x00b");
}

static void
test_invalid_utf8_replaced(void)
{
    /* stray bytes, a lone surrogate as JSON parsers emit it, a cut sequence */
    check("a\xff\xfe"
          "b",
          -1, 0,
          "a\xef\xbf\xbd\xef\xbf\xbd"
          "b");
    check("s\xed\xb0\x80x", -1, 0, "s\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdx");
    check("cut \xc3", -1, 0, "cut \xef\xbf\xbd");
}

static void
test_cap(void)
{
    g_autofree char *long_a = g_strnfill(1000, 'a');
    g_autofree char *out = safe_text(long_a, -1, 512);
    g_autofree char *exact = safe_text(long_a, 512, 512);
    g_autofree char *escapes = NULL;
    g_autofree char *wide = NULL;
    GString *e = g_string_new(NULL);
    GString *w = g_string_new(NULL);

    CU_ASSERT_EQUAL(strlen(out), 512);
    CU_ASSERT_TRUE(g_str_has_suffix(out, "aaa..."));
    CU_ASSERT_EQUAL(strlen(exact), 512); /* fits: not cut */
    CU_ASSERT_FALSE(g_str_has_suffix(exact, "..."));

    /* never half an escape ... */
    for (guint i = 0; i < 200; i++)
        g_string_append_c(e, '\x1b');
    escapes = safe_text(e->str, -1, 512);
    CU_ASSERT_TRUE(strlen(escapes) <= 512);
    CU_ASSERT_TRUE(g_str_has_suffix(escapes, "\\x1b..."));
    /* ... nor half a character */
    for (guint i = 0; i < 300; i++)
        g_string_append(w, "é");
    wide = safe_text(w->str, -1, 512);
    CU_ASSERT_TRUE(strlen(wide) <= 512);
    CU_ASSERT_TRUE(g_utf8_validate(wide, -1, NULL));
    CU_ASSERT_TRUE(g_str_has_suffix(wide, "é..."));
    g_string_free(e, TRUE);
    g_string_free(w, TRUE);
    /* a tiny cap counts as 16 */
    check("0123456789abcdefghij", -1, 4, "0123456789abc...");
}

void
register_safe_text_suite(void)
{
    static const CunitTest tests[] = {
        { "plain text unchanged", test_plain_unchanged },
        { "control characters escaped", test_controls_escaped },
        { "invalid UTF-8 replaced", test_invalid_utf8_replaced },
        { "capped at a boundary", test_cap },
        { NULL, NULL },
    };

    cunit_add_suite("safe_text", tests);
}
