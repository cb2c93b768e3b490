/* hook_runner.c: runs the VDSM-style hook chains around a vCPU change.
 *
 * Decisions beyond the header:
 * - A directory entry is a hook when its name does not start with '.', it
 *   is (or links to) a regular file, and we may execute it (access X_OK).
 *   Anything else is skipped silently and not recorded, as VDSM does: a
 *   README or a disabled (chmod -x) hook next to the real ones is normal.
 * - The permission check looks at the root, the phase folder and the hook
 *   (following symlinks: a link's own mode means nothing).  When the root or
 *   the phase folder is writable by group or others, every hook in it is
 *   refused and recorded, so the audit record says why nothing ran.
 * - @timeout_s 0 means the contract's default, 30 s.
 * - A hook that cannot be started (exec failed) has failed like exit 1,
 *   with exit_code -1 and the reason in its output.
 */
#include "config.h"

#include "hook_runner.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define HOOK_OUTPUT_MAX (64 * 1024)
#define HOOK_TRUNCATED_NOTE "\n[hotcpu: output truncated]\n"

static const char *
phase_folder(HookPhase phase)
{
    return phase == HOOK_PHASE_BEFORE ? "before_set_num_of_cpus" : "after_set_num_of_cpus";
}

void
hook_result_free(HookResult *result)
{
    if (result == NULL)
        return;
    g_free(result->path);
    g_free(result->output);
    g_free(result);
}

char **
hooks_roots(const char *override)
{
    const char *env;

    if (override != NULL && *override != '\0')
        return g_strdupv((char *[]){ (char *) override, NULL });
    env = g_getenv("HOTCPU_HOOKS_DIR");
    if (env != NULL && *env != '\0')
        return g_strdupv((char *[]){ (char *)env, NULL });
    return g_strdupv((char *[]){ HOOKS_ETC_DIR, HOTCPU_HOOKS_LIBEXEC_DIR, NULL });
}

/* ---- finding hooks ----------------------------------------------------- */

static gboolean
insecure_mode(mode_t mode)
{
    return (mode & (S_IWGRP | S_IWOTH)) != 0;
}

static gint
compare_names(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The hook file names in @dir, in strcmp order; empty when @dir cannot be
 * read (missing is the normal case). */
static GPtrArray *
list_hooks(const char *dir)
{
    GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    const char *name;

    if (d == NULL)
        return names;
    while ((name = g_dir_read_name(d)) != NULL) {
        g_autofree char *path = NULL;
        struct stat st;

        if (name[0] == '.')
            continue;
        path = g_build_filename(dir, name, NULL);
        if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
            continue;
        if (access(path, X_OK) < 0)
            continue;
        g_ptr_array_add(names, g_strdup(name));
    }
    g_ptr_array_sort(names, compare_names);
    return names;
}

/* ---- running one hook -------------------------------------------------- */

static void
child_setup(gpointer user_data)
{
    /* Its own process group, so a timeout kills whatever it started too.
     * Only async-signal-safe calls here. */
    setpgid(0, 0);
}

static int
open_pidfd(GPid pid)
{
#ifdef SYS_pidfd_open
    return (int)syscall(SYS_pidfd_open, pid, 0);
#else
    errno = ENOSYS;
    return -1;
#endif
}

/* TRUE once @pid has exited, without reaping it (the zombie keeps the pid
 * and the process group id from being reused until we kill the group). */
static gboolean
child_exited(GPid pid)
{
    siginfo_t info = { 0 };

    if (waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT) < 0)
        return errno != EINTR;
    return info.si_pid == pid;
}

typedef struct {
    GString *buf;
    gboolean truncated;
} Capture;

static void
capture_add(Capture *cap, const char *data, gsize len)
{
    gsize room = HOOK_OUTPUT_MAX - cap->buf->len;

    if (len > room) {
        len = room;
        cap->truncated = TRUE;
    }
    g_string_append_len(cap->buf, data, (gssize)len);
}

/* Reads what the pipe holds now.  Returns FALSE at EOF or on error. */
static gboolean
capture_read(Capture *cap, int fd)
{
    char chunk[8192];

    for (;;) {
        ssize_t n = read(fd, chunk, sizeof chunk);

        if (n > 0) {
            /* Past the cap we keep reading and drop the bytes, so a chatty
             * hook never blocks on a full pipe. */
            capture_add(cap, chunk, (gsize)n);
            continue;
        }
        if (n == 0)
            return FALSE;
        if (errno == EINTR)
            continue;
        return errno == EAGAIN || errno == EWOULDBLOCK;
    }
}

