/* test_systemd.c: hotcpu as users install it, in a Debian 12 guest with
 * systemd and udev, booted from a disk (build-systemd-image.sh) that holds
 * the hotcpu-agent .deb of this tree, and the host package installed on
 * this machine.
 *
 * One guest (32 sockets x 1 core, 2 of 32 vCPUs: TCG never gives back the
 * thread of an unplugged vCPU, so the maximum stays well above the plugs the
 * suite makes), the tests in this order:
 *   autostart       udev + systemd start the agent when the port appears
 *   plug-unplug     hotcpu-ctl set 4, set 2: "guest": "confirmed"
 *   kill-restart    systemctl kill -s KILL: systemd restarts it
 *   detach-attach   the port unplugged live: the unit stops (BindsTo=);
 *                   plugged again: it starts
 *   udev-cpu-rule   with a distribution's CPU onlining rule as well
 *   host-package    the hotcpu .deb installed on this machine drives it
 *   hardening       no denial in the journal; the seccomp filter made
 *                   fatal (a runtime drop-in) and the agent exercised
 *   remove-reinstall  apt-get remove stops it; dpkg -i starts it again
 *
 * Inputs from meson's environment: HOTCPU_DEB_DIR (the .debs of
 * packaging/build-deb.sh; scripts/test builds them), HOTCPU_SYSTEMD_IMAGE_SCRIPT,
 * HOTCPU_SYSTEMD_IMAGE_DIR, and the harness's (HOTCPU_CTL, ...).  Without
 * root, libvirt, the .debs or mmdebstrap the tests FAIL with the reason.
 */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <fcntl.h>
#include <json-glib/json-glib.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "agent_call.h"
#include "cunit_runner.h"
#include "checks.h"

#define AGENT_UNIT "hotcpu-agent.service"
#define PORT_DEVICE_UNIT "dev-virtio\\x2dports-org.hotcpu.agent.0.device"
/* The guest's processes named hotcpu-agent (minbase has no procps); exit 1: none. */
#define AGENT_PROCS "cat /proc/[0-9]*/comm 2>/dev/null | grep -x hotcpu-agent"
#define HOST_PKG_MARKER "/run/hotcpu-e2e-host-package"
#define HOST_PKG_LOCK "/run/hotcpu-e2e-host-package.lock"
#define UDEV_CPU_RULE                                                                              \
    "SUBSYSTEM==\"cpu\", ACTION==\"add\", TEST==\"online\", ATTR{online}==\"0\", "                 \
    "ATTR{online}=\"1\""

static char *env_error;
static char *deb_dir;
/* The guest's Debian release (HOTCPU_SYSTEMD_SUITE: bookworm, bullseye,
 * trixie), whether it boots its own kernel (HOTCPU_SYSTEMD_OWN_KERNEL=1) and
 * more kernel command line (HOTCPU_SYSTEMD_CMDLINE, e.g. psi=0). */
static const char *guest_suite = "bookworm";
static gboolean own_kernel;
static const char *extra_cmdline;
static char *image_dir;
static E2eGuest *guest;
static char *boot_error;
static gboolean host_pkg_installed;
static int host_pkg_lock_fd = -1;
static double test_t0, run_t0;
static unsigned test_failures0;

#define NEED_GUEST()                                                                               \
    do {                                                                                           \
        CHECK_FATAL(env_error == NULL, "e2e environment unusable: %s", env_error);                 \
        CHECK_FATAL(guest != NULL, "the systemd guest did not boot: %s",                           \
                    boot_error ? boot_error : "?");                                                \
    } while (0)

/* ---- helpers -------------------------------------------------------------- */

/* Runs @cmd in the guest; its output (trailing whitespace removed) or "" in
 * *out when @out is given; returns the exit status, -1 on timeout. */
