/* harness.c: see harness.h. */
#include "harness.h"
#include "libvirtd2.h"

#include <errno.h>
#include <glob.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <glib/gstdio.h>

#ifndef E2E_BUILD_ROOT
#define E2E_BUILD_ROOT "."
#endif
#ifndef E2E_SOURCE_DIR
#define E2E_SOURCE_DIR "tests/e2e"
#endif
#ifndef E2E_IMAGE_DIR
#define E2E_IMAGE_DIR "/tmp/hotcpu-e2e-image"
#endif

E2eEnv e2e;

static gboolean verbose;
static gboolean keep_rundir;
static guint guest_seq;
static GPtrArray *live_guests; /* E2eGuest *, not owned */

void
e2e_set_verbose(gboolean v)
{
    verbose = v;
}

gboolean
e2e_verbose(void)
{
    return verbose;
}

void
e2e_env_keep_rundir(gboolean keep)
{
    keep_rundir = keep;
}

double
e2e_now(void)
{
    return g_get_monotonic_time() / 1e6;
}

static void
quiet_libvirt(void *opaque, virErrorPtr err)
{
}

static const char *
virt_msg(void)
{
    const char *m = virGetLastErrorMessage();
    return m ? m : "unknown libvirt error";
}

/* ---- host programs ------------------------------------------------------ */

void
e2e_run_free(E2eRun *run)
{
    if (!run)
        return;
    g_free(run->out);
    g_free(run->err);
    g_free(run);
}

/* @b as text; *@invalid set when it was not valid UTF-8 (or held a NUL). */
static char *
text_of(GBytes *b, gboolean *invalid)
{
    gsize len = 0;
    const char *data = b ? g_bytes_get_data(b, &len) : NULL;

    if (data == NULL)
        return g_strdup("");
    if (g_utf8_validate(data, (gssize)len, NULL))
        return g_strndup(data, len);
    *invalid = TRUE;
    return g_utf8_make_valid(data, (gssize)len);
}

static E2eRun *
run_finish(GSubprocess *proc, double started, const char *what)
{
    E2eRun *run = g_new0(E2eRun, 1);
    g_autoptr(GError) error = NULL;

    g_autoptr(GBytes) out = NULL;
    g_autoptr(GBytes) err = NULL;

    run->status = -1;
    /* Bytes, not communicate_utf8: that one drops everything on one bad
     * byte, and what the program printed is what a failure must show. */
    if (!g_subprocess_communicate(proc, NULL, NULL, &out, &err, &error)) {
        run->err = g_strdup_printf("%s: %s", what, error->message);
    } else {
        run->out = text_of(out, &run->invalid_utf8);
        run->err = text_of(err, &run->invalid_utf8);
        if (g_subprocess_get_if_exited(proc))
            run->status = g_subprocess_get_exit_status(proc);
    }
    run->seconds = e2e_now() - started;
    if (!run->out)
        run->out = g_strdup("");
    if (!run->err)
        run->err = g_strdup("");
    if (verbose)
        g_printerr("    -> exit %d in %.2f s\n%s%s", run->status, run->seconds, run->out, run->err);
    return run;
}

/* The result of a program that could not be started: status -1, @error's
 * message as its stderr. */
static E2eRun *
run_not_started(const GError *error)
{
    E2eRun *run = g_new0(E2eRun, 1);

    run->status = -1;
    run->out = g_strdup("");
    run->err = g_strdup(error->message);
    return run;
}

static GSubprocessLauncher *
launcher_new(void)
{
    GSubprocessLauncher *l = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDOUT_PIPE
                                                       | G_SUBPROCESS_FLAGS_STDERR_PIPE);
    g_subprocess_launcher_setenv(l, "LIBVIRT_DEFAULT_URI", E2E_URI, TRUE);
    if (e2e.hooks_dir)
        g_subprocess_launcher_setenv(l, "HOTCPU_HOOKS_DIR", e2e.hooks_dir, TRUE);
    g_subprocess_launcher_setenv(l, "LC_ALL", "C", TRUE);
    /* A build tree has no installed support matrix: use the source's. */
    if (!g_getenv("HOTCPU_SUPPORT_MATRIX"))
        g_subprocess_launcher_setenv(l, "HOTCPU_SUPPORT_MATRIX",
                                     E2E_SOURCE_DIR "/../../packaging/guest-os-support.ini", FALSE);
    return l;
}

/* hotcpu-ctl COMMAND [--audit-log PATH] ARGS...: global options first, then
 * the command; the audit log only for the commands that change something. */
static GPtrArray *
ctl_argv(const char *const *argv)
{
    GPtrArray *a = g_ptr_array_new();

    g_ptr_array_add(a, e2e.ctl);
    g_ptr_array_add(a, (gpointer) "--hooks-dir");
    g_ptr_array_add(a, e2e.hooks_dir);
    g_ptr_array_add(a, (gpointer) "--audit-log");
    g_ptr_array_add(a, e2e.audit_log);
    for (guint i = 0; argv[i]; i++)
        g_ptr_array_add(a, (gpointer)argv[i]);
    g_ptr_array_add(a, NULL);
    return a;
}

GSubprocess *
e2e_ctl_spawn(const char *const *argv, GError **error)
{
    g_autoptr(GSubprocessLauncher) l = NULL;
    g_autoptr(GPtrArray) a = NULL;

    if (!e2e.ctl) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                    "hotcpu-ctl is not built (HOTCPU_CTL unset or missing)");
        return NULL;
    }
    a = ctl_argv(argv);
    if (verbose) {
        g_autofree char *line = g_strjoinv(" ", (char **)argv);
        g_printerr("    $ hotcpu-ctl %s\n", line);
    }
    l = launcher_new();
    return g_subprocess_launcher_spawnv(l, (const char *const *)a->pdata, error);
}

E2eRun *
e2e_ctl_finish(GSubprocess *proc, double started)
{
    return run_finish(proc, started, "hotcpu-ctl");
}

