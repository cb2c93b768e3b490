/* hook_runner.c: runs the VDSM-style hook chains around a vCPU change:
 * for each root, the phase folder's hooks in order, each checked
 * (hook_discover.c) then run (hook_spawn.c); their results for the audit
 * record; the _hook_domxml file.
 *
 * Decisions beyond the header:
 * - @timeout_s 0 means the contract's default, 30 s.
 * - A hook refused by its checks is recorded, not run, with the reason.
 */
#include "config.h"

#include "hook_runner.h"

#include "hook_discover.h"
#include "hook_spawn.h"

#include "cancel.h"
#include "fd_io.h"
#include "safe_text.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

void
hook_result_free(HookResult *result)
{
    if (result == NULL)
        return;
    g_free(result->path);
    g_free(result->refusal);
    g_free(result->output);
    g_free(result);
}

/* For hooks run without a PATH of ours: the usual system folders. */
#define HOOK_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* Of the caller's environment, only what says how to find programs and
 * how to speak: a hook runs as root with what the caller had, so secrets in
 * the caller's environment (tokens, passwords) must not reach it. */
static gboolean
inherited_name(const char *name, gsize len)
{
    return (len == 4 && strncmp(name, "PATH", 4) == 0)
           || (len == 4 && strncmp(name, "LANG", 4) == 0)
           || (len == 2 && strncmp(name, "TZ", 2) == 0)
           || (len > 3 && strncmp(name, "LC_", 3) == 0);
}

static char **
hook_environ(const HookEnv *env, HookPhase phase)
{
    g_auto(GStrv) caller = g_get_environ();
    g_autoptr(GStrvBuilder) b = g_strv_builder_new();
    g_autofree char *cpus = g_strdup_printf("%u", env->number_of_cpus);
    g_autofree char *prev = g_strdup_printf("%u", env->previous_number_of_cpus);
    char **envp;

    for (guint i = 0; caller[i] != NULL; i++) {
        const char *eq = strchr(caller[i], '=');

        if (eq != NULL && inherited_name(caller[i], (gsize)(eq - caller[i])))
            g_strv_builder_add(b, caller[i]);
    }
    envp = g_strv_builder_end(b);
    /* Before the contract's, which are set over them: the names were
     * checked (hook_env.c), this is only a second guard. */
    for (guint i = 0; env->custom != NULL && env->custom[i] != NULL; i++) {
        g_autofree char *name = g_strndup(env->custom[i], strcspn(env->custom[i], "="));

        envp = g_environ_setenv(envp, name, env->custom[i] + strlen(name) + 1, TRUE);
    }
    if (g_environ_getenv(envp, "PATH") == NULL)
        envp = g_environ_setenv(envp, "PATH", HOOK_DEFAULT_PATH, TRUE);
    envp = g_environ_setenv(envp, "_hook_domxml", env->domxml_path ? env->domxml_path : "", TRUE);
    envp = g_environ_setenv(envp, "vmId", env->vm_id ? env->vm_id : "", TRUE);
    envp = g_environ_setenv(envp, "vmName", env->vm_name ? env->vm_name : "", TRUE);
    envp = g_environ_setenv(envp, "numberOfCpus", cpus, TRUE);
    envp = g_environ_setenv(envp, "previousNumberOfCpus", prev, TRUE);
    envp = g_environ_setenv(envp, "HOTCPU_AGENT_SOCKET", env->agent_socket ? env->agent_socket : "",
                            TRUE);
    envp = g_environ_setenv(envp, "LIBVIRT_DEFAULT_URI", env->libvirt_uri ? env->libvirt_uri : "",
                            TRUE);
    if (phase == HOOK_PHASE_AFTER && env->outcome != NULL)
        envp = g_environ_setenv(envp, "HOTCPU_OUTCOME", env->outcome, TRUE);
    return envp;
}

