/* test_ctl_hooks.c: hooks as VDSM runs them (issue 20), through the real
 * hotcpu-ctl on libvirt's test driver:
 * - each hook is started by its path: $0 names it, a hook sources a file
 *   next to itself;
 * - starting by path is safe: while the hooks run, a non-root user cannot
 *   replace a hook, its folder or any folder above it, and a hook that such
 *   a user could reach through its path (an ancestor folder they own or may
 *   write to, a link of theirs in a sticky folder) is refused;
 * - after hooks read the domain after the change from _hook_domxml;
 * - custom properties from hotcpu's <metadata> and --hook-env reach the
 *   hooks, checked;
 * - hooks written the VDSM way (tests/hooks/vdsm: Python with a `hooking`
 *   helper next to it, a shell hook sourcing common.sh) run unchanged.
 * The trust cases need root (they chown to nobody): as another user they
 * fail, they are not skipped.
 */
#include <CUnit/Basic.h>
#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cunit_runner.h"

#include "ctl_fixture.h"

#define BEFORE "before_set_num_of_cpus"
#define AFTER "after_set_num_of_cpus"
#define HOTCPU_NS "http://hotcpu.org/xmlns/libvirt/domain/1.0"

static char *
hook_path(Fx *fx, const char *phase, const char *name)
{
    return g_build_filename(fx->hooks, phase, name, NULL);
}

/* The file's text, "" when there is none. */
static char *
slurp(const char *path)
{
    char *text = NULL;

    if (!g_file_get_contents(path, &text, NULL, NULL))
        return g_strdup("");
    return text;
}

static struct passwd *
need_nobody(void)
{
    struct passwd *pw = getpwnam("nobody");

    if (geteuid() == 0 && pw != NULL)
        return pw;
    /* A test that cannot run fails: a skip must not count as a pass. */
    CU_FAIL("this test needs root and the user nobody (it acts as nobody)");
    return NULL;
}

/* Runs @fn(@data) in a child process as nobody (no supplementary groups)
 * and returns its exit status, -1 when it could not run.  The child makes
 * only system calls: every path is prepared by the caller. */
static int
as_nobody(const struct passwd *pw, int (*fn)(gpointer), gpointer data)
{
    int status = 0;
    pid_t pid = fork();

    if (pid == 0) {
        if (setgroups(0, NULL) < 0 || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0)
            _exit(126);
        _exit(fn(data));
    }
    if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status))
        return -1;
    return WEXITSTATUS(status);
}

/* ---- started by path ---------------------------------------------------- */

static void
test_dollar0_is_the_path(void)
{
    Fx *fx = fx_new();
    Dom d = { .name = "web1" };
    g_autofree char *seen = g_build_filename(fx->dir, "seen", NULL);
    g_autofree char *self = hook_path(fx, BEFORE, "10_self");
    g_autofree char *lib = hook_path(fx, BEFORE, "lib.sh");
    g_autofree char *script = g_strdup_printf("#!/bin/sh\n"
                                              ". \"$(dirname \"$0\")/lib.sh\"\n"
                                              "printf '%%s\\n%%s\\n' \"$0\" \"$sourced\" > '%s'\n",
                                              seen);
    g_autofree char *want = g_strdup_printf("%s\nyes\n", self);
    g_autofree char *got = NULL;

    fx_domain(fx, &d);
    write_hook(fx, BEFORE, "10_self", script);
    /* next to it, not executable: not a hook of its own */
    g_assert(g_file_set_contents(lib, "sourced=yes\n", -1, NULL));
    g_assert(g_chmod(lib, 0644) == 0);
    CU_ASSERT_EQUAL(fx_run(fx, "set", "web1", "4"), 0);
    got = slurp(seen);
    CUNIT_ASSERT_STR(got, want);
    fx_free(fx);
}

/* ---- replaced between the listing and the exec ----------------------------- */

typedef struct {
    const char *hook, *hook_moved, *evil, *phase, *phase_moved, *root, *root_moved, *top,
        *top_moved;
} Swap;

