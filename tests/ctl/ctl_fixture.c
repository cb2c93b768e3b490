/* ctl_fixture.c: the shared fixture of the hotcpu-ctl integration tests. */
#include "ctl_fixture.h"

#include <ftw.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent_call.h"
#include "fake_sysfs.h"

const char *ctl_bin, *agent_bin, *matrix_path, *mock_lib, *qga_mock_lib;

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    return remove(path);
}

Fx *
fx_new(void)
{
    Fx *fx = g_new0(Fx, 1);

    fx->dir = g_dir_make_tmp("hotcpu-ctl-test-XXXXXX", NULL);
    g_assert(fx->dir);
    g_chmod(fx->dir, 0755);
    fx->node = g_build_filename(fx->dir, "node.xml", NULL);
    fx->audit = g_build_filename(fx->dir, "log", "hotcpu", "audit.log", NULL);
    fx->hooks = g_build_filename(fx->dir, "hooks", NULL);
    fx->policy = g_build_filename(fx->dir, "hotcpu.conf", NULL);
    fx->lock = g_build_filename(fx->dir, "lock", NULL);
    fx->mock_log = g_build_filename(fx->dir, "setvcpus-calls.log", NULL);
    g_file_set_contents(fx->policy, "# defaults\n", -1, NULL);
    return fx;
}

void
fx_clear_run(Fx *fx)
{
    g_clear_pointer(&fx->out, g_free);
    g_clear_pointer(&fx->err, g_free);
    g_clear_pointer(&fx->json, json_object_unref);
}