static int gsh(guint timeout_ms, char **out, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
static int
gsh(guint timeout_ms, char **out, const char *fmt, ...)
{
    g_autofree char *cmd = NULL;
    g_autoptr(GError) error = NULL;
    char *o = NULL;
    va_list ap;
    int status;

    va_start(ap, fmt);
    cmd = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    status = e2e_guest_sh(guest, timeout_ms, &o, &error, "%s", cmd);
    if (status < 0)
        g_printerr("    guest command \"%s\": %s\n", cmd, error ? error->message : "failed");
    if (e2e_verbose())
        g_printerr("    guest$ %s -> %d\n%s\n", cmd, status, o ? o : "");
    if (out)
        *out = g_strchomp(o ? o : g_strdup(""));
    else
        g_free(o);
    return status;
}

/* systemctl show -p @prop --value hotcpu-agent.service */
static char *
unit_prop(const char *prop)
{
    char *out = NULL;

    gsh(15000, &out, "systemctl show -p %s --value " AGENT_UNIT, prop);
    return out;
}

static char *
unit_active_state(void)
{
    char *out = NULL;

    gsh(15000, &out, "systemctl is-active " AGENT_UNIT);
    return out;
}

/* Waits up to @timeout_ms until `systemctl is-active` says @state (and, for
 * "active", the agent holds the port: state='connected' in the live XML). */
static gboolean
wait_unit(const char *state, guint timeout_ms)
{
    double until = e2e_now() + timeout_ms / 1000.0;

    do {
        g_autofree char *s = unit_active_state();
        if (g_strcmp0(s, state) == 0)
            return !g_str_equal(state, "active") || e2e_guest_wait_agent_port(guest, 10000);
        g_usleep(200 * 1000);
    } while (e2e_now() < until);
    return FALSE;
}

static JsonObject *
parse_object(const char *text, JsonNode **root_out)
{
    g_autoptr(JsonParser) p = json_parser_new();
    JsonNode *root;

    *root_out = NULL;
    if (!text || !json_parser_load_from_data(p, text, -1, NULL))
        return NULL;
    root = json_parser_get_root(p);
    if (!root || !JSON_NODE_HOLDS_OBJECT(root))
        return NULL;
    *root_out = json_node_copy(root);
    return json_node_get_object(*root_out);
}

static const char *
obj_str(JsonObject *o, const char *key)
{
    JsonNode *m = o ? json_object_get_member(o, key) : NULL;
    return m && JSON_NODE_HOLDS_VALUE(m) && json_node_get_value_type(m) == G_TYPE_STRING
               ? json_node_get_string(m)
               : NULL;
}

static gint64
obj_int(JsonObject *o, const char *key)
{
    JsonNode *m = o ? json_object_get_member(o, key) : NULL;
    return m && JSON_NODE_HOLDS_VALUE(m) && json_node_get_value_type(m) == G_TYPE_INT64
               ? json_node_get_int(m)
               : -1;
}

/* What a `set --json` result says: its "guest" and, when the ctl reports
 * it (CONTRACT), its "guest-agent" must name hotcpu-agent. */
static void
check_set_result(const E2eRun *r, const char *what, guint n)
{
    g_autoptr(JsonNode) root = NULL;
    JsonObject *o = parse_object(r->out, &root);
    const char *agent = obj_str(o, "guest-agent");

    g_printerr("    %s: exit %d in %.2f s\n", what, r->status, r->seconds);
    CHECK(r->status == 0, "%s exited %d\nstdout: %s\nstderr: %s", what, r->status, r->out, r->err);
    CHECK(g_strcmp0(obj_str(o, "guest"), "confirmed") == 0,
          "%s: \"guest\" is %s, not \"confirmed\": %s", what, obj_str(o, "guest"), r->out);
    CHECK(agent == NULL || g_str_equal(agent, "hotcpu"), "%s: \"guest-agent\" is %s: %s", what,
          agent, r->out);
    CHECK(obj_int(o, "guest-online") == n, "%s: \"guest-online\" is %" G_GINT64_FORMAT ": %s", what,
          obj_int(o, "guest-online"), r->out);
}

static void
ctl_set_confirmed(guint n)
{
    g_autofree char *count = g_strdup_printf("%u", n);
    g_autofree char *what = g_strdup_printf("hotcpu-ctl set %s %u", guest->name, n);
    g_autoptr(E2eRun) r = e2e_ctlv("--json", "set", guest->name, count, NULL);

    check_set_result(r, what, n);
    CHECK(e2e_guest_wait_cpus(guest, n, n, 5000),
          "after %s the guest does not show %u CPUs "
          "online and present",
          what, n);
    CHECK(e2e_libvirt_vcpus(guest, TRUE) == (int)n, "after %s libvirt says %d live vCPUs", what,
          e2e_libvirt_vcpus(guest, TRUE));
}

/* hotcpu-ctl topology answers (through the agent) with @n CPUs online. */
static gboolean
topology_answers(guint n, guint timeout_ms)
{
    double until = e2e_now() + timeout_ms / 1000.0;

    do {
        g_autoptr(E2eRun) r = e2e_ctlv("--json", "topology", guest->name, NULL);
        g_autoptr(JsonNode) root = NULL;
        JsonObject *o = parse_object(r->out, &root);
        JsonNode *t = o ? json_object_get_member(o, "topology") : NULL;
        JsonObject *to = t && JSON_NODE_HOLDS_OBJECT(t) ? json_node_get_object(t) : o;

        if (r->status == 0 && obj_int(to, "online-count") == n)
            return TRUE;
        g_usleep(200 * 1000);
    } while (e2e_now() < until);
    return FALSE;
}

/* The agent's journal of this boot, for failure messages. */
static char *
agent_journal(void)
{
    char *out = NULL;

    gsh(15000, &out, "journalctl -b -u " AGENT_UNIT " --no-pager -q -n 25");
    return out;
}

/* The live <channel> element of the agent's port, or NULL. */
static char *
agent_channel_xml(void)
{
    g_autofree char *xml = e2e_guest_xml(guest);
    const char *hit = xml ? strstr(xml, "name='" E2E_AGENT_PORT "'") : NULL;
    const char *start, *end;

    if (!hit)
        return NULL;
    start = g_strrstr_len(xml, hit - xml, "<channel");
    end = strstr(hit, "</channel>");
    if (!start || !end)
        return NULL;
    return g_strndup(start, end + strlen("</channel>") - start);
}

/* virsh -c qemu:///system @verb DOMAIN FILE --live, FILE holding @xml. */
static E2eRun *
virsh_device(const char *verb, const char *xml)
{
    g_autofree char *path = g_build_filename(guest->rundir, "channel.xml", NULL);
    const char *argv[] = { "virsh", "-c", E2E_URI, verb, guest->name, path, "--live", NULL };

    g_file_set_contents(path, xml, -1, NULL);
    return e2e_host_run(argv);
}

/* ---- the host package ------------------------------------------------------ */

static const char *const clean_env[] = {
    "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
    "LIBVIRT_DEFAULT_URI=" E2E_URI,
    "LC_ALL=C",
    NULL,
};

/* Runs @argv with only PATH, LIBVIRT_DEFAULT_URI and LC_ALL: nothing of the
 * build tree (no HOTCPU_* variables) reaches the installed programs. */
static E2eRun *
run_clean(const char *const *argv)
{
    g_autoptr(GSubprocessLauncher) l = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDOUT_PIPE
                                                                 | G_SUBPROCESS_FLAGS_STDERR_PIPE);
    g_autoptr(GError) error = NULL;
    g_autoptr(GSubprocess) p = NULL;
    E2eRun *run = g_new0(E2eRun, 1);
    double t0 = e2e_now();

    run->status = -1;
    g_subprocess_launcher_set_environ(l, (char **)clean_env);
    if (e2e_verbose()) {
        g_autofree char *line = g_strjoinv(" ", (char **)argv);
        g_printerr("    $ %s\n", line);
    }
    p = g_subprocess_launcher_spawnv(l, argv, &error);
    if (p && g_subprocess_communicate_utf8(p, NULL, NULL, &run->out, &run->err, &error)
        && g_subprocess_get_if_exited(p))
        run->status = g_subprocess_get_exit_status(p);
    if (!run->out)
        run->out = g_strdup("");
    if (!run->err)
        run->err = g_strdup(error ? error->message : "");
    run->seconds = e2e_now() - t0;
    if (e2e_verbose())
        g_printerr("    -> exit %d\n%s%s", run->status, run->out, run->err);
    return run;
}

static gboolean
dpkg_installed(const char *pkg)
{
    const char *argv[] = { "dpkg-query", "-W", "-f=${db:Status-Status}", pkg, NULL };
    g_autoptr(E2eRun) r = run_clean(argv);

    return r->status == 0 && g_str_equal(r->out, "installed");
}

/* Purges the host package this program installed (or an earlier run left,
 * see HOST_PKG_MARKER) and releases the lock.  Safe to call more than once,
 * and from a signal handler's cleanup path. */