static HookResult *
refused_result(const char *path, const char *why)
{
    HookResult *result = g_new0(HookResult, 1);

    result->path = g_strdup(path);
    result->exit_code = -1;
    result->refused = TRUE;
    result->refusal = g_strdup(why);
    result->output = g_strdup_printf("hotcpu: hook %s not run: %s\n", path, why);
    return result;
}

/* Checks hook @name of @dir_fd and runs it when it passes (and
 * @folder_refusal is NULL). */
static HookResult *
check_and_run(int dir_fd, const char *name, const char *path, const char *folder_refusal,
              char **envp, guint timeout_s)
{
    g_autofree char *why = NULL;
    struct stat checked;

    if (folder_refusal != NULL)
        return refused_result(path, folder_refusal);
    if (hook_check(dir_fd, name, path, &checked, &why) < 0
        || (why = hook_changed_reason(path, &checked)) != NULL)
        return refused_result(path, why);
    return hook_spawn_run(path, envp, timeout_s);
}

/* Runs @root's hooks of @phase.  FALSE when a hook's exit 2 stopped the
 * chain; *@all_ok turns FALSE when any hook failed. */
static gboolean
run_root(const char *root, HookPhase phase, char **envp, guint timeout_s, GPtrArray *results,
         gboolean *all_ok)
{
    g_autofree char *dir = g_build_filename(root, hook_phase_folder(phase), NULL);
    g_autofree char *refusal = NULL;
    g_autoptr(GPtrArray) names = NULL;
    int dir_fd = hook_open_phase_dir(root, phase, dir, &refusal);
    gboolean go_on = TRUE;

    if (dir_fd < 0)
        return TRUE;
    names = hook_list(dir_fd);
    for (guint i = 0; i < names->len && go_on && !cancel_requested(); i++) {
        g_autofree char *path = g_build_filename(dir, names->pdata[i], NULL);
        HookResult *result = check_and_run(dir_fd, names->pdata[i], path, refusal, envp, timeout_s);

        g_ptr_array_add(results, result);
        if (result->exit_code != 0)
            *all_ok = FALSE;
        if (result->exit_code == 2 || result->interrupted)
            go_on = FALSE;
    }
    close(dir_fd);
    return go_on;
}

/* ---- chains ------------------------------------------------------------- */

gboolean
hooks_run(char **roots, HookPhase phase, const HookEnv *env, guint timeout_s, GPtrArray *results,
          gboolean *stopped)
{
    g_auto(GStrv) envp = hook_environ(env, phase);
    gboolean all_ok = TRUE;
    gboolean stop = FALSE;

    if (timeout_s == 0)
        timeout_s = HOOK_DEFAULT_TIMEOUT_S;
    for (guint r = 0; roots != NULL && roots[r] != NULL && !stop; r++)
        stop = !run_root(roots[r], phase, envp, timeout_s, results, &all_ok);
    if (stopped != NULL)
        *stopped = stop;
    return all_ok;
}

gboolean
hooks_any(char **roots, HookPhase phase)
{
    gboolean any = FALSE;

    for (guint r = 0; roots != NULL && roots[r] != NULL && !any; r++) {
        g_autofree char *dir = g_build_filename(roots[r], hook_phase_folder(phase), NULL);
        g_autofree char *refusal = NULL;
        int dir_fd = hook_open_phase_dir(roots[r], phase, dir, &refusal);

        if (dir_fd >= 0) {
            g_autoptr(GPtrArray) names = hook_list(dir_fd);

            any = names->len > 0;
            close(dir_fd);
        }
    }
    return any;
}

/* @output as the audit record and --json carry it: each line through
 * safe_text(), so that no control character but the newline reaches jq -r
 * (a hook may quote the guest). */
static char *
output_for_json(const char *output)
{
    g_auto(GStrv) lines = g_strsplit(output != NULL ? output : "", "\n", -1);

    for (guint i = 0; lines[i] != NULL; i++) {
        char *safe = safe_text(lines[i], -1, 0);

        g_free(lines[i]);
        lines[i] = safe;
    }
    return g_strjoinv("\n", lines);
}