E2eRun *
e2e_ctl(const char *const *argv)
{
    g_autoptr(GError) error = NULL;
    double t0 = e2e_now();
    g_autoptr(GSubprocess) p = e2e_ctl_spawn(argv, &error);

    if (!p)
        return run_not_started(error);
    return e2e_ctl_finish(p, t0);
}

E2eRun *
e2e_ctlv(const char *first, ...)
{
    g_autoptr(GPtrArray) a = g_ptr_array_new();
    va_list ap;

    va_start(ap, first);
    for (const char *s = first; s; s = va_arg(ap, const char *))
        g_ptr_array_add(a, (gpointer)s);
    va_end(ap);
    g_ptr_array_add(a, NULL);
    return e2e_ctl((const char *const *)a->pdata);
}

E2eRun *
e2e_ctl_on(E2eGuest *g, const char *first, ...)
{
    g_autoptr(GPtrArray) a = g_ptr_array_new();
    va_list ap;

    if (g->uri) {
        g_ptr_array_add(a, (gpointer) "--connect");
        g_ptr_array_add(a, g->uri);
    }
    va_start(ap, first);
    for (const char *s = first; s; s = va_arg(ap, const char *))
        g_ptr_array_add(a, (gpointer)s);
    va_end(ap);
    g_ptr_array_add(a, NULL);
    return e2e_ctl((const char *const *)a->pdata);
}

E2eRun *
e2e_host_run(const char *const *argv)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GSubprocessLauncher) l = launcher_new();
    double t0 = e2e_now();
    g_autoptr(GSubprocess) p = NULL;

    if (verbose) {
        g_autofree char *line = g_strjoinv(" ", (char **)argv);
        g_printerr("    $ %s\n", line);
    }
    p = g_subprocess_launcher_spawnv(l, argv, &error);
    if (!p)
        return run_not_started(error);
    return run_finish(p, t0, argv[0]);
}

static gboolean
run_quiet(const char *const *argv)
{
    gint status = 0;

    if (!g_spawn_sync(NULL, (char **)argv, NULL,
                      G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL,
                      NULL, NULL, NULL, NULL, &status, NULL))
        return FALSE;
    return g_spawn_check_wait_status(status, NULL);
}

/* ---- environment ---------------------------------------------------------- */

/* $VAR, else where this build put the thing. */
static const char *
default_path(const char *var)
{
    static const struct {
        const char *var, *path;
    } defaults[] = {
        { "HOTCPU_CTL", E2E_BUILD_ROOT "/host-ctl/hotcpu-ctl" },
        { "HOTCPU_AGENT", E2E_BUILD_ROOT "/guest-agent/hotcpu-agent" },
        { "HOTCPU_HOOKS_SRC", E2E_BUILD_ROOT "/host-hooks" },
        { "HOTCPU_IMAGE_SCRIPT", E2E_SOURCE_DIR "/build-guest-image.sh" },
        { "HOTCPU_IMAGE_DIR", E2E_IMAGE_DIR },
        /* where scripts/fetch-qemu-ga puts it (scripts/test runs it) */
        { "HOTCPU_QEMU_GA", E2E_BUILD_ROOT "/qemu-guest-agent/usr/sbin/qemu-ga" },
    };
    for (guint i = 0; i < G_N_ELEMENTS(defaults); i++)
        if (g_str_equal(defaults[i].var, var))
            return defaults[i].path;
    return NULL;
}

static char *
env_path(const char *var, gboolean must_exec)
{
    const char *v = g_getenv(var);

    if (!v || !*v)
        v = default_path(var);
    if (!v || g_str_equal(v, "none"))
        return NULL;

    if (!v || !*v)
        return NULL;
    if (must_exec && !g_file_test(v, G_FILE_TEST_IS_EXECUTABLE))
        return NULL;
    return g_canonicalize_filename(v, NULL);
}

static gboolean
pid_alive(long pid)
{
    return pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
}

/* hotcpu-e2e-PID-N or hotcpu-e2e-PID-...: the PID, or 0. */
static long
name_pid(const char *name)
{
    if (!g_str_has_prefix(name, E2E_PREFIX))
        return 0;
    return strtol(name + strlen(E2E_PREFIX), NULL, 10);
}

static void
remove_leftovers(void)
{
    virDomainPtr *doms = NULL;
    int n = virConnectListAllDomains(e2e.conn, &doms, 0);
    glob_t gl;

    for (int i = 0; i < n; i++) {
        const char *name = virDomainGetName(doms[i]);
        long pid = name_pid(name);

        if (pid > 0 && pid != getpid() && !pid_alive(pid)) {
            g_printerr("e2e: removing leftover domain %s of an earlier run\n", name);
            if (virDomainIsActive(doms[i]) == 1)
                virDomainDestroy(doms[i]);
            if (virDomainIsPersistent(doms[i]) == 1)
                virDomainUndefineFlags(doms[i], VIR_DOMAIN_UNDEFINE_MANAGED_SAVE
                                                    | VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA
                                                    | VIR_DOMAIN_UNDEFINE_NVRAM);
        }
        virDomainFree(doms[i]);
    }
    free(doms);

    if (glob("/tmp/" E2E_PREFIX "[0-9]*", 0, NULL, &gl) == 0) {
        for (size_t i = 0; i < gl.gl_pathc; i++) {
            long pid = name_pid(gl.gl_pathv[i] + strlen("/tmp/"));
            if (pid > 0 && pid != getpid() && !pid_alive(pid)) {
                const char *argv[] = { "rm", "-rf", gl.gl_pathv[i], NULL };
                e2e_libvirtd2_reap(gl.gl_pathv[i]);
                run_quiet(argv);
            }
        }
        globfree(&gl);
    }
}

