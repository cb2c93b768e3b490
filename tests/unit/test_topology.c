/* test_topology.c: topology_read() on fake sysfs trees, and its JSON. */
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <string.h>

#include "fake_sysfs.h"
#include "topology.h"
#include "unit.h"
#include "topology_sysfs.h"

static char *
list_text(const CpuList *list)
{
    return cpulist_format(list);
}

#define ASSERT_LIST(list, expected)                                                                \
    do {                                                                                           \
        g_autofree char *text_ = list_text(list);                                                  \
        CUNIT_ASSERT_STR(text_, expected);                                                         \
    } while (0)

static char *
json_text(JsonNode *node)
{
    g_autoptr(JsonGenerator) gen = json_generator_new();

    json_generator_set_root(gen, node);
    return json_generator_to_data(gen, NULL);
}

static Topology *
read_ok(const char *root)
{
    g_autoptr(GError) error = NULL;
    Topology *topo = topology_read(root, &error);

    if (error != NULL)
        fprintf(stderr, "\ntopology_read: %s\n", error->message);
    CU_ASSERT_PTR_NULL(error);
    return topo;
}

static void
test_one_cpu(void)
{
    char *root = fake_sysfs_new_simple(1, 1, 1);
    g_autoptr(Topology) topo = read_ok(root);
    const CpuInfo *cpu;

    CU_ASSERT_PTR_NOT_NULL_FATAL(topo);
    ASSERT_LIST(topo->online, "0");
    ASSERT_LIST(topo->present, "0");
    ASSERT_LIST(topo->possible, "0");
    CU_ASSERT_EQUAL(topo->cpus->len, 1);
    cpu = topology_find_cpu(topo, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cpu);
    CU_ASSERT_TRUE(cpu->online);
    CU_ASSERT_FALSE(cpu->can_offline);
    CU_ASSERT_EQUAL(cpu->socket, 0);
    CU_ASSERT_EQUAL(cpu->die, 0);
    CU_ASSERT_EQUAL(cpu->core, 0);
    CU_ASSERT_EQUAL(cpu->node, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cpu->siblings);
    ASSERT_LIST(cpu->siblings, "0");
    CU_ASSERT_EQUAL(topo->sockets, 1);
    CU_ASSERT_EQUAL(topo->cores_per_socket, 1);
    CU_ASSERT_EQUAL(topo->threads_per_core, 1);
    CU_ASSERT_PTR_NULL(topology_find_cpu(topo, 1));
    fake_sysfs_destroy(root);
}

static void
test_four_cpus_cpu0_fixed(void)
{
    char *root = fake_sysfs_new_simple(4, 4, 8);
    g_autoptr(Topology) topo = read_ok(root);

    CU_ASSERT_PTR_NOT_NULL_FATAL(topo);
    ASSERT_LIST(topo->online, "0-3");
    ASSERT_LIST(topo->present, "0-3");
    ASSERT_LIST(topo->possible, "0-7");
    CU_ASSERT_EQUAL(topo->cpus->len, 4);
    for (guint i = 0; i < 4; i++) {
        const CpuInfo *cpu = topology_find_cpu(topo, i);

        CU_ASSERT_PTR_NOT_NULL_FATAL(cpu);
        CU_ASSERT_EQUAL(cpu->id, i);
        CU_ASSERT_TRUE(cpu->online);
        /* Only cpu0 lacks an online file. */
        CU_ASSERT_EQUAL(cpu->can_offline, i != 0);
        CU_ASSERT_EQUAL(cpu->core, (gint)i);
    }
    CU_ASSERT_EQUAL(topo->sockets, 1);
    CU_ASSERT_EQUAL(topo->cores_per_socket, 4);
    CU_ASSERT_EQUAL(topo->threads_per_core, 1);
    fake_sysfs_destroy(root);
}

