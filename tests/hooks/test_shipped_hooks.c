/* test_shipped_hooks.c: the shipped 50_hotcpu_agent hooks against the real
 * hotcpu-agent (--listen on a temp socket, --sysfs-root on a fake tree), a
 * scripted stand-in agent for the error replies, and through the hook runner
 * with the build tree's host-hooks/ as root.
 *
 * Meson passes the binaries: HOTCPU_TEST_AGENT, HOTCPU_TEST_BEFORE_HOOK,
 * HOTCPU_TEST_AFTER_HOOK, HOTCPU_TEST_HOOKS_ROOT. */
#include "config.h"

#include <CUnit/Basic.h>
#include <errno.h>
#include <ftw.h>
#include <gio/gio.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "agent_call.h"
#include "cunit_runner.h"
#include "fake_agent.h"
#include "fake_sysfs.h"
#include "hook_runner.h"
#include "protocol.h"

static const char *agent_bin;
static const char *before_hook;
static const char *after_hook;
static const char *hooks_root;

/* ---- fixtures ------------------------------------------------------------ */

static int
remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    remove(path);
    return 0;
}

typedef struct {
    char *dir;    /* temp dir holding the socket */
    char *socket; /* DIR/agent.sock */
    char *tree;   /* fake sysfs root */
    GSubprocess *proc;
} Agent;

/* Starts the real agent on a fresh fake tree and waits until it answers. */
static Agent *
agent_start(char *tree)
{
    Agent *agent = g_new0(Agent, 1);
    g_autoptr(GError) error = NULL;

    agent->dir = g_dir_make_tmp("hotcpu-hooks-it-XXXXXX", NULL);
    g_assert(agent->dir != NULL);
    agent->socket = g_build_filename(agent->dir, "agent.sock", NULL);
    agent->tree = tree;
    agent->proc = g_subprocess_new(G_SUBPROCESS_FLAGS_NONE, &error, agent_bin, "--listen",
                                   agent->socket, "--sysfs-root", tree, NULL);
    if (agent->proc == NULL)
        g_error("cannot start %s: %s", agent_bin, error->message);

    for (int i = 0; i < 500; i++) {
        g_autoptr(JsonNode) pong = NULL;
        g_autoptr(GError) ping_error = NULL;

        if (g_file_test(agent->socket, G_FILE_TEST_EXISTS)) {
            pong = agent_client_call_once(agent->socket, "ping", NULL, 1000, &ping_error);
            if (pong != NULL)
                return agent;
        }
        g_usleep(10 * 1000);
    }
    g_error("%s did not answer on %s within 5 s", agent_bin, agent->socket);
}