void
fx_free(Fx *fx)
{
    fx_clear_run(fx);
    nftw(fx->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    g_free(fx->dir);
    g_free(fx->node);
    g_free(fx->audit);
    g_free(fx->hooks);
    g_free(fx->policy);
    g_free(fx->lock);
    g_free(fx->mock_log);
    g_free(fx->qga_state);
    g_free(fx);
}

char *
dom_xml(const Dom *d)
{
    GString *s = g_string_new(NULL);

    g_string_append_printf(
        s,
        "<domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>\n"
        "  <name>%s</name>\n  <uuid>%s</uuid>\n",
        d->name, d->uuid ? d->uuid : UUID1);
    if (d->os_id || d->metadata)
        g_string_append(s, "  <metadata>");
    if (d->os_id)
        g_string_append_printf(s,
                               "<libosinfo:libosinfo "
                               "xmlns:libosinfo=\"http://libosinfo.org/xmlns/libvirt/domain/1.0\">"
                               "<libosinfo:os id=\"%s\"/></libosinfo:libosinfo>",
                               d->os_id);
    if (d->metadata)
        g_string_append(s, d->metadata);
    if (d->os_id || d->metadata)
        g_string_append(s, "</metadata>\n");
    g_string_append_printf(s, "  <memory>1048576</memory>\n  <vcpu current='%u'>%u</vcpu>\n",
                           d->current ? d->current : 2, d->max ? d->max : 8);
    if (d->vcpus)
        g_string_append_printf(s, "  %s\n", d->vcpus);
    if (d->pins) {
        g_auto(GStrv) ids = g_strsplit(d->pins, ",", -1);
        g_string_append(s, "  <cputune>\n");
        for (guint i = 0; ids[i]; i++)
            g_string_append_printf(s, "    <vcpupin vcpu='%s' cpuset='0'/>\n", ids[i]);
        g_string_append(s, "  </cputune>\n");
    }
    if (d->sockets)
        g_string_append_printf(
            s, "  <cpu><topology sockets='%u' dies='1' cores='%u' threads='%u'/></cpu>\n",
            d->sockets, d->cores, d->threads);
    g_string_append_printf(s, "  <os><type arch='%s'>hvm</type></os>\n  <devices>\n",
                           d->arch ? d->arch : "x86_64");
    if (d->agent_socket)
        g_string_append_printf(
            s,
            "    <controller type='virtio-serial' index='0'/>\n"
            "    <channel type='unix'>\n"
            "      <source mode='bind' path='%s'/>\n"
            "      <target type='virtio' name='org.hotcpu.agent.0'/>\n"
            "      <address type='virtio-serial' controller='0' bus='0' port='1'/>\n"
            "    </channel>\n",
            d->agent_socket);
    if (d->devices)
        g_string_append(s, d->devices);
    g_string_append(s, "  </devices>\n");
    if (d->runstate)
        g_string_append_printf(s, "  <test:runstate>%d</test:runstate>\n", d->runstate);
    if (d->transient)
        g_string_append(s, "  <test:transient/>\n");
    g_string_append(s, "</domain>\n");
    return g_string_free(s, FALSE);
}

void
fx_domain(Fx *fx, const Dom *d)
{
    g_autofree char *xml = dom_xml(d);
    g_autofree char *node = g_strdup_printf("<node>\n%s</node>\n", xml);

    g_assert(g_file_set_contents(fx->node, node, -1, NULL));
}

/* Runs hotcpu-ctl with the fixture's global options and the NULL-terminated
 * arguments; parses stdout as JSON when it starts with '{'. */
/* hotcpu-ctl with the fixture's global options, then @args. */
GPtrArray *
fx_argv(Fx *fx, const char *const *args)
{
    GPtrArray *argv = g_ptr_array_new_with_free_func(g_free);
    g_autofree char *uri = g_strdup_printf("test://%s", fx->node);

    /* HOTCPU_TEST_CTL_WRAPPER="valgrind --error-exitcode=99 ..." runs the
     * controller under a tool; its errors then fail the exit-code asserts. */
    if (g_getenv("HOTCPU_TEST_CTL_WRAPPER")) {
        g_auto(GStrv) wrap = g_strsplit(g_getenv("HOTCPU_TEST_CTL_WRAPPER"), " ", -1);
        for (guint i = 0; wrap[i]; i++)
            if (*wrap[i])
                g_ptr_array_add(argv, g_strdup(wrap[i]));
    }
    g_ptr_array_add(argv, g_strdup(ctl_bin));
    g_ptr_array_add(argv, g_strdup("--connect"));
    g_ptr_array_add(argv, g_strdup(uri));
    g_ptr_array_add(argv, g_strdup("--audit-log"));
    g_ptr_array_add(argv, g_strdup(fx->audit));
    g_ptr_array_add(argv, g_strdup("--hooks-dir"));
    g_ptr_array_add(argv, g_strdup(fx->hooks));
    g_ptr_array_add(argv, g_strdup("--policy"));
    g_ptr_array_add(argv, g_strdup(fx->policy));
    g_ptr_array_add(argv, g_strdup("--support-matrix"));
    g_ptr_array_add(argv, g_strdup(matrix_path));
    for (guint i = 0; args[i]; i++)
        g_ptr_array_add(argv, g_strdup(args[i]));
    g_ptr_array_add(argv, NULL);
    return argv;
}

GSubprocess *
fx_spawn_v(Fx *fx, const char *const *args)
{
    g_autoptr(GPtrArray) argv = fx_argv(fx, args);
    g_autoptr(GSubprocessLauncher) l = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDOUT_PIPE
                                                                 | G_SUBPROCESS_FLAGS_STDERR_PIPE);
    g_autoptr(GError) error = NULL;
    GSubprocess *p;

    fx_clear_run(fx);
    g_subprocess_launcher_setenv(l, "HOTCPU_LOCK_DIR", fx->lock, TRUE);
    g_subprocess_launcher_unsetenv(l, "LIBVIRT_DEFAULT_URI");
    g_subprocess_launcher_unsetenv(l, "HOTCPU_HOOKS_DIR");
    g_subprocess_launcher_unsetenv(l, "HOTCPU_POLICY");
    g_subprocess_launcher_unsetenv(l, "HOTCPU_SUPPORT_MATRIX");
    if (fx->mock || fx->qga_state) {
        g_autofree char *preload
            = g_strjoin(" ", mock_lib, fx->qga_state ? qga_mock_lib : NULL, NULL);

        g_subprocess_launcher_setenv(l, "LD_PRELOAD", preload, TRUE);
    }
    if (fx->mock) {
        g_subprocess_launcher_setenv(l, "HOTCPU_MOCK_SETVCPUS", fx->mock, TRUE);
        g_subprocess_launcher_setenv(l, "HOTCPU_MOCK_SETVCPUS_LOG", fx->mock_log, TRUE);
    }
    if (fx->qga_state)
        g_subprocess_launcher_setenv(l, "HOTCPU_MOCK_QGA_STATE", fx->qga_state, TRUE);
    p = g_subprocess_launcher_spawnv(l, (const char *const *)argv->pdata, &error);
    if (!p)
        g_error("cannot run %s: %s", ctl_bin, error->message);
    return p;
}