static gboolean
host_pkg_remove(void)
{
    const char *argv[]
        = { "apt-get", "purge", "-y", "-q", "-o", "DPkg::Lock::Timeout=300", "hotcpu", NULL };
    g_autoptr(E2eRun) r = NULL;

    if (host_pkg_installed) {
        r = run_clean(argv);
        if (r->status != 0) {
            g_printerr("e2e: could not purge the host package hotcpu: %s%s\n", r->out, r->err);
            return FALSE;
        }
        host_pkg_installed = FALSE;
        g_unlink(HOST_PKG_MARKER);
    }
    if (host_pkg_lock_fd >= 0) {
        close(host_pkg_lock_fd);
        host_pkg_lock_fd = -1;
    }
    return TRUE;
}

/* Runs of this program in other build trees share the machine and its
 * package database: one at a time holds the host package, the others wait
 * (up to 10 minutes).  The kernel drops the lock when a run dies. */
static gboolean
host_pkg_lock(GError **error)
{
    double until = e2e_now() + 600;
    gboolean said = FALSE;
    int fd = open(HOST_PKG_LOCK, O_RDWR | O_CREAT | O_CLOEXEC, 0644);

    if (fd < 0) {
        g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno), "cannot open %s: %s",
                    HOST_PKG_LOCK, g_strerror(errno));
        return FALSE;
    }
    while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        if (errno != EWOULDBLOCK || e2e_now() > until) {
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_BUSY,
                        "another run of this test held %s for 10 minutes", HOST_PKG_LOCK);
            close(fd);
            return FALSE;
        }
        if (!said)
            g_printerr("    waiting for another run of this test to release %s\n", HOST_PKG_LOCK);
        said = TRUE;
        g_usleep(500 * 1000);
    }
    host_pkg_lock_fd = fd;
    return TRUE;
}

static void
at_exit(void)
{
    host_pkg_remove();
}

static void
on_signal(int sig)
{
    host_pkg_remove();
    e2e_env_cleanup();
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Installs BUILD/debs/hotcpu_*.deb with apt-get (its dependencies are
 * libvirt's and glib's, already here; no download).  Refuses when hotcpu is
 * installed and not by an earlier run of this test. */
static gboolean
host_pkg_install(GError **error)
{
    g_autofree char *pattern = g_build_filename(deb_dir, "hotcpu_*.deb", NULL);
    g_autofree char *marker = NULL;
    g_autofree char *deb = NULL;
    g_autofree char *pid_text = g_strdup_printf("%ld\n", (long)getpid());
    g_autoptr(GDir) dir = g_dir_open(deb_dir, 0, NULL);
    const char *n;

    while (dir && (n = g_dir_read_name(dir)))
        if (g_str_has_prefix(n, "hotcpu_") && g_str_has_suffix(n, ".deb")) {
            g_free(deb);
            deb = g_build_filename(deb_dir, n, NULL);
        }
    if (!deb) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "no %s", pattern);
        return FALSE;
    }
    if (host_pkg_lock_fd < 0 && !host_pkg_lock(error))
        return FALSE;
    if (dpkg_installed("hotcpu")) {
        long pid = 0;
        if (g_file_get_contents(HOST_PKG_MARKER, &marker, NULL, NULL))
            pid = strtol(marker, NULL, 10);
        if (pid <= 0 || (pid != getpid() && kill((pid_t)pid, 0) == 0)) {
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_EXISTS,
                        "the package hotcpu is installed on this machine, and not by an earlier "
                        "run of this test (no %s): not touching it; remove it to run this test",
                        HOST_PKG_MARKER);
            return FALSE;
        }
        g_printerr("    purging the hotcpu package an earlier run (pid %ld) left installed\n", pid);
        host_pkg_installed = TRUE;
        if (!host_pkg_remove()) {
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot purge the leftover hotcpu");
            return FALSE;
        }
    }
    /* Marked before the install: a run killed during it is cleaned up by the next. */
    if (!g_file_set_contents(HOST_PKG_MARKER, pid_text, -1, error))
        return FALSE;
    host_pkg_installed = TRUE;
    {
        const char *argv[] = { "apt-get",
                               "install",
                               "-y",
                               "-q",
                               "--no-install-recommends",
                               "-o",
                               "DPkg::Lock::Timeout=300",
                               deb,
                               NULL };
        g_autoptr(E2eRun) r = run_clean(argv);
        g_printerr("    apt-get install %s: exit %d in %.1f s\n", deb, r->status, r->seconds);
        if (r->status != 0 || !dpkg_installed("hotcpu")) {
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "apt-get install %s failed: %s%s",
                        deb, r->out, r->err);
            return FALSE;
        }
    }
    return TRUE;
}

/* ---- the guest -------------------------------------------------------------- */

static gboolean
build_image(GError **error)
{
    g_autofree char *script = g_strdup(g_getenv("HOTCPU_SYSTEMD_IMAGE_SCRIPT"));
    g_autoptr(E2eRun) r = NULL;

    if (!script)
        script = g_strdup(E2E_SOURCE_DIR "/build-systemd-image.sh");
    {
        const char *argv[] = { "sh",    script,    image_dir,   "--debs",
                               deb_dir, "--suite", guest_suite, own_kernel ? "--own-kernel" : NULL,
                               NULL };
        r = e2e_host_run(argv);
    }
    if (r->status != 0) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "building the systemd guest failed: %s%s",
                    r->out, r->err);
        return FALSE;
    }
    {
        /* Its last line says built (and how long) or up to date. */
        g_autofree char *out = g_strstrip(g_strdup(r->out));
        const char *last = strrchr(out, '\n');
        g_printerr("  %s (%.1f s)\n", last ? last + 1 : out, r->seconds);
    }
    return TRUE;
}

static int
suite_init(void)
{
    g_autoptr(GError) error = NULL;
    E2eTopology t = { .sockets = 32,
                      .cores = 1,
                      .threads = 1,
                      .current = 2,
                      .maximum = 32,
                      .osinfo = TRUE,
                      .memory_mib = 512 };

    if (env_error)
        return 0;
    if (!build_image(&error)) {
        boot_error = g_strdup(error->message);
        return 0;
    }
    t.disk_image_dir = image_dir;
    t.extra_cmdline = extra_cmdline;
    guest = e2e_guest_boot(&t, &error);
    if (!guest)
        boot_error = g_strdup(error->message);
    else
        g_printerr("  systemd guest %s (%s%s%s) booted in %.1f s (to its shell and the agent on "
                   "its port)\n",
                   guest->name, guest_suite, extra_cmdline ? ", " : "",
                   extra_cmdline ? extra_cmdline : "", guest->boot_seconds);
    return 0;
}