static void
agent_stop(Agent *agent)
{
    g_subprocess_force_exit(agent->proc);
    g_subprocess_wait(agent->proc, NULL, NULL);
    g_object_unref(agent->proc);
    nftw(agent->dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
    fake_sysfs_destroy(agent->tree);
    g_free(agent->dir);
    g_free(agent->socket);
    g_free(agent);
}

typedef struct {
    int status;   /* exit code, or -1 when not a normal exit */
    char *output; /* stdout and stderr, merged */
    gdouble seconds;
} HookRun;

static void
hook_run_clear(HookRun *run)
{
    g_free(run->output);
}

/* Runs @hook with our environment minus the hook variables, plus @vars
 * ("NAME=VALUE", NULL-terminated). */
static HookRun
run_hook(const char *hook, const char *const *vars)
{
    g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new(
        G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_MERGE);
    g_autoptr(GSubprocess) proc = NULL;
    g_autoptr(GError) error = NULL;
    const char *names[] = { "numberOfCpus", "previousNumberOfCpus", "HOTCPU_AGENT_SOCKET", "vmName",
                            "vmId",         "_hook_domxml" };
    gint64 start = g_get_monotonic_time();
    HookRun run = { -1, NULL, 0 };

    for (guint i = 0; i < G_N_ELEMENTS(names); i++)
        g_subprocess_launcher_unsetenv(launcher, names[i]);
    for (guint i = 0; vars != NULL && vars[i] != NULL; i++) {
        g_auto(GStrv) kv = g_strsplit(vars[i], "=", 2);

        g_subprocess_launcher_setenv(launcher, kv[0], kv[1] != NULL ? kv[1] : "", TRUE);
    }
    proc = g_subprocess_launcher_spawn(launcher, &error, hook, NULL);
    if (proc == NULL)
        g_error("cannot start %s: %s", hook, error->message);
    if (!g_subprocess_communicate_utf8(proc, NULL, NULL, &run.output, NULL, &error))
        g_error("cannot read from %s: %s", hook, error->message);
    if (g_subprocess_get_if_exited(proc))
        run.status = g_subprocess_get_exit_status(proc);
    run.seconds = (gdouble)(g_get_monotonic_time() - start) / G_USEC_PER_SEC;
    /* Visible with --print-errorlogs when something fails. */
    printf("\n    [%s exit %d in %.1f s] %s", hook, run.status, run.seconds,
           run.output != NULL ? run.output : "");
    return run;
}

static HookRun
run_with_agent(const char *hook, guint count, guint previous, const char *socket)
{
    g_autofree char *c = g_strdup_printf("numberOfCpus=%u", count);
    g_autofree char *p = g_strdup_printf("previousNumberOfCpus=%u", previous);
    g_autofree char *s = g_strdup_printf("HOTCPU_AGENT_SOCKET=%s", socket);
    /* A GLib critical in the hook aborts it, whatever our own environment. */
    const char *vars[] = { c, p, s, "vmName=web1", "G_DEBUG=fatal-criticals", NULL };

    return run_hook(hook, vars);
}

/* Online states of cpu0..cpu(n-1) as "1100"-like text ('-': no online file). */
static char *
online_states(const char *tree, guint n)
{
    GString *s = g_string_new(NULL);

    for (guint i = 0; i < n; i++) {
        gint v = fake_sysfs_get_online(tree, i);

        g_string_append_c(s, v < 0 ? '-' : (char)('0' + v));
    }
    return g_string_free(s, FALSE);
}

/* ---- a scripted stand-in agent (tests/common/fake_agent.h) ---------------- */

typedef struct {
    FakeAgent base; /* first: the handler gets it back */
    char *dir;
    const char *reply;    /* set-num-cpus: an error class name, or NULL for silence */
    const char *raw;      /* set-num-cpus: this reply line instead, "@ID@" the request's id */
    const char *topology; /* get-topology's reply line ("@ID@" the id); NULL: CommandNotFound */
    gboolean answer_ping;
    /* what it saw */
    gint64 count;
    gint64 wait;
} HookAgent;

static gboolean
hook_agent_answer(FakeAgent *base, int fd, const ProtoRequest *req)
{
    HookAgent *fa = (HookAgent *)base;
    g_autofree char *out = NULL;

    /* The probe asks get-topology (issue 25), ping before: an agent that
     * never answers the probe is silent to both. */
    if (!fa->answer_ping
        && (strcmp(req->execute, "get-topology") == 0 || strcmp(req->execute, "ping") == 0))
        return TRUE;
    if (fa->topology != NULL && strcmp(req->execute, "get-topology") == 0) {
        out = fake_agent_fill_id(fa->topology, req->id);
    } else if (strcmp(req->execute, "ping") == 0) {
        out = fake_agent_fill_id("{\"return\":{},\"id\":@ID@}", req->id);
    } else if (strcmp(req->execute, "set-num-cpus") == 0) {
        fa->count = json_object_get_int_member_with_default(req->arguments, "count", -1);
        fa->wait = json_object_get_int_member_with_default(req->arguments, "wait", -1);
        if (fa->raw != NULL)
            out = fake_agent_fill_id(fa->raw, req->id);
        else if (fa->reply == NULL)
            return TRUE;
        else
            out = proto_format_error(proto_error_class_from_name(fa->reply),
                                     "scripted failure: cpu3: Device or resource busy", req->id);
    } else {
        out = proto_format_error(PROTO_ERROR_COMMAND_NOT_FOUND, "unknown", req->id);
    }
    return fake_agent_send(base, fd, out);
}

/* @serve FALSE: listen but never accept (a chardev with nobody behind). */
static HookAgent *
hook_agent_start(gboolean serve, gboolean answer_ping, const char *reply)
{
    HookAgent *fa = g_new0(HookAgent, 1);
    g_autofree char *path = NULL;

    fa->dir = g_dir_make_tmp("hotcpu-hooks-fake-XXXXXX", NULL);
    path = g_build_filename(fa->dir, "agent.sock", NULL);
    fa->reply = reply;
    fa->answer_ping = answer_ping;
    fa->count = fa->wait = -2;
    fa->base.handler = hook_agent_answer;
    fake_agent_listen(&fa->base, path);
    if (serve)
        fake_agent_serve(&fa->base);
    return fa;
}

static void
hook_agent_stop(HookAgent *fa)
{
    fake_agent_close(&fa->base);
    rmdir(fa->dir);
    g_free(fa->dir);
    g_free(fa);
}

/* ---- the real agent --------------------------------------------------------- */

static void
test_before_unplug_offlines(void)
{
    Agent *agent = agent_start(fake_sysfs_new_simple(4, 4, 8));
    HookRun run = run_with_agent(before_hook, 2, 4, agent->socket);
    g_autofree char *states = online_states(agent->tree, 4);

    CU_ASSERT_EQUAL(run.status, 0);
    CU_ASSERT_STRING_EQUAL(states, "-100");
    CUNIT_ASSERT_CONTAINS(run.output, "2 CPUs online");
    CUNIT_ASSERT_CONTAINS(run.output, "0-1");
    hook_run_clear(&run);
    agent_stop(agent);
}

static void
test_before_plug_does_nothing(void)
{
    Agent *agent = agent_start(fake_sysfs_new_simple(4, 2, 8));
    HookRun run = run_with_agent(before_hook, 4, 2, agent->socket);
    g_autofree char *states = online_states(agent->tree, 4);

    CU_ASSERT_EQUAL(run.status, 0);
    CU_ASSERT_STRING_EQUAL(states, "-100");
    CU_ASSERT_STRING_EQUAL(run.output, ""); /* did not even try the agent */
    hook_run_clear(&run);

    run = run_with_agent(before_hook, 3, 3, agent->socket);
    CU_ASSERT_EQUAL(run.status, 0);
    CU_ASSERT_STRING_EQUAL(run.output, "");
    hook_run_clear(&run);
    agent_stop(agent);
}

static void
test_after_plug_onlines(void)
{
    Agent *agent = agent_start(fake_sysfs_new_simple(4, 2, 8));
    HookRun run = run_with_agent(after_hook, 4, 2, agent->socket);
    g_autofree char *states = online_states(agent->tree, 4);

    CU_ASSERT_EQUAL(run.status, 0);
    CU_ASSERT_STRING_EQUAL(states, "-111");
    CUNIT_ASSERT_CONTAINS(run.output, "4 CPUs online");
    CUNIT_ASSERT_CONTAINS(run.output, "0-3");
    hook_run_clear(&run);
    agent_stop(agent);
}

static gpointer
hot_add_later(gpointer data)
{
    const char *tree = data;

    g_usleep(G_USEC_PER_SEC);
    for (guint id = 2; id < 4; id++) {
        FakeCpu cpu = { .id = id, .has_online_file = TRUE, .online = FALSE, .core = (gint)id };

        fake_sysfs_add_cpu(tree, &cpu);
    }
    fake_sysfs_set_masks(tree, NULL, "0-3", NULL);
    return NULL;
}

static void
test_after_plug_in_flight(void)
{
    /* The hypervisor's hot add lands in the guest a second after the hook
     * asked: the agent's "wait" covers it. */
    Agent *agent = agent_start(fake_sysfs_new_simple(2, 2, 8));
    GThread *adder = g_thread_new("hot-add", hot_add_later, agent->tree);
    HookRun run = run_with_agent(after_hook, 4, 2, agent->socket);
    g_autofree char *states = NULL;

    g_thread_join(adder);
    states = online_states(agent->tree, 4);
    CU_ASSERT_EQUAL(run.status, 0);
    CU_ASSERT_STRING_EQUAL(states, "-111");
    CUNIT_ASSERT_CONTAINS(run.output, "0-3");
    hook_run_clear(&run);
    agent_stop(agent);
}

static void
test_after_unplug_does_nothing(void)
{
    Agent *agent = agent_start(fake_sysfs_new_simple(4, 4, 8));
    HookRun run = run_with_agent(after_hook, 2, 4, agent->socket);
    g_autofree char *states = online_states(agent->tree, 4);

    CU_ASSERT_EQUAL(run.status, 0);
    CU_ASSERT_STRING_EQUAL(states, "-111");
    CU_ASSERT_STRING_EQUAL(run.output, "");
    hook_run_clear(&run);
    agent_stop(agent);
}

static void
test_before_agent_refuses(void)
{
    /* 8 -> 6 on a guest that has only 4 present: InvalidParameter. */
    Agent *agent = agent_start(fake_sysfs_new_simple(4, 4, 8));
    HookRun run = run_with_agent(before_hook, 6, 8, agent->socket);
    g_autofree char *states = online_states(agent->tree, 4);

    CU_ASSERT_EQUAL(run.status, 1); /* a failed before-hook aborts the change */
    CU_ASSERT_STRING_EQUAL(states, "-111");
    CUNIT_ASSERT_CONTAINS(run.output, "InvalidParameter");
    hook_run_clear(&run);
    agent_stop(agent);
}

/* ---- the stand-in agent: what goes on the wire, error replies ------------ */

#define AFTER_TOPOLOGY_4                                                                           \
    "{\"online\":\"0-3\",\"present\":\"0-3\",\"possible\":\"0-7\",\"online-count\":4,"             \
    "\"present-count\":4,\"sockets\":1,\"cores-per-socket\":4,\"threads-per-core\":1,\"cpus\":["   \
    "{\"id\":0,\"online\":true,\"can-offline\":false,\"socket\":0,\"die\":0,\"core\":0,"           \
    "\"node\":0,\"siblings\":[0]},"                                                                \
    "{\"id\":1,\"online\":true,\"can-offline\":true,\"socket\":0,\"die\":0,\"core\":1,"            \
    "\"node\":0,\"siblings\":[1]},"                                                                \
    "{\"id\":2,\"online\":true,\"can-offline\":true,\"socket\":0,\"die\":0,\"core\":2,"            \
    "\"node\":0,\"siblings\":[2]},"                                                                \
    "{\"id\":3,\"online\":true,\"can-offline\":true,\"socket\":0,\"die\":0,\"core\":3,"            \
    "\"node\":0,\"siblings\":[3]}]}"

/* After a plug the agent's auto-online may have been quicker than the hook:
 * the probe's answer (get-topology) shows the count, and the hook says so
 * without asking set-num-cpus, on its one connection (issue 25). */
static void
test_after_already_online(void)
{
    HookAgent *fa = hook_agent_start(TRUE, TRUE, "OperationFailed");
    HookRun run;

    fa->topology = "{\"return\":" AFTER_TOPOLOGY_4 ",\"id\":@ID@}";
    run = run_with_agent(after_hook, 4, 2, fa->base.socket);
    CU_ASSERT_EQUAL(run.status, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(run.output, "has 4 CPUs online in the guest: 0-3 (hotcpu)"));
    CU_ASSERT_EQUAL(fa->count, -2); /* set-num-cpus never sent */
    CU_ASSERT_EQUAL(fa->base.connections, 1);
    hook_run_clear(&run);
    hook_agent_stop(fa);
}

static void
test_wire_arguments(void)
{
    HookAgent *fa = hook_agent_start(TRUE, TRUE, "OperationFailed");
    HookRun run = run_with_agent(after_hook, 4, 2, fa->base.socket);

    CU_ASSERT_EQUAL(fa->count, 4);
    CU_ASSERT_EQUAL(fa->wait, 10);  /* the hot add may still be in flight */
    CU_ASSERT_EQUAL(run.status, 1); /* the guest did not reach the count */
    CUNIT_ASSERT_CONTAINS(run.output, "OperationFailed");
    CUNIT_ASSERT_CONTAINS(run.output, "cpu3: Device or resource busy");
    hook_run_clear(&run);
    hook_agent_stop(fa);

    fa = hook_agent_start(TRUE, TRUE, "OperationFailed");
    run = run_with_agent(before_hook, 2, 4, fa->base.socket);
    CU_ASSERT_EQUAL(fa->count, 2);
    CU_ASSERT_EQUAL(fa->wait, -1); /* no wait before an unplug */
    CU_ASSERT_EQUAL(run.status, 1);
    CUNIT_ASSERT_CONTAINS(run.output, "OperationFailed");
    hook_run_clear(&run);
    hook_agent_stop(fa);
}

static void
test_error_classes(void)
{
    const struct {
        const char *reply;
        int status;
    } cases[] = {
        { "OperationFailed", 1 },
        { "Busy", 1 },
        { "InvalidParameter", 1 },
        { "CommandNotFound", 0 }, /* an old agent is like no agent */
    };

    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        HookAgent *fa = hook_agent_start(TRUE, TRUE, cases[i].reply);
        HookRun run = run_with_agent(before_hook, 1, 2, fa->base.socket);

        CU_ASSERT_EQUAL(run.status, cases[i].status);
        if (cases[i].status == 0) {
            CUNIT_ASSERT_CONTAINS(run.output, "warning");
        } else {
            CUNIT_ASSERT_CONTAINS(run.output, cases[i].reply);
        }
        hook_run_clear(&run);
        hook_agent_stop(fa);
    }
}

