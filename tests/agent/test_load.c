/* test_load.c: get-load and watch-load.  Unit: /proc/stat and PSI parsing
 * and the fractions on fake texts.  Integration: the real agent with
 * --proc-root on fake files, and on --listen. */
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "agent_test.h"
#include "fake_sysfs.h"
#include "load.h"

/* A /proc/stat with two CPUs; columns user nice system idle iowait irq
 * softirq steal guest guest_nice. */
static const char stat_a[] = "cpu  300 0 100 1600 0 0 0 0 0 0\n"
                             "cpu0 100 0 50 800 0 0 0 0 0 0\n"
                             "cpu1 200 0 50 800 0 0 0 0 50 0\n"
                             "intr 12345 0 0\n"
                             "ctxt 99\n"
                             "procs_running 3\n"
                             "procs_blocked 0\n";
/* 400 ticks later on each: cpu0 100 busy (25 %) + 100 steal, cpu1 300 busy
 * (75 %) of which 20 irq + 10 softirq, guest 100 (already in user). */
static const char stat_b[] = "cpu  500 0 200 2000 0 20 10 100 100 0\n"
                             "cpu0 150 0 100 1000 0 0 0 100 0 0\n"
                             "cpu1 410 10 100 900 0 20 10 0 150 0\n"
                             "procs_running 5\n";

static const char psi_text[] = "some avg10=12.50 avg60=3.25 avg300=1.00 total=123456\n"
                               "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n";

static void
test_parse_stat(void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(LoadSample) a = load_parse_stat(stat_a, &error);
    const LoadCpu *cpu1;

    g_assert_no_error(error);
    CU_ASSERT_EQUAL_FATAL(a->cpus->len, 2);
    cpu1 = &g_array_index(a->cpus, LoadCpu, 1);
    CU_ASSERT_EQUAL(cpu1->id, 1);
    CU_ASSERT_EQUAL(cpu1->busy, 250); /* guest 50 not added again */
    CU_ASSERT_EQUAL(cpu1->total, 1050);
    CU_ASSERT_EQUAL(a->runnable, 3);
    {
        /* An old kernel's four columns; no procs_running. */
        g_autoptr(LoadSample) old = load_parse_stat("cpu0 1 2 3 4\n", &error);

        g_assert_no_error(error);
        CU_ASSERT_EQUAL(g_array_index(old->cpus, LoadCpu, 0).busy, 6);
        CU_ASSERT_EQUAL(g_array_index(old->cpus, LoadCpu, 0).total, 10);
        CU_ASSERT_EQUAL(old->runnable, -1);
    }
}

static void
test_parse_stat_rejects(void)
{
    const char *bad[] = {
        "",
        "cpu  1 2 3 4\n",
        "cpu0 1 2 3\n",
        "cpu0 1 2 x 4\n",
        "cpu0 -1 2 3 4\n",
        "cpu99999 1 2 3 4\n",
        "cpux 1 2 3 4\nhello\n",
    };

    for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(GError) error = NULL;
        g_autoptr(LoadSample) s = load_parse_stat(bad[i], &error);

        if (s != NULL)
            fprintf(stderr, "\naccepted: '%s'\n", bad[i]);
        CU_ASSERT_PTR_NULL(s);
        CU_ASSERT_TRUE(g_error_matches(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA));
    }
}

