/* fake_agent.c: the stand-in agent's accept loop and its table answers. */
#include "fake_agent.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* How long a flood goes on at most: longer than any deadline, so that a
 * program that only stops when the guest does fails its time bound. */
#define FLOOD_MAX_US (40 * G_USEC_PER_SEC)
/* A flood is sent as fast as the host takes it, so that data is always
 * waiting: a client that only times out when poll() does never stops. */
#define FLOOD_CHUNK (64 * 1024)

static gboolean
stopping(FakeAgent *fa)
{
    return g_atomic_int_get(&fa->stop) != 0;
}

static gboolean
send_len(FakeAgent *fa, int fd, const char *data, gsize len)
{
    while (len > 0 && !stopping(fa)) {
        struct pollfd pfd = { .fd = fd, .events = POLLOUT };
        ssize_t n;

        if (poll(&pfd, 1, 100) <= 0)
            continue;
        n = send(fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n <= 0)
            return FALSE;
        data += n;
        len -= (gsize)n;
    }
    return len == 0;
}

gboolean
fake_agent_send(FakeAgent *fa, int fd, const char *text)
{
    return send_len(fa, fd, text, strlen(text));
}

char *
fake_agent_fill_id(const char *tmpl, JsonNode *id)
{
    g_autofree char *id_text = id != NULL ? json_to_string(id, FALSE) : g_strdup("null");
    g_auto(GStrv) parts = g_strsplit(tmpl, "@ID@", -1);
    g_autofree char *line = g_strjoinv(id_text, parts);

    return g_strconcat(line, "\n", NULL);
}

/* @line over and over, FLOOD_CHUNK at a time, until the host goes. */
static void
flood(FakeAgent *fa, int fd, const char *line)
{
    gint64 end = g_get_monotonic_time() + FLOOD_MAX_US;
    GString *chunk = g_string_new(NULL);

    while (chunk->len < FLOOD_CHUNK)
        g_string_append(chunk, line);
    while (g_get_monotonic_time() < end && send_len(fa, fd, chunk->str, chunk->len))
        ;
    g_string_free(chunk, TRUE);
}

gboolean
fake_agent_answer(FakeAgent *fa, int fd, const ProtoRequest *req)
{
    const FakeAnswer *a = NULL;
    g_autofree char *line = NULL;

    for (guint i = 0; fa->answers != NULL && fa->answers[i].execute != NULL && !a; i++)
        if (strcmp(fa->answers[i].execute, req->execute) == 0)
            a = &fa->answers[i];
    if (a == NULL) {
        line = fake_agent_fill_id(
            "{\"error\":{\"class\":\"CommandNotFound\",\"desc\":\"no\"},\"id\":@ID@}", req->id);
        return fake_agent_send(fa, fd, line);
    }
    if (a->before && a->repeat == FAKE_AGENT_FLOOD) {
        flood(fa, fd, a->before);
        return FALSE;
    }
    for (guint i = 0; a->before && i < a->repeat; i++)
        if (!fake_agent_send(fa, fd, a->before))
            return FALSE;
    if (a->reply == NULL)
        return TRUE;
    line = fake_agent_fill_id(a->reply, req->id);
    return fake_agent_send(fa, fd, line);
}

static void
serve_one(FakeAgent *fa, int fd)
{
    g_autoptr(ProtoLineReader) reader = proto_line_reader_new(PROTO_MAX_LINE);
    FakeAgentHandler handler = fa->handler ? fa->handler : fake_agent_answer;

    if (fa->greeting && !fake_agent_send(fa, fd, fa->greeting))
        return;
    while (!stopping(fa)) {
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        char buf[4096];
        char *line = NULL;
        gsize len;
        ssize_t n;

        if (poll(&pfd, 1, 100) <= 0)
            continue;
        n = read(fd, buf, sizeof buf);
        if (n <= 0)
            return;
        proto_line_reader_feed(reader, buf, (gsize)n);
        while (proto_line_reader_next(reader, &line, &len) == PROTO_LINE_OK) {
            g_autoptr(ProtoRequest) req = proto_parse_request(line, len, NULL, NULL);

            g_free(line);
            if (req != NULL && !handler(fa, fd, req))
                return;
        }
    }
}

static gpointer
accept_loop(gpointer data)
{
    FakeAgent *fa = data;

    while (!stopping(fa)) {
        struct pollfd pfd = { .fd = fa->listen_fd, .events = POLLIN };
        int fd;

        if (poll(&pfd, 1, 100) <= 0)
            continue;
        fd = accept(fa->listen_fd, NULL, NULL);
        if (fd < 0)
            continue;
        g_atomic_int_inc((gint *)&fa->connections);
        serve_one(fa, fd);
        close(fd);
    }
    return NULL;
}

void
fake_agent_listen(FakeAgent *fa, const char *socket_path)
{
    struct sockaddr_un addr = { .sun_family = AF_UNIX };

    fa->socket = g_strdup(socket_path);
    g_assert(strlen(socket_path) < sizeof addr.sun_path);
    g_strlcpy(addr.sun_path, socket_path, sizeof addr.sun_path);
    fa->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    g_assert(fa->listen_fd >= 0);
    g_assert(bind(fa->listen_fd, (struct sockaddr *)&addr, sizeof addr) == 0);
    g_assert(listen(fa->listen_fd, 4) == 0);
}

void
fake_agent_serve(FakeAgent *fa)
{
    fa->thread = g_thread_new("fake-agent", accept_loop, fa);
}

void
fake_agent_close(FakeAgent *fa)
{
    g_atomic_int_set(&fa->stop, 1);
    if (fa->thread != NULL)
        g_thread_join(fa->thread);
    fa->thread = NULL;
    close(fa->listen_fd);
    unlink(fa->socket);
    g_clear_pointer(&fa->socket, g_free);
}

FakeAgent *
fake_agent_start_in(const char *dir, const FakeAnswer *answers, const char *greeting)
{
    FakeAgent *fa = g_new0(FakeAgent, 1);
    g_autofree char *path = g_build_filename(dir, "fake-agent.sock", NULL);

    fa->answers = answers;
    fa->greeting = greeting;
    fake_agent_listen(fa, path);
    fake_agent_serve(fa);
    return fa;
}

void
fake_agent_stop(FakeAgent *fa)
{
    fake_agent_close(fa);
    g_free(fa);
}
