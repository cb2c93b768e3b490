/* test_writer.c: the agent's streamed topology JSON is byte for byte what
 * libhotcpu's topology_to_json + json-glib's generator give. */
#include <string.h>

#include "agent_test.h"
#include "fake_sysfs.h"
#include "topology.h"
#include "topology_writer.h"
#include "topology_sysfs.h"

static void
check_same(const char *tree)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(Topology) topo = topology_read(tree, &error);
    g_autoptr(JsonNode) node = NULL;
    g_autoptr(JsonGenerator) gen = json_generator_new();
    g_autofree char *expected = NULL;
    g_autoptr(GString) streamed = g_string_new(NULL);

    g_assert_no_error(error);
    node = topology_to_json(topo);
    json_generator_set_root(gen, node);
    expected = json_generator_to_data(gen, NULL);
    topology_write_json(topo, streamed);
    CUNIT_ASSERT_STR(streamed->str, expected);
}

static void
test_writer_simple_trees(void)
{
    const guint shapes[][3] = { { 1, 1, 1 }, { 4, 2, 8 }, { 6, 6, 6 }, { 64, 3, 128 } };

    for (gsize i = 0; i < G_N_ELEMENTS(shapes); i++) {
        char *tree = fake_sysfs_new_simple(shapes[i][0], shapes[i][1], shapes[i][2]);

        check_same(tree);
        fake_sysfs_destroy(tree);
    }
}

/* Threads, sockets, a CPU without a node link, hidden fields. */
static void
test_writer_smt_and_nulls(void)
{
    char *tree = fake_sysfs_new();
    const FakeCpu cpus[] = {
        { 0, FALSE, TRUE, 0, 0, 0, "0,4", 0 }, { 1, TRUE, TRUE, 0, 0, 1, "1,5", 0 },
        { 4, TRUE, TRUE, 0, 0, 0, "0,4", 0 },  { 5, TRUE, FALSE, 0, 0, 1, "1,5", 1 },
        { 8, TRUE, TRUE, 1, 1, 7, "8", -1 },   { 4000, TRUE, TRUE, 9, 9, 12, "4000-4001", 3 },
    };

    for (gsize i = 0; i < G_N_ELEMENTS(cpus); i++)
        fake_sysfs_add_cpu(tree, &cpus[i]);
    fake_sysfs_set_masks(tree, "0-1,4,8,4000", "0-1,4-5,8,4000", "0-8191");
    check_same(tree);
    fake_sysfs_destroy(tree);
}

static const CunitTest tests[] = {
    { "streamed JSON equals topology_to_json: simple trees", test_writer_simple_trees },
    { "streamed JSON equals topology_to_json: SMT, nulls", test_writer_smt_and_nulls },
    { NULL, NULL },
};

void
register_writer_suite(void)
{
    cunit_add_suite("writer", tests);
}