static gboolean
ensure_libvirtd(GError **error)
{
    virSetErrorFunc(NULL, quiet_libvirt);
    e2e.conn = virConnectOpen(E2E_URI);
    if (e2e.conn)
        return TRUE;

    /* No libvirtd answers: start our own (no systemd here). */
    if (!g_find_program_in_path("libvirtd")
        && !g_file_test("/usr/sbin/libvirtd", G_FILE_TEST_EXISTS)) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                    "libvirtd is not installed (run scripts/deps.sh as root)");
        return FALSE;
    }
    if (!g_file_test("/usr/bin/qemu-system-x86_64", G_FILE_TEST_IS_EXECUTABLE)) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                    "qemu-system-x86_64 is not installed (run scripts/deps.sh as root)");
        return FALSE;
    }
    {
        /* Without libvirt-daemon-system, the qemu user and groups are missing. */
        const char *g1[] = { "getent", "group", "kvm", NULL };
        const char *g2[] = { "groupadd", "-r", "kvm", NULL };
        const char *g3[] = { "getent", "group", "libvirt-qemu", NULL };
        const char *g4[] = { "groupadd", "-r", "libvirt-qemu", NULL };
        const char *u1[] = { "getent", "passwd", "libvirt-qemu", NULL };
        const char *u2[] = { "useradd", "-r", "-M", "-g", "libvirt-qemu", "libvirt-qemu", NULL };
        if (!run_quiet(g1))
            run_quiet(g2);
        if (!run_quiet(g3))
            run_quiet(g4);
        if (!run_quiet(u1))
            run_quiet(u2);
    }
    {
        const char *pv[] = { "pgrep", "-x", "virtlogd", NULL };
        const char *sv[] = { "virtlogd", "-d", NULL };
        const char *pl[] = { "pgrep", "-x", "libvirtd", NULL };
        const char *sl[] = { "libvirtd", "-d", NULL };
        if (!run_quiet(pv))
            run_quiet(sv);
        if (!run_quiet(pl)) {
            g_printerr("e2e: starting libvirtd (none was running)\n");
            if (!run_quiet(sl)) {
                g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "could not start libvirtd -d");
                return FALSE;
            }
            e2e.started_libvirtd = TRUE;
        }
    }
    for (int i = 0; i < 100 && !e2e.conn; i++) {
        g_usleep(100 * 1000);
        e2e.conn = virConnectOpen(E2E_URI);
    }
    if (!e2e.conn) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot connect to %s: %s", E2E_URI,
                    virt_msg());
        return FALSE;
    }
    return TRUE;
}

static gboolean
write_file_mode(const char *path, const char *text, int mode, GError **error)
{
    if (!g_file_set_contents(path, text, -1, error))
        return FALSE;
    if (chmod(path, mode) < 0) {
        g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno), "chmod %s: %s", path,
                    g_strerror(errno));
        return FALSE;
    }
    return TRUE;
}

/* The tests' own hooks: record the contract's environment, $0 and the
 * <vcpu current> of $_hook_domxml; veto when told. */
static const char recording_hook[]
    = "#!/bin/sh\n"
      "# e2e: records what a hook sees; waits while $RUNDIR/hold-%s exists (a test holds\n"
      "# hotcpu-ctl inside its change); exits with the status in $RUNDIR/veto-%s if present.\n"
      "log='%s'\n"
      "{\n"
      "  echo \"hook=%s vmName=$vmName vmId=$vmId numberOfCpus=$numberOfCpus "
      "previousNumberOfCpus=$previousNumberOfCpus HOTCPU_AGENT_SOCKET=$HOTCPU_AGENT_SOCKET "
      "LIBVIRT_DEFAULT_URI=$LIBVIRT_DEFAULT_URI HOTCPU_OUTCOME=$HOTCPU_OUTCOME "
      "domxml=$( [ -r \"$_hook_domxml\" ] && grep -q \"<name>$vmName</name>\" \"$_hook_domxml\" "
      "&& echo ok || echo bad:$_hook_domxml ) "
      "agent_socket_exists=$( [ -S \"$HOTCPU_AGENT_SOCKET\" ] && echo yes || echo no ) "
      "self=$0 current=$(sed -n \"s/.*<vcpu[^>]* current='\\([0-9]*\\)'.*/\\1/p\" "
      "\"$_hook_domxml\")\"\n"
      "} >> \"$log\"\n"
      "while [ -e '%s/hold-%s' ]; do sleep 0.05; done\n"
      "if [ -r '%s/veto-%s' ]; then echo 'e2e test hook vetoes this change' >&2; exit $(cat "
      "'%s/veto-%s'); fi\n"
      "exit 0\n";

static gboolean
copy_tree(const char *src, const char *dst, GError **error)
{
    const char *argv[] = { "cp", "-r", "--no-preserve=mode,ownership", src, dst, NULL };
    if (!run_quiet(argv)) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot copy %s to %s", src, dst);
        return FALSE;
    }
    return TRUE;
}

