/* test_badinput.c: garbage in, the contract's error out, nothing changed,
 * and the agent keeps answering. */
#include <stdio.h>
#include <string.h>

#include "agent_test.h"
#include "fake_sysfs.h"

typedef struct {
    const char *what;
    const char *line; /* sent as is, plus "\n" */
    const char *klass;
} BadCase;

static const BadCase cases[] = {
    { "not JSON", "hello", "ParseError" },
    { "truncated JSON", "{\"execute\": \"ping\"", "ParseError" },
    { "two objects", "{\"execute\": \"ping\"} {\"execute\": \"ping\"}", "ParseError" },
    { "an array", "[1, 2]", "ParseError" },
    { "a string", "\"ping\"", "ParseError" },
    { "a number", "42", "ParseError" },
    { "null", "null", "ParseError" },
    { "invalid UTF-8", "{\"execute\": \"ping\", \"id\": \"\xc3\x28\"}", "ParseError" },
    { "lone continuation byte", "{\"execute\": \"\x80ping\"}", "ParseError" },
    { "NUL byte", "{\"execute\": \"ping\"}\0", "ParseError" },
    { "no execute", "{\"arguments\": {}}", "InvalidParameter" },
    { "execute not a string", "{\"execute\": 5}", "InvalidParameter" },
    { "arguments not an object", "{\"execute\": \"ping\", \"arguments\": [1]}",
      "InvalidParameter" },
    { "unknown top-level key", "{\"execute\": \"ping\", \"bogus\": 1}", "InvalidParameter" },
    { "unknown command", "{\"execute\": \"reboot\"}", "CommandNotFound" },
    { "empty command", "{\"execute\": \"\"}", "CommandNotFound" },
    { "ping with arguments", "{\"execute\": \"ping\", \"arguments\": {\"x\": 1}}",
      "InvalidParameter" },
    { "missing count", "{\"execute\": \"set-num-cpus\"}", "InvalidParameter" },
    { "count string", "{\"execute\": \"set-num-cpus\", \"arguments\": {\"count\": \"3\"}}",
      "InvalidParameter" },
    { "count float", "{\"execute\": \"set-num-cpus\", \"arguments\": {\"count\": 2.5}}",
      "InvalidParameter" },
    { "count 2.0", "{\"execute\": \"set-num-cpus\", \"arguments\": {\"count\": 2.0}}",
      "InvalidParameter" },
    { "count exponent", "{\"execute\": \"set-num-cpus\", \"arguments\": {\"count\": 3e0}}",
      "InvalidParameter" },
    { "count bool", "{\"execute\": \"set-num-cpus\", \"arguments\": {\"count\": true}}",
      "InvalidParameter" },
    { "count null", "{\"execute\": \"set-num-cpus\", \"arguments\": {\"count\": null}}",
      "InvalidParameter" },
    { "count object", "{\"execute\": \"set-num-cpus\", \"arguments\": {\"count\": {}}}",
      "InvalidParameter" },
    { "count 0", "{\"execute\": \"set-num-cpus\", \"arguments\": {\"count\": 0}}",
      "InvalidParameter" },
    { "count negative", "{\"execute\": \"set-num-cpus\", \"arguments\": {\"count\": -1}}",
      "InvalidParameter" },
    { "count above present", "{\"execute\": \"set-num-cpus\", \"arguments\": {\"count\": 5}}",
      "InvalidParameter" },
    { "count above possible, waiting",
      "{\"execute\": \"set-num-cpus\", \"arguments\": {\"count\": 9000, \"wait\": 1}}",
      "InvalidParameter" },
    { "count 2^63-1",
      "{\"execute\": \"set-num-cpus\", \"arguments\": {\"count\": 9223372036854775807}}",
      "InvalidParameter" },
    { "count -2^63",
      "{\"execute\": \"set-num-cpus\", \"arguments\": {\"count\": -9223372036854775808}}",
      "InvalidParameter" },
    { "extra argument",
      "{\"execute\": \"set-num-cpus\", \"arguments\": {\"count\": 2, \"force\": true}}",
      "InvalidParameter" },
    { "wait negative",
      "{\"execute\": \"set-num-cpus\", \"arguments\": {\"count\": 2, \"wait\": -1}}",
      "InvalidParameter" },
    { "wait 61", "{\"execute\": \"set-num-cpus\", \"arguments\": {\"count\": 2, \"wait\": 61}}",
      "InvalidParameter" },
    { "wait string",
      "{\"execute\": \"set-num-cpus\", \"arguments\": {\"count\": 2, \"wait\": \"1\"}}",
      "InvalidParameter" },
    { "set-online-cpus without cpus", "{\"execute\": \"set-online-cpus\"}", "InvalidParameter" },
    { "cpus an integer", "{\"execute\": \"set-online-cpus\", \"arguments\": {\"cpus\": 1}}",
      "InvalidParameter" },
    { "cpus an object", "{\"execute\": \"set-online-cpus\", \"arguments\": {\"cpus\": {}}}",
      "InvalidParameter" },
    { "cpus garbage", "{\"execute\": \"set-online-cpus\", \"arguments\": {\"cpus\": \"0-1;rm\"}}",
      "InvalidParameter" },
    { "cpus empty", "{\"execute\": \"set-online-cpus\", \"arguments\": {\"cpus\": \"\"}}",
      "InvalidParameter" },
    { "cpus not present", "{\"execute\": \"set-online-cpus\", \"arguments\": {\"cpus\": \"0-4\"}}",
      "InvalidParameter" },
    { "cpus without cpu0", "{\"execute\": \"set-online-cpus\", \"arguments\": {\"cpus\": \"1\"}}",
      "InvalidParameter" },
    { "cpus and an extra argument",
      "{\"execute\": \"set-online-cpus\", \"arguments\": {\"cpus\": \"0-1\", \"wait\": 1}}",
      "InvalidParameter" },
};

