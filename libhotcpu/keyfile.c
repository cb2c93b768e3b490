/* keyfile.c: reading one key of a GKeyFile. */
#include "keyfile.h"

/* What GKeyFile's getter said in @e (taken; NULL: it read the value). */
static KeyfileRead
outcome(GError *e, GError **error)
{
    KeyfileRead r;

    if (e == NULL)
        return KEYFILE_READ;
    r = g_error_matches(e, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_KEY_NOT_FOUND)
                || g_error_matches(e, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_GROUP_NOT_FOUND)
            ? KEYFILE_ABSENT
            : KEYFILE_INVALID;
    g_propagate_error(error, e);
    return r;
}

KeyfileRead
keyfile_bool(GKeyFile *kf, const char *group, const char *key, gboolean *out, GError **error)
{
    GError *e = NULL;
    gboolean v = g_key_file_get_boolean(kf, group, key, &e);

    if (e == NULL)
        *out = v;
    return outcome(e, error);
}

KeyfileRead
keyfile_double(GKeyFile *kf, const char *group, const char *key, double *out, GError **error)
{
    GError *e = NULL;
    double v = g_key_file_get_double(kf, group, key, &e);

    if (e == NULL)
        *out = v;
    return outcome(e, error);
}

KeyfileRead
keyfile_uint64(GKeyFile *kf, const char *group, const char *key, guint64 *out, GError **error)
{
    g_autofree char *text = NULL;
    GError *e = NULL;
    guint64 v;

    /* Not g_key_file_get_uint64: g_ascii_strtoull takes "-3" as 2^64 - 3. */
    if (!(text = g_key_file_get_value(kf, group, key, &e)))
        return outcome(e, error);
    if (!g_ascii_string_to_unsigned(text, 10, 0, G_MAXUINT64, &v, &e))
        return outcome(e, error);
    *out = v;
    return KEYFILE_READ;
}

KeyfileRead
keyfile_string(GKeyFile *kf, const char *group, const char *key, char **out, GError **error)
{
    GError *e = NULL;
    char *v = g_key_file_get_string(kf, group, key, &e);

    if (e == NULL) {
        g_free(*out);
        *out = v;
    }
    return outcome(e, error);
}

gboolean
keyfile_load_file(GKeyFile *kf, const char *path, gboolean missing_ok, gboolean *found,
                  GError **error)
{
    GError *e = NULL;

    *found = g_key_file_load_from_file(kf, path, G_KEY_FILE_NONE, &e);
    if (*found)
        return TRUE;
    if (missing_ok && g_error_matches(e, G_FILE_ERROR, G_FILE_ERROR_NOENT)) {
        g_error_free(e);
        return TRUE;
    }
    g_propagate_error(error, e);
    return FALSE;
}