static gboolean
prepare_hooks(GError **error)
{
    const char *phases[] = { "before_set_num_of_cpus", "after_set_num_of_cpus" };
    const char *tags[] = { "before", "after" };

    e2e.hooks_dir = g_build_filename(e2e.rundir, "hooks", NULL);
    e2e.hook_log = g_build_filename(e2e.rundir, "hooks.log", NULL);
    g_mkdir_with_parents(e2e.hooks_dir, 0755);
    for (guint i = 0; i < G_N_ELEMENTS(phases); i++) {
        g_autofree char *d = g_build_filename(e2e.hooks_dir, phases[i], NULL);
        g_autofree char *src
            = e2e.hooks_src ? g_build_filename(e2e.hooks_src, phases[i], NULL) : NULL;
        g_autofree char *hook = NULL;
        g_autofree char *text = NULL;

        g_mkdir_with_parents(d, 0755);
        /* The shipped hooks take part in every test. */
        if (src && g_file_test(src, G_FILE_TEST_IS_DIR)) {
            g_autoptr(GDir) dir = g_dir_open(src, 0, NULL);
            const char *n;
            while (dir && (n = g_dir_read_name(dir))) {
                g_autofree char *from = g_build_filename(src, n, NULL);
                g_autofree char *to = g_build_filename(d, n, NULL);
                if (!g_file_test(from, G_FILE_TEST_IS_EXECUTABLE)
                    || g_file_test(from, G_FILE_TEST_IS_DIR))
                    continue;
                if (!copy_tree(from, to, error))
                    return FALSE;
                chmod(to, 0755);
            }
        }
        hook = g_strdup_printf("%s/50_e2e_record", d);
        text = g_strdup_printf(recording_hook, tags[i], tags[i], e2e.hook_log, tags[i], e2e.rundir,
                               tags[i], e2e.rundir, tags[i], e2e.rundir, tags[i]);
        if (!write_file_mode(hook, text, 0755, error))
            return FALSE;
        chmod(d, 0755);
    }
    /* The shipped fronts exec their full hooks from the hooks root. */
    for (guint i = 0; e2e.hooks_src && i < G_N_ELEMENTS(tags); i++) {
        g_autofree char *name = g_strdup_printf("hotcpu-agent-hook-%s", tags[i]);
        g_autofree char *from = g_build_filename(e2e.hooks_src, name, NULL);
        g_autofree char *to = g_build_filename(e2e.hooks_dir, name, NULL);

        if (!g_file_test(from, G_FILE_TEST_IS_EXECUTABLE))
            continue;
        if (!copy_tree(from, to, error))
            return FALSE;
        chmod(to, 0755);
    }
    chmod(e2e.hooks_dir, 0755);
    return TRUE;
}

static gboolean
build_image(GError **error)
{
    g_autoptr(GPtrArray) a = g_ptr_array_new();
    g_autofree char *script = env_path("HOTCPU_IMAGE_SCRIPT", FALSE);
    g_autoptr(E2eRun) run = NULL;

    if (!script || !g_file_test(script, G_FILE_TEST_EXISTS)) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                    "HOTCPU_IMAGE_SCRIPT does not name tests/e2e/build-guest-image.sh");
        return FALSE;
    }
    g_ptr_array_add(a, (gpointer) "sh");
    g_ptr_array_add(a, script);
    g_ptr_array_add(a, e2e.image_dir);
    if (e2e.agent) {
        g_ptr_array_add(a, (gpointer) "--agent");
        g_ptr_array_add(a, e2e.agent);
    }
    if (e2e.qemu_ga) {
        g_ptr_array_add(a, (gpointer) "--qemu-ga");
        g_ptr_array_add(a, e2e.qemu_ga);
    }
    g_ptr_array_add(a, NULL);
    run = e2e_host_run((const char *const *)a->pdata);
    if (run->status != 0) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "building the guest image failed: %s%s",
                    run->out, run->err);
        return FALSE;
    }
    if (verbose)
        g_printerr("e2e: %s", run->out);
    return TRUE;
}

static void
on_signal(int sig)
{
    e2e_env_cleanup();
    signal(sig, SIG_DFL);
    raise(sig);
}

static void
at_exit(void)
{
    e2e_env_cleanup();
}

gboolean
e2e_env_init(GError **error)
{
    glob_t gl;
    gboolean have_kernel;

    if (geteuid() != 0) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                    "the e2e tests need root (they run guests under libvirtd's qemu:///system)");
        return FALSE;
    }
    have_kernel = glob("/boot/vmlinuz-*-cloud-amd64", 0, NULL, &gl) == 0;
    if (have_kernel)
        globfree(&gl);
    if (!have_kernel) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                    "no guest kernel /boot/vmlinuz-*-cloud-amd64 (run scripts/deps.sh as root)");
        return FALSE;
    }
    if (!g_find_program_in_path("busybox")) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                    "busybox is not installed (run scripts/deps.sh as root)");
        return FALSE;
    }

    e2e.ctl = env_path("HOTCPU_CTL", TRUE);
    e2e.agent = env_path("HOTCPU_AGENT", TRUE);
    e2e.qemu_ga = env_path("HOTCPU_QEMU_GA", TRUE);
    e2e.hooks_src = env_path("HOTCPU_HOOKS_SRC", FALSE);
    e2e.image_dir = env_path("HOTCPU_IMAGE_DIR", FALSE);
    if (!e2e.image_dir)
        e2e.image_dir = g_strdup("/tmp/hotcpu-e2e-image");
    e2e.rundir = g_strdup_printf("/tmp/" E2E_PREFIX "%ld", (long)getpid());
    live_guests = g_ptr_array_new();

    if (!ensure_libvirtd(error))
        return FALSE;
    remove_leftovers();

    atexit(at_exit);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGHUP, on_signal);

    if (g_mkdir_with_parents(e2e.rundir, 0755) < 0) {
        g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno), "cannot create %s: %s",
                    e2e.rundir, g_strerror(errno));
        return FALSE;
    }
    chmod(e2e.rundir, 0755);
    e2e.audit_log = g_build_filename(e2e.rundir, "audit.log", NULL);
    if (!prepare_hooks(error))
        return FALSE;
    g_mkdir_with_parents(e2e.image_dir, 0755);
    return build_image(error);
}

void
e2e_env_cleanup(void)
{
    static gboolean done;

    if (done || !e2e.rundir)
        return;
    done = TRUE;
    while (live_guests && live_guests->len)
        e2e_guest_free(g_ptr_array_index(live_guests, live_guests->len - 1));
    if (keep_rundir) {
        g_printerr("e2e: kept %s (console logs, hooks.log, audit.log)\n", e2e.rundir);
    } else {
        const char *argv[] = { "rm", "-rf", e2e.rundir, NULL };
        run_quiet(argv);
    }
    if (e2e.conn) {
        virConnectClose(e2e.conn);
        e2e.conn = NULL;
    }
}

