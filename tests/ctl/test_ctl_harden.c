/* test_ctl_harden.c: hotcpu-ctl against a hostile guest, a careless host and
 * a full disk (issue 12): what reaches the terminal, the hooks and the audit
 * log.  libvirt's test driver as in test_ctl_cli.c; the guest side is a
 * scripted stand-in agent on a unix socket, so that it can say what a real
 * agent never would.
 */
#include <CUnit/Basic.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "cunit_runner.h"
#include "fake_agent.h"
#include "protocol.h"

#include "ctl_fixture.h"

/* ---- a scripted stand-in agent -------------------------------------------- */

/* What a hostile guest writes: ANSI escapes, a carriage return and a forged
 * log line, a bell, C1 CSI, a bidi override and a lone surrogate (which the
 * JSON parser turns into invalid UTF-8), as JSON string content. */
#define HOSTILE_TEXT                                                                               \
    "\\u001b[2J\\u001b[31mOWNED\\r\\nerror: forged line\\u0007\\u009b1m\\u202eevil\\ud83d\\ude00x"

/* A valid topology with @n CPUs present and online (cpu0 fixed). */
#define TOPOLOGY_4                                                                                 \
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

/* ---- helpers --------------------------------------------------------------- */

/* Text that is safe on a terminal: valid UTF-8, no control character but
 * the newlines ending the lines we print, no line the guest forged. */
static void
assert_printable(const char *text)
{
    CU_ASSERT_TRUE_FATAL(g_utf8_validate(text, -1, NULL));
    for (const char *p = text; *p; p = g_utf8_next_char(p)) {
        gunichar c = g_utf8_get_char(p);

        if (c == '\n')
            continue;
        if (c < 0x20 || (c >= 0x7F && c <= 0x9F) || c == 0x202E) {
            fprintf(stderr, "\ncontrol character U+%04X in: %s\n", c, text);
            CU_FAIL("a control character reached the output");
            return;
        }
    }
    CUNIT_ASSERT_NOT_CONTAINS(text, "\nerror: forged");
    CU_ASSERT_FALSE(g_str_has_prefix(text, "error: forged"));
}

/* ---- 4: guest text on the terminal, in JSON and in the audit log ------------ */

static void
test_guest_text_escaped(void)
{
    Fx *fx = fx_new();
    g_autofree char *tail = g_strnfill(2000, 'A');
    g_autofree char *hostile_error = g_strdup_printf(
        "{\"error\":{\"class\":\"OperationFailed\",\"desc\":\"" HOSTILE_TEXT "%s\"},\"id\":@ID@}",
        tail);
    const FakeAnswer answers[] = {
        { "ping", "{\"return\":{},\"id\":@ID@}" },
        { "get-topology", "{\"return\":" TOPOLOGY_4 ",\"id\":@ID@}" },
        { "set-num-cpus", hostile_error },
        { NULL, NULL },
    };
    FakeAgent *fa = fake_agent_start_in(fx->dir, answers, NULL);
    Dom d = { .name = "web1", .current = 4, .agent_socket = fa->socket };
    g_autoptr(GPtrArray) recs = NULL;

    fx_domain(fx, &d);
    /* guest-set: the agent's refusal, as text and as JSON */
    CU_ASSERT_EQUAL(fx_run(fx, "guest-set", "web1", "2"), 5);
    assert_printable(fx->err);
    CUNIT_ASSERT_CONTAINS(fx->err, "\\x1b[2J\\x1b[31mOWNED\\r\\nerror: forged line");
    CU_ASSERT_TRUE(strlen(fx->err) < 800); /* the guest's part is capped at 512 bytes */
    CU_ASSERT_EQUAL(fx_run(fx, "--json", "guest-set", "web1", "2"), 5);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fx->json);
    assert_printable(json_object_get_string_member(fx->json, "error"));

    /* set: the pre-offline and the confirmation fail with the same text, as
     * warnings; the audit record stays one parseable line */
    CU_ASSERT_EQUAL(fx_run(fx, "--json", "set", "web1", "2", "--timeout", "1"), 6);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fx->json);
    assert_printable(fx->err);
    assert_printable(fx->out);
    recs = fx_audit(fx);
    CU_ASSERT_TRUE(recs->len >= 1);
    fake_agent_stop(fa);
    fx_free(fx);
}

