/* fuzz_cpulist.c: the kernel range-list parser on arbitrary text.  What it
 * accepts must survive format -> parse unchanged, iterate in ascending
 * order, and count what it iterates. */
#include <stdlib.h>
#include <string.h>

#include "cpulist.h"
#include "fuzz_common.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_quiet_logs();
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    g_autofree char *text = g_strndup((const char *)data, size);
    g_autoptr(CpuList) list = cpulist_parse(text, NULL);
    g_autoptr(CpuList) again = NULL;
    g_autofree char *formatted = NULL;
    guint n = 0;
    gint last = -1;

    if (list == NULL)
        return 0;
    for (gint c = cpulist_next(list, -1); c >= 0; c = cpulist_next(list, c)) {
        if (c <= last || c >= CPULIST_MAX_CPUS || !cpulist_contains(list, (guint)c))
            abort();
        last = c;
        n++;
    }
    if (n != cpulist_count(list))
        abort();
    formatted = cpulist_format(list);
    again = cpulist_parse(formatted, NULL);
    if (again == NULL || !cpulist_equal(list, again) || !cpulist_equal(again, list))
        abort();
    {
        g_autoptr(CpuList) copy = cpulist_copy(list);

        cpulist_add(copy, (guint)(size % CPULIST_MAX_CPUS));
        if (!cpulist_contains(copy, (guint)(size % CPULIST_MAX_CPUS)))
            abort();
    }
    return 0;
}