static void
test_parse_pressure(void)
{
    LoadPressure p = { -1, -1 };

    CU_ASSERT_TRUE(load_parse_pressure(psi_text, &p));
    CU_ASSERT_DOUBLE_EQUAL(p.some_avg10, 0.125, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(p.some_avg60, 0.0325, 1e-9);
    CU_ASSERT_FALSE(load_parse_pressure("", &p));
    CU_ASSERT_FALSE(load_parse_pressure("full avg10=1.00 avg60=1.00\n", &p));
    CU_ASSERT_FALSE(load_parse_pressure("some avg10=abc avg60=1.00\n", &p));
    CU_ASSERT_FALSE(load_parse_pressure("some avg10=101.00 avg60=1.00\n", &p));
}

static JsonObject *
parse_object(const char *text)
{
    g_autoptr(JsonParser) parser = json_parser_new();
    g_autoptr(GError) error = NULL;

    if (!json_parser_load_from_data(parser, text, -1, &error))
        g_error("not JSON: %s: %s", text, error->message);
    return json_object_ref(json_node_get_object(json_parser_get_root(parser)));
}

static void
test_fractions(void)
{
    g_autoptr(LoadSample) a = load_parse_stat(stat_a, NULL);
    g_autoptr(LoadSample) b = load_parse_stat(stat_b, NULL);
    g_autoptr(GString) out = g_string_new(NULL);
    LoadPressure p = { 0.125, 0.0325 };
    g_autoptr(JsonObject) o = NULL;
    JsonArray *cpus;

    b->taken_at = a->taken_at + 5 * G_USEC_PER_SEC;
    load_write_json(a, b, &p, out);
    o = parse_object(out->str);
    CUNIT_ASSERT_CONTAINS(out->str, "\"seconds\":5.000");
    cpus = json_object_get_array_member(o, "cpus");
    CU_ASSERT_EQUAL_FATAL(json_array_get_length(cpus), 2);
    CU_ASSERT_DOUBLE_EQUAL(
        json_object_get_double_member(json_array_get_object_element(cpus, 0), "busy"), 0.25, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(
        json_object_get_double_member(json_array_get_object_element(cpus, 0), "steal"), 0.25, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(
        json_object_get_double_member(json_array_get_object_element(cpus, 1), "busy"), 0.75, 1e-9);
    /* Overall: (100 + 300) / (400 + 400); steal 100 / 800. */
    CU_ASSERT_DOUBLE_EQUAL(json_object_get_double_member(o, "busy"), 0.5, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(json_object_get_double_member(o, "steal"), 0.125, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(
        json_object_get_double_member(json_object_get_object_member(o, "pressure"), "some-avg10"),
        0.125, 1e-9);
    CU_ASSERT_EQUAL(json_object_get_int_member(o, "runnable"), 5);
    CUNIT_ASSERT_CONTAINS(out->str, "\"busy\":0.2500,\"steal\":0.2500");
}

/* A CPU that came online between the samples, no time passed, no PSI, a
 * counter that went backwards: nulls and zeros, never garbage. */
static void
test_fractions_edges(void)
{
    g_autoptr(LoadSample) a = load_parse_stat("cpu0 10 0 0 10 0 0 0 0\n", NULL);
    g_autoptr(LoadSample) b = load_parse_stat("cpu0 5 0 0 30 0 0 0 0\ncpu3 1 0 0 1\n", NULL);
    g_autoptr(GString) out = g_string_new(NULL);
    g_autoptr(GString) same = g_string_new(NULL);
    g_autoptr(GString) first = g_string_new(NULL);

    load_write_json(a, b, NULL, out);
    CUNIT_ASSERT_CONTAINS(out->str, "{\"id\":0,\"busy\":0.0000,\"steal\":0.0000}");
    CUNIT_ASSERT_CONTAINS(out->str, "{\"id\":3,\"busy\":null,\"steal\":null}");
    CUNIT_ASSERT_CONTAINS(out->str, "\"pressure\":null");
    CUNIT_ASSERT_CONTAINS(out->str, "\"runnable\":null");
    load_write_json(a, a, NULL, same);
    CUNIT_ASSERT_CONTAINS(same->str, "\"busy\":null,\"steal\":null,\"cpus\"");
    load_write_json(NULL, a, NULL, first);
    CUNIT_ASSERT_CONTAINS(first->str, "{\"id\":0,\"busy\":null,\"steal\":null}");
    g_autoptr(JsonObject) o = parse_object(out->str);
    g_autoptr(JsonObject) o2 = parse_object(same->str);
}

/* ---- the real agent ------------------------------------------------------ */

static char *
fake_proc(const char *stat, const char *pressure)
{
    g_autoptr(GError) error = NULL;
    char *dir = g_dir_make_tmp("hotcpu-proc-XXXXXX", &error);

    g_assert_no_error(error);
    write_text(dir, "stat", stat);
    if (pressure != NULL) {
        g_autofree char *sub = g_build_filename(dir, "pressure", NULL);

        g_assert(g_mkdir(sub, 0755) == 0);
        write_text(sub, "cpu", pressure);
    }
    return dir;
}

static void
remove_fake_proc(char *dir)
{
    g_autofree char *stat = g_build_filename(dir, "stat", NULL);
    g_autofree char *cpu = g_build_filename(dir, "pressure", "cpu", NULL);
    g_autofree char *sub = g_build_filename(dir, "pressure", NULL);

    unlink(stat);
    unlink(cpu);
    rmdir(sub);
    rmdir(dir);
    g_free(dir);
}

static JsonObject *
call_return(RawClient *c, const char *line)
{
    JsonNode *reply = raw_call(c, line);
    JsonObject *ret = reply_return(reply);

    CU_ASSERT_PTR_NOT_NULL_FATAL(ret);
    json_object_ref(ret);
    json_node_unref(reply);
    return ret;
}

static void
test_get_load_twice(void)
{
    char *tree = fake_sysfs_new_simple(2, 2, 2);
    char *proc = fake_proc(stat_a, psi_text);
    const char *args[] = { "--proc-root", proc, NULL };
    TestAgent *agent = test_agent_start(tree, NULL, args);
    RawClient *c = raw_connect(agent);
    RawClient *other = raw_connect(agent);
    g_autoptr(JsonObject) first = NULL;
    g_autoptr(JsonObject) second = NULL;
    g_autoptr(JsonObject) others = NULL;

    /* First call: since the agent started, when it read stat_a. */
    write_text(proc, "stat", stat_b);
    first = call_return(c, "{\"execute\": \"get-load\"}");
    CU_ASSERT_DOUBLE_EQUAL(json_object_get_double_member(first, "busy"), 0.5, 1e-9);
    CU_ASSERT_EQUAL(json_object_get_int_member(first, "runnable"), 5);
    CU_ASSERT_DOUBLE_EQUAL(json_object_get_double_member(
                               json_object_get_object_member(first, "pressure"), "some-avg60"),
                           0.0325, 1e-9);
    /* Second call: since the first; nothing moved. */
    second = call_return(c, "{\"execute\": \"get-load\"}");
    CU_ASSERT_TRUE(json_object_get_null_member(second, "busy"));
    /* Another client's first call is since the start, not since c's. */
    others = call_return(other, "{\"execute\": \"get-load\"}");
    CU_ASSERT_DOUBLE_EQUAL(json_object_get_double_member(others, "busy"), 0.5, 1e-9);
    {
        g_autoptr(JsonNode) bad
            = raw_call(c, "{\"execute\": \"get-load\", \"arguments\": {\"x\": 1}}");
        CUNIT_ASSERT_STR(reply_error_class(bad), "InvalidParameter");
    }
    raw_free(c);
    raw_free(other);
    CU_ASSERT_EQUAL(test_agent_stop(agent), 0);
    remove_fake_proc(proc);
    fake_sysfs_destroy(tree);
}

static void
test_get_load_without_psi_or_stat(void)
{
    char *tree = fake_sysfs_new_simple(2, 2, 2);
    char *proc = fake_proc(stat_a, NULL);
    const char *args[] = { "--proc-root", proc, NULL };
    TestAgent *agent = test_agent_start(tree, NULL, args);
    RawClient *c = raw_connect(agent);
    g_autoptr(JsonObject) r = call_return(c, "{\"execute\": \"get-load\"}");
    g_autofree char *stat = g_build_filename(proc, "stat", NULL);

    CU_ASSERT_TRUE(json_object_get_null_member(r, "pressure"));
    unlink(stat);
    {
        g_autoptr(JsonNode) failed = raw_call(c, "{\"execute\": \"get-load\", \"id\": 4}");
        CUNIT_ASSERT_STR(reply_error_class(failed), "OperationFailed");
        CUNIT_ASSERT_CONTAINS(reply_error_desc(failed), "stat");
    }
    raw_free(c);
    CU_ASSERT_EQUAL(test_agent_stop(agent), 0);
    remove_fake_proc(proc);
    fake_sysfs_destroy(tree);
}

static void
test_watch_load_events(void)
{
    char *tree = fake_sysfs_new_simple(2, 2, 2);
    char *proc = fake_proc(stat_a, psi_text);
    const char *args[] = { "--proc-root", proc, NULL };
    TestAgent *agent = test_agent_start(tree, NULL, args);
    RawClient *c = raw_connect(agent);
    g_autoptr(JsonObject) ok = NULL;
    gint64 last;
    const char *bad[] = { "0", "3601", "-1", "\"1\"", "1.5", "null" };

    for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autofree char *line = g_strdup_printf(
            "{\"execute\": \"watch-load\", \"arguments\": {\"interval\": %s}}", bad[i]);
        g_autoptr(JsonNode) r = raw_call(c, line);

        CUNIT_ASSERT_STR(reply_error_class(r), "InvalidParameter");
    }
    {
        g_autoptr(JsonNode) r = raw_call(c, "{\"execute\": \"watch-load\"}");
        CUNIT_ASSERT_STR(reply_error_class(r), "InvalidParameter");
    }
    ok = call_return(c, "{\"execute\": \"watch-load\", \"arguments\": {\"interval\": 1}}");
    CU_ASSERT_EQUAL(json_object_get_size(ok), 0);
    last = g_get_monotonic_time();
    write_text(proc, "stat", stat_b);
    for (int i = 0; i < 3; i++) {
        g_autoptr(JsonNode) ev = raw_event(c, 3000);
        JsonObject *obj;
        gint64 now = g_get_monotonic_time();

        CU_ASSERT_PTR_NOT_NULL_FATAL(ev);
        obj = json_node_get_object(ev);
        CUNIT_ASSERT_STR(json_object_get_string_member(obj, "event"), "load");
        /* About a second apart. */
        CU_ASSERT(now - last > 800 * 1000 && now - last < 1600 * 1000);
        if (i == 0)
            CU_ASSERT_DOUBLE_EQUAL(
                json_object_get_double_member(json_object_get_object_member(obj, "data"), "busy"),
                0.5, 1e-9);
        last = now;
    }
    raw_free(c);
    CU_ASSERT_EQUAL(test_agent_stop(agent), 0);
    remove_fake_proc(proc);
    fake_sysfs_destroy(tree);
}

/* The same watch asked for again (a watcher back after yielding the
 * port to a short client) keeps its period: restarted each time, a watcher
 * that yields more often than the interval never got an event (watch
 * --load beside autoscale). */
static void
test_watch_load_again_keeps_period(void)
{
    char *tree = fake_sysfs_new_simple(2, 2, 2);
    char *proc = fake_proc(stat_a, psi_text);
    const char *args[] = { "--proc-root", proc, NULL };
    TestAgent *agent = test_agent_start(tree, NULL, args);
    RawClient *c = raw_connect(agent);
    const char *watch3 = "{\"execute\": \"watch-load\", \"arguments\": {\"interval\": 3}}";
    g_autoptr(JsonObject) first = call_return(c, watch3);
    gint64 t0 = g_get_monotonic_time();
    g_autoptr(JsonObject) again = NULL;
    g_autoptr(JsonNode) ev = NULL;

    g_usleep(1500 * 1000);
    again = call_return(c, watch3);
    CU_ASSERT_PTR_NOT_NULL(again);
    ev = raw_event(c, 4000);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ev);
    /* 3 s after the first ask, not 3 s after the second (4.5 s). */
    CU_ASSERT(g_get_monotonic_time() - t0 < 3900 * 1000);
    raw_free(c);
    CU_ASSERT_EQUAL(test_agent_stop(agent), 0);
    remove_fake_proc(proc);
    fake_sysfs_destroy(tree);
}

/* Events go to the watcher alone, and stop when it leaves: another client
 * sees none. */
static void
test_watch_load_stops_when_client_leaves(void)
{
    char *tree = fake_sysfs_new_simple(2, 2, 2);
    char *proc = fake_proc(stat_a, NULL);
    const char *args[] = { "--proc-root", proc, NULL };
    TestAgent *agent = test_agent_start(tree, NULL, args);
    RawClient *watcher = raw_connect(agent);
    RawClient *other = raw_connect(agent);
    g_autoptr(JsonObject) ok
        = call_return(watcher, "{\"execute\": \"watch-load\", \"arguments\": {\"interval\": 1}}");
    g_autoptr(JsonNode) ev = raw_event(watcher, 3000);
    g_autoptr(JsonNode) none = NULL;

    CU_ASSERT_PTR_NOT_NULL(ev);
    none = raw_event(other, 1500);
    CU_ASSERT_PTR_NULL(none);
    raw_free(watcher);
    {
        g_autoptr(JsonNode) pong = raw_call(other, "{\"execute\": \"ping\"}");
        CU_ASSERT_PTR_NOT_NULL(reply_return(pong));
    }
    raw_free(other);
    CU_ASSERT_EQUAL(test_agent_stop(agent), 0);
    remove_fake_proc(proc);
    fake_sysfs_destroy(tree);
}

static const CunitTest unit_tests[] = {
    { "/proc/stat parsing", test_parse_stat },
    { "/proc/stat garbage refused", test_parse_stat_rejects },
    { "/proc/pressure/cpu parsing", test_parse_pressure },
    { "busy and steal fractions", test_fractions },
    { "fractions: new CPU, no time, no PSI, counters back", test_fractions_edges },
    { NULL, NULL },
};

static const CunitTest agent_tests[] = {
    { "get-load twice, per client", test_get_load_twice },
    { "get-load without PSI, without stat", test_get_load_without_psi_or_stat },
    { "watch-load: validation, events every second", test_watch_load_events },
    { "watch-load: to the watcher only, until it leaves",
      test_watch_load_stops_when_client_leaves },
    { "watch-load asked again keeps its period", test_watch_load_again_keeps_period },
    { NULL, NULL },
};

void
register_load_suite(void)
{
    cunit_add_suite("load", unit_tests);
}

void
register_load_agent_suite(void)
{
    cunit_add_suite("load-agent", agent_tests);
}