/* <numa> with @t's cells, the memory split evenly; "" without cells. */
static char *
numa_xml(const E2eTopology *t)
{
    g_auto(GStrv) cells = t->numa_cells ? g_strsplit(t->numa_cells, "|", -1) : NULL;
    guint n = cells ? g_strv_length(cells) : 0;
    GString *x = g_string_new(NULL);

    if (n == 0)
        return g_string_free(x, FALSE);
    g_string_append(x, "<numa>");
    for (guint i = 0; i < n; i++)
        g_string_append_printf(x, "<cell id='%u' cpus='%s' memory='%u' unit='MiB'/>", i, cells[i],
                               (t->memory_mib ? t->memory_mib : 256) / n);
    g_string_append(x, "</numa>");
    return g_string_free(x, FALSE);
}

/* ---- guests --------------------------------------------------------------- */

static char *
domain_xml(const E2eGuest *g)
{
    const E2eTopology *t = &g->topo;
    GString *x = g_string_new(NULL);
    g_autofree char *boot = NULL;
    g_autofree char *numa = NULL;

    g_string_append_printf(x, "<domain type='qemu'>\n  <name>%s</name>\n", g->name);
    if (t->osinfo)
        g_string_append(x, "  <metadata>\n    <libosinfo:libosinfo "
                           "xmlns:libosinfo='http://libosinfo.org/xmlns/libvirt/domain/1.0'>\n"
                           "      <libosinfo:os id='http://debian.org/debian/12'/>\n"
                           "    </libosinfo:libosinfo>\n  </metadata>\n");
    g_string_append_printf(x, "  <memory unit='MiB'>%u</memory>\n",
                           t->memory_mib ? t->memory_mib : 256);
    g_string_append_printf(x, "  <vcpu placement='static' current='%u'>%u</vcpu>\n", t->current,
                           t->maximum);
    /* vCPU 0 is the boot CPU; the other enabled ones are hot-pluggable, as if
     * they had been plugged at run time, so that they can be unplugged.
     * boot_default leaves <vcpus> out: libvirt then makes every vCPU enabled
     * at boot non-hotpluggable, as for most existing VMs. */
    if (!t->boot_default) {
        g_string_append(x, "  <vcpus>\n");
        for (guint i = 0; i < t->maximum; i++) {
            g_string_append_printf(x, "    <vcpu id='%u' enabled='%s' hotpluggable='%s'", i,
                                   i < t->current ? "yes" : "no", i == 0 ? "no" : "yes");
            if (i < t->current)
                g_string_append_printf(x, " order='%u'", i + 1);
            g_string_append(x, "/>\n");
        }
        g_string_append(x, "  </vcpus>\n");
    }
    if (t->pinned || t->pin_vcpus) {
        g_auto(GStrv) more = g_strsplit(t->pin_vcpus ? t->pin_vcpus : "", ",", -1);
        long last = MAX(0L, sysconf(_SC_NPROCESSORS_ONLN) - 1);

        g_string_append(x, "  <cputune>\n");
        for (guint i = 0; i < t->pinned; i++)
            g_string_append_printf(x, "    <vcpupin vcpu='%u' cpuset='0-%ld'/>\n", i, last);
        for (guint i = 0; more[i]; i++)
            if (*more[i])
                g_string_append_printf(x, "    <vcpupin vcpu='%s' cpuset='0-%ld'/>\n", more[i],
                                       last);
        g_string_append(x, "  </cputune>\n");
    }
    numa = numa_xml(t);
    if (t->disk_image_dir)
        boot = g_strdup_printf(
            "    <kernel>%s/vmlinuz</kernel>\n    <initrd>%s/initrd.img</initrd>\n"
            "    <cmdline>root=/dev/vda rw console=ttyS0 panic=-1 loglevel=4%s%s</cmdline>\n",
            t->disk_image_dir, t->disk_image_dir, t->extra_cmdline ? " " : "",
            t->extra_cmdline ? t->extra_cmdline : "");
    else
        boot = g_strdup_printf("    <kernel>%s/vmlinuz</kernel>\n"
                               "    <initrd>%s/initramfs.cpio.gz</initrd>\n"
                               "    <cmdline>console=ttyS0 panic=-1 loglevel=4%s</cmdline>\n",
                               e2e.image_dir, e2e.image_dir, t->no_agent ? " hotcpu.noagent" : "");
    g_string_append_printf(
        x,
        "  <os>\n    <type arch='x86_64' machine='q35'>hvm</type>\n%s  </os>\n"
        "  <features><acpi/><apic/></features>\n"
        "  <cpu mode='custom' match='exact'><model fallback='allow'>qemu64</model>"
        "<topology sockets='%u' dies='1' cores='%u' threads='%u'/>%s</cpu>\n"
        "  <clock offset='utc'/>\n"
        "  <on_poweroff>destroy</on_poweroff><on_reboot>destroy</on_reboot>"
        "<on_crash>destroy</on_crash>\n"
        "  <devices>\n    <emulator>/usr/bin/qemu-system-x86_64</emulator>\n"
        "    <serial type='file'><source path='%s/console.log'/><target port='0'/></serial>\n"
        "    <serial type='unix'><source mode='bind' path='%s/%s'/><target port='1'/></serial>\n",
        boot, t->sockets, t->cores, t->threads, numa, g->rundir, g->rundir, g->shell_sock);
    if (!t->no_channel)
        g_string_append(x, "    <channel type='unix'><target type='virtio' name='" E2E_AGENT_PORT
                           "'/></channel>\n");
    if (t->vnc_passwd)
        g_string_append_printf(x,
                               "    <graphics type='vnc' autoport='yes' listen='127.0.0.1' "
                               "passwd='%s'/>\n",
                               t->vnc_passwd);
    if (t->disk_image_dir)
        g_string_append_printf(
            x,
            "    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/>"
            "<source file='%s/disk.qcow2'/><target dev='vda' bus='virtio'/></disk>\n",
            g->rundir);
    if (t->qga_port) {
        /* libvirtd itself stays connected to org.qemu.guest_agent.0; the
         * second port has nobody on the host, for idle measurements. */
        g_string_append(x, "    <channel type='unix'><target type='virtio' name='" E2E_QGA_PORT
                           "'/></channel>\n");
        g_string_append(x, "    <channel type='unix'><target type='virtio' name='" E2E_QGA_IDLE_PORT
                           "'/></channel>\n");
    }
    g_string_append(x, "    <memballoon model='none'/>\n  </devices>\n</domain>\n");
    return g_string_free(x, FALSE);
}

