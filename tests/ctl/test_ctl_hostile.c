/* test_ctl_hostile.c: a compromised guest against the host's programs
 * (issue 18).  libvirt's test driver as in the other ctl tests; the guest
 * side is a stand-in agent on the channel's unix socket that answers as a
 * compromised guest would: it streams events or replies meant for others
 * for as long as the host listens, sends events that parse to megabytes,
 * reports CPUs the domain cannot have, and puts terminal controls and
 * numbers json-glib cannot print into what `watch` shows.
 *
 * Each attack runs against the commands it reaches, and each run is held
 * to the same promises: its wall time within its deadline and a second,
 * the peak RSS of the programs run under HOSTILE_MAX_RSS_KB, output that is
 * valid UTF-8 without control characters, JSON that parses, no
 * Json-CRITICAL, and the contract's exit code.
 */
#include <CUnit/Basic.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cunit_runner.h"
#include "fake_agent.h"
#include "json_strict.h"
#include "protocol.h"

#include "ctl_fixture.h"

/* The most a program run here may hold: hotcpu-ctl on the test driver
 * takes some 20 MB; the events set aside may weigh 8 MiB.  Under a
 * sanitizer (HOTCPU_TEST_SANITIZED=1) its shadow memory and quarantine
 * count too: the bound is 512 MiB there, still far below what the old
 * code took (1.67 GB in the issue). */
#define HOSTILE_MAX_RSS_KB (sanitized() ? 512 * 1024 : 64 * 1024)
static gboolean
sanitized(void)
{
    return g_strcmp0(g_getenv("HOTCPU_TEST_SANITIZED"), "1") == 0;
}

/* ---- the stand-in agent (tests/common/fake_agent.h) ---------------------- */

#define REPLY_OK "{\"return\":{},\"id\":@ID@}"
#define FLOOD FAKE_AGENT_FLOOD

/* ---- what a guest sends ------------------------------------------------------ */

#define TOPOLOGY_2                                                                                 \
    "{\"online\":\"0-1\",\"present\":\"0-1\",\"possible\":\"0-7\",\"online-count\":2,"             \
    "\"present-count\":2,\"sockets\":1,\"cores-per-socket\":2,\"threads-per-core\":1,\"cpus\":["   \
    "{\"id\":0,\"online\":true,\"can-offline\":false,\"socket\":0,\"die\":0,\"core\":0,"           \
    "\"node\":0,\"siblings\":[0]},"                                                                \
    "{\"id\":1,\"online\":true,\"can-offline\":true,\"socket\":0,\"die\":0,\"core\":1,"            \
    "\"node\":0,\"siblings\":[1]}]}"

/* Four CPUs present and online, with ids a domain of 8 vCPUs cannot have. */
#define TOPOLOGY_FAR_IDS                                                                           \
    "{\"online\":\"8188-8191\",\"present\":\"8188-8191\",\"possible\":\"0-8191\","                 \
    "\"online-count\":4,\"present-count\":4,\"sockets\":null,\"cores-per-socket\":null,"           \
    "\"threads-per-core\":null,\"cpus\":[]}"

/* Four online of two present. */
#define TOPOLOGY_MORE_ONLINE                                                                       \
    "{\"online\":\"0-3\",\"present\":\"0-1\",\"possible\":\"0-7\",\"online-count\":4,"             \
    "\"present-count\":2,\"sockets\":null,\"cores-per-socket\":null,"                              \
    "\"threads-per-core\":null,\"cpus\":[]}"

#define NOISE_EVENT "{\"event\":\"noise\",\"data\":{\"n\":1}}\n"
#define OTHER_REPLY "{\"return\":{},\"id\":\"someone-else\"}\n"

/* An event of 21,800 empty objects: 64 KB on the wire, some 6.5 MB parsed. */
static char *
dense_event(void)
{
    GString *s = g_string_new("{\"event\":\"dense\",\"data\":{\"x\":[{}");

    while (s->len < PROTO_MAX_LINE - 16)
        g_string_append(s, ",{}");
    g_string_append(s, "]}}\n");
    return g_string_free(s, FALSE);
}

/* A reply to nobody of 21,800 empty objects. */
static char *
dense_other_reply(void)
{
    GString *s = g_string_new("{\"return\":{\"x\":[{}");

    while (s->len < PROTO_MAX_LINE - 64)
        g_string_append(s, ",{}");
    g_string_append(s, "]},\"id\":\"someone-else\"}\n");
    return g_string_free(s, FALSE);
}

/* ---- the promises -------------------------------------------------------------- */

/* RFC 8259, as our own strict checker reads it. */
static gboolean
proto_json_is_strict(const char *line)
{
    return json_strict_check(line, strlen(line), JSON_STRICT_DEPTH_LIMIT, NULL, NULL);
}

