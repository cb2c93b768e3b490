/* support_matrix.c: the guest OS support matrix (GKeyFile). */
#include "support_matrix.h"

#include "keyfile.h"

#include <string.h>

typedef struct {
    char *name;
    char **ids;
    char **prefixes;
    char **arches; /* NULL: any */
    gboolean plug, unplug, is_linux;
} Row;

struct SupportMatrix {
    char *origin;
    GPtrArray *rows; /* Row * */
};

static void
row_free(gpointer p)
{
    Row *r = p;
    g_free(r->name);
    g_strfreev(r->ids);
    g_strfreev(r->prefixes);
    g_strfreev(r->arches);
    g_free(r);
}

void
support_matrix_free(SupportMatrix *matrix)
{
    if (!matrix)
        return;
    g_free(matrix->origin);
    g_ptr_array_unref(matrix->rows);
    g_free(matrix);
}

const char *
support_matrix_origin(const SupportMatrix *matrix)
{
    return matrix->origin;
}

/* @key of row @group; when @optional, its absence leaves *@out as it was. */
static gboolean
get_bool(GKeyFile *kf, const char *origin, const char *group, const char *key, gboolean optional,
         gboolean *out, GError **error)
{
    g_autoptr(GError) err = NULL;
    KeyfileRead r = keyfile_bool(kf, group, key, out, &err);

    if (r == KEYFILE_READ || (optional && r == KEYFILE_ABSENT))
        return TRUE;
    g_set_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                "%s: row [%s] needs %s=true or %s=false: %s", origin, group, key, key,
                err->message);
    return FALSE;
}

static SupportMatrix *
from_keyfile(GKeyFile *kf, const char *origin, GError **error)
{
    g_autoptr(SupportMatrix) m = g_new0(SupportMatrix, 1);
    g_auto(GStrv) groups = g_key_file_get_groups(kf, NULL);

    m->origin = g_strdup(origin);
    m->rows = g_ptr_array_new_with_free_func(row_free);
    for (guint i = 0; groups[i]; i++) {
        Row *r = g_new0(Row, 1);
        g_ptr_array_add(m->rows, r);
        r->name = g_strdup(groups[i]);
        r->ids = g_key_file_get_string_list(kf, groups[i], "ids", NULL, NULL);
        r->prefixes = g_key_file_get_string_list(kf, groups[i], "id-prefixes", NULL, NULL);
        r->arches = g_key_file_get_string_list(kf, groups[i], "arches", NULL, NULL);
        if (!r->ids && !r->prefixes && !r->arches) {
            g_set_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_KEY_NOT_FOUND,
                        "%s: row [%s] has none of ids=, id-prefixes= and arches=", origin,
                        groups[i]);
            return NULL;
        }
        if (!get_bool(kf, origin, groups[i], "plug", FALSE, &r->plug, error)
            || !get_bool(kf, origin, groups[i], "unplug", FALSE, &r->unplug, error)
            || !get_bool(kf, origin, groups[i], "linux", TRUE, &r->is_linux, error))
            return NULL;
    }
    return g_steal_pointer(&m);
}

SupportMatrix *
support_matrix_load_data(const char *data, const char *origin, GError **error)
{
    g_autoptr(GKeyFile) kf = g_key_file_new();
    g_autoptr(GError) err = NULL;

    if (!g_key_file_load_from_data(kf, data, -1, G_KEY_FILE_NONE, &err)) {
        g_set_error(error, err->domain, err->code, "%s: %s", origin, err->message);
        return NULL;
    }
    return from_keyfile(kf, origin, error);
}

SupportMatrix *
support_matrix_load(const char *path, GError **error)
{
    g_autofree char *data = NULL;
    g_autoptr(GError) err = NULL;

    if (!g_file_get_contents(path, &data, NULL, &err)) {
        g_set_error(error, err->domain, err->code, "cannot read the guest OS support matrix %s: %s",
                    path, err->message);
        return NULL;
    }
    return support_matrix_load_data(data, path, error);
}

/* How well @r matches: -1 not at all, else higher is better (see
 * support_matrix.h): the architecture first, then exact id, longest
 * prefix, architecture alone. */
static gint64
row_score(const Row *r, const char *os_id, const char *arch)
{
    gint64 kind = -1;
    gboolean by_arch = FALSE;

    if (r->arches && arch) {
        if (!g_strv_contains((const char *const *)r->arches, arch))
            return -1;
        by_arch = TRUE;
    }
    if (!r->ids && !r->prefixes)
        kind = by_arch ? 0 : -1; /* every OS on these architectures */
    else if (os_id && r->ids && g_strv_contains((const char *const *)r->ids, os_id))
        kind = G_MAXINT;
    for (guint j = 0; os_id && kind < G_MAXINT && r->prefixes && r->prefixes[j]; j++)
        if (g_str_has_prefix(os_id, r->prefixes[j]))
            kind = MAX(kind, (gint64)strlen(r->prefixes[j]) + 1);
    if (kind < 0)
        return -1;
    return (by_arch ? (G_GINT64_CONSTANT(1) << 40) : 0) + kind;
}

SupportVerdict
support_matrix_lookup(const SupportMatrix *matrix, const char *os_id, const char *arch)
{
    SupportVerdict v = { 0 };
    const Row *best = NULL;
    gint64 best_score = -1;

    for (guint i = 0; i < matrix->rows->len; i++) {
        const Row *r = matrix->rows->pdata[i];
        gint64 score = row_score(r, os_id, arch);

        if (score > best_score) {
            best = r;
            best_score = score;
        }
    }
    if (!best)
        return v;
    v.found = TRUE;
    v.plug = best->plug;
    v.unplug = best->unplug;
    v.is_linux = best->is_linux;
    v.row = best->name;
    v.arch = best->arches && arch ? arch : NULL;
    return v;
}
