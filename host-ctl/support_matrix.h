/* support_matrix.h: which guest OSes allow vCPU hot plug and hot unplug.
 *
 * The matrix is a GKeyFile (packaging/guest-os-support.ini).  Each group is
 * one row; its name is a label.  Keys:
 *   ids=ID;ID;...        libosinfo ids matched exactly
 *   id-prefixes=P;P;...  libosinfo ids matched by prefix (the longest wins)
 *   plug=true|false      hot plug allowed
 *   unplug=true|false    hot unplug allowed
 *   linux=true|false     (optional) the row is a Linux distribution
 * An exact id match beats any prefix match.
 */
#pragma once

#include <glib.h>

typedef struct SupportMatrix SupportMatrix;

typedef struct {
    gboolean found; /* FALSE: no row matches (unknown OS) */
    gboolean plug;
    gboolean unplug;
    gboolean is_linux;
    const char *row; /* group name of the matching row, owned by the matrix */
} SupportVerdict;

/* Loads and validates @path: every row needs plug and unplug booleans and at
 * least one of ids/id-prefixes.  G_KEY_FILE_ERROR / G_FILE_ERROR on failure,
 * the message naming the file (and the row). */
SupportMatrix *support_matrix_load(const char *path, GError **error);
/* Same from text, for tests; @origin names it in messages. */
SupportMatrix *support_matrix_load_data(const char *data, const char *origin, GError **error);
void support_matrix_free(SupportMatrix *matrix);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SupportMatrix, support_matrix_free)

/* The path the matrix was read from (or @origin). */
const char *support_matrix_origin(const SupportMatrix *matrix);

/* Looks @os_id up.  Never fails; an unmatched id gives found = FALSE. */
SupportVerdict support_matrix_lookup(const SupportMatrix *matrix, const char *os_id);
