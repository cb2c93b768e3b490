/* test_faults.c: faults in the middle of a change, on a real guest (issue
 * 14): the agent killed during set-num-cpus, the domain destroyed during a
 * slow before hook, QEMU killed during a converging unplug.  (libvirtd
 * restarting while set waits is in test_remote.c, on the second libvirtd,
 * which the test may kill without disturbing anything else.)
 *
 * For each: the exit code, the sentence, the audit record, and that a
 * following `hotcpu-ctl get` agrees with libvirt and the guest; nothing
 * anywhere says "-1".
 */
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "checks.h"
#include "cunit_runner.h"

static char *env_error;
static E2eGuest *guest;
static char *boot_error;
static char *slow_flag, *slow_running;

#define NEED_GUEST()                                                                               \
    do {                                                                                           \
        CHECK_FATAL(env_error == NULL, "e2e environment unusable: %s", env_error);                 \
        CHECK_FATAL(guest != NULL, "the guest did not boot: %s", boot_error ? boot_error : "?");   \
    } while (0)

/* A before hook that sleeps 4 s while RUNDIR/slow-before exists. */
static void
install_slow_hook(void)
{
    g_autofree char *path
        = g_build_filename(e2e.hooks_dir, "before_set_num_of_cpus", "70_e2e_slow", NULL);
    g_autofree char *text = NULL;

    slow_flag = g_build_filename(e2e.rundir, "slow-before", NULL);
    slow_running = g_build_filename(e2e.rundir, "slow-before.running", NULL);
    text = g_strdup_printf("#!/bin/sh\n[ -e '%s' ] || exit 0\ntouch '%s'\nsleep 4\nexit 0\n",
                           slow_flag, slow_running);
    g_file_set_contents(path, text, -1, NULL);
    chmod(path, 0755);
}

static int
suite_init(void)
{
    g_autoptr(GError) error = NULL;
    E2eTopology t
        = { .sockets = 16, .cores = 1, .threads = 1, .current = 6, .maximum = 16, .osinfo = TRUE };

    if (env_error)
        return 0;
    install_slow_hook();
    if (!(guest = e2e_guest_boot(&t, &error)))
        boot_error = g_strdup(error->message);
    else
        g_printerr("  guest %s booted in %.1f s\n", guest->name, guest->boot_seconds);
    return 0;
}

static int
suite_clean(void)
{
    g_clear_pointer(&guest, e2e_guest_free);
    return 0;
}

static gboolean
wait_for(const char *what, gboolean (*cond)(void), guint timeout_ms)
{
    double until = e2e_now() + timeout_ms / 1000.0;

    while (!cond()) {
        if (e2e_now() > until) {
            g_printerr("    gave up waiting for %s\n", what);
            return FALSE;
        }
        g_usleep(50 * 1000);
    }
    return TRUE;
}

static gboolean
guest_offlining(void)
{
    int online = e2e_guest_online(guest);
    return online >= 0 && online < 6;
}

/* What the guest said while we waited for it to offline: a guest kernel
 * or agent that hangs shows here (the run folder is gone after CI). */
static void
show_guest_state(void)
{
    g_autofree char *console = e2e_guest_console_tail(guest, 3000);
    g_autofree char *agent_log = NULL;

    e2e_guest_sh(guest, 5000, &agent_log, NULL,
                 "tail -n 20 /run/agent.log; "
                 "cat /sys/devices/system/cpu/online");
    g_printerr("    the guest's console ends with:\n%s\n    its agent log and online CPUs:\n%s\n",
               console, agent_log ? agent_log : "(the guest's shell does not answer)");
}

static gboolean
slow_hook_runs(void)
{
    return g_file_test(slow_running, G_FILE_TEST_EXISTS);
}

/* The last audit record of the guest: its outcome and whether actual is
 * null. */
static void
check_record(const char *outcome, gboolean actual_null)
{
    g_autoptr(JsonNode) rec = e2e_last_audit(guest->name);
    JsonObject *o = rec && JSON_NODE_HOLDS_OBJECT(rec) ? json_node_get_object(rec) : NULL;

    CHECK_FATAL(o != NULL, "no audit record for %s", guest->name);
    CHECK(g_strcmp0(json_object_get_string_member_with_default(o, "outcome", ""), outcome) == 0,
          "the audit record's outcome is %s, not %s",
          json_object_get_string_member_with_default(o, "outcome", "?"), outcome);
    if (actual_null)
        CHECK(json_object_get_null_member(o, "actual"), "the audit record's actual is not null");
}

/* The domain no longer runs, and get says so with exit 0. */
static void
check_stopped(const char *when)
{
    g_autoptr(E2eRun) get = e2e_ctl_on(guest, "--json", "get", guest->name, NULL);

    CHECK(virDomainIsActive(guest->dom) == 0, "%s: libvirt says the domain still runs", when);
    CHECK(get->status == 0 && strstr(get->out, "\"running\":false"), "%s: get exited %d: %s%s",
          when, get->status, get->out, get->err);
}

/* The agent is killed in the guest while the shipped before hook has it
 * offline CPUs: the hook asks the agent's new instance, the unplug goes on
 * and the guest confirms. */