static int
suite_clean(void)
{
    host_pkg_remove();
    g_clear_pointer(&guest, e2e_guest_free);
    return 0;
}

/* ---- tests ------------------------------------------------------------------ */

/* Nothing enabled the unit: udev's rule pulled it in when the port appeared. */
static void
test_autostart(void)
{
    g_autofree char *enabled = NULL;
    g_autofree char *wanted_by = NULL;
    g_autofree char *names = NULL;
    g_autofree char *active = NULL;
    g_autofree char *links = NULL;
    g_autofree char *journal = NULL;

    NEED_GUEST();
    active = unit_active_state();
    CHECK(g_strcmp0(active, "active") == 0, "hotcpu-agent.service is %s, not active; journal:\n%s",
          active, (journal = agent_journal()));
    gsh(15000, &enabled, "systemctl is-enabled " AGENT_UNIT);
    CHECK(g_strcmp0(enabled, "static") == 0,
          "systemctl is-enabled says '%s': the unit should be static (nothing enables it)",
          enabled);
    gsh(15000, &links, "ls /etc/systemd/system/*.wants/ 2>/dev/null | grep -c hotcpu-agent");
    CHECK(g_strcmp0(links, "0") == 0, "a .wants link to hotcpu-agent exists: %s", links);
    /* udev's SYSTEMD_WANTS on the port: its device unit (named after the
     * sysfs path; the /dev/virtio-ports link is another device unit that
     * follows it) wants us. */
    wanted_by = unit_prop("WantedBy");
    if (wanted_by && g_str_has_prefix(wanted_by, "\"") && g_str_has_suffix(wanted_by, "\"")) {
        /* systemctl quotes a name with escapes in it, C style. */
        char *unquoted = g_strndup(wanted_by + 1, strlen(wanted_by) - 2);
        g_free(wanted_by);
        wanted_by = g_strcompress(unquoted);
        g_free(unquoted);
    }
    gsh(15000, &names,
        "systemctl show -p SysFSPath --value '%s'; "
        "systemctl show -p SysFSPath --value '" PORT_DEVICE_UNIT "'",
        wanted_by ? wanted_by : "");
    {
        g_auto(GStrv) paths = g_strsplit(names ? names : "", "\n", -1);
        CHECK(g_strv_length(paths) == 2 && g_str_has_prefix(paths[0], "/sys/")
                  && g_str_equal(paths[0], paths[1]),
              "hotcpu-agent.service is not wanted by the port's device (WantedBy=%s; sysfs "
              "paths of it and of " PORT_DEVICE_UNIT ": %s)",
              wanted_by, names);
    }
    CHECK(gsh(10000, NULL,
              "udevadm info /dev/virtio-ports/" E2E_AGENT_PORT
              " | grep -qx 'E: SYSTEMD_WANTS=hotcpu-agent.service'")
              == 0,
          "udev did not set SYSTEMD_WANTS=hotcpu-agent.service on the port");
    CHECK(gsh(10000, NULL, "test -L /dev/virtio-ports/" E2E_AGENT_PORT) == 0,
          "udev made no /dev/virtio-ports/" E2E_AGENT_PORT);
    CHECK(gsh(10000, NULL,
              "journalctl -b -u " AGENT_UNIT " -q --no-pager | grep -q 'serving "
              "/dev/virtio-ports/" E2E_AGENT_PORT "'")
              == 0,
          "the agent's journal does not say it serves the port:\n%s",
          journal ? journal : (journal = agent_journal()));
    CHECK(topology_answers(2, 10000), "hotcpu-ctl topology does not answer 2 CPUs online");
}

static void
test_plug_unplug(void)
{
    NEED_GUEST();
    ctl_set_confirmed(4);
    ctl_set_confirmed(2);
}

static void
test_kill_restart(void)
{
    g_autofree char *pid1 = NULL, *pid2 = NULL, *restarts = NULL;
    gboolean restarted = FALSE;
    double until;

    NEED_GUEST();
    pid1 = unit_prop("MainPID");
    CHECK_FATAL(pid1 && atoi(pid1) > 0, "hotcpu-agent has no MainPID (%s)", pid1);
    CHECK(gsh(15000, NULL, "systemctl kill -s KILL " AGENT_UNIT) == 0, "systemctl kill failed");
    until = e2e_now() + 20;
    while (!restarted && e2e_now() < until) {
        g_autofree char *state = unit_active_state();
        g_clear_pointer(&pid2, g_free);
        pid2 = unit_prop("MainPID");
        restarted = g_strcmp0(state, "active") == 0 && pid2 && atoi(pid2) > 0
                    && g_strcmp0(pid1, pid2) != 0;
        if (!restarted)
            g_usleep(200 * 1000);
    }
    restarts = unit_prop("NRestarts");
    CHECK(restarted, "systemd did not restart hotcpu-agent after SIGKILL (MainPID %s -> %s)", pid1,
          pid2);
    CHECK(restarts && atoi(restarts) >= 1, "NRestarts is %s", restarts);
    CHECK(e2e_guest_wait_agent_port(guest, 15000) && topology_answers(2, 15000),
          "the restarted agent does not answer hotcpu-ctl topology");
}

static void
test_detach_attach(void)
{
    g_autofree char *channel = NULL;
    g_autoptr(E2eRun) det = NULL;
    g_autoptr(E2eRun) att = NULL;
    g_autofree char *procs = NULL;

    NEED_GUEST();
    channel = agent_channel_xml();
    CHECK_FATAL(channel != NULL, "the live XML has no channel " E2E_AGENT_PORT);
    det = virsh_device("detach-device", channel);
    CHECK_FATAL(det->status == 0, "virsh detach-device --live failed: %s%s", det->out, det->err);
    CHECK(wait_unit("inactive", 20000),
          "hotcpu-agent.service did not stop when the port went "
          "away (BindsTo=); it is %s",
          unit_active_state());
    {
        g_autofree char *result = NULL;
        gsh(15000, &result,
            "systemctl show -p ActiveState,SubState,Result,ExecMainStatus,NRestarts " AGENT_UNIT
            " | tr '\\n' ' '");
        g_printerr("    after the detach: %s\n", result);
    }
    CHECK(gsh(10000, NULL, "test ! -e /dev/virtio-ports/" E2E_AGENT_PORT) == 0,
          "/dev/virtio-ports/" E2E_AGENT_PORT " is still there after the detach");
    CHECK(gsh(10000, &procs, AGENT_PROCS) == 1, "hotcpu-agent still runs: %s", procs);

    att = virsh_device("attach-device",
                       "<channel type='unix'><target type='virtio' name='" E2E_AGENT_PORT
                       "'/></channel>");
    CHECK_FATAL(att->status == 0, "virsh attach-device --live failed: %s%s", att->out, att->err);
    CHECK(wait_unit("active", 30000),
          "hotcpu-agent.service did not start when the port came "
          "back; it is %s",
          unit_active_state());
    CHECK(topology_answers(2, 15000), "the agent on the re-attached port does not answer");
}

