/* test_e2e_numa.c: a two-cell domain on a real guest (issue 21): prepare
 * from a maximum of 4 to 8 spreads the new vCPUs over the cells, the
 * domain starts, and a plug from 2 to 6 puts 3 vCPUs in each cell, which
 * the guest sees on its nodes; an unplug to 3 keeps both cells non-empty.
 * And a pinned domain whose plugged vCPUs get pins by rule. */
#include <string.h>
#include <unistd.h>

#include "checks.h"
#include "cunit_runner.h"

static char *env_error;
static E2eGuest *guest, *pinned;
static char *boot_error, *pinned_error;

static int
suite_init(void)
{
    g_autoptr(GError) error = NULL;
    E2eTopology t = { .sockets = 4,
                      .cores = 1,
                      .threads = 1,
                      .current = 2,
                      .maximum = 4,
                      .osinfo = TRUE,
                      .numa_cells = "0-1|2-3" };

    if (env_error)
        return 0;
    if (!(guest = e2e_guest_define(&t, &error)))
        boot_error = g_strdup(error->message);
    return 0;
}

static int
suite_clean(void)
{
    g_clear_pointer(&guest, e2e_guest_free);
    return 0;
}

/* The guest's node @node lists @want (its CPUs, as the kernel prints
 * them), within a few seconds. */
static void
check_node(E2eGuest *g, guint node, const char *want, const char *when)
{
    g_autofree char *path = g_strdup_printf("/sys/devices/system/node/node%u/cpulist", node);
    g_autofree char *got = NULL;

    for (int i = 0; i < 50; i++) {
        g_free(got);
        got = e2e_guest_read(g, path);
        if (g_strcmp0(got, want) == 0)
            break;
        g_usleep(100 * 1000);
    }
    g_printerr("    guest node %u: %s (%s)\n", node, got ? got : "?", when);
    CHECK(g_strcmp0(got, want) == 0, "guest node %u has CPUs '%s', not '%s' %s", node,
          got ? got : "?", want, when);
}

static void
set_confirmed(E2eGuest *g, guint n, const char *timeout)
{
    g_autofree char *s = g_strdup_printf("%u", n);
    g_autoptr(E2eRun) r = e2e_ctlv("--json", "set", g->name, s, "--timeout", timeout, NULL);
    g_autofree char *said = e2e_json_string(r->out, "guest");

    g_printerr("    set %u: exit %d in %.2f s, guest %s\n", n, r->status, r->seconds, said);
    CHECK(r->status == 0 && g_strcmp0(said, "confirmed") == 0, "set %u: exit %d: %s%s", n,
          r->status, r->out, r->err);
}

/* set @n --node @node: confirmed, and the vCPUs it changed are @ids. */
static void
set_node(E2eGuest *g, guint n, const char *node, const char *ids)
{
    g_autofree char *s = g_strdup_printf("%u", n);
    g_autoptr(E2eRun) r
        = e2e_ctlv("--json", "set", g->name, s, "--node", node, "--timeout", "90", NULL);
    g_autofree char *said = e2e_json_string(r->out, "guest");
    g_autofree char *changed = e2e_json_string(r->out, "node-vcpus");

    g_printerr("    set %u --node %s: exit %d in %.2f s, vCPUs %s, guest %s\n", n, node, r->status,
               r->seconds, changed, said);
    CHECK(r->status == 0 && g_strcmp0(said, "confirmed") == 0 && g_strcmp0(changed, ids) == 0,
          "set %u --node %s: exit %d, vCPUs '%s' (not %s): %s%s", n, node, r->status, changed, ids,
          r->out, r->err);
}

