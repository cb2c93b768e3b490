/* fuzz_topology_json.c: topology_from_json (libhotcpu/topology.c), what
 * the host makes of an agent's topology, on arbitrary JSON.  The text goes
 * through the same strict check as every line the host reads; what
 * topology_from_json accepts must come back the same through
 * topology_to_json -> topology_from_json. */
#include <stdlib.h>

#include <json-glib/json-glib.h>

#include "fuzz_common.h"
#include "json_strict.h"
#include "protocol.h"
#include "topology.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_quiet_logs();
    return 0;
}

static void
check_roundtrip(const Topology *topo)
{
    g_autoptr(JsonNode) node = topology_to_json(topo);
    g_autoptr(Topology) again = topology_from_json(node, NULL);

    if (again == NULL || !cpulist_equal(again->online, topo->online)
        || !cpulist_equal(again->present, topo->present)
        || !cpulist_equal(again->possible, topo->possible) || again->cpus->len != topo->cpus->len)
        abort();
    for (guint i = 1; i < topo->cpus->len; i++) {
        const CpuInfo *a = g_ptr_array_index(topo->cpus, i - 1);
        const CpuInfo *b = g_ptr_array_index(topo->cpus, i);

        if (a->id >= b->id || topology_find_cpu(topo, b->id) != b)
            abort();
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    g_autoptr(JsonParser) parser = NULL;
    g_autoptr(Topology) topo = NULL;

    if (size > PROTO_MAX_LINE || !g_utf8_validate_len(text, size, NULL)
        || !json_strict_check(text, size, PROTO_MAX_DEPTH, NULL, NULL))
        return 0;
    parser = json_parser_new();
    if (!json_parser_load_from_data(parser, text, (gssize)size, NULL))
        return 0;
    topo = topology_from_json(json_parser_get_root(parser), NULL);
    if (topo != NULL)
        check_roundtrip(topo);
    return 0;
}
