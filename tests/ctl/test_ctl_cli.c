/* test_ctl_cli.c: the hotcpu-ctl binary against libvirt's test driver
 * (test:///TMP/node.xml, written per test) and, for the guest side, the real
 * hotcpu-agent on a fake sysfs tree, its socket named in the domain XML the
 * way libvirt's live XML names it.
 *
 * The test driver re-reads the file on every connection, so no state carries
 * from one run to the next.  Hypervisor failures and unplug timeouts come
 * from an LD_PRELOAD shim (setvcpus_mock.c).
 */
#include <CUnit/Basic.h>
#include <ftw.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>
#include <fcntl.h>

#include <libvirt/libvirt.h>

#include "agent_call.h"
#include "cunit_runner.h"
#include "fake_sysfs.h"

#include "ctl_fixture.h"

/* ---- usage -------------------------------------------------------------- */

static void
test_usage(void)
{
    Fx *fx = fx_new();
    Dom d = { .name = "web1" };

    fx_domain(fx, &d);
    CU_ASSERT_EQUAL(fx_run(fx, "frobnicate"), 2);
    CU_ASSERT_TRUE(err_has(fx, "unknown command: 'frobnicate'"));
    CU_ASSERT_EQUAL(fx_run(fx, "set", "web1"), 2);
    CU_ASSERT_TRUE(err_has(fx, "requires <count>"));
    CU_ASSERT_EQUAL(fx_run(fx, "set", "web1", "four"), 2);
    CU_ASSERT_TRUE(err_has(fx, "invalid value 'four'"));
    CU_ASSERT_EQUAL(fx_run(fx, "set", "web1", "4", "--bogus"), 2);
    CU_ASSERT_TRUE(err_has(fx, "doesn't support option --bogus"));
    CU_ASSERT_EQUAL(fx_run(fx, "set", "web1", "4", "--timeout"), 2);
    CU_ASSERT_EQUAL(fx_run_v(fx, (const char *const[]){ NULL }), 2);
    /* --json: one object, with the exit code */
    CU_ASSERT_EQUAL(fx_run(fx, "--json", "frobnicate"), 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fx->json);
    CU_ASSERT_EQUAL(json_object_get_int_member(fx->json, "exit"), 2);
    CU_ASSERT_TRUE(json_object_has_member(fx->json, "error"));
    /* help from the table */
    CU_ASSERT_EQUAL(fx_run(fx, "--help"), 0);
    CUNIT_ASSERT_CONTAINS(fx->out, "guest-set");
    CU_ASSERT_EQUAL(fx_run(fx, "help", "set"), 0);
    CUNIT_ASSERT_CONTAINS(fx->out, "--require-guest");
    CU_ASSERT_EQUAL(fx_run(fx, "set", "--help"), 0);
    CUNIT_ASSERT_CONTAINS(fx->out, "--sockets");
    /* named positional, --opt=value */
    CU_ASSERT_EQUAL(fx_run(fx, "set", "--domain", "web1", "--count=4"), 0);
    fx_free(fx);
}

/* ---- set: the checks ----------------------------------------------------- */

static void
test_set_plug_ok(void)
{
    Fx *fx = fx_new();
    Dom d = { .name = "web1" };
    g_autoptr(JsonObject) rec = NULL;

    fx_domain(fx, &d);
    CU_ASSERT_EQUAL(fx_run(fx, "set", "web1", "4"), 0);
    CUNIT_ASSERT_CONTAINS(fx->out, "Domain 'web1' now has 4 vCPUs (was 2)");
    CU_ASSERT_TRUE(err_has(fx, "guest side is unconfirmed"));
    rec = fx_audit_last(fx, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rec);
    CU_ASSERT_STRING_EQUAL(json_object_get_string_member(rec, "domain"), "web1");
    CU_ASSERT_STRING_EQUAL(json_object_get_string_member(rec, "uuid"), UUID1);
    CU_ASSERT_EQUAL(json_object_get_int_member(rec, "previous"), 2);
    CU_ASSERT_EQUAL(json_object_get_int_member(rec, "requested"), 4);
    CU_ASSERT_EQUAL(json_object_get_int_member(rec, "actual"), 4);
    CU_ASSERT_STRING_EQUAL(json_object_get_string_member(rec, "outcome"), "done");
    CU_ASSERT_EQUAL(json_object_get_int_member(rec, "exit"), 0);
    CU_ASSERT_TRUE(json_object_get_null_member(rec, "error"));
    CU_ASSERT_STRING_EQUAL(json_object_get_string_member(rec, "guest"), "unconfirmed");
    CU_ASSERT_TRUE(json_object_has_member(rec, "time"));
    CU_ASSERT_TRUE(json_object_has_member(rec, "user"));
    CU_ASSERT_EQUAL(json_array_get_length(json_object_get_array_member(rec, "hooks")), 0);
    /* the same with --require-guest: no agent, exit 7 */
    CU_ASSERT_EQUAL(fx_run(fx, "set", "web1", "4", "--require-guest"), 7);
    json_object_unref(rec);
    rec = fx_audit_last(fx, 2);
    CU_ASSERT_STRING_EQUAL(json_object_get_string_member(rec, "outcome"), "unconfirmed");
    CU_ASSERT_EQUAL(json_object_get_int_member(rec, "actual"), 4);
    fx_free(fx);
}

static void
test_set_json(void)
{
    Fx *fx = fx_new();
    Dom d = { .name = "web1" };

    fx_domain(fx, &d);
    CU_ASSERT_EQUAL(fx_run(fx, "--json", "set", "web1", "3"), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fx->json);
    CU_ASSERT_EQUAL(json_object_get_int_member(fx->json, "exit"), 0);
    CU_ASSERT_EQUAL(json_object_get_int_member(fx->json, "actual"), 3);
    CU_ASSERT_EQUAL(json_object_get_int_member(fx->json, "previous"), 2);
    CU_ASSERT_TRUE(json_object_has_member(fx->json, "warnings"));
    /* exactly one line on stdout */
    CU_ASSERT_PTR_NOT_NULL(strchr(fx->out, '\n'));
    CU_ASSERT_EQUAL(strchr(fx->out, '\n')[1], '\0');
    /* an error is one object as well */
    CU_ASSERT_EQUAL(fx_run(fx, "--json", "set", "web1", "9"), 3);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fx->json);
    CU_ASSERT_EQUAL(json_object_get_int_member(fx->json, "exit"), 3);
    CU_ASSERT_STRING_EQUAL(json_object_get_string_member(fx->json, "error"),
                           "requested 9 vCPUs but domain 'web1' allows at most 8");
    /* get */
    CU_ASSERT_EQUAL(fx_run(fx, "--json", "get", "web1"), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fx->json);
    CU_ASSERT_EQUAL(
        json_object_get_int_member(json_object_get_object_member(fx->json, "live"), "current"), 2);
    CU_ASSERT_EQUAL(
        json_object_get_int_member(json_object_get_object_member(fx->json, "config"), "maximum"),
        8);
    CU_ASSERT_TRUE(json_object_get_null_member(fx->json, "guest"));
    fx_free(fx);
}