static void
test_per_cpu_state_wins(void)
{
    char *root = fake_sysfs_new_simple(4, 4, 4);
    g_autoptr(Topology) topo = NULL;
    g_autoptr(Topology) topo2 = NULL;
    const CpuInfo *cpu;

    /* cpu3 goes offline through its own file; ROOT/online still says 0-3 and
     * its topology/ folder is stale. */
    fake_sysfs_set_online(root, 3, FALSE);
    topo = read_ok(root);
    CU_ASSERT_PTR_NOT_NULL_FATAL(topo);
    ASSERT_LIST(topo->online, "0-2");
    cpu = topology_find_cpu(topo, 3);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cpu);
    CU_ASSERT_FALSE(cpu->online);
    CU_ASSERT_TRUE(cpu->can_offline);
    CU_ASSERT_EQUAL(cpu->socket, -1);
    CU_ASSERT_EQUAL(cpu->die, -1);
    CU_ASSERT_EQUAL(cpu->core, -1);
    CU_ASSERT_PTR_NULL(cpu->siblings);
    CU_ASSERT_EQUAL(cpu->node, 0); /* the node link stays */
    CU_ASSERT_EQUAL(topo->cores_per_socket, 3);

    /* A CPU without an online file follows ROOT/online. */
    fake_sysfs_set_masks(root, "1-3", NULL, NULL);
    topo2 = read_ok(root);
    CU_ASSERT_PTR_NOT_NULL_FATAL(topo2);
    ASSERT_LIST(topo2->online, "1-2");
    CU_ASSERT_FALSE(topology_find_cpu(topo2, 0)->online);
    CU_ASSERT_FALSE(topology_same_sets(topo, topo2));
    fake_sysfs_destroy(root);
}

/* 2 sockets x 2 cores x 2 threads, numbered like Linux does: the second
 * thread of each core comes after all the first threads ("0,4"). */
static char *
make_2x2x2(void)
{
    char *root = fake_sysfs_new();

    for (guint i = 0; i < 8; i++) {
        guint c = i % 4;
        g_autofree char *siblings = g_strdup_printf("%u,%u", c, c + 4);
        FakeCpu cpu = {
            .id = i,
            .has_online_file = i != 0,
            .online = TRUE,
            .socket = (gint)(c / 2),
            .die = 0,
            .core = (gint)(c % 2),
            .siblings = siblings,
            .node = (gint)(c / 2),
        };
        fake_sysfs_add_cpu(root, &cpu);
    }
    fake_sysfs_set_masks(root, "0-7", "0-7", "0-7");
    return root;
}

static void
test_two_sockets_smt(void)
{
    char *root = make_2x2x2();
    g_autoptr(Topology) topo = read_ok(root);
    g_autoptr(JsonNode) json = NULL;
    JsonArray *cpus;
    JsonObject *cpu5;
    g_autofree char *siblings = NULL;

    CU_ASSERT_PTR_NOT_NULL_FATAL(topo);
    CU_ASSERT_EQUAL(topo->sockets, 2);
    CU_ASSERT_EQUAL(topo->cores_per_socket, 2);
    CU_ASSERT_EQUAL(topo->threads_per_core, 2);
    ASSERT_LIST(topology_find_cpu(topo, 5)->siblings, "1,5");
    ASSERT_LIST(topology_find_cpu(topo, 2)->siblings, "2,6");
    CU_ASSERT_EQUAL(topology_find_cpu(topo, 7)->socket, 1);
    CU_ASSERT_EQUAL(topology_find_cpu(topo, 7)->core, 1);
    CU_ASSERT_EQUAL(topology_find_cpu(topo, 6)->node, 1);

    json = topology_to_json(topo);
    cpus = json_object_get_array_member(json_node_get_object(json), "cpus");
    CU_ASSERT_EQUAL(json_array_get_length(cpus), 8);
    cpu5 = json_array_get_object_element(cpus, 5);
    siblings = json_text(json_object_get_member(cpu5, "siblings"));
    CUNIT_ASSERT_STR(siblings, "[1,5]");
    CU_ASSERT_EQUAL(json_object_get_int_member(json_node_get_object(json), "sockets"), 2);
    CU_ASSERT_EQUAL(json_object_get_int_member(json_node_get_object(json), "threads-per-core"), 2);

    /* With one thread of each core offline, lscpu would say 1 thread. */
    for (guint i = 4; i < 8; i++)
        fake_sysfs_set_online(root, i, FALSE);
    g_autoptr(Topology) half = read_ok(root);
    CU_ASSERT_PTR_NOT_NULL_FATAL(half);
    ASSERT_LIST(half->online, "0-3");
    CU_ASSERT_EQUAL(half->sockets, 2);
    CU_ASSERT_EQUAL(half->cores_per_socket, 2);
    /* The files still list both siblings, as the kernel's do. */
    CU_ASSERT_EQUAL(half->threads_per_core, 2);
    fake_sysfs_destroy(root);
}

