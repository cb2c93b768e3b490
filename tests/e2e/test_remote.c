/* test_remote.c: hotcpu-ctl against another hypervisor host, and a live
 * migration of a hot-plugged guest, end to end.
 *
 * A second libvirtd runs on this machine in a mount namespace of its own
 * and listens on TCP (libvirtd2.h): its channel sockets are not files we
 * can open, as on a remote host.  One guest boots on the local libvirtd, is
 * plugged there, migrates live to the second one, and is then driven
 * through qemu+tcp:// only: every guest-side step must go through libvirt
 * (virDomainOpenChannel), for hotcpu-ctl and for the shipped hooks alike.
 *
 * Last, libvirtd (the second one) is killed and started again while `set`
 * waits for an unplug (issue 14).
 *
 * Under TCG a live migration after a vCPU unplug hangs (as a live dump
 * does; tests/e2e/README.md): the guest migrates after plugs only.
 */
#include <string.h>

#include "checks.h"
#include "cunit_runner.h"
#include "libvirtd2.h"

static char *env_error;
static E2eLibvirtd *remote;
static E2eGuest *guest;
static char *setup_error;

static int
suite_init(void)
{
    g_autoptr(GError) error = NULL;
    E2eTopology t
        = { .sockets = 16, .cores = 1, .threads = 1, .current = 1, .maximum = 16, .osinfo = TRUE };

    if (env_error)
        return 0;
    if (!(remote = e2e_libvirtd2_start(e2e.rundir, &error))
        || !(guest = e2e_guest_boot(&t, &error))) {
        setup_error = g_strdup(error->message);
        return 0;
    }
    g_printerr("  second libvirtd on %s; guest %s booted in %.1f s\n", remote->uri, guest->name,
               guest->boot_seconds);
    return 0;
}

static int
suite_clean(void)
{
    g_clear_pointer(&guest, e2e_guest_free);
    g_clear_pointer(&remote, e2e_libvirtd2_stop);
    return 0;
}

#define NEED_SETUP()                                                                               \
    do {                                                                                           \
        CHECK_FATAL(env_error == NULL, "e2e environment unusable: %s", env_error);                 \
        CHECK_FATAL(guest &&remote, "setup failed: %s", setup_error ? setup_error : "?");          \
    } while (0)

/* The hooks.log lines of the last change of the guest (one per hook). */
static char *
last_hook_lines(void)
{
    g_autofree char *log = NULL;
    g_auto(GStrv) lines = NULL;
    GString *out = g_string_new(NULL);
    guint n;

    g_file_get_contents(e2e.hook_log, &log, NULL, NULL);
    lines = g_strsplit(log ? log : "", "\n", -1);
    n = g_strv_length(lines);
    for (guint i = n > 3 ? n - 3 : 0; i < n; i++)
        g_string_append_printf(out, "%s\n", lines[i]);
    return g_string_free(out, FALSE);
}

/* Plugged to 3 here, the guest migrates live and keeps its CPUs online; the
 * destination reports the count. */
static void
test_migrate_after_plug(void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(E2eRun) plug = NULL;
    double t0;

    NEED_SETUP();
    plug = e2e_check_set(guest, 3, 0);
    CHECK(strstr(plug->out, "\"guest\":\"confirmed\"") != NULL, "plug not confirmed: %s",
          plug->out);
    t0 = e2e_now();
    CHECK_FATAL(e2e_guest_migrate(guest, remote->conn, remote->uri, remote->migrate_uri, &error),
                "%s", error ? error->message : "?");
    g_printerr("    live migration with 3 hot-plugged vCPUs took %.1f s\n", e2e_now() - t0);
    e2e_check_all_agree(guest, 3, 5000, "after the migration");
}

/* On the other host, by its URI only: topology, get, plug and unplug, each
 * confirmed by the guest, the shipped hooks reaching the agent too. */
