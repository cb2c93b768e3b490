/* glib_compat.h: the few glib functions newer than our floors that are worth
 * keeping, for builds whose GLIB_VERSION_MAX_ALLOWED is below them.
 *
 * The floors (meson.build) are the oldest distributions we support: the
 * guest side builds with GLIB_VERSION_MAX_ALLOWED 2.56 (RHEL 8), the host
 * side with 2.68 (RHEL 9).  A call to a newer function is then a compile
 * error, even on a machine with a newer glib: that is the point.  Each
 * replacement below is chosen by MAX_ALLOWED, not by the glib at hand, so
 * every build compiles the same code whatever glib it finds (as QEMU's
 * glib-compat.h does).  G_ENCODE_VERSION, not GLIB_VERSION_2_xx: an older
 * glib does not define the macros of versions after its own.
 */
#pragma once

#include <glib.h>
#include <gio/gio.h>
#include <string.h>

/* g_memdup2 (2.68): g_memdup with a gsize length (g_memdup's guint
 * truncates lengths past 4 GiB). */
#if GLIB_VERSION_MAX_ALLOWED < G_ENCODE_VERSION(2, 68)
static inline gpointer
hotcpu_memdup2(gconstpointer mem, gsize byte_size)
{
    gpointer copy;

    if (mem == NULL || byte_size == 0)
        return NULL;
    copy = g_malloc(byte_size);
    memcpy(copy, mem, byte_size);
    return copy;
}
#define g_memdup2 hotcpu_memdup2
#endif

/* g_queue_clear_full (2.60). */
#if GLIB_VERSION_MAX_ALLOWED < G_ENCODE_VERSION(2, 60)
static inline void
hotcpu_queue_clear_full(GQueue *queue, GDestroyNotify free_func)
{
    if (free_func != NULL)
        g_queue_foreach(queue, (GFunc)(void (*)(void))free_func, NULL);
    g_queue_clear(queue);
}
#define g_queue_clear_full hotcpu_queue_clear_full

/* g_utf8_validate_len (2.60): g_utf8_validate with an unsigned length; both
 * refuse a NUL inside the length. */
static inline gboolean
hotcpu_utf8_validate_len(const char *str, gsize max_len, const char **end)
{
    return g_utf8_validate(str, (gssize)MIN(max_len, (gsize)G_MAXSSIZE), end);
}
#define g_utf8_validate_len hotcpu_utf8_validate_len
#endif

/* g_spawn_check_wait_status (2.70) is g_spawn_check_exit_status renamed. */
#if GLIB_VERSION_MAX_ALLOWED < G_ENCODE_VERSION(2, 70)
#define g_spawn_check_wait_status g_spawn_check_exit_status
#endif

/* g_io_error_from_file_error (2.74): the GIOErrorEnum for a GFileError, as
 * glib's own mapping does. */
#if GLIB_VERSION_MAX_ALLOWED < G_ENCODE_VERSION(2, 74)
static inline GIOErrorEnum
hotcpu_io_error_from_file_error(GFileError file_error)
{
    switch (file_error) {
    case G_FILE_ERROR_EXIST:
        return G_IO_ERROR_EXISTS;
    case G_FILE_ERROR_ISDIR:
        return G_IO_ERROR_IS_DIRECTORY;
    case G_FILE_ERROR_ACCES:
    case G_FILE_ERROR_PERM:
        return G_IO_ERROR_PERMISSION_DENIED;
    case G_FILE_ERROR_NAMETOOLONG:
        return G_IO_ERROR_FILENAME_TOO_LONG;
    case G_FILE_ERROR_NOENT:
        return G_IO_ERROR_NOT_FOUND;
    case G_FILE_ERROR_NOTDIR:
        return G_IO_ERROR_NOT_DIRECTORY;
    case G_FILE_ERROR_NXIO:
        return G_IO_ERROR_NOT_REGULAR_FILE;
    case G_FILE_ERROR_ROFS:
        return G_IO_ERROR_READ_ONLY;
    case G_FILE_ERROR_TXTBSY:
        return G_IO_ERROR_BUSY;
    case G_FILE_ERROR_LOOP:
        return G_IO_ERROR_TOO_MANY_LINKS;
    case G_FILE_ERROR_NOSPC:
    case G_FILE_ERROR_NOMEM:
        return G_IO_ERROR_NO_SPACE;
    case G_FILE_ERROR_MFILE:
    case G_FILE_ERROR_NFILE:
        return G_IO_ERROR_TOO_MANY_OPEN_FILES;
    case G_FILE_ERROR_INVAL:
        return G_IO_ERROR_INVALID_ARGUMENT;
    case G_FILE_ERROR_PIPE:
        return G_IO_ERROR_BROKEN_PIPE;
    case G_FILE_ERROR_AGAIN:
        return G_IO_ERROR_WOULD_BLOCK;
    case G_FILE_ERROR_NOSYS:
        return G_IO_ERROR_NOT_SUPPORTED;
    default:
        return G_IO_ERROR_FAILED;
    }
}
#define g_io_error_from_file_error hotcpu_io_error_from_file_error
#endif
