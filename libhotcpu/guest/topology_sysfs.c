/* topology_sysfs.c: the guest's CPU topology read from sysfs. */
#include "topology_sysfs.h"
#include "glib_compat.h"

#include <errno.h>
#include <gio/gio.h>
#include <stdlib.h>
#include <string.h>

static CpuList *
read_mask(const char *root, const char *name, GError **error)
{
    g_autofree char *path = g_build_filename(root, name, NULL);
    g_autofree char *text = NULL;
    g_autoptr(GError) local = NULL;
    CpuList *list;

    if (!g_file_get_contents(path, &text, NULL, &local)) {
        g_set_error(error, G_IO_ERROR, g_io_error_from_file_error(local->code),
                    "cannot read %s: %s", path, local->message);
        return NULL;
    }
    list = cpulist_parse(text, &local);
    if (list == NULL) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "malformed CPU list in %s: %s",
                    path, local->message);
        return NULL;
    }
    return list;
}

/* A small non-negative integer from a sysfs attribute, or -1 when the file is
 * missing or holds anything else: per-CPU attributes come and go with the
 * CPU's state, and a hidden value is not an error. */
static gint
read_int(const char *dir, const char *name)
{
    g_autofree char *path = g_build_filename(dir, name, NULL);
    g_autofree char *text = NULL;
    char *end;
    gint64 value;

    if (!g_file_get_contents(path, &text, NULL, NULL))
        return -1;
    g_strstrip(text);
    errno = 0;
    value = g_ascii_strtoll(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || value < 0 || value > G_MAXINT)
        return -1;
    return (gint)value;
}

/* The state in cpuN/online: 1, 0, or -1 when there is no such file.  Fails
 * only when the file exists but says something else. */
static gboolean
read_online_file(const char *cpu_dir, gint *state, GError **error)
{
    g_autofree char *path = g_build_filename(cpu_dir, "online", NULL);
    g_autofree char *text = NULL;
    g_autoptr(GError) local = NULL;

    if (!g_file_get_contents(path, &text, NULL, &local)) {
        /* A CPU whose folder vanished is being hot-removed; treat it like
         * one without the file and let the mask decide. */
        if (g_error_matches(local, G_FILE_ERROR, G_FILE_ERROR_NOENT)) {
            *state = -1;
            return TRUE;
        }
        g_set_error(error, G_IO_ERROR, g_io_error_from_file_error(local->code),
                    "cannot read %s: %s", path, local->message);
        return FALSE;
    }
    g_strstrip(text);
    if (strcmp(text, "1") == 0)
        *state = 1;
    else if (strcmp(text, "0") == 0)
        *state = 0;
    else {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "unexpected contents '%.16s' in %s",
                    text, path);
        return FALSE;
    }
    return TRUE;
}

/* The kernel links cpuN/nodeM to the CPU's NUMA node, online or not. */
static gint
read_node(const char *cpu_dir)
{
    g_autoptr(GDir) dir = g_dir_open(cpu_dir, 0, NULL);
    const char *name;

    if (dir == NULL)
        return -1;
    while ((name = g_dir_read_name(dir)) != NULL) {
        guint64 node;

        if (g_str_has_prefix(name, "node")
            && g_ascii_string_to_unsigned(name + 4, 10, 0, G_MAXINT, &node, NULL))
            return (gint)node;
    }
    return -1;
}

static CpuList *
read_siblings(const char *topo_dir)
{
    g_autofree char *path = g_build_filename(topo_dir, "thread_siblings_list", NULL);
    g_autofree char *text = NULL;

    if (!g_file_get_contents(path, &text, NULL, NULL))
        return NULL;
    return cpulist_parse(text, NULL);
}

/* lscpu's summary over the online CPUs whose topology is visible. */
static void
summarize(Topology *topo)
{
    g_autoptr(GHashTable) sockets = g_hash_table_new(g_direct_hash, g_direct_equal);
    g_autoptr(GHashTable) cores = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
    guint threads = 0;

    for (guint i = 0; i < topo->cpus->len; i++) {
        const CpuInfo *cpu = g_ptr_array_index(topo->cpus, i);
        gint64 *key;

        if (!cpu->online || cpu->socket < 0 || cpu->core < 0)
            continue;
        g_hash_table_add(sockets, GINT_TO_POINTER(cpu->socket));
        key = g_new(gint64, 1);
        *key = ((gint64)cpu->socket << 32) | (guint32)cpu->core;
        g_hash_table_add(cores, key);
        if (cpu->siblings != NULL)
            threads = MAX(threads, cpulist_count(cpu->siblings));
    }
    topo->sockets = (gint)g_hash_table_size(sockets);
    topo->cores_per_socket = topo->sockets > 0 ? (gint)g_hash_table_size(cores) / topo->sockets : 0;
    topo->threads_per_core = (gint)threads;
}

Topology *
topology_read(const char *sysfs_root, GError **error)
{
    const char *root = sysfs_root != NULL ? sysfs_root : TOPOLOGY_DEFAULT_SYSFS_ROOT;
    g_autoptr(Topology) topo = topology_new_unknown();
    g_autoptr(CpuList) online_mask = NULL;

    g_clear_pointer(&topo->present, cpulist_free);
    if ((online_mask = read_mask(root, "online", error)) == NULL
        || (topo->present = read_mask(root, "present", error)) == NULL
        || (topo->possible = read_mask(root, "possible", error)) == NULL)
        return NULL;

    for (gint id = cpulist_next(topo->present, -1); id >= 0; id = cpulist_next(topo->present, id)) {
        g_autofree char *name = g_strdup_printf("cpu%d", id);
        g_autofree char *cpu_dir = g_build_filename(root, name, NULL);
        CpuInfo *cpu = topology_add_cpu(topo, (guint)id);
        gint state;

        if (!read_online_file(cpu_dir, &state, error))
            return NULL;
        /* The top-level mask lags behind (and, in fake trees, is not
         * updated at all); a CPU's own file is the truth when it has one. */
        cpu->can_offline = state >= 0;
        cpu->online = state >= 0 ? state == 1 : cpulist_contains(online_mask, (guint)id);
        cpu->node = read_node(cpu_dir);
        if (cpu->online) {
            g_autofree char *topo_dir = g_build_filename(cpu_dir, "topology", NULL);

            cpulist_add(topo->online, (guint)id);
            cpu->socket = read_int(topo_dir, "physical_package_id");
            cpu->die = read_int(topo_dir, "die_id");
            cpu->core = read_int(topo_dir, "core_id");
            cpu->siblings = read_siblings(topo_dir);
        }
    }
    summarize(topo);
    return g_steal_pointer(&topo);
}