/* Every way a user could put another program where the hook is; returns a
 * bit per way that worked (0: none did). */
static int
try_swaps(gpointer data)
{
    const Swap *s = data;
    int won = 0, fd;

    if (rename(s->hook, s->hook_moved) == 0)
        won |= 1;
    if (unlink(s->hook) == 0)
        won |= 2;
    if ((fd = open(s->hook, O_WRONLY | O_TRUNC)) >= 0) {
        won |= 4;
        close(fd);
    }
    if ((fd = open(s->evil, O_WRONLY | O_CREAT | O_EXCL, 0755)) >= 0) {
        won |= 8;
        close(fd);
    }
    if (rename(s->phase, s->phase_moved) == 0)
        won |= 16;
    if (rename(s->root, s->root_moved) == 0)
        won |= 32;
    if (rename(s->top, s->top_moved) == 0) /* in /tmp: sticky */
        won |= 64;
    return won;
}

/* The hooks folder sits under the fixture's folder in /tmp, as the
 * contract's roots sit under /etc and /usr/libexec: root's, writable by
 * no one else (/tmp only sticky).  10_wait holds the chain after the
 * listing, before 20_target is checked and started; meanwhile nobody tries
 * every swap.  None works, and 20_target runs what it held. */
static void
test_swap_after_listing(void)
{
    Fx *fx = fx_new();
    Dom d = { .name = "web1" };
    struct passwd *pw = need_nobody();
    g_autofree char *listed = g_build_filename(fx->dir, "listed", NULL);
    g_autofree char *go = g_build_filename(fx->dir, "go", NULL);
    g_autofree char *ran = g_build_filename(fx->dir, "ran", NULL);
    g_autofree char *wait_hook = g_strdup_printf(
        "#!/bin/sh\ntouch '%s'\ni=0\n"
        "while [ ! -e '%s' ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done\n",
        listed, go);
    g_autofree char *target = g_strdup_printf("#!/bin/sh\necho original > '%s'\n", ran);
    g_autofree char *hook = hook_path(fx, BEFORE, "20_target");
    g_autofree char *hook_moved = g_strconcat(hook, ".moved", NULL);
    g_autofree char *evil = hook_path(fx, BEFORE, "15_theirs");
    g_autofree char *phase = g_build_filename(fx->hooks, BEFORE, NULL);
    g_autofree char *phase_moved = g_strconcat(phase, ".moved", NULL);
    g_autofree char *root_moved = g_strconcat(fx->hooks, ".moved", NULL);
    g_autofree char *top_moved = g_strconcat(fx->dir, ".moved", NULL);
    Swap swap
        = { hook, hook_moved, evil, phase, phase_moved, fx->hooks, root_moved, fx->dir, top_moved };
    g_autoptr(GSubprocess) p = NULL;
    g_autofree char *got = NULL;
    gboolean seen = FALSE;

    if (pw == NULL) {
        fx_free(fx);
        return;
    }
    fx_domain(fx, &d);
    write_hook(fx, BEFORE, "10_wait", wait_hook);
    write_hook(fx, BEFORE, "20_target", target);
    p = fx_spawn_v(fx, (const char *const[]){ "set", "web1", "4", NULL });
    for (int i = 0; i < 1500 && !seen; i++) {
        seen = g_file_test(listed, G_FILE_TEST_EXISTS);
        if (!seen)
            g_usleep(20 * 1000);
    }
    CU_ASSERT_TRUE(seen);
    CU_ASSERT_EQUAL(as_nobody(pw, try_swaps, &swap), 0);
    g_assert(g_file_set_contents(go, "", -1, NULL));
    CU_ASSERT_EQUAL(fx_finish(fx, p), 0);
    got = slurp(ran);
    CUNIT_ASSERT_STR(got, "original\n");
    CU_ASSERT_FALSE(g_file_test(evil, G_FILE_TEST_EXISTS));
    fx_free(fx);
}

static int
try_rename(gpointer data)
{
    const char *const *paths = data;

    return rename(paths[0], paths[1]) == 0 ? 0 : 1;
}