/* Replies that parse as protocol but are no set-num-cpus answer: each is a
 * failed hook (exit 1, a sentence), never a GLib critical or a crash. */
static void
test_malformed_replies(void)
{
    static const char *const replies[] = {
        "{\"return\": {}, \"id\": @ID@}",
        "{\"return\": {\"topology\": null}, \"id\": @ID@}",
        "{\"return\": {\"topology\": 5}, \"id\": @ID@}",
        "{\"return\": {\"topology\": \"0-3\"}, \"id\": @ID@}",
        "{\"return\": {\"topology\": []}, \"id\": @ID@}",
        "{\"return\": {\"topology\": {}}, \"id\": @ID@}",
        "{\"return\": {\"topology\": {\"online\": 5, \"present\": null}}, \"id\": @ID@}",
        "{\"return\": {\"topology\": {\"online\": \"0-1\", \"present\": \"0-1\", "
        "\"possible\": \"0-7\", \"online-count\": 2, \"present-count\": 2, \"sockets\": 1, "
        "\"cores-per-socket\": 2, \"threads-per-core\": 1, \"cpus\": [5, null, {}]}}, "
        "\"id\": @ID@}",
        "{\"return\": {\"topology\": {\"online\": \"0-1\", \"present\": \"0-1\", "
        "\"possible\": \"0-7\", \"online-count\": 2, \"present-count\": 2, \"sockets\": 1, "
        "\"cores-per-socket\": 2, \"threads-per-core\": 1, \"cpus\": [{\"id\": 0, "
        "\"online\": true, \"siblings\": 7}]}}, \"id\": @ID@}",
        "{\"return\": 5, \"id\": @ID@}",
        "{\"return\": [1, 2], \"id\": @ID@}",
        "{\"return\": null, \"id\": @ID@}",
        "{\"error\": 5, \"id\": @ID@}",
        "{\"error\": {\"class\": 7, \"desc\": []}, \"id\": @ID@}",
        "{\"error\": {\"class\": \"NoSuchClass\", \"desc\": \"odd\"}, \"id\": @ID@}",
        "[1, 2, 3]",
        "\"just a string\"",
        "{\"return\": {}, \"id\": @ID@, \"extra\": 1}",
    };
    const char *hooks[] = { before_hook, after_hook };
    const guint counts[][2] = { { 2, 4 }, { 4, 2 } };

    for (guint i = 0; i < G_N_ELEMENTS(replies); i++) {
        for (guint h = 0; h < 2; h++) {
            HookAgent *fa = hook_agent_start(TRUE, TRUE, NULL);
            HookRun run;

            fa->raw = replies[i];
            run = run_with_agent(hooks[h], counts[h][0], counts[h][1], fa->base.socket);
            if (run.status != 1 || strstr(run.output, "CRITICAL") != NULL)
                fprintf(stderr, "\nreply %u to hook %u: exit %d: %s\n", i, h, run.status,
                        run.output);
            CU_ASSERT_EQUAL(run.status, 1);
            CUNIT_ASSERT_NOT_CONTAINS(run.output, "CRITICAL");
            CUNIT_ASSERT_NOT_CONTAINS(run.output, "WARNING **");
            CUNIT_ASSERT_CONTAINS(run.output, "web1");
            hook_run_clear(&run);
            hook_agent_stop(fa);
        }
    }
}