static void
expect_refused(Fx *fx, const char *needle, guint audit_n)
{
    g_autoptr(JsonObject) rec = NULL;

    CU_ASSERT_EQUAL(fx->status, 3);
    CU_ASSERT_TRUE(err_has(fx, needle));
    rec = fx_audit_last(fx, audit_n);
    if (!rec)
        return;
    CU_ASSERT_STRING_EQUAL(json_object_get_string_member(rec, "outcome"), "refused");
    CU_ASSERT_EQUAL(json_object_get_int_member(rec, "exit"), 3);
    CUNIT_ASSERT_CONTAINS(json_object_get_string_member(rec, "error"), needle);
}

static void
test_set_refusals_state(void)
{
    Fx *fx = fx_new();
    g_autofree char *a = NULL, *b = NULL, *node = NULL;
    Dom off = { .name = "off1", .runstate = 5 };
    Dom paused
        = { .name = "paused1", .uuid = "6695eb01-f6a4-8304-79aa-97f2502e1940", .runstate = 3 };

    a = dom_xml(&off);
    b = dom_xml(&paused);
    node = g_strdup_printf("<node>%s%s</node>", a, b);
    g_file_set_contents(fx->node, node, -1, NULL);

    fx_run(fx, "set", "nosuch", "4");
    expect_refused(fx, "domain 'nosuch' not found", 1);
    fx_run(fx, "set", "off1", "4");
    expect_refused(fx,
                   "domain 'off1' is not running (state: shut off); vCPU hot plug needs a "
                   "running domain; to change its persistent definition, use --config",
                   2);
    fx_run(fx, "set", "paused1", "4");
    expect_refused(fx, "domain 'paused1' is not running (state: paused)", 3);
    fx_free(fx);
}

static void
test_set_refusals_limits(void)
{
    Fx *fx = fx_new();
    Dom d = { .name = "web1" };
    Dom big = { .name = "big1", .current = 2, .max = 40, .transient = TRUE };

    fx_domain(fx, &d);
    fx_run(fx, "set", "web1", "9");
    expect_refused(fx, "requested 9 vCPUs but domain 'web1' allows at most 8", 1);
    fx_run(fx, "set", "web1", "0");
    expect_refused(fx, "requested 0 vCPUs but domain 'web1' needs at least 1", 2);
    /* by UUID, like virsh */
    fx_run(fx, "set", UUID1, "9");
    expect_refused(fx, "domain 'web1' allows at most 8", 3);

    /* the hypervisor's own maximum: the test driver answers 32 */
    fx_domain(fx, &big);
    fx_run(fx, "set", "big1", "33");
    expect_refused(fx, "the hypervisor (type 'test') allows at most 32", 4);
    /* --config on a transient domain */
    fx_run(fx, "set", "big1", "4", "--config");
    expect_refused(fx, "transient", 5);
    CU_ASSERT_EQUAL(fx_run(fx, "set", "big1", "32"), 0);
    fx_free(fx);
}

static void
test_set_sockets(void)
{
    Fx *fx = fx_new();
    Dom d = { .name = "web1", .sockets = 4, .cores = 2, .threads = 1 };
    g_autoptr(JsonObject) rec = NULL;

    fx_domain(fx, &d);
    fx_run(fx, "set", "web1", "3");
    expect_refused(fx, "requested 3 vCPUs but domain 'web1' has 2 vCPUs per socket", 1);
    CU_ASSERT_EQUAL(fx_run(fx, "set", "web1", "3", "--sockets"), 0);
    CUNIT_ASSERT_CONTAINS(fx->out, "now has 6 vCPUs");
    rec = fx_audit_last(fx, 2);
    CU_ASSERT_EQUAL(json_object_get_int_member(rec, "requested"), 6);
    CU_ASSERT_EQUAL(json_object_get_int_member(rec, "actual"), 6);
    CU_ASSERT_EQUAL(fx_run(fx, "set", "web1", "4"), 0);
    fx_run(fx, "set", "web1", "5", "--sockets");
    expect_refused(fx, "requested 10 vCPUs but domain 'web1' allows at most 8", 4);
    fx_free(fx);
}

static void
test_set_guest_os(void)
{
    Fx *fx = fx_new();
    Dom rhel63 = { .name = "web1", .current = 4, .os_id = "http://redhat.com/rhel/6.3" };
    Dom rhel65 = { .name = "web1", .current = 4, .os_id = "http://redhat.com/rhel/6.5" };
    Dom w2k3 = { .name = "web1", .current = 2, .os_id = "http://microsoft.com/win/2k3" };
    Dom w2k12 = { .name = "web1", .current = 4, .os_id = "http://microsoft.com/win/2k12" };
    Dom bare = { .name = "web1", .current = 4 };
    Dom power = {
        .name = "web1", .current = 4, .os_id = "http://debian.org/debian/12", .arch = "ppc64le"
    };
    guint n = 0;

    fx_domain(fx, &rhel63);
    CU_ASSERT_EQUAL(fx_run(fx, "set", "web1", "6"), 0);
    n++;
    fx_run(fx, "set", "web1", "2");
    n++;
    expect_refused(
        fx, "runs guest OS http://redhat.com/rhel/6.3, which does not allow vCPU hot unplug", n);
    CU_ASSERT_EQUAL(fx_run(fx, "set", "web1", "2", "--force"), 0);
    n++;

    fx_domain(fx, &rhel65);
    CU_ASSERT_EQUAL(fx_run(fx, "set", "web1", "2"), 0);
    n++;

    fx_domain(fx, &w2k3);
    fx_run(fx, "set", "web1", "4");
    n++;
    expect_refused(fx, "does not allow vCPU hot plug", n);

    fx_domain(fx, &w2k12);
    CU_ASSERT_EQUAL(fx_run(fx, "set", "web1", "6"), 0);
    n++;
    fx_run(fx, "set", "web1", "2");
    n++;
    expect_refused(fx, "hot unplug", n);

    /* POWER: the architecture's row refuses plug for every guest OS */
    fx_domain(fx, &power);
    fx_run(fx, "set", "web1", "6");
    n++;
    expect_refused(fx, "which does not allow vCPU hot plug on ppc64le", n);
    CU_ASSERT_EQUAL(fx_run(fx, "set", "web1", "6", "--force"), 0);
    n++;

    /* no metadata, no agent: plug yes, unplug only with --force */
    fx_domain(fx, &bare);
    CU_ASSERT_EQUAL(fx_run(fx, "set", "web1", "6"), 0);
    n++;
    fx_run(fx, "set", "web1", "2");
    n++;
    expect_refused(fx, "has no guest OS metadata and its hotcpu agent does not answer", n);
    CU_ASSERT_EQUAL(fx_run(fx, "set", "web1", "2", "--force"), 0);
    n++;
    fx_free(fx);
}

static void
test_set_pins(void)
{
    Fx *fx = fx_new();
    Dom d = {
        .name = "web1", .current = 6, .pins = "0,4", .os_id = "http://fedoraproject.org/fedora/39"
    };

    fx_domain(fx, &d);
    CU_ASSERT_EQUAL(fx_run(fx, "set", "web1", "5"), 0); /* removes vCPU 5 only */
    fx_run(fx, "set", "web1", "3");
    expect_refused(fx, "from 6 to 3 vCPUs would remove vCPU 4, which has an explicit <vcpupin>", 2);
    CU_ASSERT_EQUAL(fx_run(fx, "set", "web1", "3", "--force"), 0);
    fx_free(fx);
}

/* Boot vCPUs libvirt made non-hotpluggable: an unplug below them is refused
 * before any hook runs (issue 8: the shipped hook had already offlined the
 * guest's CPUs when libvirt refused). */