static void
check_topology_reply(const char *online)
{
    Fx *fx = fx_new();
    g_autofree char *reply = g_strdup_printf(
        "{\"return\":{\"online\":\"%s\",\"present\":\"0-3\"},\"id\":@ID@}", online);
    const FakeAnswer answers[] = {
        { "ping", "{\"return\":{},\"id\":@ID@}" },
        { "get-topology", reply },
        { NULL, NULL },
    };
    FakeAgent *fa = fake_agent_start_in(fx->dir, answers, NULL);
    Dom d = { .name = "web1", .current = 4, .agent_socket = fa->socket };

    fx_domain(fx, &d);
    CU_ASSERT_NOT_EQUAL(fx_run(fx, "topology", "web1"), 0);
    assert_printable(fx->err);
    assert_printable(fx->out);
    CUNIT_ASSERT_CONTAINS(fx->err, "\\x1b[2J");
    CU_ASSERT_NOT_EQUAL(fx_run(fx, "--json", "topology", "web1"), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fx->json); /* parses: valid UTF-8 */
    assert_printable(json_object_get_string_member(fx->json, "error"));
    CU_ASSERT_EQUAL(fx_run(fx, "get", "web1"), 0);
    assert_printable(fx->err);
    assert_printable(fx->out);
    fake_agent_stop(fa);
    fx_free(fx);
}

static void
test_guest_topology_escaped(void)
{
    /* a CPU list the parser quotes in its error; a string JSON rejects */
    check_topology_reply("\\u001b[2J\\r\\nerror: forged line");
    check_topology_reply("\\u001b[2J\\r\\nerror: forged line\\ud83d\\ude00x");
}

/* ---- 7, 3: what a hook gets ------------------------------------------------- */

/* A before hook that records its environment (NUL-separated, in FX/seen/env),
 * the mode and owner of its _hook_domxml file and folder (FX/seen/modes) and
 * a copy of the file (FX/seen/domxml). */
static char *
write_recording_hook(Fx *fx)
{
    g_autofree char *seen = g_build_filename(fx->dir, "seen", NULL);
    g_autofree char *script = g_strdup_printf(
        "#!/bin/sh\n"
        "seen='%s'\n"
        "env -0 > \"$seen/env\"\n"
        "stat -c '%%a %%U' \"$_hook_domxml\" \"$(dirname \"$_hook_domxml\")\" > \"$seen/modes\"\n"
        "echo \"$_hook_domxml\" > \"$seen/path\"\n"
        "cp \"$_hook_domxml\" \"$seen/domxml\"\n",
        seen);

    g_assert(g_mkdir_with_parents(seen, 0755) == 0);
    write_hook(fx, "before_set_num_of_cpus", "10_record", script);
    return g_steal_pointer(&seen);
}

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
test_hook_environment(void)
{
    Fx *fx = fx_new();
    Dom d = { .name = "web1" };
    g_autofree char *seen = write_recording_hook(fx);
    g_autofree char *env_path = g_build_filename(seen, "env", NULL);
    g_autofree char *uri = g_strdup_printf("test://%s", fx->node);
    g_autoptr(GHashTable) vars = NULL;

    fx_domain(fx, &d);
    g_setenv("FOO_SECRET", "hunter2", TRUE);
    CU_ASSERT_EQUAL(fx_run(fx, "set", "web1", "4"), 0);
    g_unsetenv("FOO_SECRET");
    vars = read_env(env_path);
    CU_ASSERT_PTR_NULL(g_hash_table_lookup(vars, "FOO_SECRET"));
    CU_ASSERT_PTR_NULL(g_hash_table_lookup(vars, "HOTCPU_LOCK_DIR")); /* ours, not theirs */
    CUNIT_ASSERT_STR(g_hash_table_lookup(vars, "LIBVIRT_DEFAULT_URI"), uri);
    CUNIT_ASSERT_STR(g_hash_table_lookup(vars, "vmName"), "web1");
    CUNIT_ASSERT_STR(g_hash_table_lookup(vars, "numberOfCpus"), "4");
    CU_ASSERT_PTR_NOT_NULL(g_hash_table_lookup(vars, "PATH"));
    fx_free(fx);
}