static void
test_two_cells(void)
{
    E2eGuest *g = guest;
    g_autoptr(GError) error = NULL;

    CHECK_FATAL(env_error == NULL, "e2e environment unusable: %s", env_error);
    CHECK_FATAL(g != NULL, "the guest was not defined: %s", boot_error ? boot_error : "?");
    {
        g_autoptr(E2eRun) p = e2e_ctlv("prepare", g->name, "--max", "7", NULL);

        CHECK(p->status == 3 && strstr(p->err, "cannot spread 3 new vCPUs") != NULL,
              "prepare --max 7 on two cells: exit %d: %s%s", p->status, p->out, p->err);
    }
    {
        g_autoptr(E2eRun) p = e2e_ctlv("prepare", g->name, "--max", "8", NULL);

        g_printerr("    prepare --max 8: exit %d in %.2f s\n%s", p->status, p->seconds, p->out);
        CHECK_FATAL(p->status == 0, "prepare exited %d: %s", p->status, p->err);
        CHECK(strstr(p->out, "  NUMA cells' vCPUs: cell 0: 0-1; cell 1: 2-3 -> cell 0: 0-1,4,6; "
                             "cell 1: 2-3,5,7\n")
                  != NULL,
              "prepare did not print the cells' mapping: %s", p->out);
    }
    CHECK_FATAL(e2e_guest_start(g, &error), "the prepared guest did not start: %s",
                error ? error->message : "?");
    g_printerr("  guest %s started in %.1f s\n", g->name, g->boot_seconds);
    e2e_check_all_agree(g, 2, 5000, "after the start");
    check_node(g, 0, "0-1", "after the start");
    /* libvirt enables the next vCPUs in id order: 2, 3 (cell 1), 4 (cell
     * 0), 5 (cell 1): three in each */
    set_confirmed(g, 6, "60");
    e2e_check_all_agree(g, 6, 5000, "after set 6");
    check_node(g, 0, "0-1,4", "after set 6");
    check_node(g, 1, "2-3,5", "after set 6");
    {
        g_autoptr(E2eRun) r = e2e_ctlv("get", g->name, NULL);

        g_printerr("%s", r->out);
        CHECK(strstr(r->out, "NUMA cell 0   vCPUs 0-1,4            guest node 0 online 0-1,4")
                      != NULL
                  && strstr(r->out, "NUMA cell 1   vCPUs 2-3,5            guest node 1 online "
                                    "2-3,5")
                         != NULL,
              "get does not show the cells: %s%s", r->out, r->err);
    }
    /* 5, 4, 3 leave: both cells keep vCPUs */
    set_confirmed(g, 3, "90");
    e2e_check_all_agree(g, 3, 5000, "after set 3");
    check_node(g, 0, "0-1", "after set 3");
    check_node(g, 1, "2", "after set 3");
    /* --node 1: vCPU 3 (cell 1's lowest disabled) arrives, online on node 1 */
    set_node(g, 4, "1", "3");
    e2e_check_all_agree(g, 4, 5000, "after set 4 --node 1");
    check_node(g, 0, "0-1", "after set 4 --node 1");
    check_node(g, 1, "2-3", "after set 4 --node 1");
    /* --node 0: vCPU 1 (cell 0's highest) leaves; cell 1 keeps 2-3 */
    set_node(g, 3, "0", "1");
    e2e_check_all_agree(g, 3, 5000, "after set 3 --node 0");
    check_node(g, 0, "0", "after set 3 --node 0");
    check_node(g, 1, "2-3", "after set 3 --node 0");
    {
        /* cell 0's last vCPU stays: refused, nothing changed */
        g_autoptr(E2eRun) r = e2e_ctlv("set", g->name, "2", "--node", "0", NULL);

        CHECK(r->status == 3 && strstr(r->err, "NUMA cell 0 of domain") != NULL,
              "set 2 --node 0 (cell 0 has one vCPU): exit %d: %s%s", r->status, r->out, r->err);
        e2e_check_all_agree(g, 3, 5000, "after the refused set 2 --node 0");
    }
}

/* ---- a pinned domain ----------------------------------------------------------- */

static int
pinned_init(void)
{
    g_autoptr(GError) error = NULL;
    E2eTopology t = { .sockets = 4,
                      .cores = 1,
                      .threads = 1,
                      .current = 2,
                      .maximum = 4,
                      .pinned = 2,
                      .osinfo = TRUE };

    if (env_error)
        return 0;
    if (!(pinned = e2e_guest_boot(&t, &error)))
        pinned_error = g_strdup(error->message);
    return 0;
}