/* Text fit for a terminal: valid UTF-8, no control character but the
 * newlines ending our lines. */
static void
assert_printable(const char *what, const char *text)
{
    CU_ASSERT_TRUE_FATAL(g_utf8_validate(text, -1, NULL));
    for (const char *p = text; *p; p = g_utf8_next_char(p)) {
        gunichar c = g_utf8_get_char(p);

        if (c == '\n')
            continue;
        if (c < 0x20 || (c >= 0x7F && c <= 0x9F) || c == 0x202E) {
            fprintf(stderr, "\ncontrol character U+%04X in %s: %.300s\n", c, what, text);
            CU_FAIL("a control character reached the output");
            return;
        }
    }
    CUNIT_ASSERT_NOT_CONTAINS(text, "\nerror: forged");
    CU_ASSERT_FALSE(g_str_has_prefix(text, "error: forged"));
}

/* Every string in @node is fit for a terminal (jq -r prints them raw). */
static void
assert_json_strings(JsonNode *node)
{
    if (JSON_NODE_HOLDS_OBJECT(node)) {
        JsonObjectIter iter;
        const char *key;
        JsonNode *member;

        json_object_iter_init(&iter, json_node_get_object(node));
        while (json_object_iter_next(&iter, &key, &member)) {
            assert_printable("a JSON key", key);
            assert_json_strings(member);
        }
    } else if (JSON_NODE_HOLDS_ARRAY(node)) {
        JsonArray *a = json_node_get_array(node);

        for (guint i = 0; i < json_array_get_length(a); i++)
            assert_json_strings(json_array_get_element(a, i));
    } else if (JSON_NODE_HOLDS_VALUE(node) && json_node_get_value_type(node) == G_TYPE_STRING) {
        assert_printable("a JSON string", json_node_get_string(node));
    }
}

/* Every line of @text parses as a JSON object (strictly: json-glib takes
 * 1e+17.0, which is not JSON), and no string in it holds a control
 * character. */
static void
assert_json_lines(const char *text)
{
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);

    for (guint i = 0; lines[i]; i++) {
        g_autoptr(JsonParser) p = json_parser_new();
        g_autoptr(GError) error = NULL;

        if (!*lines[i])
            continue;
        if (!json_parser_load_from_data(p, lines[i], -1, &error)
            || !JSON_NODE_HOLDS_OBJECT(json_parser_get_root(p))
            || !proto_json_is_strict(lines[i])) {
            fprintf(stderr, "\nnot a JSON object (%s): %.300s\n", error ? error->message : "",
                    lines[i]);
            CU_FAIL("a --json line is not valid JSON");
            continue;
        }
        assert_json_strings(json_parser_get_root(p));
    }
}

/* The largest RSS of any program run so far (a child or a child's child
 * that was waited for), in KiB. */
static long
children_max_rss_kb(void)
{
    struct rusage ru;

    getrusage(RUSAGE_CHILDREN, &ru);
    return ru.ru_maxrss;
}

/* The run since @before_kb (children_max_rss_kb() before it) stayed under
 * the bound.  The kernel keeps only the maximum over all children: a run
 * that grew it shows its own peak; one that did not peaked below the old
 * maximum, which tells nothing once an earlier run (which failed for it)
 * went over. */
static void
assert_rss_bounded(const char *what, long before_kb)
{
    long kb = children_max_rss_kb();

    if (kb == before_kb && before_kb >= HOSTILE_MAX_RSS_KB)
        return;
    if (kb >= HOSTILE_MAX_RSS_KB)
        fprintf(stderr, "\n%s: a program reached %ld MiB of RSS\n", what, kb / 1024);
    CU_ASSERT_TRUE(kb < HOSTILE_MAX_RSS_KB);
}

/* The common checks of a run that took @elapsed_us against @bound_s. */
static void
assert_run(Fx *fx, const char *what, gint64 elapsed_us, double bound_s, long rss_before_kb)
{
    double s = elapsed_us / 1e6;

    if (g_getenv("HOTCPU_TEST_VERBOSE"))
        fprintf(stderr, "[%s: %.2f s of %.1f, exit %d, max RSS %ld MiB]\n", what, s, bound_s,
                fx->status, children_max_rss_kb() / 1024);

    if (s > bound_s)
        fprintf(stderr, "\n%s took %.1f s, more than %.1f s\n[exit %d] stderr: %.500s\n", what, s,
                bound_s, fx->status, fx->err);
    CU_ASSERT_TRUE(s <= bound_s);
    assert_printable(what, fx->out);
    assert_printable(what, fx->err);
    CUNIT_ASSERT_NOT_CONTAINS(fx->err, "CRITICAL");
    if (fx->out[0] == '{')
        assert_json_lines(fx->out);
    assert_rss_bounded(what, rss_before_kb);
}

