/* test_stockhost.c: hotcpu on a stock Debian 12 host (issue 17): Debian
 * 12's own libvirtd 9.0 and QEMU 7.2, not the backports the other e2e
 * programs use (stockhost.h), with the e2e suite's busybox guest.
 *
 * hotcpu-ctl runs inside the stock host against its libvirt0 9.0 and
 * qemu:///system, the shipped and the recording hooks with it:
 *
 *   versions        the daemon says libvirt 9.0 and QEMU 7.2
 *   prepare         a shut-off domain made hot-plug ready; again: ready
 *   plug            2 -> 4, hooks, the guest confirms
 *   unplug          4 -> 2 under TCG: libvirt 9.0 times out and keeps a
 *                   stale count (QEMU removed vCPU 3, no DEVICE_DELETED for
 *                   it); set ends at once after, exit 6, says so and
 *                   records libvirt's count and the guest's truthfully, or
 *                   (should QEMU confirm) converges; a second set is not
 *                   "nothing changed"
 *   restart         libvirtd restarted, as set advises: its count is right
 *
 * A second guest, whose vCPUs were never unplugged (QEMU 7.2 under TCG
 * crashed when vCPU 3 was plugged again after that unplug and the
 * restart):
 *
 *   remote          hotcpu-ctl of this machine through the daemon's socket
 *                   (remote driver, libvirt 11.3 client to 9.0): topology
 *                   through the channel stream, a plug confirmed
 *   qemu-ga         hotcpu-agent stopped, qemu-ga started: a plug done and
 *                   confirmed through libvirt 9.0's guest vCPU calls
 *
 * The plug and unplug times are printed for the README's support table.
 * Missing root, mmdebstrap, libvirt, the kernel: FAILED with the reason. */
#include <string.h>

#include "checks.h"
#include "cunit_runner.h"
#include "stockhost.h"

#define UNPLUG_TIMEOUT_S 60

static char *env_error;
static char *setup_error;
static E2eStockHost *stock;
static E2eGuest *guest;
static E2eGuest *guest2; /* never unplugged: remote, qemu-ga */
static char *guest2_error;
static char *host_ctl; /* this machine's hotcpu-ctl (e2e.ctl runs it inside) */

static int
suite_init(void)
{
    g_autoptr(GError) error = NULL;
    const char *script = g_getenv("HOTCPU_STOCKHOST_SCRIPT");
    /* 8 sockets: room under QEMU's TCG limit on vCPU thread starts */
    E2eTopology t = { .sockets = 8,
                      .cores = 1,
                      .threads = 1,
                      .current = 2,
                      .maximum = 8,
                      .osinfo = TRUE,
                      .qga_port = TRUE };
    double t0 = e2e_now();

    if (env_error)
        return 0;
    if (!script) {
        setup_error = g_strdup("HOTCPU_STOCKHOST_SCRIPT is not set (meson sets it)");
        return 0;
    }
    if (!(stock = e2e_stockhost_start(script, e2e.rundir, e2e.ctl, &error))) {
        setup_error = g_strdup(error->message);
        return 0;
    }
    g_printerr("  stock host: libvirt %lu.%lu.%lu, QEMU %lu.%lu.%lu, up in %.1f s\n",
               stock->libvirt_version / 1000000, stock->libvirt_version / 1000 % 1000,
               stock->libvirt_version % 1000, stock->qemu_version / 1000000,
               stock->qemu_version / 1000 % 1000, stock->qemu_version % 1000, e2e_now() - t0);
    host_ctl = e2e.ctl;
    e2e.ctl = stock->ctl_wrapper;
    if (!(guest = e2e_guest_boot_on(stock->conn, NULL, &t, &error))) {
        setup_error = g_strdup(error->message);
        return 0;
    }
    g_printerr("  guest %s booted on the stock host in %.1f s\n", guest->name, guest->boot_seconds);
    return 0;
}

static void
free_all(void)
{
    g_clear_pointer(&guest2, e2e_guest_free);
    g_clear_pointer(&guest, e2e_guest_free);
    g_clear_pointer(&stock, e2e_stockhost_stop);
    if (host_ctl) {
        e2e.ctl = host_ctl;
        host_ctl = NULL;
    }
}