/* A guest's error text with ANSI escapes, a carriage return, a forged log
 * line, C1 and bidi controls and invalid UTF-8: the hook prints it escaped,
 * on its own line, capped. */
static void
test_hostile_text(void)
{
    g_autofree char *tail = g_strnfill(3000, 'A');
    g_autofree char *reply = g_strdup_printf(
        "{\"error\": {\"class\": \"OperationFailed\", \"desc\": \"\\u001b[2J\\u001b[31mOWNED"
        "\\r\\nerror: forged line\\u0007\\u009b1m\\u202eevil\\ud83d\\ude00x%s\"}, \"id\": "
        "@ID@}",
        tail);
    const char *hooks[] = { before_hook, after_hook };
    const guint counts[][2] = { { 2, 4 }, { 4, 2 } };

    for (guint h = 0; h < 2; h++) {
        HookAgent *fa = hook_agent_start(TRUE, TRUE, NULL);
        HookRun run;

        fa->raw = reply;
        run = run_with_agent(hooks[h], counts[h][0], counts[h][1], fa->base.socket);
        CU_ASSERT_EQUAL(run.status, 1);
        CU_ASSERT_TRUE_FATAL(g_utf8_validate(run.output, -1, NULL));
        for (const char *p = run.output; *p; p = g_utf8_next_char(p)) {
            gunichar c = g_utf8_get_char(p);

            CU_ASSERT_FALSE(c != '\n' && (c < 0x20 || (c >= 0x7F && c <= 0x9F) || c == 0x202E));
        }
        CUNIT_ASSERT_NOT_CONTAINS(run.output, "\nerror: forged");
        CUNIT_ASSERT_CONTAINS(run.output, "\\x1b[2J\\x1b[31mOWNED\\r\\nerror: forged");
        CU_ASSERT_TRUE(strlen(run.output) < 1024);
        hook_run_clear(&run);
        hook_agent_stop(fa);
    }
}