/* The hooks root lies in a folder nobody owns: nobody could rename the
 * whole root away and put theirs in its place between the listing and the
 * exec, so none of its hooks runs. */
static void
test_folder_of_another_user_refused(void)
{
    Fx *fx = fx_new();
    Dom d = { .name = "web1" };
    struct passwd *pw = need_nobody();
    g_autofree char *home = g_build_filename(fx->dir, "home", NULL);
    g_autofree char *ran = g_build_filename(fx->dir, "ran", NULL);
    g_autofree char *script = g_strdup_printf("#!/bin/sh\ntouch '%s'\n", ran);
    g_autofree char *hook = NULL, *theirs = NULL, *want = NULL;
    const char *move[2];

    if (pw == NULL) {
        fx_free(fx);
        return;
    }
    fx_domain(fx, &d);
    g_assert(g_mkdir(home, 0755) == 0);
    g_assert(chown(home, pw->pw_uid, pw->pw_gid) == 0);
    g_free(fx->hooks);
    fx->hooks = g_build_filename(home, "hooks", NULL);
    hook = hook_path(fx, BEFORE, "10_mark");
    write_hook(fx, BEFORE, "10_mark", script);
    CU_ASSERT_EQUAL(fx_run(fx, "set", "web1", "4"), 4);
    want = g_strdup_printf("hook %s was not run: the folder %s, on the way to the hook %s, is "
                           "owned by nobody",
                           hook, home, hook);
    CU_ASSERT_TRUE(err_has(fx, want));
    CU_ASSERT_TRUE(err_has(fx, "nothing changed"));
    CU_ASSERT_FALSE(g_file_test(ran, G_FILE_TEST_EXISTS));
    /* the refusal is no formality: nobody can move the root away */
    theirs = g_strconcat(fx->hooks, ".theirs", NULL);
    move[0] = fx->hooks;
    move[1] = theirs;
    CU_ASSERT_EQUAL(as_nobody(pw, try_rename, move), 0);
    CU_ASSERT_EQUAL(rename(theirs, fx->hooks), 0);
    /* the folder given back to root: the hook runs */
    CU_ASSERT_EQUAL(chown(home, 0, 0), 0);
    CU_ASSERT_EQUAL(fx_run(fx, "set", "web1", "4"), 0);
    CU_ASSERT_TRUE(g_file_test(ran, G_FILE_TEST_EXISTS));
    fx_free(fx);
}

/* A folder on the way that others may write to: refused, unless it is
 * sticky and what lies on the way in it is root's; a link of another user
 * in a sticky folder is theirs to replace, so refused. */