static void
test_set_hotpluggable(void)
{
    Fx *fx = fx_new();
    Dom d = { .name = "web1",
              .current = 6,
              .os_id = "http://fedoraproject.org/fedora/39",
              .vcpus = "<vcpus><vcpu id='0' enabled='yes' hotpluggable='no' order='1'/>"
                       "<vcpu id='1' enabled='yes' hotpluggable='no' order='2'/>"
                       "<vcpu id='2' enabled='yes' hotpluggable='no' order='3'/>"
                       "<vcpu id='3' enabled='yes' hotpluggable='no' order='4'/>"
                       "<vcpu id='4' enabled='yes' hotpluggable='yes' order='5'/>"
                       "<vcpu id='5' enabled='yes' hotpluggable='yes' order='6'/>"
                       "<vcpu id='6' enabled='no' hotpluggable='yes'/>"
                       "<vcpu id='7' enabled='no' hotpluggable='yes'/></vcpus>" };
    g_autofree char *marker = g_build_filename(fx->dir, "hook-ran", NULL);
    g_autofree char *hook = g_strdup_printf("#!/bin/sh\ntouch %s\n", marker);
    JsonObject *range;

    fx_domain(fx, &d);
    write_hook(fx, "before_set_num_of_cpus", "10_mark", hook);
    fx_run(fx, "set", "web1", "2");
    expect_refused(fx,
                   "domain 'web1' cannot go below 4 vCPUs live: vCPUs 0-3 are not hot-pluggable "
                   "(libvirt makes boot vCPUs non-hotpluggable); run 'hotcpu-ctl prepare web1 "
                   "--max 8' and restart the domain (shut down, then start)",
                   1);
    CU_ASSERT_FALSE(g_file_test(marker, G_FILE_TEST_EXISTS));
    /* down to the boot vCPUs and up to the maximum is fine */
    CU_ASSERT_EQUAL(fx_run(fx, "set", "web1", "4"), 0);
    CU_ASSERT_TRUE(g_file_test(marker, G_FILE_TEST_EXISTS));
    CU_ASSERT_EQUAL(fx_run(fx, "set", "web1", "8"), 0);
    /* get shows the range */
    CU_ASSERT_EQUAL(fx_run(fx, "--json", "get", "web1"), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fx->json);
    range = json_object_get_object_member(fx->json, "live-range");
    CU_ASSERT_PTR_NOT_NULL_FATAL(range);
    CU_ASSERT_EQUAL(json_object_get_int_member(range, "min"), 4);
    CU_ASSERT_EQUAL(json_object_get_int_member(range, "max"), 8);
    CU_ASSERT_STRING_EQUAL(json_object_get_string_member(range, "not-hotpluggable"), "0-3");
    CU_ASSERT_EQUAL(fx_run(fx, "get", "web1"), 0);
    CUNIT_ASSERT_CONTAINS(fx->out, "live-range   minimum        4");
    CUNIT_ASSERT_CONTAINS(fx->out, "live-range   maximum        8");

    /* a transient domain has no definition to prepare: the way out differs */
    d.transient = TRUE;
    fx_domain(fx, &d);
    fx_run(fx, "set", "web1", "3");
    expect_refused(fx, "the domain is transient", 4);
    fx_free(fx);
}

/* Without <vcpus> the test driver tells nothing: no range, as before. */
static void
test_set_no_vcpus_element(void)
{
    Fx *fx = fx_new();
    Dom d = { .name = "web1", .current = 6, .os_id = "http://fedoraproject.org/fedora/39" };

    fx_domain(fx, &d);
    CU_ASSERT_EQUAL(fx_run(fx, "set", "web1", "1"), 0);
    CU_ASSERT_EQUAL(fx_run(fx, "--json", "get", "web1"), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fx->json);
    CU_ASSERT_TRUE(json_object_get_null_member(fx->json, "live-range"));
    fx_free(fx);
}

static void
test_set_policy(void)
{
    Fx *fx = fx_new();
    Dom d = { .name = "web1", .current = 4, .os_id = "http://fedoraproject.org/fedora/39" };

    fx_domain(fx, &d);
    g_file_set_contents(fx->policy, "[policy]\nallow-unplug=false\n", -1, NULL);
    fx_run(fx, "set", "web1", "2", "--force");
    expect_refused(fx, "forbids vCPU hot unplug", 1);
    CU_ASSERT_EQUAL(fx_run(fx, "set", "web1", "6"), 0);

    /* the persistent definition has 4 (current='4' in the file) */
    g_file_set_contents(fx->policy, "[policy]\nallow-below-persistent=false\n", -1, NULL);
    fx_run(fx, "set", "web1", "3");
    expect_refused(fx,
                   "forbids going below the persistent definition: requested 3 vCPUs but domain "
                   "'web1' is defined with 4",
                   3);

    /* the host's size: the test driver's node has 16 logical CPUs */
    d.max = 40;
    d.current = 2;
    fx_domain(fx, &d);
    g_file_set_contents(fx->policy, "# defaults\n", -1, NULL);
    CU_ASSERT_EQUAL(fx_run(fx, "set", "web1", "17"), 0);
    CU_ASSERT_TRUE(err_has(fx, "domain 'web1' would have 17 vCPUs, more than the host's 16 "
                               "logical CPUs"));
    g_file_set_contents(fx->policy, "[policy]\nmax-vcpus-per-host-cpu=1.5\n", -1, NULL);
    CU_ASSERT_EQUAL(fx_run(fx, "set", "web1", "24"), 0);
    fx_run(fx, "set", "web1", "25");
    expect_refused(fx, "allows at most 1.5 vCPUs per host CPU, 24 on this host of 16 logical CPUs",
                   6);
    g_file_set_contents(fx->policy, "[policy]\nmax-vcpus-per-host-cpu=none\n", -1, NULL);
    fx_run(fx, "set", "web1", "4");
    expect_refused(fx, "max-vcpus-per-host-cpu must be a positive number", 7);

    /* a policy that cannot be read refuses */
    g_file_set_contents(fx->policy, "[policy]\nallow-unplug=sometimes\n", -1, NULL);
    fx_run(fx, "set", "web1", "6");
    expect_refused(fx, "allow-unplug must be true or false", 8);
    fx_free(fx);
}

static void
test_set_lock(void)
{
    Fx *fx = fx_new();
    Dom d = { .name = "web1" };
    g_autofree char *path = g_build_filename(fx->lock, UUID1 ".lock", NULL);
    int fd;

    fx_domain(fx, &d);
    g_mkdir_with_parents(fx->lock, 0755);
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_EQUAL(flock(fd, LOCK_EX | LOCK_NB), 0);
    fx_run(fx, "set", "web1", "4");
    expect_refused(fx, "another hotcpu-ctl set is already running on domain 'web1'", 1);
    flock(fd, LOCK_UN);
    close(fd);
    CU_ASSERT_EQUAL(fx_run(fx, "set", "web1", "4"), 0);
    fx_free(fx);
}