/* ---- agent absent ---------------------------------------------------------- */

static void
check_absent(const char *socket)
{
    const char *hooks[] = { before_hook, after_hook };
    const guint counts[][2] = { { 2, 4 }, { 4, 2 } }; /* unplug for before, plug for after */

    for (guint i = 0; i < 2; i++) {
        HookRun run = run_with_agent(hooks[i], counts[i][0], counts[i][1], socket);

        CU_ASSERT_EQUAL(run.status, 0);
        CUNIT_ASSERT_CONTAINS(run.output, "warning");
        CUNIT_ASSERT_CONTAINS(run.output, "web1");
        CU_ASSERT(run.seconds < 10.0);
        hook_run_clear(&run);
    }
}

static void
test_absent_no_socket(void)
{
    check_absent("");
    check_absent("/nonexistent/hotcpu/agent.sock");
}

static void
test_absent_silent_socket(void)
{
    /* A chardev with nobody behind: connects, never answers. */
    HookAgent *fa = hook_agent_start(FALSE, FALSE, NULL);

    check_absent(fa->base.socket);
    hook_agent_stop(fa);

    /* Accepts and reads but never answers the ping. */
    fa = hook_agent_start(TRUE, FALSE, NULL);
    check_absent(fa->base.socket);
    CU_ASSERT_EQUAL(fa->count, -2); /* set-num-cpus never sent */
    hook_agent_stop(fa);
}