static void
test_writable_folder_on_the_way(void)
{
    Fx *fx = fx_new();
    Dom d = { .name = "web1" };
    struct passwd *pw = need_nobody();
    g_autofree char *shared = g_build_filename(fx->dir, "shared", NULL);
    g_autofree char *link = g_build_filename(shared, "link", NULL);
    g_autofree char *ran = g_build_filename(fx->dir, "ran", NULL);
    g_autofree char *script = g_strdup_printf("#!/bin/sh\ntouch '%s'\n", ran);
    g_autofree char *want = NULL, *root_moved = NULL, *linked_hook = NULL;
    const char *move[2];

    if (pw == NULL) {
        fx_free(fx);
        return;
    }
    fx_domain(fx, &d);
    g_assert(g_mkdir(shared, 0755) == 0);
    g_assert(chmod(shared, 0777) == 0);
    g_free(fx->hooks);
    fx->hooks = g_build_filename(shared, "hooks", NULL);
    write_hook(fx, BEFORE, "10_mark", script);
    CU_ASSERT_EQUAL(fx_run(fx, "set", "web1", "4"), 4);
    want = g_strdup_printf("the folder %s, on the way to the hook %s/" BEFORE "/10_mark, is "
                           "writable by group or others",
                           shared, fx->hooks);
    CU_ASSERT_TRUE(err_has(fx, want));
    CU_ASSERT_FALSE(g_file_test(ran, G_FILE_TEST_EXISTS));

    /* sticky, as /tmp: nobody cannot move root's hooks folder out of it */
    CU_ASSERT_EQUAL(chmod(shared, 01777), 0);
    root_moved = g_strconcat(fx->hooks, ".moved", NULL);
    move[0] = fx->hooks;
    move[1] = root_moved;
    CU_ASSERT_EQUAL(as_nobody(pw, try_rename, move), 1);
    CU_ASSERT_EQUAL(fx_run(fx, "set", "web1", "4"), 0);
    CU_ASSERT_TRUE(g_file_test(ran, G_FILE_TEST_EXISTS));
    g_unlink(ran);

    /* the same hooks through nobody's link in that sticky folder */
    CU_ASSERT_EQUAL_FATAL(symlink("hooks", link), 0);
    CU_ASSERT_EQUAL(lchown(link, pw->pw_uid, pw->pw_gid), 0);
    g_free(fx->hooks);
    fx->hooks = g_strdup(link);
    linked_hook = hook_path(fx, BEFORE, "10_mark");
    CU_ASSERT_EQUAL(fx_run(fx, "set", "web1", "4"), 4);
    g_free(want);
    want = g_strdup_printf("the link %s, on the way to the hook %s, is owned by nobody (uid %u) "
                           "in the folder %s, which others may write to",
                           link, linked_hook, (guint)pw->pw_uid, shared);
    CU_ASSERT_TRUE(err_has(fx, want));
    CU_ASSERT_FALSE(g_file_test(ran, G_FILE_TEST_EXISTS));
    fx_free(fx);
}

/* ---- _hook_domxml before and after ------------------------------------------ */

/* A hook that keeps the <vcpu> element of its _hook_domxml in FX/@file. */
static void
write_vcpu_hook(Fx *fx, const char *phase, const char *file, const char *extra)
{
    g_autofree char *seen = g_build_filename(fx->dir, file, NULL);
    g_autofree char *script
        = g_strdup_printf("#!/bin/sh\ngrep -o '<vcpu[^>]*>[0-9]*</vcpu>' \"$_hook_domxml\" > '%s'\n"
                          "%s\n",
                          seen, extra);

    write_hook(fx, phase, "10_vcpu", script);
}

static void
expect_seen(Fx *fx, const char *file, const char *needle)
{
    g_autofree char *path = g_build_filename(fx->dir, file, NULL);
    g_autofree char *text = slurp(path);

    CUNIT_ASSERT_CONTAINS(text, needle);
}

static void
test_after_hooks_see_the_change(void)
{
    Fx *fx = fx_new();
    Dom plug = { .name = "web1", .current = 2 };
    Dom unplug = { .name = "web1", .current = 4, .os_id = "http://debian.org/debian/12" };

    /* a before hook that scribbles on its copy changes nothing for the after hooks */
    write_vcpu_hook(fx, BEFORE, "before", "echo scribbled > \"$_hook_domxml\"");
    write_vcpu_hook(fx, AFTER, "after", "");
    fx_domain(fx, &plug);
    CU_ASSERT_EQUAL(fx_run(fx, "set", "web1", "4"), 0);
    expect_seen(fx, "before", "current='2'>8</vcpu>");
    expect_seen(fx, "after", "current='4'>8</vcpu>");

    fx_domain(fx, &unplug);
    CU_ASSERT_EQUAL(fx_run(fx, "set", "web1", "2"), 0);
    expect_seen(fx, "before", "current='4'>8</vcpu>");
    expect_seen(fx, "after", "current='2'>8</vcpu>");
    fx_free(fx);
}

/* The domain stops during the change (a setVcpus shim destroys it, as when
 * QEMU dies): the after hooks get what libvirt has then, the persistent
 * definition (no id='N' on <domain>, the defined count). */