static void
test_hook_domxml_private(void)
{
    Fx *fx = fx_new();
    Dom d = { .name = "web1",
              .devices = "    <graphics type='vnc' port='-1' autoport='yes' passwd='s3cret'/>\n" };
    g_autofree char *seen = write_recording_hook(fx);
    g_autofree char *modes_path = g_build_filename(seen, "modes", NULL);
    g_autofree char *copy_path = g_build_filename(seen, "domxml", NULL);
    g_autofree char *path_path = g_build_filename(seen, "path", NULL);
    g_autofree char *modes = NULL, *copy = NULL, *path = NULL, *folder = NULL;

    fx_domain(fx, &d);
    CU_ASSERT_EQUAL(fx_run(fx, "set", "web1", "4"), 0);
    CU_ASSERT_TRUE_FATAL(g_file_get_contents(modes_path, &modes, NULL, NULL));
    CU_ASSERT_TRUE_FATAL(g_file_get_contents(copy_path, &copy, NULL, NULL));
    CU_ASSERT_TRUE_FATAL(g_file_get_contents(path_path, &path, NULL, NULL));
    /* only the owner reads it, in a folder only the owner enters */
    CUNIT_ASSERT_STR(modes, "600 root\n700 root\n");
    /* the live XML, without secrets (fetched without VIR_DOMAIN_XML_SECURE) */
    CUNIT_ASSERT_CONTAINS(copy, "<name>web1</name>");
    CUNIT_ASSERT_CONTAINS(copy, "<graphics type='vnc'");
    CUNIT_ASSERT_NOT_CONTAINS(copy, "s3cret");
    /* both gone after the run */
    g_strchomp(path);
    folder = g_path_get_dirname(path);
    CU_ASSERT_FALSE(g_file_test(path, G_FILE_TEST_EXISTS));
    CU_ASSERT_FALSE(g_file_test(folder, G_FILE_TEST_EXISTS));
    fx_free(fx);
}

/* ---- 1: whose hooks run ---------------------------------------------------- */

static gboolean
need_root(void)
{
    if (geteuid() == 0)
        return TRUE;
    /* A test that cannot run fails: a skip must not count as a pass. */
    CU_FAIL("this test needs root (it chowns test files to nobody)");
    return FALSE;
}