static int
suite_clean(void)
{
    free_all();
    return 0;
}

#define NEED_STOCK()                                                                               \
    do {                                                                                           \
        CHECK_FATAL(env_error == NULL, "e2e environment unusable: %s", env_error);                 \
        CHECK_FATAL(stock != NULL, "no stock host: %s", setup_error ? setup_error : "?");          \
    } while (0)
#define NEED_GUEST()                                                                               \
    do {                                                                                           \
        NEED_STOCK();                                                                              \
        CHECK_FATAL(guest != NULL, "no guest: %s", setup_error ? setup_error : "?");               \
    } while (0)

static JsonObject *
json_object_of(const char *text)
{
    g_autoptr(JsonNode) n = e2e_parse_json(text);

    return n && JSON_NODE_HOLDS_OBJECT(n) ? json_object_ref(json_node_get_object(n)) : NULL;
}

static const char *
str_member(JsonObject *o, const char *key)
{
    JsonNode *n = o ? json_object_get_member(o, key) : NULL;

    return n && JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_STRING
               ? json_node_get_string(n)
               : "";
}

static gint64
int_member(JsonObject *o, const char *key)
{
    JsonNode *n = o ? json_object_get_member(o, key) : NULL;

    return n && JSON_NODE_HOLDS_VALUE(n) ? json_node_get_int(n) : -1;
}

static void
test_versions(void)
{
    g_autofree char *lib = NULL;

    NEED_STOCK();
    CHECK(stock->libvirt_version / 1000 == 9000, "the stock host's libvirtd is %lu, not 9.0",
          stock->libvirt_version);
    CHECK(stock->qemu_version / 1000 == 7002, "the stock host's QEMU is %lu, not 7.2",
          stock->qemu_version);
    /* hotcpu-ctl inside links the root's libvirt0 */
    lib = g_build_filename(stock->root, "usr/lib/x86_64-linux-gnu/libvirt.so.0.9000.0", NULL);
    CHECK(g_file_test(lib, G_FILE_TEST_EXISTS), "the root has no libvirt.so 9.0 (%s)", lib);
    {
        g_autoptr(E2eRun) r = e2e_ctlv("--version", NULL);
        CHECK(r->status == 0, "hotcpu-ctl does not run against libvirt 9.0: exit %d: %s%s",
              r->status, r->out, r->err);
    }
}

/* A domain as libvirt defines it by default, shut off: prepare makes it
 * hot-plug ready (maximum 4, vCPU 1 up hot-pluggable, the channel) through
 * libvirt 9.0; a second prepare finds it ready. */
static void
test_prepare(void)
{
    E2eTopology t = { .sockets = 2,
                      .cores = 1,
                      .threads = 1,
                      .current = 2,
                      .maximum = 2,
                      .boot_default = TRUE,
                      .no_channel = TRUE };
    g_autoptr(GError) error = NULL;
    g_autoptr(E2eGuest) vm = NULL;
    g_autoptr(E2eRun) first = NULL;
    g_autoptr(E2eRun) again = NULL;
    g_autoptr(JsonObject) o = NULL;
    int max;

    NEED_STOCK();
    vm = e2e_guest_define_on(stock->conn, NULL, &t, &error);
    CHECK_FATAL(vm != NULL, "cannot define a domain on the stock host: %s",
                error ? error->message : "?");
    first = e2e_ctlv("prepare", vm->name, "--max", "4", NULL);
    g_printerr("    prepare --max 4: exit %d in %.2f s\n%s", first->status, first->seconds,
               first->out);
    CHECK(first->status == 0, "prepare exited %d: %s%s", first->status, first->out, first->err);
    CHECK(strstr(first->out, "maximum vCPUs: 2 -> 4") != NULL, "prepare did not say: %s",
          first->out);
    max = virDomainGetVcpusFlags(vm->dom, VIR_DOMAIN_AFFECT_CONFIG | VIR_DOMAIN_VCPU_MAXIMUM);
    CHECK(max == 4, "the persistent maximum is %d, not 4", max);
    again = e2e_ctlv("--json", "prepare", vm->name, "--max", "4", NULL);
    o = json_object_of(again->out);
    CHECK(again->status == 0 && o && json_object_get_boolean_member_with_default(o, "ready", FALSE),
          "a second prepare (exit %d) does not say ready: %s%s", again->status, again->out,
          again->err);
}