static void
test_set_config(void)
{
    Fx *fx = fx_new();
    Dom d = { .name = "web1" };
    g_autoptr(JsonObject) rec = NULL;

    fx_domain(fx, &d);
    CU_ASSERT_EQUAL(fx_run(fx, "--json", "set", "web1", "5", "--config"), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fx->json);
    CU_ASSERT_TRUE(json_object_get_boolean_member(fx->json, "config-updated"));
    rec = fx_audit_last(fx, 1);
    CU_ASSERT_TRUE(json_object_get_boolean_member(rec, "config"));

    /* the live change happens first; a persistent update that fails then
     * leaves a live-only change: reported as not converged (6) */
    fx->mock = "fail-config";
    CU_ASSERT_EQUAL(fx_run(fx, "--json", "set", "web1", "5", "--config"), 6);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fx->json);
    CU_ASSERT_EQUAL(json_object_get_int_member(fx->json, "actual"), 5);
    CU_ASSERT_FALSE(json_object_get_boolean_member(fx->json, "config-updated"));
    CUNIT_ASSERT_CONTAINS(json_object_get_string_member(fx->json, "error"),
                          "persistent definition could not be updated");
    fx_free(fx);
}

/* set --config on a shut-off domain: the persistent count only, no hooks. */
static void
test_set_config_offline(void)
{
    Fx *fx = fx_new();
    Dom d = { .name = "off1", .current = 4, .runstate = 5, .sockets = 4, .cores = 2, .threads = 1 };
    g_autofree char *marker = g_build_filename(fx->dir, "hook-ran", NULL);
    g_autofree char *hook = g_strdup_printf("#!/bin/sh\ntouch %s\n", marker);
    g_autoptr(JsonObject) rec = NULL;

    fx_domain(fx, &d);
    write_hook(fx, "before_set_num_of_cpus", "10_mark", hook);
    write_hook(fx, "after_set_num_of_cpus", "10_mark", hook);
    CU_ASSERT_EQUAL(fx_run(fx, "set", "off1", "6", "--config"), 0);
    CUNIT_ASSERT_CONTAINS(fx->out, "Domain 'off1' is shut off: its persistent definition "
                                   "now has 6 vCPUs (was 4); nothing live changed and no "
                                   "hooks ran.");
    CU_ASSERT_FALSE(g_file_test(marker, G_FILE_TEST_EXISTS));
    rec = fx_audit_last(fx, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rec);
    CU_ASSERT_STRING_EQUAL(json_object_get_string_member(rec, "outcome"), "done");
    CU_ASSERT_TRUE(json_object_get_boolean_member(rec, "config"));
    CU_ASSERT_EQUAL(json_object_get_int_member(rec, "previous"), 4);
    CU_ASSERT_EQUAL(json_object_get_int_member(rec, "actual"), 6);
    CU_ASSERT_EQUAL(json_array_get_length(json_object_get_array_member(rec, "hooks")), 0);
    /* --json: one object, config-updated */
    CU_ASSERT_EQUAL(fx_run(fx, "--json", "set", "off1", "1", "--sockets", "--config"), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fx->json);
    CU_ASSERT_TRUE(json_object_get_boolean_member(fx->json, "config-updated"));
    CU_ASSERT_EQUAL(json_object_get_int_member(fx->json, "actual"), 2);
    /* the checks that apply: maximum, sockets, policy */
    fx_run(fx, "set", "off1", "10", "--config");
    expect_refused(fx,
                   "requested 10 vCPUs with --config but the persistent definition of domain "
                   "'off1' allows at most 8",
                   3);
    fx_run(fx, "set", "off1", "3", "--config");
    expect_refused(fx, "domain 'off1' has 2 vCPUs per socket", 4);
    g_file_set_contents(fx->policy, "[policy]\nallow-below-persistent=false\n", -1, NULL);
    fx_run(fx, "set", "off1", "1", "--sockets", "--config");
    expect_refused(fx, "forbids going below the persistent definition", 5);
    /* allow-unplug=false does not apply: nothing is unplugged */
    g_file_set_contents(fx->policy, "[policy]\nallow-unplug=false\n", -1, NULL);
    CU_ASSERT_EQUAL(fx_run(fx, "set", "off1", "1", "--sockets", "--config"), 0);
    CU_ASSERT_FALSE(g_file_test(marker, G_FILE_TEST_EXISTS));
    /* a hypervisor refusal changes nothing */
    fx->mock = "fail-config";
    CU_ASSERT_EQUAL(fx_run(fx, "set", "off1", "6", "--config"), 5);
    CU_ASSERT_TRUE(err_has(fx, "libvirt could not set the persistent definition of domain 'off1' "
                               "to 6 vCPUs"));
    fx_free(fx);
}

/* ---- set: hooks ---------------------------------------------------------- */

static void
test_set_hook_veto(void)
{
    Fx *fx = fx_new();
    Dom d = { .name = "web1" };
    g_autoptr(JsonObject) rec = NULL;
    g_autofree char *envfile = g_build_filename(fx->dir, "env.txt", NULL);
    g_autofree char *script = g_strdup_printf(
        "#!/bin/sh\necho \"$vmName $vmId $numberOfCpus $previousNumberOfCpus\" > %s\n"
        "test -s \"$_hook_domxml\" && grep -q '<name>web1</name>' \"$_hook_domxml\" || exit 1\n"
        "echo 'not today'\nexit 1\n",
        envfile);
    g_autofree char *env = NULL;
    JsonArray *hooks;

    fx_domain(fx, &d);
    write_hook(fx, "before_set_num_of_cpus", "50_veto", script);
    CU_ASSERT_EQUAL(fx_run(fx, "set", "web1", "4"), 4);
    CU_ASSERT_TRUE(err_has(fx, "a before hook vetoed setting domain 'web1' to 4 vCPUs"));
    CU_ASSERT_TRUE(err_has(fx, "50_veto exited 1 (not today)"));
    CU_ASSERT_TRUE(g_file_get_contents(envfile, &env, NULL, NULL));
    CU_ASSERT_STRING_EQUAL(env, "web1 " UUID1 " 4 2\n");
    rec = fx_audit_last(fx, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rec);
    CU_ASSERT_STRING_EQUAL(json_object_get_string_member(rec, "outcome"), "vetoed");
    CU_ASSERT_EQUAL(json_object_get_int_member(rec, "exit"), 4);
    CU_ASSERT_EQUAL(json_object_get_int_member(rec, "actual"), 2); /* unchanged */
    hooks = json_object_get_array_member(rec, "hooks");
    CU_ASSERT_EQUAL_FATAL(json_array_get_length(hooks), 1);
    CUNIT_ASSERT_CONTAINS(
        json_object_get_string_member(json_array_get_object_element(hooks, 0), "hook"), "50_veto");
    CU_ASSERT_EQUAL(json_object_get_int_member(json_array_get_object_element(hooks, 0), "exit"), 1);
    fx_free(fx);
}

static void
test_set_hooks_ok_and_after_failure(void)
{
    Fx *fx = fx_new();
    Dom d = { .name = "web1" };
    g_autoptr(JsonObject) rec = NULL;
    JsonArray *hooks;

    fx_domain(fx, &d);
    write_hook(fx, "before_set_num_of_cpus", "10_ok", "#!/bin/sh\nexit 0\n");
    write_hook(fx, "after_set_num_of_cpus", "10_fail", "#!/bin/sh\necho oops\nexit 1\n");
    CU_ASSERT_EQUAL(fx_run(fx, "set", "web1", "4"), 0);
    CU_ASSERT_TRUE(err_has(fx, "after hooks failed for domain 'web1'"));
    rec = fx_audit_last(fx, 1);
    hooks = json_object_get_array_member(rec, "hooks");
    CU_ASSERT_EQUAL_FATAL(json_array_get_length(hooks), 2);
    CU_ASSERT_EQUAL(json_object_get_int_member(json_array_get_object_element(hooks, 0), "exit"), 0);
    CU_ASSERT_EQUAL(json_object_get_int_member(json_array_get_object_element(hooks, 1), "exit"), 1);
    fx_free(fx);
}