static void
test_after_hooks_stopped_domain(void)
{
    Fx *fx = fx_new();
    Dom d = { .name = "web1", .current = 4, .os_id = "http://debian.org/debian/12" };
    g_autofree char *before_path = g_build_filename(fx->dir, "before", NULL);
    g_autofree char *after_path = g_build_filename(fx->dir, "after", NULL);
    g_autofree char *before = NULL, *after = NULL;
#define GRAB_SCRIPT                                                                                \
    "#!/bin/sh\ngrep -o '<domain[^>]*>' \"$_hook_domxml\" > '%s'\n"                                \
    "grep -o '<vcpu[^>]*>[0-9]*</vcpu>' \"$_hook_domxml\" >> '%s'\n"
    g_autofree char *before_script = g_strdup_printf(GRAB_SCRIPT, before_path, before_path);
    g_autofree char *after_script = g_strdup_printf(GRAB_SCRIPT, after_path, after_path);
#undef GRAB_SCRIPT

    fx_domain(fx, &d);
    write_hook(fx, BEFORE, "10_grab", before_script);
    write_hook(fx, AFTER, "10_grab", after_script);
    fx->mock = "die";
    CU_ASSERT_EQUAL(fx_run(fx, "set", "web1", "2"), 6);
    CU_ASSERT_TRUE(err_has(fx, "domain 'web1' stopped running during the change"));
    before = slurp(before_path);
    after = slurp(after_path);
    CUNIT_ASSERT_CONTAINS(before, "<domain type='test' id='");
    CUNIT_ASSERT_CONTAINS(before, "current='4'>8</vcpu>");
    CUNIT_ASSERT_CONTAINS(after, "<domain type='test'>");
    CUNIT_ASSERT_CONTAINS(after, "current='4'>8</vcpu>");
    fx_free(fx);
}

/* ---- custom properties ------------------------------------------------------ */

/* NAME=VALUE pairs of a NUL-separated environment dump. */
static GHashTable *
read_env(const char *path)
{
    GHashTable *vars = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    g_autofree char *text = NULL;
    gsize len = 0;

    if (!g_file_get_contents(path, &text, &len, NULL))
        return vars;
    for (gsize pos = 0; pos < len; pos += strlen(text + pos) + 1) {
        const char *eq = strchr(text + pos, '=');

        if (eq != NULL)
            g_hash_table_insert(vars, g_strndup(text + pos, (gsize)(eq - (text + pos))),
                                g_strdup(eq + 1));
    }
    return vars;
}

static void
write_env_hook(Fx *fx, const char *phase)
{
    g_autofree char *out = g_build_filename(fx->dir, phase, NULL);
    g_autofree char *script = g_strdup_printf("#!/bin/sh\nenv -0 > '%s'\n", out);

    write_hook(fx, phase, "10_env", script);
}

static void
expect_var(GHashTable *vars, const char *name, const char *value)
{
    const char *got = g_hash_table_lookup(vars, name);

    if (value == NULL) {
        CU_ASSERT_PTR_NULL(got);
        return;
    }
    CU_ASSERT_PTR_NOT_NULL(got);
    if (got != NULL)
        CUNIT_ASSERT_STR(got, value);
}

static void
test_custom_properties(void)
{
    Fx *fx = fx_new();
    Dom d = { .name = "web1",
              .metadata = "<hotcpu:hotcpu xmlns:hotcpu='" HOTCPU_NS "'>"
                          "<hotcpu:hook-env name='sap_profile'>gold</hotcpu:hook-env>"
                          "<hotcpu:hook-env name='backup'>nightly &amp; weekly</hotcpu:hook-env>"
                          "</hotcpu:hotcpu>" };
    g_autofree char *before_path = g_build_filename(fx->dir, BEFORE, NULL);
    g_autofree char *after_path = g_build_filename(fx->dir, AFTER, NULL);
    g_autoptr(GHashTable) before = NULL, after = NULL;

    fx_domain(fx, &d);
    write_env_hook(fx, BEFORE);
    write_env_hook(fx, AFTER);
    CU_ASSERT_EQUAL(fx_run(fx, "set", "web1", "4", "--hook-env", "sap_profile=silver",
                           "--hook-env=ticket=CHG-42 urgent"),
                    0);
    before = read_env(before_path);
    after = read_env(after_path);
    for (int i = 0; i < 2; i++) {
        GHashTable *vars = i == 0 ? before : after;

        expect_var(vars, "sap_profile", "silver"); /* this run's word */
        expect_var(vars, "backup", "nightly & weekly");
        expect_var(vars, "ticket", "CHG-42 urgent");
        expect_var(vars, "vmName", "web1");
        expect_var(vars, "numberOfCpus", "4");
        expect_var(vars, "previousNumberOfCpus", "2");
    }
    expect_var(after, "HOTCPU_OUTCOME", "done");
    /* without --hook-env: the domain's own */
    CU_ASSERT_EQUAL(fx_run(fx, "set", "web1", "4"), 0);
    g_hash_table_unref(before);
    before = read_env(before_path);
    expect_var(before, "sap_profile", "gold");
    expect_var(before, "ticket", NULL);
    fx_free(fx);
}