/* A RHEL/SUSE-style rule onlines hot-added CPUs too: both race for each CPU. */
static void
test_udev_cpu_rule(void)
{
    g_autofree char *since = NULL;
    g_autofree char *warnings = NULL;
    g_autofree char *udev_fail = NULL;
    g_autofree char *udev_wrote = NULL;
    g_autofree char *agent_log = NULL;
    double t0;

    NEED_GUEST();
    CHECK_FATAL(gsh(15000, NULL,
                    "echo '" UDEV_CPU_RULE "' > /etc/udev/rules.d/80-hotplug-cpu.rules"
                    " && udevadm control --reload")
                    == 0,
                "cannot install the CPU udev rule");
    gsh(5000, &since, "date +%%s");
    /* The hypervisor alone (virsh setvcpus --live): udev and the agent
     * online.  udev logs its ATTR writes at debug level: who wrote what. */
    gsh(15000, NULL, "udevadm control --log-level=debug");
    t0 = e2e_now();
    CHECK(virDomainSetVcpusFlags(guest->dom, 5, VIR_DOMAIN_AFFECT_LIVE) == 0,
          "virDomainSetVcpusFlags(5, LIVE) failed: %s", virGetLastErrorMessage());
    CHECK(e2e_guest_wait_cpus(guest, 5, 5, 15000),
          "the guest did not get 5 CPUs online with the rule and the agent");
    g_printerr("    hot add 2 -> 5 (libvirt only): all online after %.2f s\n", e2e_now() - t0);
    gsh(15000, &udev_wrote,
        "udevadm settle -t 10; udevadm control --log-level=info; journalctl -b -q --no-pager "
        "--since @%s -o cat -u systemd-udevd.service | grep -o \"cpu[0-9]*/online' writing "
        "'1'\" | sed 's|/.*||' | sort -u | tr '\\n' ' '",
        since);
    /* The agent writes 1 to each added CPU too; on one that udev brought
     * online first the write succeeds as well (the kernel's online_store
     * returns at once for an online device), so neither side fails. */
    g_printerr("    the rule wrote online=1 for: %s (the others were online when udev's turn "
               "came)\n",
               udev_wrote && *udev_wrote ? udev_wrote : "none");
    /* And through hotcpu-ctl, with its hooks, plug and unplug. */
    ctl_set_confirmed(6);
    ctl_set_confirmed(2);

    /* udev's kmod builtin may race a hot-added CPU's module load (on this
     * AMD model, powernow_k8: "could not read from
     * '/sys/module/powernow_k8/initstate': No such device", seen once in
     * four runs): the kernel's module state, not the CPU rule or the agent. */
    gsh(15000, &warnings,
        "journalctl -b -q --no-pager --since @%s -p warning -u " AGENT_UNIT
        " -u systemd-udevd.service | grep -v \"could not read from '/sys/module/[^/]*/initstate'\"",
        since);
    CHECK(warnings && *warnings == '\0',
          "the agent or udev logged warnings or errors with the rule installed:\n%s", warnings);
    gsh(15000, &udev_fail,
        "journalctl -b -q --no-pager --since @%s -p info -u systemd-udevd.service"
        " | grep -i -e fail -e error",
        since);
    CHECK(udev_fail && *udev_fail == '\0', "udev logged a failure:\n%s", udev_fail);
    gsh(15000, &agent_log, "journalctl -b -q --no-pager --since @%s -o cat -u " AGENT_UNIT, since);
    g_printerr("    the agent's journal meanwhile:\n%s\n", agent_log);
    gsh(15000, NULL, "rm -f /etc/udev/rules.d/80-hotplug-cpu.rules && udevadm control --reload");
}

/* The installed layout: /usr/bin/hotcpu-ctl, hooks from /usr/libexec/hotcpu/hooks,
 * the support matrix from /usr/share/hotcpu, the audit log in /var/log/hotcpu. */
