/* fuzz_dispatch.c: the real agent (agent.c, commands.c, cpu_control.c,
 * agent_load.c) behind an in-memory channel, fed arbitrary bytes through
 * the channel's line reader, on a fake sysfs tree and fake /proc files,
 * with injected sysfs write failures.
 *
 * Input: byte 0 chooses the fault (low nibble: which write of this input
 * fails, 0 = none; high nibble: its errno) and whether the peer connects
 * as a host that gets the topology at once (bit 7 of byte 0 read as such);
 * the rest is what the peer sends.  Every line the agent sends, replies and
 * events, must parse with the host's own parser (fuzz_common.c).  Between
 * inputs the peer leaves (dropping a waiting set-num-cpus and its load
 * state) and the tree is put back when a write happened.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "channel_private.h"
#include "cpu_control.h"
#include "fake_sysfs.h"
#include "fuzz_common.h"

#define PRESENT 8
#define ONLINE 4

typedef struct {
    Channel base;
    guint64 peer; /* the one peer there now, 0 between inputs */
} MemChannel;

static Agent *agent;
static MemChannel *mem;
static char *tree;
static char *workdir;
static guint writes;
static guint fail_at;
static int fail_errno;

static void
mem_send(Channel *channel, guint64 peer, const char *data, gsize len)
{
    fuzz_check_agent_output(data, len);
}

static void
mem_broadcast(Channel *channel, const char *data, gsize len)
{
    fuzz_check_agent_output(data, len);
}

static guint
mem_peer_count(Channel *channel)
{
    return ((MemChannel *)channel)->peer != 0;
}

static gboolean
mem_peer_connected(Channel *channel, guint64 peer)
{
    return peer != 0 && ((MemChannel *)channel)->peer == peer;
}

static void
mem_free(Channel *channel)
{
    g_free(channel);
}

static const ChannelOps mem_ops = {
    .send = mem_send,
    .broadcast = mem_broadcast,
    .peer_count = mem_peer_count,
    .peer_connected = mem_peer_connected,
    .free = mem_free,
};

static Channel *
open_mem(const AgentConfig *config, const ChannelCallbacks *callbacks, gpointer user_data,
         GError **error)
{
    mem = g_new0(MemChannel, 1);
    channel_init(&mem->base, &mem_ops, callbacks, user_data);
    return &mem->base;
}

static int
write_hook(guint cpu, gboolean online, gpointer user_data)
{
    writes++;
    return writes == fail_at ? -fail_errno : 0;
}

static char *
fake_proc(const char *dir)
{
    char *proc = g_build_filename(dir, "proc", NULL);
    g_autofree char *pressure = g_build_filename(proc, "pressure", NULL);
    g_autofree char *stat = g_build_filename(proc, "stat", NULL);
    g_autofree char *cpu = g_build_filename(pressure, "cpu", NULL);

    g_mkdir_with_parents(pressure, 0755);
    g_file_set_contents(stat,
                        "cpu  10 0 10 100 0 0 0 0 0 0\ncpu0 5 0 5 50 0 0 0 0 0 0\n"
                        "cpu1 5 0 5 50 0 0 0 1 0 0\nprocs_running 2\n",
                        -1, NULL);
    g_file_set_contents(cpu, "some avg10=1.00 avg60=2.00 avg300=3.00 total=4\n", -1, NULL);
    return proc;
}

/* libFuzzer ends with exit(): leave no temp folders behind. */
static void
cleanup(void)
{
    g_clear_pointer(&agent, agent_free);
    fake_sysfs_destroy(g_steal_pointer(&tree));
    fake_sysfs_destroy(g_steal_pointer(&workdir)); /* removes any folder */
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    g_autoptr(GError) error = NULL;
    AgentConfig *config = agent_config_new();
    const char *dir;

    fuzz_quiet_logs();
    workdir = g_dir_make_tmp("hotcpu-fuzz-XXXXXX", &error);
    if (workdir == NULL)
        g_error("cannot make a temp dir: %s", error->message);
    dir = workdir;
    atexit(cleanup);
    tree = fake_sysfs_new_simple(PRESENT, ONLINE, 2 * PRESENT);
    g_free(config->sysfs_root);
    config->sysfs_root = g_strdup(tree);
    g_free(config->proc_root);
    config->proc_root = fake_proc(dir);
    config->uevent_socket = g_build_filename(dir, "uevent.sock", NULL);
    agent = agent_new_full(config, open_mem, &error);
    if (agent == NULL)
        g_error("cannot start the agent: %s", error->message);
    cpu_control_set_write_hook(write_hook, NULL);
    return 0;
}

static void
restore_tree(void)
{
    for (guint i = 1; i < PRESENT; i++)
        fake_sysfs_set_online(tree, i, i < ONLINE);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int errnos[] = { EBUSY, EIO, EPERM, EINVAL, ENODEV, EAGAIN, ENOMEM, EACCES };
    static guint64 next_peer = 1;
    ChannelPeer *peer;

    if (size == 0)
        return 0;
    writes = 0;
    fail_at = data[0] & 0x0F;
    fail_errno = errnos[(data[0] >> 4) & 7];
    mem->peer = next_peer++;
    peer = channel_peer_new(mem->peer, -1);
    mem->base.callbacks.connected(&mem->base, mem->peer, (data[0] & 0x80) != 0,
                                  mem->base.user_data);
    proto_line_reader_feed(peer->reader, data + 1, size - 1);
    proto_line_reader_feed(peer->reader, "\n", 1);
    channel_peer_deliver(&mem->base, peer);
    /* Idle callbacks (the trim) and any timer already due. */
    while (g_main_context_iteration(NULL, FALSE))
        ;
    mem->base.callbacks.disconnected(&mem->base, mem->peer, mem->base.user_data);
    mem->peer = 0;
    channel_peer_free(peer);
    if (writes > 0)
        restore_tree();
    return 0;
}
