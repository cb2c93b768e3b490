/* stockhost.c: Debian 12's own libvirtd 9.0 + QEMU 7.2, chrooted in a
 * mount and network namespace of their own. */
#include "stockhost.h"

#include <errno.h>
#include <gio/gio.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CONNECT_TIMEOUT_S 20

static char *
run_capture(const char *const *argv, GError **error)
{
    g_autofree char *out = NULL;
    g_autofree char *err = NULL;
    int status;

    if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out, &err,
                      &status, error))
        return NULL;
    if (!g_spawn_check_wait_status(status, NULL)) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s failed: %s", argv[0], err ? err : "");
        return NULL;
    }
    if (err && *err)
        g_printerr("%s", err); /* the root's build says what it did */
    return g_steal_pointer(&out);
}

static pid_t
read_pid(const char *dir, const char *name)
{
    g_autofree char *path = g_build_filename(dir, "run", name, NULL);
    g_autofree char *text = NULL;

    if (!g_file_get_contents(path, &text, NULL, NULL))
        return 0;
    return (pid_t)strtol(text, NULL, 10);
}

static gboolean
alive(pid_t pid)
{
    return pid > 0 && kill(pid, 0) == 0;
}

/* SIGKILL to every process chrooted in @root: the daemons and QEMUs of
 * this run or of a dead one (only these tests run anything there). */
static void
kill_root(const char *root)
{
    g_autoptr(GDir) proc = g_dir_open("/proc", 0, NULL);
    const char *e;

    while (proc && (e = g_dir_read_name(proc))) {
        g_autofree char *link = g_strdup_printf("/proc/%s/root", e);
        g_autofree char *target = g_file_read_link(link, NULL);
        long pid = strtol(e, NULL, 10);

        if (pid > 0 && target && strcmp(target, root) == 0)
            kill((pid_t)pid, SIGKILL);
    }
}

/* The folders the guests and hotcpu-ctl need at their own paths: the
 * source (the support matrix), the build (programs, guest image), the run
 * folder (sockets, logs, hooks, audit log). */
static GPtrArray *
shared_paths(const char *rundir)
{
    GPtrArray *paths = g_ptr_array_new_with_free_func(g_free);
    g_autofree char *src = realpath(E2E_SOURCE_DIR "/../..", NULL);
    g_autofree char *build = realpath(E2E_BUILD_ROOT, NULL);

    if (src)
        g_ptr_array_add(paths, g_strdup(src));
    if (build && (!src || !g_str_has_prefix(build, src)))
        g_ptr_array_add(paths, g_strdup(build));
    g_ptr_array_add(paths, g_strdup(rundir));
    return paths;
}

static gboolean
spawn_daemons(E2eStockHost *s, const char *rundir, GError **error)
{
    g_autoptr(GPtrArray) paths = shared_paths(rundir);
    GString *binds = g_string_new(NULL);
    g_autofree char *script = NULL;
    g_autofree char *err = NULL;
    int status;

    for (guint i = 0; i < paths->len; i++)
        g_string_append_printf(binds, "mkdir -p \"$R\"'%s'; mount --bind '%s' \"$R\"'%s'\n",
                               (char *)paths->pdata[i], (char *)paths->pdata[i],
                               (char *)paths->pdata[i]);
    script = g_strdup_printf(
        "set -e\n"
        "R='%s'; D='%s'\n"
        "mount --bind \"$R\" \"$R\"\n" /* else: "Failed disable mount propagation" */
        "mount -t proc proc \"$R/proc\"\n"
        "mount --rbind /sys \"$R/sys\"\n"
        "mount --rbind /dev \"$R/dev\"\n"
        "mount --bind \"$D/run\" \"$R/run\"\n"
        "mkdir -p \"$R/run/lock\" \"$R/run/libvirt\"\n"
        "mount --bind \"$D/lib\" \"$R/var/lib/libvirt\"\n"
        "mkdir -p \"$R/var/lib/libvirt/qemu\"\n"
        "mount --bind \"$D/cache\" \"$R/var/cache/libvirt\"\n"
        "mount --bind \"$D/log\" \"$R/var/log/libvirt\"\n"
        "mkdir -p \"$R/var/log/libvirt/qemu\"\n"
        "mount -t tmpfs -o mode=1777 hotcpu-e2e-stockhost \"$R/tmp\"\n"
        "%s"
        "ip link set lo up 2>/dev/null || true\n"
        "chroot \"$R\" /usr/sbin/virtlogd -d -p /run/virtlogd.pid\n"
        "chroot \"$R\" /usr/sbin/libvirtd -d -p /run/libvirtd.pid\n",
        s->root, s->dir, binds->str);
    g_string_free(binds, TRUE);
    {
        const char *argv[]
            = { "unshare", "-m", "-n", "--propagation", "private", "sh", "-c", script, NULL };

        if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, &err,
                          &status, error))
            return FALSE;
    }
    if (!g_spawn_check_wait_status(status, NULL)) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
                    "cannot start the stock host's libvirtd: %s", err);
        return FALSE;
    }
    return TRUE;
}

static gboolean
connect_daemon(E2eStockHost *s, GError **error)
{
    for (int i = 0; i < CONNECT_TIMEOUT_S * 10 && !s->conn; i++) {
        s->conn = virConnectOpen(s->uri);
        if (!s->conn)
            g_usleep(100 * 1000);
    }
    if (!s->conn) {
        const char *msg = virGetLastErrorMessage();
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                    "the stock host's libvirtd did not answer on %s within %d s: %s", s->uri,
                    CONNECT_TIMEOUT_S, msg ? msg : "?");
        return FALSE;
    }
    if (virConnectGetLibVersion(s->conn, &s->libvirt_version) < 0
        || virConnectGetVersion(s->conn, &s->qemu_version) < 0) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
                    "the stock host's libvirtd does not tell its versions: %s",
                    virGetLastErrorMessage());
        return FALSE;
    }
    return TRUE;
}