/* Runs hotcpu-ctl; checks the run against @bound_s; returns its exit. */
static int
run_checked(Fx *fx, double bound_s, const char *const *args)
{
    long rss = children_max_rss_kb();
    gint64 start = g_get_monotonic_time();
    g_autofree char *what = g_strjoinv(" ", (char **)args);
    int rc = fx_run_v(fx, args);

    assert_run(fx, what, g_get_monotonic_time() - start, bound_s, rss);
    return rc;
}
#define RUN(fx, bound, ...) run_checked((fx), (bound), (const char *const[]){ __VA_ARGS__, NULL })

/* ---- time: a guest that never stops talking ------------------------------------- */

/* The agent's per-question limit (GUEST_CALL_TIMEOUT_MS) and a second. */
#define CALL_BOUND_S 4.0

static void
check_flood(const char *line)
{
    Fx *fx = fx_new();
    const FakeAnswer answers[] = {
        { "ping", "{\"return\":{},\"id\":@ID@}", NULL, 0 },
        { "get-topology", NULL, line, FLOOD },
        { "set-num-cpus", NULL, line, FLOOD },
        { "set-online-cpus", NULL, line, FLOOD },
        { NULL, NULL, NULL, 0 },
    };
    FakeAgent *h = fake_agent_start_in(fx->dir, answers, NULL);
    Dom d = { .name = "web1", .current = 2, .agent_socket = h->socket };
    JsonObject *rec;

    fx_domain(fx, &d);
    CU_ASSERT_EQUAL(RUN(fx, CALL_BOUND_S, "topology", "web1"), 7);
    CU_ASSERT_EQUAL(RUN(fx, CALL_BOUND_S, "--json", "topology", "web1"), 7);
    CU_ASSERT_EQUAL(RUN(fx, CALL_BOUND_S, "get", "web1"), 0);
    /* guest-set has no --timeout: the agent's set limit (20 s) bounds it */
    CU_ASSERT_EQUAL(RUN(fx, 21.0, "guest-set", "web1", "1"), 7);
    /* set: the probe, the snapshot and the confirmation, each within
     * --timeout (2 s); the domain is changed and the guest unconfirmed */
    CU_ASSERT_EQUAL(RUN(fx, 3 * 2 + 1.0, "--json", "set", "web1", "4", "--timeout", "2"), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fx->json);
    CU_ASSERT_STRING_EQUAL(json_object_get_string_member(fx->json, "guest"), "unconfirmed");
    rec = fx_audit_last(fx, 2); /* guest-set's, then set's */
    CU_ASSERT_PTR_NOT_NULL(rec);
    if (rec)
        CU_ASSERT_STRING_EQUAL(json_object_get_string_member(rec, "command"), "set");
    if (rec)
        json_object_unref(rec);
    /* the lock was given back: the next set runs */
    CU_ASSERT_EQUAL(RUN(fx, 3 * 2 + 1.0, "set", "web1", "2", "--timeout", "2"), 0);
    fake_agent_stop(h);
    fx_free(fx);
}

static void
test_flood_events(void)
{
    check_flood(NOISE_EVENT);
}

static void
test_flood_other_ids(void)
{
    check_flood(OTHER_REPLY);
}

/* Replies to nobody that cost the host time to parse: it reads them
 * slower than 8 MiB per deadline, so the deadline ends each call, not the
 * byte cap, and data is always waiting. */
static void
test_flood_dense_other_ids(void)
{
    g_autofree char *dense = dense_other_reply();

    check_flood(dense);
}

/* An agent that reports its topology but never answers set-num-cpus:
 * `set 1 --timeout 1` took 40 s and said "unconfirmed", exit 0; now the
 * whole wait keeps to --timeout and says the guest did not get there. */
static void
test_set_num_cpus_silent(void)
{
    Fx *fx = fx_new();
    const FakeAnswer answers[] = {
        { "ping", REPLY_OK, NULL, 0 },
        { "get-topology", "{\"return\":" TOPOLOGY_2 ",\"id\":@ID@}", NULL, 0 },
        { "set-num-cpus", NULL, NULL, 0 },
        { NULL, NULL, NULL, 0 },
    };
    FakeAgent *h = fake_agent_start_in(fx->dir, answers, NULL);
    Dom d = { .name = "web1", .current = 2, .agent_socket = h->socket };

    fx_domain(fx, &d);
    /* the probe, the snapshot, the prepare's question and set-num-cpus,
     * each within --timeout 1, and the wait within it */
    CU_ASSERT_EQUAL(RUN(fx, 5 * 1 + 1.0, "--json", "set", "web1", "1", "--timeout", "1"), 6);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fx->json);
    CU_ASSERT_STRING_EQUAL(json_object_get_string_member(fx->json, "guest"), "unconfirmed");
    fake_agent_stop(h);
    fx_free(fx);
}

/* ---- memory: events that parse to megabytes --------------------------------------- */