static double plug_seconds = -1, unplug_seconds = -1;

/* 2 -> 4: the before and after hooks (shipped and recording) run inside
 * the stock host, and the guest confirms. */
static void
test_plug(void)
{
    g_autoptr(E2eRun) r = NULL;
    g_autofree char *log = NULL;

    NEED_GUEST();
    r = e2e_check_set(guest, 4, 0);
    plug_seconds = r->seconds;
    CHECK(strstr(r->out, "\"guest\":\"confirmed\"") != NULL, "plug not confirmed: %s", r->out);
    CHECK(strstr(r->out, "has 4 CPUs online in the guest") != NULL,
          "the shipped after hook did not reach the agent: %s", r->out);
    g_file_get_contents(e2e.hook_log, &log, NULL, NULL);
    CHECK(log && strstr(log, "numberOfCpus=4 previousNumberOfCpus=2")
              && strstr(log, "LIBVIRT_DEFAULT_URI=qemu:///system"),
          "the recording hooks did not run with the change's environment: %s", log);
    e2e_check_all_agree(guest, 4, 3000, "after the plug on libvirt 9.0");
}

/* 4 -> 2 under TCG.  The result must be what happened: confirmed, or exit
 * 6 quickly with libvirt's count and the guest's, the stale count named. */
static void
test_unplug(void)
{
    g_autofree char *timeout = g_strdup_printf("%d", UNPLUG_TIMEOUT_S);
    g_autoptr(E2eRun) r = NULL;
    g_autoptr(E2eRun) second = NULL;
    g_autoptr(JsonObject) o = NULL;
    int libvirt_now, present, online;

    NEED_GUEST();
    r = e2e_ctlv("--json", "set", guest->name, "2", "--timeout", timeout, NULL);
    unplug_seconds = r->seconds;
    o = json_object_of(r->out);
    libvirt_now = e2e_libvirt_vcpus(guest, TRUE);
    present = e2e_guest_present(guest);
    online = e2e_guest_online(guest);
    g_printerr("    set 4 -> 2: exit %d in %.2f s; libvirt now says %d, the guest has %d present, "
               "%d online\n",
               r->status, r->seconds, libvirt_now, present, online);
    CHECK(e2e_clean_exit(r), "set had a crash or critical: %s", r->err);
    if (r->status == 0) {
        CHECK(g_strcmp0(str_member(o, "guest"), "confirmed") == 0, "exit 0 unconfirmed: %s",
              r->out);
        e2e_check_all_agree(guest, 2, 5000, "after the unplug on libvirt 9.0");
        return;
    }
    CHECK_FATAL(r->status == 6, "set 2 exited %d, neither 0 nor 6: %s%s", r->status, r->out,
                r->err);
    /* no spinning to the deadline: libvirt's 5 s, then two quick retries */
    CHECK(r->seconds < UNPLUG_TIMEOUT_S / 2, "set 2 took %.1f s of its %d s timeout", r->seconds,
          UNPLUG_TIMEOUT_S);
    CHECK(int_member(o, "actual") == libvirt_now,
          "the record says actual %" G_GINT64_FORMAT ", libvirt says %d: %s",
          int_member(o, "actual"), libvirt_now, r->out);
    CHECK(int_member(o, "guest-present") == present,
          "the record says the guest has %" G_GINT64_FORMAT " present, it has %d: %s",
          int_member(o, "guest-present"), present, r->out);
    CHECK(online == 2, "the guest has %d CPUs online, not 2", online);
    if (present < libvirt_now) {
        CHECK(strstr(str_member(o, "error"), "libvirt keeps a stale count") != NULL
                  && strstr(str_member(o, "error"), "restart libvirtd") != NULL,
              "set does not say libvirt's count is stale: %s", r->out);
        CHECK(strstr(r->out, "\"libvirt-count-stale\":true") != NULL,
              "the record does not mark the stale count: %s", r->out);
    }
    CHECK(strstr(r->out, "nothing changed") == NULL, "'nothing changed' after a change: %s",
          r->out);

    /* the next set in that state: the same, never 5 "nothing changed" */
    second = e2e_ctlv("set", guest->name, "2", "--timeout", timeout, NULL);
    g_printerr("    set 2 again: exit %d in %.2f s\n", second->status, second->seconds);
    CHECK(second->status == 6 || second->status == 0, "a second set 2 exited %d: %s%s",
          second->status, second->out, second->err);
    CHECK(strstr(second->err, "nothing changed") == NULL, "a second set 2 says: %s", second->err);
    if (present < libvirt_now)
        CHECK(strstr(second->err, "libvirt keeps a stale count") != NULL,
              "a second set 2 does not name the stale count: %s", second->err);
}