char *
e2e_guest_xml(E2eGuest *g)
{
    char *x = virDomainGetXMLDesc(g->dom, 0);
    char *r = g_strdup(x);
    free(x);
    return r;
}

/* The <channel> element naming @port in @xml, or NULL. */
static char *
channel_element(const char *xml, const char *port)
{
    g_autofree char *needle = g_strdup_printf("name='%s'", port);
    const char *hit = strstr(xml, needle);
    const char *start, *end;

    if (!hit)
        return NULL;
    start = g_strrstr_len(xml, hit - xml, "<channel");
    end = strstr(hit, "</channel>");
    if (!start || !end)
        return NULL;
    return g_strndup(start, end - start);
}

static char *
attr_value(const char *elem, const char *attr)
{
    g_autofree char *needle = g_strdup_printf("%s='", attr);
    const char *p = strstr(elem, needle);
    const char *q;

    if (!p)
        return NULL;
    p += strlen(needle);
    q = strchr(p, '\'');
    return q ? g_strndup(p, q - p) : NULL;
}

gboolean
e2e_guest_wait_agent_port(E2eGuest *g, guint timeout_ms)
{
    double until = e2e_now() + timeout_ms / 1000.0;

    do {
        g_autofree char *xml = e2e_guest_xml(g);
        g_autofree char *ch = xml ? channel_element(xml, E2E_AGENT_PORT) : NULL;
        if (ch && strstr(ch, "state='connected'"))
            return TRUE;
        g_usleep(100 * 1000);
    } while (e2e_now() < until);
    return FALSE;
}

static gboolean
shell_connect(E2eGuest *g, GError **error)
{
    g_autofree char *path = g_build_filename(g->rundir, g->shell_sock, NULL);
    g_autoptr(GSocketClient) client = g_socket_client_new();
    g_autoptr(GSocketAddress) addr = g_unix_socket_address_new(path);

    g_socket_client_set_timeout(client, 10);
    g->shell_conn = g_socket_client_connect(client, G_SOCKET_CONNECTABLE(addr), NULL, error);
    if (!g->shell_conn)
        return FALSE;
    g->shell = g_socket_connection_get_socket(g->shell_conn);
    g_socket_set_blocking(g->shell, FALSE);
    return TRUE;
}

static gboolean
shell_send(E2eGuest *g, const char *data, GError **error)
{
    gsize len = strlen(data), done = 0;

    while (done < len) {
        gssize n;
        if (!g_socket_condition_timed_wait(g->shell, G_IO_OUT, 5 * G_USEC_PER_SEC, NULL, error))
            return FALSE;
        n = g_socket_send(g->shell, data + done, len - done, NULL, error);
        if (n < 0)
            return FALSE;
        done += n;
    }
    return TRUE;
}

int
e2e_guest_sh(E2eGuest *g, guint timeout_ms, char **out, GError **error, const char *fmt, ...)
{
    g_autofree char *cmd = NULL;
    g_autofree char *tok = g_strdup_printf("E2E%u_%u", (guint)getpid(), ++g->seq);
    g_autofree char *open_mark = g_strdup_printf("%s{\n", tok);
    g_autofree char *close_mark = g_strdup_printf("\n%s} ", tok);
    g_autofree char *line = NULL;
    gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
    va_list ap;

    va_start(ap, fmt);
    cmd = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    if (strchr(cmd, '\n')) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "guest command has a newline");
        return -1;
    }
    if (!g->shell && !shell_connect(g, error))
        return -1;
    /* A leading newline ends whatever a timed-out earlier command left. */
    line = g_strdup_printf("\n%s %s\n", tok, cmd);
    if (!shell_send(g, line, error))
        return -1;

    for (;;) {
        const char *o = strstr(g->rbuf->str, open_mark);
        const char *c = o ? strstr(o + strlen(open_mark) - 1, close_mark) : NULL;
        char buf[4096];
        gssize n;
        gint64 left;
        g_autoptr(GError) local = NULL;

        if (c && strchr(c + strlen(close_mark), '\n')) {
            int status = atoi(c + strlen(close_mark));
            const char *body = o + strlen(open_mark);
            if (out)
                *out = c > body ? g_strndup(body, c - body) : g_strdup("");
            g_string_erase(g->rbuf, 0, strchr(c + strlen(close_mark), '\n') + 1 - g->rbuf->str);
            return status;
        }
        left = deadline - g_get_monotonic_time();
        if (left <= 0) {
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                        "guest %s did not answer \"%s\" within %u ms", g->name, cmd, timeout_ms);
            return -1;
        }
        if (!g_socket_condition_timed_wait(g->shell, G_IO_IN, left, NULL, NULL))
            continue;
        n = g_socket_receive(g->shell, buf, sizeof buf, NULL, &local);
        if (n < 0) {
            /* @error may be NULL (most callers pass none): never read it */
            if (g_error_matches(local, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK)) {
                g_clear_error(&local);
                continue;
            }
            g_propagate_error(error, g_steal_pointer(&local));
            return -1;
        }
        if (n == 0) {
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED,
                        "guest %s: the shell socket closed", g->name);
            return -1;
        }
        g_string_append_len(g->rbuf, buf, n);
        /* Drop what precedes our reply (answers to timed-out commands). */
        if (g->rbuf->len > 65536 && !strstr(g->rbuf->str, open_mark))
            g_string_erase(g->rbuf, 0, g->rbuf->len - 1024);
    }
}