/* 40 events of 64 KB that parse to some 6.5 MB each before every honest
 * reply took set and topology to 1.67 GB; now the connection is dropped
 * when the events set aside weigh 8 MiB. */
static void
test_dense_events(void)
{
    Fx *fx = fx_new();
    g_autofree char *dense = dense_event();
    const FakeAnswer answers[] = {
        { "ping", REPLY_OK, NULL, 0 },
        { "get-topology", "{\"return\":" TOPOLOGY_2 ",\"id\":@ID@}", dense, 40 },
        { "set-num-cpus", "{\"return\":{\"topology\":" TOPOLOGY_2 "},\"id\":@ID@}", dense, 40 },
        { NULL, NULL, NULL, 0 },
    };
    FakeAgent *h = fake_agent_start_in(fx->dir, answers, NULL);
    Dom d = { .name = "web1", .current = 2, .agent_socket = h->socket };

    fx_domain(fx, &d);
    CU_ASSERT_EQUAL(RUN(fx, CALL_BOUND_S, "topology", "web1"), 7);
    CUNIT_ASSERT_CONTAINS(fx->err, "MiB");
    CUNIT_ASSERT_CONTAINS(fx->err, "'web1'");
    CU_ASSERT_EQUAL(RUN(fx, CALL_BOUND_S, "get", "web1"), 0);
    CU_ASSERT_EQUAL(RUN(fx, 21.0, "guest-set", "web1", "2"), 7);
    CU_ASSERT_EQUAL(RUN(fx, 3 * 2 + 1.0, "--json", "set", "web1", "4", "--timeout", "2"), 0);
    fake_agent_stop(h);
    fx_free(fx);
}

/* Issue 21: the bounds grow with the domain, and no more.  A domain of 8192
 * vCPUs takes lines of 2.1 MiB and 40 MiB of events set aside; its guest
 * sending lines of 2 MiB of "{}," (240 MB parsed each) is refused before
 * parsing, and 40 topology-changed events of 8192 CPUs (0.9 MB, 12 MB
 * parsed each) end the connection at the bound.  The most any program
 * takes then: HOSTILE_MAX_RSS_BIG_KB. */
#define HOSTILE_MAX_RSS_BIG_KB (sanitized() ? 1024 * 1024 : 128 * 1024)

/* A line of @bytes of empty objects, an event. */
static char *
dense_event_of(gsize bytes)
{
    GString *s = g_string_new("{\"event\":\"dense\",\"data\":{\"x\":[{}");

    while (s->len < bytes - 16)
        g_string_append(s, ",{}");
    g_string_append(s, "]}}\n");
    return g_string_free(s, FALSE);
}

/* A topology-changed of @n CPUs, all online, as the agent writes it. */
static char *
big_topology_event(guint n)
{
    GString *s = g_string_new(NULL);

    g_string_append_printf(s,
                           "{\"event\":\"topology-changed\",\"data\":{\"online\":\"0-%u\","
                           "\"present\":\"0-%u\",\"possible\":\"0-%u\",\"online-count\":%u,"
                           "\"present-count\":%u,\"sockets\":1,\"cores-per-socket\":%u,"
                           "\"threads-per-core\":1,\"cpus\":[",
                           n - 1, n - 1, n - 1, n, n, n);
    for (guint i = 0; i < n; i++)
        g_string_append_printf(s,
                               "%s{\"id\":%u,\"online\":true,\"can-offline\":%s,\"socket\":0,"
                               "\"die\":0,\"core\":%u,\"node\":0,\"siblings\":[%u]}",
                               i ? "," : "", i, i ? "true" : "false", i, i);
    g_string_append(s, "]}}\n");
    return g_string_free(s, FALSE);
}

/* Runs hotcpu-ctl topology big: within @bound_s, exit 7, its stderr
 * holding @said; the peak RSS under HOSTILE_MAX_RSS_BIG_KB. */
static void
check_big_topology(Fx *fx, double bound_s, const char *said)
{
    gint64 start = g_get_monotonic_time();
    int rc = fx_run(fx, "topology", "big");
    double s = (g_get_monotonic_time() - start) / 1e6;
    long rss = children_max_rss_kb();

    if (g_getenv("HOTCPU_TEST_VERBOSE") || rss >= HOSTILE_MAX_RSS_BIG_KB || s > bound_s)
        fprintf(stderr, "\n[a domain of 8192 vCPUs: %.2f s of %.1f, peak RSS %ld MiB of %d]\n", s,
                bound_s, rss / 1024, HOSTILE_MAX_RSS_BIG_KB / 1024);
    CU_ASSERT_EQUAL(rc, 7);
    CU_ASSERT_TRUE(s <= bound_s);
    CU_ASSERT_TRUE(rss < HOSTILE_MAX_RSS_BIG_KB);
    CUNIT_ASSERT_CONTAINS(fx->err, said);
    assert_printable("topology big", fx->err);
}

