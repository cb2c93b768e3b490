/* test_ctl_unchanged.c: "nothing changed" means nothing changed, for the
 * guest too (issue 8, item 1), and a signal in the middle of `set` (issue
 * 12, item 2).
 *
 * With the shipped hooks installed, the before hook offlines the guest's
 * CPUs ahead of an unplug.  A later hook's veto, a hypervisor refusal or a
 * SIGINT must then give the guest back the CPUs it had before the first
 * hook, say so, and record it; when it cannot, the exit code must not claim
 * that nothing changed.  "The CPUs it had" is the exact set, holes included
 * (set-online-cpus); an agent older than that command is given the count
 * back (set-num-cpus), and the set is checked.  The guest is the real
 * agent on a fake sysfs tree, libvirt the test driver.
 */
#include <errno.h>
#include <glib/gstdio.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl_fixture.h"
#include "cunit_runner.h"
#include "fake_sysfs.h"
#include "fd_io.h"
#include "protocol.h"

/* web1: 6 of 8 vCPUs live, its guest with 6 CPUs online, the shipped
 * before hook installed. */
static Agent *
six_online(Fx *fx)
{
    Agent *a = agent_start(fx, fake_sysfs_new_simple(6, 6, 8));
    Dom d = { .name = "web1", .current = 6, .max = 8, .agent_socket = a->socket };

    fx_domain(fx, &d);
    fx_install_shipped_hook(fx, "before_set_num_of_cpus");
    return a;
}

static guint
online_count(Agent *a)
{
    guint n = 0;

    for (guint cpu = 0; cpu < 6; cpu++)
        n += fake_sysfs_get_online(a->tree, cpu) != 0; /* cpu0 has no file: online */
    return n;
}

static const char *
audit_string(Fx *fx, const char *key)
{
    g_autoptr(GPtrArray) recs = fx_audit(fx);
    JsonObject *last = recs->len ? recs->pdata[recs->len - 1] : NULL;
    static char buf[128];

    g_strlcpy(buf, last ? json_object_get_string_member_with_default(last, key, "") : "",
              sizeof(buf));
    return buf;
}

static void
test_veto_gives_back(void)
{
    Fx *fx = fx_new();
    Agent *a = six_online(fx);

    write_hook(fx, "before_set_num_of_cpus", "60_veto", "#!/bin/sh\necho no >&2\nexit 1\n");
    CU_ASSERT_EQUAL(fx_run(fx, "set", "web1", "2"), 4);
    CU_ASSERT_EQUAL(online_count(a), 6);
    CU_ASSERT_TRUE(err_has(fx, "nothing changed"));
    CU_ASSERT_TRUE(err_has(fx, "the guest has its CPUs 0-5 online again"));
    CU_ASSERT_STRING_EQUAL(audit_string(fx, "outcome"), "vetoed");
    CU_ASSERT_STRING_EQUAL(audit_string(fx, "guest-restore"), "restored");
    agent_stop(a);
    fx_free(fx);
}

/* The guest had a hole (an admin took CPU 2 offline: 0-1,3-5 of 0-5); the
 * shipped hook offlines down to 0-1 for an unplug to 2, a later hook
 * vetoes.  A count cannot give that back (set-num-cpus 5 brings 2-4, lowest
 * first): the exact set must come back, hole and all. */
static void
test_veto_gives_back_a_hole(void)
{
    Fx *fx = fx_new();
    Agent *a = NULL;
    char *tree = fake_sysfs_new_simple(6, 6, 8);
    Dom d = { .name = "web1", .current = 6, .max = 8 };
    g_autoptr(GString) states = g_string_new(NULL);

    fake_sysfs_set_online(tree, 2, FALSE);
    a = agent_start(fx, tree);
    d.agent_socket = a->socket;
    fx_domain(fx, &d);
    fx_install_shipped_hook(fx, "before_set_num_of_cpus");
    write_hook(fx, "before_set_num_of_cpus", "60_veto", "#!/bin/sh\necho no >&2\nexit 1\n");
    CU_ASSERT_EQUAL(fx_run(fx, "set", "web1", "2"), 4);
    for (guint cpu = 1; cpu < 6; cpu++)
        g_string_append_c(states, fake_sysfs_get_online(a->tree, cpu) == 1 ? '1' : '0');
    CU_ASSERT_STRING_EQUAL(states->str, "10111"); /* cpu1..cpu5: exactly 0-1,3-5 */
    CU_ASSERT_TRUE(err_has(fx, "nothing changed"));
    CU_ASSERT_TRUE(err_has(fx, "the guest has its CPUs 0-1,3-5 online again"));
    CU_ASSERT_STRING_EQUAL(audit_string(fx, "outcome"), "vetoed");
    CU_ASSERT_STRING_EQUAL(audit_string(fx, "guest-restore"), "restored");
    agent_stop(a);
    fx_free(fx);
}

