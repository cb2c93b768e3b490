/* cpulist.h: sets of CPU ids in the kernel's range-list syntax.
 *
 * The kernel prints CPU masks as "0-3,8,10-11"; an empty set is "" (often
 * just "\n").  A CpuList holds such a set as a bitmap.  Ids are limited to
 * CPULIST_MAX_CPUS so that a peer or a broken sysfs file cannot make us
 * allocate without bound.
 */
#pragma once

#include <glib.h>

#define CPULIST_MAX_CPUS 8192

typedef struct CpuList CpuList;

/* A new, empty set.  Never NULL. */
CpuList *cpulist_new(void);
CpuList *cpulist_copy(const CpuList *list);
/* Accepts NULL. */
void cpulist_free(CpuList *list);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CpuList, cpulist_free)

/* Parses "0-3,8,10-11".  Leading/trailing white space (the kernel's "\n") is
 * ignored; "" and "\n" give an empty set.  Rejects garbage, reversed ranges
 * ("3-1"), ids >= CPULIST_MAX_CPUS, empty items (",", "1,,2").
 * On failure returns NULL and sets @error (G_IO_ERROR_INVALID_DATA). */
CpuList *cpulist_parse(const char *text, GError **error);

/* Canonical text, ranges merged, ascending: "0-3,8,10-11"; "" when empty.
 * Caller frees with g_free. */
char *cpulist_format(const CpuList *list);

gboolean cpulist_contains(const CpuList *list, guint cpu);
/* Ids >= CPULIST_MAX_CPUS are ignored by add. */
void cpulist_add(CpuList *list, guint cpu);
void cpulist_remove(CpuList *list, guint cpu);
guint cpulist_count(const CpuList *list);
gboolean cpulist_equal(const CpuList *a, const CpuList *b);

/* Iteration in ascending order: first id > @after, or -1.  Start with -1:
 *   for (gint c = cpulist_next(l, -1); c >= 0; c = cpulist_next(l, c)) */
gint cpulist_next(const CpuList *list, gint after);
/* Highest id, or -1 when empty. */
gint cpulist_last(const CpuList *list);