static void
test_hook_owner_refused(void)
{
    Fx *fx = fx_new();
    Dom d = { .name = "web1" };
    g_autofree char *hook
        = g_build_filename(fx->hooks, "before_set_num_of_cpus", "50_theirs", NULL);
    g_autofree char *ran = g_build_filename(fx->dir, "ran", NULL);
    g_autofree char *script = g_strdup_printf("#!/bin/sh\ntouch '%s'\n", ran);
    g_autoptr(JsonObject) rec = NULL;
    struct passwd *nobody = getpwnam("nobody");

    if (!need_root() || nobody == NULL) {
        fx_free(fx);
        return;
    }
    fx_domain(fx, &d);
    write_hook(fx, "before_set_num_of_cpus", "50_theirs", script);
    CU_ASSERT_EQUAL_FATAL(chown(hook, nobody->pw_uid, (gid_t)-1), 0);
    CU_ASSERT_EQUAL(fx_run(fx, "set", "web1", "4"), 4);
    CU_ASSERT_FALSE(g_file_test(ran, G_FILE_TEST_EXISTS));
    CU_ASSERT_TRUE(err_has(fx, "50_theirs was not run: the hook "));
    CU_ASSERT_TRUE(err_has(fx, "is owned by nobody"));
    CU_ASSERT_TRUE(err_has(fx, "nothing changed"));
    CUNIT_ASSERT_NOT_CONTAINS(fx->err, "writable by group or others");
    rec = fx_audit_last(fx, 1);
    if (rec != NULL) {
        JsonObject *h
            = json_array_get_object_element(json_object_get_array_member(rec, "hooks"), 0);

        CU_ASSERT_TRUE(json_object_get_boolean_member(h, "refused"));
        CUNIT_ASSERT_CONTAINS(json_object_get_string_member(h, "output"), "is owned by nobody");
    }
    /* group-writable: that is what it says then */
    CU_ASSERT_EQUAL(chown(hook, 0, (gid_t)-1), 0);
    CU_ASSERT_EQUAL(chmod(hook, 0775), 0);
    CU_ASSERT_EQUAL(fx_run(fx, "set", "web1", "4"), 4);
    CU_ASSERT_TRUE(err_has(fx, "50_theirs is writable by group or others"));
    CU_ASSERT_FALSE(g_file_test(ran, G_FILE_TEST_EXISTS));
    fx_free(fx);
}

/* ---- 6: the audit log and the lock files ------------------------------------ */

/* set refused before anything: exit 3 (nothing changed), a sentence
 * holding @needle, and @victim (when given) untouched. */
static void
expect_refused_untouched(Fx *fx, const char *needle, const char *victim)
{
    g_autofree char *text = NULL;

    CU_ASSERT_EQUAL(fx_run(fx, "set", "web1", "4"), 3);
    CU_ASSERT_TRUE(err_has(fx, needle));
    if (victim != NULL && g_file_get_contents(victim, &text, NULL, NULL))
        CUNIT_ASSERT_STR(text, "precious\n");
}

static void
test_audit_symlink_refused(void)
{
    Fx *fx = fx_new();
    Dom d = { .name = "web1" };
    g_autofree char *victim = g_build_filename(fx->dir, "victim", NULL);
    g_autofree char *folder = g_path_get_dirname(fx->audit);

    fx_domain(fx, &d);
    g_assert(g_file_set_contents(victim, "precious\n", -1, NULL));
    g_assert(g_mkdir_with_parents(folder, 0750) == 0);
    g_assert(symlink(victim, fx->audit) == 0);
    expect_refused_untouched(fx, "audit log", victim);
    CU_ASSERT_TRUE(err_has(fx, "symbolic link"));
    CU_ASSERT_TRUE(err_has(fx, "nothing changed"));

    /* a folder others may write to (they could put a link there) */
    g_assert(unlink(fx->audit) == 0);
    g_assert(chmod(folder, 0777) == 0);
    expect_refused_untouched(fx, "is writable by group or others", NULL);
    CU_ASSERT_FALSE(g_file_test(fx->audit, G_FILE_TEST_EXISTS));
    g_assert(chmod(folder, 0750) == 0);
    if (need_root()) {
        struct passwd *nobody = getpwnam("nobody");

        CU_ASSERT_EQUAL_FATAL(chown(folder, nobody->pw_uid, (gid_t)-1), 0);
        expect_refused_untouched(fx, "is owned by nobody", NULL);
        CU_ASSERT_EQUAL(chown(folder, 0, (gid_t)-1), 0);
    }
    CU_ASSERT_EQUAL(fx_run(fx, "set", "web1", "4"), 0);
    fx_free(fx);
}