/* ---- set: hypervisor failures and convergence ------------------------------ */

static void
test_set_hypervisor_failure(void)
{
    Fx *fx = fx_new();
    Dom d = { .name = "web1" };
    g_autoptr(JsonObject) rec = NULL;

    fx_domain(fx, &d);
    fx->mock = "fail";
    CU_ASSERT_EQUAL(fx_run(fx, "set", "web1", "4"), 5);
    CU_ASSERT_TRUE(err_has(fx, "libvirt could not set domain 'web1' to 4 vCPUs"));
    CU_ASSERT_TRUE(err_has(fx, "nothing changed"));
    rec = fx_audit_last(fx, 1);
    CU_ASSERT_STRING_EQUAL(json_object_get_string_member(rec, "outcome"), "failed");
    CU_ASSERT_EQUAL(json_object_get_int_member(rec, "actual"), 2);
    /* a connection that fails is a hypervisor failure too */
    {
        g_autofree char *missing = g_build_filename(fx->dir, "none.xml", NULL);
        g_free(fx->node);
        fx->node = g_steal_pointer(&missing);
        fx->mock = NULL;
        CU_ASSERT_EQUAL(fx_run(fx, "set", "web1", "4"), 5);
        CU_ASSERT_TRUE(err_has(fx, "failed to connect to the hypervisor"));
    }
    fx_free(fx);
}

static void
test_set_unplug_timeout_converges(void)
{
    Fx *fx = fx_new();
    Dom d = { .name = "web1", .current = 4, .os_id = "http://redhat.com/rhel/6.5" };
    g_autoptr(JsonObject) rec = NULL;

    fx_domain(fx, &d);
    fx->mock = "timeout-once";
    CU_ASSERT_EQUAL(fx_run(fx, "set", "web1", "2", "--timeout", "10"), 0);
    CU_ASSERT_TRUE(err_has(fx, "vcpu unplug request timed out"));
    rec = fx_audit_last(fx, 1);
    CU_ASSERT_EQUAL(json_object_get_int_member(rec, "actual"), 2);
    CU_ASSERT_STRING_EQUAL(json_object_get_string_member(rec, "outcome"), "done");

    /* --timeout 0 still gets the one refresh that corrects libvirt */
    CU_ASSERT_EQUAL(fx_run(fx, "set", "web1", "2", "--timeout", "0"), 0);
    json_object_unref(rec);
    rec = fx_audit_last(fx, 2);
    CU_ASSERT_EQUAL(json_object_get_int_member(rec, "actual"), 2);

    /* one vCPU per call, as libvirt under TCG: still converges */
    fx->mock = "timeout-step";
    d.current = 6;
    fx_domain(fx, &d);
    CU_ASSERT_EQUAL(fx_run(fx, "set", "web1", "2", "--timeout", "20"), 0);
    json_object_unref(rec);
    rec = fx_audit_last(fx, 3);
    CU_ASSERT_EQUAL(json_object_get_int_member(rec, "actual"), 2);
    fx_free(fx);
}

static void
test_set_unplug_not_converged(void)
{
    Fx *fx = fx_new();
    Dom d = { .name = "web1", .current = 4, .os_id = "http://redhat.com/rhel/6.5" };
    g_autoptr(JsonObject) rec = NULL;

    fx_domain(fx, &d);
    fx->mock = "timeout-stuck";
    CU_ASSERT_EQUAL(fx_run(fx, "--json", "set", "web1", "2", "--timeout", "2"), 6);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fx->json);
    CU_ASSERT_EQUAL(json_object_get_int_member(fx->json, "exit"), 6);
    CU_ASSERT_EQUAL(json_object_get_int_member(fx->json, "actual"), 4);
    rec = fx_audit_last(fx, 1);
    CU_ASSERT_STRING_EQUAL(json_object_get_string_member(rec, "outcome"), "not-converged");
    CU_ASSERT_EQUAL(json_object_get_int_member(rec, "actual"), 4);
    CUNIT_ASSERT_CONTAINS(json_object_get_string_member(rec, "error"),
                          "has 4 vCPUs, not the 2 requested");

    /* a plain failure that changed something is not "nothing changed" */
    fx->mock = "partial";
    CU_ASSERT_EQUAL(fx_run(fx, "set", "web1", "2", "--timeout", "2"), 6);
    json_object_unref(rec);
    rec = fx_audit_last(fx, 2);
    CU_ASSERT_EQUAL(json_object_get_int_member(rec, "actual"), 3);
    fx_free(fx);
}

/* ---- prepare --------------------------------------------------------------- */

#define PREPARED_VCPUS                                                                             \
    "<vcpus><vcpu id='0' enabled='yes' hotpluggable='no'/>"                                        \
    "<vcpu id='1' enabled='yes' hotpluggable='yes'/><vcpu id='2' enabled='no' "                    \
    "hotpluggable='yes'/><vcpu id='3' enabled='no' hotpluggable='yes'/></vcpus>"

static JsonArray *
json_changes(Fx *fx)
{
    return fx->json ? json_object_get_array_member(fx->json, "changes") : NULL;
}

/* A running domain as libvirt defines it by default: boot vCPUs fixed, maximum
 * = current, 2 sockets.  The test driver has no virDomainAttachDeviceFlags
 * (CONFIG), so this one has the channel already. */
static void
test_prepare_running(void)
{
    Fx *fx = fx_new();
    Dom d = { .name = "web1",
              .current = 2,
              .max = 2,
              .sockets = 2,
              .cores = 1,
              .threads = 1,
              .agent_socket = "/nonexistent/agent.sock" };
    g_autoptr(JsonObject) rec = NULL;

    fx_domain(fx, &d);
    /* dry run: the changes, nothing done, nothing recorded */
    CU_ASSERT_EQUAL(fx_run(fx, "prepare", "web1", "--max", "8", "--dry-run"), 0);
    CUNIT_ASSERT_CONTAINS(fx->out, "Dry run: prepare would change the persistent "
                                   "definition of domain 'web1':\n"
                                   "  maximum vCPUs: 2 -> 8\n"
                                   "  topology: 2 sockets x 1 core x 1 thread -> 8 "
                                   "sockets x 1 core x 1 thread\n"
                                   "  hot-pluggable vCPUs: none -> 1-7\n"
                                   "Nothing was changed (--dry-run).\n");
    CU_ASSERT_FALSE(g_file_test(fx->audit, G_FILE_TEST_EXISTS));
    CU_ASSERT_EQUAL(fx_run(fx, "--json", "prepare", "web1", "--max", "8", "--dry-run"), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fx->json);
    CU_ASSERT_TRUE(json_object_get_boolean_member(fx->json, "dry-run"));
    CU_ASSERT_FALSE(json_object_get_boolean_member(fx->json, "ready"));
    CU_ASSERT_EQUAL(json_array_get_length(json_changes(fx)), 3);
    CU_ASSERT_EQUAL(json_array_get_length(json_object_get_array_member(fx->json, "applied")), 0);

    /* for real: only the persistent definition of the running domain */
    CU_ASSERT_EQUAL(fx_run(fx, "prepare", "web1", "--max", "8"), 0);
    CUNIT_ASSERT_CONTAINS(fx->out, "Changed the persistent definition of domain 'web1':");
    CUNIT_ASSERT_CONTAINS(fx->out, "Domain 'web1' is running: only its persistent "
                                   "definition changed");
    CUNIT_ASSERT_CONTAINS(fx->out, "take effect after a full shutdown and start of the "
                                   "domain (a reboot from inside the guest is not "
                                   "enough)");
    rec = fx_audit_last(fx, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rec);
    CU_ASSERT_STRING_EQUAL(json_object_get_string_member(rec, "command"), "prepare");
    CU_ASSERT_STRING_EQUAL(json_object_get_string_member(rec, "outcome"), "done");
    CU_ASSERT_EQUAL(json_object_get_int_member(rec, "previous"), 2);
    CU_ASSERT_EQUAL(json_object_get_int_member(rec, "requested"), 8);
    CU_ASSERT_EQUAL(json_object_get_int_member(rec, "actual"), 8);
    /* --json: ready is what libvirt kept, read back */
    CU_ASSERT_EQUAL(fx_run(fx, "--json", "prepare", "web1", "--max", "4", "--sockets"), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fx->json);
    CU_ASSERT_TRUE(json_object_get_boolean_member(fx->json, "ready"));
    CU_ASSERT_TRUE(json_object_get_boolean_member(fx->json, "running"));
    CU_ASSERT_FALSE(json_object_get_boolean_member(fx->json, "dry-run"));
    CU_ASSERT_EQUAL(json_object_get_int_member(fx->json, "maximum"), 4);
    CU_ASSERT_STRING_EQUAL(
        json_array_get_string_element(json_object_get_array_member(fx->json, "applied"), 0),
        "layout");
    fx_free(fx);
}