static void
test_big_domain_bounds(void)
{
    Fx *fx = fx_new();
    g_autofree char *dense = dense_event_of(2 * 1024 * 1024);
    g_autofree char *topo = big_topology_event(8192);
    FakeAnswer answers[] = {
        { "ping", REPLY_OK, NULL, 0 },
        { "get-topology", "{\"return\":" TOPOLOGY_2 ",\"id\":@ID@}", dense, 40 },
        { NULL, NULL, NULL, 0 },
    };
    FakeAgent *h = fake_agent_start_in(fx->dir, answers, NULL);
    Dom d = { .name = "big", .current = 2, .max = 8192, .agent_socket = h->socket };

    fx_domain(fx, &d);
    check_big_topology(fx, CALL_BOUND_S, "bytes parsed, for a domain of 8192 vCPUs");
    fake_agent_stop(h);

    answers[1]
        = (FakeAnswer){ "get-topology", "{\"return\":" TOPOLOGY_2 ",\"id\":@ID@}", topo, 40 };
    h = fake_agent_start_in(fx->dir, answers, NULL);
    check_big_topology(fx, 10.0, "MiB of events nobody asked for");
    fake_agent_stop(h);
    fx_free(fx);
}

/* ---- meaning: answers that cannot be true ------------------------------------------- */

static void
check_implausible(const char *topology)
{
    Fx *fx = fx_new();
    g_autofree char *reply = g_strdup_printf("{\"return\":%s,\"id\":@ID@}", topology);
    g_autofree char *set_reply
        = g_strdup_printf("{\"return\":{\"topology\":%s},\"id\":@ID@}", topology);
    const FakeAnswer answers[] = {
        { "ping", REPLY_OK, NULL, 0 },
        { "get-topology", reply, NULL, 0 },
        { "set-num-cpus", set_reply, NULL, 0 },
        { NULL, NULL, NULL, 0 },
    };
    FakeAgent *h = fake_agent_start_in(fx->dir, answers, NULL);
    Dom d = { .name = "web1", .current = 4, .max = 8, .agent_socket = h->socket };

    fx_domain(fx, &d);
    CU_ASSERT_EQUAL(RUN(fx, CALL_BOUND_S, "topology", "web1"), 7);
    CUNIT_ASSERT_CONTAINS(fx->err, "the guest's answer was not plausible");
    /* get: the guest's count is unknown, not what it said */
    CU_ASSERT_EQUAL(RUN(fx, CALL_BOUND_S, "--json", "get", "web1"), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fx->json);
    CUNIT_ASSERT_NOT_CONTAINS(fx->out, "\"online\":4");
    CU_ASSERT_EQUAL(RUN(fx, CALL_BOUND_S, "guest-set", "web1", "4"), 7);
    CUNIT_ASSERT_CONTAINS(fx->err, "the guest's answer was not plausible");
    /* set: never "confirmed" */
    CU_ASSERT_EQUAL(RUN(fx, 3 * 2 + 1.0, "--json", "set", "web1", "4", "--timeout", "2"), 7);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fx->json);
    CU_ASSERT_STRING_NOT_EQUAL(json_object_get_string_member(fx->json, "guest"), "confirmed");
    CUNIT_ASSERT_CONTAINS(fx->out, "the guest's answer was not plausible");
    fake_agent_stop(h);
    fx_free(fx);
}

static void
test_ids_beyond_maximum(void)
{
    check_implausible(TOPOLOGY_FAR_IDS);
}

static void
test_online_beyond_present(void)
{
    check_implausible(TOPOLOGY_MORE_ONLINE);
}

/* guest-set 1 answered "done" with 2 online; guest-set takes set's lock
 * and writes an audit record. */