static void
test_many_cpus_with_holes(void)
{
    char *root = fake_sysfs_new();
    g_autoptr(Topology) topo = NULL;
    guint n = 0;

    for (guint i = 0; i < 256; i++) {
        if (i >= 100 && i < 128)
            continue;
        FakeCpu cpu = {
            .id = i,
            .has_online_file = i != 0,
            .online = i < 200,
            .socket = (gint)(i / 64),
            .die = 0,
            .core = (gint)(i % 64),
            .siblings = NULL,
            .node = (gint)(i / 128),
        };
        fake_sysfs_add_cpu(root, &cpu);
    }
    fake_sysfs_set_masks(root, "0-99,128-199", "0-99,128-255", "0-511");
    topo = read_ok(root);
    CU_ASSERT_PTR_NOT_NULL_FATAL(topo);
    ASSERT_LIST(topo->present, "0-99,128-255");
    ASSERT_LIST(topo->possible, "0-511");
    ASSERT_LIST(topo->online, "0-99,128-199");
    CU_ASSERT_EQUAL(topo->cpus->len, 228);
    CU_ASSERT_EQUAL(cpulist_count(topo->online), 172);
    CU_ASSERT_PTR_NULL(topology_find_cpu(topo, 100));
    CU_ASSERT_PTR_NULL(topology_find_cpu(topo, 127));
    CU_ASSERT_PTR_NULL(topology_find_cpu(topo, 256));
    CU_ASSERT_PTR_NOT_NULL(topology_find_cpu(topo, 128));
    CU_ASSERT_EQUAL(topology_find_cpu(topo, 255)->node, 1);
    CU_ASSERT_FALSE(topology_find_cpu(topo, 255)->online);

    /* Ascending ids, no duplicates. */
    for (guint i = 1; i < topo->cpus->len; i++) {
        const CpuInfo *a = g_ptr_array_index(topo->cpus, i - 1);
        const CpuInfo *b = g_ptr_array_index(topo->cpus, i);
        if (a->id < b->id)
            n++;
    }
    CU_ASSERT_EQUAL(n, topo->cpus->len - 1);
    /* Online: sockets 0,1 (0-99) and 2,3 (128-199). */
    CU_ASSERT_EQUAL(topo->sockets, 4);
    fake_sysfs_destroy(root);
}

static void
test_offline_hidden_json(void)
{
    char *root = fake_sysfs_new();
    FakeCpu cpu0 = { .id = 0,
                     .has_online_file = FALSE,
                     .online = TRUE,
                     .socket = 0,
                     .die = 0,
                     .core = 0,
                     .siblings = NULL,
                     .node = 0 };
    FakeCpu cpu1 = { .id = 1,
                     .has_online_file = TRUE,
                     .online = FALSE,
                     .socket = 0,
                     .die = 0,
                     .core = 1,
                     .siblings = NULL,
                     .node = 0 };
    g_autoptr(Topology) topo = NULL;
    g_autoptr(JsonNode) json = NULL;
    g_autofree char *text = NULL;

    fake_sysfs_add_cpu(root, &cpu0);
    fake_sysfs_add_cpu(root, &cpu1);
    fake_sysfs_set_masks(root, "0", "0-1", "0-3");
    topo = read_ok(root);
    CU_ASSERT_PTR_NOT_NULL_FATAL(topo);
    json = topology_to_json(topo);
    text = json_text(json);
    /* The contract's key order and nulls, exactly. */
    CUNIT_ASSERT_STR(text,
                     "{\"online\":\"0\",\"present\":\"0-1\",\"possible\":\"0-3\","
                     "\"online-count\":1,\"present-count\":2,"
                     "\"sockets\":1,\"cores-per-socket\":1,\"threads-per-core\":1,"
                     "\"cpus\":["
                     "{\"id\":0,\"online\":true,\"can-offline\":false,\"socket\":0,\"die\":0,"
                     "\"core\":0,\"node\":0,\"siblings\":[0]},"
                     "{\"id\":1,\"online\":false,\"can-offline\":true,\"socket\":null,\"die\":null,"
                     "\"core\":null,\"node\":0,\"siblings\":null}]}");
    fake_sysfs_destroy(root);
}