/* ---- bad environment --------------------------------------------------------- */

static void
test_bad_environment(void)
{
    const char *const cases[][3] = {
        { "previousNumberOfCpus=4", NULL, "numberOfCpus" },
        { "numberOfCpus=2", NULL, "previousNumberOfCpus" },
        { "numberOfCpus=abc", "previousNumberOfCpus=4", "numberOfCpus" },
        { "numberOfCpus=2x", "previousNumberOfCpus=4", "numberOfCpus" },
        { "numberOfCpus=-1", "previousNumberOfCpus=4", "numberOfCpus" },
        { "numberOfCpus=0", "previousNumberOfCpus=4", "numberOfCpus" },
        { "numberOfCpus=", "previousNumberOfCpus=4", "numberOfCpus" },
        { "numberOfCpus= 2", "previousNumberOfCpus=4", "numberOfCpus" },
        { "numberOfCpus=2", "previousNumberOfCpus=99999999999999999999", "previousNumberOfCpus" },
    };
    const char *hooks[] = { before_hook, after_hook };

    for (guint h = 0; h < 2; h++) {
        for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
            const char *vars[] = { cases[i][0], cases[i][1], NULL };
            HookRun run;

            if (vars[1] == NULL)
                vars[1] = "HOTCPU_AGENT_SOCKET=";
            run = run_hook(hooks[h], vars);
            CU_ASSERT_EQUAL(run.status, 1);
            CUNIT_ASSERT_CONTAINS(run.output, cases[i][2]);
            hook_run_clear(&run);
        }
        {
            const char *vars[] = { NULL };
            HookRun run = run_hook(hooks[h], vars);

            CU_ASSERT_EQUAL(run.status, 1);
            hook_run_clear(&run);
        }
    }
}