/* Integers beyond 64 bits are valid JSON: a bad parameter, with the id. */
static const char *const huge_cases[] = {
    "{\"execute\": \"set-num-cpus\", \"arguments\": {\"count\": 99999999999999999999999}, \"id\": "
    "5}",
    "{\"execute\": \"set-num-cpus\", \"arguments\": {\"count\": -99999999999999999999999}, \"id\": "
    "5}",
    "{\"execute\": \"set-num-cpus\", \"arguments\": {\"count\": 18446744073709551617}, \"id\": 5}",
    "{\"execute\": \"set-num-cpus\", \"arguments\": {\"count\": 2, \"wait\": "
    "18446744073709551616}, \"id\": 5}",
};

/* Issue 12, items 9 and 10: escapes that decode to no valid text, and ids
 * that are neither a string nor an integer.  The reply must carry no id
 * (there is none that could be echoed faithfully) and parse with the
 * host's parser (helpers.c checks every line). */
static const BadCase id_cases[] = {
    { "lone low surrogate", "{\"execute\":\"ping\",\"id\":\"\\udc00x\"}", "ParseError" },
    { "lone high surrogate", "{\"execute\":\"ping\",\"id\":\"\\ud800\"}", "ParseError" },
    { "high surrogate, then no low", "{\"execute\":\"ping\",\"id\":\"\\ud800\\u0041\"}",
      "ParseError" },
    { "two high surrogates", "{\"execute\":\"ping\",\"id\":\"\\ud800\\ud800\"}", "ParseError" },
    { "escaped NUL in execute", "{\"execute\":\"pi\\u0000ng\"}", "ParseError" },
    { "escaped NUL in id", "{\"execute\":\"ping\",\"id\":\"a\\u0000b\"}", "ParseError" },
    { "escaped NUL in a key", "{\"execute\":\"ping\",\"\\u0000\":1}", "ParseError" },
    { "id 1e18", "{\"execute\":\"ping\",\"id\":1e18}", "InvalidParameter" },
    { "id 1.5", "{\"execute\":\"ping\",\"id\":1.5}", "InvalidParameter" },
    { "id 2.0", "{\"execute\":\"ping\",\"id\":2.0}", "InvalidParameter" },
    { "id true", "{\"execute\":\"ping\",\"id\":true}", "InvalidParameter" },
    { "id null", "{\"execute\":\"ping\",\"id\":null}", "InvalidParameter" },
    { "id object", "{\"execute\":\"ping\",\"id\":{\"a\":1}}", "InvalidParameter" },
    { "id array", "{\"execute\":\"ping\",\"id\":[1]}", "InvalidParameter" },
    { "id beyond 64 bits", "{\"execute\":\"ping\",\"id\":99999999999999999999}",
      "InvalidParameter" },
    { "id beyond 64 bits, negative", "{\"execute\":\"ping\",\"id\":-99999999999999999999}",
      "InvalidParameter" },
};

static void
assert_tree_unchanged(const char *tree)
{
    CU_ASSERT_EQUAL(fake_sysfs_get_online(tree, 1), 1);
    CU_ASSERT_EQUAL(fake_sysfs_get_online(tree, 2), 0);
    CU_ASSERT_EQUAL(fake_sysfs_get_online(tree, 3), 0);
}

