/* hook_runner.c: runs the VDSM-style hook chains around a vCPU change.
 *
 * Decisions beyond the header:
 * - A directory entry is a hook when its name does not start with '.', it
 *   is (or links to) a regular file, and we may execute it (X_OK).
 *   Anything else is skipped silently and not recorded, as VDSM does: a
 *   README or a disabled (chmod -x) hook next to the real ones is normal.
 * - Trust: the root, the phase folder and the hook must each be owned by
 *   root or by the user running hotcpu-ctl (our effective uid) and not be
 *   writable by group or others.  When the root or the phase folder fails
 *   that, every hook in it is refused and recorded, so the audit record
 *   says why nothing ran.  Their parents are checked with each hook's
 *   path (next point), where a sticky /tmp is fine: --hooks-dir /tmp/x,
 *   root's, is as safe as /tmp/x itself.
 * - Each hook is started by its path, the one the listing gave
 *   (ROOT/PHASE/NAME), as VDSM, run-parts and systemd do: a script's $0,
 *   sys.argv[0] and __file__ name the hook, so it can source or read files
 *   next to itself.  Starting by path means the kernel resolves the path
 *   again at exec, after our checks.  That is safe because the checks cover
 *   everything the path resolves through (trusted_path_reason): every
 *   folder from / to the hook, through every symlink, is owned by root or
 *   by us, and no one else may write to a folder on the way (a sticky
 *   folder such as /tmp excepted, where others cannot rename or remove our
 *   entries).  So only root, or the user running hotcpu-ctl, could replace
 *   the file between the check and the exec, and they could as well
 *   replace hotcpu-ctl.  As a last guard the path must still name the file
 *   that was checked (same device and inode) just before the fork.
 * - The root and the phase folder are held open while their hooks run, so
 *   the listing and each hook's checks see one folder.
 * - A symlink in the phase folder is followed; the file it leads to must
 *   pass the hook's check, and the folder holding that file must be
 *   trusted like a hooks folder (not even sticky-writable).
 * - @timeout_s 0 means the contract's default, 30 s.
 * - A hook that cannot be started (exec failed) has failed like exit 1,
 *   with exit_code -1 and the reason in its output.
 */
#include "config.h"

#include "hook_runner.h"

#include "cancel.h"
#include "safe_text.h"
#include "trusted_dir.h"

#include <dirent.h>
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
    g_free(result->refusal);
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

/* ---- trusting hooks ------------------------------------------------------ */

static char *
fd_untrusted_reason(int fd, const char *what, const char *path)
{
    struct stat st;

    if (fstat(fd, &st) < 0)
        return g_strdup_printf("%s %s cannot be examined: %s", what, path, g_strerror(errno));
    return trust_reason(&st, what, path);
}

/* Opens the phase folder @dir of @root (both followed if they are links)
 * and checks both.  -1 when there is no such folder (the normal case);
 * else its descriptor, with *@refusal set when its hooks must not run. */
static int
open_phase_dir(const char *root, HookPhase phase, const char *dir, char **refusal)
{
    int root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int dir_fd;

    if (root_fd < 0)
        return -1;
    dir_fd = openat(root_fd, phase_folder(phase), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd >= 0)
        *refusal = fd_untrusted_reason(root_fd, "the hooks folder", root);
    close(root_fd);
    if (dir_fd >= 0 && *refusal == NULL)
        *refusal = fd_untrusted_reason(dir_fd, "the hooks folder", dir);
    return dir_fd;
}