static void
test_remote_commands(void)
{
    g_autoptr(E2eRun) verbose = NULL;
    g_autoptr(E2eRun) plug = NULL;
    g_autoptr(E2eRun) unplug = NULL;
    g_autofree char *hooks = NULL;

    NEED_SETUP();
    CHECK_FATAL(guest->uri != NULL, "the guest is not on the second libvirtd");
    verbose = e2e_ctl_on(guest, "--verbose", "topology", guest->name, NULL);
    CHECK(verbose->status == 0, "topology over %s exited %d: %s", guest->uri, verbose->status,
          verbose->err);
    CHECK(strstr(verbose->err, "through libvirt's channel stream") != NULL,
          "--verbose does not say the channel stream was used: %s", verbose->err);

    plug = e2e_check_set(guest, 4, 0);
    CHECK(strstr(plug->out, "\"guest\":\"confirmed\"") != NULL, "plug not confirmed: %s",
          plug->out);
    hooks = last_hook_lines();
    CHECK(strstr(hooks, "HOTCPU_AGENT_SOCKET= ") != NULL,
          "the hooks got a socket path of the other host: %s", hooks);
    CHECK(strstr(hooks, remote->uri) != NULL, "the hooks did not get LIBVIRT_DEFAULT_URI=%s: %s",
          remote->uri, hooks);
    CHECK(strstr(plug->out, "has 4 CPUs online in the guest") != NULL,
          "the shipped after hook did not reach the agent: %s", plug->out);
    e2e_check_all_agree(guest, 4, 3000, "after the plug on the other host");

    unplug = e2e_check_set(guest, 2, 0);
    CHECK(strstr(unplug->out, "\"guest\":\"confirmed\"") != NULL, "unplug not confirmed: %s",
          unplug->out);
    CHECK(strstr(unplug->out, "has 2 CPUs online in the guest") != NULL,
          "the shipped before hook did not offline through libvirt: %s", unplug->out);
    e2e_check_all_agree(guest, 2, 5000, "after the unplug on the other host");
}

static gboolean
below_four(void)
{
    int online = e2e_guest_online(guest);
    return online >= 0 && online < 4;
}

/* libvirtd restarts (killed, as a crash would) while set waits for an
 * unplug: hotcpu-ctl opens the connection again once, finishes the change
 * and says that libvirtd restarted. */
static void
test_libvirtd_restart_while_set_waits(void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GSubprocess) p = NULL;
    g_autoptr(E2eRun) plug = NULL;
    g_autoptr(E2eRun) r = NULL;
    const char *argv[] = { "--connect", NULL, "--json", "set", NULL, "2", NULL };
    double t0;

    NEED_SETUP();
    plug = e2e_check_set(guest, 4, 0);
    argv[1] = guest->uri;
    argv[4] = guest->name;
    t0 = e2e_now();
    p = e2e_ctl_spawn(argv, NULL);
    for (int i = 0; i < 300 && !below_four(); i++)
        g_usleep(50 * 1000);
    g_usleep(1500 * 1000); /* libvirt waits for the unplug now */
    CHECK_FATAL(e2e_libvirtd2_restart(remote, 0, &error), "cannot restart libvirtd: %s",
                error ? error->message : "?");
    CHECK_FATAL(e2e_guest_reattach(guest, remote->conn), "the guest is gone after the restart");
    r = e2e_ctl_finish(g_steal_pointer(&p), t0);
    g_printerr("    set 2 across a libvirtd restart: exit %d in %.1f s\n", r->status, r->seconds);
    CHECK(!r->invalid_utf8, "set's output is not valid UTF-8: %s%s", r->out, r->err);
    {
        /* The name came from the domain handle the reconnect replaced
         * (freed with it: garbage in the record, 1 run in 3). */
        g_autofree char *name = e2e_json_string(r->out, "domain");

        CHECK(g_strcmp0(name, guest->name) == 0, "set's record names domain '%s', not '%s'",
              name ? name : "(none)", guest->name);
    }
    CHECK(r->status == 0 && strstr(r->out, "\"guest\":\"confirmed\""), "set exited %d: %s%s",
          r->status, r->out, r->err);
    CHECK(strstr(r->err, "the connection to libvirtd broke") != NULL,
          "it does not say that libvirtd restarted: %s", r->err); /* warnings: stderr too */
    CHECK(strstr(r->out, "\"libvirtd-reconnected\":true") != NULL,
          "the record does not say it reconnected: %s", r->out);
    CHECK(!strstr(r->out, "-1 vCPUs") && !strstr(r->out, "\"actual\":-1"), "a -1: %s", r->out);
    e2e_check_all_agree(guest, 2, 5000, "after the libvirtd restart");
}

static void
test_environment(void)
{
    CHECK_FATAL(env_error == NULL, "e2e environment unusable: %s", env_error);
    CHECK(e2e.ctl != NULL, "hotcpu-ctl is not built (HOTCPU_CTL)");
}

static void
register_remote_suite(void)
{
    static const CunitTest tests[] = {
        { "environment", test_environment },
        { "migrate-after-plug", test_migrate_after_plug },
        { "remote-commands", test_remote_commands },
        { "libvirtd-restart-while-set-waits", test_libvirtd_restart_while_set_waits },
        { NULL, NULL },
    };

    cunit_add_suite_full("remote", suite_init, suite_clean, NULL, NULL, tests);
}

static const CunitSuite suites[] = {
    { "remote", register_remote_suite },
    { NULL, NULL },
};

static void
free_guests(void)
{
    g_clear_pointer(&guest, e2e_guest_free);
    g_clear_pointer(&remote, e2e_libvirtd2_stop);
}

int
main(int argc, char **argv)
{
    return e2e_run_program(argc, argv, "e2e-remote", suites, &env_error, free_guests);
}
