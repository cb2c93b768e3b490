/* cpulist.c: CPU sets as compact bitmaps, in the kernel's range syntax. */
#include "cpulist.h"
#include "glib_compat.h"

#include <gio/gio.h>
#include <string.h>

#define WORD_BITS 64
#define N_WORDS (CPULIST_MAX_CPUS / WORD_BITS)

G_STATIC_ASSERT(CPULIST_MAX_CPUS % WORD_BITS == 0);

/* A bitmap of only the words between the lowest and the highest id, so that
 * a topology's per-CPU sibling lists ("5", "8000-8001") take a few bytes
 * each, not 1 KiB: a guest of 8192 CPUs would otherwise spend 8 MiB on
 * them.  No input can make it grow past N_WORDS words. */
struct CpuList {
    guint first;    /* the word index of words[0] */
    guint n;        /* words held; 0 when empty */
    guint64 *words; /* &one while n <= 1 */
    guint64 one;
};

CpuList *
cpulist_new(void)
{
    CpuList *list = g_new0(CpuList, 1);

    list->words = &list->one;
    return list;
}

CpuList *
cpulist_copy(const CpuList *list)
{
    CpuList *copy = g_memdup2(list, sizeof(*list));

    if (list->words == &list->one)
        copy->words = &copy->one;
    else
        copy->words = g_memdup2(list->words, list->n * sizeof(guint64));
    return copy;
}

void
cpulist_free(CpuList *list)
{
    if (list == NULL)
        return;
    if (list->words != &list->one)
        g_free(list->words);
    g_free(list);
}

/* Word @w of the whole bitmap (0 outside what is held). */
static guint64
word_at(const CpuList *list, guint w)
{
    if (w < list->first || w - list->first >= list->n)
        return 0;
    return list->words[w - list->first];
}

/* Makes words @lo..@hi (inclusive, < N_WORDS) part of what is held. */
static void
hold_words(CpuList *list, guint lo, guint hi)
{
    guint first, end;
    guint64 *words;

    if (list->n == 0) {
        list->first = lo;
        list->n = 1;
    }
    first = MIN(list->first, lo);
    end = MAX(list->first + list->n, hi + 1);
    if (first == list->first && end == list->first + list->n)
        return;
    words = g_new0(guint64, end - first);
    memcpy(words + (list->first - first), list->words, list->n * sizeof(guint64));
    if (list->words != &list->one)
        g_free(list->words);
    list->words = words;
    list->first = first;
    list->n = end - first;
}

gboolean
cpulist_contains(const CpuList *list, guint cpu)
{
    if (cpu >= CPULIST_MAX_CPUS)
        return FALSE;
    return (word_at(list, cpu / WORD_BITS) >> (cpu % WORD_BITS)) & 1;
}

void
cpulist_add(CpuList *list, guint cpu)
{
    if (cpu >= CPULIST_MAX_CPUS)
        return;
    hold_words(list, cpu / WORD_BITS, cpu / WORD_BITS);
    list->words[cpu / WORD_BITS - list->first] |= G_GUINT64_CONSTANT(1) << (cpu % WORD_BITS);
}

void
cpulist_remove(CpuList *list, guint cpu)
{
    guint w = cpu / WORD_BITS;

    if (cpu >= CPULIST_MAX_CPUS || w < list->first || w - list->first >= list->n)
        return;
    list->words[w - list->first] &= ~(G_GUINT64_CONSTANT(1) << (cpu % WORD_BITS));
}

guint
cpulist_count(const CpuList *list)
{
    guint n = 0;

    for (guint i = 0; i < list->n; i++)
        n += (guint)__builtin_popcountll(list->words[i]);
    return n;
}

gboolean
cpulist_equal(const CpuList *a, const CpuList *b)
{
    guint lo = MIN(a->first, b->first);
    guint hi = MAX(a->first + a->n, b->first + b->n);

    for (guint w = lo; w < hi; w++) {
        if (word_at(a, w) != word_at(b, w))
            return FALSE;
    }
    return TRUE;
}

gint
cpulist_next(const CpuList *list, gint after)
{
    guint start = after < 0 ? 0 : (guint)after + 1;

    for (guint w = MAX(start / WORD_BITS, list->first); w < list->first + list->n; w++) {
        guint64 bits = word_at(list, w);

        if (w == start / WORD_BITS)
            bits &= ~G_GUINT64_CONSTANT(0) << (start % WORD_BITS);
        if (bits != 0)
            return (gint)(w * WORD_BITS + (guint)__builtin_ctzll(bits));
    }
    return -1;
}

