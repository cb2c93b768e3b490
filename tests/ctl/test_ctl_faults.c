/* test_ctl_faults.c: the domain going away in the middle of `set` (issue
 * 14), as far as libvirt's test driver can show it: a setVcpus shim
 * destroys the domain and fails the way libvirt does when QEMU dies.  The
 * real cases (QEMU killed, virsh destroy, libvirtd restarted, the agent
 * restarted) are in the e2e suite (tests/e2e/test_faults.c). */
#include <string.h>

#include "ctl_fixture.h"
#include "cunit_runner.h"

/* QEMU dies during the change: one sentence, exit 6, the after hooks see
 * the outcome, and no -1 anywhere. */
static void
test_domain_dies_during_change(void)
{
    Fx *fx = fx_new();
    Dom d
        = { .name = "web1", .current = 4, .max = 8, .os_id = "http://fedoraproject.org/fedora/39" };
    g_autofree char *seen = g_build_filename(fx->dir, "outcome", NULL);
    g_autofree char *hook = g_strdup_printf("#!/bin/sh\necho \"$HOTCPU_OUTCOME\" > '%s'\n", seen);
    g_autofree char *outcome = NULL;
    JsonObject *rec;

    fx_domain(fx, &d);
    write_hook(fx, "after_set_num_of_cpus", "10_outcome", hook);
    fx->mock = "die";
    CU_ASSERT_EQUAL(fx_run(fx, "--json", "set", "web1", "2"), 6);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fx->json);
    CUNIT_ASSERT_CONTAINS(json_object_get_string_member(fx->json, "error"),
                          "domain 'web1' stopped running during the change");
    CUNIT_ASSERT_CONTAINS(json_object_get_string_member(fx->json, "error"),
                          "it had 4 vCPUs, 2 were requested, and it is no longer running");
    CU_ASSERT_TRUE(json_object_get_null_member(fx->json, "actual"));
    CUNIT_ASSERT_NOT_CONTAINS(fx->out, "-1");
    CU_ASSERT_TRUE(g_file_get_contents(seen, &outcome, NULL, NULL));
    CU_ASSERT_STRING_EQUAL(outcome ? g_strstrip(outcome) : "", "domain-stopped");
    rec = fx_audit_last(fx, 1);
    CU_ASSERT_STRING_EQUAL(json_object_get_string_member(rec, "outcome"), "domain-stopped");
    CU_ASSERT_TRUE(json_object_get_null_member(rec, "actual"));
    fx_free(fx);
}

static void
register_faults_suite(void)
{
    static const CunitTest tests[] = {
        { "the domain dies during the change", test_domain_dies_during_change },
        { NULL, NULL },
    };

    cunit_add_suite("faults", tests);
}

static const CunitSuite suites[] = {
    { "faults", register_faults_suite },
    { NULL, NULL },
};

int
main(int argc, char **argv)
{
    if (!fx_init())
        return 1;
    return cunit_run(argc, argv, suites);
}