/* A definition that is ready already: a second run changes nothing. */
static void
test_prepare_ready(void)
{
    Fx *fx = fx_new();
    Dom d = { .name = "web1",
              .current = 2,
              .max = 4,
              .sockets = 4,
              .cores = 1,
              .threads = 1,
              .vcpus = PREPARED_VCPUS,
              .agent_socket = "/nonexistent/agent.sock" };
    g_autoptr(JsonObject) rec = NULL;

    fx_domain(fx, &d);
    CU_ASSERT_EQUAL(fx_run(fx, "prepare", "web1", "--max", "4"), 0);
    CUNIT_ASSERT_CONTAINS(fx->out, "Domain 'web1' is ready for vCPU hot plug: its "
                                   "persistent definition has a maximum of 4 vCPUs, "
                                   "hot-pluggable vCPUs 1-3 and the agent channel; "
                                   "nothing to change.");
    rec = fx_audit_last(fx, 1);
    CU_ASSERT_EQUAL(json_object_get_int_member(rec, "actual"), 4);
    CU_ASSERT_EQUAL(fx_run(fx, "--json", "prepare", "web1", "--max", "4", "--dry-run"), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fx->json);
    CU_ASSERT_TRUE(json_object_get_boolean_member(fx->json, "ready"));
    CU_ASSERT_EQUAL(json_array_get_length(json_changes(fx)), 0);
    fx_free(fx);
}

/* Shut off, no topology, one vCPU: the maximum through the API is all. */
static void
test_prepare_shut_off(void)
{
    Fx *fx = fx_new();
    Dom d = { .name = "off1",
              .current = 1,
              .max = 1,
              .runstate = 5,
              .agent_socket = "/nonexistent/agent.sock" };

    fx_domain(fx, &d);
    CU_ASSERT_EQUAL(fx_run(fx, "--json", "prepare", "off1", "--max", "6"), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fx->json);
    CU_ASSERT_FALSE(json_object_get_boolean_member(fx->json, "running"));
    CU_ASSERT_TRUE(json_object_get_boolean_member(fx->json, "ready"));
    CU_ASSERT_EQUAL(json_array_get_length(json_object_get_array_member(fx->json, "applied")), 1);
    CU_ASSERT_STRING_EQUAL(
        json_array_get_string_element(json_object_get_array_member(fx->json, "applied"), 0),
        "maximum");
    CU_ASSERT_EQUAL(fx_run(fx, "prepare", "off1", "--max", "6"), 0);
    CUNIT_ASSERT_NOT_CONTAINS(fx->out, "is running");
    CUNIT_ASSERT_CONTAINS(fx->out, "full shutdown and start");
    fx_free(fx);
}

/* Adding the channel is the test driver's missing call: a failure before
 * anything changed is exit 5, after a step that worked exit 6. */
static void
test_prepare_channel_failure(void)
{
    Fx *fx = fx_new();
    Dom ready = { .name = "web1",
                  .current = 2,
                  .max = 4,
                  .sockets = 4,
                  .cores = 1,
                  .threads = 1,
                  .vcpus = PREPARED_VCPUS };
    Dom fresh = { .name = "web1", .current = 2, .max = 2 };
    g_autoptr(JsonObject) rec = NULL;

    fx_domain(fx, &ready);
    CU_ASSERT_EQUAL(fx_run(fx, "--json", "prepare", "web1", "--max", "4"), 5);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fx->json);
    CUNIT_ASSERT_CONTAINS(json_object_get_string_member(fx->json, "error"),
                          "libvirt could not change the agent channel of domain 'web1'");
    CUNIT_ASSERT_CONTAINS(json_object_get_string_member(fx->json, "error"), "nothing changed");
    CU_ASSERT_FALSE(json_object_get_boolean_member(fx->json, "ready"));
    rec = fx_audit_last(fx, 1);
    CU_ASSERT_STRING_EQUAL(json_object_get_string_member(rec, "outcome"), "failed");

    fx_domain(fx, &fresh);
    CU_ASSERT_EQUAL(fx_run(fx, "prepare", "web1", "--max", "8"), 6);
    CU_ASSERT_TRUE(err_has(fx, "already in its persistent definition: the new maximum, layout; "
                               "run prepare again once the cause is fixed"));
    json_object_unref(rec);
    rec = fx_audit_last(fx, 2);
    CU_ASSERT_STRING_EQUAL(json_object_get_string_member(rec, "outcome"), "partial");
    CU_ASSERT_EQUAL(json_object_get_int_member(rec, "actual"), 8);
    fx_free(fx);
}