static void
expect_usage(Fx *fx, const char *arg, const char *needle, const char *ran)
{
    CU_ASSERT_EQUAL(fx_run(fx, "set", "web1", "4", "--hook-env", arg), 2);
    CU_ASSERT_TRUE(err_has(fx, needle));
    CU_ASSERT_FALSE(g_file_test(ran, G_FILE_TEST_EXISTS));
}

static void
test_custom_properties_refused(void)
{
    Fx *fx = fx_new();
    Dom d = { .name = "web1" };
    g_autofree char *ran = g_build_filename(fx->dir, "ran", NULL);
    g_autofree char *script = g_strdup_printf("#!/bin/sh\ntouch '%s'\n", ran);
    g_autoptr(JsonObject) rec = NULL;

    fx_domain(fx, &d);
    write_hook(fx, BEFORE, "10_mark", script);
    /* on the command line: a usage error, nothing runs */
    expect_usage(fx, "PATH=/tmp/evil", "--hook-env: the hook variable name 'PATH' is refused", ran);
    expect_usage(fx, "LD_PRELOAD=/tmp/evil.so", "'LD_PRELOAD' is refused", ran);
    expect_usage(fx, "vmName=other", "one of the hook contract's own variables", ran);
    expect_usage(fx, "http_proxy=http://10.0.0.1:3128", "'http_proxy' is refused", ran);
    expect_usage(fx, "sap-profile=gold", "only letters, digits and '_'", ran);
    expect_usage(fx, "gold", "expected NAME=VALUE", ran);
    expect_usage(fx, "note=two\nlines", "control character", ran);
    CU_ASSERT_EQUAL(fx_run(fx, "set", "web1", "4", "--hook-env", "a=1", "--hook-env", "a=2"), 2);
    CU_ASSERT_TRUE(err_has(fx, "--hook-env gives hook variable 'a' twice"));
    CU_ASSERT_EQUAL(fx_audit(fx)->len, 0);

    /* in the domain's metadata: refused before anything ran, recorded */
    d.metadata = "<h:hook-env xmlns:h='" HOTCPU_NS "' name='LD_PRELOAD'>/tmp/evil.so</h:hook-env>";
    fx_domain(fx, &d);
    CU_ASSERT_EQUAL(fx_run(fx, "set", "web1", "4"), 3);
    CU_ASSERT_TRUE(err_has(fx, "the <metadata> of domain 'web1' holds a hook-env that cannot be "
                               "passed to its hooks: the hook variable name 'LD_PRELOAD' is "
                               "refused"));
    CU_ASSERT_TRUE(err_has(fx, "nothing changed"));
    CU_ASSERT_FALSE(g_file_test(ran, G_FILE_TEST_EXISTS));
    rec = fx_audit_last(fx, 1);
    if (rec != NULL)
        CUNIT_ASSERT_STR(json_object_get_string_member(rec, "outcome"), "refused");
    d.metadata = "<h:hook-env xmlns:h='" HOTCPU_NS "' name='note'>a&#10;b</h:hook-env>";
    fx_domain(fx, &d);
    CU_ASSERT_EQUAL(fx_run(fx, "set", "web1", "4"), 3);
    CU_ASSERT_TRUE(err_has(fx, "the value of hook variable 'note' is refused"));
    CU_ASSERT_FALSE(g_file_test(ran, G_FILE_TEST_EXISTS));
    fx_free(fx);
}