int
fx_finish(Fx *fx, GSubprocess *p)
{
    g_autoptr(GError) error = NULL;

    if (!g_subprocess_communicate_utf8(p, NULL, NULL, &fx->out, &fx->err, &error))
        g_error("cannot read %s's output: %s", ctl_bin, error->message);
    fx->status = g_subprocess_get_if_exited(p) ? g_subprocess_get_exit_status(p) : -1;
    if (fx->out[0] == '{') {
        g_autoptr(JsonParser) jp = json_parser_new();
        if (json_parser_load_from_data(jp, fx->out, -1, NULL)
            && JSON_NODE_HOLDS_OBJECT(json_parser_get_root(jp)))
            fx->json = json_object_ref(json_node_get_object(json_parser_get_root(jp)));
    }
    if (g_getenv("HOTCPU_TEST_VERBOSE"))
        fprintf(stderr, "[exit %d]\nstdout: %s\nstderr: %s\n", fx->status, fx->out, fx->err);
    return fx->status;
}

int
fx_run_v(Fx *fx, const char *const *args)
{
    g_autoptr(GSubprocess) p = fx_spawn_v(fx, args);

    return fx_finish(fx, p);
}

/* The audit log's lines, parsed. */
GPtrArray *
fx_audit_all(Fx *fx)
{
    GPtrArray *recs = g_ptr_array_new_with_free_func((GDestroyNotify)json_object_unref);
    g_autofree char *text = NULL;
    g_auto(GStrv) lines = NULL;

    if (!g_file_get_contents(fx->audit, &text, NULL, NULL))
        return recs;
    CU_ASSERT_TRUE(*text == '\0' || g_str_has_suffix(text, "\n")); /* no half line */
    lines = g_strsplit(text, "\n", -1);
    for (guint i = 0; lines[i]; i++) {
        g_autoptr(JsonParser) p = json_parser_new();
        if (!*lines[i])
            continue;
        if (!json_parser_load_from_data(p, lines[i], -1, NULL)
            || !JSON_NODE_HOLDS_OBJECT(json_parser_get_root(p))) {
            fprintf(stderr, "\naudit log line %u is not a JSON object: %.200s\n", i + 1, lines[i]);
            CU_FAIL("an audit log line does not parse");
            continue;
        }
        g_ptr_array_add(recs, json_object_ref(json_node_get_object(json_parser_get_root(p))));
    }
    return recs;
}

GPtrArray *
fx_audit(Fx *fx)
{
    GPtrArray *recs = fx_audit_all(fx);

    for (guint i = recs->len; i-- > 0;) {
        JsonObject *rec = recs->pdata[i];

        if (g_strcmp0(json_object_get_string_member_with_default(rec, "outcome", ""), "attempt")
            == 0)
            g_ptr_array_remove_index(recs, i);
    }
    return recs;
}

/* The last audit record (asserting there is exactly @n). */
JsonObject *
fx_audit_last(Fx *fx, guint n)
{
    g_autoptr(GPtrArray) recs = fx_audit(fx);

    CU_ASSERT_EQUAL(recs->len, n);
    if (recs->len == 0)
        return NULL;
    return json_object_ref(recs->pdata[recs->len - 1]);
}