/* Most runs have nothing to do (a plug's before hook, an unplug's after hook):
 * those must end before libvirt's libraries are even loaded, which is most
 * of a full hook's cost.  The dynamic loader says what it loaded. */
static void
test_no_work_loads_no_libvirt(void)
{
    const char *const cases[][3] = {
        { "numberOfCpus=4", "previousNumberOfCpus=2", "before" },
        { "numberOfCpus=3", "previousNumberOfCpus=3", "before" },
        { "numberOfCpus=2", "previousNumberOfCpus=4", "after" },
        { "numberOfCpus=3", "previousNumberOfCpus=3", "after" },
    };

    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        const char *vars[]
            = { cases[i][0], cases[i][1], "HOTCPU_AGENT_SOCKET=", "LD_DEBUG=libs", NULL };
        const char *hook = strcmp(cases[i][2], "before") == 0 ? before_hook : after_hook;
        HookRun run = run_hook(hook, vars);

        CU_ASSERT_EQUAL(run.status, 0);
        CU_ASSERT_PTR_NULL(strstr(run.output, "libvirt"));
        hook_run_clear(&run);
    }
}

/* A count out of the protocol's range is refused even where the phase
 * would have nothing to do with it. */
static void
test_out_of_range_refused(void)
{
    const char *vars[]
        = { "numberOfCpus=9000", "previousNumberOfCpus=4", "HOTCPU_AGENT_SOCKET=", NULL };
    HookRun run = run_hook(before_hook, vars);

    CU_ASSERT_EQUAL(run.status, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(run.output, "numberOfCpus"));
    hook_run_clear(&run);
}

/* ---- through the runner, with the build tree as hooks root ------------------ */