/* What set advises: libvirtd restarted re-reads QEMU's vCPUs. */
static void
test_restart_corrects_count(void)
{
    g_autoptr(GError) error = NULL;
    int libvirt_now, present;

    NEED_GUEST();
    CHECK_FATAL(e2e_stockhost_restart_libvirtd(stock, &error), "%s", error ? error->message : "?");
    CHECK_FATAL(e2e_guest_reattach(guest, stock->conn), "the guest is gone after the restart");
    /* libvirtd reconnects to its QEMUs in a thread of its own, after it
     * answers: the count is refreshed a moment later */
    present = e2e_guest_present(guest);
    for (int i = 0; i < 100 && (libvirt_now = e2e_libvirt_vcpus(guest, TRUE)) != present; i++)
        g_usleep(100 * 1000);
    g_printerr("    after the libvirtd restart: libvirt says %d vCPUs, the guest has %d present\n",
               libvirt_now, present);
    CHECK(libvirt_now == present, "libvirt says %d vCPUs after the restart, the guest has %d",
          libvirt_now, present);
}

/* The second guest, booted on first use: 2 of 8 vCPUs, hotcpu-agent and
 * the qemu-ga port. */
static E2eGuest *
second_guest(void)
{
    g_autoptr(GError) error = NULL;
    E2eTopology t = { .sockets = 8,
                      .cores = 1,
                      .threads = 1,
                      .current = 2,
                      .maximum = 8,
                      .osinfo = TRUE,
                      .qga_port = TRUE };

    if (guest2 || guest2_error)
        return guest2;
    if (!(guest2 = e2e_guest_boot_on(stock->conn, NULL, &t, &error)))
        guest2_error = g_strdup(error->message);
    else
        g_printerr("    second guest %s booted in %.1f s\n", guest2->name, guest2->boot_seconds);
    return guest2;
}

/* QEMU's log and the guest's console after a failed change. */
static void
print_logs(E2eGuest *g)
{
    g_autofree char *log = e2e_stockhost_qemu_log(stock, g->name, 1500);
    g_autofree char *console = e2e_guest_console_tail(g, 1500);

    g_printerr("    QEMU's log (end):\n%s\n    the guest's console (end):\n%s\n", log, console);
}

/* This machine's hotcpu-ctl through the stock daemon's socket: the agent
 * through libvirt's channel stream, a plug confirmed. */
static void
test_remote(void)
{
    g_autoptr(E2eRun) topo = NULL;
    g_autoptr(E2eRun) plug = NULL;
    E2eGuest *g;

    NEED_STOCK();
    g = second_guest();
    CHECK_FATAL(g != NULL, "no second guest: %s", guest2_error ? guest2_error : "?");
    e2e.ctl = host_ctl;
    topo = e2e_ctlv("--connect", stock->uri, "--verbose", "topology", g->name, NULL);
    CHECK(topo->status == 0, "topology over %s exited %d: %s", stock->uri, topo->status, topo->err);
    CHECK(strstr(topo->err, "through libvirt's channel stream") != NULL,
          "--verbose does not say the channel stream was used: %s", topo->err);
    plug = e2e_ctlv("--connect", stock->uri, "--json", "set", g->name, "3", NULL);
    e2e.ctl = stock->ctl_wrapper;
    g_printerr("    remote set 2 -> 3: exit %d in %.2f s\n", plug->status, plug->seconds);
    if (plug->status != 0)
        print_logs(g);
    CHECK(plug->status == 0 && strstr(plug->out, "\"guest\":\"confirmed\""),
          "remote set 3 exited %d: %s%s", plug->status, plug->out, plug->err);
    CHECK(e2e_guest_online(g) == 3, "the guest has %d CPUs online, not 3", e2e_guest_online(g));
}