static void
assert_alive(RawClient *c)
{
    g_autoptr(JsonNode) pong = raw_call(c, "{\"execute\": \"ping\", \"id\": \"alive\"}");

    CU_ASSERT_PTR_NOT_NULL(reply_return(pong));
}

static void
test_bad_lines(void)
{
    char *tree = fake_sysfs_new_simple(4, 2, 8);
    TestAgent *agent = test_agent_start(tree, NULL, NULL);
    RawClient *c = raw_connect(agent);

    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        /* "NUL byte" carries its NUL inside the line. */
        gsize len = strlen(cases[i].line) + (strcmp(cases[i].what, "NUL byte") == 0);
        g_autoptr(JsonNode) reply = NULL;
        const char *klass;

        raw_send(c, cases[i].line, len);
        raw_send_str(c, "\n");
        reply = raw_reply(c, 10000);
        klass = reply_error_class(reply);
        if (klass == NULL || strcmp(klass, cases[i].klass) != 0)
            fprintf(stderr, "\ncase '%s': got %s, expected %s\n", cases[i].what,
                    klass != NULL ? klass : "a return", cases[i].klass);
        CUNIT_ASSERT_STR(klass, cases[i].klass);
        CU_ASSERT_PTR_NOT_NULL(reply_error_desc(reply));
        assert_alive(c);
    }
    for (gsize i = 0; i < G_N_ELEMENTS(huge_cases); i++) {
        g_autoptr(JsonNode) reply = raw_call(c, huge_cases[i]);
        const char *klass = reply_error_class(reply);

        CUNIT_ASSERT_STR(klass, "InvalidParameter");
        CU_ASSERT_EQUAL(json_object_get_int_member(json_node_get_object(reply), "id"), 5);
        assert_alive(c);
    }
    assert_tree_unchanged(tree);

    raw_free(c);
    CU_ASSERT_EQUAL(test_agent_stop(agent), 0);
    fake_sysfs_destroy(tree);
}

static void
test_id_echoed_in_errors(void)
{
    char *tree = fake_sysfs_new_simple(4, 2, 8);
    TestAgent *agent = test_agent_start(tree, NULL, NULL);
    RawClient *c = raw_connect(agent);
    g_autoptr(JsonNode) r1 = raw_call(c, "{\"execute\": \"reboot\", \"id\": \"abc\"}");
    g_autoptr(JsonNode) r2
        = raw_call(c, "{\"execute\": \"set-num-cpus\", \"arguments\": {\"count\": 0}, \"id\": 7}");
    g_autoptr(JsonNode) r3 = raw_call(c, "{\"execute\": 5, \"id\": [1]}");
    g_autoptr(JsonNode) r4 = raw_call(c, "not json at all");

    CUNIT_ASSERT_STR(reply_error_class(r1), "CommandNotFound");
    CUNIT_ASSERT_STR(json_object_get_string_member(json_node_get_object(r1), "id"), "abc");
    CUNIT_ASSERT_CONTAINS(reply_error_desc(r1), "reboot");
    CUNIT_ASSERT_STR(reply_error_class(r2), "InvalidParameter");
    CU_ASSERT_EQUAL(json_object_get_int_member(json_node_get_object(r2), "id"), 7);
    /* An id that is not a string or an integer is not echoed. */
    CUNIT_ASSERT_STR(reply_error_class(r3), "InvalidParameter");
    CU_ASSERT_FALSE(json_object_has_member(json_node_get_object(r3), "id"));
    CUNIT_ASSERT_STR(reply_error_class(r4), "ParseError");
    CU_ASSERT_FALSE(json_object_has_member(json_node_get_object(r4), "id"));

    raw_free(c);
    CU_ASSERT_EQUAL(test_agent_stop(agent), 0);
    fake_sysfs_destroy(tree);
}