/* ---- hooks written the VDSM way (tests/hooks/vdsm) --------------------------- */

/* Copies tests/hooks/vdsm into the fixture's hooks root: hooks 0755, the
 * files next to them (hooking.py, common.sh, the config) 0644. */
static void
install_vdsm_hooks(Fx *fx)
{
    const char *src = g_getenv("HOTCPU_TEST_VDSM_HOOKS");
    static const char *const phases[] = { BEFORE, AFTER, NULL };

    g_assert(src != NULL);
    for (guint i = 0; phases[i]; i++) {
        g_autofree char *from_dir = g_build_filename(src, phases[i], NULL);
        g_autofree char *to_dir = g_build_filename(fx->hooks, phases[i], NULL);
        g_autoptr(GDir) dir = g_dir_open(from_dir, 0, NULL);
        const char *name;

        g_assert(dir != NULL);
        g_assert(g_mkdir_with_parents(to_dir, 0755) == 0);
        g_assert(g_chmod(fx->hooks, 0755) == 0 && g_chmod(to_dir, 0755) == 0);
        while ((name = g_dir_read_name(dir)) != NULL) {
            g_autofree char *from = g_build_filename(from_dir, name, NULL);
            g_autofree char *to = g_build_filename(to_dir, name, NULL);
            g_autofree char *data = NULL;
            gsize len = 0;

            if (!g_file_test(from, G_FILE_TEST_IS_REGULAR))
                continue; /* a __pycache__ left by a manual run */
            g_assert(g_file_get_contents(from, &data, &len, NULL));
            g_assert(g_file_set_contents(to, data, (gssize)len, NULL));
            g_assert(g_chmod(to, g_file_test(from, G_FILE_TEST_IS_EXECUTABLE) ? 0755 : 0644) == 0);
        }
    }
}

static gboolean
have_python(void)
{
    if (g_file_test("/usr/bin/python3", G_FILE_TEST_IS_EXECUTABLE))
        return TRUE;
    CU_FAIL("/usr/bin/python3 is missing (scripts/deps.sh installs python3)");
    return FALSE;
}

static const char gold_metadata[] = "<hotcpu:hotcpu xmlns:hotcpu='" HOTCPU_NS "'>"
                                    "<hotcpu:hook-env name='sap_profile'>gold</hotcpu:hook-env>"
                                    "</hotcpu:hotcpu>";

/* Plug 2 -> 4 with the gold profile (8 allowed): the Python hook imports
 * `hooking` from its folder and reads its config there, the shell hook
 * sources common.sh, the after hook reads the new count. */
static void
test_vdsm_hooks_plug(void)
{
    Fx *fx = fx_new();
    Dom d = { .name = "web1", .metadata = gold_metadata };
    g_autofree char *trace_path = NULL, *trace = NULL, *want = NULL;

    if (!have_python()) {
        fx_free(fx);
        return;
    }
    install_vdsm_hooks(fx);
    trace_path = g_build_filename(fx->hooks, "trace.log", NULL);
    fx_domain(fx, &d);
    CU_ASSERT_EQUAL(fx_run(fx, "set", "web1", "4"), 0);
    trace = slurp(trace_path);
    want = g_strdup_printf(
        "50_sap_profile: self=%s/" BEFORE "/50_sap_profile domain=web1 current=2 wanted=4 "
        "profile=gold allowed=8\n"
        "60_log_request: self=%s/" BEFORE "/60_log_request domain=web1 previous=2 wanted=4 "
        "profile=gold\n"
        "50_check_count: self=%s/" AFTER "/50_check_count current=4 wanted=4 outcome=done\n",
        fx->hooks, fx->hooks, fx->hooks);
    CUNIT_ASSERT_STR(trace, want);
    fx_free(fx);
}

