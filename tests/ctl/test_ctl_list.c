/* test_ctl_list.c: issue 23, `hotcpu-ctl list` against libvirt's test driver
 * with several domains (running with the real hotcpu-agent on a fake sysfs
 * tree, shut off, transient without an agent), the live range and the
 * reasons of its bounds, the host policy narrowing it. */
#include <CUnit/Basic.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "ctl_fixture.h"
#include "cunit_runner.h"
#include "fake_sysfs.h"

#define UUID2 "6695eb01-f6a4-8304-79aa-97f2502e1942"
#define UUID3 "6695eb01-f6a4-8304-79aa-97f2502e1943"

/* vCPUs 0-1 from boot (not hot-pluggable), 2-3 plugged, 4-7 free slots. */
#define VCPUS_2_FIXED                                                                              \
    "<vcpus><vcpu id='0' enabled='yes' hotpluggable='no' order='1'/>"                              \
    "<vcpu id='1' enabled='yes' hotpluggable='no' order='2'/>"                                     \
    "<vcpu id='2' enabled='yes' hotpluggable='yes' order='3'/>"                                    \
    "<vcpu id='3' enabled='yes' hotpluggable='yes' order='4'/>"                                    \
    "<vcpu id='4' enabled='no' hotpluggable='yes'/>"                                               \
    "<vcpu id='5' enabled='no' hotpluggable='yes'/>"                                               \
    "<vcpu id='6' enabled='no' hotpluggable='yes'/>"                                               \
    "<vcpu id='7' enabled='no' hotpluggable='yes'/></vcpus>"

static void
write_node(Fx *fx, const Dom *doms, guint n)
{
    GString *s = g_string_new("<node>\n");

    for (guint i = 0; i < n; i++) {
        g_autofree char *xml = dom_xml(&doms[i]);
        g_string_append(s, xml);
    }
    g_string_append(s, "</node>\n");
    g_assert(g_file_set_contents(fx->node, s->str, -1, NULL));
    g_string_free(s, TRUE);
}

static JsonObject *
find_domain(JsonObject *result, const char *name)
{
    JsonArray *arr = json_object_get_array_member(result, "domains");

    for (guint i = 0; arr && i < json_array_get_length(arr); i++) {
        JsonObject *o = json_array_get_object_element(arr, i);
        if (g_strcmp0(json_object_get_string_member(o, "domain"), name) == 0)
            return o;
    }
    return NULL;
}

static gint64
member_int(JsonObject *o, const char *obj, const char *key)
{
    JsonObject *inner = json_object_get_object_member(o, obj);
    return inner ? json_object_get_int_member(inner, key) : -100;
}

