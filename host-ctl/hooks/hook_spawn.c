/* hook_spawn.c: runs one hook, bounded in time and output.
 *
 * Decisions beyond the header:
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
 *   that was checked (same device and inode) just before the fork
 *   (hook_changed_reason).
 * - A hook that cannot be started (exec failed) has failed like exit 1,
 *   with exit_code -1 and the reason in its output.
 */
#include "config.h"

#include "hook_spawn.h"

#include "cancel.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define HOOK_OUTPUT_MAX (64 * 1024)
#define HOOK_TRUNCATED_NOTE "\n[hotcpu: output truncated]\n"

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

HookResult *
hook_spawn_run(const char *path, char **envp, guint timeout_s)
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