static void
test_guest_set_reply_checked(void)
{
    Fx *fx = fx_new();
    const FakeAnswer answers[] = {
        { "ping", REPLY_OK, NULL, 0 },
        { "get-topology", "{\"return\":" TOPOLOGY_2 ",\"id\":@ID@}", NULL, 0 },
        { "set-num-cpus", "{\"return\":{\"topology\":" TOPOLOGY_2 "},\"id\":@ID@}", NULL, 0 },
        { NULL, NULL, NULL, 0 },
    };
    FakeAgent *h = fake_agent_start_in(fx->dir, answers, NULL);
    Dom d = { .name = "web1", .current = 4, .agent_socket = h->socket };

    g_autofree char *lock = g_build_filename(fx->lock, UUID1 ".lock", NULL);
    JsonObject *rec;
    int fd;

    fx_domain(fx, &d);
    CU_ASSERT_EQUAL(RUN(fx, CALL_BOUND_S, "guest-set", "web1", "1"), 7);
    CUNIT_ASSERT_CONTAINS(fx->err, "the guest's answer was not plausible");
    /* on the record, like set */
    rec = fx_audit_last(fx, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rec);
    CU_ASSERT_STRING_EQUAL(json_object_get_string_member(rec, "command"), "guest-set");
    CU_ASSERT_STRING_EQUAL(json_object_get_string_member(rec, "outcome"), "implausible");
    CU_ASSERT_STRING_EQUAL(json_object_get_string_member(rec, "guest"), "unconfirmed");
    CU_ASSERT_EQUAL(json_object_get_int_member(rec, "exit"), 7);
    json_object_unref(rec);
    /* one change of the domain at a time: set's lock holds guest-set off */
    g_mkdir_with_parents(fx->lock, 0755);
    fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_EQUAL(flock(fd, LOCK_EX | LOCK_NB), 0);
    CU_ASSERT_EQUAL(RUN(fx, CALL_BOUND_S, "guest-set", "web1", "2"), 3);
    CUNIT_ASSERT_CONTAINS(fx->err, "domain 'web1'");
    close(fd);
    /* a good answer is recorded as done */
    CU_ASSERT_EQUAL(RUN(fx, CALL_BOUND_S, "guest-set", "web1", "2"), 0);
    rec = fx_audit_last(fx, 3); /* the refusal under the lock is on the record too */
    CU_ASSERT_PTR_NOT_NULL_FATAL(rec);
    CU_ASSERT_STRING_EQUAL(json_object_get_string_member(rec, "outcome"), "done");
    CU_ASSERT_STRING_EQUAL(json_object_get_string_member(rec, "guest"), "confirmed");
    CU_ASSERT_EQUAL(json_object_get_int_member(rec, "guest-online"), 2);
    json_object_unref(rec);
    fake_agent_stop(h);
    fx_free(fx);
}

/* ---- the shipped hook ----------------------------------------------------------------- */

/* Runs the after hook by hand against @h: a plug from 2 to 4. */
static int
run_hook(Fx *fx, FakeAgent *h, gint64 *elapsed_us, long *rss_before_kb)
{
    const char *hook = g_getenv("HOTCPU_TEST_AFTER_HOOK");
    g_autoptr(GSubprocessLauncher) l = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDOUT_PIPE
                                                                 | G_SUBPROCESS_FLAGS_STDERR_PIPE);
    g_autoptr(GSubprocess) p = NULL;
    g_autoptr(GError) error = NULL;
    gint64 start = g_get_monotonic_time();

    g_assert(hook != NULL);
    *rss_before_kb = children_max_rss_kb();
    fx_clear_run(fx);
    g_subprocess_launcher_set_environ(l, NULL);
    g_subprocess_launcher_setenv(l, "numberOfCpus", "4", TRUE);
    g_subprocess_launcher_setenv(l, "previousNumberOfCpus", "2", TRUE);
    g_subprocess_launcher_setenv(l, "vmName", "web1", TRUE);
    g_subprocess_launcher_setenv(l, "HOTCPU_AGENT_SOCKET", h->socket, TRUE);
    p = g_subprocess_launcher_spawn(l, &error, hook, NULL);
    g_assert(p != NULL);
    g_assert(g_subprocess_communicate_utf8(p, NULL, NULL, &fx->out, &fx->err, NULL));
    *elapsed_us = g_get_monotonic_time() - start;
    fx->status = g_subprocess_get_if_exited(p) ? g_subprocess_get_exit_status(p) : -1;
    return fx->status;
}

/* What the hook prints within the runner's 30 s: the flood, the dense
 * events, a topology whose CPU list is terminal controls. */
static void
test_shipped_hook(void)
{
    Fx *fx = fx_new();
    g_autofree char *dense = dense_event();
    const char *hostile_topology
        = "{\"return\":{\"topology\":{\"online\":\"\\u001b]0;owned\\u0007\\u001b[2J\\r\\nerror: "
          "forged\",\"present\":\"0-3\"}},\"id\":@ID@}";
    FakeAnswer answers[] = {
        { "ping", REPLY_OK, NULL, 0 },
        { "set-num-cpus", NULL, NOISE_EVENT, FLOOD },
        { NULL, NULL, NULL, 0 },
    };
    FakeAgent *h = fake_agent_start_in(fx->dir, answers, NULL);
    gint64 elapsed;
    long rss;

    CU_ASSERT_EQUAL(run_hook(fx, h, &elapsed, &rss), 1);
    assert_run(fx, "the after hook, flooded", elapsed, 27.0, rss);
    fake_agent_stop(h);

    answers[1] = (FakeAnswer){ "set-num-cpus", REPLY_OK, dense, 40 };
    h = fake_agent_start_in(fx->dir, answers, NULL);
    CU_ASSERT_EQUAL(run_hook(fx, h, &elapsed, &rss), 1);
    assert_run(fx, "the after hook, dense events", elapsed, 27.0, rss);
    fake_agent_stop(h);

    answers[1] = (FakeAnswer){ "set-num-cpus", hostile_topology, NULL, 0 };
    h = fake_agent_start_in(fx->dir, answers, NULL);
    CU_ASSERT_EQUAL(run_hook(fx, h, &elapsed, &rss), 1);
    assert_run(fx, "the after hook, a hostile topology", elapsed, CALL_BOUND_S, rss);
    fake_agent_stop(h);
    fx_free(fx);
}