gint
cpulist_last(const CpuList *list)
{
    for (guint i = list->n; i-- > 0;) {
        if (list->words[i] != 0)
            return (gint)((list->first + i) * WORD_BITS + 63
                          - (guint)__builtin_clzll(list->words[i]));
    }
    return -1;
}

/* Adds @first..@last (inclusive, < CPULIST_MAX_CPUS) a word at a time: a
 * guest sending "0-8191" a thousand times costs a thousand times 128 words,
 * not eight million bits (issue 18). */
static void
add_range(CpuList *list, guint first, guint last)
{
    guint lo = first / WORD_BITS, hi = last / WORD_BITS;

    hold_words(list, lo, hi);
    for (guint w = lo; w <= hi; w++) {
        guint from = w == lo ? first % WORD_BITS : 0;
        guint to = w == hi ? last % WORD_BITS : WORD_BITS - 1;
        guint64 mask
            = (~G_GUINT64_CONSTANT(0) >> (WORD_BITS - 1 - to)) & (~G_GUINT64_CONSTANT(0) << from);

        list->words[w - list->first] |= mask;
    }
}

/* Parses one decimal id at *p, advancing it.  Only digits: no sign, no
 * spaces, no hex, so "1,-2" or "0x3" are garbage, not surprises. */
static gboolean
parse_id(const char **p, const char *end, guint *out)
{
    const char *s = *p;
    guint value = 0;

    if (s >= end || !g_ascii_isdigit(*s))
        return FALSE;
    while (s < end && g_ascii_isdigit(*s)) {
        /* Stop growing once past the limit; the caller rejects it anyway. */
        if (value < CPULIST_MAX_CPUS)
            value = value * 10 + (guint)(*s - '0');
        s++;
    }
    *p = s;
    *out = value;
    return TRUE;
}

static gboolean
parse_item(CpuList *list, const char *item, gsize len, GError **error)
{
    const char *p = item;
    const char *end = item + len;
    guint first, last;

    if (len == 0) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "empty item in CPU list");
        return FALSE;
    }
    if (!parse_id(&p, end, &first))
        goto garbage;
    last = first;
    if (p < end && *p == '-') {
        p++;
        if (!parse_id(&p, end, &last))
            goto garbage;
    }
    if (p != end)
        goto garbage;
    if (first >= CPULIST_MAX_CPUS || last >= CPULIST_MAX_CPUS) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                    "CPU id in '%.*s' is not below the limit of %u", (int)len, item,
                    CPULIST_MAX_CPUS);
        return FALSE;
    }
    if (last < first) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "CPU range '%.*s' is reversed",
                    (int)len, item);
        return FALSE;
    }
    add_range(list, first, last);
    return TRUE;

garbage:
    g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "'%.*s' is not a CPU id or range",
                (int)MIN(len, 64), item);
    return FALSE;
}

CpuList *
cpulist_parse(const char *text, GError **error)
{
    g_autoptr(CpuList) list = cpulist_new();
    const char *start = text;
    const char *end = text + strlen(text);

    while (start < end && g_ascii_isspace(*start))
        start++;
    while (end > start && g_ascii_isspace(end[-1]))
        end--;
    if (start == end)
        return g_steal_pointer(&list);

    for (const char *item = start;;) {
        const char *comma = memchr(item, ',', (gsize)(end - item));
        const char *item_end = comma != NULL ? comma : end;

        if (!parse_item(list, item, (gsize)(item_end - item), error))
            return NULL;
        if (comma == NULL)
            break;
        item = comma + 1;
    }
    return g_steal_pointer(&list);
}

char *
cpulist_format(const CpuList *list)
{
    GString *out = g_string_new(NULL);

    for (gint c = cpulist_next(list, -1); c >= 0;) {
        gint last = c;
        gint n;

        while ((n = cpulist_next(list, last)) == last + 1)
            last = n;
        if (out->len > 0)
            g_string_append_c(out, ',');
        if (last == c)
            g_string_append_printf(out, "%d", c);
        else
            g_string_append_printf(out, "%d-%d", c, last);
        c = n;
    }
    return g_string_free(out, FALSE);
}
