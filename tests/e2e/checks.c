/* checks.c: the end-to-end tests' assertions. */
#include "checks.h"

#include <glib/gstdio.h>
#include <string.h>

JsonNode *
e2e_parse_json(const char *text)
{
    g_autoptr(JsonParser) p = json_parser_new();
    JsonNode *root;

    if (!text || !json_parser_load_from_data(p, text, -1, NULL))
        return NULL;
    root = json_parser_get_root(p);
    return root ? json_node_copy(root) : NULL;
}

gboolean
e2e_json_find_int(JsonNode *node, const char *key, gint64 *out)
{
    if (!node)
        return FALSE;
    if (JSON_NODE_HOLDS_OBJECT(node)) {
        JsonObject *o = json_node_get_object(node);
        g_autoptr(GList) members = json_object_get_members(o);
        JsonNode *m = json_object_get_member(o, key);
        if (m && JSON_NODE_HOLDS_VALUE(m) && json_node_get_value_type(m) == G_TYPE_INT64) {
            *out = json_node_get_int(m);
            return TRUE;
        }
        for (GList *l = members; l; l = l->next)
            if (e2e_json_find_int(json_object_get_member(o, l->data), key, out))
                return TRUE;
    } else if (JSON_NODE_HOLDS_ARRAY(node)) {
        JsonArray *a = json_node_get_array(node);
        for (guint i = 0; i < json_array_get_length(a); i++)
            if (e2e_json_find_int(json_array_get_element(a, i), key, out))
                return TRUE;
    }
    return FALSE;
}

gint64
e2e_json_int(const char *text, const char *key, gint64 def)
{
    g_autoptr(JsonNode) n = e2e_parse_json(text);
    gint64 v = def;

    e2e_json_find_int(n, key, &v);
    return v;
}

char *
e2e_json_string(const char *text, const char *key)
{
    g_autoptr(JsonNode) n = e2e_parse_json(text);
    JsonObject *o = n && JSON_NODE_HOLDS_OBJECT(n) ? json_node_get_object(n) : NULL;
    JsonNode *m = o ? json_object_get_member(o, key) : NULL;

    if (!m || !JSON_NODE_HOLDS_VALUE(m) || json_node_get_value_type(m) != G_TYPE_STRING)
        return NULL;
    return g_strdup(json_node_get_string(m));
}

gboolean
e2e_clean_exit(const E2eRun *r)
{
    return r->status >= 0 && !r->invalid_utf8 && !strstr(r->err, "CRITICAL")
           && !strstr(r->err, "assertion") && !strstr(r->err, "Segmentation");
}

JsonNode *
e2e_last_audit(const char *dom)
{
    g_autofree char *text = NULL;
    g_auto(GStrv) lines = NULL;

    if (!g_file_get_contents(e2e.audit_log, &text, NULL, NULL))
        return NULL;
    lines = g_strsplit(text, "\n", -1);
    for (gint i = (gint)g_strv_length(lines) - 1; i >= 0; i--) {
        JsonNode *n = e2e_parse_json(lines[i]);
        if (n && JSON_NODE_HOLDS_OBJECT(n)
            && g_strcmp0(json_object_get_string_member_with_default(json_node_get_object(n),
                                                                    "domain", ""),
                         dom)
                   == 0)
            return n;
        if (n)
            json_node_unref(n);
    }
    return NULL;
}

gsize
e2e_audit_size(void)
{
    GStatBuf st;

    return g_stat(e2e.audit_log, &st) == 0 ? (gsize)st.st_size : 0;
}

GPtrArray *
e2e_audit_since(gsize from, const char *dom)
{
    GPtrArray *recs = g_ptr_array_new_with_free_func((GDestroyNotify)json_object_unref);
    g_autofree char *text = NULL;
    g_auto(GStrv) lines = NULL;
    gsize len = 0;

    if (!g_file_get_contents(e2e.audit_log, &text, &len, NULL) || from > len)
        return recs;
    lines = g_strsplit(text + from, "\n", -1);
    for (guint i = 0; lines[i]; i++) {
        g_autoptr(JsonNode) n = e2e_parse_json(lines[i]);
        JsonObject *o = n && JSON_NODE_HOLDS_OBJECT(n) ? json_node_get_object(n) : NULL;

        if (o && g_strcmp0(json_object_get_string_member_with_default(o, "domain", ""), dom) == 0
            && g_strcmp0(json_object_get_string_member_with_default(o, "outcome", ""), "attempt")
                   != 0)
            g_ptr_array_add(recs, json_object_ref(o));
    }
    return recs;
}

