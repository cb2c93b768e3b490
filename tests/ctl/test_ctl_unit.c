/* test_ctl_unit.c: hotcpu-ctl's pure parts: domain XML reading, the guest
 * OS support matrix (the shipped file), the policy file, the checks. */
#include <CUnit/Basic.h>
#include <libvirt/libvirt.h>
#include <string.h>

#include "checks.h"
#include "cunit_runner.h"
#include "domain_edit.h"
#include "domain_info.h"
#include "policy.h"
#include "support_matrix.h"

static const char *matrix_path;

/* ---- domain_info ------------------------------------------------------- */

static const char full_xml[]
    = "<domain type='kvm' id='3'>\n"
      "  <name>web1</name>\n"
      "  <uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid>\n"
      "  <metadata>\n"
      "    <libosinfo:libosinfo "
      "xmlns:libosinfo=\"http://libosinfo.org/xmlns/libvirt/domain/1.0\">\n"
      "      <libosinfo:os id=\"http://redhat.com/rhel/6.5\"/>\n"
      "    </libosinfo:libosinfo>\n"
      "    <other:thing xmlns:other='urn:x'><other:os id='nope'/></other:thing>\n"
      "  </metadata>\n"
      "  <memory unit='KiB'>1048576</memory>\n"
      "  <vcpu placement='static' current='4'>8</vcpu>\n"
      "  <cputune>\n"
      "    <vcpupin vcpu='3' cpuset='0'/>\n"
      "    <vcpupin vcpu='1' cpuset='1'/>\n"
      "    <emulatorpin cpuset='0'/>\n"
      "  </cputune>\n"
      "  <cpu mode='custom'><topology sockets='4' dies='1' clusters='1' cores='2' "
      "threads='1'/></cpu>\n"
      "  <devices>\n"
      "    <channel type='unix'>\n"
      "      <source mode='bind' path='/run/libvirt/qemu/channel/3-web1/org.qemu.guest_agent.0'/>\n"
      "      <target type='virtio' name='org.qemu.guest_agent.0'/>\n"
      "    </channel>\n"
      "    <channel type='unix'>\n"
      "      <source mode='bind' path='/run/libvirt/qemu/channel/3-web1/org.hotcpu.agent.0'/>\n"
      "      <target type='virtio' name='org.hotcpu.agent.0' state='connected'/>\n"
      "      <address type='virtio-serial' controller='0' bus='0' port='2'/>\n"
      "    </channel>\n"
      "  </devices>\n"
      "</domain>\n";

static void
test_domain_info_full(void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(DomainInfo) info = domain_info_parse(full_xml, &error);

    CU_ASSERT_PTR_NOT_NULL_FATAL(info);
    CU_ASSERT_STRING_EQUAL(info->name, "web1");
    CU_ASSERT_STRING_EQUAL(info->uuid, "6695eb01-f6a4-8304-79aa-97f2502e193f");
    CU_ASSERT_STRING_EQUAL(info->type, "kvm");
    CU_ASSERT_EQUAL(info->vcpu_max, 8);
    CU_ASSERT_EQUAL(info->vcpu_current, 4);
    CU_ASSERT_TRUE(info->has_topology);
    CU_ASSERT_EQUAL(info->sockets, 4);
    CU_ASSERT_EQUAL(info->cores, 2);
    CU_ASSERT_EQUAL(info->threads, 1);
    CU_ASSERT_EQUAL(domain_info_vcpus_per_socket(info), 2);
    CU_ASSERT_EQUAL(info->pinned_vcpus->len, 2);
    CU_ASSERT_TRUE(domain_info_vcpu_pinned(info, 1));
    CU_ASSERT_TRUE(domain_info_vcpu_pinned(info, 3));
    CU_ASSERT_FALSE(domain_info_vcpu_pinned(info, 2));
    CU_ASSERT_STRING_EQUAL(info->agent_socket,
                           "/run/libvirt/qemu/channel/3-web1/org.hotcpu.agent.0");
    CU_ASSERT_STRING_EQUAL(info->os_id, "http://redhat.com/rhel/6.5");
}

static void
test_domain_info_minimal(void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(DomainInfo) info = domain_info_parse(
        "<domain type='test'><name>a</name><vcpu>2</vcpu>"
        "<devices><channel type='unix'><target type='virtio' name='org.hotcpu.agent.0'/>"
        "</channel></devices></domain>",
        &error);

    CU_ASSERT_PTR_NOT_NULL_FATAL(info);
    CU_ASSERT_EQUAL(info->vcpu_max, 2);
    CU_ASSERT_EQUAL(info->vcpu_current, 2);
    CU_ASSERT_FALSE(info->has_topology);
    CU_ASSERT_EQUAL(domain_info_vcpus_per_socket(info), 1);
    CU_ASSERT_PTR_NULL(info->agent_socket); /* channel without a <source> */
    CU_ASSERT_PTR_NULL(info->os_id);
    CU_ASSERT_EQUAL(info->pinned_vcpus->len, 0);
}

static void
test_domain_info_other_prefix(void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(DomainInfo) info = domain_info_parse(
        "<domain><name>a</name><vcpu>2</vcpu><metadata>"
        "<lo:libosinfo xmlns:lo='http://libosinfo.org/xmlns/libvirt/domain/1.0'>"
        "<lo:os id='http://microsoft.com/win/2k8'/></lo:libosinfo>"
        "</metadata></domain>",
        &error);

    CU_ASSERT_PTR_NOT_NULL_FATAL(info);
    CU_ASSERT_STRING_EQUAL(info->os_id, "http://microsoft.com/win/2k8");
}

static void
test_domain_info_wrong_namespace(void)
{
    g_autoptr(DomainInfo) info = domain_info_parse(
        "<domain><name>a</name><vcpu>2</vcpu><metadata>"
        "<libosinfo:libosinfo xmlns:libosinfo='urn:not-libosinfo'>"
        "<libosinfo:os id='http://microsoft.com/win/2k8'/></libosinfo:libosinfo>"
        "</metadata></domain>",
        NULL);

    CU_ASSERT_PTR_NOT_NULL_FATAL(info);
    CU_ASSERT_PTR_NULL(info->os_id);
}

static void
test_domain_info_errors(void)
{
    g_autoptr(GError) e1 = NULL;
    g_autoptr(GError) e2 = NULL;
    g_autoptr(GError) e3 = NULL;
    g_autoptr(GError) e4 = NULL;

    CU_ASSERT_PTR_NULL(domain_info_parse("<domain><vcpu>", &e1));
    CU_ASSERT_PTR_NOT_NULL(e1);
    CU_ASSERT_PTR_NULL(domain_info_parse("<network/>", &e2));
    CU_ASSERT_PTR_NOT_NULL(e2);
    CU_ASSERT_PTR_NULL(domain_info_parse("<domain><vcpu current='x'>2</vcpu></domain>", &e3));
    CU_ASSERT_PTR_NOT_NULL(e3);
    CU_ASSERT_PTR_NULL(domain_info_parse("<domain><vcpu>lots</vcpu></domain>", &e4));
    CU_ASSERT_PTR_NOT_NULL(e4);
}

/* ---- support matrix ------------------------------------------------------ */

static SupportMatrix *
shipped_matrix(void)
{
    g_autoptr(GError) error = NULL;
    SupportMatrix *m = support_matrix_load(matrix_path, &error);

    if (!m)
        fprintf(stderr, "%s\n", error->message);
    return m;
}

