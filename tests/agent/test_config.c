/* test_config.c: agent.conf. */
#include <unistd.h>

#include "agent_config.h"
#include "agent_test.h"

static char *
config_file(const char *text)
{
    g_autoptr(GError) error = NULL;
    char *path = NULL;
    int fd = g_file_open_tmp("hotcpu-agent-XXXXXX.conf", &path, &error);

    g_assert_no_error(error);
    close(fd);
    g_assert(g_file_set_contents(path, text, -1, NULL));
    return path;
}

static void
test_defaults(void)
{
    g_autoptr(AgentConfig) config = agent_config_new();

    CUNIT_ASSERT_STR(config->channel, "/dev/virtio-ports/org.hotcpu.agent.0");
    CUNIT_ASSERT_STR(config->sysfs_root, "/sys/devices/system/cpu");
    CU_ASSERT_PTR_NULL(config->listen);
    CU_ASSERT_TRUE(config->auto_online);
    CU_ASSERT_FALSE(config->verbose);
}

static void
test_all_keys(void)
{
    g_autoptr(AgentConfig) config = agent_config_new();
    g_autoptr(GError) error = NULL;
    g_autofree char *path = config_file("# comment\n[agent]\nchannel=/dev/vport1p1\n"
                                        "listen=/run/hotcpu.sock\nsysfs-root=/tmp/x\n"
                                        "auto-online=false\nverbose=true\n");

    CU_ASSERT_TRUE(agent_config_load(config, path, TRUE, &error));
    g_assert_no_error(error);
    CUNIT_ASSERT_STR(config->channel, "/dev/vport1p1");
    CUNIT_ASSERT_STR(config->listen, "/run/hotcpu.sock");
    CUNIT_ASSERT_STR(config->sysfs_root, "/tmp/x");
    CU_ASSERT_FALSE(config->auto_online);
    CU_ASSERT_TRUE(config->verbose);
    unlink(path);
}

static void
test_missing(void)
{
    g_autoptr(AgentConfig) config = agent_config_new();
    g_autoptr(GError) error = NULL;

    CU_ASSERT_TRUE(agent_config_load(config, "/nonexistent/agent.conf", FALSE, &error));
    g_assert_no_error(error);
    CU_ASSERT_FALSE(agent_config_load(config, "/nonexistent/agent.conf", TRUE, &error));
    CU_ASSERT_PTR_NOT_NULL(error);
}

static void
expect_rejected(const char *text, const char *needle)
{
    g_autoptr(AgentConfig) config = agent_config_new();
    g_autoptr(GError) error = NULL;
    g_autofree char *path = config_file(text);

    CU_ASSERT_FALSE(agent_config_load(config, path, TRUE, &error));
    CU_ASSERT_PTR_NOT_NULL_FATAL(error);
    CUNIT_ASSERT_CONTAINS(error->message, needle);
    CUNIT_ASSERT_CONTAINS(error->message, path);
    /* Nothing was taken over from the bad file. */
    CUNIT_ASSERT_STR(config->channel, "/dev/virtio-ports/org.hotcpu.agent.0");
    CU_ASSERT_TRUE(config->auto_online);
    unlink(path);
}

static void
test_rejects(void)
{
    expect_rejected("[agent]\nchanel=/dev/x\n", "chanel");
    expect_rejected("[agent]\nchannel=/dev/x\nauto-online=maybe\n", "auto-online");
    expect_rejected("[agent]\nchannel=/dev/x\n[other]\nx=1\n", "other");
    expect_rejected("[agent]\nchannel=\n", "channel");
    expect_rejected("not a key file\n", "");
}

static const CunitTest tests[] = {
    { "defaults", test_defaults },
    { "all keys", test_all_keys },
    { "missing file", test_missing },
    { "bad files", test_rejects },
    { NULL, NULL },
};

void
register_config_suite(void)
{
    cunit_add_suite("config", tests);
}