char *
e2e_guest_read(E2eGuest *g, const char *path)
{
    char *out = NULL;
    g_autoptr(GError) error = NULL;

    if (e2e_guest_sh(g, 10000, &out, &error, "cat %s", path) != 0) {
        g_free(out);
        return NULL;
    }
    return out;
}

char *
e2e_guest_console_tail(E2eGuest *g, gsize max_bytes)
{
    g_autofree char *path = g_build_filename(g->rundir, "console.log", NULL);
    g_autofree char *text = NULL;
    gsize len = 0;

    if (!g_file_get_contents(path, &text, &len, NULL))
        return g_strdup("(no console log)");
    return g_strdup(len > max_bytes ? text + len - max_bytes : text);
}

static int
count_list(const char *text)
{
    int n = 0;
    g_auto(GStrv) items = NULL;

    if (!text)
        return -1;
    items = g_strsplit(text, ",", -1);
    for (guint i = 0; items[i]; i++) {
        unsigned a, b;
        if (!*g_strstrip(items[i]))
            continue;
        if (sscanf(items[i], "%u-%u", &a, &b) == 2)
            n += b - a + 1;
        else if (sscanf(items[i], "%u", &a) == 1)
            n += 1;
        else
            return -1;
    }
    return n;
}

int
e2e_guest_online(E2eGuest *g)
{
    g_autofree char *s = e2e_guest_read(g, "/sys/devices/system/cpu/online");
    return count_list(s);
}

int
e2e_guest_present(E2eGuest *g)
{
    g_autofree char *s = e2e_guest_read(g, "/sys/devices/system/cpu/present");
    return count_list(s);
}

gboolean
e2e_guest_wait_cpus(E2eGuest *g, int online, int present, guint timeout_ms)
{
    double until = e2e_now() + timeout_ms / 1000.0;

    for (;;) {
        g_autofree char *out = NULL;
        g_auto(GStrv) lines = NULL;

        if (e2e_guest_sh(g, 10000, &out, NULL,
                         "cat /sys/devices/system/cpu/online /sys/devices/system/cpu/present")
            == 0) {
            lines = g_strsplit(out, "\n", -1);
            if (g_strv_length(lines) >= 2 && (online < 0 || count_list(lines[0]) == online)
                && (present < 0 || count_list(lines[1]) == present))
                return TRUE;
        }
        if (e2e_now() >= until)
            return FALSE;
        g_usleep(50 * 1000);
    }
}

gboolean
e2e_guest_agent_stop(E2eGuest *g)
{
    return e2e_guest_sh(g, 15000, NULL, NULL, "agent-stop") == 0;
}

gboolean
e2e_guest_agent_start(E2eGuest *g)
{
    return e2e_guest_sh(g, 15000, NULL, NULL, "agent-start") == 0
           && e2e_guest_wait_agent_port(g, 10000);
}

char *
e2e_guest_channel_path(E2eGuest *g, const char *port)
{
    g_autofree char *xml = e2e_guest_xml(g);
    g_autofree char *ch = xml ? channel_element(xml, port) : NULL;
    return ch ? attr_value(ch, "path") : NULL;
}

pid_t
e2e_guest_qemu_pid(E2eGuest *g)
{
    g_autofree char *path = g_strdup_printf("/run/libvirt/qemu/%s.pid", g->name);
    g_autofree char *text = NULL;

    if (g->uri || !g_file_get_contents(path, &text, NULL, NULL))
        return 0;
    return (pid_t)strtol(text, NULL, 10);
}

gboolean
e2e_guest_reattach(E2eGuest *g, virConnectPtr conn)
{
    virDomainPtr dom = virDomainLookupByName(conn, g->name);

    if (!dom)
        return FALSE;
    if (g->dom)
        virDomainFree(g->dom);
    g->dom = dom;
    g->conn = conn;
    return TRUE;
}

int
e2e_libvirt_vcpus(E2eGuest *g, gboolean live)
{
    return virDomainGetVcpusFlags(g->dom, live ? VIR_DOMAIN_AFFECT_LIVE : VIR_DOMAIN_AFFECT_CONFIG);
}

E2eGuest *
e2e_guest_define(const E2eTopology *topo, GError **error)
{
    return e2e_guest_define_on(e2e.conn, NULL, topo, error);
}

E2eGuest *
e2e_guest_define_on(virConnectPtr conn, const char *uri, const E2eTopology *topo, GError **error)
{
    g_autoptr(E2eGuest) g = g_new0(E2eGuest, 1);
    g_autofree char *xml = NULL;

    g->topo = *topo;
    g->conn = conn;
    g->uri = g_strdup(uri);
    g->shell_sock = g_strdup("shell.sock");
    g->rbuf = g_string_new(NULL);
    g->name = g_strdup_printf(E2E_PREFIX "%ld-%u", (long)getpid(), ++guest_seq);
    g->rundir = g_build_filename(e2e.rundir, g->name + strlen(E2E_PREFIX), NULL);
    g_mkdir_with_parents(g->rundir, 0755);
    chmod(g->rundir, 0755);
    if (topo->disk_image_dir) {
        /* A copy-on-write overlay: the image stays as built. */
        g_autofree char *base = g_build_filename(topo->disk_image_dir, "rootfs.img", NULL);
        g_autofree char *overlay = g_build_filename(g->rundir, "disk.qcow2", NULL);
        const char *argv[]
            = { "qemu-img", "create", "-q", "-f", "qcow2", "-F", "raw", "-b", base, overlay, NULL };
        g_autoptr(E2eRun) r = e2e_host_run(argv);
        if (r->status != 0) {
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot create %s: %s%s", overlay,
                        r->out, r->err);
            return NULL;
        }
    }
    xml = domain_xml(g);
    {
        g_autofree char *p = g_build_filename(g->rundir, "domain.xml", NULL);
        g_file_set_contents(p, xml, -1, NULL);
    }
    g->dom = virDomainDefineXML(conn, xml);
    if (!g->dom) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot define %s: %s", g->name,
                    virt_msg());
        return NULL;
    }
    g_ptr_array_add(live_guests, g);
    return g_steal_pointer(&g);
}