static void
test_lock_symlink_refused(void)
{
    Fx *fx = fx_new();
    Dom d = { .name = "web1" };
    g_autofree char *victim = g_build_filename(fx->dir, "victim", NULL);
    g_autofree char *absent = g_build_filename(fx->dir, "created-by-link", NULL);
    g_autofree char *lock = g_build_filename(fx->lock, UUID1 ".lock", NULL);

    fx_domain(fx, &d);
    g_assert(g_file_set_contents(victim, "precious\n", -1, NULL));
    g_assert(g_mkdir_with_parents(fx->lock, 0755) == 0);
    /* a dangling link would make open(O_CREAT) create its target */
    g_assert(symlink(absent, lock) == 0);
    expect_refused_untouched(fx, "lock file", NULL);
    CU_ASSERT_FALSE(g_file_test(absent, G_FILE_TEST_EXISTS));
    g_assert(unlink(lock) == 0);
    g_assert(symlink(victim, lock) == 0);
    expect_refused_untouched(fx, "symbolic link", victim);
    g_assert(unlink(lock) == 0);

    g_assert(chmod(fx->lock, 0777) == 0);
    expect_refused_untouched(fx, "is writable by group or others", NULL);
    g_assert(chmod(fx->lock, 0755) == 0);
    if (need_root()) {
        struct passwd *nobody = getpwnam("nobody");

        CU_ASSERT_EQUAL_FATAL(chown(fx->lock, nobody->pw_uid, (gid_t)-1), 0);
        expect_refused_untouched(fx, "is owned by nobody", NULL);
        CU_ASSERT_EQUAL(chown(fx->lock, 0, (gid_t)-1), 0);
    }
    CU_ASSERT_EQUAL(fx_run(fx, "set", "web1", "4"), 0);
    fx_free(fx);
}

/* ---- 5: an audit log that cannot be written ------------------------------- */

/* A before hook that leaves FX/hook-ran behind; returns that path. */
static char *
write_marker_hook(Fx *fx, const char *extra)
{
    char *ran = g_build_filename(fx->dir, "hook-ran", NULL);
    g_autofree char *script = g_strdup_printf("#!/bin/sh\ntouch '%s'\n%s\nexit 0\n", ran, extra);

    write_hook(fx, "before_set_num_of_cpus", "10_marker", script);
    return ran;
}

static void
test_audit_dev_full(void)
{
    Fx *fx = fx_new();
    Dom d = { .name = "web1" };
    g_autofree char *ran = write_marker_hook(fx, "");

    fx_domain(fx, &d);
    g_free(fx->audit);
    fx->audit = g_strdup("/dev/full");
    CU_ASSERT_EQUAL(fx_run(fx, "set", "web1", "4"), 3);
    CU_ASSERT_TRUE(err_has(fx, "audit"));
    CU_ASSERT_TRUE(err_has(fx, "/dev/full"));
    CU_ASSERT_TRUE(err_has(fx, "nothing changed"));
    CU_ASSERT_FALSE(g_file_test(ran, G_FILE_TEST_EXISTS)); /* not even the hooks ran */
    CU_ASSERT_EQUAL(fx_run(fx, "--json", "set", "web1", "4"), 3);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fx->json);
    CU_ASSERT_EQUAL(json_object_get_int_member(fx->json, "exit"), 3);
    CU_ASSERT_EQUAL(json_object_get_int_member(fx->json, "actual"), 2);
    fx_free(fx);
}

/* A 64 KiB tmpfs at FX/full, or FALSE (and a note) where we may not mount. */
static gboolean
small_fs_mount(Fx *fx, char **dir_out)
{
    g_autofree char *dir = g_build_filename(fx->dir, "full", NULL);

    g_assert(g_mkdir_with_parents(dir, 0755) == 0);
    if (mount("hotcpu-test", dir, "tmpfs", MS_NOSUID | MS_NODEV, "size=64k,mode=0755") < 0) {
        g_printerr("cannot mount a tmpfs on %s: %s\n", dir, g_strerror(errno));
        CU_FAIL("this test needs to mount a small tmpfs (root)");
        return FALSE;
    }
    *dir_out = g_steal_pointer(&dir);
    return TRUE;
}