static void
test_missing_attributes(void)
{
    char *root = fake_sysfs_new_simple(3, 3, 3);
    g_autofree char *die = g_build_filename(root, "cpu1", "topology", "die_id", NULL);
    g_autofree char *node = g_build_filename(root, "cpu2", "node0", NULL);
    g_autofree char *core = g_build_filename(root, "cpu2", "topology", "core_id", NULL);
    g_autoptr(Topology) topo = NULL;

    CU_ASSERT_EQUAL(g_unlink(die), 0);
    CU_ASSERT_EQUAL(g_unlink(node), 0);
    CU_ASSERT_TRUE(g_file_set_contents(core, "x\n", -1, NULL));
    topo = read_ok(root);
    CU_ASSERT_PTR_NOT_NULL_FATAL(topo);
    CU_ASSERT_EQUAL(topology_find_cpu(topo, 1)->die, -1);
    CU_ASSERT_EQUAL(topology_find_cpu(topo, 1)->socket, 0);
    CU_ASSERT_EQUAL(topology_find_cpu(topo, 2)->node, -1);
    CU_ASSERT_EQUAL(topology_find_cpu(topo, 2)->core, -1);
    CU_ASSERT_TRUE(topology_find_cpu(topo, 2)->online);
    fake_sysfs_destroy(root);
}