static int
pinned_clean(void)
{
    g_clear_pointer(&pinned, e2e_guest_free);
    return 0;
}

/* set's --json result: its "pins" as "ID=CPUS ..." and its "pin-rule". */
static char *
result_pins(const char *out, char **rule)
{
    g_autoptr(JsonNode) j = e2e_parse_json(out);
    JsonObject *o = j && JSON_NODE_HOLDS_OBJECT(j) ? json_node_get_object(j) : NULL;
    GString *text = g_string_new(NULL);

    *rule = g_strdup(o ? json_object_get_string_member_with_default(o, "pin-rule", "") : "");
    if (o && json_object_has_member(o, "pins")) {
        JsonObject *pins = json_object_get_object_member(o, "pins");
        g_autoptr(GList) ids = json_object_get_members(pins);

        for (GList *l = ids; l; l = l->next)
            g_string_append_printf(text, "%s%s=%s", text->len ? " " : "", (char *)l->data,
                                   json_object_get_string_member(pins, l->data));
    }
    return g_string_free(text, FALSE);
}

/* vCPU @vcpu's affinity as libvirt reports it (virDomainGetVcpuPinInfo). */
static char *
vcpu_affinity(E2eGuest *g, guint vcpu)
{
    int host = (int)sysconf(_SC_NPROCESSORS_ONLN);
    int maplen = VIR_CPU_MAPLEN(host);
    g_autofree unsigned char *maps = g_malloc0((gsize)maplen * 8);
    GString *text = g_string_new(NULL);
    int n = virDomainGetVcpuPinInfo(g->dom, 8, maps, maplen, VIR_DOMAIN_AFFECT_LIVE);

    for (int c = 0; n > (int)vcpu && c < host; c++)
        if (VIR_CPU_USABLE(maps, maplen, (int)vcpu, c))
            g_string_append_printf(text, "%s%d", text->len ? "," : "", c);
    return g_string_free(text, FALSE);
}

/* vCPUs 0-1 pinned alike (to every host CPU, as the harness pins): a plug
 * pins the new one the same way (the pattern); --cpuset 1 pins the next to
 * host CPU 1 alone; an unplug (--force) removes that vCPU and its pin. */