static void
test_runner_build_root(void)
{
    Agent *agent = agent_start(fake_sysfs_new_simple(4, 4, 8));
    g_autoptr(GPtrArray) results = g_ptr_array_new_with_free_func((GDestroyNotify)hook_result_free);
    g_auto(GStrv) roots = hooks_roots(hooks_root);
    g_autofree char *states = NULL;
    HookEnv env = {
        .domxml_path = "/dev/null",
        .vm_id = "c7a5fdbd-cdaf-9455-926a-d65c16db1809",
        .vm_name = "web1",
        .number_of_cpus = 2,
        .previous_number_of_cpus = 4,
        .agent_socket = agent->socket,
    };
    gboolean stopped = TRUE;
    gboolean ok;

    ok = hooks_run(roots, HOOK_PHASE_BEFORE, &env, 30, results, &stopped);
    states = online_states(agent->tree, 4);
    CU_ASSERT_TRUE(ok);
    CU_ASSERT_FALSE(stopped);
    CU_ASSERT_FATAL(results->len == 1);
    {
        const HookResult *r = results->pdata[0];

        printf("\n    [%s exit %d] %s", r->path, r->exit_code, r->output);
        CU_ASSERT_TRUE(g_str_has_suffix(r->path, "/before_set_num_of_cpus/50_hotcpu_agent"));
        CU_ASSERT_EQUAL(r->exit_code, 0);
        CU_ASSERT_FALSE(r->refused);
        CUNIT_ASSERT_CONTAINS(r->output, "0-1");
    }
    CU_ASSERT_STRING_EQUAL(states, "-100");

    /* And back up through the after phase. */
    g_ptr_array_set_size(results, 0);
    env.number_of_cpus = 4;
    env.previous_number_of_cpus = 2;
    ok = hooks_run(roots, HOOK_PHASE_AFTER, &env, 30, results, &stopped);
    g_free(states);
    states = online_states(agent->tree, 4);
    CU_ASSERT_TRUE(ok);
    CU_ASSERT_EQUAL(results->len, 1);
    CU_ASSERT_STRING_EQUAL(states, "-111");
    agent_stop(agent);
}

/* ---- main ------------------------------------------------------------------ */

static const CunitTest tests[] = {
    { "before: unplug 4->2 offlines 2,3", test_before_unplug_offlines },
    { "before: plug does nothing", test_before_plug_does_nothing },
    { "after: plug 2->4 onlines 2,3", test_after_plug_onlines },
    { "after: plug already online, one connection", test_after_already_online },
    { "after: plug with the hot add in flight", test_after_plug_in_flight },
    { "after: unplug does nothing", test_after_unplug_does_nothing },
    { "before: agent refuses -> exit 1", test_before_agent_refuses },
    { "wire: count and wait sent, OperationFailed -> 1", test_wire_arguments },
    { "error classes -> exit codes", test_error_classes },
    { "malformed replies -> exit 1, no critical", test_malformed_replies },
    { "hostile guest text is escaped and capped", test_hostile_text },
    { "agent absent: no socket -> 0 + warning", test_absent_no_socket },
    { "agent absent: silent socket -> 0 + warning", test_absent_silent_socket },
    { "bad environment -> 1", test_bad_environment },
    { "nothing to do: libvirt not even loaded", test_no_work_loads_no_libvirt },
    { "count out of range -> 1 in either direction", test_out_of_range_refused },
    { "runner with the build tree as root", test_runner_build_root },
    { NULL, NULL },
};

static void
register_shipped_hooks_suite(void)
{
    cunit_add_suite("shipped_hooks", tests);
}

static const CunitSuite suites[] = {
    { "shipped_hooks", register_shipped_hooks_suite },
    { NULL, NULL },
};

static const char *
required_env(const char *name)
{
    const char *value = g_getenv(name);

    if (value == NULL || *value == '\0' || !g_file_test(value, G_FILE_TEST_EXISTS)) {
        fprintf(stderr, "test-shipped-hooks: %s must name an existing path (got '%s')\n", name,
                value != NULL ? value : "");
        exit(1);
    }
    return value;
}

int
main(int argc, char **argv)
{
    agent_bin = required_env("HOTCPU_TEST_AGENT");
    before_hook = required_env("HOTCPU_TEST_BEFORE_HOOK");
    after_hook = required_env("HOTCPU_TEST_AFTER_HOOK");
    hooks_root = required_env("HOTCPU_TEST_HOOKS_ROOT");
    /* The stand-in agent writes to hooks that may have gone away. */
    signal(SIGPIPE, SIG_IGN);
    return cunit_run(argc, argv, suites);
}