gboolean
err_has(Fx *fx, const char *needle)
{
    gboolean found = strstr(fx->err, needle) != NULL;
    if (!found)
        fprintf(stderr, "\nexpected '%s' in stderr: %s\n", needle, fx->err);
    return found;
}

void
write_hook(Fx *fx, const char *phase, const char *name, const char *script)
{
    g_autofree char *dir = g_build_filename(fx->hooks, phase, NULL);
    g_autofree char *path = g_build_filename(dir, name, NULL);

    g_assert(g_mkdir_with_parents(dir, 0755) == 0);
    g_chmod(fx->hooks, 0755);
    g_chmod(dir, 0755);
    g_assert(g_file_set_contents(path, script, -1, NULL));
    g_assert(g_chmod(path, 0755) == 0);
}

static void
copy_program(const char *from, const char *to)
{
    g_autofree char *data = NULL;
    gsize len = 0;

    g_assert(g_file_get_contents(from, &data, &len, NULL));
    g_assert(g_file_set_contents(to, data, (gssize)len, NULL));
    g_assert(g_chmod(to, 0755) == 0);
}

void
fx_install_shipped_hook(Fx *fx, const char *phase)
{
    const char *root = g_getenv("HOTCPU_TEST_HOOKS_ROOT");
    g_autofree char *dir = g_build_filename(fx->hooks, phase, NULL);
    g_autofree char *from = NULL, *to = NULL, *full = NULL, *full_from = NULL, *full_to = NULL;

    g_assert(root != NULL);
    g_assert(g_mkdir_with_parents(dir, 0755) == 0);
    g_chmod(fx->hooks, 0755);
    g_chmod(dir, 0755);
    from = g_build_filename(root, phase, "50_hotcpu_agent", NULL);
    to = g_build_filename(dir, "50_hotcpu_agent", NULL);
    copy_program(from, to);
    /* the front execs the full hook of its phase from the hooks root */
    full = g_strdup_printf("hotcpu-agent-hook-%s",
                           g_str_has_prefix(phase, "before") ? "before" : "after");
    full_from = g_build_filename(root, full, NULL);
    full_to = g_build_filename(fx->hooks, full, NULL);
    copy_program(full_from, full_to);
}

gboolean
fx_init(void)
{
    ctl_bin = g_getenv("HOTCPU_TEST_CTL");
    agent_bin = g_getenv("HOTCPU_TEST_AGENT");
    matrix_path = g_getenv("HOTCPU_TEST_MATRIX");
    mock_lib = g_getenv("HOTCPU_TEST_MOCK");
    qga_mock_lib = g_getenv("HOTCPU_TEST_QGA_MOCK");
    if (!ctl_bin || !agent_bin || !matrix_path || !mock_lib) {
        fprintf(stderr, "HOTCPU_TEST_CTL, _AGENT, _MATRIX and _MOCK must be set\n");
        return FALSE;
    }
    return TRUE;
}

Agent *
agent_start(Fx *fx, char *tree)
{
    Agent *a = g_new0(Agent, 1);
    g_autoptr(GError) error = NULL;

    a->tree = tree;
    a->socket = g_build_filename(fx->dir, "agent.sock", NULL);
    a->proc = g_subprocess_new(G_SUBPROCESS_FLAGS_NONE, &error, agent_bin, "--listen", a->socket,
                               "--sysfs-root", tree, NULL);
    if (!a->proc)
        g_error("cannot start %s: %s", agent_bin, error->message);
    for (int i = 0; i < 500; i++) {
        g_autoptr(JsonNode) pong = NULL;
        if (g_file_test(a->socket, G_FILE_TEST_EXISTS)
            && (pong = agent_client_call_once(a->socket, "ping", NULL, 1000, NULL)))
            return a;
        g_usleep(10 * 1000);
    }
    g_error("%s did not answer on %s", agent_bin, a->socket);
}

void
agent_stop(Agent *a)
{
    g_subprocess_force_exit(a->proc);
    g_subprocess_wait(a->proc, NULL, NULL);
    g_object_unref(a->proc);
    fake_sysfs_destroy(a->tree);
    g_free(a->socket);
    g_free(a);
}