static void
test_host_package(void)
{
    g_autoptr(GError) error = NULL;
    static const char *const files[] = {
        "/usr/bin/hotcpu-ctl",
        "/usr/libexec/hotcpu/hooks/before_set_num_of_cpus/50_hotcpu_agent",
        "/usr/libexec/hotcpu/hooks/after_set_num_of_cpus/50_hotcpu_agent",
        "/usr/libexec/hotcpu/hooks/hotcpu-agent-hook-before",
        "/usr/libexec/hotcpu/hooks/hotcpu-agent-hook-after",
        "/usr/share/hotcpu/guest-os-support.ini",
        "/etc/hotcpu/hotcpu.conf",
        "/usr/share/man/man1/hotcpu-ctl.1.gz",
        "/usr/share/man/man5/hotcpu.conf.5.gz",
        "/usr/share/bash-completion/completions/hotcpu-ctl",
        NULL,
    };

    NEED_GUEST();
    CHECK_FATAL(host_pkg_install(&error), "%s", error->message);
    for (guint i = 0; files[i]; i++)
        CHECK(g_file_test(files[i], G_FILE_TEST_EXISTS), "the package did not install %s",
              files[i]);
    CHECK(g_file_test("/etc/hotcpu/hooks/before_set_num_of_cpus", G_FILE_TEST_IS_DIR),
          "the package did not make /etc/hotcpu/hooks/before_set_num_of_cpus");

    for (guint n = 4; n >= 2; n -= 2) {
        g_autofree char *count = g_strdup_printf("%u", n);
        g_autofree char *what = g_strdup_printf("/usr/bin/hotcpu-ctl set %s %u", guest->name, n);
        const char *argv[] = { "/usr/bin/hotcpu-ctl", "--json", "set", guest->name, count, NULL };
        g_autoptr(E2eRun) r = run_clean(argv);
        g_autoptr(JsonNode) root = NULL;
        JsonObject *o = parse_object(r->out, &root);
        JsonNode *hooks = o ? json_object_get_member(o, "hooks") : NULL;
        JsonArray *ha = hooks && JSON_NODE_HOLDS_ARRAY(hooks) ? json_node_get_array(hooks) : NULL;
        const char *phase = n == 4 ? "after_set_num_of_cpus" : "before_set_num_of_cpus";
        g_autofree char *want
            = g_strdup_printf("/usr/libexec/hotcpu/hooks/%s/50_hotcpu_agent", phase);
        gboolean ran = FALSE;

        check_set_result(r, what, n);
        for (guint i = 0; ha && i < json_array_get_length(ha); i++) {
            JsonObject *h = json_array_get_object_element(ha, i);
            if (g_strcmp0(obj_str(h, "hook"), want) == 0 && obj_int(h, "exit") == 0)
                ran = TRUE;
        }
        CHECK(ran, "%s: the installed hook %s did not run with exit 0: %s", what, want, r->out);
        CHECK(e2e_guest_wait_cpus(guest, n, n, 5000), "after %s the guest does not show %u CPUs",
              what, n);
    }
    {
        const char *argv[] = { "/usr/bin/hotcpu-ctl", "topology", guest->name, NULL };
        g_autoptr(E2eRun) r = run_clean(argv);
        CHECK(r->status == 0, "/usr/bin/hotcpu-ctl topology exited %d: %s", r->status, r->err);
    }
    {
        g_autofree char *audit = NULL;
        g_file_get_contents("/var/log/hotcpu/audit.log", &audit, NULL, NULL);
        CHECK(audit && strstr(audit, guest->name),
              "the installed hotcpu-ctl wrote no record to /var/log/hotcpu/audit.log");
    }
    CHECK(host_pkg_remove(), "apt-get purge hotcpu failed");
    CHECK(!g_file_test("/usr/bin/hotcpu-ctl", G_FILE_TEST_EXISTS)
              && !g_file_test("/usr/libexec/hotcpu", G_FILE_TEST_EXISTS)
              && !g_file_test("/var/log/hotcpu", G_FILE_TEST_EXISTS),
          "apt-get purge hotcpu left /usr/bin/hotcpu-ctl, /usr/libexec/hotcpu or /var/log/hotcpu");
}

/* The hardening took nothing the agent needs: nothing in the journal, and
 * with the seccomp filter's action turned from EPERM into a kill (a runtime
 * drop-in), the agent survives every command. */
static void
test_hardening(void)
{
    g_autofree char *warnings = NULL;
    g_autofree char *denials = NULL;
    g_autofree char *audit = NULL;
    g_autofree char *errno_action = NULL;
    g_autofree char *restarts0 = NULL, *restarts1 = NULL, *pid0 = NULL, *pid1 = NULL;

    NEED_GUEST();
    /* Everything the earlier tests did (plug, unplug, kill, detach, the udev
     * race, the installed hooks) is in this boot's journal. */
    /* The agent's own messages (systemd's about the kill test aside).  The
     * read error when detach-attach removed the port under it is a notice
     * now (the agent exits 0); an older agent's warning for it is let
     * pass (BindsTo= stops
     * the unit anyway). */
    gsh(15000, &warnings,
        "journalctl -b -q --no-pager -o cat -p warning _SYSTEMD_UNIT=" AGENT_UNIT " | "
        "grep -v -F 'cannot read from /dev/virtio-ports/" E2E_AGENT_PORT ": No such device'");
    CHECK(warnings && *warnings == '\0', "the agent logged warnings or errors:\n%s", warnings);
    /* The selector is not empty by mistake: it finds the agent's start. */
    CHECK(gsh(15000, NULL,
              "journalctl -b -q --no-pager -o cat _SYSTEMD_UNIT=" AGENT_UNIT
              " | grep -q 'serving /dev/virtio-ports/'")
              == 0,
          "the journal has no message of the agent itself (_SYSTEMD_UNIT=" AGENT_UNIT ")");
    gsh(15000, &denials,
        "journalctl -b -q --no-pager -u " AGENT_UNIT " | grep -i -e 'permission denied' "
        "-e 'operation not permitted' -e 'read-only file system' -e 'bad system call' "
        "-e 'status=31/SYS'");
    CHECK(denials && *denials == '\0', "the agent's journal shows a denial:\n%s", denials);
    gsh(15000, &audit,
        "journalctl -b -k -q --no-pager | grep -e 'type=1326' -e 'seccomp' "
        "-e 'apparmor=\"DENIED\"'");
    CHECK(audit && *audit == '\0', "the kernel logged a denial:\n%s", audit);

    CHECK_FATAL(
        gsh(30000, NULL,
            "mkdir -p /run/systemd/system/" AGENT_UNIT ".d && printf '[Service]\\n"
            "SystemCallErrorNumber=\\n' > /run/systemd/system/" AGENT_UNIT
            ".d/50-e2e-kill.conf && systemctl daemon-reload && systemctl restart " AGENT_UNIT)
            == 0,
        "cannot restart the agent with the seccomp action set to kill");
    errno_action = unit_prop("SystemCallErrorNumber");
    /* systemd shows "kill" as SECCOMP_ERROR_NUMBER_KILL, INT_MAX - 1. */
    CHECK(errno_action
              && (g_str_equal(errno_action, "2147483646") || g_str_equal(errno_action, "kill")),
          "the drop-in did not reset SystemCallErrorNumber (it is '%s')", errno_action);
    CHECK(wait_unit("active", 20000), "the agent did not start with the fatal seccomp filter");
    pid0 = unit_prop("MainPID");
    restarts0 = unit_prop("NRestarts");
    {
        g_autoptr(E2eRun) a = e2e_ctlv("--json", "guest-set", guest->name, "1", NULL);
        g_autoptr(E2eRun) b = e2e_ctlv("--json", "guest-set", guest->name, "2", NULL);
        g_autoptr(E2eRun) c = e2e_ctlv("--json", "get", guest->name, NULL);
        CHECK(a->status == 0 && b->status == 0 && c->status == 0,
              "guest-set 1 / guest-set 2 / get exited %d / %d / %d", a->status, b->status,
              c->status);
    }
    CHECK(topology_answers(2, 10000), "topology does not answer under the fatal filter");
    ctl_set_confirmed(3);
    ctl_set_confirmed(2);
    pid1 = unit_prop("MainPID");
    restarts1 = unit_prop("NRestarts");
    CHECK(g_strcmp0(pid0, pid1) == 0 && g_strcmp0(restarts0, restarts1) == 0,
          "the agent died under the fatal seccomp filter (MainPID %s -> %s, NRestarts %s -> %s)",
          pid0, pid1, restarts0, restarts1);
    g_clear_pointer(&audit, g_free);
    gsh(15000, &audit,
        "journalctl -b -k -q --no-pager | grep -e 'type=1326' -e 'seccomp'; "
        "journalctl -b -q --no-pager -u " AGENT_UNIT " | grep -e 'SYS'");
    CHECK(audit && *audit == '\0', "a system call was refused:\n%s", audit);
    gsh(30000, NULL,
        "rm -rf /run/systemd/system/" AGENT_UNIT ".d && systemctl daemon-reload && "
        "systemctl restart " AGENT_UNIT);
    CHECK(wait_unit("active", 20000), "the agent did not come back as shipped");
}

