/* test_ctl_stale.c: libvirt 9.0 after a vCPU unplug QEMU did not confirm
 * (issue 17), through the setVcpus shim (setvcpus_mock.c, modes "stale"
 * and "stale-after"): the first unplug times out and libvirt keeps its
 * count although QEMU removed the vCPU; every retry then fails at once
 * ("An error occurred, but the cause is unknown").  `set` must not spin on
 * that: it backs off, and a retry that fails at once the same way ends the
 * loop.  With a guest agent it knows libvirt's count is stale and says so;
 * never "nothing changed". */
#include <string.h>

#include "ctl_fixture.h"
#include "cunit_runner.h"
#include "fake_sysfs.h"

/* Retries allowed after libvirt's first failure: the one that shows the
 * failure is immediate, the one that shows it repeats. */
#define MAX_UNPLUG_CALLS 4

static guint
unplug_calls(Fx *fx)
{
    g_autofree char *text = NULL;
    guint n = 0;

    if (!g_file_get_contents(fx->mock_log, &text, NULL, NULL))
        return 0;
    for (const char *p = text; *p; p++)
        n += *p == '\n';
    return n;
}

static const char *
rec_error(JsonObject *rec)
{
    const char *e
        = json_object_has_member(rec, "error") && !json_object_get_null_member(rec, "error")
              ? json_object_get_string_member(rec, "error")
              : NULL;
    return e ? e : "";
}

/* No guest agent: libvirt's count cannot be checked against the guest;
 * the loop still ends after the repeated immediate failure, exit 6, and
 * the record keeps libvirt's count and its words. */
static void
test_stale_no_agent_does_not_spin(void)
{
    Fx *fx = fx_new();
    Dom d = { .name = "web1", .current = 4, .max = 8, .os_id = "http://debian.org/debian/12" };
    g_autoptr(JsonObject) rec = NULL;
    guint calls;

    fx_domain(fx, &d);
    fx->mock = "stale";
    CU_ASSERT_EQUAL(fx_run(fx, "--json", "set", "web1", "2", "--timeout", "20"), 6);
    calls = unplug_calls(fx);
    if (calls > MAX_UNPLUG_CALLS)
        fprintf(stderr, "set asked libvirt %u times for the unplug\n", calls);
    CU_ASSERT_TRUE(calls >= 2 && calls <= MAX_UNPLUG_CALLS);
    rec = fx_audit_last(fx, 1);
    CU_ASSERT_STRING_EQUAL(json_object_get_string_member(rec, "outcome"), "not-converged");
    CU_ASSERT_EQUAL(json_object_get_int_member(rec, "actual"), 4);
    CUNIT_ASSERT_CONTAINS(rec_error(rec), "An error occurred, but the cause is unknown");
    CUNIT_ASSERT_CONTAINS(rec_error(rec), "until libvirtd restarts");
    CUNIT_ASSERT_NOT_CONTAINS(rec_error(rec), "nothing changed");
    fx_free(fx);
}

/* With hotcpu-agent: the guest has 3 CPUs present (QEMU ejected vCPU 3)
 * and 2 online while libvirt still counts 4.  `set` says that libvirt's
 * count is stale and what to do, records it, exits 6. */
static void
test_stale_with_agent_says_so(void)
{
    Fx *fx = fx_new();
    Agent *a = agent_start(fx, fake_sysfs_new_simple(3, 2, 8));
    Dom d = { .name = "web1", .current = 4, .max = 8, .agent_socket = a->socket };
    g_autoptr(JsonObject) rec = NULL;
    guint calls;

    fx_domain(fx, &d);
    fx->mock = "stale";
    CU_ASSERT_EQUAL(fx_run(fx, "set", "web1", "2", "--timeout", "20"), 6);
    calls = unplug_calls(fx);
    if (calls > MAX_UNPLUG_CALLS)
        fprintf(stderr, "set asked libvirt %u times for the unplug\n", calls);
    CU_ASSERT_TRUE(calls >= 2 && calls <= MAX_UNPLUG_CALLS);
    CU_ASSERT_TRUE(err_has(fx, "libvirt keeps a stale count of 4 vCPUs for domain 'web1'"));
    CU_ASSERT_TRUE(err_has(fx, "restart libvirtd"));
    rec = fx_audit_last(fx, 1);
    CU_ASSERT_STRING_EQUAL(json_object_get_string_member(rec, "outcome"), "not-converged");
    CU_ASSERT_EQUAL(json_object_get_int_member(rec, "actual"), 4);
    CU_ASSERT_EQUAL(json_object_get_int_member(rec, "guest-present"), 3);
    CU_ASSERT_TRUE(json_object_has_member(rec, "libvirt-count-stale")
                   && json_object_get_boolean_member(rec, "libvirt-count-stale"));
    CUNIT_ASSERT_CONTAINS(rec_error(rec), "stale count of 4 vCPUs");
    agent_stop(a);
    fx_free(fx);
}