static void
test_refusal_gives_back(void)
{
    Fx *fx = fx_new();
    Agent *a = six_online(fx);

    fx->mock = "fail";
    CU_ASSERT_EQUAL(fx_run(fx, "set", "web1", "2"), 5);
    CU_ASSERT_EQUAL(online_count(a), 6);
    CU_ASSERT_TRUE(err_has(fx, "libvirt could not set domain 'web1' to 2 vCPUs"));
    CU_ASSERT_TRUE(err_has(fx, "the guest has its CPUs 0-5 online again"));
    CU_ASSERT_STRING_EQUAL(audit_string(fx, "guest-restore"), "restored");
    agent_stop(a);
    fx_free(fx);
}

/* The agent is gone after the shipped hook offlined CPUs: the guest cannot
 * be given them back, so this is no "nothing changed" (4) but 6. */
static void
test_restore_failure_is_said(void)
{
    Fx *fx = fx_new();
    Agent *a = six_online(fx);
    g_autofree char *veto
        = g_strdup_printf("#!/bin/sh\npkill -f -- '--listen %s'\nexit 1\n", a->socket);

    write_hook(fx, "before_set_num_of_cpus", "60_veto_and_kill_agent", veto);
    CU_ASSERT_EQUAL(fx_run(fx, "set", "web1", "2"), 6);
    CU_ASSERT_EQUAL(online_count(a), 2);
    CU_ASSERT_TRUE(err_has(fx, "the guest could not be given back its online CPUs 0-5"));
    CU_ASSERT_STRING_EQUAL(audit_string(fx, "guest-restore"), "failed");
    agent_stop(a);
    fx_free(fx);
}

/* ---- an agent older than set-online-cpus ------------------------------ */

/* A proxy in front of the real agent that answers set-online-cpus with
 * CommandNotFound, as an agent from before that command does, and passes
 * every other line through; one client at a time, like QEMU's socket. */
typedef struct {
    char *path;
    char *target;
    int listen_fd;
    int stop[2];
    GThread *thread;
    gint refused; /* set-online-cpus requests answered CommandNotFound */
} OldAgent;

static int
unix_socket(const char *path, gboolean listen_on)
{
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    g_strlcpy(addr.sun_path, path, sizeof(addr.sun_path));
    if (fd < 0
        || (listen_on ? bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(fd, 8) < 0
                      : connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0))
        g_error("cannot %s %s: %s", listen_on ? "listen on" : "connect to", path,
                g_strerror(errno));
    return fd;
}

/* Hands on the complete lines of @buf: from the client, to the agent or
 * answered here; from the agent, to the client (whole lines only, so that
 * an answer made here never lands inside one of the agent's). */
static void
pass_lines(OldAgent *old, GString *buf, gboolean from_client, int client, int upstream)
{
    char *nl;

    while ((nl = memchr(buf->str, '\n', buf->len)) != NULL) {
        gsize len = (gsize)(nl - buf->str);
        g_autoptr(JsonNode) bad_id = NULL;
        g_autoptr(ProtoRequest) req
            = from_client ? proto_parse_request(buf->str, len, &bad_id, NULL) : NULL;

        if (req && strcmp(req->execute, "set-online-cpus") == 0) {
            g_autofree char *reply = proto_format_error(PROTO_ERROR_COMMAND_NOT_FOUND,
                                                        "no command 'set-online-cpus'", req->id);

            g_atomic_int_inc(&old->refused);
            (void)fd_write_all(client, reply, strlen(reply));
        } else {
            (void)fd_write_all(from_client ? upstream : client, buf->str, len + 1);
        }
        g_string_erase(buf, 0, (gssize)len + 1);
    }
}