static void
test_agent_killed_during_set_num_cpus(void)
{
    const char *argv[] = { "--json", "set", NULL, "2", NULL };
    g_autoptr(GSubprocess) p = NULL;
    g_autoptr(E2eRun) r = NULL;
    double t0 = e2e_now();

    NEED_GUEST();
    argv[2] = guest->name;
    p = e2e_ctl_spawn(argv, NULL);
    CHECK_FATAL(p != NULL, "cannot start hotcpu-ctl");
    CHECK(wait_for("the guest to start offlining", guest_offlining, 15000),
          "the guest never started offlining");
    CHECK(e2e_guest_sh(guest, 5000, NULL, NULL, "kill -9 $(pidof hotcpu-agent)") == 0,
          "cannot kill the agent in the guest");
    r = e2e_ctl_finish(g_steal_pointer(&p), t0);
    g_printerr("    set 2 with the agent killed mid-way: exit %d in %.1f s\n", r->status,
               r->seconds);
    CHECK(r->status == 0 && strstr(r->out, "\"guest\":\"confirmed\""), "set exited %d: %s%s",
          r->status, r->out, r->err);
    CHECK(!strstr(r->out, "-1 vCPUs") && !strstr(r->out, "\"actual\":-1"), "a -1: %s", r->out);
    check_record("done", FALSE);
    e2e_check_all_agree(guest, 2, 5000, "after the agent was killed during set-num-cpus");
}

/* The domain is destroyed while a before hook sleeps: no further calls into
 * it, the after hooks run with HOTCPU_OUTCOME, exit 6. */
static void
test_destroyed_during_before_hook(void)
{
    const char *argv[] = { "--json", "set", NULL, "4", NULL };
    g_autoptr(GSubprocess) p = NULL;
    g_autoptr(E2eRun) r = NULL;
    g_autofree char *hooks = NULL;
    double t0 = e2e_now();

    NEED_GUEST();
    argv[2] = guest->name;
    g_file_set_contents(slow_flag, "", -1, NULL);
    p = e2e_ctl_spawn(argv, NULL);
    CHECK(wait_for("the slow before hook", slow_hook_runs, 15000), "the slow hook never ran");
    CHECK(virDomainDestroy(guest->dom) == 0, "cannot destroy the domain");
    r = e2e_ctl_finish(g_steal_pointer(&p), t0);
    g_unlink(slow_flag);
    g_unlink(slow_running);
    CHECK(r->status == 6, "set exited %d, not 6: %s%s", r->status, r->out, r->err);
    CHECK(strstr(r->out, "stopped running while the before hooks ran") != NULL,
          "not the sentence: %s", r->out);
    CHECK(strstr(r->out, "\"actual\":null") != NULL && !strstr(r->out, "-1 vCPUs"),
          "--json does not say the count is unknown: %s", r->out);
    g_file_get_contents(e2e.hook_log, &hooks, NULL, NULL);
    CHECK(hooks && strstr(hooks, "HOTCPU_OUTCOME=domain-stopped") != NULL,
          "the after hooks did not get HOTCPU_OUTCOME=domain-stopped: %s", hooks);
    check_record("domain-stopped", TRUE);
    check_stopped("after the destroy");
}

/* QEMU is killed while libvirt waits for an unplug (5 s under TCG). */
static void
test_qemu_killed_during_unplug(void)
{
    const char *argv[] = { "--json", "set", NULL, "2", NULL };
    g_autoptr(GError) error = NULL;
    g_autoptr(GSubprocess) p = NULL;
    g_autoptr(E2eRun) r = NULL;
    double t0;
    pid_t qemu;

    NEED_GUEST();
    CHECK_FATAL(e2e_guest_start(guest, &error), "cannot start the guest again: %s", error->message);
    argv[2] = guest->name;
    t0 = e2e_now();
    p = e2e_ctl_spawn(argv, NULL);
    if (!wait_for("the guest to start offlining", guest_offlining, 15000)) {
        show_guest_state();
        CHECK(FALSE, "the guest never started offlining");
    }
    g_usleep(1500 * 1000); /* libvirt is now waiting for DEVICE_DELETED */
    qemu = e2e_guest_qemu_pid(guest);
    CHECK_FATAL(qemu > 0 && kill(qemu, SIGKILL) == 0, "cannot kill QEMU (pid %d)", (int)qemu);
    r = e2e_ctl_finish(g_steal_pointer(&p), t0);
    g_printerr("    set 2 with QEMU killed mid-way: exit %d in %.1f s\n", r->status, r->seconds);
    CHECK(r->status == 6, "set exited %d, not 6: %s%s", r->status, r->out, r->err);
    CHECK(strstr(r->out, "stopped running") != NULL, "not the sentence: %s", r->out);
    CHECK(strstr(r->out, "\"actual\":null") && !strstr(r->out, "-1 vCPUs"), "a -1: %s", r->out);
    check_record("domain-stopped", TRUE);
    check_stopped("after QEMU was killed");
}

static void
test_environment(void)
{
    CHECK_FATAL(env_error == NULL, "e2e environment unusable: %s", env_error);
}

static void
register_faults_suite(void)
{
    static const CunitTest tests[] = {
        { "environment", test_environment },
        { "agent-killed-during-set-num-cpus", test_agent_killed_during_set_num_cpus },
        { "destroyed-during-before-hook", test_destroyed_during_before_hook },
        { "qemu-killed-during-unplug", test_qemu_killed_during_unplug },
        { NULL, NULL },
    };

    cunit_add_suite_full("faults", suite_init, suite_clean, NULL, NULL, tests);
}

static const CunitSuite suites[] = {
    { "faults", register_faults_suite },
    { NULL, NULL },
};

static void
free_guests(void)
{
    g_clear_pointer(&guest, e2e_guest_free);
}

int
main(int argc, char **argv)
{
    return e2e_run_program(argc, argv, "e2e-faults", suites, &env_error, free_guests);
}
