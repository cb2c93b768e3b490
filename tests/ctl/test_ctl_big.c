/* test_ctl_big.c: the largest guests end to end (issue 21, item 0).
 *
 * The agent on fake trees of 4096 CPUs (the most QEMU 10 runs on q35) and
 * 8192 (the most the agent takes), libvirt's test driver with a domain of
 * as many vCPUs: topology, get, set with the shipped hooks, and watch read
 * the guest's whole topology, some 100 bytes a CPU on one line (set's
 * guest side through guest-set and the hook: see check_guest_set).  A host that
 * read at most 64 KiB a line failed from some 600 CPUs on, and called a
 * reply too long "did not answer".  The time and memory these take are
 * measured by bench/big-guest, not asserted here.
 */
#include <CUnit/Basic.h>
#include <signal.h>
#include <string.h>

#include "cunit_runner.h"
#include "fake_sysfs.h"

#include "ctl_fixture.h"

/* A domain "big" of @max vCPUs, @current of them live, and the agent on a
 * tree of @present CPUs, @online of them online. */
static Agent *
big_guest(Fx *fx, guint max, guint current, guint present, guint online)
{
    Agent *a = agent_start(fx, fake_sysfs_new_simple(present, online, max));
    Dom d = { .name = "big", .current = current, .max = max, .agent_socket = a->socket };

    fx_domain(fx, &d);
    return a;
}

/* @n of the guest's CPUs online. */
static void
check_topology(Fx *fx, guint n)
{
    g_autofree char *last_row = g_strdup_printf("%4u yes", n - 1);
    g_autofree char *online = g_strdup_printf("On-line CPU(s) list:   0-%u", n - 1);

    CU_ASSERT_EQUAL(fx_run(fx, "topology", "big"), 0);
    CUNIT_ASSERT_CONTAINS(fx->out, online);
    CUNIT_ASSERT_CONTAINS(fx->out, last_row);
    CU_ASSERT_EQUAL(fx_run(fx, "--json", "topology", "big"), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fx->json);
    CU_ASSERT_EQUAL(json_object_get_int_member(fx->json, "online-count"), n);
    CU_ASSERT_EQUAL(json_object_get_int_member(fx->json, "present-count"), n + 2);
}

static void
check_get(Fx *fx, guint n)
{
    CU_ASSERT_EQUAL(fx_run(fx, "--json", "get", "big"), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fx->json);
    CU_ASSERT_EQUAL(
        json_object_get_int_member(json_object_get_object_member(fx->json, "guest"), "online"), n);
}

/* The guest side of set from @n - 2 to @n CPUs, as far as libvirt's test
 * driver lets it run: it changes no live count beyond 32 vCPUs, so the
 * hypervisor's step of `set` cannot be taken on a domain this big.  What
 * reads the guest is the same: guest-set (the lock, the agent's
 * set-num-cpus and its topology reply, the check, the audit record), and
 * the shipped after hook as the hook runner starts it. */
static void
check_guest_set(Fx *fx, Agent *a, guint n)
{
    g_autofree char *count = g_strdup_printf("%u", n - 1);
    g_autoptr(JsonObject) rec = NULL;

    CU_ASSERT_EQUAL(fx_run(fx, "guest-set", "big", count), 0);
    if (fx->status != 0)
        fprintf(stderr, "\nguest-set: %s\n", fx->err);
    CU_ASSERT_EQUAL(fake_sysfs_get_online(a->tree, n - 2), 1);
    CU_ASSERT_EQUAL(fake_sysfs_get_online(a->tree, n - 1), 0);
    rec = fx_audit_last(fx, 1);
    CU_ASSERT_EQUAL(json_object_get_int_member(rec, "guest-online"), n - 1);
}

