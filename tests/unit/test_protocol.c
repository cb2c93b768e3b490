/* test_protocol.c: the wire codec and the line reader, fed every bad input. */
#include <string.h>

#include "protocol.h"
#include "unit.h"

/* Parses @line as a request, expecting failure with @code. */
static void
check_request_fails(const char *line, gssize len, ProtoErrorClass code)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) id = NULL;
    gsize n = len < 0 ? strlen(line) : (gsize)len;
    g_autoptr(ProtoRequest) req = proto_parse_request(line, n, &id, &error);

    if (req != NULL || !g_error_matches(error, PROTO_ERROR, (gint)code))
        fprintf(stderr, "\n'%.80s': expected class %d, got %s\n", line, code,
                error != NULL ? error->message : "success");
    CU_ASSERT_PTR_NULL(req);
    CU_ASSERT_TRUE(g_error_matches(error, PROTO_ERROR, (gint)code));
}

static char *
node_to_string(JsonNode *node)
{
    g_autoptr(JsonGenerator) gen = json_generator_new();

    json_generator_set_root(gen, node);
    return json_generator_to_data(gen, NULL);
}

static void
test_request_ok(void)
{
    g_autoptr(GError) error = NULL;
    const char *line
        = "{\"execute\": \"set-num-cpus\", \"arguments\": {\"count\": 3}, \"id\": \"a1\"}";
    g_autoptr(ProtoRequest) req = proto_parse_request(line, strlen(line), NULL, &error);

    CU_ASSERT_PTR_NULL(error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(req);
    CUNIT_ASSERT_STR(req->execute, "set-num-cpus");
    CU_ASSERT_EQUAL(json_object_get_int_member(req->arguments, "count"), 3);
    CU_ASSERT_PTR_NOT_NULL_FATAL(req->id);
    CUNIT_ASSERT_STR(json_node_get_string(req->id), "a1");

    /* arguments and id are optional. */
    g_autoptr(ProtoRequest) ping = proto_parse_request("{\"execute\":\"ping\"}", 18, NULL, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ping);
    CUNIT_ASSERT_STR(ping->execute, "ping");
    CU_ASSERT_PTR_NOT_NULL_FATAL(ping->arguments);
    CU_ASSERT_EQUAL(json_object_get_size(ping->arguments), 0);
    CU_ASSERT_PTR_NULL(ping->id);
}

static void
test_not_json(void)
{
    const char *bad[] = {
        "hello",
        "{",
        "}",
        "{\"execute\":",
        "{\"execute\":\"ping\"",
        "{\"execute\" \"ping\"}",
        "",
        "   ",
        /* json-glib alone would accept each of these: */
        "{'execute':'ping'}",
        "{\"execute\":\"ping\"} {}",
        "{\"execute\":\"ping\"}x",
        "/*c*/{\"execute\":\"ping\"}",
        "{\"execute\":\"ping\",\"arguments\":{\"count\":0x10}}",
        "{\"execute\":\"ping\",\"arguments\":{\"count\":01}}",
        "{\"execute\":\"ping\",}",
        "{\"execute\":\"a\tb\"}",
        "{\"execute\":\"\\q\"}",
        "{\"execute\":\"\\u12\"}",
        "{\"execute\":tru}",
        "{\"execute\":\"ping\",\"id\":-}",
        "{\"execute\":\"ping\",\"id\":1.}",
        "{\"execute\":\"ping\",\"id\":1e}",
        "{\"execute\":\"ping\",\"id\":[1,]}",
        "{\"execute\":\"ping\",\"id\":[1}",
    };

    for (guint i = 0; i < G_N_ELEMENTS(bad); i++)
        check_request_fails(bad[i], -1, PROTO_ERROR_PARSE);
}

static void
test_not_object(void)
{
    const char *bad[] = { "[1,2]", "[]", "\"execute\"", "42", "-1.5", "null", "true" };

    for (guint i = 0; i < G_N_ELEMENTS(bad); i++)
        check_request_fails(bad[i], -1, PROTO_ERROR_PARSE);
}

static void
test_invalid_utf8(void)
{
    check_request_fails("{\"execute\":\"\xc3\x28\"}", -1, PROTO_ERROR_PARSE);
    check_request_fails("{\"execute\":\"\xff\xfe\"}", -1, PROTO_ERROR_PARSE);
    check_request_fails("{\"execute\":\"\xed\xa0\x80\"}", -1, PROTO_ERROR_PARSE); /* surrogate */
    /* An embedded NUL, with an explicit length. */
    check_request_fails("{\"execute\":\"pi\0ng\"}", 19, PROTO_ERROR_PARSE);

    /* Valid multibyte text is fine. */
    g_autoptr(ProtoRequest) req
        = proto_parse_request("{\"execute\":\"h\xc3\xa9\"}", 17, NULL, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(req);
    CUNIT_ASSERT_STR(req->execute, "h\xc3\xa9");
}

static void
test_deep_nesting(void)
{
    gsize n = 60000; /* under PROTO_MAX_LINE, so the depth is what fails */
    g_autofree char *brackets = g_malloc(n + 1);
    /* Nested in "arguments" (the id must be a string or an integer). */
    g_autoptr(GString) ok = g_string_new("{\"execute\":\"ping\",\"arguments\":{\"a\":");
    g_autoptr(GString) too_deep = NULL;
    g_autoptr(GError) error = NULL;
    g_autoptr(ProtoRequest) req = NULL;

    /* 100000 brackets: over the line limit as well as too deep. */
    {
        g_autofree char *huge = g_malloc(100001);

        memset(huge, '[', 100000);
        huge[100000] = '\0';
        check_request_fails(huge, 100000, PROTO_ERROR_PARSE);
    }
    memset(brackets, '[', n);
    brackets[n] = '\0';
    check_request_fails(brackets, (gssize)n, PROTO_ERROR_PARSE);
    {
        g_autoptr(GError) e = NULL;
        g_autoptr(ProtoRequest) r = proto_parse_request(brackets, n, NULL, &e);
        CU_ASSERT_PTR_NOT_NULL_FATAL(e);
        CUNIT_ASSERT_CONTAINS(e->message, "deeper");
    }
    /* The same inside a request, and objects too. */
    g_autofree char *nested = g_strconcat("{\"execute\":\"ping\",\"id\":", brackets, NULL);
    check_request_fails(nested, -1, PROTO_ERROR_PARSE);
    g_autoptr(GString) objs = g_string_new(NULL);
    for (guint i = 0; i < 20000; i++)
        g_string_append(objs, "{\"a\":");
    check_request_fails(objs->str, -1, PROTO_ERROR_PARSE);

    /* Exactly PROTO_MAX_DEPTH levels pass: the top object and "arguments"
     * are two.  (The request then fails in the dispatcher: ping takes no
     * argument "a".) */
    for (guint i = 0; i < PROTO_MAX_DEPTH - 2; i++)
        g_string_append_c(ok, '[');
    too_deep = g_string_new(ok->str);
    for (guint i = 0; i < PROTO_MAX_DEPTH - 2; i++)
        g_string_append_c(ok, ']');
    g_string_append(ok, "}}");
    req = proto_parse_request(ok->str, ok->len, NULL, &error);
    CU_ASSERT_PTR_NULL(error);
    CU_ASSERT_PTR_NOT_NULL(req);

    g_string_append_c(too_deep, '[');
    for (guint i = 0; i < PROTO_MAX_DEPTH - 1; i++)
        g_string_append_c(too_deep, ']');
    g_string_append(too_deep, "}}");
    check_request_fails(too_deep->str, -1, PROTO_ERROR_PARSE);

    /* Brackets inside strings are text, not nesting. */
    const char *in_string = "{\"execute\":\"[[[[[[[[[[[[[[[[[[[[{{{{{{\\\"[[[\"}";
    g_autoptr(ProtoRequest) text = proto_parse_request(in_string, strlen(in_string), NULL, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    CUNIT_ASSERT_STR(text->execute, "[[[[[[[[[[[[[[[[[[[[{{{{{{\"[[[");
}

static void
test_long_line(void)
{
    gsize n = PROTO_MAX_LINE + 1;
    g_autofree char *line = g_malloc(n + 1);

    /* A syntactically fine request, just too long. */
    memset(line, ' ', n);
    memcpy(line, "{\"execute\":\"ping\"}", 18);
    line[n] = '\0';
    check_request_fails(line, (gssize)n, PROTO_ERROR_PARSE);

    /* At the limit it is accepted. */
    g_autoptr(ProtoRequest) req = proto_parse_request(line, PROTO_MAX_LINE, NULL, NULL);
    CU_ASSERT_PTR_NOT_NULL(req);
}

static void
test_wrong_types(void)
{
    struct {
        const char *line;
        const char *id; /* expected echoed id, as JSON text */
    } cases[] = {
        { "{\"execute\":1,\"id\":7}", "7" },
        { "{\"execute\":null,\"id\":\"x\"}", "\"x\"" },
        { "{\"execute\":[\"ping\"],\"id\":{\"k\":[1]}}", NULL }, /* not an id */
        { "{\"execute\":{},\"id\":7}", "7" },
        { "{\"execute\":\"ping\",\"arguments\":[],\"id\":7}", "7" },
        { "{\"execute\":\"ping\",\"arguments\":\"count=1\",\"id\":7}", "7" },
        { "{\"execute\":\"ping\",\"arguments\":null,\"id\":7}", "7" },
        { "{\"arguments\":{},\"id\":8}", "8" },                      /* missing execute */
        { "{\"id\":9}", "9" },                                       /* missing execute */
        { "{\"execute\":\"ping\",\"id\":10,\"extra\":true}", "10" }, /* unknown key */
        { "{\"execute\":\"ping\",\"Execute\":\"x\",\"id\":11}", "11" },
        { "{}", NULL },
    };

    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(GError) error = NULL;
        g_autoptr(JsonNode) id = NULL;
        g_autoptr(ProtoRequest) req
            = proto_parse_request(cases[i].line, strlen(cases[i].line), &id, &error);

        CU_ASSERT_PTR_NULL(req);
        if (!g_error_matches(error, PROTO_ERROR, PROTO_ERROR_INVALID_PARAMETER))
            fprintf(stderr, "\n'%s': %s\n", cases[i].line, error ? error->message : "success");
        CU_ASSERT_TRUE(g_error_matches(error, PROTO_ERROR, PROTO_ERROR_INVALID_PARAMETER));
        if (cases[i].id == NULL) {
            CU_ASSERT_PTR_NULL(id);
        } else {
            CU_ASSERT_PTR_NOT_NULL_FATAL(id);
            g_autofree char *text = node_to_string(id);
            CUNIT_ASSERT_STR(text, cases[i].id);
        }
    }
}

static void
test_huge_numbers(void)
{
    /* Integers beyond 64 bits are valid JSON: a bad parameter in a request
     * (json-glib would wrap them), a broken peer in a reply. */
    check_request_fails("{\"execute\":\"ping\",\"id\":99999999999999999999999}", -1,
                        PROTO_ERROR_INVALID_PARAMETER);
    check_request_fails("{\"execute\":\"ping\",\"id\":9223372036854775808}", -1,
                        PROTO_ERROR_INVALID_PARAMETER);
    check_request_fails("{\"execute\":\"ping\",\"id\":-9223372036854775809}", -1,
                        PROTO_ERROR_INVALID_PARAMETER);
    check_request_fails("{\"execute\":\"x\",\"arguments\":{\"count\":99999999999999999999999},"
                        "\"id\":5}",
                        -1, PROTO_ERROR_INVALID_PARAMETER);
    {
        const char *line = "{\"execute\":\"x\",\"arguments\":{\"count\":-99999999999999999999999},"
                           "\"id\":\"h\"}";
        g_autoptr(GError) error = NULL;
        g_autoptr(JsonNode) id = NULL;
        g_autoptr(ProtoRequest) huge = proto_parse_request(line, strlen(line), &id, &error);

        CU_ASSERT_PTR_NULL(huge);
        CU_ASSERT_TRUE(g_error_matches(error, PROTO_ERROR, PROTO_ERROR_INVALID_PARAMETER));
        CU_ASSERT_PTR_NOT_NULL_FATAL(id); /* echoed in the error reply */
        CUNIT_ASSERT_STR(json_node_get_string(id), "h");
    }
    {
        const char *reply = "{\"return\":{\"n\":99999999999999999999999},\"id\":1}";
        g_autoptr(GError) error = NULL;
        g_autoptr(ProtoMessage) msg = proto_parse_message(reply, strlen(reply), &error);

        CU_ASSERT_PTR_NULL(msg);
        CU_ASSERT_TRUE(g_error_matches(error, PROTO_ERROR, PROTO_ERROR_PARSE));
    }
    check_request_fails("{\"execute\":\"ping\",\"arguments\":{\"count\":1e999}}", -1,
                        PROTO_ERROR_PARSE);
    check_request_fails("{\"execute\":\"ping\",\"arguments\":{\"count\":-1e999}}", -1,
                        PROTO_ERROR_PARSE);

    /* The 64-bit extremes and large finite doubles are numbers like any. */
    const char *max = "{\"execute\":\"ping\",\"id\":9223372036854775807}";
    g_autoptr(ProtoRequest) req = proto_parse_request(max, strlen(max), NULL, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(req);
    CU_ASSERT_EQUAL(json_node_get_int(req->id), G_MAXINT64);
    const char *min = "{\"execute\":\"ping\",\"id\":-9223372036854775808}";
    g_autoptr(ProtoRequest) req2 = proto_parse_request(min, strlen(min), NULL, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(req2);
    CU_ASSERT_EQUAL(json_node_get_int(req2->id), G_MININT64);
    /* ... but an id must be a string or an integer (issue 12, item 10). */
    check_request_fails("{\"execute\":\"ping\",\"id\":1.5e300}", -1, PROTO_ERROR_INVALID_PARAMETER);
}

/* Issue 12, items 9 and 10: escapes that decode to no valid text are a
 * ParseError; ids that are not a string or a 64-bit integer are refused and
 * not handed back for echoing. */
static void
test_bad_escapes_and_ids(void)
{
    const char *parse_errors[] = {
        "{\"execute\":\"ping\",\"id\":\"\\udc00x\"}",
        "{\"execute\":\"ping\",\"id\":\"\\ud800\"}",
        "{\"execute\":\"ping\",\"id\":\"\\ud800x\"}",
        "{\"execute\":\"ping\",\"id\":\"\\ud800\\n\"}",
        "{\"execute\":\"ping\",\"id\":\"\\ud800\\ud800\"}",
        "{\"execute\":\"ping\",\"id\":\"\\ud800\\u00\"}",
        "{\"execute\":\"pi\\u0000ng\"}",
        "{\"\\u0000\":1}",
    };
    const char *bad_ids[] = {
        "1e18",
        "1.5",
        "2.0",
        "-0.0",
        "true",
        "false",
        "null",
        "{}",
        "[]",
        "{\"a\":1}",
        "99999999999999999999",
        "-99999999999999999999",
    };

    for (guint i = 0; i < G_N_ELEMENTS(parse_errors); i++)
        check_request_fails(parse_errors[i], -1, PROTO_ERROR_PARSE);
    for (guint i = 0; i < G_N_ELEMENTS(bad_ids); i++) {
        g_autofree char *line = g_strdup_printf("{\"execute\":\"ping\",\"id\":%s}", bad_ids[i]);
        g_autoptr(JsonNode) id = NULL;
        g_autoptr(ProtoRequest) req = proto_parse_request(line, strlen(line), &id, NULL);

        check_request_fails(line, -1, PROTO_ERROR_INVALID_PARAMETER);
        CU_ASSERT_PTR_NULL(req);
        CU_ASSERT_PTR_NULL(id); /* nothing to echo */
    }
    /* A huge integer elsewhere does not hide a good id; an escaped key
     * named "id" is the id. */
    {
        const char *line = "{\"execute\":\"x\",\"arguments\":{\"id\":99999999999999999999},"
                           "\"id\":7}";
        const char *escaped = "{\"execute\":\"ping\",\"\\u0069d\":99999999999999999999}";
        g_autoptr(JsonNode) id = NULL;
        g_autoptr(JsonNode) id2 = NULL;
        g_autoptr(ProtoRequest) r1 = proto_parse_request(line, strlen(line), &id, NULL);
        g_autoptr(ProtoRequest) r2 = proto_parse_request(escaped, strlen(escaped), &id2, NULL);

        CU_ASSERT_PTR_NOT_NULL_FATAL(id);
        CU_ASSERT_EQUAL(json_node_get_int(id), 7);
        CU_ASSERT_PTR_NULL(id2);
    }
}

static void
test_id_echo(void)
{
    struct {
        const char *id;
        const char *reply;
    } cases[] = {
        { "\"abc\"", "{\"return\":{},\"id\":\"abc\"}\n" },
        { "42", "{\"return\":{},\"id\":42}\n" },
        { "-3", "{\"return\":{},\"id\":-3}\n" },
        { "\"\\ud83d\\ude00\"", "{\"return\":{},\"id\":\"\xf0\x9f\x98\x80\"}\n" },
    };

    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *line = g_strdup_printf("{\"execute\":\"ping\",\"id\":%s}", cases[i].id);
        g_autoptr(ProtoRequest) req = proto_parse_request(line, strlen(line), NULL, NULL);
        g_autofree char *reply = NULL;

        CU_ASSERT_PTR_NOT_NULL_FATAL(req);
        CU_ASSERT_PTR_NOT_NULL_FATAL(req->id);
        reply = proto_format_return(NULL, req->id);
        CUNIT_ASSERT_STR(reply, cases[i].reply);
    }

    /* The error path echoes too. */
    g_autoptr(JsonNode) id = NULL;
    g_autoptr(ProtoRequest) bad
        = proto_parse_request("{\"execute\":5,\"id\":\"q\"}", 22, &id, NULL);
    CU_ASSERT_PTR_NULL(bad);
    CU_ASSERT_PTR_NOT_NULL_FATAL(id);
    g_autofree char *err = proto_format_error(PROTO_ERROR_INVALID_PARAMETER, "no", id);
    CUNIT_ASSERT_STR(err,
                     "{\"error\":{\"class\":\"InvalidParameter\",\"desc\":\"no\"},\"id\":\"q\"}\n");
}

static void
test_encoders(void)
{
    g_autoptr(JsonObject) args = json_object_new();
    g_autoptr(JsonNode) id = json_node_init_int(json_node_alloc(), 7);
    g_autoptr(JsonNode) value = json_node_new(JSON_NODE_OBJECT);
    g_autofree char *a = proto_format_request("ping", NULL, NULL);
    g_autofree char *b = NULL, *c = NULL, *d = NULL, *e = NULL, *f = NULL, *g = NULL;

    json_node_take_object(value, json_object_new());
    CUNIT_ASSERT_STR(a, "{\"execute\":\"ping\"}\n");
    json_object_set_int_member(args, "count", 2);
    json_object_set_int_member(args, "wait", 5);
    b = proto_format_request("set-num-cpus", args, id);
    CUNIT_ASSERT_STR(
        b, "{\"execute\":\"set-num-cpus\",\"arguments\":{\"count\":2,\"wait\":5},\"id\":7}\n");

    json_object_set_string_member(json_node_get_object(value), "version", "0.1.0");
    c = proto_format_return(value, id);
    CUNIT_ASSERT_STR(c, "{\"return\":{\"version\":\"0.1.0\"},\"id\":7}\n");

    /* Newlines and quotes in text stay inside one line. */
    d = proto_format_error(PROTO_ERROR_OPERATION_FAILED, "cpu3: \"Device busy\"\nline 2", id);
    CUNIT_ASSERT_STR(d, "{\"error\":{\"class\":\"OperationFailed\",\"desc\":\"cpu3: \\\"Device "
                        "busy\\\"\\nline 2\"},\"id\":7}\n");
    CU_ASSERT_PTR_EQUAL(strchr(d, '\n'), d + strlen(d) - 1);

    e = proto_format_event("topology-changed", value);
    CUNIT_ASSERT_STR(e, "{\"event\":\"topology-changed\",\"data\":{\"version\":\"0.1.0\"}}\n");
    f = proto_format_event("ping", NULL);
    CUNIT_ASSERT_STR(f, "{\"event\":\"ping\"}\n");
    g = proto_format_error(PROTO_ERROR_PARSE, "bad", NULL);
    CUNIT_ASSERT_STR(g, "{\"error\":{\"class\":\"ParseError\",\"desc\":\"bad\"}}\n");

    /* Inputs are not consumed. */
    CU_ASSERT_EQUAL(json_node_get_int(id), 7);
    CU_ASSERT_EQUAL(json_object_get_size(args), 2);
}

static void
test_error_classes(void)
{
    const char *names[]
        = { "ParseError", "CommandNotFound", "InvalidParameter", "Busy", "OperationFailed" };

    for (guint i = 0; i < G_N_ELEMENTS(names); i++) {
        CUNIT_ASSERT_STR(proto_error_class_name((ProtoErrorClass)i), names[i]);
        CU_ASSERT_EQUAL(proto_error_class_from_name(names[i]), (ProtoErrorClass)i);
    }
    CU_ASSERT_EQUAL(proto_error_class_from_name("NoSuchClass"), PROTO_ERROR_OPERATION_FAILED);
    CU_ASSERT_EQUAL(proto_error_class_from_name(NULL), PROTO_ERROR_OPERATION_FAILED);
}

static void
test_parse_messages(void)
{
    const char *ret = "{\"return\":{\"n\":1},\"id\":\"x\"}";
    const char *err = "{\"error\":{\"class\":\"Busy\",\"desc\":\"later\"},\"id\":3}";
    const char *unknown = "{\"error\":{\"class\":\"Weird\",\"desc\":\"?\"}}";
    const char *ev = "{\"event\":\"topology-changed\",\"data\":{\"online\":\"0-1\"}}";
    const char *ev_bare = "{\"event\":\"hello\"}";
    g_autoptr(ProtoMessage) m1 = proto_parse_message(ret, strlen(ret), NULL);
    g_autoptr(ProtoMessage) m2 = proto_parse_message(err, strlen(err), NULL);
    g_autoptr(ProtoMessage) m3 = proto_parse_message(unknown, strlen(unknown), NULL);
    g_autoptr(ProtoMessage) m4 = proto_parse_message(ev, strlen(ev), NULL);
    g_autoptr(ProtoMessage) m5 = proto_parse_message(ev_bare, strlen(ev_bare), NULL);

    CU_ASSERT_PTR_NOT_NULL_FATAL(m1);
    CU_ASSERT_EQUAL(m1->kind, PROTO_MSG_RETURN);
    CU_ASSERT_EQUAL(json_object_get_int_member(json_node_get_object(m1->value), "n"), 1);
    CUNIT_ASSERT_STR(json_node_get_string(m1->id), "x");

    CU_ASSERT_PTR_NOT_NULL_FATAL(m2);
    CU_ASSERT_EQUAL(m2->kind, PROTO_MSG_ERROR);
    CU_ASSERT_EQUAL(m2->error_class, PROTO_ERROR_BUSY);
    CUNIT_ASSERT_STR(m2->error_desc, "later");
    CU_ASSERT_EQUAL(json_node_get_int(m2->id), 3);

    CU_ASSERT_PTR_NOT_NULL_FATAL(m3);
    CU_ASSERT_EQUAL(m3->error_class, PROTO_ERROR_OPERATION_FAILED);
    CU_ASSERT_PTR_NULL(m3->id);

    CU_ASSERT_PTR_NOT_NULL_FATAL(m4);
    CU_ASSERT_EQUAL(m4->kind, PROTO_MSG_EVENT);
    CUNIT_ASSERT_STR(m4->event, "topology-changed");
    CUNIT_ASSERT_STR(json_object_get_string_member(json_node_get_object(m4->value), "online"),
                     "0-1");

    CU_ASSERT_PTR_NOT_NULL_FATAL(m5);
    CU_ASSERT_EQUAL(m5->kind, PROTO_MSG_EVENT);
    CU_ASSERT_PTR_NULL(m5->value);

    const char *bad[] = {
        "{\"foo\":1}",
        "{\"return\":1}",
        "{\"return\":{},\"x\":1}",
        "{\"error\":\"Busy\"}",
        "{\"error\":{\"class\":1,\"desc\":\"d\"}}",
        "{\"error\":{\"class\":\"Busy\"}}",
        "{\"event\":5}",
        "{\"event\":\"e\",\"data\":[1]}",
        "{\"event\":\"e\",\"id\":1}",
        "[{\"return\":{}}]",
        "not json",
        "{\"return\":{}",
        "",
    };
    for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(GError) error = NULL;
        g_autoptr(ProtoMessage) m = proto_parse_message(bad[i], strlen(bad[i]), &error);

        if (m != NULL)
            fprintf(stderr, "\naccepted message '%s'\n", bad[i]);
        CU_ASSERT_PTR_NULL(m);
        CU_ASSERT_TRUE(g_error_matches(error, PROTO_ERROR, PROTO_ERROR_PARSE));
    }
}

/* Takes the next line, which must be PROTO_LINE_OK, and compares it. */
static void
expect_line(ProtoLineReader *r, const char *expected)
{
    g_autofree char *line = NULL;
    gsize len = 0;
    ProtoLineStatus st = proto_line_reader_next(r, &line, &len);

    CU_ASSERT_EQUAL(st, PROTO_LINE_OK);
    CUNIT_ASSERT_STR(line, expected);
    CU_ASSERT_EQUAL(len, line != NULL ? strlen(line) : 0);
}

static void
expect_status(ProtoLineReader *r, ProtoLineStatus status)
{
    char *line = NULL;

    CU_ASSERT_EQUAL(proto_line_reader_next(r, &line, NULL), status);
    CU_ASSERT_PTR_NULL(line);
    g_free(line);
}

static void
test_reader_many_lines(void)
{
    g_autoptr(ProtoLineReader) r = proto_line_reader_new(PROTO_MAX_LINE);
    const char *data = "{\"execute\":\"a\"}\n{\"execute\":\"b\"}\n\n{\"execute\":\"c\"}\n{\"exe";

    proto_line_reader_feed(r, data, strlen(data));
    expect_line(r, "{\"execute\":\"a\"}");
    expect_line(r, "{\"execute\":\"b\"}");
    /* The blank line is skipped. */
    expect_line(r, "{\"execute\":\"c\"}");
    expect_status(r, PROTO_LINE_NONE);
    proto_line_reader_feed(r, "cute\":\"d\"}\n", 11);
    expect_line(r, "{\"execute\":\"d\"}");
    expect_status(r, PROTO_LINE_NONE);
}

static void
test_reader_split_feeds(void)
{
    g_autoptr(ProtoLineReader) r = proto_line_reader_new(PROTO_MAX_LINE);
    const char *line = "{\"execute\":\"get-topology\",\"id\":1}\n";

    /* One byte at a time. */
    for (gsize i = 0; line[i] != '\0'; i++) {
        expect_status(r, PROTO_LINE_NONE);
        proto_line_reader_feed(r, line + i, 1);
    }
    expect_line(r, "{\"execute\":\"get-topology\",\"id\":1}");
    expect_status(r, PROTO_LINE_NONE);
}

static void
test_reader_resync(void)
{
    g_autoptr(ProtoLineReader) r = proto_line_reader_new(PROTO_MAX_LINE);
    const char data[]
        = "{\"execute\":\"pi\xff{\"execute\":\"ping\"}\n\xff\n\xff\xff{\"a\":\xff{}\n";

    proto_line_reader_feed(r, data, sizeof(data) - 1);
    expect_line(r, "{\"execute\":\"ping\"}");
    expect_line(r, "{}");
    expect_status(r, PROTO_LINE_NONE);

    /* 0xFF in a later feed drops what an earlier feed left. */
    proto_line_reader_feed(r, "{\"half", 6);
    proto_line_reader_feed(r, "\xff", 1);
    proto_line_reader_feed(r, "{\"whole\":1}\n", 12);
    expect_line(r, "{\"whole\":1}");
    expect_status(r, PROTO_LINE_NONE);
}

static void
test_reader_too_long(void)
{
    g_autoptr(ProtoLineReader) r = proto_line_reader_new(PROTO_MAX_LINE);
    g_autofree char *chunk = g_malloc(4096);

    memset(chunk, 'a', 4096);
    /* 70000 bytes without a newline, in pieces: reported once. */
    for (guint i = 0; i < 17; i++)
        proto_line_reader_feed(r, chunk, 4096);
    proto_line_reader_feed(r, chunk, 70000 - 17 * 4096);
    expect_status(r, PROTO_LINE_TOO_LONG);
    expect_status(r, PROTO_LINE_NONE);
    /* A megabyte more of the same line: still nothing new, nothing kept. */
    for (guint i = 0; i < 256; i++)
        proto_line_reader_feed(r, chunk, 4096);
    expect_status(r, PROTO_LINE_NONE);
    /* Its end, then a good line in the same feed. */
    proto_line_reader_feed(r, "aaa\n{\"execute\":\"ping\"}\n", 23);
    expect_line(r, "{\"execute\":\"ping\"}");
    expect_status(r, PROTO_LINE_NONE);

    /* A line of exactly the limit passes; one byte more does not. */
    g_autoptr(ProtoLineReader) small = proto_line_reader_new(8);
    proto_line_reader_feed(small, "12345678\n123456789\nok\n", 22);
    expect_line(small, "12345678");
    expect_status(small, PROTO_LINE_TOO_LONG);
    expect_line(small, "ok");
    expect_status(small, PROTO_LINE_NONE);

    /* 0xFF also ends the discarding. */
    proto_line_reader_feed(small, "123456789abc\xff{}\n", 16);
    expect_status(small, PROTO_LINE_TOO_LONG);
    expect_line(small, "{}");
}

static void
test_reader_then_parse(void)
{
    /* The agent's path: reader, then parser, then a reply for each line. */
    g_autoptr(ProtoLineReader) r = proto_line_reader_new(PROTO_MAX_LINE);
    const char data[] = "[1]\n{\"execute\":\"ping\",\"id\":1}\n\xc3\x28\n";
    ProtoErrorClass expected[] = { PROTO_ERROR_PARSE, 99, PROTO_ERROR_PARSE };
    char *line;
    gsize len;
    guint i = 0;

    proto_line_reader_feed(r, data, sizeof(data) - 1);
    while (proto_line_reader_next(r, &line, &len) == PROTO_LINE_OK) {
        g_autoptr(GError) error = NULL;
        g_autoptr(ProtoRequest) req = proto_parse_request(line, len, NULL, &error);

        CU_ASSERT_FATAL(i < G_N_ELEMENTS(expected));
        if ((gint)expected[i] == 99) {
            CU_ASSERT_PTR_NOT_NULL(req);
        } else {
            CU_ASSERT_TRUE(g_error_matches(error, PROTO_ERROR, (gint)expected[i]));
        }
        g_free(line);
        i++;
    }
    CU_ASSERT_EQUAL(i, 3);
}

/* Issue 21: a message under bounds other than PROTO_MAX_LINE, its parsed
 * weight counted before json-glib builds it. */
static void
test_message_within_bounds(void)
{
    const char *small = "{\"return\":{\"a\":[1,2,{}]},\"id\":\"x\"}";
    ProtoMessageLimits roomy = { .max_line = 1024, .max_parsed = 1024 * 1024 };
    ProtoMessageLimits short_line = { .max_line = 10, .max_parsed = 1024 * 1024 };
    ProtoMessageLimits light = { .max_line = 1024, .max_parsed = 500 };
    JsonStrictReport report = { 0 };
    g_autoptr(GError) error = NULL;
    g_autoptr(ProtoMessage) ok = proto_parse_message_within(small, strlen(small), &roomy, &error);
    g_autoptr(ProtoMessage) too_long = NULL, too_heavy = NULL, huge = NULL;
    g_autofree char *big = NULL;

    CU_ASSERT_PTR_NOT_NULL(ok);
    /* the root, "return" and its object, "a" and its array, 1, 2, {}, "id" */
    CU_ASSERT_TRUE(json_strict_check(small, strlen(small), 16, &report, NULL));
    CU_ASSERT_EQUAL(report.containers, 4);
    CU_ASSERT_EQUAL(report.values, 7);
    CU_ASSERT_EQUAL(proto_parsed_weight(&report, strlen(small)),
                    7 * PROTO_WEIGHT_PER_VALUE + 4 * PROTO_WEIGHT_PER_CONTAINER + strlen(small));

    too_long = proto_parse_message_within(small, strlen(small), &short_line, &error);
    CU_ASSERT_PTR_NULL(too_long);
    CU_ASSERT_TRUE(g_error_matches(error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE));
    g_clear_error(&error);
    too_heavy = proto_parse_message_within(small, strlen(small), &light, &error);
    CU_ASSERT_PTR_NULL(too_heavy);
    CU_ASSERT_TRUE(g_error_matches(error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE));
    if (error)
        CUNIT_ASSERT_CONTAINS(error->message, "exceeds the limit of 500 bytes parsed");
    g_clear_error(&error);
    /* an integer beyond 64 bits from the agent is a ParseError here too */
    big = g_strdup("{\"return\":{\"n\":123456789012345678901234567890}}");
    huge = proto_parse_message_within(big, strlen(big), &roomy, &error);
    CU_ASSERT_PTR_NULL(huge);
    CU_ASSERT_TRUE(g_error_matches(error, PROTO_ERROR, PROTO_ERROR_PARSE));
}

void
register_protocol_suite(void)
{
    static const CunitTest tests[] = {
        { "request decodes", test_request_ok },
        { "a message within given bounds", test_message_within_bounds },
        { "not JSON is a ParseError", test_not_json },
        { "not an object is a ParseError", test_not_object },
        { "invalid UTF-8 is a ParseError", test_invalid_utf8 },
        { "deep nesting rejected without recursion", test_deep_nesting },
        { "line over the limit", test_long_line },
        { "wrong types, missing execute, extra keys", test_wrong_types },
        { "huge numbers", test_huge_numbers },
        { "id echo: strings and integers", test_id_echo },
        { "bad escapes and ids (issue 12, 9 and 10)", test_bad_escapes_and_ids },
        { "encoders produce single lines in contract order", test_encoders },
        { "error class names", test_error_classes },
        { "host-side message decoding", test_parse_messages },
        { "reader: many lines in one feed", test_reader_many_lines },
        { "reader: a line split across feeds", test_reader_split_feeds },
        { "reader: 0xFF resync mid-line", test_reader_resync },
        { "reader: overlong line discarded once", test_reader_too_long },
        { "reader then parser", test_reader_then_parse },
        { NULL, NULL },
    };
    cunit_add_suite("protocol", tests);
}