/* --hook-env sap_profile=silver (4 allowed) for one run and 6 asked: the
 * Python hook vetoes with hooking.exit_hook (rc 2), which stops the chain;
 * nothing changed, and the user reads the hook's message. */
static void
test_vdsm_hooks_veto(void)
{
    Fx *fx = fx_new();
    Dom d = { .name = "web1", .metadata = gold_metadata };
    g_autofree char *trace_path = NULL, *trace = NULL, *want = NULL;
    g_autoptr(JsonObject) rec = NULL;

    if (!have_python()) {
        fx_free(fx);
        return;
    }
    install_vdsm_hooks(fx);
    trace_path = g_build_filename(fx->hooks, "trace.log", NULL);
    fx_domain(fx, &d);
    CU_ASSERT_EQUAL(fx_run(fx, "set", "web1", "6", "--hook-env", "sap_profile=silver"), 4);
    CU_ASSERT_TRUE(err_has(fx, "a before hook vetoed setting domain 'web1' to 6 vCPUs"));
    CU_ASSERT_TRUE(err_has(fx, "sap_profile silver of domain web1 allows at most 4 vCPUs, not 6"));
    CU_ASSERT_TRUE(err_has(fx, "nothing changed"));
    trace = slurp(trace_path);
    want = g_strdup_printf("50_sap_profile: self=%s/" BEFORE "/50_sap_profile domain=web1 "
                           "current=2 wanted=6 profile=silver allowed=4\n",
                           fx->hooks);
    CUNIT_ASSERT_STR(trace, want); /* the chain stopped: no 60_, no after hook */
    rec = fx_audit_last(fx, 1);
    if (rec != NULL) {
        JsonArray *hooks = json_object_get_array_member(rec, "hooks");

        CU_ASSERT_EQUAL_FATAL(json_array_get_length(hooks), 1);
        CU_ASSERT_EQUAL(json_object_get_int_member(json_array_get_object_element(hooks, 0), "exit"),
                        2);
        CU_ASSERT_EQUAL(json_object_get_int_member(rec, "actual"), 2);
    }
    fx_free(fx);
}

/* ---- the program -------------------------------------------------------------- */

static void
register_path_suite(void)
{
    static const CunitTest tests[] = {
        { "$0 is the hook's path; it sources a file next to it", test_dollar0_is_the_path },
        { "nobody cannot swap a hook between the listing and the exec", test_swap_after_listing },
        { "a hooks root in another user's folder is refused", test_folder_of_another_user_refused },
        { "a writable folder on the way is refused; sticky with root's entries is not",
          test_writable_folder_on_the_way },
        { NULL, NULL },
    };

    cunit_add_suite("by_path", tests);
}

static void
register_domxml_suite(void)
{
    static const CunitTest tests[] = {
        { "after hooks read the domain after the change", test_after_hooks_see_the_change },
        { "the domain stopped: after hooks read its persistent XML",
          test_after_hooks_stopped_domain },
        { NULL, NULL },
    };

    cunit_add_suite("domxml", tests);
}

static void
register_custom_suite(void)
{
    static const CunitTest tests[] = {
        { "metadata and --hook-env reach both phases", test_custom_properties },
        { "bad names and values are refused before any hook", test_custom_properties_refused },
        { NULL, NULL },
    };

    cunit_add_suite("custom_properties", tests);
}

static void
register_vdsm_suite(void)
{
    static const CunitTest tests[] = {
        { "VDSM-style hooks: plug, own folder, after count", test_vdsm_hooks_plug },
        { "VDSM-style hooks: exit_hook vetoes with rc 2", test_vdsm_hooks_veto },
        { NULL, NULL },
    };

    cunit_add_suite("vdsm", tests);
}

static const CunitSuite suites[] = {
    { "by_path", register_path_suite },
    { "domxml", register_domxml_suite },
    { "custom_properties", register_custom_suite },
    { "vdsm", register_vdsm_suite },
    { NULL, NULL },
};

int
main(int argc, char **argv)
{
    if (!fx_init())
        return 1;
    return cunit_run(argc, argv, suites);
}
