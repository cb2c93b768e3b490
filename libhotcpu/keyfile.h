/* keyfile.h: reading one key of a GKeyFile, the one way every hotcpu
 * configuration file (the agent's, the host policy, the support matrix,
 * autoscale's) does it.  Each caller words its own error: the helpers only
 * say whether the key was there and of the right type. */
#pragma once

#include <glib.h>

typedef enum {
    KEYFILE_ABSENT,  /* no such key (or group): *out untouched */
    KEYFILE_READ,    /* *out set */
    KEYFILE_INVALID, /* there, but not of the type: *out untouched */
} KeyfileRead;

/* Each fills @error (may be NULL) with GKeyFile's own words when the
 * result is not KEYFILE_READ. */
KeyfileRead keyfile_bool(GKeyFile *kf, const char *group, const char *key, gboolean *out,
                         GError **error);
/* A decimal point whatever the locale (g_ascii_strtod underneath). */
KeyfileRead keyfile_double(GKeyFile *kf, const char *group, const char *key, double *out,
                           GError **error);
/* Decimal digits only: "-3" is invalid (not 2^64 - 3). */
KeyfileRead keyfile_uint64(GKeyFile *kf, const char *group, const char *key, guint64 *out,
                           GError **error);
/* *@out (g_free) is replaced; the value may be empty. */
KeyfileRead keyfile_string(GKeyFile *kf, const char *group, const char *key, char **out,
                           GError **error);

/* Loads @path into @kf.  A missing file is no error when @missing_ok:
 * TRUE with *@found FALSE.  Else FALSE with GLib's error (GFileError or
 * GKeyFileError), for the caller to prefix with its own words. */
gboolean keyfile_load_file(GKeyFile *kf, const char *path, gboolean missing_ok, gboolean *found,
                           GError **error);