static void
test_prepare_refusals(void)
{
    Fx *fx = fx_new();
    Dom d = { .name = "web1",
              .current = 4,
              .max = 4,
              .sockets = 2,
              .cores = 2,
              .threads = 1,
              .agent_socket = "/nonexistent/agent.sock" };
    Dom tr = { .name = "web1", .transient = TRUE };
    g_autofree char *path = g_build_filename(fx->lock, UUID1 ".lock", NULL);
    int fd;

    fx_domain(fx, &d);
    CU_ASSERT_EQUAL(fx_run(fx, "prepare", "web1"), 2);
    CU_ASSERT_TRUE(err_has(fx, "requires <count> option"));
    fx_run(fx, "prepare", "web1", "--max", "7");
    expect_refused(fx, "requested a maximum of 7 vCPUs but domain 'web1' has 2 vCPUs per socket",
                   1);
    fx_run(fx, "prepare", "web1", "--max", "1", "--sockets");
    expect_refused(fx, "is defined with 4; the maximum cannot be below the current count", 2);
    fx_run(fx, "prepare", "web1", "--max", "17", "--sockets");
    expect_refused(fx, "the hypervisor (type 'test') allows at most 32 for domain 'web1'", 3);
    fx_run(fx, "prepare", "nosuch", "--max", "8");
    expect_refused(fx, "domain 'nosuch' not found", 4);
    /* the host's size: a warning only (16 logical CPUs on the test node) */
    CU_ASSERT_EQUAL(fx_run(fx, "prepare", "web1", "--max", "20", "--dry-run"), 0);
    CU_ASSERT_TRUE(err_has(fx, "a maximum of 20 vCPUs for domain 'web1' is more than the host's 16 "
                               "logical CPUs"));
    /* one change at a time per domain, with set */
    g_mkdir_with_parents(fx->lock, 0755);
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_EQUAL(flock(fd, LOCK_EX | LOCK_NB), 0);
    fx_run(fx, "prepare", "web1", "--max", "8");
    expect_refused(fx, "another hotcpu-ctl command is already changing domain 'web1'", 5);
    CU_ASSERT_EQUAL(fx_run(fx, "prepare", "web1", "--max", "8", "--dry-run"), 0);
    close(fd);
    fx_domain(fx, &tr);
    fx_run(fx, "prepare", "web1", "--max", "8");
    expect_refused(fx, "domain 'web1' is transient: it has no persistent definition to prepare", 6);
    fx_free(fx);
}

/* ---- audit log ----------------------------------------------------------- */

static void
test_audit_unwritable(void)
{
    Fx *fx = fx_new();
    Dom d = { .name = "web1" };

    fx_domain(fx, &d);
    g_free(fx->audit);
    fx->audit = g_strdup("/proc/hotcpu-no/audit.log");
    CU_ASSERT_EQUAL(fx_run(fx, "set", "web1", "4"), 3);
    CU_ASSERT_TRUE(err_has(fx, "audit log"));
    CU_ASSERT_TRUE(err_has(fx, "nothing changed"));
    fx_free(fx);
}

static void
test_audit_appends(void)
{
    Fx *fx = fx_new();
    Dom d = { .name = "web1" };
    g_autoptr(GPtrArray) recs = NULL;

    fx_domain(fx, &d);
    fx_run(fx, "set", "web1", "4");
    fx_run(fx, "set", "web1", "9");
    fx_run(fx, "set", "nosuch", "1");
    recs = fx_audit(fx);
    CU_ASSERT_EQUAL_FATAL(recs->len, 3);
    CU_ASSERT_STRING_EQUAL(json_object_get_string_member(recs->pdata[0], "outcome"), "done");
    /* the controller's host: two controllers on one domain show in the log */
    CU_ASSERT_STRING_EQUAL(json_object_get_string_member(recs->pdata[0], "host"),
                           g_get_host_name());
    /* and the hypervisor's, as libvirt names it: after a migration the
     * records of one domain show each host it ran on */
    {
        g_autofree char *uri = g_strdup_printf("test://%s", fx->node);
        virConnectPtr conn = virConnectOpen(uri);
        char *hv = conn ? virConnectGetHostname(conn) : NULL;

        CU_ASSERT_PTR_NOT_NULL_FATAL(hv);
        CU_ASSERT_STRING_EQUAL(
            json_object_get_string_member_with_default(recs->pdata[0], "hypervisor-host", "(none)"),
            hv);
        CU_ASSERT_STRING_EQUAL(
            json_object_get_string_member_with_default(recs->pdata[1], "hypervisor-host", "(none)"),
            hv);
        free(hv);
        virConnectClose(conn);
    }
    CU_ASSERT_STRING_EQUAL(json_object_get_string_member(recs->pdata[1], "outcome"), "refused");
    CU_ASSERT_STRING_EQUAL(json_object_get_string_member(recs->pdata[2], "domain"), "nosuch");
    CU_ASSERT_TRUE(json_object_get_null_member(recs->pdata[2], "uuid"));
    fx_free(fx);
}

/* ---- with the real agent --------------------------------------------------- */

static void
test_agent_get_topology_guest_set(void)
{
    Fx *fx = fx_new();
    Agent *a = agent_start(fx, fake_sysfs_new_simple(4, 2, 8));
    Dom d = { .name = "web1", .agent_socket = a->socket };

    fx_domain(fx, &d);
    CU_ASSERT_EQUAL(fx_run(fx, "get", "web1"), 0);
    CUNIT_ASSERT_CONTAINS(fx->out, "guest        online         2");
    CU_ASSERT_EQUAL(fx_run(fx, "--json", "get", "web1"), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fx->json);
    CU_ASSERT_EQUAL(
        json_object_get_int_member(json_object_get_object_member(fx->json, "guest"), "online"), 2);

    CU_ASSERT_EQUAL(fx_run(fx, "topology", "web1"), 0);
    CUNIT_ASSERT_CONTAINS(fx->out, "CPU ONLINE SOCKET CORE THREAD SIBLINGS  NODE");
    CUNIT_ASSERT_CONTAINS(fx->out, "  0 yes");
    CUNIT_ASSERT_CONTAINS(fx->out, "  3 no");
    CUNIT_ASSERT_CONTAINS(fx->out, "On-line CPU(s) list:   0-1");
    CUNIT_ASSERT_CONTAINS(fx->out, "Present CPU(s) list:   0-3");
    CU_ASSERT_EQUAL(fx_run(fx, "--json", "topology", "web1"), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fx->json);
    CU_ASSERT_EQUAL(json_object_get_int_member(fx->json, "online-count"), 2);
    CU_ASSERT_EQUAL(json_object_get_int_member(fx->json, "present-count"), 4);

    /* The test driver has no virDomainOpenChannel: the socket from the
     * live XML is used, and --verbose says so. */
    CU_ASSERT_EQUAL(fx_run(fx, "--verbose", "topology", "web1"), 0);
    CU_ASSERT_TRUE(err_has(fx, "through the unix socket"));
    CU_ASSERT_TRUE(err_has(fx, "the libvirt driver has no virDomainOpenChannel"));
    CU_ASSERT_FALSE(err_has(fx, "channel stream"));

    CU_ASSERT_EQUAL(fx_run(fx, "guest-set", "web1", "3"), 0);
    CU_ASSERT_EQUAL(fake_sysfs_get_online(a->tree, 2), 1);
    CU_ASSERT_EQUAL(fake_sysfs_get_online(a->tree, 3), 0);
    CU_ASSERT_EQUAL(fx_run(fx, "guest-set", "web1", "9"), 3);
    CU_ASSERT_TRUE(err_has(fx, "refused 9 online CPUs"));
    agent_stop(a);
    fx_free(fx);
}

static void
test_agent_absent(void)
{
    Fx *fx = fx_new();
    g_autofree char *sock = g_build_filename(fx->dir, "nobody.sock", NULL);
    Dom d = { .name = "web1", .agent_socket = sock };
    Dom bare = { .name = "web1" };

    fx_domain(fx, &d);
    CU_ASSERT_EQUAL(fx_run(fx, "topology", "web1"), 7);
    CU_ASSERT_TRUE(err_has(fx, "the hotcpu agent of domain 'web1' did not answer"));
    CU_ASSERT_TRUE(err_has(fx, "check that hotcpu-agent is installed and running in the guest"));
    CU_ASSERT_EQUAL(fx_run(fx, "--json", "topology", "web1"), 7);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fx->json);
    CU_ASSERT_EQUAL(json_object_get_int_member(fx->json, "exit"), 7);
    CU_ASSERT_EQUAL(fx_run(fx, "guest-set", "web1", "2"), 7);
    fx_domain(fx, &bare);
    CU_ASSERT_EQUAL(fx_run(fx, "topology", "web1"), 7);
    CU_ASSERT_TRUE(err_has(fx, "has no hotcpu agent channel"));
    fx_free(fx);
}