/* hotcpu-ctl as the stock host's administrator runs it: in the daemons'
 * namespaces and root (virtlogd's, which outlives a libvirtd restart). */
static gboolean
write_ctl_wrapper(E2eStockHost *s, const char *ctl, GError **error)
{
    g_autofree char *pidfile = g_build_filename(s->dir, "run", "virtlogd.pid", NULL);
    g_autofree char *text = g_strdup_printf(
        "#!/bin/sh\n"
        "# hotcpu-ctl on the e2e stock host (Debian 12's libvirt 9.0): tests/e2e/stockhost.c\n"
        "exec nsenter -t \"$(cat '%s')\" -m -n -r -w '%s' \"$@\"\n",
        pidfile, ctl);

    s->ctl_wrapper = g_build_filename(s->dir, "hotcpu-ctl", NULL);
    if (!g_file_set_contents(s->ctl_wrapper, text, -1, error))
        return FALSE;
    chmod(s->ctl_wrapper, 0755);
    return TRUE;
}

E2eStockHost *
e2e_stockhost_start(const char *build_script, const char *rundir, const char *ctl, GError **error)
{
    g_autoptr(E2eStockHost) s = g_new0(E2eStockHost, 1);
    const char *cache_base = g_getenv("HOTCPU_TEST_CACHE");
    g_autofree char *cache = g_build_filename(
        cache_base && *cache_base ? cache_base : "/var/cache/hotcpu-tests", "stockhost", NULL);
    const char *build[] = { "sh", build_script, cache, NULL };
    g_autofree char *out = NULL;
    static const char *const subdirs[] = { "run", "lib", "cache", "log" };

    if (!(out = run_capture(build, error)))
        return NULL;
    s->root = g_strdup(g_strstrip(out));
    if (!g_file_test(s->root, G_FILE_TEST_IS_DIR)) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "%s did not make a root: '%s'",
                    build_script, s->root);
        return NULL;
    }
    kill_root(s->root); /* a dead run's daemons and QEMUs */
    s->dir = g_build_filename(rundir, "stockhost", NULL);
    for (guint i = 0; i < G_N_ELEMENTS(subdirs); i++) {
        g_autofree char *d = g_build_filename(s->dir, subdirs[i], NULL);
        g_mkdir_with_parents(d, 0755);
    }
    s->uri = g_strdup_printf("qemu+unix:///system?socket=%s/run/libvirt/libvirt-sock", s->dir);
    if (!write_ctl_wrapper(s, ctl, error) || !spawn_daemons(s, rundir, error)
        || !connect_daemon(s, error))
        return NULL;
    return g_steal_pointer(&s);
}

void
e2e_stockhost_stop(E2eStockHost *s)
{
    virDomainPtr *doms = NULL;
    int n;

    if (!s)
        return;
    n = s->conn ? virConnectListAllDomains(s->conn, &doms, 0) : 0;
    for (int i = 0; i < n; i++) {
        if (virDomainIsActive(doms[i]) == 1)
            virDomainDestroy(doms[i]);
        if (virDomainIsPersistent(doms[i]) == 1)
            virDomainUndefine(doms[i]);
        virDomainFree(doms[i]);
    }
    free(doms);
    if (s->conn)
        virConnectClose(s->conn);
    if (s->root)
        kill_root(s->root);
    g_free(s->root);
    g_free(s->dir);
    g_free(s->uri);
    g_free(s->ctl_wrapper);
    g_free(s);
}

gboolean
e2e_stockhost_restart_libvirtd(E2eStockHost *s, GError **error)
{
    pid_t libvirtd = read_pid(s->dir, "libvirtd.pid");
    pid_t virtlogd = read_pid(s->dir, "virtlogd.pid");
    g_autofree char *ns = g_strdup_printf("%d", (int)virtlogd);
    const char *argv[]
        = { "nsenter",           "-t", ns, "-m", "-n", "-r", "-w", "/usr/sbin/libvirtd", "-d", "-p",
            "/run/libvirtd.pid", NULL };
    int status = 0;

    if (!alive(libvirtd) || !alive(virtlogd)) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                    "the stock host's daemons are not running (pid files in %s/run)", s->dir);
        return FALSE;
    }
    if (s->conn) {
        virConnectClose(s->conn);
        s->conn = NULL;
    }
    kill(libvirtd, SIGTERM);
    for (int i = 0; i < 100 && alive(libvirtd); i++)
        g_usleep(100 * 1000);
    if (alive(libvirtd)) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                    "the stock host's libvirtd did not stop within 10 s");
        return FALSE;
    }
    if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL,
                      &status, error)
        || !g_spawn_check_wait_status(status, error))
        return FALSE;
    return connect_daemon(s, error);
}

char *
e2e_stockhost_qemu_log(E2eStockHost *s, const char *name, gsize max_bytes)
{
    g_autofree char *file = g_strdup_printf("%s.log", name);
    g_autofree char *path = g_build_filename(s->dir, "log", "qemu", file, NULL);
    g_autofree char *text = NULL;
    gsize len = 0;

    if (!g_file_get_contents(path, &text, &len, NULL))
        return g_strdup_printf("(no %s)", path);
    return g_strdup(len > max_bytes ? text + len - max_bytes : text);
}