/* get-load through the installed unit: the hardening lets the agent read
 * /proc/stat (busy, runnable) and /proc/pressure/cpu (PSI, null where the
 * kernel runs without it, as RHEL 8's 4.18 does by default: psi=0). */
static void
test_get_load(void)
{
    g_autofree char *sock = NULL;
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) reply = NULL;
    JsonObject *o;
    JsonNode *pressure, *runnable;
    gboolean psi_off = extra_cmdline && strstr(extra_cmdline, "psi=0");

    NEED_GUEST();
    sock = e2e_guest_channel_path(guest, E2E_AGENT_PORT);
    CHECK_FATAL(sock != NULL, "no host socket for the agent's channel");
    reply = agent_client_call_once(sock, "get-load", NULL, 10000, &error);
    CHECK_FATAL(reply != NULL && JSON_NODE_HOLDS_OBJECT(reply),
                "get-load under the installed unit failed: %s\n%s",
                error ? error->message : "not an object", agent_journal());
    o = json_node_get_object(reply);
    CHECK(json_object_has_member(o, "busy") && json_object_has_member(o, "cpus"),
          "get-load's reply has no busy or cpus");
    runnable = json_object_get_member(o, "runnable");
    CHECK(runnable && JSON_NODE_HOLDS_VALUE(runnable) && json_node_get_int(runnable) >= 1,
          "get-load says no runnable task (the agent reads /proc/stat)");
    pressure = json_object_get_member(o, "pressure");
    if (psi_off)
        CHECK(pressure && JSON_NODE_HOLDS_NULL(pressure),
              "the kernel runs with psi=0 but get-load reports pressure");
    else
        CHECK(pressure && JSON_NODE_HOLDS_OBJECT(pressure)
                  && json_object_has_member(json_node_get_object(pressure), "some-avg10"),
              "get-load reports no CPU pressure (the agent reads /proc/pressure/cpu)");
}

/* hotcpu-ctl watch --load shows the guest's load as it comes. */
static void
test_watch_load(void)
{
    const char *argv[] = { "watch", NULL, "--load", "1", NULL };
    g_autoptr(GSubprocess) p = NULL;
    g_autoptr(E2eRun) r = NULL;
    double t0 = e2e_now(), busiest = -1;
    const char *at;

    NEED_GUEST();
    argv[1] = guest->name;
    CHECK_FATAL(e2e_guest_busy_loops(guest, 1, 10000), "cannot start a busy loop in the guest");
    p = e2e_ctl_spawn(argv, NULL);
    CHECK_FATAL(p != NULL, "cannot start hotcpu-ctl watch");
    g_usleep(8 * G_USEC_PER_SEC);
    g_subprocess_send_signal(p, SIGINT);
    r = e2e_ctl_finish(g_steal_pointer(&p), t0);
    e2e_guest_busy_loops(guest, 0, 10000);
    for (at = r->out; (at = strstr(at, "load: busy ")); at++)
        busiest = MAX(busiest, g_ascii_strtod(at + strlen("load: busy "), NULL));
    CHECK(r->status == 0, "watch exited %d: %s", r->status, r->err);
    CHECK(busiest >= 0.3, "watch --load showed no busy guest (busiest %.2f):\n%s", busiest, r->out);
}

/* autoscale adds a vCPU to the guest under a busy loop on every CPU. */
static void
test_autoscale_step(void)
{
    const char *argv[]
        = { "autoscale", NULL,           "--min", "2",          "--max", "4", "--up-after",
            "3",         "--down-after", "600",   "--cooldown", "3",     NULL };
    g_autoptr(GSubprocess) p = NULL;
    g_autoptr(E2eRun) r = NULL;
    double t0 = e2e_now(), until;
    int vcpus = 2;

    NEED_GUEST();
    argv[1] = guest->name;
    CHECK_FATAL(e2e_libvirt_vcpus(guest, TRUE) == 2, "the guest does not start from 2 vCPUs");
    CHECK_FATAL(e2e_guest_busy_loops(guest, 2, 10000), "cannot start busy loops in the guest");
    p = e2e_ctl_spawn(argv, NULL);
    CHECK_FATAL(p != NULL, "cannot start hotcpu-ctl autoscale");
    for (until = e2e_now() + 120; vcpus <= 2 && e2e_now() < until;) {
        g_usleep(500 * 1000);
        vcpus = e2e_libvirt_vcpus(guest, TRUE);
    }
    g_subprocess_send_signal(p, SIGTERM);
    r = e2e_ctl_finish(g_steal_pointer(&p), t0);
    e2e_guest_busy_loops(guest, 0, 10000);
    CHECK(vcpus > 2, "autoscale did not add a vCPU under load in 120 s:\n%s%s", r->out, r->err);
    CHECK(r->status == 0, "autoscale exited %d: %s", r->status, r->err);
    CHECK(e2e_guest_wait_cpus(guest, vcpus, vcpus, 30000),
          "the guest does not have the %d CPUs autoscale gave it online", vcpus);
    ctl_set_confirmed(2);
}

/* systemd-analyze verify of the unit as installed, with this release's
 * systemd: no directive it does not know, nothing it warns about. */
static void
test_unit_verify(void)
{
    g_autofree char *out = NULL;
    int rc;

    NEED_GUEST();
    rc = gsh(60000, &out,
             "systemd-analyze verify --man=no " AGENT_UNIT " 2>&1 | grep -i -e hotcpu -e unknown; "
             "systemd-analyze verify --man=no " AGENT_UNIT " >/dev/null 2>&1");
    CHECK(rc == 0, "systemd-analyze verify " AGENT_UNIT " failed (%d):\n%s", rc, out);
    CHECK(out && *out == '\0', "systemd-analyze verify " AGENT_UNIT " warns:\n%s", out);
}