static void
test_agent_set_plug_confirmed(void)
{
    Fx *fx = fx_new();
    /* the guest already sees 4 present CPUs (the fake tree cannot grow by
     * itself), 2 online: the controller has the agent online the others */
    Agent *a = agent_start(fx, fake_sysfs_new_simple(4, 2, 8));
    Dom d = { .name = "web1", .agent_socket = a->socket };
    g_autoptr(JsonObject) rec = NULL;

    fx_domain(fx, &d);
    CU_ASSERT_EQUAL(fx_run(fx, "set", "web1", "4", "--require-guest", "--timeout", "10"), 0);
    CUNIT_ASSERT_CONTAINS(fx->out, "The guest confirmed 4 CPUs present and online");
    CU_ASSERT_EQUAL(fake_sysfs_get_online(a->tree, 3), 1);
    rec = fx_audit_last(fx, 1);
    CU_ASSERT_STRING_EQUAL(json_object_get_string_member(rec, "guest"), "confirmed");
    CU_ASSERT_EQUAL(json_object_get_int_member(rec, "guest-online"), 4);
    agent_stop(a);
    fx_free(fx);
}

typedef struct {
    char *tree;
    guint from, to; /* eject CPUs to..from-1 once they are offline */
} Ejector;

/* Plays the guest kernel and QEMU of an unplug: once the agent has offlined
 * the CPUs, they vanish from the tree. */
static gpointer
eject_thread(gpointer data)
{
    Ejector *e = data;

    for (int i = 0; i < 1000; i++) {
        gboolean all_off = TRUE;
        for (guint c = e->to; c < e->from; c++)
            if (fake_sysfs_get_online(e->tree, c) != 0)
                all_off = FALSE;
        if (all_off) {
            g_autofree char *present = g_strdup_printf("0-%u", e->to - 1);
            /* masks first: the agent lists the present mask's CPUs */
            fake_sysfs_set_masks(e->tree, present, present, NULL);
            for (guint c = e->to; c < e->from; c++)
                fake_sysfs_remove_cpu(e->tree, c);
            return GINT_TO_POINTER(1);
        }
        g_usleep(10 * 1000);
    }
    return NULL;
}

static void
test_agent_set_unplug(void)
{
    Fx *fx = fx_new();
    Agent *a = agent_start(fx, fake_sysfs_new_simple(4, 4, 8));
    Dom d = { .name = "web1", .current = 4, .agent_socket = a->socket };
    Ejector ej = { a->tree, 4, 2 };
    g_autoptr(JsonObject) rec = NULL;
    GThread *t;

    fx_domain(fx, &d);
    /* no OS metadata, but the agent answers: a Linux guest, unplug allowed */
    t = g_thread_new("eject", eject_thread, &ej);
    CU_ASSERT_EQUAL(fx_run(fx, "set", "web1", "2", "--timeout", "10"), 0);
    CU_ASSERT_PTR_NOT_NULL(g_thread_join(t));
    rec = fx_audit_last(fx, 1);
    CU_ASSERT_STRING_EQUAL(json_object_get_string_member(rec, "guest"), "confirmed");
    CU_ASSERT_EQUAL(json_object_get_int_member(rec, "guest-present"), 2);
    agent_stop(a);
    fx_free(fx);
}

static void
test_agent_set_guest_not_converged(void)
{
    Fx *fx = fx_new();
    /* nobody ejects: the guest keeps 4 present */
    Agent *a = agent_start(fx, fake_sysfs_new_simple(4, 4, 8));
    Dom d = { .name = "web1", .current = 4, .agent_socket = a->socket };
    g_autoptr(JsonObject) rec = NULL;

    fx_domain(fx, &d);
    CU_ASSERT_EQUAL(fx_run(fx, "set", "web1", "2", "--timeout", "2"), 6);
    CU_ASSERT_TRUE(err_has(fx, "its guest has 2 CPUs online and 4 present, not 2"));
    rec = fx_audit_last(fx, 1);
    CU_ASSERT_EQUAL(json_object_get_int_member(rec, "actual"), 2);
    CU_ASSERT_EQUAL(json_object_get_int_member(rec, "guest-present"), 4);
    agent_stop(a);
    fx_free(fx);
}

static void
register_usage_suite(void)
{
    static const CunitTest tests[] = {
        { "usage errors, help, json", test_usage },
        { NULL, NULL },
    };

    cunit_add_suite("usage", tests);
}

static void
register_set_suite(void)
{
    static const CunitTest tests[] = {
        { "plug ok, audit record", test_set_plug_ok },
        { "json output", test_set_json },
        { "refused: existence and state", test_set_refusals_state },
        { "refused: limits", test_set_refusals_limits },
        { "sockets", test_set_sockets },
        { "guest os matrix", test_set_guest_os },
        { "vcpupin", test_set_pins },
        { "hot-pluggable vCPUs", test_set_hotpluggable },
        { "no <vcpus>: as before", test_set_no_vcpus_element },
        { "host policy", test_set_policy },
        { "lock held", test_set_lock },
        { "config", test_set_config },
        { "config on a shut-off domain", test_set_config_offline },
        { "before hook veto", test_set_hook_veto },
        { "hooks ok, after hook failure", test_set_hooks_ok_and_after_failure },
        { "hypervisor failure", test_set_hypervisor_failure },
        { "unplug timeout converges", test_set_unplug_timeout_converges },
        { "unplug not converged", test_set_unplug_not_converged },
        { NULL, NULL },
    };

    cunit_add_suite("set", tests);
}

static void
register_prepare_suite(void)
{
    static const CunitTest tests[] = {
        { "running domain, dry run, json", test_prepare_running },
        { "ready: nothing to change", test_prepare_ready },
        { "shut off: the maximum through the API", test_prepare_shut_off },
        { "channel failure: nothing changed / partial", test_prepare_channel_failure },
        { "refusals", test_prepare_refusals },
        { NULL, NULL },
    };

    cunit_add_suite("prepare", tests);
}

static void
register_audit_suite(void)
{
    static const CunitTest tests[] = {
        { "unwritable log refuses", test_audit_unwritable },
        { "one line per attempt", test_audit_appends },
        { NULL, NULL },
    };

    cunit_add_suite("audit", tests);
}

static void
register_agent_suite(void)
{
    static const CunitTest tests[] = {
        { "get, topology, guest-set", test_agent_get_topology_guest_set },
        { "agent absent", test_agent_absent },
        { "set plug confirmed", test_agent_set_plug_confirmed },
        { "set unplug with eject", test_agent_set_unplug },
        { "set guest not converged", test_agent_set_guest_not_converged },
        { NULL, NULL },
    };

    cunit_add_suite("agent", tests);
}

static const CunitSuite suites[] = {
    { "usage", register_usage_suite },     { "set", register_set_suite },
    { "prepare", register_prepare_suite }, { "audit", register_audit_suite },
    { "agent", register_agent_suite },     { NULL, NULL },
};

int
main(int argc, char **argv)
{
    if (!fx_init())
        return 1;
    return cunit_run(argc, argv, suites);
}