static void
test_roundtrip_json(void)
{
    char *root = make_2x2x2();
    g_autoptr(Topology) topo = NULL;
    g_autoptr(JsonNode) json = NULL;
    g_autoptr(JsonParser) parser = json_parser_new();
    g_autoptr(Topology) back = NULL;
    g_autoptr(JsonNode) json2 = NULL;
    g_autoptr(GError) error = NULL;
    g_autofree char *text = NULL;
    g_autofree char *text2 = NULL;

    fake_sysfs_set_online(root, 6, FALSE);
    fake_sysfs_set_masks(root, NULL, NULL, "0-15");
    topo = read_ok(root);
    CU_ASSERT_PTR_NOT_NULL_FATAL(topo);
    json = topology_to_json(topo);
    text = json_text(json);
    /* Through text, as the host receives it. */
    CU_ASSERT_TRUE_FATAL(json_parser_load_from_data(parser, text, -1, NULL));
    back = topology_from_json(json_parser_get_root(parser), &error);
    CU_ASSERT_PTR_NULL(error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(back);
    CU_ASSERT_TRUE(topology_same_sets(topo, back));
    CU_ASSERT_TRUE(cpulist_equal(topo->possible, back->possible));
    CU_ASSERT_EQUAL(back->sockets, 2);
    CU_ASSERT_EQUAL(back->threads_per_core, 2);
    CU_ASSERT_EQUAL(topology_find_cpu(back, 6)->socket, -1);
    CU_ASSERT_FALSE(topology_find_cpu(back, 6)->online);
    CU_ASSERT_FALSE(topology_find_cpu(back, 0)->can_offline);
    ASSERT_LIST(topology_find_cpu(back, 5)->siblings, "1,5");
    json2 = topology_to_json(back);
    text2 = json_text(json2);
    CUNIT_ASSERT_STR(text2, text);
    fake_sysfs_destroy(root);
}

static void
check_from_json_fails(const char *text)
{
    g_autoptr(JsonParser) parser = json_parser_new();
    g_autoptr(GError) error = NULL;
    g_autoptr(Topology) topo = NULL;

    CU_ASSERT_TRUE_FATAL(json_parser_load_from_data(parser, text, -1, NULL));
    topo = topology_from_json(json_parser_get_root(parser), &error);
    if (topo != NULL)
        fprintf(stderr, "\naccepted topology %s\n", text);
    CU_ASSERT_PTR_NULL(topo);
    CU_ASSERT_TRUE(g_error_matches(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA));
}

#define HEAD                                                                                       \
    "\"online\":\"0\",\"present\":\"0\",\"possible\":\"0\",\"online-count\":1,"                    \
    "\"present-count\":1,\"sockets\":1,\"cores-per-socket\":1,\"threads-per-core\":1"
#define CPU0                                                                                       \
    "\"id\":0,\"online\":true,\"can-offline\":false,\"socket\":0,\"die\":0,\"core\":0,"            \
    "\"node\":0"

static void
test_from_json_validates(void)
{
    const char *bad[] = {
        "[1]",
        "\"topology\"",
        "{" HEAD "}", /* no cpus */
        "{" HEAD ",\"cpus\":{}}",
        "{\"online\":0,\"present\":\"0\",\"possible\":\"0\",\"online-count\":1,"
        "\"present-count\":1,\"sockets\":1,\"cores-per-socket\":1,\"threads-per-core\":1,\"cpus\":["
        "]}",
        "{\"online\":\"0-\",\"present\":\"0\",\"possible\":\"0\",\"online-count\":1,"
        "\"present-count\":1,\"sockets\":1,\"cores-per-socket\":1,\"threads-per-core\":1,\"cpus\":["
        "]}",
        "{\"online\":\"0\",\"present\":\"0\",\"possible\":\"0\",\"online-count\":\"1\","
        "\"present-count\":1,\"sockets\":1,\"cores-per-socket\":1,\"threads-per-core\":1,\"cpus\":["
        "]}",
        "{\"online\":\"0\",\"present\":\"0\",\"possible\":\"0\",\"online-count\":1,"
        "\"present-count\":1,\"sockets\":-1,\"cores-per-socket\":1,\"threads-per-core\":1,\"cpus\":"
        "[]}",
        "{" HEAD ",\"cpus\":[1]}",
        "{" HEAD ",\"cpus\":[{\"id\":\"0\",\"online\":true,\"can-offline\":false}]}",
        "{" HEAD ",\"cpus\":[{\"id\":8192,\"online\":true,\"can-offline\":false}]}",
        "{" HEAD ",\"cpus\":[{\"id\":0,\"online\":1,\"can-offline\":false}]}",
        "{" HEAD ",\"cpus\":[{\"id\":0,\"online\":true}]}",
        "{" HEAD ",\"cpus\":[{\"id\":0,\"online\":true,\"can-offline\":false,\"socket\":\"0\"}]}",
        "{" HEAD ",\"cpus\":[{\"id\":0,\"online\":true,\"can-offline\":false,\"core\":1.5}]}",
        "{" HEAD ",\"cpus\":[{" CPU0 ",\"siblings\":\"0\"}]}",
        "{" HEAD ",\"cpus\":[{" CPU0 ",\"siblings\":[\"0\"]}]}",
        "{" HEAD ",\"cpus\":[{" CPU0 ",\"siblings\":[-1]}]}",
        "{" HEAD ",\"cpus\":[{" CPU0 ",\"siblings\":[0]},{" CPU0 ",\"siblings\":[0]}]}",
    };

    for (guint i = 0; i < G_N_ELEMENTS(bad); i++)
        check_from_json_fails(bad[i]);

    /* The same shape with valid values is accepted, nulls included. */
    g_autoptr(JsonParser) parser = json_parser_new();
    g_autoptr(Topology) topo = NULL;
    const char *good
        = "{" HEAD ",\"cpus\":[{\"id\":0,\"online\":true,\"can-offline\":false,"
          "\"socket\":null,\"die\":null,\"core\":null,\"node\":null,\"siblings\":null}]}";
    CU_ASSERT_TRUE_FATAL(json_parser_load_from_data(parser, good, -1, NULL));
    topo = topology_from_json(json_parser_get_root(parser), NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(topo);
    CU_ASSERT_EQUAL(topology_find_cpu(topo, 0)->socket, -1);
    CU_ASSERT_PTR_NULL(topology_find_cpu(topo, 0)->siblings);
    CU_ASSERT_PTR_NULL(topology_from_json(NULL, NULL));
}

static void
test_bad_masks(void)
{
    char *root = fake_sysfs_new_simple(2, 2, 2);
    g_autofree char *present = g_build_filename(root, "present", NULL);
    g_autofree char *possible = g_build_filename(root, "possible", NULL);
    g_autofree char *online1 = g_build_filename(root, "cpu1", "online", NULL);

    /* Malformed: the error names the file. */
    {
        g_autoptr(GError) error = NULL;
        g_autoptr(Topology) topo = NULL;

        fake_sysfs_set_masks(root, NULL, "0-1,x", NULL);
        topo = topology_read(root, &error);
        CU_ASSERT_PTR_NULL(topo);
        CU_ASSERT_TRUE(g_error_matches(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA));
        CUNIT_ASSERT_CONTAINS(error != NULL ? error->message : NULL, present);
        fake_sysfs_set_masks(root, NULL, "0-1", NULL);
    }
    /* Missing. */
    {
        g_autoptr(GError) error = NULL;
        g_autoptr(Topology) topo = NULL;

        CU_ASSERT_EQUAL(g_unlink(possible), 0);
        topo = topology_read(root, &error);
        CU_ASSERT_PTR_NULL(topo);
        CU_ASSERT_TRUE(g_error_matches(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND));
        CUNIT_ASSERT_CONTAINS(error != NULL ? error->message : NULL, possible);
        fake_sysfs_set_masks(root, NULL, NULL, "0-1");
    }
    /* A per-CPU online file with garbage. */
    {
        g_autoptr(GError) error = NULL;
        g_autoptr(Topology) topo = NULL;

        CU_ASSERT_TRUE(g_file_set_contents(online1, "maybe\n", -1, NULL));
        topo = topology_read(root, &error);
        CU_ASSERT_PTR_NULL(topo);
        CUNIT_ASSERT_CONTAINS(error != NULL ? error->message : NULL, online1);
        fake_sysfs_set_online(root, 1, TRUE);
    }
    /* Repaired, it reads again. */
    {
        g_autoptr(Topology) topo = read_ok(root);
        CU_ASSERT_PTR_NOT_NULL(topo);
    }
    /* A root that does not exist. */
    {
        g_autoptr(GError) error = NULL;
        g_autoptr(Topology) topo = topology_read("/nonexistent/hotcpu/sysfs", &error);
        CU_ASSERT_PTR_NULL(topo);
        CU_ASSERT_PTR_NOT_NULL(error);
    }
    fake_sysfs_destroy(root);
}

static void
test_hot_removed_cpu(void)
{
    /* Present lists a CPU whose folder is gone (removal racing the read). */
    char *root = fake_sysfs_new_simple(3, 3, 4);
    g_autoptr(Topology) topo = NULL;

    fake_sysfs_remove_cpu(root, 2);
    CU_ASSERT_EQUAL(fake_sysfs_get_online(root, 2), -1);
    topo = read_ok(root);
    CU_ASSERT_PTR_NOT_NULL_FATAL(topo);
    CU_ASSERT_EQUAL(topo->cpus->len, 3);
    /* ROOT/online still says 0-2, so it counts as online with nothing known. */
    CU_ASSERT_TRUE(topology_find_cpu(topo, 2)->online);
    CU_ASSERT_EQUAL(topology_find_cpu(topo, 2)->socket, -1);
    CU_ASSERT_EQUAL(topology_find_cpu(topo, 2)->node, -1);
    fake_sysfs_destroy(root);
}

void
register_topology_suite(void)
{
    static const CunitTest tests[] = {
        { "one CPU", test_one_cpu },
        { "four CPUs, cpu0 without online file", test_four_cpus_cpu0_fixed },
        { "per-CPU online file beats the mask", test_per_cpu_state_wins },
        { "2 sockets x 2 cores x 2 threads", test_two_sockets_smt },
        { "256 CPUs with holes in present", test_many_cpus_with_holes },
        { "offline CPU: hidden fields are null", test_offline_hidden_json },
        { "missing per-CPU attributes", test_missing_attributes },
        { "JSON round trip", test_roundtrip_json },
        { "topology_from_json validates types", test_from_json_validates },
        { "missing or malformed masks name the path", test_bad_masks },
        { "present CPU without a folder", test_hot_removed_cpu },
        { NULL, NULL },
    };
    cunit_add_suite("topology", tests);
}