static void
old_agent_serve(OldAgent *old, int client)
{
    int upstream = unix_socket(old->target, FALSE);
    g_autoptr(GString) in = g_string_new(NULL);
    g_autoptr(GString) out = g_string_new(NULL);
    struct pollfd fds[3]
        = { { client, POLLIN, 0 }, { upstream, POLLIN, 0 }, { old->stop[0], POLLIN, 0 } };
    char chunk[4096];

    while (poll(fds, 3, -1) > 0 && fds[2].revents == 0) {
        for (int i = 0; i < 2; i++) {
            ssize_t n = fds[i].revents ? read(fds[i].fd, chunk, sizeof(chunk)) : -1;

            if (fds[i].revents && n <= 0)
                goto done;
            for (ssize_t k = 0; k < n; k++) {
                if (i == 0 && (guchar)chunk[k] == PROTO_RESYNC_BYTE)
                    g_string_truncate(in, 0); /* the agent's connection is new */
                else
                    g_string_append_c(i == 0 ? in : out, chunk[k]);
            }
            if (n > 0)
                pass_lines(old, i == 0 ? in : out, i == 0, client, upstream);
        }
    }
done:
    close(upstream);
    close(client);
}

static gpointer
old_agent_run(gpointer data)
{
    OldAgent *old = data;
    struct pollfd fds[2] = { { old->listen_fd, POLLIN, 0 }, { old->stop[0], POLLIN, 0 } };

    while (poll(fds, 2, -1) > 0 && fds[1].revents == 0) {
        int client = accept4(old->listen_fd, NULL, NULL, SOCK_CLOEXEC);

        if (client >= 0)
            old_agent_serve(old, client);
    }
    return NULL;
}

static OldAgent *
old_agent_start(Fx *fx, const Agent *real)
{
    OldAgent *old = g_new0(OldAgent, 1);

    old->path = g_build_filename(fx->dir, "old-agent.sock", NULL);
    old->target = g_strdup(real->socket);
    old->listen_fd = unix_socket(old->path, TRUE);
    g_assert(pipe(old->stop) == 0);
    old->thread = g_thread_new("old-agent", old_agent_run, old);
    return old;
}

static void
old_agent_stop(OldAgent *old)
{
    g_assert(write(old->stop[1], "x", 1) == 1);
    g_thread_join(old->thread);
    close(old->stop[0]);
    close(old->stop[1]);
    close(old->listen_fd);
    g_unlink(old->path);
    g_free(old->path);
    g_free(old->target);
    g_free(old);
}

/* An agent from before set-online-cpus: hotcpu-ctl falls back to
 * set-num-cpus with the count, then checks the set.  Without a hole that
 * restores the set; with one (@hole: CPU 2 offline) it brings back 0-4,
 * and says so instead of claiming "nothing changed". */
static void
old_agent_gives_back(gboolean hole, int want_exit, const char *want_err, const char *want_restore,
                     const char *want_states)
{
    Fx *fx = fx_new();
    char *tree = fake_sysfs_new_simple(6, 6, 8);
    Agent *a = NULL;
    OldAgent *old = NULL;
    Dom d = { .name = "web1", .current = 6, .max = 8 };
    g_autoptr(GString) states = g_string_new(NULL);

    if (hole)
        fake_sysfs_set_online(tree, 2, FALSE);
    a = agent_start(fx, tree);
    old = old_agent_start(fx, a);
    d.agent_socket = old->path;
    fx_domain(fx, &d);
    fx_install_shipped_hook(fx, "before_set_num_of_cpus");
    write_hook(fx, "before_set_num_of_cpus", "60_veto", "#!/bin/sh\necho no >&2\nexit 1\n");
    CU_ASSERT_EQUAL(fx_run(fx, "set", "web1", "2"), want_exit);
    for (guint cpu = 1; cpu < 6; cpu++)
        g_string_append_c(states, fake_sysfs_get_online(a->tree, cpu) == 1 ? '1' : '0');
    CU_ASSERT_STRING_EQUAL(states->str, want_states);
    CU_ASSERT_TRUE(err_has(fx, want_err));
    CU_ASSERT_STRING_EQUAL(audit_string(fx, "guest-restore"), want_restore);
    CU_ASSERT_TRUE(g_atomic_int_get(&old->refused) >= 1); /* it asked set-online-cpus first */
    old_agent_stop(old);
    agent_stop(a);
    fx_free(fx);
}

static void
test_old_agent_gives_back(void)
{
    old_agent_gives_back(FALSE, 4, "the guest has its CPUs 0-5 online again", "restored", "11111");
}