/* Valid UTF-8 (the output goes into JSON) and at most HOOK_OUTPUT_MAX bytes,
 * the last of which say so when something was cut. */
static char *
capture_finish(Capture *cap)
{
    g_autofree char *text = g_utf8_make_valid(cap->buf->str, (gssize)cap->buf->len);
    gsize len = strlen(text);
    gsize limit = HOOK_OUTPUT_MAX;
    GString *out;

    if (cap->truncated || len > limit) {
        limit -= strlen(HOOK_TRUNCATED_NOTE);
        cap->truncated = TRUE;
    }
    if (len > limit) {
        const char *end = g_utf8_find_prev_char(text, text + limit + 1);

        len = end != NULL ? (gsize)(end - text) : 0;
    }
    out = g_string_new_len(text, (gssize)len);
    if (cap->truncated)
        g_string_append(out, HOOK_TRUNCATED_NOTE);
    g_string_free(cap->buf, TRUE);
    cap->buf = NULL;
    return g_string_free(out, FALSE);
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

/* Starts @path with /dev/null as stdin and one pipe as stdout and stderr;
 * GLib closes every other descriptor in the child. */
static gboolean
spawn_hook(const char *path, char **envp, GPid *pid_out, int *out_fd, GError **error)
{
    char *argv[] = { (char *)path, NULL };
    int pipe_fds[2];
    int null_fd;
    gboolean ok;

    null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null_fd < 0) {
        int saved = errno;

        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(saved),
                    "cannot open /dev/null: %s", g_strerror(saved));
        return FALSE;
    }
    if (pipe2(pipe_fds, O_CLOEXEC) < 0) {
        int saved = errno;

        close(null_fd);
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(saved), "cannot create a pipe: %s",
                    g_strerror(saved));
        return FALSE;
    }
    ok = g_spawn_async_with_pipes_and_fds(NULL, (const char *const *)argv,
                                          (const char *const *)envp, G_SPAWN_DO_NOT_REAP_CHILD,
                                          child_setup, NULL, null_fd, pipe_fds[1], pipe_fds[1],
                                          NULL, NULL, 0, pid_out, NULL, NULL, NULL, error);
    close(null_fd);
    close(pipe_fds[1]);
    if (!ok) {
        close(pipe_fds[0]);
        return FALSE;
    }
    /* Also from here: kill(-pid) must find the group even if the child has
     * not run setpgid yet.  Fails harmlessly once it has exec'd. */
    setpgid(*pid_out, *pid_out);
    fcntl(pipe_fds[0], F_SETFL, fcntl(pipe_fds[0], F_GETFL) | O_NONBLOCK);
    *out_fd = pipe_fds[0];
    return TRUE;
}