JsonNode *
hook_results_to_json(GPtrArray *results)
{
    g_autoptr(JsonBuilder) b = json_builder_new();

    json_builder_begin_array(b);
    for (guint i = 0; results != NULL && i < results->len; i++) {
        const HookResult *r = results->pdata[i];
        g_autofree char *output = output_for_json(r->output);

        json_builder_begin_object(b);
        json_builder_set_member_name(b, "hook");
        json_builder_add_string_value(b, r->path);
        json_builder_set_member_name(b, "exit");
        json_builder_add_int_value(b, r->exit_code);
        json_builder_set_member_name(b, "timed-out");
        json_builder_add_boolean_value(b, r->timed_out);
        json_builder_set_member_name(b, "refused");
        json_builder_add_boolean_value(b, r->refused);
        json_builder_set_member_name(b, "seconds");
        json_builder_add_double_value(b, r->seconds);
        json_builder_set_member_name(b, "output");
        json_builder_add_string_value(b, output);
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
    return json_builder_get_root(b);
}

char *
hook_results_describe_failures(GPtrArray *results, guint from)
{
    GString *s = g_string_new(NULL);

    for (guint i = from; i < results->len; i++) {
        const HookResult *h = results->pdata[i];
        g_autofree char *out = NULL;

        if (h->exit_code == 0)
            continue;
        if (s->len)
            g_string_append(s, "; ");
        if (h->refused)
            g_string_append_printf(s, "hook %s was not run: %s", h->path,
                                   h->refusal != NULL ? h->refusal : "it is not trusted");
        else if (h->timed_out)
            g_string_append_printf(s, "hook %s was killed after its timeout", h->path);
        else if (h->exit_code < 0)
            g_string_append_printf(s, "hook %s could not be run", h->path);
        else
            g_string_append_printf(s, "hook %s exited %d", h->path, h->exit_code);
        if (h->output && *h->output) {
            out = g_strstrip(g_strndup(h->output, 200));
            if (*out)
                g_string_append_printf(s, " (%s)", out);
        }
    }
    return g_string_free(s, FALSE);
}

/* Writes @xml into a new 0600 file @path (which must not exist). */
static gboolean
write_new_file(const char *path, const char *xml, GError **error)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
    int e;

    if (fd >= 0 && fd_write_all(fd, xml, strlen(xml)) && close(fd) == 0)
        return TRUE;
    e = errno;
    if (fd >= 0)
        close(fd);
    g_unlink(path);
    g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(e), "cannot write %s: %s", path,
                g_strerror(e));
    return FALSE;
}

char *
hook_domxml_write(const char *xml, GError **error)
{
    /* A private folder (g_dir_make_tmp: 0700) and in it a 0600 file: the
     * live XML names disks, networks and sockets, which is nobody else's
     * business, and nobody can put a file in its place. */
    g_autofree char *dir = g_dir_make_tmp("hotcpu-domxml-XXXXXX", error);
    g_autofree char *path = NULL;

    if (dir == NULL)
        return NULL;
    path = g_build_filename(dir, "domain.xml", NULL);
    if (write_new_file(path, xml, error))
        return g_steal_pointer(&path);
    g_rmdir(dir);
    return NULL;
}

gboolean
hook_domxml_replace(const char *path, const char *xml, GError **error)
{
    g_autofree char *dir = g_path_get_dirname(path);
    g_autofree char *next = g_build_filename(dir, "domain.xml.new", NULL);

    /* Whole or not at all: a hook never reads half of the new XML, and what
     * a before hook wrote into the old file does not survive. */
    g_unlink(next);
    if (!write_new_file(next, xml, error))
        return FALSE;
    if (rename(next, path) == 0)
        return TRUE;
    g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno), "cannot replace %s: %s", path,
                g_strerror(errno));
    g_unlink(next);
    return FALSE;
}

void
hook_domxml_remove(const char *path)
{
    g_autofree char *dir = NULL;

    if (path == NULL)
        return;
    g_unlink(path);
    dir = g_path_get_dirname(path);
    g_rmdir(dir);
}
