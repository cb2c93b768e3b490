/* test_uevent.c: parsing the kernel's uevent datagrams. */
#include <stdio.h>
#include <string.h>

#include "agent_test.h"
#include "uevent.h"

/* Datagrams are written with explicit "\0"s; sizeof - 1 drops the C NUL. */
#define MSG(s) s, sizeof(s) - 1

static void
test_parse_kernel_message(void)
{
    static const char msg[] = "add@/devices/system/cpu/cpu4\0ACTION=add\0"
                              "DEVPATH=/devices/system/cpu/cpu4\0SUBSYSTEM=cpu\0SEQNUM=4711\0";
    g_autoptr(GError) error = NULL;
    g_autoptr(Uevent) ev = uevent_parse(MSG(msg), &error);

    g_assert_no_error(error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ev);
    CUNIT_ASSERT_STR(ev->action, "add");
    CUNIT_ASSERT_STR(ev->devpath, "/devices/system/cpu/cpu4");
    CUNIT_ASSERT_STR(ev->subsystem, "cpu");
    CU_ASSERT_EQUAL(ev->seqnum, 4711);
    CU_ASSERT_EQUAL(uevent_cpu_id(ev), 4);
}

static void
test_parse_variants(void)
{
    /* The last item without its NUL, other keys, and no SEQNUM. */
    static const char msg[] = "offline@/devices/system/cpu/cpu12\0ACTION=offline\0"
                              "DEVPATH=/devices/system/cpu/cpu12\0DRIVER=processor\0"
                              "SUBSYSTEM=cpu";
    static const char nosub[] = "change@/devices/foo\0ACTION=change\0DEVPATH=/devices/foo\0";
    g_autoptr(Uevent) ev = uevent_parse(MSG(msg), NULL);
    g_autoptr(Uevent) ev2 = uevent_parse(MSG(nosub), NULL);

    CU_ASSERT_PTR_NOT_NULL_FATAL(ev);
    CUNIT_ASSERT_STR(ev->action, "offline");
    CUNIT_ASSERT_STR(ev->subsystem, "cpu");
    CU_ASSERT_EQUAL(ev->seqnum, 0);
    CU_ASSERT_EQUAL(uevent_cpu_id(ev), 12);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ev2);
    CU_ASSERT_PTR_NULL(ev2->subsystem);
    CU_ASSERT_EQUAL(uevent_cpu_id(ev2), -1);
}

static void
expect_invalid(const char *buf, gsize len)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(Uevent) ev = uevent_parse(buf, len, &error);

    CU_ASSERT_PTR_NULL(ev);
    CU_ASSERT(g_error_matches(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA));
}

static void
test_parse_rejects(void)
{
    g_autofree char *huge = g_malloc0(UEVENT_MAX_SIZE + 1);

    expect_invalid("", 0);
    expect_invalid(MSG("no header at all\0ACTION=add\0DEVPATH=/x\0"));
    expect_invalid(MSG("@/devices/x\0ACTION=\0DEVPATH=/devices/x\0"));
    expect_invalid(MSG("add@\0ACTION=add\0DEVPATH=\0"));
    /* Header and keys disagree. */
    expect_invalid(MSG("add@/devices/system/cpu/cpu1\0ACTION=remove\0"
                       "DEVPATH=/devices/system/cpu/cpu1\0SUBSYSTEM=cpu\0"));
    expect_invalid(MSG("add@/devices/system/cpu/cpu1\0ACTION=add\0"
                       "DEVPATH=/devices/system/cpu/cpu2\0SUBSYSTEM=cpu\0"));
    expect_invalid(MSG("add@/devices/system/cpu/cpu1\0ACTION=add\0"
                       "DEVPATH=/devices/system/cpu/cpu10\0SUBSYSTEM=cpu\0"));
    /* Keys missing, an item without '=', a bad SEQNUM. */
    expect_invalid(MSG("add@/devices/system/cpu/cpu1\0SUBSYSTEM=cpu\0"));
    expect_invalid(MSG("add@/devices/system/cpu/cpu1\0ACTION=add\0"
                       "DEVPATH=/devices/system/cpu/cpu1\0garbage\0"));
    expect_invalid(MSG("add@/devices/system/cpu/cpu1\0ACTION=add\0"
                       "DEVPATH=/devices/system/cpu/cpu1\0SEQNUM=12x\0"));
    /* udevd's own messages on the other group. */
    expect_invalid(MSG("libudev\0\xfe\xed\xca\xfe"));
    memcpy(huge, "add@/x", 6);
    expect_invalid(huge, UEVENT_MAX_SIZE + 1);
}

static void
test_cpu_id(void)
{
    static const struct {
        const char *devpath;
        gint id;
    } cases[] = {
        { "/devices/system/cpu/cpu0", 0 },        { "/devices/system/cpu/cpu63", 63 },
        { "/devices/system/cpu/cpu8191", 8191 },  { "/devices/system/cpu/cpu8192", -1 },
        { "/devices/system/cpu/cpu", -1 },        { "/devices/system/cpu/cpu01", -1 },
        { "/devices/system/cpu/cpu1x", -1 },      { "/devices/system/cpu/cpu-1", -1 },
        { "/devices/system/cpu/cpu+1", -1 },      { "/devices/system/cpu/cpufreq", -1 },
        { "/devices/system/cpu/cpu1/cache", -1 }, { "/devices/system/memory/memory1", -1 },
    };

    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        Uevent ev = { .action = (char *)"add", .devpath = (char *)cases[i].devpath };

        if (uevent_cpu_id(&ev) != cases[i].id)
            fprintf(stderr, "\n%s: got %d\n", cases[i].devpath, uevent_cpu_id(&ev));
        CU_ASSERT_EQUAL(uevent_cpu_id(&ev), cases[i].id);
    }
}

static const CunitTest tests[] = {
    { "kernel message", test_parse_kernel_message },
    { "variants", test_parse_variants },
    { "rejects", test_parse_rejects },
    { "cpu id from devpath", test_cpu_id },
    { NULL, NULL },
};

void
register_uevent_suite(void)
{
    cunit_add_suite("uevent", tests);
}
