/* fake_sysfs.h: builds fake /sys/devices/system/cpu trees for tests.
 *
 * Trees live in a fresh temp dir.  Like the kernel: an offline CPU gets no
 * topology/ folder; a CPU created with has_online_file = FALSE (x86 cpu0) has
 * no "online" file.  Unlike the kernel, writing cpuN/online does not update
 * the top-level masks; topology_read() therefore takes each CPU's state from
 * its own "online" file (see libhotcpu/topology.h).  Helpers abort the test
 * program on I/O failure (they are test setup, not code under test).
 */
#pragma once

#include <glib.h>

typedef struct {
    guint id;
    gboolean has_online_file;
    gboolean online;
    gint socket; /* physical_package_id */
    gint die;
    gint core;
    const char *siblings; /* thread_siblings_list, e.g. "0,4"; NULL: "<id>" */
    gint node;            /* NUMA node link nodeM; -1: none */
} FakeCpu;

/* New empty tree (masks empty).  Returns its root; free with fake_sysfs_destroy. */
char *fake_sysfs_new(void);
/* Removes the tree recursively and frees @root. */
void fake_sysfs_destroy(char *root);

/* Writes ROOT/{online,present,possible} (each followed by "\n"). NULL: unchanged. */
void fake_sysfs_set_masks(const char *root, const char *online, const char *present,
                          const char *possible);
/* Creates ROOT/cpuN with online file, topology/ (only when online) and node link. */
void fake_sysfs_add_cpu(const char *root, const FakeCpu *cpu);
/* Removes ROOT/cpuN entirely (hot removal).  Masks are not touched. */
void fake_sysfs_remove_cpu(const char *root, guint id);
/* Writes ROOT/cpuN/online (in place, keeping the inode). */
void fake_sysfs_set_online(const char *root, guint id, gboolean online);
/* Reads ROOT/cpuN/online: 1, 0, or -1 when there is no such file. */
gint fake_sysfs_get_online(const char *root, guint id);

/* Ready-made trees: n CPUs 0..n-1, one socket, one thread per core, cpu0
 * without an "online" file, the first @online_count online, possible = 0..max-1. */
char *fake_sysfs_new_simple(guint present, guint online_count, guint possible);