static void
expect_arch(const SupportMatrix *m, const char *id, const char *arch, gboolean found, gboolean plug,
            gboolean unplug)
{
    SupportVerdict v = support_matrix_lookup(m, id, arch);

    if (v.found != found || (found && (v.plug != plug || v.unplug != unplug)))
        fprintf(stderr, "matrix: %s on %s: found %d plug %d unplug %d (row %s)\n", id, arch,
                v.found, v.plug, v.unplug, v.row);
    CU_ASSERT_EQUAL(v.found, found);
    if (found) {
        CU_ASSERT_EQUAL(v.plug, plug);
        CU_ASSERT_EQUAL(v.unplug, unplug);
    }
}

/* On x86_64, where most guests run. */
static void
expect(const SupportMatrix *m, const char *id, gboolean found, gboolean plug, gboolean unplug)
{
    expect_arch(m, id, "x86_64", found, plug, unplug);
}

static void
test_matrix_shipped(void)
{
    g_autoptr(SupportMatrix) m = shipped_matrix();

    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    /* the seed's table */
    expect(m, "http://redhat.com/rhel/6.3", TRUE, TRUE, FALSE);
    expect(m, "http://redhat.com/rhel/6.5", TRUE, TRUE, TRUE);
    expect(m, "http://microsoft.com/win/2k3", TRUE, FALSE, FALSE);
    expect(m, "http://microsoft.com/win/2k3r2", TRUE, FALSE, FALSE);
    /* edition/architecture dependent: the most restrictive row */
    expect(m, "http://microsoft.com/win/2k8", TRUE, FALSE, FALSE);
    expect(m, "http://microsoft.com/win/2k8r2", TRUE, FALSE, FALSE);
    expect(m, "http://microsoft.com/win/7", TRUE, FALSE, FALSE);
    expect(m, "http://microsoft.com/win/2k12", TRUE, TRUE, FALSE);
    expect(m, "http://microsoft.com/win/2k12r2", TRUE, TRUE, FALSE);
    expect(m, "http://microsoft.com/win/8", TRUE, TRUE, FALSE);
    expect(m, "http://microsoft.com/win/8.1", TRUE, TRUE, FALSE);
    /* other Linux */
    expect(m, "http://redhat.com/rhel/9.2", TRUE, TRUE, TRUE);
    expect(m, "http://redhat.com/rhel/7.0", TRUE, TRUE, TRUE);
    expect(m, "http://fedoraproject.org/fedora/39", TRUE, TRUE, TRUE);
    expect(m, "http://debian.org/debian/12", TRUE, TRUE, TRUE);
    expect(m, "http://ubuntu.com/ubuntu/22.04", TRUE, TRUE, TRUE);
    expect(m, "http://centos.org/centos/7.0", TRUE, TRUE, TRUE);
    expect(m, "http://suse.com/sles/15.4", TRUE, TRUE, TRUE);
    expect(m, "http://opensuse.org/opensuse/15.5", TRUE, TRUE, TRUE);
    expect(m, "http://archlinux.org/archlinux/rolling", TRUE, TRUE, TRUE);
    expect(m, "http://alpinelinux.org/alpinelinux/3.18", TRUE, TRUE, TRUE);
    expect(m, "http://libosinfo.org/linux/2022", TRUE, TRUE, TRUE);
    /* split by architecture: x86 (i686) and x64 (x86_64) rows */
    expect_arch(m, "http://microsoft.com/win/2k8", "i686", TRUE, FALSE, FALSE);
    expect_arch(m, "http://microsoft.com/win/7", "i686", TRUE, FALSE, FALSE);
    CU_ASSERT_STRING_EQUAL(support_matrix_lookup(m, "http://microsoft.com/win/2k8r2", "i686").row,
                           "Windows Server 2008 R2 x86");
    CU_ASSERT_STRING_EQUAL(support_matrix_lookup(m, "http://microsoft.com/win/7", "x86_64").row,
                           "Windows 7 x64");
    expect_arch(m, "http://microsoft.com/win/2k8", "aarch64", TRUE, FALSE, FALSE);
    expect_arch(m, "http://microsoft.com/win/2k8", NULL, TRUE, FALSE, FALSE);
    expect_arch(m, "http://debian.org/debian/12", "aarch64", TRUE, TRUE, TRUE);
    expect_arch(m, "http://microsoft.com/win/2k12", "i686", TRUE, TRUE, FALSE);
    /* POWER: no hot plug at all, whatever the OS, metadata or not */
    expect_arch(m, "http://debian.org/debian/12", "ppc64le", TRUE, FALSE, FALSE);
    expect_arch(m, "http://redhat.com/rhel/6.5", "ppc64", TRUE, FALSE, FALSE);
    expect_arch(m, NULL, "ppc64le", TRUE, FALSE, FALSE);
    expect_arch(m, NULL, "x86_64", FALSE, FALSE, FALSE);
    /* unknown */
    expect(m, "http://microsoft.com/win/10", FALSE, FALSE, FALSE);
    expect(m, "http://freebsd.org/freebsd/13.2", FALSE, FALSE, FALSE);
    expect(m, NULL, FALSE, FALSE, FALSE);
}

static void
test_matrix_exact_beats_prefix(void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(SupportMatrix) m
        = support_matrix_load_data("[a]\nid-prefixes=http://x/\nplug=true\nunplug=true\n"
                                   "[b]\nid-prefixes=http://x/os/\nplug=true\nunplug=false\n"
                                   "[c]\nids=http://x/os/1\nplug=false\nunplug=false\n",
                                   "test", &error);

    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    expect(m, "http://x/os/1", TRUE, FALSE, FALSE);
    expect(m, "http://x/os/2", TRUE, TRUE, FALSE);
    expect(m, "http://x/other", TRUE, TRUE, TRUE);
    CU_ASSERT_STRING_EQUAL(support_matrix_lookup(m, "http://x/os/2", NULL).row, "b");
}

static void
test_matrix_arches(void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(SupportMatrix) m = support_matrix_load_data(
        "[any]\nid-prefixes=http://x/\nplug=true\nunplug=true\n"
        "[os1]\nids=http://x/os/1\nplug=true\nunplug=false\n"
        "[os1 on i686]\nids=http://x/os/1\narches=i686\nplug=false\nunplug=false\n"
        "[prefix on aarch64]\nid-prefixes=http://x/\narches=aarch64\nplug=true\n"
        "unplug=false\n"
        "[power]\narches=ppc64;ppc64le\nplug=false\nunplug=false\n",
        "test", &error);

    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    /* no arches= row: any architecture; exact beats prefix */
    expect_arch(m, "http://x/os/1", "x86_64", TRUE, TRUE, FALSE);
    expect_arch(m, "http://x/os/2", "x86_64", TRUE, TRUE, TRUE);
    /* the row naming the architecture wins */
    expect_arch(m, "http://x/os/1", "i686", TRUE, FALSE, FALSE);
    CU_ASSERT_STRING_EQUAL(support_matrix_lookup(m, "http://x/os/1", "i686").arch, "i686");
    CU_ASSERT_PTR_NULL(support_matrix_lookup(m, "http://x/os/1", "x86_64").arch);
    /* ... even when it matches only by prefix */
    expect_arch(m, "http://x/os/1", "aarch64", TRUE, TRUE, FALSE);
    /* an architecture-only row: every OS, and no metadata too */
    expect_arch(m, "http://x/os/1", "ppc64le", TRUE, FALSE, FALSE);
    expect_arch(m, "http://y/other", "ppc64", TRUE, FALSE, FALSE);
    expect_arch(m, NULL, "ppc64", TRUE, FALSE, FALSE);
    expect_arch(m, NULL, "x86_64", FALSE, FALSE, FALSE);
    /* no architecture known: ids only, first row in the file on a tie */
    expect_arch(m, "http://x/os/1", NULL, TRUE, TRUE, FALSE);
    expect_arch(m, NULL, NULL, FALSE, FALSE, FALSE);
    CU_ASSERT_STRING_EQUAL(support_matrix_lookup(m, "http://x/os/1", NULL).row, "os1");
}