/* The next `set` in that state: libvirt fails at once with nothing
 * changed on its side, but its count is already wrong: exit 6 with the
 * same sentence, never 5 "nothing changed". */
static void
test_stale_second_set_is_not_unchanged(void)
{
    Fx *fx = fx_new();
    Agent *a = agent_start(fx, fake_sysfs_new_simple(3, 2, 8));
    Dom d = { .name = "web1", .current = 4, .max = 8, .agent_socket = a->socket };
    g_autoptr(JsonObject) rec = NULL;

    fx_domain(fx, &d);
    fx->mock = "stale-after";
    CU_ASSERT_EQUAL(fx_run(fx, "set", "web1", "2", "--timeout", "20"), 6);
    CU_ASSERT_TRUE(unplug_calls(fx) <= MAX_UNPLUG_CALLS);
    CUNIT_ASSERT_NOT_CONTAINS(fx->err, "nothing changed");
    CU_ASSERT_TRUE(err_has(fx, "libvirt keeps a stale count of 4 vCPUs for domain 'web1'"));
    rec = fx_audit_last(fx, 1);
    CU_ASSERT_STRING_EQUAL(json_object_get_string_member(rec, "outcome"), "not-converged");
    CU_ASSERT_EQUAL(json_object_get_int_member(rec, "actual"), 4);
    agent_stop(a);
    fx_free(fx);
}

/* Failures that never repeat the same words do not end the loop early, but
 * the retries back off: a handful in 4 s, not thousands. */
static void
test_retries_back_off(void)
{
    Fx *fx = fx_new();
    Dom d = { .name = "web1", .current = 4, .max = 8, .os_id = "http://debian.org/debian/12" };
    g_autoptr(JsonObject) rec = NULL;
    guint calls;

    fx_domain(fx, &d);
    fx->mock = "restless";
    CU_ASSERT_EQUAL(fx_run(fx, "set", "web1", "2", "--timeout", "4"), 6);
    calls = unplug_calls(fx);
    if (calls > 8)
        fprintf(stderr, "set asked libvirt %u times for the unplug in 4 s\n", calls);
    /* at once, then 250 + 500 + 1000 + 2000 ms of pauses */
    CU_ASSERT_TRUE(calls >= 3 && calls <= 8);
    rec = fx_audit_last(fx, 1);
    CU_ASSERT_STRING_EQUAL(json_object_get_string_member(rec, "outcome"), "not-converged");
    CU_ASSERT_EQUAL(json_object_get_int_member(rec, "actual"), 4);
    fx_free(fx);
}

static void
register_stale_suite(void)
{
    static const CunitTest tests[] = {
        { "libvirt 9.0 stale count, no agent: no spin", test_stale_no_agent_does_not_spin },
        { "libvirt 9.0 stale count, agent: said and recorded", test_stale_with_agent_says_so },
        { "libvirt 9.0 stale count: a second set is not 'nothing changed'",
          test_stale_second_set_is_not_unchanged },
        { "retries back off", test_retries_back_off },
        { NULL, NULL },
    };

    cunit_add_suite("stale", tests);
}

static const CunitSuite suites[] = {
    { "stale", register_stale_suite },
    { NULL, NULL },
};

int
main(int argc, char **argv)
{
    if (!fx_init())
        return 1;
    return cunit_run(argc, argv, suites);
}