static void
test_old_agent_hole_said(void)
{
    old_agent_gives_back(TRUE, 6, "the guest has CPUs 0-4 online, not 0-1,3-5", "failed", "11110");
}

/* Running, not a zombie (killed, and not reaped by our init yet). */
static gboolean
process_running(const char *pid_text)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/stat", atoi(pid_text));
    g_autofree char *stat = NULL;
    const char *state;

    if (!g_file_get_contents(path, &stat, NULL, NULL))
        return FALSE;
    state = strrchr(stat, ')');
    return state && state[1] == ' ' && state[2] != 'Z' && state[2] != 'X';
}

/* TRUE once @path holds at least one whole line (written up to its '\n'). */
static gboolean
file_has_line(const char *path)
{
    g_autofree char *text = NULL;

    return g_file_get_contents(path, &text, NULL, NULL) && strchr(text, '\n') != NULL;
}

/* A slow before hook with a background child; the test signals hotcpu-ctl
 * once the child runs. */
static void
signal_during_hook(int sig, int want_exit)
{
    Fx *fx = fx_new();
    Agent *a = six_online(fx);
    g_autofree char *pidfile = g_build_filename(fx->dir, "child.pid", NULL);
    g_autofree char *xmlfile = g_build_filename(fx->dir, "domxml.path", NULL);
    g_autofree char *slow = g_strdup_printf(
        "#!/bin/sh\necho \"$_hook_domxml\" > '%s'\nsleep 60 &\necho $! > '%s'\nwait\n", xmlfile,
        pidfile);
    g_autoptr(GSubprocess) p = NULL;
    g_autofree char *child = NULL;
    g_autofree char *xml = NULL;

    write_hook(fx, "before_set_num_of_cpus", "60_slow", slow);
    p = fx_spawn_v(fx, (const char *const[]){ "set", "web1", "2", NULL });
    /* The event: the hook wrote its child's pid (a whole line), so the child
     * runs and the hook is in its wait. */
    for (int i = 0; i < 400 && !file_has_line(pidfile); i++)
        g_usleep(25 * 1000);
    CU_ASSERT_TRUE_FATAL(file_has_line(pidfile));
    g_subprocess_send_signal(p, sig);
    CU_ASSERT_EQUAL(fx_finish(fx, p), want_exit);
    CU_ASSERT_EQUAL(online_count(a), 6); /* the shipped hook's offlining undone */
    CU_ASSERT_TRUE(err_has(fx, "interrupted by signal"));
    CU_ASSERT_TRUE(err_has(fx, "nothing changed"));
    CU_ASSERT_STRING_EQUAL(audit_string(fx, "outcome"), "interrupted");
    /* the hook's whole process group is gone, and the XML file too */
    CU_ASSERT_TRUE(g_file_get_contents(pidfile, &child, NULL, NULL));
    CU_ASSERT_TRUE(child && !process_running(child));
    CU_ASSERT_TRUE(g_file_get_contents(xmlfile, &xml, NULL, NULL));
    CU_ASSERT_FALSE(xml && g_file_test(g_strstrip(xml), G_FILE_TEST_EXISTS));
    agent_stop(a);
    fx_free(fx);
}

static void
test_sigint_during_hook(void)
{
    signal_during_hook(SIGINT, 130);
}

static void
test_sigterm_during_hook(void)
{
    signal_during_hook(SIGTERM, 143);
}

static void
register_unchanged_suite(void)
{
    static const CunitTest tests[] = {
        { "veto gives the guest back its CPUs", test_veto_gives_back },
        { "veto gives back exactly the set, a hole kept", test_veto_gives_back_a_hole },
        { "an older agent: the count given back, the set checked", test_old_agent_gives_back },
        { "an older agent: a hole it cannot give back is said", test_old_agent_hole_said },
        { "hypervisor refusal gives them back", test_refusal_gives_back },
        { "a failed give-back is not 'nothing changed'", test_restore_failure_is_said },
        { "SIGINT during a before hook", test_sigint_during_hook },
        { "SIGTERM during a before hook", test_sigterm_during_hook },
        { NULL, NULL },
    };

    cunit_add_suite("nothing changed", tests);
}

static const CunitSuite suites[] = {
    { "nothing changed", register_unchanged_suite },
    { NULL, NULL },
};

int
main(int argc, char **argv)
{
    if (!fx_init())
        return 1;
    return cunit_run(argc, argv, suites);
}