static void
small_fs_umount(const char *dir)
{
    if (umount2(dir, MNT_DETACH) < 0)
        fprintf(stderr, "cannot unmount %s: %s\n", dir, g_strerror(errno));
}

/* Fills @dir's file system to the last page with FILLER. */
static void
small_fs_fill(const char *dir)
{
    g_autofree char *path = g_build_filename(dir, "filler", NULL);
    char page[4096] = { 0 };
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);

    g_assert(fd >= 0);
    while (write(fd, page, sizeof page) > 0)
        ;
    close(fd);
}

static gchar *
read_all(const char *path)
{
    gchar *text = NULL;

    g_assert(g_file_get_contents(path, &text, NULL, NULL));
    return text;
}

static void
test_audit_full_fs_attempt(void)
{
    Fx *fx = fx_new();
    Dom d = { .name = "web1" };
    g_autofree char *ran = write_marker_hook(fx, "");
    g_autofree char *fs = NULL;
    g_autofree char *before = NULL;
    g_autofree char *after = NULL;
    GString *old = g_string_new(NULL);

    fx_domain(fx, &d);
    if (!small_fs_mount(fx, &fs)) {
        g_string_free(old, TRUE);
        fx_free(fx);
        return;
    }
    /* Earlier records end 100 bytes short of a page: the next record
     * starts there and finds no page to go on with. */
    while (old->len + 21 + 12 <= 4096 - 100) /* 21: this line; 12: the shortest pad line */
        g_string_append(old, "{\"earlier\":\"record\"}\n");
    g_string_append_printf(old, "{\"pad\":\"%0*d\"}\n", (int)(4096 - 100 - old->len - 11), 0);
    g_free(fx->audit);
    fx->audit = g_build_filename(fs, "audit.log", NULL);
    g_assert(g_file_set_contents(fx->audit, old->str, -1, NULL));
    small_fs_fill(fs);
    before = read_all(fx->audit);
    CU_ASSERT_EQUAL(strlen(before), 4096 - 100);

    CU_ASSERT_EQUAL(fx_run(fx, "set", "web1", "4"), 3);
    CU_ASSERT_TRUE(err_has(fx, "audit"));
    CU_ASSERT_TRUE(err_has(fx, "nothing changed"));
    CU_ASSERT_FALSE(g_file_test(ran, G_FILE_TEST_EXISTS));
    after = read_all(fx->audit);
    CUNIT_ASSERT_STR(after, before); /* the half record was taken back */
    small_fs_umount(fs);
    g_string_free(old, TRUE);
    fx_free(fx);
}

static void
test_audit_full_fs_final(void)
{
    Fx *fx = fx_new();
    Dom d = { .name = "web1" };
    g_autofree char *fs = NULL;
    g_autofree char *ran = NULL;
    g_autofree char *fill = NULL;
    g_autoptr(GPtrArray) recs = NULL;

    fx_domain(fx, &d);
    if (!small_fs_mount(fx, &fs)) {
        fx_free(fx);
        return;
    }
    g_free(fx->audit);
    fx->audit = g_build_filename(fs, "audit.log", NULL);
    /* The hook runs after the attempt record: it fills the disk, and its
     * 5000 bytes of output make the final record longer than the room left
     * in the log's last page. */
    fill = g_strdup_printf("dd if=/dev/zero of='%s/filler' bs=4096 2>/dev/null\n"
                           "head -c 5000 /dev/zero | tr '\\0' x",
                           fs);
    ran = write_marker_hook(fx, fill);
    CU_ASSERT_EQUAL(fx_run(fx, "set", "web1", "4"), 0); /* changed: the code says so */
    CU_ASSERT_TRUE(g_file_test(ran, G_FILE_TEST_EXISTS));
    CU_ASSERT_TRUE(err_has(fx, "audit record"));
    recs = fx_audit_all(fx); /* every line whole */
    CU_ASSERT_EQUAL(recs->len, 1);
    if (recs->len == 1) {
        CUNIT_ASSERT_STR(json_object_get_string_member(recs->pdata[0], "outcome"), "attempt");
        CU_ASSERT_EQUAL(json_object_get_int_member(recs->pdata[0], "requested"), 4);
        CU_ASSERT_EQUAL(json_object_get_int_member(recs->pdata[0], "previous"), 2);
        CU_ASSERT_TRUE(json_object_get_null_member(recs->pdata[0], "exit"));
    }
    g_ptr_array_unref(g_steal_pointer(&recs));

    /* The next run: its attempt record fits where the cut one was, its
     * final record is cut again; nothing is glued onto a half line. */
    CU_ASSERT_EQUAL(fx_run(fx, "set", "web1", "4"), 0);
    recs = fx_audit_all(fx);
    CU_ASSERT_EQUAL(recs->len, 2);
    small_fs_umount(fs);
    fx_free(fx);
}