static void
check_after_hook(Fx *fx, Agent *a, guint n)
{
    g_autoptr(GSubprocessLauncher) l = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDOUT_PIPE
                                                                 | G_SUBPROCESS_FLAGS_STDERR_PIPE);
    g_autoptr(GSubprocess) p = NULL;
    g_autoptr(GError) error = NULL;
    g_autofree char *uri = g_strdup_printf("test://%s", fx->node);
    g_autofree char *count = g_strdup_printf("%u", n);
    g_autofree char *previous = g_strdup_printf("%u", n - 1);
    g_autofree char *out = NULL, *err = NULL;

    g_subprocess_launcher_set_environ(l, NULL);
    g_subprocess_launcher_setenv(l, "numberOfCpus", count, TRUE);
    g_subprocess_launcher_setenv(l, "previousNumberOfCpus", previous, TRUE);
    g_subprocess_launcher_setenv(l, "vmName", "big", TRUE);
    g_subprocess_launcher_setenv(l, "vmId", UUID1, TRUE);
    g_subprocess_launcher_setenv(l, "LIBVIRT_DEFAULT_URI", uri, TRUE);
    g_subprocess_launcher_setenv(l, "HOTCPU_AGENT_SOCKET", a->socket, TRUE);
    p = g_subprocess_launcher_spawn(l, &error, g_getenv("HOTCPU_TEST_AFTER_HOOK"), NULL);
    g_assert(p != NULL);
    g_assert(g_subprocess_communicate_utf8(p, NULL, NULL, &out, &err, NULL));
    CU_ASSERT_EQUAL(g_subprocess_get_exit_status(p), 0);
    if (g_subprocess_get_exit_status(p) != 0)
        fprintf(stderr, "\nafter hook: %s%s\n", out, err);
    CU_ASSERT_EQUAL(fake_sysfs_get_online(a->tree, n - 1), 1);
}

/* watch starts with the guest's topology, all @n CPUs online. */
static void
check_watch(Fx *fx, guint n)
{
    g_autoptr(GSubprocess) p = fx_spawn_v(fx, (const char *const[]){ "watch", "big", NULL });
    g_autofree char *online = g_strdup_printf("%u of %u CPUs online (online 0-%u", n, n, n - 1);

    g_usleep(3000 * 1000);
    g_subprocess_send_signal(p, SIGTERM);
    fx_finish(fx, p);
    CU_ASSERT_EQUAL(fx->status, 0);
    CUNIT_ASSERT_CONTAINS(fx->out, online);
    CUNIT_ASSERT_NOT_CONTAINS(fx->err, "did not answer");
}

static void
check_big(guint n)
{
    Fx *fx = fx_new();
    Agent *a = big_guest(fx, n, n - 2, n, n - 2);

    check_topology(fx, n - 2);
    check_get(fx, n - 2);
    check_guest_set(fx, a, n);
    check_after_hook(fx, a, n);
    check_watch(fx, n);
    agent_stop(a);
    fx_free(fx);
}

static void
test_4096(void)
{
    check_big(4096);
}

static void
test_8192(void)
{
    check_big(8192);
}

/* A guest of 8 vCPUs that sends a topology of 768 CPUs sends more than
 * such a domain's bound: refused, and said as what it is. */
static void
test_reply_over_bound(void)
{
    Fx *fx = fx_new();
    Agent *a = agent_start(fx, fake_sysfs_new_simple(768, 768, 768));
    Dom d = { .name = "small", .current = 8, .max = 8, .agent_socket = a->socket };

    fx_domain(fx, &d);
    CU_ASSERT_EQUAL(fx_run(fx, "topology", "small"), 7);
    CU_ASSERT_TRUE(err_has(fx, "domain 'small'"));
    CU_ASSERT_TRUE(err_has(fx, "exceeds the limit of"));
    CU_ASSERT_TRUE(err_has(fx, "for a domain of 8 vCPUs"));
    CUNIT_ASSERT_NOT_CONTAINS(fx->err, "did not answer");
    agent_stop(a);
    fx_free(fx);
}

static void
register_big_suite(void)
{
    static const CunitTest tests[] = {
        { "a guest of 4096 CPUs: topology, get, guest-set, hook, watch", test_4096 },
        { "a guest of 8192 CPUs: topology, get, guest-set, hook, watch", test_8192 },
        { "a reply over the domain's bound is said as such", test_reply_over_bound },
        { NULL, NULL },
    };

    cunit_add_suite("big", tests);
}

static const CunitSuite suites[] = {
    { "big", register_big_suite },
    { NULL, NULL },
};

int
main(int argc, char **argv)
{
    if (!fx_init())
        return 1;
    return cunit_run(argc, argv, suites);
}