static gint
compare_names(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The hook file names in @dir_fd, in strcmp order. */
static GPtrArray *
list_hooks(int dir_fd)
{
    GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
    int fd = fcntl(dir_fd, F_DUPFD_CLOEXEC, 3);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    struct dirent *entry;

    if (d == NULL) {
        if (fd >= 0)
            close(fd);
        return names;
    }
    while ((entry = readdir(d)) != NULL) {
        struct stat st;

        if (entry->d_name[0] == '.')
            continue;
        if (fstatat(dir_fd, entry->d_name, &st, 0) < 0 || !S_ISREG(st.st_mode))
            continue;
        if (faccessat(dir_fd, entry->d_name, X_OK, 0) < 0)
            continue;
        g_ptr_array_add(names, g_strdup(entry->d_name));
    }
    closedir(d);
    g_ptr_array_sort(names, compare_names);
    return names;
}

/* The folder holding the file open on @fd, checked like a hooks folder. */
static char *
link_target_reason(int fd, const char *path)
{
    g_autofree char *proc = g_strdup_printf("/proc/self/fd/%d", fd);
    g_autofree char *target = g_file_read_link(proc, NULL);
    g_autofree char *folder = target != NULL ? g_path_get_dirname(target) : NULL;
    struct stat st;

    if (folder == NULL || stat(folder, &st) < 0)
        return g_strdup_printf("the hook %s is a link whose target cannot be examined", path);
    return trust_reason(&st, "the folder of the link's target", folder);
}

/* Checks hook @name of @dir_fd, at @path: the file, the folder of a
 * link's target, every folder on @path.  0 when it may run, else -1 with
 * *@refusal set.  *@checked is the file that was checked. */
static int
check_hook(int dir_fd, const char *name, const char *path, struct stat *checked, char **refusal)
{
    struct stat link_st;
    int fd;

    if (fstatat(dir_fd, name, &link_st, AT_SYMLINK_NOFOLLOW) < 0
        || (fd = openat(dir_fd, name, O_PATH | O_CLOEXEC)) < 0) {
        *refusal = g_strdup_printf("the hook %s cannot be opened: %s", path, g_strerror(errno));
        return -1;
    }
    if (fstat(fd, checked) < 0 || !S_ISREG(checked->st_mode))
        *refusal = g_strdup_printf("the hook %s is not a regular file", path);
    else if (!(*refusal = trust_reason(checked, "the hook", path)) && S_ISLNK(link_st.st_mode))
        *refusal = link_target_reason(fd, path);
    close(fd);
    if (*refusal == NULL)
        *refusal = trusted_path_reason(path, "the hook");
    return *refusal == NULL ? 0 : -1;
}

/* NULL when @path still names the file checked as @checked. */
static char *
changed_reason(const char *path, const struct stat *checked)
{
    struct stat now;

    if (stat(path, &now) < 0)
        return g_strdup_printf("the hook %s cannot be examined: %s", path, g_strerror(errno));
    if (now.st_dev != checked->st_dev || now.st_ino != checked->st_ino)
        return g_strdup_printf("the hook %s was replaced while it was checked", path);
    return NULL;
}

/* ---- running one hook -------------------------------------------------- */

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

/* @fd moved above stdin, stdout and stderr (close-on-exec), so that the
 * child's dup2 onto 0, 1 and 2 never overwrites another of its fds. */
static int
fd_above_stdio(int fd)
{
    int high;

    if (fd < 0 || fd > STDERR_FILENO)
        return fd;
    high = fcntl(fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
    close(fd);
    return high;
}

/* The child between fork and exec: async-signal-safe calls only.  Reports
 * a failed exec as its errno on @err_fd (close-on-exec: EOF means it ran). */
G_GNUC_NORETURN static void
child_exec(int null_fd, int out_fd, int err_fd, char **argv, char **envp)
{
    struct sigaction dfl = { .sa_handler = SIG_DFL };
    sigset_t none;
    int e;

    /* Its own process group, so a timeout kills whatever it started too. */
    setpgid(0, 0);
    for (int sig = 1; sig < NSIG; sig++)
        sigaction(sig, &dfl, NULL); /* ignored signals stay ignored across exec */
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (dup2(null_fd, STDIN_FILENO) < 0 || dup2(out_fd, STDOUT_FILENO) < 0
        || dup2(out_fd, STDERR_FILENO) < 0)
        goto fail;
    /* Nothing of ours but stdio crosses the exec. */
    if (close_range(STDERR_FILENO + 1, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
        for (int fd = STDERR_FILENO + 1; fd < 65536; fd++)
            fcntl(fd, F_SETFD, FD_CLOEXEC);
    /* By its path, as VDSM runs hooks: argv[0], and a script's $0, is the
     * path the listing gave (why that is safe: this file's header). */
    execve(argv[0], argv, envp);
fail:
    e = errno;
    if (write(err_fd, &e, sizeof e) < 0) {
        /* nothing left to tell anyone */
    }
    _exit(127);
}

static gboolean
fail_errno(GError **error, int e, const char *what)
{
    g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(e), "%s: %s", what, g_strerror(e));
    return FALSE;
}

/* /dev/null, the output pipe and the exec-error pipe, all above stdio. */
static gboolean
child_fds(int *null_fd, int out[2], int err[2], GError **error)
{
    *null_fd = fd_above_stdio(open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (*null_fd < 0)
        return fail_errno(error, errno, "cannot open /dev/null");
    if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) {
        int e = errno;

        close(*null_fd);
        if (out[0] >= 0) {
            close(out[0]);
            close(out[1]);
        }
        return fail_errno(error, e, "cannot create a pipe");
    }
    for (int i = 0; i < 2; i++) {
        out[i] = fd_above_stdio(out[i]);
        err[i] = fd_above_stdio(err[i]);
    }
    return TRUE;
}

/* Starts the checked hook at @path (also its argv[0]) with /dev/null as
 * stdin and one pipe as stdout and stderr, in its own process group.
 * Returns once the exec has happened or failed. */
static gboolean
spawn_hook(const char *path, char **envp, GPid *pid_out, int *out_fd, GError **error)
{
    char *argv[] = { (char *)path, NULL };
    int null_fd = -1, out[2] = { -1, -1 }, err[2] = { -1, -1 };
    int e = 0;
    ssize_t n;
    pid_t pid;

    if (!child_fds(&null_fd, out, err, error))
        return FALSE;
    pid = fork();
    if (pid == 0)
        child_exec(null_fd, out[1], err[1], argv, envp);
    e = errno;
    close(null_fd);
    close(out[1]);
    close(err[1]);
    if (pid > 0) {
        /* Also from here: kill(-pid) must find the group even if the child
         * has not run setpgid yet.  Fails harmlessly once it has exec'd. */
        setpgid(pid, pid);
        do
            n = read(err[0], &e, sizeof e);
        while (n < 0 && errno == EINTR);
        if (n != sizeof e) {
            close(err[0]);
            fcntl(out[0], F_SETFL, fcntl(out[0], F_GETFL) | O_NONBLOCK);
            *pid_out = pid;
            *out_fd = out[0];
            return TRUE;
        }
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
    }
    close(err[0]);
    close(out[0]);
    return fail_errno(error, e, pid < 0 ? "cannot fork" : "cannot execute it");
}

typedef enum {
    HOOK_EXITED,
    HOOK_TIMED_OUT,
    HOOK_INTERRUPTED, /* a signal came to hotcpu-ctl (cancel.h) */
} HookWait;

/* Collects output until the hook exits, @deadline passes or a signal
 * comes.  *@pipe_open turns FALSE at the pipe's EOF. */
static HookWait
wait_hook(GPid pid, int out_fd, int pidfd, gint64 deadline, Capture *cap, gboolean *pipe_open)
{
    for (;;) {
        struct pollfd fds[3];
        nfds_t n = 0;
        gint64 now = g_get_monotonic_time();
        gint64 left_ms = (deadline - now + 999) / 1000;
        int ret;

        if (cancel_requested())
            return HOOK_INTERRUPTED;
        if (child_exited(pid))
            return HOOK_EXITED;
        if (now >= deadline)
            return HOOK_TIMED_OUT;
        if (*pipe_open)
            fds[n++] = (struct pollfd){ .fd = out_fd, .events = POLLIN };
        if (cancel_fd() >= 0)
            fds[n++] = (struct pollfd){ .fd = cancel_fd(), .events = POLLIN };
        if (pidfd >= 0)
            fds[n++] = (struct pollfd){ .fd = pidfd, .events = POLLIN };
        else if (left_ms > 50)
            left_ms = 50; /* without pidfd (before Linux 5.3): notice the exit within 50 ms */
        ret = poll(fds, n, (int)MIN(left_ms, G_MAXINT));
        if (ret < 0 && errno != EINTR)
            return HOOK_EXITED; /* cannot wait: killed by the caller, counts as failed */
        if (ret > 0 && *pipe_open && fds[0].revents != 0)
            *pipe_open = capture_read(cap, out_fd);
    }
}

/* Kills what is left of the hook's process group and reaps the hook;
 * returns its wait status. */
static int
reap_hook(GPid pid, int out_fd, Capture *cap, gboolean pipe_open)
{
    int status = 0;

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
        capture_read(cap, out_fd);
    return status;
}

/* "hotcpu: hook killed WHY" at the end of its output. */
static void
note_killed(Capture *cap, const char *why)
{
    g_autofree char *note = g_strdup_printf(
        "%shotcpu: hook killed %s\n",
        cap->buf->len > 0 && cap->buf->str[cap->buf->len - 1] != '\n' ? "\n" : "", why);

    capture_add(cap, note, strlen(note));
}

static HookResult *
run_hook(const char *path, char **envp, guint timeout_s)
{
    HookResult *result = g_new0(HookResult, 1);
    Capture cap = { g_string_new(NULL), FALSE };
    g_autoptr(GError) error = NULL;
    gint64 start = g_get_monotonic_time();
    gboolean pipe_open = TRUE;
    GPid pid;
    int out_fd, pidfd, status;

    result->path = g_strdup(path);
    result->exit_code = -1;
    if (!spawn_hook(path, envp, &pid, &out_fd, &error)) {
        g_string_append_printf(cap.buf, "hotcpu: cannot run hook %s: %s\n", path, error->message);
    } else {
        HookWait how;

        pidfd = open_pidfd(pid);
        how = wait_hook(pid, out_fd, pidfd, start + (gint64)timeout_s * G_USEC_PER_SEC, &cap,
                        &pipe_open);
        status = reap_hook(pid, out_fd, &cap, pipe_open);
        close(out_fd);
        if (pidfd >= 0)
            close(pidfd);
        result->timed_out = how == HOOK_TIMED_OUT;
        result->interrupted = how == HOOK_INTERRUPTED;
        if (how == HOOK_TIMED_OUT) {
            g_autofree char *why = g_strdup_printf("after %u s", timeout_s);
            note_killed(&cap, why);
        } else if (how == HOOK_INTERRUPTED) {
            note_killed(&cap, "when hotcpu-ctl was interrupted");
        } else if (WIFEXITED(status))
            result->exit_code = WEXITSTATUS(status);
    }
    result->output = capture_finish(&cap);
    result->seconds = (gdouble)(g_get_monotonic_time() - start) / G_USEC_PER_SEC;
    return result;
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
    if (check_hook(dir_fd, name, path, &checked, &why) < 0
        || (why = changed_reason(path, &checked)) != NULL)
        return refused_result(path, why);
    return run_hook(path, envp, timeout_s);
}

/* Runs @root's hooks of @phase.  FALSE when a hook's exit 2 stopped the
 * chain; *@all_ok turns FALSE when any hook failed. */
static gboolean
run_root(const char *root, HookPhase phase, char **envp, guint timeout_s, GPtrArray *results,
         gboolean *all_ok)
{
    g_autofree char *dir = g_build_filename(root, phase_folder(phase), NULL);
    g_autofree char *refusal = NULL;
    g_autoptr(GPtrArray) names = NULL;
    int dir_fd = open_phase_dir(root, phase, dir, &refusal);
    gboolean go_on = TRUE;

    if (dir_fd < 0)
        return TRUE;
    names = list_hooks(dir_fd);
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
        g_autofree char *dir = g_build_filename(roots[r], phase_folder(phase), NULL);
        g_autofree char *refusal = NULL;
        int dir_fd = open_phase_dir(roots[r], phase, dir, &refusal);

        if (dir_fd >= 0) {
            g_autoptr(GPtrArray) names = list_hooks(dir_fd);

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

static gboolean
write_all(int fd, const char *data, gsize len)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return FALSE;
        data += n;
        len -= (gsize)n;
    }
    return TRUE;
}

/* Writes @xml into a new 0600 file @path (which must not exist). */
static gboolean
write_new_file(const char *path, const char *xml, GError **error)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
    int e;

    if (fd >= 0 && write_all(fd, xml, strlen(xml)) && close(fd) == 0)
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