static void
test_audit_attempt_then_final(void)
{
    Fx *fx = fx_new();
    Dom d = { .name = "web1" };
    g_autoptr(GPtrArray) recs = NULL;

    fx_domain(fx, &d);
    CU_ASSERT_EQUAL(fx_run(fx, "set", "web1", "4"), 0);
    CU_ASSERT_EQUAL(fx_run(fx, "set", "web1", "9"), 3); /* refused by a check: no attempt */
    recs = fx_audit_all(fx);
    CU_ASSERT_EQUAL_FATAL(recs->len, 3);
    CUNIT_ASSERT_STR(json_object_get_string_member(recs->pdata[0], "outcome"), "attempt");
    CU_ASSERT_EQUAL(json_object_get_int_member(recs->pdata[0], "requested"), 4);
    CUNIT_ASSERT_STR(json_object_get_string_member(recs->pdata[1], "outcome"), "done");
    CUNIT_ASSERT_STR(json_object_get_string_member(recs->pdata[2], "outcome"), "refused");
    fx_free(fx);
}

/* ---- main ------------------------------------------------------------------ */

static void
register_guest_text_suite(void)
{
    static const CunitTest tests[] = {
        { "agent error text escaped and capped", test_guest_text_escaped },
        { "bad topology text escaped", test_guest_topology_escaped },
        { NULL, NULL },
    };

    cunit_add_suite("guest_text", tests);
}

static void
register_hooks_suite(void)
{
    static const CunitTest tests[] = {
        { "hooks get only the allow-listed environment", test_hook_environment },
        { "a hook owned by someone else is refused, and says so", test_hook_owner_refused },
        { "the domain XML file is private and holds no secret", test_hook_domxml_private },
        { NULL, NULL },
    };

    cunit_add_suite("hooks", tests);
}

static void
register_files_suite(void)
{
    static const CunitTest tests[] = {
        { "audit log: no symlink, a trusted folder", test_audit_symlink_refused },
        { "lock file: no symlink, a trusted folder", test_lock_symlink_refused },
        { "audit log /dev/full: refused, nothing ran", test_audit_dev_full },
        { "audit log on a full disk: the attempt is taken back", test_audit_full_fs_attempt },
        { "audit log fills up during the change: no half record", test_audit_full_fs_final },
        { "an attempt record, then the final one", test_audit_attempt_then_final },
        { NULL, NULL },
    };

    cunit_add_suite("files", tests);
}

static const CunitSuite suites[] = {
    { "guest_text", register_guest_text_suite },
    { "hooks", register_hooks_suite },
    { "files", register_files_suite },
    { NULL, NULL },
};

int
main(int argc, char **argv)
{
    if (!fx_init())
        return 1;
    return cunit_run(argc, argv, suites);
}