static void
test_pinned_plug(void)
{
    E2eGuest *g = pinned;
    g_autofree char *all = g_strdup_printf("0-%ld", sysconf(_SC_NPROCESSORS_ONLN) - 1);

    CHECK_FATAL(env_error == NULL, "e2e environment unusable: %s", env_error);
    CHECK_FATAL(g != NULL, "the guest did not boot: %s", pinned_error ? pinned_error : "?");
    {
        g_autoptr(E2eRun) r = e2e_ctlv("--json", "set", g->name, "3", "--timeout", "60", NULL);
        g_autofree char *rule = NULL;
        g_autofree char *pins = result_pins(r->out, &rule);
        g_autofree char *want = g_strdup_printf("2=%s", all);

        g_printerr("    set 3: exit %d in %.2f s, pins %s (%s)\n", r->status, r->seconds, pins,
                   rule);
        CHECK(r->status == 0 && g_strcmp0(pins, want) == 0 && g_strcmp0(rule, "pattern") == 0,
              "set 3 on a pinned domain: exit %d, pins '%s' rule '%s': %s%s", r->status, pins, rule,
              r->out, r->err);
    }
    {
        g_autoptr(E2eRun) r
            = e2e_ctlv("--json", "set", g->name, "4", "--cpuset", "1", "--timeout", "60", NULL);
        g_autofree char *rule = NULL;
        g_autofree char *pins = result_pins(r->out, &rule);
        g_autofree char *affinity = vcpu_affinity(g, 3);

        g_printerr("    set 4 --cpuset 1: exit %d in %.2f s, pins %s (%s), vCPU 3 on %s\n",
                   r->status, r->seconds, pins, rule, affinity);
        CHECK(r->status == 0 && g_strcmp0(pins, "3=1") == 0 && g_strcmp0(rule, "cpuset") == 0,
              "set 4 --cpuset 1: exit %d, pins '%s' rule '%s': %s%s", r->status, pins, rule, r->out,
              r->err);
        CHECK(g_strcmp0(affinity, "1") == 0, "libvirt has vCPU 3 on host CPUs '%s', not 1",
              affinity);
        e2e_check_all_agree(g, 4, 5000, "after set 4");
    }
    {
        /* the unplug removes vCPU 3 (pinned: --force) and its pin with it */
        g_autoptr(E2eRun) r
            = e2e_ctlv("--json", "set", g->name, "3", "--force", "--timeout", "60", NULL);
        g_autoptr(JsonNode) j = e2e_parse_json(r->out);
        JsonObject *o = j && JSON_NODE_HOLDS_OBJECT(j) ? json_node_get_object(j) : NULL;
        JsonObject *gone = o && json_object_has_member(o, "pins-removed")
                               ? json_object_get_object_member(o, "pins-removed")
                               : NULL;
        const char *had = gone ? json_object_get_string_member_with_default(gone, "3", "") : "";
        g_autofree char *xml = virDomainGetXMLDesc(g->dom, 0);
        g_autofree char *affinity = vcpu_affinity(g, 3);
        gboolean pin_left = xml && strstr(xml, "<vcpupin vcpu='3'") != NULL;
        g_autoptr(GString) every = g_string_new(NULL);

        for (long c = 0; c < sysconf(_SC_NPROCESSORS_ONLN); c++)
            g_string_append_printf(every, "%s%ld", every->len ? "," : "", c);

        g_printerr("    set 3 --force: exit %d in %.2f s, pins-removed 3=%s, vCPU 3 on %s, "
                   "<vcpupin vcpu='3'> %s\n",
                   r->status, r->seconds, had, affinity, pin_left ? "left" : "gone");
        CHECK(r->status == 0 && g_strcmp0(had, "1") == 0,
              "set 3 --force: exit %d, pins-removed of vCPU 3 '%s': %s%s", r->status, had, r->out,
              r->err);
        /* libvirt (QEMU driver) keeps a <vcpupin> for every vCPU it was
         * given one for: the removed vCPU's now names every host CPU,
         * which is no pin (as libvirt's default) */
        CHECK(!pin_left || g_strcmp0(affinity, every->str) == 0,
              "the live definition still pins removed vCPU 3 to host CPUs %s: %s", affinity,
              xml ? strstr(xml, "<vcpupin vcpu='3'") : "(no XML)");
        CHECK(g_strcmp0(affinity, every->str) == 0,
              "libvirt has removed vCPU 3 on host CPUs '%s', not %s", affinity, every->str);
        e2e_check_all_agree(g, 3, 5000, "after set 3");
    }
}

static void
register_pinned_suite(void)
{
    static const CunitTest tests[] = {
        { "pinned: the pattern, then --cpuset", test_pinned_plug },
        { NULL, NULL },
    };

    cunit_add_suite_full("pinned", pinned_init, pinned_clean, NULL, NULL, tests);
}

static void
register_numa_suite(void)
{
    static const CunitTest tests[] = {
        { "two cells: prepare 4 -> 8, plug 2 -> 6, unplug to 3", test_two_cells },
        { NULL, NULL },
    };

    cunit_add_suite_full("numa", suite_init, suite_clean, NULL, NULL, tests);
}

static const CunitSuite suites[] = {
    { "numa", register_numa_suite },
    { "pinned", register_pinned_suite },
    { NULL, NULL },
};

static void
free_guests(void)
{
    g_clear_pointer(&guest, e2e_guest_free);
    g_clear_pointer(&pinned, e2e_guest_free);
}

int
main(int argc, char **argv)
{
    return e2e_run_program(argc, argv, "e2e-numa", suites, &env_error, free_guests);
}