static void
test_matrix_invalid(void)
{
    g_autoptr(GError) e1 = NULL;
    g_autoptr(GError) e2 = NULL;
    g_autoptr(GError) e3 = NULL;

    CU_ASSERT_PTR_NULL(support_matrix_load_data("[a]\nplug=true\nunplug=true\n", "t", &e1));
    CUNIT_ASSERT_CONTAINS(e1->message, "none of ids=, id-prefixes= and arches=");
    CU_ASSERT_PTR_NOT_NULL(e1);
    CU_ASSERT_PTR_NULL(support_matrix_load_data("[a]\nids=x\nplug=maybe\nunplug=true\n", "t", &e2));
    CU_ASSERT_PTR_NOT_NULL(e2);
    CU_ASSERT_PTR_NULL(support_matrix_load("/nonexistent/matrix.ini", &e3));
    CU_ASSERT_PTR_NOT_NULL(e3);
}

/* ---- policy -------------------------------------------------------------- */

static void
test_policy(void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(Policy) def = policy_load("/nonexistent/hotcpu.conf", TRUE, &error);
    g_autoptr(Policy) strict = NULL;
    g_autoptr(GError) e1 = NULL;
    g_autoptr(GError) e2 = NULL;

    CU_ASSERT_PTR_NOT_NULL_FATAL(def);
    CU_ASSERT_TRUE(def->allow_unplug);
    CU_ASSERT_TRUE(def->allow_below_persistent);
    strict = policy_load_data("[policy]\nallow-unplug=false\nallow-below-persistent=false\n", "p",
                              &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(strict);
    CU_ASSERT_FALSE(strict->allow_unplug);
    CU_ASSERT_FALSE(strict->allow_below_persistent);
    /* an explicit file that is missing, or a bad value, is an error */
    CU_ASSERT_PTR_NULL(policy_load("/nonexistent/hotcpu.conf", FALSE, &e1));
    CU_ASSERT_PTR_NULL(policy_load_data("[policy]\nallow-unplug=perhaps\n", "p", &e2));
    CU_ASSERT_PTR_NOT_NULL(e2);
    CU_ASSERT_EQUAL(def->max_vcpus_per_host_cpu, 0);
}

static void
test_policy_ratio(void)
{
    static const char *const bad[] = { "0", "-1", "two", "nan", "inf", "1,5", "" };
    g_autoptr(Policy) half = policy_load_data("[policy]\nmax-vcpus-per-host-cpu=1.5\n", "p", NULL);
    g_autoptr(Policy) two = policy_load_data("[policy]\nmax-vcpus-per-host-cpu=2\n", "p", NULL);

    CU_ASSERT_PTR_NOT_NULL_FATAL(half);
    CU_ASSERT_PTR_NOT_NULL_FATAL(two);
    CU_ASSERT_DOUBLE_EQUAL(half->max_vcpus_per_host_cpu, 1.5, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(two->max_vcpus_per_host_cpu, 2.0, 1e-12);
    for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(GError) e = NULL;
        g_autofree char *text = g_strdup_printf("[policy]\nmax-vcpus-per-host-cpu=%s\n", bad[i]);
        g_autoptr(Policy) p = policy_load_data(text, "p", &e);

        CU_ASSERT_PTR_NULL(p);
        CUNIT_ASSERT_CONTAINS(e ? e->message : NULL,
                              "max-vcpus-per-host-cpu must be a positive number");
    }
}

/* ---- checks -------------------------------------------------------------- */

static void
test_check_running_and_jobs(void)
{
    g_autoptr(GError) e1 = NULL;
    g_autoptr(GError) e2 = NULL;
    g_autoptr(GError) e3 = NULL;
    g_autoptr(GError) e4 = NULL;
    g_autoptr(GError) e5 = NULL;
    g_autoptr(GError) e6 = NULL;
    g_autoptr(GError) e7 = NULL;
    virDomainControlInfo ok = { .state = VIR_DOMAIN_CONTROL_OK };
    virDomainControlInfo job = { .state = VIR_DOMAIN_CONTROL_JOB };
    virDomainControlInfo held = { .state = VIR_DOMAIN_CONTROL_ERROR,
                                  .details = VIR_DOMAIN_CONTROL_ERROR_REASON_INTERNAL };
    virDomainControlInfo broken
        = { .state = VIR_DOMAIN_CONTROL_ERROR, .details = VIR_DOMAIN_CONTROL_ERROR_REASON_MONITOR };

    CU_ASSERT_TRUE(check_domain_running("web1", VIR_DOMAIN_RUNNING, NULL));
    CU_ASSERT_FALSE(check_domain_running("web1", VIR_DOMAIN_SHUTOFF, &e1));
    CUNIT_ASSERT_CONTAINS(e1->message, "'web1' is not running (state: shut off)");
    CU_ASSERT_TRUE(check_no_job("web1", NULL, -1, -1, NULL));
    CU_ASSERT_TRUE(check_no_job("web1", &ok, VIR_DOMAIN_JOB_NONE, -1, NULL));
    CU_ASSERT_FALSE(check_no_job("web1", &job, -1, -1, &e2));
    CUNIT_ASSERT_CONTAINS(e2->message, "job in progress");
    CU_ASSERT_FALSE(check_no_job("web1", NULL, VIR_DOMAIN_JOB_UNBOUNDED, -1, &e3));
    CU_ASSERT_TRUE(check_no_job("web1", NULL, VIR_DOMAIN_JOB_COMPLETED, -1, NULL));
    /* Another client's setVcpus waiting for the guest: QEMU's driver says
     * ERROR/INTERNAL, which is a busy domain, not a broken monitor. */
    CU_ASSERT_FALSE(check_no_job("web1", &held, -1, -1, &e4));
    CUNIT_ASSERT_CONTAINS(e4 ? e4->message : NULL, "'web1' is busy with another change");
    CU_ASSERT_FALSE(check_no_job("web1", &broken, -1, -1, &e5));
    CUNIT_ASSERT_CONTAINS(e5 ? e5->message : NULL, "monitor failed");
    /* The job named when libvirt says what it is: a migration under way
     * is the user's answer, not "a job such as a migration". */
    CU_ASSERT_FALSE(check_no_job("web1", &job, VIR_DOMAIN_JOB_UNBOUNDED,
                                 VIR_DOMAIN_JOB_OPERATION_MIGRATION_OUT, &e6));
    CUNIT_ASSERT_CONTAINS(e6 ? e6->message : NULL,
                          "domain 'web1' is being migrated to another host");
    CU_ASSERT_FALSE(
        check_no_job("web1", NULL, VIR_DOMAIN_JOB_UNBOUNDED, VIR_DOMAIN_JOB_OPERATION_DUMP, &e7));
    CUNIT_ASSERT_CONTAINS(e7 ? e7->message : NULL, "has a dump in progress");
}

static void
test_check_count(void)
{
    g_autoptr(GError) e1 = NULL;
    g_autoptr(GError) e2 = NULL;
    g_autoptr(GError) e3 = NULL;
    g_autoptr(GError) e4 = NULL;
    g_autoptr(GError) e5 = NULL;

    CU_ASSERT_TRUE(check_count("web1", 8, 8, 32, "kvm", FALSE, 0, NULL));
    CU_ASSERT_FALSE(check_count("web1", 9, 8, 32, "kvm", FALSE, 0, &e1));
    CU_ASSERT_STRING_EQUAL(e1->message, "requested 9 vCPUs but domain 'web1' allows at most 8");
    CU_ASSERT_FALSE(check_count("web1", 0, 8, 32, "kvm", FALSE, 0, &e2));
    CU_ASSERT_FALSE(check_count("web1", 33, 40, 32, "kvm", FALSE, 0, &e3));
    CUNIT_ASSERT_CONTAINS(e3->message, "hypervisor");
    CUNIT_ASSERT_CONTAINS(e3->message, "at most 32");
    CU_ASSERT_TRUE(check_count("web1", 33, 40, -1, "kvm", FALSE, 0, NULL));
    CU_ASSERT_FALSE(check_count("web1", 6, 8, 32, "kvm", TRUE, 4, &e4));
    CUNIT_ASSERT_CONTAINS(e4->message, "persistent definition");
    CU_ASSERT_FALSE(check_count("web1", 4, 8, 32, "kvm", TRUE, 0, &e5));
    CUNIT_ASSERT_CONTAINS(e5->message, "transient");
}

static DomainInfo *
info_with_topology(guint sockets, guint cores, guint threads)
{
    g_autofree char *xml = g_strdup_printf(
        "<domain><name>web1</name><vcpu current='2'>8</vcpu><cpu><topology sockets='%u' "
        "cores='%u' threads='%u'/></cpu><cputune><vcpupin vcpu='5' cpuset='1'/>"
        "<vcpupin vcpu='6' cpuset='1'/></cputune></domain>",
        sockets, cores, threads);
    return domain_info_parse(xml, NULL);
}

static void
test_check_sockets(void)
{
    g_autoptr(DomainInfo) two = info_with_topology(4, 2, 1);
    g_autoptr(DomainInfo) one = info_with_topology(8, 1, 1);
    g_autoptr(GError) e1 = NULL;
    guint vcpus = 0;

    CU_ASSERT_TRUE(check_sockets(two, "web1", 3, TRUE, &vcpus, NULL));
    CU_ASSERT_EQUAL(vcpus, 6);
    CU_ASSERT_TRUE(check_sockets(two, "web1", 4, FALSE, &vcpus, NULL));
    CU_ASSERT_EQUAL(vcpus, 4);
    CU_ASSERT_FALSE(check_sockets(two, "web1", 3, FALSE, &vcpus, &e1));
    CUNIT_ASSERT_CONTAINS(e1->message,
                          "requested 3 vCPUs but domain 'web1' has 2 vCPUs per socket");
    CU_ASSERT_TRUE(check_sockets(one, "web1", 3, FALSE, &vcpus, NULL));
    CU_ASSERT_EQUAL(vcpus, 3);
}

static void
test_check_pins(void)
{
    g_autoptr(DomainInfo) info = info_with_topology(8, 1, 1);
    g_autoptr(GError) e1 = NULL;

    g_autoptr(GError) e2 = NULL;
    g_autoptr(CpuList) node_pinned = cpulist_parse("2,5", NULL);
    g_autoptr(CpuList) node_free = cpulist_parse("1-4", NULL);

    CU_ASSERT_TRUE(check_pins(info, "web1", 8, 7, NULL, FALSE, NULL)); /* removes 7 only */
    CU_ASSERT_FALSE(check_pins(info, "web1", 8, 5, NULL, FALSE, &e1)); /* removes 5, 6, 7 */
    CUNIT_ASSERT_CONTAINS(e1->message, "vCPUs 5, 6");
    CU_ASSERT_TRUE(check_pins(info, "web1", 8, 5, NULL, TRUE, NULL));
    CU_ASSERT_TRUE(check_pins(info, "web1", 2, 8, NULL, FALSE, NULL)); /* plug */
    /* set --node: the ids it removes, wherever they are */
    CU_ASSERT_FALSE(check_pins(info, "web1", 8, 6, node_pinned, FALSE, &e2));
    CUNIT_ASSERT_CONTAINS(e2 ? e2->message : NULL, "would remove vCPU 5,");
    CU_ASSERT_TRUE(check_pins(info, "web1", 8, 4, node_free, FALSE, NULL));
}

static void
test_check_guest_os(void)
{
    g_autoptr(SupportMatrix) m = shipped_matrix();
    g_autoptr(GError) e1 = NULL;
    g_autoptr(GError) e2 = NULL;
    g_autoptr(GError) e3 = NULL;
    g_autoptr(GError) e4 = NULL;
    g_autoptr(GError) e5 = NULL;

    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    /* RHEL 6.3: plug yes, unplug no */
    CU_ASSERT_TRUE(
        check_guest_os(m, "http://redhat.com/rhel/6.3", "x86_64", 0, "w", 2, 4, FALSE, NULL));
    CU_ASSERT_FALSE(
        check_guest_os(m, "http://redhat.com/rhel/6.3", "x86_64", 0, "w", 4, 2, FALSE, &e1));
    CUNIT_ASSERT_CONTAINS(e1->message, "--force");
    CU_ASSERT_TRUE(
        check_guest_os(m, "http://redhat.com/rhel/6.3", "x86_64", 0, "w", 4, 2, TRUE, NULL));
    /* Windows 2003: neither */
    CU_ASSERT_FALSE(
        check_guest_os(m, "http://microsoft.com/win/2k3", "x86_64", 0, "w", 2, 4, FALSE, NULL));
    /* no metadata: plug ok, unplug refused unless the agent answers or --force */
    CU_ASSERT_TRUE(check_guest_os(m, NULL, "x86_64", GUEST_AGENT_UNKNOWN, "w", 2, 4, FALSE, NULL));
    CU_ASSERT_FALSE(check_guest_os(m, NULL, "x86_64", GUEST_AGENT_UNKNOWN, "w", 4, 2, FALSE, &e2));
    CUNIT_ASSERT_CONTAINS(e2->message, "no guest OS metadata");
    CU_ASSERT_TRUE(check_guest_os(m, NULL, "x86_64", GUEST_AGENT_ANSWERS, "w", 4, 2, FALSE, NULL));
    CU_ASSERT_TRUE(check_guest_os(m, NULL, "x86_64", GUEST_AGENT_UNKNOWN, "w", 4, 2, TRUE, NULL));
    /* unknown id: like no metadata, the agent does not make it Linux */
    CU_ASSERT_TRUE(
        check_guest_os(m, "http://freebsd.org/freebsd/13.2", "x86_64", 0, "w", 2, 4, FALSE, NULL));
    CU_ASSERT_FALSE(check_guest_os(m, "http://freebsd.org/freebsd/13.2", "x86_64",
                                   GUEST_AGENT_ANSWERS, "w", 4, 2, FALSE, &e3));
    /* POWER: refused without metadata too, even with an answering agent */
    CU_ASSERT_FALSE(check_guest_os(m, NULL, "ppc64le", GUEST_AGENT_ANSWERS, "w", 2, 4, FALSE, &e4));
    CUNIT_ASSERT_CONTAINS(e4->message, "runs on architecture ppc64le, where vCPU hot plug "
                                       "is not allowed");
    CU_ASSERT_FALSE(
        check_guest_os(m, "http://debian.org/debian/12", "ppc64", 0, "w", 4, 2, FALSE, &e5));
    CUNIT_ASSERT_CONTAINS(e5->message, "does not allow vCPU hot unplug on ppc64");
    CU_ASSERT_TRUE(check_guest_os(m, NULL, "ppc64", 0, "w", 2, 4, TRUE, NULL));
    /* unreadable matrix: every id unknown */
    CU_ASSERT_FALSE(
        check_guest_os(NULL, "http://redhat.com/rhel/6.5", "x86_64", 0, "w", 4, 2, FALSE, NULL));
}

static void
test_check_policy(void)
{
    g_autoptr(Policy) strict = policy_load_data("[policy]\nallow-unplug=false\n", "p", NULL);
    g_autoptr(Policy) floor
        = policy_load_data("[policy]\nallow-below-persistent=false\n", "p", NULL);
    g_autoptr(GError) e1 = NULL;
    g_autoptr(GError) e2 = NULL;

    CU_ASSERT_FALSE(check_policy(strict, "web1", 4, 2, 0, &e1));
    CUNIT_ASSERT_CONTAINS(e1->message, "forbids vCPU hot unplug");
    CU_ASSERT_TRUE(check_policy(strict, "web1", 2, 4, 0, NULL));
    CU_ASSERT_FALSE(check_policy(floor, "web1", 4, 2, 3, &e2));
    CUNIT_ASSERT_CONTAINS(e2->message, "is defined with 3");
    CU_ASSERT_TRUE(check_policy(floor, "web1", 4, 3, 3, NULL));
}

/* ---- live range: what libvirt can reach -------------------------------- */

static DomainInfo *
info_vcpus(const char *type, guint current, guint max, const char *vcpus)
{
    g_autofree char *xml = g_strdup_printf("<domain type='%s'><name>web1</name>"
                                           "<vcpu current='%u'>%u</vcpu>%s</domain>",
                                           type, current, max, vcpus);
    g_autoptr(GError) error = NULL;
    DomainInfo *info = domain_info_parse(xml, &error);

    if (!info)
        fprintf(stderr, "%s\n", error->message);
    return info;
}

/* Checks @info's range: min, max, the non-hotpluggable list. */
static void
expect_range(const DomainInfo *info, gboolean known, guint min, guint max, const char *fixed)
{
    g_auto(LiveRange) r = { 0 };
    g_autofree char *text = NULL;

    CU_ASSERT_PTR_NOT_NULL_FATAL(info);
    live_range_compute(info, &r);
    text = cpulist_format(r.fixed);
    if (r.known != known || (known && (r.min != min || r.max != max || strcmp(text, fixed))))
        fprintf(stderr, "range: known %d min %u max %u fixed '%s'\n", r.known, r.min, r.max, text);
    CU_ASSERT_EQUAL(r.known, known);
    if (!known)
        return;
    CU_ASSERT_EQUAL(r.min, min);
    CU_ASSERT_EQUAL(r.max, max);
    CU_ASSERT_STRING_EQUAL(text, fixed);
}

#define V(id, en, hp) "<vcpu id='" #id "' enabled='" en "' hotpluggable='" hp "'/>"

static void
test_live_range_shapes(void)
{
    /* boot vCPUs 0-3 not hot-pluggable, 4-5 plugged, 6-7 free */
    g_autoptr(DomainInfo) boot = info_vcpus(
        "kvm", 6, 8,
        "<vcpus>" V(0, "yes", "no") V(1, "yes", "no") V(2, "yes", "no") V(3, "yes", "no")
            V(4, "yes", "yes") V(5, "yes", "yes") V(6, "no", "yes") V(7, "no", "yes") "</vcpus>");
    /* custom order: libvirt removes by id, not by order; only the count matters */
    g_autoptr(DomainInfo) order
        = info_vcpus("kvm", 3, 4,
                     "<vcpus><vcpu id='0' enabled='yes' hotpluggable='no' order='1'/>"
                     "<vcpu id='1' enabled='yes' hotpluggable='yes' order='3'/>"
                     "<vcpu id='2' enabled='yes' hotpluggable='yes' order='2'/>"
                     "<vcpu id='3' enabled='no' hotpluggable='yes'/></vcpus>");
    /* holes: enabled 0, 2, 5; disabled 1, 3, 4 */
    g_autoptr(DomainInfo) holes
        = info_vcpus("qemu", 3, 6,
                     "<vcpus>" V(0, "yes", "no") V(1, "no", "yes") V(2, "yes", "yes")
                         V(3, "no", "yes") V(4, "no", "yes") V(5, "yes", "yes") "</vcpus>");
    /* a fully disabled tail without the attribute, as libvirt writes the
     * slots virDomainSetVcpusFlags(MAXIMUM) added; vCPU 1 was plugged into
     * one at run time (no attribute either) and can go */
    g_autoptr(DomainInfo) tail = info_vcpus("kvm", 2, 6,
                                            "<vcpus><vcpu id='0' enabled='yes' hotpluggable='no' "
                                            "order='1'/><vcpu id='1' enabled='yes' order='2'/>"
                                            "<vcpu id='2' enabled='no'/><vcpu id='3' enabled='no'/>"
                                            "<vcpu id='4' enabled='no'/><vcpu id='5' enabled='no'/>"
                                            "</vcpus>");
    /* a QEMU domain without <vcpus>: started that way, never plugged */
    g_autoptr(DomainInfo) implicit = info_vcpus("qemu", 4, 16, "");
    /* the test driver without <vcpus>: unknown, no check */
    g_autoptr(DomainInfo) test = info_vcpus("test", 4, 16, "");

    expect_range(boot, TRUE, 4, 8, "0-3");
    expect_range(order, TRUE, 1, 4, "0");
    expect_range(holes, TRUE, 1, 6, "0");
    expect_range(tail, TRUE, 1, 6, "0");
    expect_range(implicit, TRUE, 4, 16, "0-3");
    expect_range(test, FALSE, 0, 0, "");
}

static void
test_check_live_range(void)
{
    g_autoptr(DomainInfo) boot = info_vcpus(
        "kvm", 6, 8,
        "<vcpus>" V(0, "yes", "no") V(1, "yes", "no") V(2, "yes", "no") V(3, "yes", "no")
            V(4, "yes", "yes") V(5, "yes", "yes") V(6, "no", "yes") V(7, "no", "yes") "</vcpus>");
    g_autoptr(DomainInfo) one = info_vcpus("qemu", 2, 2, "");
    g_autoptr(DomainInfo) test = info_vcpus("test", 4, 16, "");
    g_auto(LiveRange) rb = { 0 };
    g_auto(LiveRange) r1 = { 0 };
    g_auto(LiveRange) rt = { 0 };
    g_autoptr(GError) e1 = NULL;
    g_autoptr(GError) e2 = NULL;
    g_autoptr(GError) e3 = NULL;

    live_range_compute(boot, &rb);
    live_range_compute(one, &r1);
    live_range_compute(test, &rt);
    CU_ASSERT_TRUE(check_live_range(&rb, "web1", 4, 8, NULL));
    CU_ASSERT_TRUE(check_live_range(&rb, "web1", 8, 8, NULL));
    CU_ASSERT_TRUE(check_live_range(&rb, "web1", 6, 8, NULL));
    CU_ASSERT_FALSE(check_live_range(&rb, "web1", 3, 8, &e1));
    CU_ASSERT_STRING_EQUAL(e1->message,
                           "domain 'web1' cannot go below 4 vCPUs live: vCPUs 0-3 are not "
                           "hot-pluggable (libvirt makes boot vCPUs non-hotpluggable); run "
                           "'hotcpu-ctl prepare web1 --max 8' and restart the domain (shut "
                           "down, then start)");
    CU_ASSERT_FALSE(check_live_range(&r1, "db", 1, 0, &e2));
    CUNIT_ASSERT_CONTAINS(e2->message, "vCPUs 0-1 are not hot-pluggable");
    CUNIT_ASSERT_CONTAINS(e2->message, "the domain is transient");
    CU_ASSERT_FALSE(check_live_range(&r1, "db", 3, 2, &e3));
    CUNIT_ASSERT_CONTAINS(e3->message, "cannot go above 2 vCPUs live");
    CU_ASSERT_TRUE(check_live_range(&rt, "web1", 1, 16, NULL));
}

static void
test_domain_info_vcpu_defaults(void)
{
    g_autoptr(DomainInfo) tail
        = info_vcpus("kvm", 1, 3,
                     "<vcpus><vcpu id='0' enabled='yes'/><vcpu id='1' enabled='no'/>"
                     "<vcpu id='2' enabled='yes' hotpluggable='yes' order='2'/></vcpus>");
    const VcpuSlot *s;

    CU_ASSERT_PTR_NOT_NULL_FATAL(tail);
    CU_ASSERT_EQUAL_FATAL(tail->vcpus->len, 3);
    s = &g_array_index(tail->vcpus, VcpuSlot, 0);
    /* absent: enabled is not hotpluggable, disabled is (a definition's rule) */
    CU_ASSERT_TRUE(s->enabled && !s->hotpluggable && s->hotpluggable_absent);
    s = &g_array_index(tail->vcpus, VcpuSlot, 1);
    CU_ASSERT_TRUE(!s->enabled && s->hotpluggable && s->hotpluggable_absent);
    s = &g_array_index(tail->vcpus, VcpuSlot, 2);
    CU_ASSERT_TRUE(s->enabled && s->hotpluggable && !s->hotpluggable_absent && s->order == 2);
}

static void
test_check_host_size(void)
{
    g_autoptr(Policy) none = policy_load("/nonexistent/hotcpu.conf", TRUE, NULL);
    g_autoptr(Policy) ratio = policy_load_data("[policy]\nmax-vcpus-per-host-cpu=1.5\n", "p", NULL);
    g_autoptr(Policy) tenth = policy_load_data("[policy]\nmax-vcpus-per-host-cpu=1.1\n", "p", NULL);
    g_autoptr(GError) e1 = NULL;
    g_autofree char *w = NULL;

    /* within the host: nothing to say */
    CU_ASSERT_TRUE(check_host_size(none, "web1", 2, 4, 4, &w, NULL));
    CU_ASSERT_PTR_NULL(w);
    /* beyond it: a warning, no refusal without the ratio */
    CU_ASSERT_TRUE(check_host_size(none, "web1", 2, 6, 4, &w, NULL));
    CU_ASSERT_STRING_EQUAL(w, "domain 'web1' would have 6 vCPUs, more than the host's 4 logical "
                              "CPUs: its vCPUs will compete for host CPUs");
    g_clear_pointer(&w, g_free);
    /* with the ratio: up to 1.5 x 4 = 6 warns, 7 is refused */
    CU_ASSERT_TRUE(check_host_size(ratio, "web1", 2, 6, 4, &w, NULL));
    CU_ASSERT_PTR_NOT_NULL(w);
    g_clear_pointer(&w, g_free);
    CU_ASSERT_FALSE(check_host_size(ratio, "web1", 2, 7, 4, &w, &e1));
    CU_ASSERT_STRING_EQUAL(e1->message,
                           "the host policy (p) allows at most 1.5 vCPUs per host CPU, 6 on this "
                           "host of 4 logical CPUs: requested 7 vCPUs for domain 'web1'");
    CU_ASSERT_PTR_NULL(w);
    /* going down never refused; unknown host size not held against it */
    CU_ASSERT_TRUE(check_host_size(ratio, "web1", 9, 8, 4, &w, NULL));
    CU_ASSERT_PTR_NULL(w);
    CU_ASSERT_TRUE(check_host_size(ratio, "web1", 2, 64, 0, &w, NULL));
    /* 1.1 x 10 is 11, not 10.999... */
    CU_ASSERT_TRUE(check_host_size(tenth, "web1", 2, 11, 10, &w, NULL));
    g_clear_pointer(&w, g_free);
    CU_ASSERT_FALSE(check_host_size(tenth, "web1", 2, 12, 10, &w, NULL));
}

/* ---- prepare: the plan and the XML edit ------------------------------------ */

/* A definition as libvirt keeps it, with what must survive a redefinition:
 * a VNC password, foreign metadata, devices, a <vcpupin>. */
static char *
definition_xml(const char *vcpu, const char *vcpus, const char *topology, gboolean channel)
{
    return g_strdup_printf(
        "<domain type='kvm'>\n  <name>web1</name>\n"
        "  <uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid>\n"
        "  <metadata><app:x xmlns:app='urn:app'><app:keep a='1'>text &amp; more</app:keep>"
        "</app:x></metadata>\n"
        "  <memory unit='KiB'>1048576</memory>\n  %s\n%s"
        "  <cputune><vcpupin vcpu='0' cpuset='1'/></cputune>\n"
        "  <os><type arch='x86_64' machine='pc-q35-10.0'>hvm</type></os>\n"
        "  %s\n"
        "  <devices>\n    <emulator>/usr/bin/qemu-system-x86_64</emulator>\n"
        "    <graphics type='vnc' port='-1' autoport='yes' passwd='s3cr&lt;t'/>\n%s"
        "  </devices>\n</domain>\n",
        vcpu, vcpus ? vcpus : "", topology ? topology : "<cpu mode='host-model'/>",
        channel ? "    <channel type='unix'><target type='virtio' name='org.hotcpu.agent.0'/>"
                  "</channel>\n"
                : "");
}

static DomainInfo *
parse_ok(const char *xml)
{
    g_autoptr(GError) error = NULL;
    DomainInfo *info = domain_info_parse(xml, &error);

    if (!info)
        fprintf(stderr, "parse: %s\n", error->message);
    return info;
}

static void
expect_list(const CpuList *l, const char *want)
{
    g_autofree char *text = cpulist_format(l);

    if (strcmp(text, want) != 0)
        fprintf(stderr, "list: '%s', expected '%s'\n", text, want);
    CU_ASSERT_STRING_EQUAL(text, want);
}

/* The text of the first element named @name in @xml, as written. */
static char *
element_text(const char *xml, const char *open, const char *close)
{
    const char *a = strstr(xml, open);
    const char *b = a ? strstr(a, close) : NULL;

    return b ? g_strndup(a, b + strlen(close) - a) : NULL;
}

static void
test_plan_fresh_vm(void)
{
    /* libvirt's defaults: 2 of 2, boot vCPUs non-hotpluggable, 2 sockets, no channel */
    g_autofree char *xml = definition_xml(
        "<vcpu placement='static'>2</vcpu>", NULL,
        "<cpu mode='custom'><topology sockets='2' dies='1' cores='1' threads='1'/></cpu>", FALSE);
    g_autoptr(DomainInfo) def = parse_ok(xml);
    g_auto(DomainEditPlan) plan = { 0 };

    CU_ASSERT_PTR_NOT_NULL_FATAL(def);
    domain_edit_plan(def, 8, &plan);
    CU_ASSERT_FALSE(domain_edit_plan_ready(&plan));
    CU_ASSERT_EQUAL(plan.current, 2);
    CU_ASSERT_EQUAL(plan.max_before, 2);
    CU_ASSERT_EQUAL(plan.max_after, 8);
    CU_ASSERT_EQUAL(plan.sockets_before, 2);
    CU_ASSERT_EQUAL(plan.sockets_after, 8);
    expect_list(plan.hot_before, "");
    expect_list(plan.hot_after, "1-7");
    expect_list(plan.enabled_after, "0-1");
    CU_ASSERT_TRUE(plan.add_channel);
    /* the topology must change with the maximum: no API for that */
    CU_ASSERT_FALSE(plan.max_by_api);
    CU_ASSERT_TRUE(plan.redefine);
    CU_ASSERT_PTR_NULL(plan.order);
}

static void
test_plan_no_topology(void)
{
    g_autofree char *one = definition_xml("<vcpu>1</vcpu>", NULL, NULL, TRUE);
    g_autofree char *two = definition_xml("<vcpu current='2'>4</vcpu>", NULL, NULL, TRUE);
    g_autoptr(DomainInfo) d1 = parse_ok(one);
    g_autoptr(DomainInfo) d2 = parse_ok(two);
    g_auto(DomainEditPlan) p1 = { 0 };
    g_auto(DomainEditPlan) p2 = { 0 };

    CU_ASSERT_PTR_NOT_NULL_FATAL(d1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d2);
    /* 1 vCPU: the maximum through the API is all it takes */
    domain_edit_plan(d1, 4, &p1);
    CU_ASSERT_TRUE(p1.max_by_api);
    CU_ASSERT_FALSE(p1.redefine);
    CU_ASSERT_FALSE(p1.add_channel);
    expect_list(p1.hot_before, "");
    /* 2 of 4: vCPU 1 is a boot vCPU, not hot-pluggable: the flags need the XML */
    domain_edit_plan(d2, 8, &p2);
    CU_ASSERT_TRUE(p2.max_by_api);
    CU_ASSERT_TRUE(p2.redefine);
    expect_list(p2.hot_before, "2-3");
    expect_list(p2.hot_after, "1-7");
}

static void
test_plan_ready_and_holes(void)
{
    g_autofree char *ready = definition_xml(
        "<vcpu placement='static' current='2'>4</vcpu>",
        "  <vcpus><vcpu id='0' enabled='yes' hotpluggable='no' order='1'/>"
        "<vcpu id='1' enabled='yes' hotpluggable='yes' order='2'/>"
        "<vcpu id='2' enabled='no' hotpluggable='yes'/><vcpu id='3' enabled='no'/></vcpus>\n",
        "<cpu><topology sockets='4' dies='1' cores='1' threads='1'/></cpu>", TRUE);
    /* enabled 0, 2 and 3 (holes) with orders; vCPU 2 fixed */
    g_autofree char *holes
        = definition_xml("<vcpu current='3'>4</vcpu>",
                         "  <vcpus><vcpu id='0' enabled='yes' hotpluggable='no' order='1'/>"
                         "<vcpu id='1' enabled='no' hotpluggable='yes'/>"
                         "<vcpu id='2' enabled='yes' hotpluggable='no' order='2'/>"
                         "<vcpu id='3' enabled='yes' hotpluggable='yes' order='3'/></vcpus>\n",
                         NULL, TRUE);
    g_autoptr(DomainInfo) dr = parse_ok(ready);
    g_autoptr(DomainInfo) dh = parse_ok(holes);
    g_auto(DomainEditPlan) pr = { 0 };
    g_auto(DomainEditPlan) ph = { 0 };
    g_auto(DomainEditPlan) shrink = { 0 };

    CU_ASSERT_PTR_NOT_NULL_FATAL(dr);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dh);
    domain_edit_plan(dr, 4, &pr);
    CU_ASSERT_TRUE(domain_edit_plan_ready(&pr));
    /* the enabled set and its orders are kept; only vCPU 2's flag changes */
    domain_edit_plan(dh, 4, &ph);
    CU_ASSERT_FALSE(domain_edit_plan_ready(&ph));
    CU_ASSERT_FALSE(ph.max_by_api);
    CU_ASSERT_TRUE(ph.redefine);
    expect_list(ph.enabled_after, "0,2-3");
    CU_ASSERT_PTR_NOT_NULL_FATAL(ph.order);
    CU_ASSERT_TRUE(ph.order[0] == 1 && ph.order[2] == 2 && ph.order[3] == 3);
    /* a lower maximum that cuts the enabled set: the first `current`, no orders */
    domain_edit_plan(dh, 3, &shrink);
    expect_list(shrink.enabled_after, "0-2");
    CU_ASSERT_PTR_NULL(shrink.order);
}