/* ---- watch and autoscale: until a signal ------------------------------------------------ */

/* Event names and numbers that reached the terminal as they came: an OSC
 * title change, a screen clear, a forged error line; load events without
 * pressure, with an object for runnable, with 1e300, negative and huge
 * numbers, and 1e17, which json-glib writes as 1e+17.0. */
#define WATCH_GREETING                                                                             \
    "{\"event\":\"\\u001b]0;owned\\u0007\\u001b[2J\\r\\nerror: forged line\",\"data\":{}}\n"       \
    "{\"event\":\"load\",\"data\":{\"busy\":0.5}}\n"                                               \
    "{\"event\":\"load\",\"data\":{\"busy\":0.5,\"runnable\":{},\"pressure\":[]}}\n"               \
    "{\"event\":\"load\",\"data\":{\"busy\":1e17,\"runnable\":1e300,\"pressure\":{\"some-avg10\":" \
    "-5}}}\n"                                                                                      \
    "{\"event\":\"load\",\"data\":{\"busy\":\"x\",\"runnable\":-7,\"seconds\":1e-300}}\n"          \
    "{\"event\":\"other\",\"data\":{\"n\":1e17,\"s\":\"\\u001b[31m\"}}\n"

/* Runs `watch`/`autoscale` @args for @run_s, then SIGTERM; checks that it
 * ends within @stop_bound_s of the signal. */
static int
run_until_signal(Fx *fx, double run_s, double stop_bound_s, const char *const *args)
{
    long rss = children_max_rss_kb();
    g_autoptr(GSubprocess) p = fx_spawn_v(fx, args);
    g_autofree char *what = g_strjoinv(" ", (char **)args);
    gint64 start;
    int rc;

    g_usleep((gulong)(run_s * G_USEC_PER_SEC));
    start = g_get_monotonic_time();
    g_subprocess_send_signal(p, SIGTERM);
    rc = fx_finish(fx, p);
    assert_run(fx, what, g_get_monotonic_time() - start, stop_bound_s, rss);
    return rc;
}
#define RUN_UNTIL_SIGNAL(fx, run_s, bound, ...)                                                    \
    run_until_signal((fx), (run_s), (bound), (const char *const[]){ __VA_ARGS__, NULL })

static void
test_watch(void)
{
    Fx *fx = fx_new();
    g_autofree char *dense = dense_other_reply();
    const FakeAnswer answers[] = {
        { "ping", REPLY_OK, NULL, 0 },
        { "get-topology", "{\"return\":" TOPOLOGY_2 ",\"id\":@ID@}", NULL, 0 },
        { "watch-load", REPLY_OK, NULL, 0 },
        { NULL, NULL, NULL, 0 },
    };
    FakeAgent *h = fake_agent_start_in(fx->dir, answers, WATCH_GREETING);
    Dom d = { .name = "web1", .current = 2, .agent_socket = h->socket };

    fx_domain(fx, &d);
    g_setenv("G_DEBUG", "fatal-criticals", TRUE);
    RUN_UNTIL_SIGNAL(fx, 2.0, 1.0, "watch", "web1");
    CUNIT_ASSERT_CONTAINS(fx->out, "load: busy 0.50, CPU pressure unknown, runnable "
                                   "unknown");
    CUNIT_ASSERT_CONTAINS(fx->out, "load: busy 1.00, CPU pressure 0.00, runnable 1000000");
    CUNIT_ASSERT_NOT_CONTAINS(fx->out, "-9223372036854775808");
    CUNIT_ASSERT_CONTAINS(fx->out, "\\x1b]0;owned");
    RUN_UNTIL_SIGNAL(fx, 2.0, 1.0, "--json", "watch", "web1");
    CUNIT_ASSERT_CONTAINS(fx->out, "\"event\":\"load\"");
    CUNIT_ASSERT_NOT_CONTAINS(fx->out, "1e+17");
    CUNIT_ASSERT_NOT_CONTAINS(fx->out, "\"n\"");
    g_unsetenv("G_DEBUG");
    fake_agent_stop(h);

    /* a topology-changed the domain cannot have (after watch-load's
     * question, so that it is not taken for the greeting) is not shown */
    {
        const FakeAnswer far[] = {
            { "ping", REPLY_OK, NULL, 0 },
            { "get-topology", "{\"return\":" TOPOLOGY_2 ",\"id\":@ID@}", NULL, 0 },
            { "watch-load", REPLY_OK,
              "{\"event\":\"topology-changed\",\"data\":" TOPOLOGY_FAR_IDS "}\n", 1 },
            { NULL, NULL, NULL, 0 },
        };

        h = fake_agent_start_in(fx->dir, far, NULL);
        RUN_UNTIL_SIGNAL(fx, 2.0, 1.0, "watch", "web1", "--load", "5");
        CUNIT_ASSERT_NOT_CONTAINS(fx->out, "8188");
        CUNIT_ASSERT_CONTAINS(fx->out, "the guest's answer was not plausible");
        fake_agent_stop(h);
    }

    /* the same under a flood after the topology */
    {
        const FakeAnswer flooding[] = {
            { "ping", REPLY_OK, NULL, 0 },
            { "get-topology", "{\"return\":" TOPOLOGY_2 ",\"id\":@ID@}", NULL, 0 },
            { "watch-load", NULL, dense, FLOOD },
            { NULL, NULL, NULL, 0 },
        };

        h = fake_agent_start_in(fx->dir, flooding, NULL);
        RUN_UNTIL_SIGNAL(fx, 2.0, 1.0, "watch", "web1", "--load", "1");
        fake_agent_stop(h);
    }
    fx_free(fx);
}