static void
test_remove_reinstall(void)
{
    g_autofree char *out = NULL;
    g_autofree char *state = NULL;
    g_autofree char *procs = NULL;
    g_autofree char *units = NULL;
    int rc;

    NEED_GUEST();
    rc = gsh(180000, &out, "DEBIAN_FRONTEND=noninteractive apt-get remove -y -q hotcpu-agent");
    CHECK_FATAL(rc == 0, "apt-get remove hotcpu-agent exited %d:\n%s", rc, out);
    state = unit_active_state();
    CHECK(g_strcmp0(state, "active") != 0 && g_strcmp0(state, "failed") != 0,
          "after apt-get remove the unit is %s", state);
    CHECK(gsh(10000, &procs, AGENT_PROCS) == 1, "after apt-get remove these run: %s", procs);
    gsh(10000, &units,
        "systemctl list-units --all --plain --no-legend 'hotcpu-agent*' | grep -v "
        "-e not-found -e ' inactive '");
    CHECK(units && *units == '\0', "after apt-get remove systemd still has: %s", units);
    CHECK(gsh(10000, NULL, "test ! -e /usr/sbin/hotcpu-agent") == 0,
          "/usr/sbin/hotcpu-agent is still there after apt-get remove");
    {
        g_autofree char *xml = agent_channel_xml();
        CHECK(xml && !strstr(xml, "state='connected'"),
              "the port is still open in the guest after apt-get remove: %s", xml);
    }

    g_clear_pointer(&out, g_free);
    rc = gsh(180000, &out, "DEBIAN_FRONTEND=noninteractive dpkg -i /root/hotcpu-agent.deb");
    CHECK_FATAL(rc == 0, "dpkg -i /root/hotcpu-agent.deb exited %d:\n%s", rc, out);
    CHECK(wait_unit("active", 30000), "hotcpu-agent did not start after the reinstall; it is %s",
          unit_active_state());
    CHECK(topology_answers(2, 15000), "the reinstalled agent does not answer");
    ctl_set_confirmed(3);
    ctl_set_confirmed(2);
}

/* ---- main ------------------------------------------------------------------- */

static void
on_test_start(void)
{
    test_t0 = e2e_now();
    test_failures0 = CU_get_number_of_failure_records();
    g_printerr("  [%s] %s ...\n", CU_get_current_suite()->pName, CU_get_current_test()->pName);
}

static void
on_test_done(void)
{
    g_printerr(
        "  [%s] %s: %s in %.1f s\n", CU_get_current_suite()->pName, CU_get_current_test()->pName,
        CU_get_number_of_failure_records() > test_failures0 ? "FAILED" : "ok", e2e_now() - test_t0);
}

static void
register_systemd_suite(void)
{
    /* Every release: the agent as its package runs it.  Debian 12 (the
     * host's own release) also: the port unplugged, a distribution's udev
     * rule, the host package, removal. */
    static const CunitTest tests[] = {
        { "autostart", test_autostart },
        { "plug-unplug", test_plug_unplug },
        { "get-load", test_get_load },
        { "watch-load", test_watch_load },
        { "autoscale-step", test_autoscale_step },
        { "unit-verify", test_unit_verify },
        { "kill-restart", test_kill_restart },
        { "detach-attach", test_detach_attach },
        { "udev-cpu-rule", test_udev_cpu_rule },
        { "host-package", test_host_package },
        { "hardening", test_hardening },
        { "remove-reinstall", test_remove_reinstall },
        { NULL, NULL },
    };
    static const CunitTest other_release[] = {
        { "autostart", test_autostart },
        { "plug-unplug", test_plug_unplug },
        { "get-load", test_get_load },
        { "watch-load", test_watch_load },
        { "autoscale-step", test_autoscale_step },
        { "unit-verify", test_unit_verify },
        { "kill-restart", test_kill_restart },
        { "hardening", test_hardening },
        { NULL, NULL },
    };

    cunit_add_suite_full("systemd-guest", suite_init, suite_clean, on_test_start, on_test_done,
                         g_str_equal(guest_suite, "bookworm") ? tests : other_release);
}

static const CunitSuite suites[] = {
    { "systemd-guest", register_systemd_suite },
    { NULL, NULL },
};

int
main(int argc, char **argv)
{
    g_autoptr(GError) error = NULL;
    int status;

    e2e_set_verbose(g_getenv("HOTCPU_E2E_VERBOSE") != NULL);
    run_t0 = e2e_now();
    if (g_getenv("HOTCPU_SYSTEMD_SUITE"))
        guest_suite = g_getenv("HOTCPU_SYSTEMD_SUITE");
    own_kernel = g_strcmp0(g_getenv("HOTCPU_SYSTEMD_OWN_KERNEL"), "1") == 0;
    extra_cmdline = g_getenv("HOTCPU_SYSTEMD_CMDLINE");
    deb_dir = g_strdup(g_getenv("HOTCPU_DEB_DIR") ? g_getenv("HOTCPU_DEB_DIR")
                                                  : E2E_BUILD_ROOT "/debs");
    image_dir = g_strdup(g_getenv("HOTCPU_SYSTEMD_IMAGE_DIR") ? g_getenv("HOTCPU_SYSTEMD_IMAGE_DIR")
                                                              : E2E_BUILD_ROOT
                             "/tests/e2e/guest-systemd");
    if (!e2e_env_init(&error)) {
        env_error = g_strdup(error->message);
    } else if (!g_file_test(deb_dir, G_FILE_TEST_IS_DIR)) {
        env_error = g_strdup_printf("no .debs in %s: run packaging/build-deb.sh %s first "
                                    "(scripts/test does)",
                                    deb_dir, deb_dir);
    }
    if (env_error)
        g_printerr("e2e: FAIL: %s\n", env_error);
    atexit(at_exit);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGHUP, on_signal);

    status = cunit_run(argc, argv, suites);
    g_printerr("e2e-systemd (%s): whole run %.1f s, %s\n", guest_suite, e2e_now() - run_t0,
               status == EXIT_SUCCESS ? "passed" : "FAILED");
    host_pkg_remove();
    e2e_env_keep_rundir(status != EXIT_SUCCESS && g_getenv("HOTCPU_E2E_KEEP") != NULL);
    e2e_env_cleanup();
    return status != EXIT_SUCCESS || env_error ? 1 : 0;
}