/* qemu-ga instead of hotcpu-agent: a plug through libvirt 9.0's
 * virDomainSetGuestVcpus, confirmed by qemu-ga. */
static void
test_qemu_ga(void)
{
    g_autoptr(E2eRun) r = NULL;
    g_autoptr(JsonObject) o = NULL;
    g_autofree char *count = NULL;
    double until = e2e_now() + 20;
    E2eGuest *g;
    int before;

    NEED_STOCK();
    g = second_guest();
    CHECK_FATAL(g != NULL, "no second guest: %s", guest2_error ? guest2_error : "?");
    CHECK_FATAL(e2e.qemu_ga != NULL, "no qemu-ga in the guest image (scripts/fetch-qemu-ga)");
    CHECK_FATAL(e2e_guest_agent_stop(g), "cannot stop hotcpu-agent in the guest");
    CHECK_FATAL(e2e_guest_sh(g, 10000, NULL, NULL,
                             "mklinks; mkdir -p /run/qga; qemu-ga -m virtio-serial -p "
                             "/dev/virtio-ports/" E2E_QGA_PORT
                             " -t /run/qga </dev/null >/run/qga.log 2>&1 &")
                    == 0,
                "cannot start qemu-ga in the guest");
    do {
        g_autoptr(E2eRun) t
            = e2e_ctlv("--guest-agent", "qemu-ga", "--json", "topology", g->name, NULL);
        if (t->status == 0)
            break;
        g_usleep(300 * 1000);
    } while (e2e_now() < until);
    before = e2e_libvirt_vcpus(g, TRUE);
    count = g_strdup_printf("%d", before + 1);
    r = e2e_ctlv("--json", "set", g->name, count, NULL);
    o = json_object_of(r->out);
    g_printerr("    set %d -> %s through qemu-ga: exit %d in %.2f s\n", before, count, r->status,
               r->seconds);
    if (r->status != 0)
        print_logs(g);
    CHECK(r->status == 0, "set %s exited %d: %s%s", count, r->status, r->out, r->err);
    CHECK(g_strcmp0(str_member(o, "guest-agent"), "qemu-ga") == 0
              && g_strcmp0(str_member(o, "guest"), "confirmed") == 0,
          "not confirmed by qemu-ga: %s", r->out);
    CHECK(e2e_guest_online(g) == before + 1, "the guest has %d CPUs online, not %d",
          e2e_guest_online(g), before + 1);
}

static void
test_times(void)
{
    NEED_GUEST();
    g_printerr("    stock Debian 12 (libvirt 9.0, QEMU 7.2, TCG): plug 2 -> 4 %.2f s, "
               "unplug 4 -> 2 %.2f s\n",
               plug_seconds, unplug_seconds);
    CHECK(plug_seconds >= 0 && unplug_seconds >= 0, "plug or unplug did not run");
}

static void
test_environment(void)
{
    CHECK_FATAL(env_error == NULL, "e2e environment unusable: %s", env_error);
    CHECK(e2e.ctl != NULL, "hotcpu-ctl is not built (HOTCPU_CTL)");
}

static void
register_stockhost_suite(void)
{
    static const CunitTest tests[] = {
        { "environment", test_environment },
        { "versions", test_versions },
        { "prepare", test_prepare },
        { "plug", test_plug },
        { "unplug", test_unplug },
        { "restart-corrects-count", test_restart_corrects_count },
        { "remote", test_remote },
        { "qemu-ga", test_qemu_ga },
        { "times", test_times },
        { NULL, NULL },
    };

    cunit_add_suite_full("stockhost", suite_init, suite_clean, NULL, NULL, tests);
}

static const CunitSuite suites[] = {
    { "stockhost", register_stockhost_suite },
    { NULL, NULL },
};

int
main(int argc, char **argv)
{
    return e2e_run_program(argc, argv, "e2e-stockhost", suites, &env_error, free_all);
}
