/* hook_env.h: a domain's custom properties for its hooks, as VDSM passes a
 * VM's custom properties: environment variables, per domain from hotcpu's
 * <metadata> and for one run from `set --hook-env NAME=VALUE`.
 *
 * In the domain XML (namespace HOOK_ENV_NS, any prefix; directly under
 * <metadata> or inside one element of that namespace, which is what
 * `virsh metadata DOMAIN URI --key hotcpu --set XML` writes):
 *
 *   <metadata>
 *     <hotcpu:hotcpu xmlns:hotcpu="http://hotcpu.org/xmlns/libvirt/domain/1.0">
 *       <hotcpu:hook-env name="sap_profile">gold</hotcpu:hook-env>
 *     </hotcpu:hotcpu>
 *   </metadata>
 *
 * A hook runs as root and a domain's definition may be written by people
 * who are not root, so a name may not steer how a hook's interpreter or
 * the C library behaves, and may not override the contract's variables:
 * - it starts with a letter and holds only letters, digits and '_', at
 *   most HOOK_ENV_NAME_MAX bytes;
 * - it holds at least one lowercase letter: the names in capitals are the
 *   system's (PATH, HOME, IFS, LD_PRELOAD, PYTHONPATH, BASH_ENV, ...) and
 *   the contract's (HOTCPU_*, LIBVIRT_DEFAULT_URI);
 * - it is none of the contract's names (vmId, vmName, numberOfCpus,
 *   previousNumberOfCpus, _hook_domxml), none of path, home, shell, user,
 *   logname, term, lang, tz, tmpdir, ifs, env, cdpath, pwd, mail in any
 *   case, and does not start with LC_, LD_, HOTCPU_ or LIBVIRT_ nor end
 *   with _proxy, in any case (curl and Python read http_proxy).
 * A value is one line of text: valid UTF-8 without control characters
 * (no newline, tab, escape), at most HOOK_ENV_VALUE_MAX bytes; empty is
 * fine.  At most HOOK_ENV_MAX_VARS variables reach the hooks.
 */
#pragma once

#include <glib.h>

#define HOOK_ENV_NS "http://hotcpu.org/xmlns/libvirt/domain/1.0"
#define HOOK_ENV_MAX_VARS 32
#define HOOK_ENV_NAME_MAX 64
#define HOOK_ENV_VALUE_MAX 4096

/* TRUE when @name may name a hook variable; else FALSE with a
 * G_OPTION_ERROR_BAD_VALUE saying why ("the hook variable name 'PATH' is
 * refused: ..."). */
gboolean hook_env_check_name(const char *name, GError **error);

/* TRUE when @value may be the value of @name; else why not. */
gboolean hook_env_check_value(const char *name, const char *value, GError **error);

/* Checks the --hook-env arguments @args (NAME=VALUE each, NULL-terminated,
 * or NULL): the form, the names and values, no name twice, at most
 * HOOK_ENV_MAX_VARS.  The message names the argument. */
gboolean hook_env_check_args(const char *const *args, GError **error);

/* The variables for the hooks: @metadata's (DomainHookVar *, from the
 * domain's XML; NULL: none), then @args (--hook-env, already checked with
 * hook_env_check_args), which win over the metadata's for this run.
 * Returns NAME=VALUE strings sorted by name, NULL-terminated (g_strfreev),
 * or NULL with an error naming domain @domain when the metadata holds a
 * name or value that is refused, a name twice, or too many. */
char **hook_env_build(const char *domain, GPtrArray *metadata, const char *const *args,
                      GError **error);