/* autoscale under a guest that reports full load, then floods whatever
 * set asks: SIGTERM lets the change in progress finish, and that change
 * keeps to set's deadlines (docs/autoscale.md).  Before, the first SIGTERM
 * went unheeded for as long as the guest kept talking. */
static void
test_autoscale(void)
{
    Fx *fx = fx_new();
    g_autofree char *dense = dense_other_reply();
    const FakeAnswer answers[] = {
        { "ping", REPLY_OK, NULL, 0 },
        { "get-load",
          "{\"return\":{\"seconds\":1,\"busy\":1.0,\"steal\":0,\"cpus\":[],"
          "\"pressure\":{\"some-avg10\":1.0,\"some-avg60\":1.0},\"runnable\":9},\"id\":@ID@}",
          NULL, 0 },
        { "get-topology", NULL, dense, FLOOD },
        { "set-num-cpus", NULL, dense, FLOOD },
        { NULL, NULL, NULL, 0 },
    };
    FakeAgent *h = fake_agent_start_in(fx->dir, answers, NULL);
    Dom d = { .name = "web1", .current = 2, .agent_socket = h->socket };

    fx_domain(fx, &d);
    /* the probe, the snapshot and the confirmation's wait (5 s of no
     * answer) of the change in progress, 3 s each at most */
    RUN_UNTIL_SIGNAL(fx, 4.0, 3 * 3 + 5 + 1.0, "autoscale", "web1", "--min", "1", "--max", "4",
                     "--up-after", "1", "--cooldown", "1");
    CU_ASSERT_EQUAL(fx->status, 0);
    fake_agent_stop(h);
    fx_free(fx);
}

static const CunitTest time_tests[] = {
    { "a flood of events: every command keeps its deadline", test_flood_events },
    { "a flood of other ids: every command keeps its deadline", test_flood_other_ids },
    { "dense replies to nobody: every command keeps its deadline", test_flood_dense_other_ids },
    { "set-num-cpus never answered: set keeps --timeout", test_set_num_cpus_silent },
    { NULL, NULL },
};

static const CunitTest memory_tests[] = {
    { "dense events: the connection is dropped at 8 MiB", test_dense_events },
    { "a domain of 8192 vCPUs: its bounds hold", test_big_domain_bounds },
    { NULL, NULL },
};

static const CunitTest meaning_tests[] = {
    { "CPU ids beyond the domain's maximum", test_ids_beyond_maximum },
    { "online beyond present", test_online_beyond_present },
    { "guest-set checks the reply's count", test_guest_set_reply_checked },
    { NULL, NULL },
};

static const CunitTest program_tests[] = {
    { "the shipped hook", test_shipped_hook },
    { "watch: escaped, rebuilt JSON, SIGTERM", test_watch },
    { "autoscale: SIGTERM under a flood", test_autoscale },
    { NULL, NULL },
};

static void
register_time(void)
{
    cunit_add_suite("time", time_tests);
}

static void
register_memory(void)
{
    cunit_add_suite("memory", memory_tests);
}

static void
register_meaning(void)
{
    cunit_add_suite("meaning", meaning_tests);
}

static void
register_programs(void)
{
    cunit_add_suite("programs", program_tests);
}

static const CunitSuite suites[] = {
    { "time", register_time },
    { "memory", register_memory },
    { "meaning", register_meaning },
    { "programs", register_programs },
    { NULL, NULL },
};

int
main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    if (!fx_init())
        return 1;
    return cunit_run(argc, argv, suites);
}
