/* support_matrix.h: which guest OSes allow vCPU hot plug and hot unplug.
 *
 * The matrix is a GKeyFile (packaging/guest-os-support.ini).  Each group is
 * one row; its name is a label.  Keys:
 *   ids=ID;ID;...        libosinfo ids matched exactly
 *   id-prefixes=P;P;...  libosinfo ids matched by prefix (the longest wins)
 *   arches=A;A;...       (optional) the domain's <os><type arch> must be one
 *                        of these (x86_64, i686, aarch64, ppc64, ppc64le,
 *                        s390x, ...); absent: any architecture.  A row with
 *                        arches= and neither ids= nor id-prefixes= applies
 *                        to every guest OS on those architectures, with or
 *                        without OS metadata.
 *   plug=true|false      hot plug allowed
 *   unplug=true|false    hot unplug allowed
 *   linux=true|false     (optional) the row is a Linux distribution
 * Which row wins: a row that names the domain's architecture beats every row
 * that does not; among those, an exact id beats any prefix, the longest
 * prefix beats shorter ones, and an architecture-only row comes last; a tie
 * goes to the row first in the file.  When the domain names no
 * architecture, rows match by id alone and architecture-only rows never.
 */
#pragma once

#include <glib.h>

typedef struct SupportMatrix SupportMatrix;

typedef struct {
    gboolean found; /* FALSE: no row matches (unknown OS) */
    gboolean plug;
    gboolean unplug;
    gboolean is_linux;
    const char *row;  /* group name of the matching row, owned by the matrix */
    const char *arch; /* the architecture the row named, NULL: any */
} SupportVerdict;

/* Loads and validates @path: every row needs plug and unplug booleans and at
 * least one of ids/id-prefixes/arches.  G_KEY_FILE_ERROR / G_FILE_ERROR on failure,
 * the message naming the file (and the row). */
SupportMatrix *support_matrix_load(const char *path, GError **error);
/* Same from text, for tests; @origin names it in messages. */
SupportMatrix *support_matrix_load_data(const char *data, const char *origin, GError **error);
void support_matrix_free(SupportMatrix *matrix);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SupportMatrix, support_matrix_free)

/* The path the matrix was read from (or @origin). */
const char *support_matrix_origin(const SupportMatrix *matrix);

/* Looks @os_id (NULL: no OS metadata) up for architecture @arch (NULL:
 * unknown).  Never fails; no matching row gives found = FALSE. */
SupportVerdict support_matrix_lookup(const SupportMatrix *matrix, const char *os_id,
                                     const char *arch);