static void
test_edit_xml(void)
{
    g_autofree char *xml = definition_xml(
        "<vcpu placement='static'>2</vcpu>", NULL,
        "<cpu mode='custom'><topology sockets='2' dies='1' cores='1' threads='1'/></cpu>", FALSE);
    g_autoptr(DomainInfo) def = parse_ok(xml);
    g_auto(DomainEditPlan) plan = { 0 };
    g_auto(DomainEditPlan) again = { 0 };
    g_autoptr(GError) error = NULL;
    g_autoptr(SecretXml) out = NULL;
    g_autoptr(DomainInfo) after = NULL;
    g_autofree char *devices_in = NULL, *devices_out = NULL, *meta_in = NULL, *meta_out = NULL;

    CU_ASSERT_PTR_NOT_NULL_FATAL(def);
    domain_edit_plan(def, 8, &plan);
    out = domain_edit_xml(xml, &plan, &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(out);
    after = parse_ok(out);
    CU_ASSERT_PTR_NOT_NULL_FATAL(after);
    CU_ASSERT_EQUAL(after->vcpu_max, 8);
    CU_ASSERT_EQUAL(after->vcpu_current, 2);
    CU_ASSERT_EQUAL(after->sockets, 8);
    CU_ASSERT_EQUAL(after->vcpus->len, 8);
    CUNIT_ASSERT_CONTAINS(out, "<vcpu id=\"0\" enabled=\"yes\" hotpluggable=\"no\"/>");
    CUNIT_ASSERT_CONTAINS(out, "<vcpu id=\"1\" enabled=\"yes\" hotpluggable=\"yes\"/>");
    CUNIT_ASSERT_CONTAINS(out, "<vcpu id=\"7\" enabled=\"no\" hotpluggable=\"yes\"/>");
    /* the rest stays as it was: the password, the devices, foreign metadata */
    devices_in = element_text(xml, "<devices>", "</devices>");
    devices_out = element_text(out, "<devices>", "</devices>");
    CU_ASSERT_PTR_NOT_NULL_FATAL(devices_out);
    CUNIT_ASSERT_CONTAINS(devices_out, "passwd=\"s3cr&lt;t\"");
    /* libxml2 writes attributes in double quotes; nothing else differs */
    CU_ASSERT_STRING_EQUAL(g_strdelimit(devices_in, "'", '"'), devices_out);
    meta_in = element_text(xml, "<app:keep", "</app:keep>");
    meta_out = element_text(out, "<app:keep", "</app:keep>");
    CU_ASSERT_STRING_EQUAL(g_strdelimit(meta_in, "'", '"'), meta_out);
    CUNIT_ASSERT_CONTAINS(out, "<vcpupin vcpu=\"0\" cpuset=\"1\"/>");
    CUNIT_ASSERT_CONTAINS(out, "<type arch=\"x86_64\" machine=\"pc-q35-10.0\">hvm</type>");
    CUNIT_ASSERT_CONTAINS(out, "<emulator>/usr/bin/qemu-system-x86_64</emulator>");
    /* the result needs nothing more but the channel (an API adds it) */
    domain_edit_plan(after, 8, &again);
    CU_ASSERT_FALSE(again.redefine);
    CU_ASSERT_FALSE(again.max_by_api);
    CU_ASSERT_TRUE(again.add_channel);
}

static void
test_edit_xml_refusals(void)
{
    g_autofree char *xml = definition_xml("<vcpu current='2'>4</vcpu>", NULL, NULL, TRUE);
    g_autoptr(DomainInfo) def = parse_ok(xml);
    g_auto(DomainEditPlan) plan = { 0 };
    g_autoptr(GError) e1 = NULL;
    g_autoptr(GError) e2 = NULL;
    g_autoptr(GError) e3 = NULL;

    CU_ASSERT_PTR_NOT_NULL_FATAL(def);
    domain_edit_plan(def, 8, &plan);
    /* the maximum goes through the API first: unchanged XML is refused */
    CU_ASSERT_PTR_NULL(domain_edit_xml(xml, &plan, &e1));
    CUNIT_ASSERT_CONTAINS(e1 ? e1->message : NULL, "not the 8 vCPUs planned");
    /* no secret in an error about a broken document */
    CU_ASSERT_PTR_NULL(domain_edit_xml("<domain><graphics passwd='s3cret'/><vcpu>4", &plan, &e2));
    CU_ASSERT_PTR_NOT_NULL_FATAL(e2);
    CUNIT_ASSERT_NOT_CONTAINS(e2->message, "s3cret");
    CU_ASSERT_PTR_NULL(domain_edit_xml("<network/>", &plan, &e3));
}

static void
test_check_prepare_max(void)
{
    g_autofree char *xml
        = definition_xml("<vcpu current='4'>4</vcpu>", NULL,
                         "<cpu><topology sockets='2' dies='1' cores='2' threads='1'/></cpu>", TRUE);
    g_autoptr(DomainInfo) def = parse_ok(xml);
    g_autoptr(GError) e1 = NULL;
    g_autoptr(GError) e2 = NULL;
    g_autoptr(GError) e3 = NULL;
    g_autoptr(GError) e4 = NULL;
    guint max = 0;

    CU_ASSERT_PTR_NOT_NULL_FATAL(def);
    CU_ASSERT_TRUE(check_prepare_max(def, "web1", 8, FALSE, 255, "kvm", &max, NULL));
    CU_ASSERT_EQUAL(max, 8);
    CU_ASSERT_TRUE(check_prepare_max(def, "web1", 6, TRUE, 255, "kvm", &max, NULL));
    CU_ASSERT_EQUAL(max, 12);
    CU_ASSERT_FALSE(check_prepare_max(def, "web1", 7, FALSE, 255, "kvm", &max, &e1));
    CUNIT_ASSERT_CONTAINS(e1->message, "has 2 vCPUs per socket; ask for a multiple of 2");
    CU_ASSERT_FALSE(check_prepare_max(def, "web1", 2, FALSE, 255, "kvm", &max, &e2));
    CU_ASSERT_STRING_EQUAL(e2->message, "requested a maximum of 2 vCPUs but domain 'web1' is "
                                        "defined with 4; the maximum cannot be below the "
                                        "current count");
    CU_ASSERT_FALSE(check_prepare_max(def, "web1", 300, FALSE, 255, "kvm", &max, &e3));
    CUNIT_ASSERT_CONTAINS(e3->message, "the hypervisor (type 'kvm') allows at most 255");
    CU_ASSERT_FALSE(check_prepare_max(def, "web1", 0, TRUE, 255, "kvm", &max, &e4));
    CU_ASSERT_EQUAL(max, 12); /* untouched on failure */
}

static void
register_domain_info_suite(void)
{
    static const CunitTest tests[] = {
        { "full", test_domain_info_full },
        { "minimal", test_domain_info_minimal },
        { "other prefix", test_domain_info_other_prefix },
        { "wrong namespace", test_domain_info_wrong_namespace },
        { "errors", test_domain_info_errors },
        { "vCPU defaults", test_domain_info_vcpu_defaults },
        { NULL, NULL },
    };

    cunit_add_suite("domain_info", tests);
}

static void
register_support_matrix_suite(void)
{
    static const CunitTest tests[] = {
        { "shipped file", test_matrix_shipped },
        { "exact beats prefix", test_matrix_exact_beats_prefix },
        { "architectures", test_matrix_arches },
        { "invalid", test_matrix_invalid },
        { NULL, NULL },
    };

    cunit_add_suite("support_matrix", tests);
}

static void
register_policy_suite(void)
{
    static const CunitTest tests[] = {
        { "load", test_policy },
        { "max-vcpus-per-host-cpu", test_policy_ratio },
        { NULL, NULL },
    };

    cunit_add_suite("policy", tests);
}

static void
register_checks_suite(void)
{
    static const CunitTest tests[] = {
        { "running and jobs", test_check_running_and_jobs },
        { "count", test_check_count },
        { "sockets", test_check_sockets },
        { "pins", test_check_pins },
        { "guest os", test_check_guest_os },
        { "policy", test_check_policy },
        { "host size", test_check_host_size },
        { "live range shapes", test_live_range_shapes },
        { "live range refusals", test_check_live_range },
        { NULL, NULL },
    };

    cunit_add_suite("checks", tests);
}

static void
register_prepare_suite(void)
{
    static const CunitTest tests[] = {
        { "plan: a fresh VM", test_plan_fresh_vm },
        { "plan: no topology", test_plan_no_topology },
        { "plan: ready, holes, orders", test_plan_ready_and_holes },
        { "edit keeps the rest", test_edit_xml },
        { "edit refusals", test_edit_xml_refusals },
        { "maximum checks", test_check_prepare_max },
        { NULL, NULL },
    };

    cunit_add_suite("prepare", tests);
}

static const CunitSuite suites[] = {
    { "domain_info", register_domain_info_suite },
    { "prepare", register_prepare_suite },
    { "support_matrix", register_support_matrix_suite },
    { "policy", register_policy_suite },
    { "checks", register_checks_suite },
    { NULL, NULL },
};

int
main(int argc, char **argv)
{
    matrix_path = g_getenv("HOTCPU_TEST_MATRIX");
    if (!matrix_path) {
        fprintf(stderr, "HOTCPU_TEST_MATRIX is not set\n");
        return 1;
    }
    return cunit_run(argc, argv, suites);
}