static void
test_list_domains(void)
{
    Fx *fx = fx_new();
    Agent *a = agent_start(fx, fake_sysfs_new_simple(4, 3, 8));
    Dom doms[] = {
        { .name = "web1", .current = 4, .vcpus = VCPUS_2_FIXED, .agent_socket = a->socket },
        { .name = "db2", .uuid = UUID2, .current = 2, .runstate = 5 },
        { .name = "tmp3", .uuid = UUID3, .current = 1, .max = 2, .transient = TRUE },
    };
    JsonObject *web, *db, *tmp, *range;
    JsonArray *arr;

    write_node(fx, doms, G_N_ELEMENTS(doms));
    CU_ASSERT_EQUAL(fx_run(fx, "--json", "list"), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fx->json);
    CU_ASSERT_EQUAL(json_object_get_int_member(fx->json, "exit"), 0);
    CU_ASSERT_STRING_EQUAL(json_object_get_string_member(fx->json, "audit-log"), fx->audit);
    arr = json_object_get_array_member(fx->json, "domains");
    CU_ASSERT_PTR_NOT_NULL_FATAL(arr);
    CU_ASSERT_EQUAL_FATAL(json_array_get_length(arr), 3);
    /* sorted by name */
    CU_ASSERT_STRING_EQUAL(
        json_object_get_string_member(json_array_get_object_element(arr, 0), "domain"), "db2");

    web = find_domain(fx->json, "web1");
    CU_ASSERT_PTR_NOT_NULL_FATAL(web);
    CU_ASSERT_STRING_EQUAL(json_object_get_string_member(web, "state"), "running");
    CU_ASSERT_TRUE(json_object_get_boolean_member(web, "persistent"));
    CU_ASSERT_EQUAL(member_int(web, "live", "current"), 4);
    CU_ASSERT_EQUAL(member_int(web, "live", "maximum"), 8);
    CU_ASSERT_EQUAL(member_int(web, "config", "current"), 4);
    CU_ASSERT_EQUAL(member_int(web, "config", "maximum"), 8);
    range = json_object_get_object_member(web, "live-range");
    CU_ASSERT_PTR_NOT_NULL_FATAL(range);
    CU_ASSERT_EQUAL(json_object_get_int_member(range, "min"), 2);
    CU_ASSERT_EQUAL(json_object_get_int_member(range, "max"), 8);
    CU_ASSERT_STRING_EQUAL(json_object_get_string_member(range, "not-hotpluggable"), "0-1");
    CU_ASSERT_PTR_NOT_NULL(strstr(json_object_get_string_member(range, "min-reason"),
                                  "vCPUs 0-1 are not hot-pluggable"));
    CU_ASSERT_STRING_EQUAL(json_object_get_string_member(range, "max-reason"),
                           "the domain's maximum is 8 vCPUs");
    CU_ASSERT_STRING_EQUAL(json_object_get_string_member(web, "guest-agent"), "hotcpu");
    CU_ASSERT_EQUAL(member_int(web, "guest", "online"), 3);
    CU_ASSERT_EQUAL(member_int(web, "guest", "present"), 4);
    CU_ASSERT_FALSE(json_object_has_member(web, "problem"));

    db = find_domain(fx->json, "db2");
    CU_ASSERT_PTR_NOT_NULL_FATAL(db);
    CU_ASSERT_STRING_EQUAL(json_object_get_string_member(db, "state"), "shut off");
    CU_ASSERT_FALSE(json_object_get_boolean_member(db, "running"));
    CU_ASSERT_TRUE(json_object_get_null_member(db, "live"));
    CU_ASSERT_TRUE(json_object_get_null_member(db, "live-range"));
    CU_ASSERT_TRUE(json_object_get_null_member(db, "guest"));
    CU_ASSERT_EQUAL(member_int(db, "config", "current"), 2);
    CU_ASSERT_STRING_EQUAL(json_object_get_string_member(db, "guest-agent"), "none");

    tmp = find_domain(fx->json, "tmp3");
    CU_ASSERT_PTR_NOT_NULL_FATAL(tmp);
    CU_ASSERT_FALSE(json_object_get_boolean_member(tmp, "persistent"));
    CU_ASSERT_TRUE(json_object_get_null_member(tmp, "config"));
    CU_ASSERT_EQUAL(member_int(tmp, "live", "current"), 1);
    CU_ASSERT_EQUAL(member_int(tmp, "live", "maximum"), 2);
    /* no agent answers: said, not a failure of the list */
    CU_ASSERT_TRUE(json_object_get_null_member(tmp, "guest"));
    CU_ASSERT_TRUE(json_object_has_member(tmp, "problem"));

    /* text: a header and one row per domain */
    CU_ASSERT_EQUAL(fx_run(fx, "list"), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(fx->out, "DOMAIN"));
    CU_ASSERT_PTR_NOT_NULL(strstr(fx->out, "RANGE"));
    CU_ASSERT_PTR_NOT_NULL(g_strrstr(fx->out, "web1"));
    CU_ASSERT_PTR_NOT_NULL(strstr(fx->out, "4/8      4/8      2-8      hotcpu   3"));
    CU_ASSERT_PTR_NOT_NULL(strstr(fx->out, "shut off"));
    agent_stop(a);
    fx_free(fx);
}

/* The host policy narrows what set can reach, and the page says why. */
static void
test_list_policy(void)
{
    Fx *fx = fx_new();
    Dom doms[] = { { .name = "web1", .current = 4, .vcpus = VCPUS_2_FIXED } };
    JsonObject *range;

    write_node(fx, doms, 1);
    g_assert(g_file_set_contents(fx->policy, "[policy]\nallow-unplug=false\n", -1, NULL));
    CU_ASSERT_EQUAL(fx_run(fx, "--json", "list"), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fx->json);
    range = json_object_get_object_member(find_domain(fx->json, "web1"), "live-range");
    CU_ASSERT_PTR_NOT_NULL_FATAL(range);
    CU_ASSERT_EQUAL(json_object_get_int_member(range, "min"), 4);
    CU_ASSERT_EQUAL(json_object_get_int_member(range, "max"), 8);
    CU_ASSERT_PTR_NOT_NULL(
        strstr(json_object_get_string_member(range, "min-reason"), "forbids vCPU hot unplug"));
    /* set agrees: below is refused */
    CU_ASSERT_EQUAL(fx_run(fx, "set", "web1", "3"), 3);
    fx_free(fx);
}

/* No domain at all: an empty list, not an error. */
static void
test_list_empty(void)
{
    Fx *fx = fx_new();

    g_assert(g_file_set_contents(fx->node, "<node/>\n", -1, NULL));
    CU_ASSERT_EQUAL(fx_run(fx, "--json", "list"), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fx->json);
    CU_ASSERT_EQUAL(json_array_get_length(json_object_get_array_member(fx->json, "domains")), 0);
    /* an extra argument is a usage error */
    CU_ASSERT_EQUAL(fx_run(fx, "list", "web1"), 2);
    fx_free(fx);
}

static void
register_list_suite(void)
{
    static const CunitTest tests[] = {
        { "domains, ranges, agents", test_list_domains },
        { "policy narrows the range", test_list_policy },
        { "empty", test_list_empty },
        { NULL, NULL },
    };

    cunit_add_suite("list", tests);
}

static const CunitSuite suites[] = {
    { "list", register_list_suite },
    { NULL, NULL },
};

int
main(int argc, char **argv)
{
    if (!fx_init())
        return 1;
    return cunit_run(argc, argv, suites);
}
