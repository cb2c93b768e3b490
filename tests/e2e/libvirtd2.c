/* libvirtd2.c: a second libvirtd in a mount namespace of its own. */
#include "libvirtd2.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <gio/gio.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define CONNECT_TIMEOUT_S 20

/* A TCP port on 127.0.0.1 nobody listens on now (0 on failure). */
static guint
free_port(void)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    guint port = 0;

    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0
        && getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

/* @path's lines, without uncommented assignments of @keys, then @extra. */
static gboolean
rewrite_conf(const char *path, const char *const *keys, const char *extra, GError **error)
{
    g_autofree char *text = NULL;
    g_auto(GStrv) lines = NULL;
    GString *out = g_string_new(NULL);
    gboolean ok;

    if (!g_file_get_contents(path, &text, NULL, NULL))
        text = g_strdup("");
    lines = g_strsplit(text, "\n", -1);
    for (guint i = 0; lines[i]; i++) {
        const char *line = lines[i] + strspn(lines[i], " \t");
        gboolean drop = FALSE;
        for (guint k = 0; keys[k]; k++)
            drop = drop || g_str_has_prefix(line, keys[k]);
        if (!drop)
            g_string_append_printf(out, "%s\n", lines[i]);
    }
    g_string_append(out, extra);
    ok = g_file_set_contents(path, out->str, -1, error);
    g_string_free(out, TRUE);
    return ok;
}

static gboolean
write_config(E2eLibvirtd *d, const char *etc, GError **error)
{
    static const char *const daemon_keys[]
        = { "listen_tcp", "listen_tls", "listen_addr", "tcp_port",
            "auth_tcp",   "host_uuid",  "log_outputs", NULL };
    static const char *const qemu_keys[]
        = { "migration_port_min", "migration_port_max", "migration_address", NULL };
    g_autofree char *uuid = g_uuid_string_random();
    g_autofree char *daemon
        = g_strdup_printf("# hotcpu e2e: the second libvirtd\nlisten_tcp = 1\nlisten_tls = 0\n"
                          "listen_addr = \"127.0.0.1\"\ntcp_port = \"%u\"\nauth_tcp = \"none\"\n"
                          "host_uuid = \"%s\"\nlog_outputs = \"3:file:%s/libvirtd.log\"\n",
                          d->tcp_port, uuid, d->dir);
    g_autofree char *qemu = g_strdup_printf(
        "# hotcpu e2e: the second libvirtd\nmigration_port_min = %u\nmigration_port_max = %u\n",
        d->mig_port, d->mig_port + 9); /* libvirt wants min < max */
    g_autofree char *dconf = g_build_filename(etc, "libvirtd.conf", NULL);
    g_autofree char *qconf = g_build_filename(etc, "qemu.conf", NULL);
    const char *cp[] = { "cp", "-a", "/etc/libvirt", etc, NULL };

    /* The copy, without the first libvirtd's domains, networks and pools:
     * the second one must start empty and must not touch the host's
     * bridges. */
    g_autofree char *clean
        = g_strdup_printf("rm -rf '%s'/qemu/*.xml '%s'/qemu/autostart '%s'/qemu/networks/autostart "
                          "'%s'/storage/autostart",
                          etc, etc, etc, etc);
    const char *rm[] = { "sh", "-c", clean, NULL };

    if (!g_spawn_sync(NULL, (char **)cp, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL,
                      error)
        || !g_spawn_sync(NULL, (char **)rm, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL,
                         error))
        return FALSE;
    return rewrite_conf(dconf, daemon_keys, daemon, error)
           && rewrite_conf(qconf, qemu_keys, qemu, error);
}

/* Runs the daemons in a new mount and UTS namespace (a host name of their
 * own, as another host has); they fork into the background and keep it
 * alive. */
static gboolean
spawn_daemons(E2eLibvirtd *d, const char *etc, GError **error)
{
    g_autofree char *script = g_strdup_printf(
        "set -e\n"
        "echo '%s' > /proc/sys/kernel/hostname\n"
        "for m in /run /var/lib/libvirt /var/cache/libvirt /var/log/libvirt; do\n"
        "  mkdir -p $m; mount -t tmpfs -o mode=0755 hotcpu-e2e-libvirtd2 $m\n"
        "done\n"
        "mkdir -p /run/lock /run/libvirt /var/lib/libvirt/qemu /var/cache/libvirt/qemu "
        "/var/log/libvirt/qemu\n"
        "mount --bind '%s' /etc/libvirt\n"
        "virtlogd -d -p '%s/virtlogd.pid'\n"
        "libvirtd -d --listen -p '%s/libvirtd.pid'\n",
        d->hostname, etc, d->dir, d->dir);
    const char *argv[]
        = { "unshare", "-m", "-u", "--propagation", "private", "sh", "-c", script, NULL };
    g_autofree char *err = NULL;
    int status;

    if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, &err,
                      &status, error))
        return FALSE;
    if (!g_spawn_check_wait_status(status, NULL)) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot start the second libvirtd: %s",
                    err);
        return FALSE;
    }
    return TRUE;
}

static gboolean
connect_daemon(E2eLibvirtd *d, GError **error)
{
    for (int i = 0; i < CONNECT_TIMEOUT_S * 10 && !d->conn; i++) {
        d->conn = virConnectOpen(d->uri);
        if (!d->conn)
            g_usleep(100 * 1000);
    }
    if (!d->conn) {
        const char *msg = virGetLastErrorMessage();
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                    "the second libvirtd did not answer on %s within %d s: %s (its log: "
                    "%s/libvirtd.log)",
                    d->uri, CONNECT_TIMEOUT_S, msg ? msg : "?", d->dir);
        return FALSE;
    }
    return TRUE;
}

