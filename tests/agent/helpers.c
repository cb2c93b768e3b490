/* helpers.c: spawning the real agent and talking to it byte by byte. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "glib_compat.h"
#include "agent_test.h"
#include "protocol.h"

void
write_text(const char *dir, const char *name, const char *contents)
{
    g_autofree char *path = g_build_filename(dir, name, NULL);
    g_autoptr(GError) error = NULL;

    if (!g_file_set_contents(path, contents, -1, &error))
        g_error("cannot write %s: %s", path, error->message);
}

static int
connect_unix(const char *path)
{
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    g_assert(fd >= 0);
    g_strlcpy(addr.sun_path, path, sizeof(addr.sun_path));
    if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* If the test program dies (a failed g_assert), the agent must not live on
 * holding meson's output pipe open. */
static void
die_with_parent(gpointer user_data)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
}

TestAgent *
test_agent_start(const char *sysfs, const char *config_text, const char *const *extra_args)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
    g_autofree char *conf = NULL;
    const char *binary = g_getenv("HOTCPU_TEST_AGENT");
    const char *wrapper = g_getenv("HOTCPU_TEST_AGENT_WRAPPER");
    TestAgent *agent = g_new0(TestAgent, 1);
    /* Under valgrind the agent needs a while to come up. */
    gint64 deadline = g_get_monotonic_time() + 30 * G_USEC_PER_SEC;

    if (binary == NULL)
        g_error("HOTCPU_TEST_AGENT is not set (meson sets it)");
    agent->dir = g_dir_make_tmp("hotcpu-agent-test-XXXXXX", &error);
    g_assert_no_error(error);
    agent->sysfs = g_strdup(sysfs);
    agent->sock = g_build_filename(agent->dir, "agent.sock", NULL);
    agent->usock = g_build_filename(agent->dir, "uevent.sock", NULL);
    conf = g_build_filename(agent->dir, "agent.conf", NULL);
    write_text(agent->dir, "agent.conf", config_text != NULL ? config_text : "");

    if (wrapper != NULL && *wrapper != '\0') {
        g_auto(GStrv) words = g_strsplit_set(wrapper, " ", -1);

        for (gsize i = 0; words[i] != NULL; i++) {
            if (*words[i] != '\0')
                g_ptr_array_add(argv, g_strdup(words[i]));
        }
    }
    g_ptr_array_add(argv, g_strdup(binary));
    g_ptr_array_add(argv, g_strdup("--listen"));
    g_ptr_array_add(argv, g_strdup(agent->sock));
    g_ptr_array_add(argv, g_strdup("--sysfs-root"));
    g_ptr_array_add(argv, g_strdup(sysfs));
    g_ptr_array_add(argv, g_strdup("--uevent-socket"));
    g_ptr_array_add(argv, g_strdup(agent->usock));
    g_ptr_array_add(argv, g_strdup("--config"));
    g_ptr_array_add(argv, g_strdup(conf));
    g_ptr_array_add(argv, g_strdup("--verbose"));
    for (gsize i = 0; extra_args != NULL && extra_args[i] != NULL; i++)
        g_ptr_array_add(argv, g_strdup(extra_args[i]));
    g_ptr_array_add(argv, NULL);

    /* stderr inherited: meson keeps the agent's log with the test's. */
    if (!g_spawn_async(NULL, (char **)argv->pdata, NULL,
                       G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_SEARCH_PATH, die_with_parent, NULL,
                       &agent->pid, &error))
        g_error("cannot start %s: %s", binary, error->message);

    for (;;) {
        int fd = connect_unix(agent->sock);

        if (fd >= 0) {
            close(fd);
            break;
        }
        if (waitpid(agent->pid, NULL, WNOHANG) == agent->pid)
            g_error("the agent exited at start");
        if (g_get_monotonic_time() > deadline)
            g_error("the agent did not listen on %s", agent->sock);
        g_usleep(20 * 1000);
    }
    return agent;
}