static void
test_long_line_and_nesting(void)
{
    char *tree = fake_sysfs_new_simple(4, 2, 8);
    TestAgent *agent = test_agent_start(tree, NULL, NULL);
    RawClient *c = raw_connect(agent);
    g_autoptr(GString) deep = g_string_new("{\"execute\": \"ping\", \"id\": ");
    g_autofree char *huge = g_malloc(200 * 1024);
    g_autoptr(JsonNode) r1 = NULL;
    g_autoptr(JsonNode) r2 = NULL;
    g_autoptr(JsonNode) r3 = NULL;

    /* 200 KiB without a newline, then the rest of the line and a ping on the
     * same write: one ParseError for the long line, then the pong. */
    memset(huge, 'A', 200 * 1024);
    raw_send(c, huge, 200 * 1024);
    raw_send_str(c, "tail\n{\"execute\": \"ping\", \"id\": 2}\n");
    r1 = raw_reply(c, 10000);
    CUNIT_ASSERT_STR(reply_error_class(r1), "ParseError");
    r2 = raw_reply(c, 10000);
    CU_ASSERT_PTR_NOT_NULL(reply_return(r2));
    CU_ASSERT_EQUAL(json_object_get_int_member(json_node_get_object(r2), "id"), 2);

    for (int i = 0; i < 5000; i++)
        g_string_append_c(deep, '[');
    for (int i = 0; i < 5000; i++)
        g_string_append_c(deep, ']');
    g_string_append(deep, "}");
    r3 = raw_call(c, deep->str);
    CUNIT_ASSERT_STR(reply_error_class(r3), "ParseError");
    {
        /* Deep and huge at once: still refused for its depth, no crash. */
        g_autoptr(GString) both = g_string_new(NULL);
        g_autoptr(JsonNode) r4 = NULL;

        for (int i = 0; i < 30000; i++)
            g_string_append_c(both, '[');
        g_string_append(both, "99999999999999999999999");
        for (int i = 0; i < 30000; i++)
            g_string_append_c(both, ']');
        r4 = raw_call(c, both->str);
        CUNIT_ASSERT_STR(reply_error_class(r4), "ParseError");
    }
    assert_alive(c);
    assert_tree_unchanged(tree);

    raw_free(c);
    CU_ASSERT_EQUAL(test_agent_stop(agent), 0);
    fake_sysfs_destroy(tree);
}

static void
test_bad_ids_and_escapes(void)
{
    char *tree = fake_sysfs_new_simple(4, 2, 8);
    TestAgent *agent = test_agent_start(tree, NULL, NULL);
    RawClient *c = raw_connect(agent);

    for (gsize i = 0; i < G_N_ELEMENTS(id_cases); i++) {
        g_autoptr(JsonNode) reply = raw_call(c, id_cases[i].line);
        const char *klass = reply_error_class(reply);

        if (klass == NULL || strcmp(klass, id_cases[i].klass) != 0)
            fprintf(stderr, "\ncase '%s': got %s, expected %s\n", id_cases[i].what,
                    klass != NULL ? klass : "a return", id_cases[i].klass);
        CUNIT_ASSERT_STR(klass, id_cases[i].klass);
        CU_ASSERT_FALSE(reply != NULL && json_object_has_member(json_node_get_object(reply), "id"));
        assert_alive(c);
    }
    /* What is valid still works: a surrogate pair, escapes in names, the
     * extreme 64-bit ids. */
    {
        g_autoptr(JsonNode) r1 = raw_call(c, "{\"execute\":\"ping\",\"id\":\"\\ud83d\\ude00\"}");
        g_autoptr(JsonNode) r2
            = raw_call(c, "{\"\\u0065xecute\":\"p\\u0069ng\",\"id\":\"\\u00e9\"}");
        g_autoptr(JsonNode) r3 = raw_call(c, "{\"execute\":\"ping\",\"id\":-9223372036854775808}");
        g_autoptr(JsonNode) r4 = raw_call(c, "{\"execute\":\"ping\",\"id\":9223372036854775807}");

        CU_ASSERT_PTR_NOT_NULL(reply_return(r1));
        CUNIT_ASSERT_STR(json_object_get_string_member(json_node_get_object(r1), "id"),
                         "\xf0\x9f\x98\x80");
        CU_ASSERT_PTR_NOT_NULL(reply_return(r2));
        CUNIT_ASSERT_STR(json_object_get_string_member(json_node_get_object(r2), "id"), "\xc3\xa9");
        CU_ASSERT_PTR_NOT_NULL(reply_return(r3));
        CU_ASSERT_EQUAL(json_object_get_int_member(json_node_get_object(r3), "id"), G_MININT64);
        CU_ASSERT_PTR_NOT_NULL(reply_return(r4));
        CU_ASSERT_EQUAL(json_object_get_int_member(json_node_get_object(r4), "id"), G_MAXINT64);
    }
    assert_tree_unchanged(tree);
    raw_free(c);
    CU_ASSERT_EQUAL(test_agent_stop(agent), 0);
    fake_sysfs_destroy(tree);
}

static const CunitTest tests[] = {
    { "ids that are not a string or an integer, escapes of no text", test_bad_ids_and_escapes },
    { "bad lines", test_bad_lines },
    { "id echoed in errors", test_id_echoed_in_errors },
    { "line over 64 KiB and deep nesting", test_long_line_and_nesting },
    { NULL, NULL },
};

void
register_badinput_suite(void)
{
    cunit_add_suite("badinput", tests);
}