static void
check_get(E2eGuest *g, int n, const char *when)
{
    g_autoptr(E2eRun) get = e2e_ctl_on(g, "--json", "get", g->name, NULL);
    g_autoptr(JsonNode) j = e2e_parse_json(get->out);
    JsonObject *o = j && JSON_NODE_HOLDS_OBJECT(j) ? json_node_get_object(j) : NULL;
    JsonNode *live = o ? json_object_get_member(o, "live") : NULL;
    JsonNode *guest = o ? json_object_get_member(o, "guest") : NULL;
    gint64 cur = -1, online = -1;

    CHECK(get->status == 0, "%s: hotcpu-ctl get exited %d: %s", when, get->status, get->err);
    e2e_json_find_int(live, "current", &cur);
    e2e_json_find_int(guest, "online", &online);
    CHECK(cur == n, "%s: hotcpu-ctl get says live current %" G_GINT64_FORMAT ", expected %d: %s",
          when, cur, n, get->out);
    if (online < 0) {
        g_autofree char *log = NULL;

        e2e_guest_sh(g, 5000, &log, NULL, "tail -n 15 /run/agent.log");
        g_printerr("    hotcpu-ctl get (%.2f s) had no answer from the agent; its log:\n%s\n",
                   get->seconds, log ? log : "?");
    }
    CHECK(online == n,
          "%s: hotcpu-ctl get says guest online %" G_GINT64_FORMAT ", expected %d: %s%s", when,
          online, n, get->out, get->err);
}

void
e2e_check_all_agree(E2eGuest *g, int n, guint settle_ms, const char *when)
{
    gboolean reached = e2e_guest_wait_cpus(g, n, n, settle_ms);
    int online = e2e_guest_online(g), present = e2e_guest_present(g);
    int lv = e2e_libvirt_vcpus(g, TRUE);
    g_autoptr(E2eRun) topo = e2e_ctl_on(g, "--json", "topology", g->name, NULL);

    CHECK(reached && online == n && present == n,
          "%s: guest has %d online / %d present CPUs, expected %d", when, online, present, n);
    CHECK(lv == n, "%s: libvirt says %d live vCPUs, expected %d", when, lv, n);
    check_get(g, n, when);
    CHECK(topo->status == 0 && e2e_json_int(topo->out, "online-count", -1) == n,
          "%s: hotcpu-ctl topology (exit %d) says online-count %" G_GINT64_FORMAT
          ", expected %d: %s",
          when, topo->status, e2e_json_int(topo->out, "online-count", -1), n, topo->err);
}

E2eRun *
e2e_check_set(E2eGuest *g, guint n, int want_exit)
{
    g_autofree char *count = g_strdup_printf("%u", n);
    E2eRun *r = e2e_ctl_on(g, "--json", "set", g->name, count, NULL);

    g_printerr("    set %s %u: exit %d in %.2f s\n", g->name, n, r->status, r->seconds);
    CHECK(r->status == want_exit,
          "hotcpu-ctl set %s %u exited %d, expected %d\nstdout: %s\nstderr: %s", g->name, n,
          r->status, want_exit, r->out, r->err);
    CHECK(e2e_clean_exit(r), "hotcpu-ctl set had a crash or critical: %s", r->err);
    return r;
}

int
e2e_run_program(int argc, char **argv, const char *program, const CunitSuite *suites,
                char **env_error, void (*before_cleanup)(void))
{
    g_autoptr(GError) error = NULL;
    int status;

    e2e_set_verbose(g_getenv("HOTCPU_E2E_VERBOSE") != NULL);
    if (!e2e_env_init(&error)) {
        *env_error = g_strdup(error->message);
        g_printerr("%s: FAIL: %s\n", program, *env_error);
    }
    status = cunit_run(argc, argv, suites);
    e2e_env_keep_rundir(status != EXIT_SUCCESS && g_getenv("HOTCPU_E2E_KEEP") != NULL);
    if (before_cleanup)
        before_cleanup();
    e2e_env_cleanup();
    return status != EXIT_SUCCESS || *env_error ? 1 : 0;
}

gboolean
e2e_guest_busy_loops(E2eGuest *g, guint n, guint timeout_ms)
{
    if (n == 0)
        return e2e_guest_sh(g, timeout_ms, NULL, NULL,
                            "[ -f /tmp/busy.pids ] && kill $(cat /tmp/busy.pids); rm -f "
                            "/tmp/busy.pids; true")
               == 0;
    return e2e_guest_sh(g, timeout_ms, NULL, NULL,
                        "for i in $(seq %u); do (while :; do :; done) </dev/null >/dev/null 2>&1 "
                        "& echo $! >> /tmp/busy.pids; done",
                        n)
           == 0;
}