static HookResult *
run_hook(const char *path, char **envp, guint timeout_s)
{
    HookResult *result = g_new0(HookResult, 1);
    Capture cap = { g_string_new(NULL), FALSE };
    g_autoptr(GError) error = NULL;
    gint64 start = g_get_monotonic_time();
    gint64 deadline = start + (gint64)timeout_s * G_USEC_PER_SEC;
    gboolean pipe_open = TRUE;
    GPid pid;
    int out_fd;
    int pidfd;
    int status = 0;

    result->path = g_strdup(path);
    result->exit_code = -1;

    if (!spawn_hook(path, envp, &pid, &out_fd, &error)) {
        g_string_append_printf(cap.buf, "hotcpu: cannot run hook %s: %s\n", path, error->message);
        result->output = capture_finish(&cap);
        result->seconds = (gdouble)(g_get_monotonic_time() - start) / G_USEC_PER_SEC;
        return result;
    }
    /* Without pidfd (kernels before 5.3) we notice the exit within 50 ms. */
    pidfd = open_pidfd(pid);

    for (;;) {
        struct pollfd fds[2];
        nfds_t n = 0;
        gint64 now = g_get_monotonic_time();
        gint64 left_ms = (deadline - now + 999) / 1000;
        int ret;

        if (child_exited(pid))
            break;
        if (now >= deadline) {
            result->timed_out = TRUE;
            break;
        }
        if (pipe_open)
            fds[n++] = (struct pollfd){ .fd = out_fd, .events = POLLIN };
        if (pidfd >= 0)
            fds[n++] = (struct pollfd){ .fd = pidfd, .events = POLLIN };
        else if (left_ms > 50)
            left_ms = 50;
        ret = poll(fds, n, (int)MIN(left_ms, G_MAXINT));
        if (ret < 0 && errno != EINTR)
            break; /* cannot wait: killed below, counts as failed */
        if (ret > 0 && pipe_open && fds[0].revents != 0)
            pipe_open = capture_read(&cap, out_fd);
    }

    /* Whether it exited or timed out: kill the whole group.  Background
     * children a hook left behind would otherwise live on and keep the pipe
     * open.  The leader is not reaped yet, so its pid still names the group. */
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL); /* in case it never got its own group */
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    /* Whatever it wrote before it died is in the pipe; take it without
     * waiting for EOF (a process that escaped the group may hold it open). */
    if (pipe_open)
        capture_read(&cap, out_fd);
    close(out_fd);
    if (pidfd >= 0)
        close(pidfd);

    if (result->timed_out) {
        g_autofree char *note = g_strdup_printf(
            "%shotcpu: hook killed after %u s\n",
            cap.buf->len > 0 && cap.buf->str[cap.buf->len - 1] != '\n' ? "\n" : "", timeout_s);

        capture_add(&cap, note, strlen(note));
    } else if (WIFEXITED(status))
        result->exit_code = WEXITSTATUS(status);
    result->output = capture_finish(&cap);
    result->seconds = (gdouble)(g_get_monotonic_time() - start) / G_USEC_PER_SEC;
    return result;
}

static HookResult *
refused_result(const char *path, const char *insecure)
{
    HookResult *result = g_new0(HookResult, 1);

    result->path = g_strdup(path);
    result->exit_code = -1;
    result->refused = TRUE;
    result->output = g_strdup_printf("hotcpu: hook %s not run: %s is writable by group or others\n",
                                     path, insecure);
    return result;
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

    for (guint r = 0; roots != NULL && roots[r] != NULL && !stop; r++) {
        g_autofree char *dir = g_build_filename(roots[r], phase_folder(phase), NULL);
        g_autoptr(GPtrArray) names = NULL;
        const char *insecure = NULL;
        struct stat st;

        if (stat(roots[r], &st) < 0 || !S_ISDIR(st.st_mode))
            continue;
        if (insecure_mode(st.st_mode))
            insecure = roots[r];
        if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
            continue;
        if (insecure == NULL && insecure_mode(st.st_mode))
            insecure = dir;

        names = list_hooks(dir);
        for (guint i = 0; i < names->len && !stop; i++) {
            g_autofree char *path = g_build_filename(dir, names->pdata[i], NULL);
            const char *bad = insecure;
            HookResult *result;
            gint code;

            if (bad == NULL && (stat(path, &st) < 0 || insecure_mode(st.st_mode)))
                bad = path;
            if (bad != NULL)
                result = refused_result(path, bad);
            else
                result = run_hook(path, envp, timeout_s);

            code = result->exit_code;
            g_ptr_array_add(results, result);
            if (code == 0)
                continue;
            all_ok = FALSE;
            if (code == 2)
                stop = TRUE;
        }
    }
    if (stopped != NULL)
        *stopped = stop;
    return all_ok;
}

JsonNode *
hook_results_to_json(GPtrArray *results)
{
    g_autoptr(JsonBuilder) b = json_builder_new();

    json_builder_begin_array(b);
    for (guint i = 0; results != NULL && i < results->len; i++) {
        const HookResult *r = results->pdata[i];

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
        json_builder_add_string_value(b, r->output != NULL ? r->output : "");
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
            g_string_append_printf(s,
                                   "hook %s was not run: it or its folder is writable by "
                                   "group or others",
                                   h->path);
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

char *
hook_domxml_write(const char *xml, GError **error)
{
    g_autofree char *path = NULL;
    int fd = g_file_open_tmp("hotcpu-domxml-XXXXXX.xml", &path, error);

    if (fd < 0)
        return NULL;
    close(fd);
    if (!g_file_set_contents(path, xml, -1, error)) {
        g_unlink(path);
        return NULL;
    }
    return g_steal_pointer(&path);
}

void
hook_domxml_remove(const char *path)
{
    if (path)
        g_unlink(path);
}