int
test_agent_stop(TestAgent *agent)
{
    int status = -1;

    /* Under valgrind, exiting takes a few seconds.  An agent that ignores
     * SIGTERM is a failure, not a hung test run. */
    gint64 deadline = g_get_monotonic_time() + 30 * G_USEC_PER_SEC;
    pid_t r;

    kill(agent->pid, SIGTERM);
    while ((r = waitpid(agent->pid, &status, WNOHANG)) == 0 && g_get_monotonic_time() < deadline)
        g_usleep(10 * 1000);
    if (r == 0) {
        g_printerr("the agent did not exit on SIGTERM; killing it\n");
        kill(agent->pid, SIGKILL);
        waitpid(agent->pid, &status, 0);
        status = -1;
    }
    g_spawn_close_pid(agent->pid);
    /* The agent removes its sockets; remove the rest. */
    {
        g_autofree char *conf = g_build_filename(agent->dir, "agent.conf", NULL);
        unlink(conf);
        unlink(agent->sock);
        unlink(agent->usock);
        rmdir(agent->dir);
    }
    g_free(agent->dir);
    g_free(agent->sysfs);
    g_free(agent->sock);
    g_free(agent->usock);
    g_free(agent);
    if (status == -1)
        return -1;
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

void
test_agent_uevent(TestAgent *agent, const char *action, guint cpu, guint64 seqnum)
{
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    g_autoptr(GByteArray) msg = g_byte_array_new();
    g_autofree char *devpath = g_strdup_printf("/devices/system/cpu/cpu%u", cpu);
    char *items[] = {
        g_strdup_printf("%s@%s", action, devpath),
        g_strdup_printf("ACTION=%s", action),
        g_strdup_printf("DEVPATH=%s", devpath),
        g_strdup("SUBSYSTEM=cpu"),
        g_strdup_printf("SEQNUM=%" G_GUINT64_FORMAT, seqnum),
    };
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

    /* The kernel's format: NUL-terminated items, header first. */
    for (gsize i = 0; i < G_N_ELEMENTS(items); i++) {
        g_byte_array_append(msg, (const guint8 *)items[i], strlen(items[i]) + 1);
        g_free(items[i]);
        items[i] = NULL;
    }
    g_strlcpy(addr.sun_path, agent->usock, sizeof(addr.sun_path));
    g_assert(fd >= 0);
    if (sendto(fd, msg->data, msg->len, 0, (struct sockaddr *)&addr, sizeof(addr)) < 0)
        g_error("cannot send a uevent to %s: %s", agent->usock, g_strerror(errno));
    close(fd);
}

RawClient *
raw_connect(TestAgent *agent)
{
    RawClient *client = g_new0(RawClient, 1);

    client->fd = connect_unix(agent->sock);
    g_assert(client->fd >= 0);
    client->buf = g_string_new(NULL);
    g_queue_init(&client->replies);
    g_queue_init(&client->events);
    return client;
}

void
raw_free(RawClient *client)
{
    if (client == NULL)
        return;
    close(client->fd);
    g_string_free(client->buf, TRUE);
    g_queue_clear_full(&client->replies, (GDestroyNotify)json_node_unref);
    g_queue_clear_full(&client->events, (GDestroyNotify)json_node_unref);
    g_free(client);
}

void
raw_send(RawClient *client, const void *data, gsize len)
{
    const char *p = data;

    while (len > 0) {
        ssize_t n = send(client->fd, p, len, MSG_NOSIGNAL);

        if (n < 0 && errno == EINTR)
            continue;
        g_assert(n > 0);
        p += n;
        len -= (gsize)n;
    }
}

void
raw_send_str(RawClient *client, const char *line)
{
    raw_send(client, line, strlen(line));
}

/* Every line the agent sends must parse with the host's own parser (what
 * hotcpu-ctl and the hooks use): json-glib alone is more lenient. */
gboolean raw_allow_long_lines = FALSE;

static void
check_host_parses(const char *line, gsize len)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(ProtoMessage) msg = NULL;

    if (len > PROTO_MAX_LINE && raw_allow_long_lines)
        return;
    msg = proto_parse_message(line, len, &error);
    if (msg == NULL)
        fprintf(stderr, "\nthe host's parser rejects the agent's line %.*s: %s\n",
                (int)MIN(len, 200), line, error->message);
    CU_ASSERT_PTR_NOT_NULL(msg);
}

/* Reads one more message into the queues.  FALSE on timeout or EOF. */
static gboolean
raw_read_message(RawClient *client, gint64 deadline)
{
    for (;;) {
        char *nl = memchr(client->buf->str, '\n', client->buf->len);

        if (nl != NULL) {
            gsize len = (gsize)(nl - client->buf->str);
            g_autoptr(JsonParser) parser = json_parser_new();
            g_autoptr(GError) error = NULL;
            JsonNode *node;

            if (!json_parser_load_from_data(parser, client->buf->str, (gssize)len, &error))
                g_error("the agent sent a line that is not JSON: %.*s", (int)len, client->buf->str);
            check_host_parses(client->buf->str, len);
            node = json_node_ref(json_parser_get_root(parser));
            g_string_erase(client->buf, 0, (gssize)len + 1);
            g_assert(JSON_NODE_HOLDS_OBJECT(node));
            if (json_object_has_member(json_node_get_object(node), "event"))
                g_queue_push_tail(&client->events, node);
            else
                g_queue_push_tail(&client->replies, node);
            return TRUE;
        } else {
            struct pollfd pfd = { .fd = client->fd, .events = POLLIN };
            gint64 left = (deadline - g_get_monotonic_time()) / 1000;
            char chunk[65536];
            ssize_t n;

            if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
                return FALSE;
            n = recv(client->fd, chunk, sizeof(chunk), 0);
            if (n <= 0)
                return FALSE;
            g_string_append_len(client->buf, chunk, n);
        }
    }
}

JsonNode *
raw_reply(RawClient *client, guint timeout_ms)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;

    while (g_queue_is_empty(&client->replies)) {
        if (!raw_read_message(client, deadline))
            return NULL;
    }
    return g_queue_pop_head(&client->replies);
}

JsonNode *
raw_event(RawClient *client, guint timeout_ms)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;

    while (g_queue_is_empty(&client->events)) {
        if (!raw_read_message(client, deadline))
            return NULL;
    }
    return g_queue_pop_head(&client->events);
}

JsonNode *
raw_call(RawClient *client, const char *line)
{
    raw_send_str(client, line);
    if (line[strlen(line) - 1] != '\n')
        raw_send_str(client, "\n");
    return raw_reply(client, 10000);
}

const char *
reply_error_class(JsonNode *reply)
{
    JsonObject *obj;

    if (reply == NULL)
        return "(no reply)";
    obj = json_node_get_object(reply);
    if (!json_object_has_member(obj, "error"))
        return NULL;
    return json_object_get_string_member(json_object_get_object_member(obj, "error"), "class");
}

const char *
reply_error_desc(JsonNode *reply)
{
    JsonObject *obj;

    if (reply == NULL)
        return NULL;
    obj = json_node_get_object(reply);
    if (!json_object_has_member(obj, "error"))
        return NULL;
    return json_object_get_string_member(json_object_get_object_member(obj, "error"), "desc");
}

JsonObject *
reply_return(JsonNode *reply)
{
    JsonObject *obj;

    if (reply == NULL)
        return NULL;
    obj = json_node_get_object(reply);
    if (!json_object_has_member(obj, "return"))
        return NULL;
    return json_object_get_object_member(obj, "return");
}