gboolean
e2e_guest_start(E2eGuest *g, GError **error)
{
    g_autofree char *live = NULL;
    g_autofree char *ch = NULL;
    double t0 = e2e_now();
    double boot_limit = g->topo.disk_image_dir ? 240 : 90;
    gboolean answered = FALSE;

    if (virDomainCreate(g->dom) < 0) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot start %s: %s", g->name,
                    virt_msg());
        return FALSE;
    }
    g_clear_object(&g->shell_conn);
    g->shell = NULL;
    g_string_truncate(g->rbuf, 0);
    if (!shell_connect(g, error))
        return FALSE;
    /* The guest's shell starts a few seconds after boot (a systemd guest
     * takes longer); ask until it answers. */
    while (!answered && e2e_now() - t0 < boot_limit) {
        g_autoptr(GError) e = NULL;
        answered = e2e_guest_sh(g, 2000, NULL, &e, "true") == 0;
    }
    if (!answered) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                    "guest %s did not boot to its shell within %.0f s (see %s/console.log)",
                    g->name, boot_limit, g->rundir);
        return FALSE;
    }
    if (g->topo.no_agent)
        e2e_guest_agent_stop(g);
    live = e2e_guest_xml(g);
    ch = live ? channel_element(live, E2E_AGENT_PORT) : NULL;
    g_free(g->agent_socket);
    g->agent_socket = ch ? attr_value(ch, "path") : NULL;
    if (e2e.agent && ch && !g->topo.no_agent && !e2e_guest_wait_agent_port(g, 30000)) {
        g_autofree char *log = NULL;
        if (g->topo.disk_image_dir)
            e2e_guest_sh(g, 10000, &log, NULL, "journalctl -b -u hotcpu-agent --no-pager -n 30");
        else
            log = e2e_guest_read(g, "/run/agent.log");
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                    "hotcpu-agent in %s did not open its port within 30 s; its log: %s", g->name,
                    log ? log : "(none)");
        return FALSE;
    }
    g->boot_seconds = e2e_now() - t0;
    return TRUE;
}

E2eGuest *
e2e_guest_boot(const E2eTopology *topo, GError **error)
{
    return e2e_guest_boot_on(e2e.conn, NULL, topo, error);
}

E2eGuest *
e2e_guest_boot_on(virConnectPtr conn, const char *uri, const E2eTopology *topo, GError **error)
{
    g_autoptr(E2eGuest) g = e2e_guest_define_on(conn, uri, topo, error);

    if (!g || !e2e_guest_start(g, error))
        return NULL;
    return g_steal_pointer(&g);
}

void
e2e_guest_free(E2eGuest *g)
{
    if (!g)
        return;
    if (live_guests)
        g_ptr_array_remove(live_guests, g);
    g_clear_object(&g->shell_conn);
    if (g->dom) {
        if (virDomainIsActive(g->dom) == 1)
            virDomainDestroy(g->dom);
        virDomainUndefineFlags(g->dom, VIR_DOMAIN_UNDEFINE_MANAGED_SAVE
                                           | VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA);
        virDomainFree(g->dom);
    }
    if (g->rbuf)
        g_string_free(g->rbuf, TRUE);
    g_free(g->name);
    g_free(g->rundir);
    g_free(g->uri);
    g_free(g->shell_sock);
    g_free(g->agent_socket);
    g_free(g);
}

/* The domain's XML for the destination: the same, but a shell socket of its
 * own (the source's QEMU still holds the old one while they overlap). */
static char *
migration_xml(E2eGuest *g, const char *shell_sock)
{
    char *x = virDomainGetXMLDesc(g->dom, VIR_DOMAIN_XML_MIGRATABLE);
    g_autofree char *old = g_strdup_printf("%s/%s'", g->rundir, g->shell_sock);
    g_autofree char *new = g_strdup_printf("%s/%s'", g->rundir, shell_sock);
    g_auto(GStrv) parts = x ? g_strsplit(x, old, -1) : NULL;

    free(x);
    return parts ? g_strjoinv(new, parts) : NULL;
}

gboolean
e2e_guest_migrate(E2eGuest *g, virConnectPtr dst, const char *dst_uri, const char *migrate_uri,
                  GError **error)
{
    g_autofree char *sock = g_strdup_printf("shell-%u.sock", ++g->seq);
    g_autofree char *xml = migration_xml(g, sock);
    virTypedParameterPtr params = NULL;
    int nparams = 0, maxparams = 0;
    virDomainPtr moved;

    virTypedParamsAddString(&params, &nparams, &maxparams, VIR_MIGRATE_PARAM_URI, migrate_uri);
    if (xml)
        virTypedParamsAddString(&params, &nparams, &maxparams, VIR_MIGRATE_PARAM_DEST_XML, xml);
    moved = virDomainMigrate3(g->dom, dst, params, nparams,
                              VIR_MIGRATE_LIVE | VIR_MIGRATE_PERSIST_DEST
                                  | VIR_MIGRATE_UNDEFINE_SOURCE);
    virTypedParamsFree(params, nparams);
    if (!moved) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot migrate %s to %s: %s", g->name,
                    dst_uri, virt_msg());
        return FALSE;
    }
    virDomainFree(g->dom);
    g->dom = moved;
    g->conn = dst;
    g_free(g->uri);
    g->uri = g_strdup(dst_uri);
    /* Its sockets are the other libvirtd's now, not files we can open. */
    g_clear_pointer(&g->agent_socket, g_free);
    g_clear_object(&g->shell_conn);
    g->shell = NULL;
    g_string_truncate(g->rbuf, 0);
    g_free(g->shell_sock);
    g->shell_sock = g_steal_pointer(&sock);
    return TRUE;
}