E2eLibvirtd *
e2e_libvirtd2_start(const char *rundir, GError **error)
{
    g_autoptr(E2eLibvirtd) d = g_new0(E2eLibvirtd, 1);
    g_autofree char *etc = NULL;

    d->dir = g_build_filename(rundir, "libvirtd2", NULL);
    etc = g_build_filename(d->dir, "etc-libvirt", NULL);
    g_mkdir_with_parents(d->dir, 0755);
    d->tcp_port = free_port();
    d->mig_port = free_port();
    if (!d->tcp_port || !d->mig_port || d->mig_port > 65525
        || (d->tcp_port >= d->mig_port && d->tcp_port <= d->mig_port + 9)) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "no free TCP ports on 127.0.0.1");
        return NULL;
    }
    d->hostname = g_strdup(E2E_LIBVIRTD2_HOSTNAME);
    d->uri = g_strdup_printf("qemu+tcp://127.0.0.1:%u/system", d->tcp_port);
    d->migrate_uri = g_strdup_printf("tcp://127.0.0.1:%u", d->mig_port);
    if (!write_config(d, etc, error) || !spawn_daemons(d, etc, error) || !connect_daemon(d, error))
        return NULL;
    return g_steal_pointer(&d);
}

static pid_t
read_pid(const char *dir, const char *name)
{
    g_autofree char *path = g_build_filename(dir, name, NULL);
    g_autofree char *text = NULL;

    if (!g_file_get_contents(path, &text, NULL, NULL))
        return 0;
    return (pid_t)strtol(text, NULL, 10);
}

/* Sends @sig to every process in the mount namespace of @pid but itself. */
static void
kill_namespace(pid_t pid, int sig)
{
    g_autofree char *ns_path = g_strdup_printf("/proc/%d/ns/mnt", (int)pid);
    g_autofree char *ns = g_file_read_link(ns_path, NULL);
    g_autoptr(GDir) proc = g_dir_open("/proc", 0, NULL);
    const char *e;

    while (ns && proc && (e = g_dir_read_name(proc))) {
        g_autofree char *p = g_strdup_printf("/proc/%s/ns/mnt", e);
        g_autofree char *other = g_file_read_link(p, NULL);
        long other_pid = strtol(e, NULL, 10);

        if (other && other_pid > 0 && other_pid != pid && strcmp(other, ns) == 0)
            kill((pid_t)other_pid, sig);
    }
}

static void
stop_pid(pid_t pid)
{
    if (pid <= 0 || kill(pid, 0) < 0)
        return;
    kill(pid, SIGTERM);
    for (int i = 0; i < 50 && kill(pid, 0) == 0; i++)
        g_usleep(100 * 1000);
    if (kill(pid, 0) == 0)
        kill(pid, SIGKILL);
}

/* Stops whatever runs in the second libvirtd's namespace: QEMU, virtlogd,
 * libvirtd. */
static void
stop_daemons(const char *dir)
{
    pid_t libvirtd = read_pid(dir, "libvirtd.pid");
    pid_t virtlogd = read_pid(dir, "virtlogd.pid");

    if (libvirtd > 0 && kill(libvirtd, 0) == 0)
        kill_namespace(libvirtd, SIGKILL); /* QEMU processes left running */
    stop_pid(libvirtd);
    stop_pid(virtlogd);
}

void
e2e_libvirtd2_stop(E2eLibvirtd *d)
{
    virDomainPtr *doms = NULL;
    int n;

    if (!d)
        return;
    n = d->conn ? virConnectListAllDomains(d->conn, &doms, 0) : 0;
    for (int i = 0; i < n; i++) {
        if (virDomainIsActive(doms[i]) == 1)
            virDomainDestroy(doms[i]);
        if (virDomainIsPersistent(doms[i]) == 1)
            virDomainUndefine(doms[i]);
        virDomainFree(doms[i]);
    }
    free(doms);
    if (d->conn)
        virConnectClose(d->conn);
    stop_daemons(d->dir);
    g_free(d->dir);
    g_free(d->hostname);
    g_free(d->uri);
    g_free(d->migrate_uri);
    g_free(d);
}

gboolean
e2e_libvirtd2_restart(E2eLibvirtd *d, guint pause_ms, GError **error)
{
    pid_t libvirtd = read_pid(d->dir, "libvirtd.pid");
    pid_t virtlogd = read_pid(d->dir, "virtlogd.pid");
    g_autofree char *ns = g_strdup_printf("%d", (int)virtlogd);
    g_autofree char *pidfile = g_build_filename(d->dir, "libvirtd.pid", NULL);
    const char *argv[]
        = { "nsenter", "-m", "-u", "-t", ns, "libvirtd", "-d", "--listen", "-p", pidfile, NULL };
    int status = 0;

    if (libvirtd <= 0 || virtlogd <= 0) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "no pid files in %s", d->dir);
        return FALSE;
    }
    kill(libvirtd, SIGKILL);
    for (int i = 0; i < 50 && kill(libvirtd, 0) == 0; i++)
        g_usleep(100 * 1000);
    g_usleep((gulong)pause_ms * 1000);
    if (d->conn) {
        virConnectClose(d->conn);
        d->conn = NULL;
    }
    /* virtlogd holds the namespaces: the new libvirtd finds the old mounts
     * and host name. */
    if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL,
                      &status, error))
        return FALSE;
    if (!g_spawn_check_wait_status(status, error))
        return FALSE;
    return connect_daemon(d, error);
}

void
e2e_libvirtd2_reap(const char *rundir)
{
    g_autofree char *dir = g_build_filename(rundir, "libvirtd2", NULL);

    if (g_file_test(dir, G_FILE_TEST_IS_DIR))
        stop_daemons(dir);
}
