/* test_hook_runner.c: the hook runner against temp hook folders holding tiny
 * shell scripts.  The scripts report back through files in a scratch folder;
 * add_hook writes its path into each script as $HOOKTEST_DIR (hooks do not
 * inherit our environment). */
#include "config.h"

#include "cunit_runner.h"
#include "hook_runner.h"
#include "trusted_dir.h"

#include <CUnit/Basic.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BEFORE "before_set_num_of_cpus"
#define AFTER "after_set_num_of_cpus"

/* ---- fixtures ------------------------------------------------------------ */

static char *scratch; /* $HOOKTEST_DIR, fresh per test */

static int
remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    remove(path);
    return 0;
}

static void
rm_rf(const char *path)
{
    nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static char *
make_tmp(void)
{
    char *dir = g_dir_make_tmp("hotcpu-hooktest-XXXXXX", NULL);

    g_assert(dir != NULL);
    chmod(dir, 0755);
    return dir;
}

static void
setup(void)
{
    scratch = make_tmp();
}

static void
teardown(void)
{
    rm_rf(scratch);
    g_clear_pointer(&scratch, g_free);
}

/* Writes ROOT/PHASE/NAME as "#!/bin/sh\nHOOKTEST_DIR=...\nBODY" with exactly
 * @mode. */
static char *
add_hook(const char *root, const char *phase, const char *name, const char *body, mode_t mode)
{
    g_autofree char *dir = g_build_filename(root, phase, NULL);
    char *path = g_build_filename(dir, name, NULL);
    g_autofree char *text = g_strdup_printf("#!/bin/sh\nHOOKTEST_DIR='%s'\n%s\n", scratch, body);

    if (g_mkdir_with_parents(dir, 0755) < 0 || chmod(dir, 0755) < 0)
        g_error("cannot create %s: %s", dir, g_strerror(errno));
    if (!g_file_set_contents(path, text, -1, NULL) || chmod(path, mode) < 0)
        g_error("cannot write %s", path);
    return path;
}

static char *
scratch_path(const char *name)
{
    return g_build_filename(scratch, name, NULL);
}

static gboolean
scratch_exists(const char *name)
{
    g_autofree char *path = scratch_path(name);

    return g_file_test(path, G_FILE_TEST_EXISTS);
}

static char *
scratch_read(const char *name)
{
    g_autofree char *path = scratch_path(name);
    char *text = NULL;

    if (!g_file_get_contents(path, &text, NULL, NULL))
        return NULL;
    return text;
}

static const HookEnv default_env = {
    .domxml_path = "/tmp/dom.xml",
    .vm_id = "c7a5fdbd-cdaf-9455-926a-d65c16db1809",
    .vm_name = "web1",
    .number_of_cpus = 2,
    .previous_number_of_cpus = 4,
    .agent_socket = "/run/hotcpu/web1.sock",
    .libvirt_uri = "test:///default",
    .outcome = "done",
};

typedef struct {
    GPtrArray *results;
    gboolean ok;
    gboolean stopped;
} Run;

static Run
run_roots(char **roots, HookPhase phase, guint timeout_s)
{
    Run run = { g_ptr_array_new_with_free_func((GDestroyNotify)hook_result_free), FALSE, TRUE };

    run.ok = hooks_run(roots, phase, &default_env, timeout_s, run.results, &run.stopped);
    return run;
}

static Run
run_one_root(const char *root, HookPhase phase, guint timeout_s)
{
    char *roots[] = { (char *)root, NULL };

    return run_roots(roots, phase, timeout_s);
}

static const HookResult *
result_at(const Run *run, guint i)
{
    return run->results->pdata[i];
}

/* TRUE when @pid is gone or a zombie (dead, waiting for whoever adopted it
 * to reap it), waiting up to 3 s for the SIGKILL to land. */
static gboolean
process_dead(pid_t pid)
{
    for (int i = 0; i < 300; i++) {
        g_autofree char *stat_path = g_strdup_printf("/proc/%d/stat", pid);
        g_autofree char *text = NULL;
        const char *paren;

        if (!g_file_get_contents(stat_path, &text, NULL, NULL))
            return TRUE;
        paren = strrchr(text, ')');
        if (paren != NULL && (paren[2] == 'Z' || paren[2] == 'X'))
            return TRUE;
        g_usleep(10 * 1000);
    }
    return FALSE;
}

static pid_t
scratch_pid(const char *name)
{
    g_autofree char *text = NULL;

    /* The hook writes it in the background; give it a moment. */
    for (int i = 0; i < 200 && text == NULL; i++) {
        text = scratch_read(name);
        if (text == NULL || strchr(text, '\n') == NULL) {
            g_clear_pointer(&text, g_free);
            g_usleep(10 * 1000);
        }
    }
    return text != NULL ? (pid_t)g_ascii_strtoll(text, NULL, 10) : 0;
}

/* ---- ordering ------------------------------------------------------------- */

/* A hook body logging @name (the name is given: hooks need not parse $0). */
#define LOG_AS(name) "echo " name " >> \"$HOOKTEST_DIR/log\""

static void
test_order_lexical_across_roots(void)
{
    g_autofree char *root1 = make_tmp();
    g_autofree char *root2 = make_tmp();
    g_autofree char *target = NULL;
    g_autofree char *link = NULL;
    g_autofree char *sub = NULL;
    g_autofree char *text = NULL;
    Run run;

    g_free(add_hook(root1, BEFORE, "50_b", LOG_AS("50_b"), 0755));
    g_free(add_hook(root1, BEFORE, "10_a", LOG_AS("10_a"), 0755));
    g_free(add_hook(root1, BEFORE, "Z_upper", LOG_AS("Z_upper"), 0755)); /* 'Z' < 'a' in strcmp */
    g_free(add_hook(root1, BEFORE, "a_lower", LOG_AS("a_lower"), 0755));
    g_free(add_hook(root1, BEFORE, "9", LOG_AS("9"), 0755)); /* "9" > "50_b": not numeric order */
    g_free(add_hook(root1, BEFORE, ".hidden", LOG_AS(".hidden"), 0755));
    g_free(add_hook(root1, BEFORE, "60_not_executable", LOG_AS("60_not_executable"), 0644));
    g_free(add_hook(root1, AFTER, "00_other_phase", LOG_AS("00_other_phase"), 0755));
    sub = g_build_filename(root1, BEFORE, "70_folder", NULL);
    CU_ASSERT_EQUAL(mkdir(sub, 0755), 0);
    target = add_hook(scratch, "targets", "real", LOG_AS("55_link"), 0755);
    link = g_build_filename(root1, BEFORE, "55_link", NULL);
    CU_ASSERT_EQUAL(symlink(target, link), 0);
    g_free(add_hook(root2, BEFORE, "01_second_root", LOG_AS("01_second_root"), 0755));

    {
        char *roots[] = { root1, root2, NULL };

        run = run_roots(roots, HOOK_PHASE_BEFORE, 10);
    }
    text = scratch_read("log");
    CU_ASSERT_STRING_EQUAL(text, "10_a\n50_b\n55_link\n9\nZ_upper\na_lower\n01_second_root\n");
    CU_ASSERT_TRUE(run.ok);
    CU_ASSERT_FALSE(run.stopped);
    CU_ASSERT_EQUAL(run.results->len, 7);
    if (run.results->len == 7) {
        g_autofree char *first = g_build_filename(root1, BEFORE, "10_a", NULL);
        g_autofree char *last = g_build_filename(root2, BEFORE, "01_second_root", NULL);

        CU_ASSERT_STRING_EQUAL(result_at(&run, 0)->path, first);
        CU_ASSERT_STRING_EQUAL(result_at(&run, 6)->path, last);
        for (guint i = 0; i < 7; i++) {
            CU_ASSERT_EQUAL(result_at(&run, i)->exit_code, 0);
            CU_ASSERT_FALSE(result_at(&run, i)->refused);
            CU_ASSERT_FALSE(result_at(&run, i)->timed_out);
        }
    }
    g_ptr_array_unref(run.results);

    /* The after phase runs only its own folder. */
    g_free(text);
    {
        g_autofree char *log_path = scratch_path("log");

        remove(log_path);
    }
    run = run_one_root(root1, HOOK_PHASE_AFTER, 10);
    text = scratch_read("log");
    CU_ASSERT_STRING_EQUAL(text, "00_other_phase\n");
    CU_ASSERT_EQUAL(run.results->len, 1);
    g_ptr_array_unref(run.results);

    rm_rf(root1);
    rm_rf(root2);
}

/* ---- environment ---------------------------------------------------------- */

/* Reads the NUL-separated `env -0` dump @name of the scratch folder. */
static void
read_env_dump(const char *name, GHashTable *vars)
{
    g_autofree char *path = scratch_path(name);
    g_autofree char *text = NULL;
    gsize len = 0;

    CU_ASSERT_FATAL(g_file_get_contents(path, &text, &len, NULL));
    for (gsize pos = 0; pos < len; pos += strlen(text + pos) + 1) {
        const char *eq = strchr(text + pos, '=');

        if (eq != NULL)
            g_hash_table_insert(vars, g_strndup(text + pos, (gsize)(eq - (text + pos))),
                                g_strdup(eq + 1));
    }
}

/* Nothing in @vars but the contract's variables, PATH, LANG, LC_*, TZ and
 * what the shell itself adds (PWD, SHLVL, _, our HOOKTEST_DIR). */
static void
assert_only_allowed(GHashTable *vars)
{
    const char *allowed[] = { "_hook_domxml",
                              "vmId",
                              "vmName",
                              "numberOfCpus",
                              "previousNumberOfCpus",
                              "HOTCPU_AGENT_SOCKET",
                              "LIBVIRT_DEFAULT_URI",
                              "PATH",
                              "LANG",
                              "LC_TIME",
                              "TZ",
                              "PWD",
                              "SHLVL",
                              "_",
                              "HOOKTEST_DIR",
                              NULL };
    GHashTableIter it;
    gpointer key;

    g_hash_table_iter_init(&it, vars);
    while (g_hash_table_iter_next(&it, &key, NULL)) {
        gboolean known = g_strv_contains(allowed, key) || g_str_has_prefix(key, "LC_");

        if (!known)
            fprintf(stderr, "\nhook saw %s\n", (const char *)key);
        CU_ASSERT_TRUE(known);
    }
}

static void
test_environment(void)
{
    g_autofree char *root = make_tmp();
    g_autofree char *stdin_text = NULL;
    g_auto(GStrv) lines = NULL;
    g_autoptr(GHashTable) vars = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    int leak = open("/dev/null", O_RDONLY); /* deliberately without O_CLOEXEC */
    Run run;

    g_assert(leak >= 0);
    CU_ASSERT_EQUAL(dup2(leak, 57), 57);
    close(leak);
    g_setenv("HOOKTEST_CALLER", "inherited value", TRUE);
    g_setenv("FOO_SECRET", "hunter2", TRUE);
    g_setenv("LD_PRELOAD", "/nonexistent/evil.so", TRUE);
    g_setenv("vmName", "stale caller value", TRUE);
    g_setenv("HOTCPU_OUTCOME", "stale caller value", TRUE);
    g_setenv("LANG", "C.UTF-8", TRUE);
    g_setenv("LC_TIME", "C", TRUE);
    g_setenv("TZ", "UTC", TRUE);

    g_free(add_hook(root, BEFORE, "10_env",
                    "env -0 > \"$HOOKTEST_DIR/env\"\n"
                    "readlink /proc/$$/fd/0 > \"$HOOKTEST_DIR/stdin\"\n"
                    "if [ -e /proc/$$/fd/57 ]; then touch \"$HOOKTEST_DIR/leaked\"; fi",
                    0755));
    run = run_one_root(root, HOOK_PHASE_BEFORE, 10);
    close(57);
    g_unsetenv("HOOKTEST_CALLER");
    g_unsetenv("FOO_SECRET");
    g_unsetenv("LD_PRELOAD");
    g_unsetenv("vmName");
    g_unsetenv("HOTCPU_OUTCOME");
    g_unsetenv("LC_TIME");
    g_unsetenv("TZ");

    CU_ASSERT_TRUE(run.ok);
    CU_ASSERT_EQUAL(run.results->len, 1);
    g_ptr_array_unref(run.results);

    read_env_dump("env", vars);
    CUNIT_ASSERT_STR(g_hash_table_lookup(vars, "_hook_domxml"), "/tmp/dom.xml");
    CUNIT_ASSERT_STR(g_hash_table_lookup(vars, "vmId"), "c7a5fdbd-cdaf-9455-926a-d65c16db1809");
    CUNIT_ASSERT_STR(g_hash_table_lookup(vars, "vmName"), "web1");
    CUNIT_ASSERT_STR(g_hash_table_lookup(vars, "numberOfCpus"), "2");
    CUNIT_ASSERT_STR(g_hash_table_lookup(vars, "previousNumberOfCpus"), "4");
    CUNIT_ASSERT_STR(g_hash_table_lookup(vars, "HOTCPU_AGENT_SOCKET"), "/run/hotcpu/web1.sock");
    CUNIT_ASSERT_STR(g_hash_table_lookup(vars, "LIBVIRT_DEFAULT_URI"), "test:///default");
    /* only the allow-list of ours: PATH, LANG, LC_*, TZ */
    CU_ASSERT_PTR_NOT_NULL(g_hash_table_lookup(vars, "PATH"));
    CUNIT_ASSERT_STR(g_hash_table_lookup(vars, "LANG"), "C.UTF-8");
    CUNIT_ASSERT_STR(g_hash_table_lookup(vars, "LC_TIME"), "C");
    CUNIT_ASSERT_STR(g_hash_table_lookup(vars, "TZ"), "UTC");
    CU_ASSERT_PTR_NULL(g_hash_table_lookup(vars, "HOOKTEST_CALLER"));
    CU_ASSERT_PTR_NULL(g_hash_table_lookup(vars, "FOO_SECRET"));
    CU_ASSERT_PTR_NULL(g_hash_table_lookup(vars, "LD_PRELOAD"));
    CU_ASSERT_PTR_NULL(g_hash_table_lookup(vars, "HOTCPU_OUTCOME")); /* after hooks only */
    assert_only_allowed(vars);

    stdin_text = scratch_read("stdin");
    CU_ASSERT_STRING_EQUAL(stdin_text, "/dev/null\n");
    CU_ASSERT_FALSE(scratch_exists("leaked"));

    rm_rf(root);
}

static void
test_environment_no_socket(void)
{
    g_autofree char *root = make_tmp();
    g_autofree char *text = NULL;
    g_autoptr(GPtrArray) results = g_ptr_array_new_with_free_func((GDestroyNotify)hook_result_free);
    HookEnv env = default_env;
    char *roots[] = { root, NULL };
    gboolean stopped = TRUE;

    g_autofree char *saved_path = g_strdup(g_getenv("PATH"));

    env.agent_socket = NULL;
    env.libvirt_uri = NULL;
    env.number_of_cpus = 8;
    env.previous_number_of_cpus = 1;
    g_free(add_hook(root, AFTER, "10_env",
                    "echo \"${HOTCPU_AGENT_SOCKET-unset}|$numberOfCpus|$previousNumberOfCpus|"
                    "${LIBVIRT_DEFAULT_URI-unset}|${HOTCPU_OUTCOME-unset}|$PATH\" "
                    "> \"$HOOKTEST_DIR/env\"",
                    0755));
    g_unsetenv("PATH"); /* the hooks get a safe default */
    CU_ASSERT_TRUE(hooks_run(roots, HOOK_PHASE_AFTER, &env, 10, results, &stopped));
    g_setenv("PATH", saved_path, TRUE);
    CU_ASSERT_FALSE(stopped);
    text = scratch_read("env");
    /* set, empty; the outcome in the after phase */
    CU_ASSERT_STRING_EQUAL(text, "|8|1||done|/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:"
                                 "/sbin:/bin\n");
    rm_rf(root);
}

/* ---- exit codes ----------------------------------------------------------- */

static void
test_exit_codes(void)
{
    g_autofree char *root = make_tmp();
    Run run;

    g_free(add_hook(root, BEFORE, "10_ok", "exit 0", 0755));
    g_free(add_hook(root, BEFORE, "20_fail", "touch \"$HOOKTEST_DIR/20\"; exit 1", 0755));
    g_free(add_hook(root, BEFORE, "30_three", "touch \"$HOOKTEST_DIR/30\"; exit 3", 0755));
    g_free(add_hook(root, BEFORE, "40_signal", "touch \"$HOOKTEST_DIR/40\"; kill -KILL $$", 0755));
    g_free(add_hook(root, BEFORE, "45_ok", "touch \"$HOOKTEST_DIR/45\"; exit 0", 0755));
    g_free(add_hook(root, BEFORE, "50_stop", "touch \"$HOOKTEST_DIR/50\"; exit 2", 0755));
    g_free(add_hook(root, BEFORE, "60_never", "touch \"$HOOKTEST_DIR/60\"", 0755));

    run = run_one_root(root, HOOK_PHASE_BEFORE, 10);
    CU_ASSERT_FALSE(run.ok);
    CU_ASSERT_TRUE(run.stopped);
    CU_ASSERT_FATAL(run.results->len == 6);
    CU_ASSERT_EQUAL(result_at(&run, 0)->exit_code, 0);
    CU_ASSERT_EQUAL(result_at(&run, 1)->exit_code, 1);
    CU_ASSERT_EQUAL(result_at(&run, 2)->exit_code, 3);
    CU_ASSERT_EQUAL(result_at(&run, 3)->exit_code, -1); /* killed by a signal */
    CU_ASSERT_FALSE(result_at(&run, 3)->timed_out);
    CU_ASSERT_EQUAL(result_at(&run, 4)->exit_code, 0);
    CU_ASSERT_EQUAL(result_at(&run, 5)->exit_code, 2);
    /* 1, 3 and a signal went on to the next hook; 2 stopped the chain. */
    CU_ASSERT_TRUE(scratch_exists("20"));
    CU_ASSERT_TRUE(scratch_exists("30"));
    CU_ASSERT_TRUE(scratch_exists("40"));
    CU_ASSERT_TRUE(scratch_exists("45"));
    CU_ASSERT_TRUE(scratch_exists("50"));
    CU_ASSERT_FALSE(scratch_exists("60"));
    g_ptr_array_unref(run.results);
    rm_rf(root);
}

static void
test_exit_one_continues(void)
{
    g_autofree char *root = make_tmp();
    Run run;

    g_free(add_hook(root, AFTER, "10_fail", "exit 1", 0755));
    g_free(add_hook(root, AFTER, "20_three", "exit 3", 0755));
    g_free(add_hook(root, AFTER, "30_next", "touch \"$HOOKTEST_DIR/30\"", 0755));
    run = run_one_root(root, HOOK_PHASE_AFTER, 10);
    CU_ASSERT_FALSE(run.ok);
    CU_ASSERT_FALSE(run.stopped); /* failed, but nothing stopped the chain */
    CU_ASSERT_EQUAL(run.results->len, 3);
    CU_ASSERT_TRUE(scratch_exists("30"));
    g_ptr_array_unref(run.results);
    rm_rf(root);
}

static void
test_exit_two_stops_later_roots(void)
{
    g_autofree char *root1 = make_tmp();
    g_autofree char *root2 = make_tmp();
    char *roots[] = { root1, root2, NULL };
    Run run;

    g_free(add_hook(root1, BEFORE, "99_stop", "exit 2", 0755));
    g_free(add_hook(root2, BEFORE, "00_never", "touch \"$HOOKTEST_DIR/never\"", 0755));
    run = run_roots(roots, HOOK_PHASE_BEFORE, 10);
    CU_ASSERT_FALSE(run.ok);
    CU_ASSERT_TRUE(run.stopped);
    CU_ASSERT_EQUAL(run.results->len, 1);
    CU_ASSERT_FALSE(scratch_exists("never"));
    g_ptr_array_unref(run.results);
    rm_rf(root1);
    rm_rf(root2);
}

static void
test_not_startable(void)
{
    g_autofree char *root = make_tmp();
    g_autofree char *dir = g_build_filename(root, BEFORE, NULL);
    g_autofree char *path = g_build_filename(dir, "10_bad_interpreter", NULL);
    Run run;

    g_mkdir_with_parents(dir, 0755);
    CU_ASSERT_FATAL(g_file_set_contents(path, "#!/nonexistent/interpreter\n", -1, NULL));
    chmod(path, 0755);
    g_free(add_hook(root, BEFORE, "20_next", "touch \"$HOOKTEST_DIR/next\"", 0755));
    run = run_one_root(root, HOOK_PHASE_BEFORE, 10);
    CU_ASSERT_FALSE(run.ok);
    CU_ASSERT_FALSE(run.stopped);
    CU_ASSERT_FATAL(run.results->len == 2);
    CU_ASSERT_EQUAL(result_at(&run, 0)->exit_code, -1);
    CU_ASSERT_FALSE(result_at(&run, 0)->refused);
    CUNIT_ASSERT_CONTAINS(result_at(&run, 0)->output, "10_bad_interpreter");
    CU_ASSERT_TRUE(scratch_exists("next"));
    g_ptr_array_unref(run.results);
    rm_rf(root);
}

/* ---- timeouts and process groups ------------------------------------------ */

static void
test_timeout_kills_group(void)
{
    g_autofree char *root = make_tmp();
    pid_t grandchild;
    pid_t hook_pid;
    Run run;

    g_free(add_hook(root, BEFORE, "10_hang",
                    "sleep 1000 &\n"
                    "echo $! > \"$HOOKTEST_DIR/grandchild\"\n"
                    "echo $$ > \"$HOOKTEST_DIR/hook\"\n"
                    "echo started\n"
                    "sleep 1000",
                    0755));
    g_free(add_hook(root, BEFORE, "20_next", "touch \"$HOOKTEST_DIR/next\"", 0755));
    run = run_one_root(root, HOOK_PHASE_BEFORE, 1);
    CU_ASSERT_FALSE(run.ok);
    CU_ASSERT_FALSE(run.stopped); /* a timeout counts as 1: the chain goes on */
    CU_ASSERT_FATAL(run.results->len == 2);
    CU_ASSERT_TRUE(result_at(&run, 0)->timed_out);
    CU_ASSERT_EQUAL(result_at(&run, 0)->exit_code, -1);
    CU_ASSERT(result_at(&run, 0)->seconds >= 0.9 && result_at(&run, 0)->seconds < 5.0);
    CUNIT_ASSERT_CONTAINS(result_at(&run, 0)->output, "started\n");
    CU_ASSERT_EQUAL(result_at(&run, 1)->exit_code, 0);
    CU_ASSERT_TRUE(scratch_exists("next"));

    grandchild = scratch_pid("grandchild");
    hook_pid = scratch_pid("hook");
    CU_ASSERT_FATAL(grandchild > 0 && hook_pid > 0);
    CU_ASSERT_TRUE(process_dead(hook_pid));
    CU_ASSERT_TRUE(process_dead(grandchild));
    g_ptr_array_unref(run.results);
    rm_rf(root);
}

static void
test_background_child_does_not_hang(void)
{
    g_autofree char *root = make_tmp();
    pid_t grandchild;
    Run run;

    /* Exits at once but leaves a child holding stdout open. */
    g_free(add_hook(root, AFTER, "10_leaves_child",
                    "sleep 1000 &\n"
                    "echo $! > \"$HOOKTEST_DIR/grandchild\"\n"
                    "echo bye\n"
                    "exit 0",
                    0755));
    run = run_one_root(root, HOOK_PHASE_AFTER, 20);
    CU_ASSERT_TRUE(run.ok);
    CU_ASSERT_FATAL(run.results->len == 1);
    CU_ASSERT_EQUAL(result_at(&run, 0)->exit_code, 0);
    CU_ASSERT_FALSE(result_at(&run, 0)->timed_out);
    CU_ASSERT(result_at(&run, 0)->seconds < 5.0);
    CU_ASSERT_STRING_EQUAL(result_at(&run, 0)->output, "bye\n");
    grandchild = scratch_pid("grandchild");
    CU_ASSERT_FATAL(grandchild > 0);
    CU_ASSERT_TRUE(process_dead(grandchild));
    g_ptr_array_unref(run.results);
    rm_rf(root);
}

/* ---- permissions ---------------------------------------------------------- */

static void
check_refused(const char *root, HookPhase phase, guint expected_results, const char *marker)
{
    Run run = run_one_root(root, phase, 10);

    CU_ASSERT_FALSE(run.ok);
    CU_ASSERT_FALSE(run.stopped);
    CU_ASSERT_EQUAL(run.results->len, expected_results);
    for (guint i = 0; i < run.results->len; i++) {
        const HookResult *r = result_at(&run, i);

        CU_ASSERT_TRUE(r->refused);
        CU_ASSERT_EQUAL(r->exit_code, -1);
        CU_ASSERT_FALSE(r->timed_out);
        CUNIT_ASSERT_CONTAINS(r->output, "writable by group or others");
    }
    CU_ASSERT_FALSE(scratch_exists(marker));
    g_ptr_array_unref(run.results);
}

static void
test_refuse_writable_file(void)
{
    g_autofree char *root = make_tmp();
    g_autofree char *g_path = NULL;
    g_autofree char *o_path = NULL;
    Run run;

    g_path = add_hook(root, BEFORE, "10_group", "touch \"$HOOKTEST_DIR/ran\"", 0775);
    check_refused(root, HOOK_PHASE_BEFORE, 1, "ran");
    chmod(g_path, 0757);
    check_refused(root, HOOK_PHASE_BEFORE, 1, "ran");

    /* Refused hooks fail the chain but do not stop it; safe neighbours run. */
    chmod(g_path, 0775);
    o_path = add_hook(root, BEFORE, "20_fine", "touch \"$HOOKTEST_DIR/fine\"", 0755);
    run = run_one_root(root, HOOK_PHASE_BEFORE, 10);
    CU_ASSERT_FALSE(run.ok);
    CU_ASSERT_FALSE(run.stopped);
    CU_ASSERT_FATAL(run.results->len == 2);
    CU_ASSERT_TRUE(result_at(&run, 0)->refused);
    CU_ASSERT_FALSE(result_at(&run, 1)->refused);
    CU_ASSERT_EQUAL(result_at(&run, 1)->exit_code, 0);
    CU_ASSERT_TRUE(scratch_exists("fine"));
    CU_ASSERT_FALSE(scratch_exists("ran"));
    g_ptr_array_unref(run.results);

    /* A group-writable file that is not executable is not a hook at all. */
    chmod(g_path, 0664);
    run = run_one_root(root, HOOK_PHASE_BEFORE, 10);
    CU_ASSERT_TRUE(run.ok);
    CU_ASSERT_EQUAL(run.results->len, 1);
    g_ptr_array_unref(run.results);
    rm_rf(root);
}

static void
test_refuse_writable_folders(void)
{
    g_autofree char *root = make_tmp();
    g_autofree char *phase_dir = g_build_filename(root, AFTER, NULL);

    g_free(add_hook(root, AFTER, "10_a", "touch \"$HOOKTEST_DIR/ran\"", 0755));
    g_free(add_hook(root, AFTER, "20_b", "touch \"$HOOKTEST_DIR/ran\"", 0755));

    chmod(phase_dir, 0775);
    check_refused(root, HOOK_PHASE_AFTER, 2, "ran");
    chmod(phase_dir, 0757);
    check_refused(root, HOOK_PHASE_AFTER, 2, "ran");
    chmod(phase_dir, 0755);

    chmod(root, 0775);
    check_refused(root, HOOK_PHASE_AFTER, 2, "ran");
    chmod(root, 0757);
    check_refused(root, HOOK_PHASE_AFTER, 2, "ran");
    chmod(root, 0755);

    {
        Run run = run_one_root(root, HOOK_PHASE_AFTER, 10);

        CU_ASSERT_TRUE(run.ok);
        CU_ASSERT_EQUAL(run.results->len, 2);
        CU_ASSERT_TRUE(scratch_exists("ran"));
        g_ptr_array_unref(run.results);
    }
    rm_rf(root);
}

/* ---- ownership and what runs ---------------------------------------------- */

/* Root only: files and folders owned by someone else need chown. */
static gboolean
need_root(void)
{
    if (geteuid() == 0)
        return TRUE;
    /* A test that cannot run fails: a skip must not count as a pass. */
    CU_FAIL("this test needs root (it chowns test files to nobody)");
    return FALSE;
}

static uid_t
nobody_uid(void)
{
    struct passwd *pw = getpwnam("nobody");

    return pw != NULL ? pw->pw_uid : 65534;
}

/* One run of @root's before hooks: the single hook is refused with a reason
 * holding @needle, and did not run. */
static void
check_refused_because(const char *root, const char *needle)
{
    Run run = run_one_root(root, HOOK_PHASE_BEFORE, 10);

    CU_ASSERT_FALSE(run.ok);
    CU_ASSERT_FATAL(run.results->len == 1);
    CU_ASSERT_TRUE(result_at(&run, 0)->refused);
    CU_ASSERT_EQUAL(result_at(&run, 0)->exit_code, -1);
    CUNIT_ASSERT_CONTAINS(result_at(&run, 0)->output, needle);
    CUNIT_ASSERT_CONTAINS(result_at(&run, 0)->refusal, needle);
    CU_ASSERT_FALSE(scratch_exists("ran"));
    g_ptr_array_unref(run.results);
}

static void
test_refuse_foreign_owner(void)
{
    g_autofree char *root = make_tmp();
    g_autofree char *dir = g_build_filename(root, BEFORE, NULL);
    g_autofree char *path = NULL;
    uid_t nobody = nobody_uid();

    if (!need_root())
        return;
    path = add_hook(root, BEFORE, "10_foreign", "touch \"$HOOKTEST_DIR/ran\"", 0755);
    CU_ASSERT_EQUAL_FATAL(chown(path, nobody, (gid_t)-1), 0);
    check_refused_because(root, "the hook ");
    check_refused_because(root, "is owned by nobody");
    CU_ASSERT_EQUAL(chown(path, 0, (gid_t)-1), 0);

    CU_ASSERT_EQUAL(chown(dir, nobody, (gid_t)-1), 0);
    check_refused_because(root, "the hooks folder ");
    check_refused_because(root, BEFORE " is owned by nobody");
    CU_ASSERT_EQUAL(chown(dir, 0, (gid_t)-1), 0);

    CU_ASSERT_EQUAL(chown(root, nobody, (gid_t)-1), 0);
    check_refused_because(root, "is owned by nobody");
    CU_ASSERT_EQUAL(chown(root, 0, (gid_t)-1), 0);

    /* back to root's: it runs */
    {
        Run run = run_one_root(root, HOOK_PHASE_BEFORE, 10);

        CU_ASSERT_TRUE(run.ok);
        CU_ASSERT_TRUE(scratch_exists("ran"));
        g_ptr_array_unref(run.results);
    }
    rm_rf(root);
}

static void
test_refuse_link_out(void)
{
    g_autofree char *root = make_tmp();
    g_autofree char *sticky = scratch_path("sticky");
    g_autofree char *phase_dir = g_build_filename(root, BEFORE, NULL);
    g_autofree char *link = g_build_filename(phase_dir, "10_link", NULL);
    g_autofree char *theirs = NULL;
    g_autofree char *ours = NULL;

    if (!need_root())
        return;
    /* a world-writable sticky folder, as /tmp, holding someone else's script */
    CU_ASSERT_EQUAL_FATAL(mkdir(sticky, 0755), 0);
    CU_ASSERT_EQUAL(chmod(sticky, 01777), 0);
    theirs = add_hook(scratch, "sticky", "theirs", "touch \"$HOOKTEST_DIR/ran\"", 0755);
    chmod(sticky, 01777); /* add_hook made it 0755 */
    CU_ASSERT_EQUAL_FATAL(chown(theirs, nobody_uid(), (gid_t)-1), 0);
    CU_ASSERT_EQUAL_FATAL(g_mkdir_with_parents(phase_dir, 0755), 0);
    CU_ASSERT_EQUAL_FATAL(symlink(theirs, link), 0);
    check_refused_because(root, "is owned by nobody");

    /* root's own file there: the folder lets anyone replace it next time */
    ours = add_hook(scratch, "sticky", "ours", "touch \"$HOOKTEST_DIR/ran\"", 0755);
    chmod(sticky, 01777);
    CU_ASSERT_EQUAL(unlink(link), 0);
    CU_ASSERT_EQUAL_FATAL(symlink(ours, link), 0);
    check_refused_because(root, "sticky is writable by group or others");
    rm_rf(root);
}

static void
test_runs_by_path(void)
{
    g_autofree char *root = make_tmp();
    g_autofree char *text = NULL;
    g_autofree char *want = NULL;
    g_autofree char *hook = NULL;
    Run run;

    /* Started by the path the listing gave, as VDSM does: $0 names the
     * hook (issue 20; with fexecve it was /dev/fd/N). */
    hook = add_hook(root, BEFORE, "10_where", "echo \"$0\" > \"$HOOKTEST_DIR/zero\"", 0755);
    run = run_one_root(root, HOOK_PHASE_BEFORE, 10);
    CU_ASSERT_TRUE(run.ok);
    text = scratch_read("zero");
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    want = g_strdup_printf("%s\n", hook);
    CUNIT_ASSERT_STR(text, want);
    g_ptr_array_unref(run.results);
    rm_rf(root);
}

/* trusted_path_reason walks a path as the kernel resolves it: "..",
 * relative and absolute links, loops; what it refuses names the folder. */
static void
test_trusted_path_walk(void)
{
    g_autofree char *root = make_tmp();
    g_autofree char *file = g_build_filename(root, "a", "file", NULL);
    g_autofree char *dotdot = g_build_filename(root, "a", "..", "a", ".", "file", NULL);
    g_autofree char *a = g_build_filename(root, "a", NULL);
    g_autofree char *open_dir = g_build_filename(root, "open", NULL);
    g_autofree char *in_open = g_build_filename(open_dir, "file", NULL);
    g_autofree char *rel_link = g_build_filename(a, "rel", NULL);
    g_autofree char *abs_link = g_build_filename(a, "abs", NULL);
    g_autofree char *loop1 = g_build_filename(a, "loop1", NULL);
    g_autofree char *loop2 = g_build_filename(a, "loop2", NULL);
    g_autofree char *missing = g_build_filename(a, "missing", "file", NULL);
    g_autofree char *why = NULL;

    CU_ASSERT_EQUAL_FATAL(g_mkdir_with_parents(a, 0755), 0);
    CU_ASSERT_EQUAL_FATAL(g_mkdir_with_parents(open_dir, 0755), 0);
    CU_ASSERT_EQUAL(chmod(open_dir, 0777), 0);
    CU_ASSERT_TRUE(g_file_set_contents(file, "x", -1, NULL));
    CU_ASSERT_TRUE(g_file_set_contents(in_open, "x", -1, NULL));
    CU_ASSERT_PTR_NULL(trusted_path_reason(file, "the hook"));
    CU_ASSERT_PTR_NULL(trusted_path_reason(dotdot, "the hook"));
    /* through a link that leads into a folder anyone may write to */
    CU_ASSERT_EQUAL(symlink("../open/file", rel_link), 0);
    why = trusted_path_reason(rel_link, "the hook");
    CU_ASSERT_PTR_NOT_NULL_FATAL(why);
    CUNIT_ASSERT_CONTAINS(why, open_dir);
    CUNIT_ASSERT_CONTAINS(why, "is writable by group or others");
    g_clear_pointer(&why, g_free);
    /* an absolute link starts from / again */
    CU_ASSERT_EQUAL(symlink(file, abs_link), 0);
    CU_ASSERT_PTR_NULL(trusted_path_reason(abs_link, "the hook"));
    /* a loop ends */
    CU_ASSERT_EQUAL(symlink("loop2", loop1), 0);
    CU_ASSERT_EQUAL(symlink("loop1", loop2), 0);
    why = trusted_path_reason(loop1, "the hook");
    CU_ASSERT_PTR_NOT_NULL_FATAL(why);
    CUNIT_ASSERT_CONTAINS(why, "more than 40 symbolic links");
    g_clear_pointer(&why, g_free);
    why = trusted_path_reason(missing, "the hook");
    CU_ASSERT_PTR_NOT_NULL_FATAL(why);
    CUNIT_ASSERT_CONTAINS(why, "cannot be examined");
    g_clear_pointer(&why, g_free);
    /* the folder itself may be open to others when sticky: only our entries count */
    CU_ASSERT_EQUAL(chmod(open_dir, 01777), 0);
    CU_ASSERT_PTR_NULL(trusted_path_reason(rel_link, "the hook"));
    rm_rf(root);
}

/* ---- output --------------------------------------------------------------- */

static void
test_output_merged(void)
{
    g_autofree char *root = make_tmp();
    Run run;

    g_free(add_hook(root, BEFORE, "10_talk",
                    "echo to-stdout\necho to-stderr >&2\necho again\nprintf 'bad \\377\\376 bytes'",
                    0755));
    run = run_one_root(root, HOOK_PHASE_BEFORE, 10);
    CU_ASSERT_TRUE(run.ok);
    CU_ASSERT_FATAL(run.results->len == 1);
    CU_ASSERT_TRUE(g_utf8_validate(result_at(&run, 0)->output, -1, NULL));
    CU_ASSERT_TRUE(
        g_str_has_prefix(result_at(&run, 0)->output, "to-stdout\nto-stderr\nagain\nbad "));
    CU_ASSERT_TRUE(g_str_has_suffix(result_at(&run, 0)->output, " bytes"));
    g_ptr_array_unref(run.results);
    rm_rf(root);
}

static void
test_output_cap(void)
{
    g_autofree char *root = make_tmp();
    Run run;
    gsize len;

    /* 1 MiB, then proof that the hook was not blocked on a full pipe. */
    g_free(add_hook(root, BEFORE, "10_flood",
                    "head -c 1048576 /dev/zero | tr '\\0' a\n"
                    "head -c 1048576 /dev/zero | tr '\\0' b >&2\n"
                    "touch \"$HOOKTEST_DIR/done\"",
                    0755));
    run = run_one_root(root, HOOK_PHASE_BEFORE, 20);
    CU_ASSERT_TRUE(run.ok);
    CU_ASSERT_FATAL(run.results->len == 1);
    CU_ASSERT_FALSE(result_at(&run, 0)->timed_out);
    CU_ASSERT_TRUE(scratch_exists("done"));
    len = strlen(result_at(&run, 0)->output);
    CU_ASSERT(len <= 64 * 1024);
    CU_ASSERT(len > 60 * 1024);
    CU_ASSERT_EQUAL(result_at(&run, 0)->output[0], 'a');
    CUNIT_ASSERT_CONTAINS(result_at(&run, 0)->output, "output truncated");
    g_ptr_array_unref(run.results);
    rm_rf(root);
}

/* ---- roots ---------------------------------------------------------------- */

/* $HOTCPU_HOOKS_DIR is read by hotcpu-ctl's main.c (the one place for the
 * environment) and given here as the override, like --hooks-dir. */
static void
test_roots(void)
{
    g_auto(GStrv) defaults = NULL;
    g_auto(GStrv) overridden = NULL;
    g_auto(GStrv) empty_override = NULL;

    defaults = hooks_roots(NULL);
    CU_ASSERT_FATAL(g_strv_length(defaults) == 2);
    CU_ASSERT_STRING_EQUAL(defaults[0], "/etc/hotcpu/hooks");
    CU_ASSERT_STRING_EQUAL(defaults[1], HOTCPU_HOOKS_LIBEXEC_DIR);

    overridden = hooks_roots("/from/option");
    CU_ASSERT_FATAL(g_strv_length(overridden) == 1);
    CU_ASSERT_STRING_EQUAL(overridden[0], "/from/option");

    empty_override = hooks_roots("");
    CU_ASSERT_EQUAL(g_strv_length(empty_override), 2);
}

static void
test_missing_folders(void)
{
    g_autofree char *root = make_tmp(); /* exists, but no phase folders */
    g_autofree char *missing = g_build_filename(scratch, "no-such-root", NULL);
    g_autofree char *file_root = scratch_path("a-file");
    char *roots[] = { missing, root, file_root, NULL };
    char *no_roots[] = { NULL };
    Run run;

    CU_ASSERT_FATAL(g_file_set_contents(file_root, "", 0, NULL));
    g_free(add_hook(root, AFTER, "10_other_phase", "exit 2", 0755));
    run = run_roots(roots, HOOK_PHASE_BEFORE, 10);
    CU_ASSERT_TRUE(run.ok);
    CU_ASSERT_FALSE(run.stopped);
    CU_ASSERT_EQUAL(run.results->len, 0);
    g_ptr_array_unref(run.results);

    run = run_roots(no_roots, HOOK_PHASE_AFTER, 10);
    CU_ASSERT_TRUE(run.ok);
    CU_ASSERT_FALSE(run.stopped);
    CU_ASSERT_EQUAL(run.results->len, 0);
    g_ptr_array_unref(run.results);

    /* stopped may be NULL */
    {
        g_autoptr(GPtrArray) results
            = g_ptr_array_new_with_free_func((GDestroyNotify)hook_result_free);

        CU_ASSERT_TRUE(hooks_run(roots, HOOK_PHASE_AFTER, &default_env, 10, results, NULL)
                       == FALSE);
        CU_ASSERT_EQUAL(results->len, 1);
    }
    rm_rf(root);
}

/* ---- JSON ----------------------------------------------------------------- */

static void
test_results_json(void)
{
    g_autoptr(GPtrArray) results = g_ptr_array_new_with_free_func((GDestroyNotify)hook_result_free);
    g_autoptr(JsonNode) node = NULL;
    g_autoptr(JsonNode) empty = NULL;
    g_autoptr(JsonGenerator) gen = json_generator_new();
    g_autoptr(JsonParser) parser = json_parser_new();
    g_autofree char *text = NULL;
    HookResult *a = g_new0(HookResult, 1);
    HookResult *b = g_new0(HookResult, 1);
    JsonArray *array;
    JsonObject *o;

    a->path = g_strdup("/etc/hotcpu/hooks/before_set_num_of_cpus/10_a");
    a->exit_code = 0;
    a->output = g_strdup("fine \"quoted\"\n");
    a->seconds = 0.25;
    b->path = g_strdup("/x/20_b");
    b->exit_code = -1;
    b->timed_out = TRUE;
    b->refused = FALSE;
    b->output = NULL;
    b->seconds = 30.0;
    g_ptr_array_add(results, a);
    g_ptr_array_add(results, b);

    node = hook_results_to_json(results);
    CU_ASSERT_FATAL(node != NULL && JSON_NODE_HOLDS_ARRAY(node));
    array = json_node_get_array(node);
    CU_ASSERT_FATAL(json_array_get_length(array) == 2);

    o = json_array_get_object_element(array, 0);
    CU_ASSERT_EQUAL(json_object_get_size(o), 6);
    CU_ASSERT_STRING_EQUAL(json_object_get_string_member(o, "hook"), a->path);
    CU_ASSERT_EQUAL(json_node_get_value_type(json_object_get_member(o, "exit")), G_TYPE_INT64);
    CU_ASSERT_EQUAL(json_object_get_int_member(o, "exit"), 0);
    CU_ASSERT_EQUAL(json_node_get_value_type(json_object_get_member(o, "timed-out")),
                    G_TYPE_BOOLEAN);
    CU_ASSERT_FALSE(json_object_get_boolean_member(o, "timed-out"));
    CU_ASSERT_FALSE(json_object_get_boolean_member(o, "refused"));
    CU_ASSERT_EQUAL(json_node_get_value_type(json_object_get_member(o, "seconds")), G_TYPE_DOUBLE);
    CU_ASSERT_DOUBLE_EQUAL(json_object_get_double_member(o, "seconds"), 0.25, 1e-9);
    CU_ASSERT_STRING_EQUAL(json_object_get_string_member(o, "output"), "fine \"quoted\"\n");

    o = json_array_get_object_element(array, 1);
    CU_ASSERT_EQUAL(json_object_get_int_member(o, "exit"), -1);
    CU_ASSERT_TRUE(json_object_get_boolean_member(o, "timed-out"));
    CU_ASSERT_STRING_EQUAL(json_object_get_string_member(o, "output"), "");

    /* It serializes to text that parses back. */
    json_generator_set_root(gen, node);
    text = json_generator_to_data(gen, NULL);
    CU_ASSERT_TRUE(json_parser_load_from_data(parser, text, -1, NULL));

    g_ptr_array_set_size(results, 0);
    empty = hook_results_to_json(results);
    CU_ASSERT_TRUE(JSON_NODE_HOLDS_ARRAY(empty));
    CU_ASSERT_EQUAL(json_array_get_length(json_node_get_array(empty)), 0);
}

/* ---- main ----------------------------------------------------------------- */

/* Issue 18: a hook's output may quote the guest; in the audit record and
 * --json it reached jq -r as \u001b.  Control characters but the newline
 * are escaped visibly now; the lines stay lines. */
static void
test_results_json_escaped(void)
{
    g_autoptr(GPtrArray) results = g_ptr_array_new_with_free_func((GDestroyNotify)hook_result_free);
    g_autoptr(JsonNode) node = NULL;
    HookResult *a = g_new0(HookResult, 1);
    const char *out;

    a->path = g_strdup("/x/10_a");
    a->output = g_strdup("\x1b]0;owned\x07\x1b[2J\r\nsecond line\n");
    g_ptr_array_add(results, a);
    node = hook_results_to_json(results);
    CU_ASSERT_FATAL(node != NULL && JSON_NODE_HOLDS_ARRAY(node));
    out = json_object_get_string_member(json_array_get_object_element(json_node_get_array(node), 0),
                                        "output");
    CU_ASSERT_STRING_EQUAL(out, "\\x1b]0;owned\\x07\\x1b[2J\\r\nsecond line\n");
}

static const CunitTest tests[] = {
    { "order: lexical, across two roots", test_order_lexical_across_roots },
    { "environment: contract variables, stdin, fds", test_environment },
    { "environment: no agent socket is empty", test_environment_no_socket },
    { "exit: 0, 1, 3, signal, 2 stops", test_exit_codes },
    { "exit: 1 and 3 continue", test_exit_one_continues },
    { "exit: 2 stops later roots", test_exit_two_stops_later_roots },
    { "exit: not startable counts as failed", test_not_startable },
    { "timeout kills the process group", test_timeout_kills_group },
    { "background child does not hang us", test_background_child_does_not_hang },
    { "refuse group/other-writable file", test_refuse_writable_file },
    { "refuse group/other-writable folders", test_refuse_writable_folders },
    { "refuse hooks and folders owned by others", test_refuse_foreign_owner },
    { "refuse links out to untrusted files", test_refuse_link_out },
    { "run by its path ($0 is the hook)", test_runs_by_path },
    { "trusted_path_reason walks like the kernel", test_trusted_path_walk },
    { "output: stdout+stderr merged, UTF-8", test_output_merged },
    { "output: capped at 64 KiB", test_output_cap },
    { "roots: the override, else the defaults", test_roots },
    { "missing folders are no error", test_missing_folders },
    { "results to JSON", test_results_json },
    { "results to JSON: control characters escaped", test_results_json_escaped },
    { NULL, NULL },
};

static void
register_hook_runner_suite(void)
{
    cunit_add_suite_full("hook_runner", NULL, NULL, setup, teardown, tests);
}

static const CunitSuite suites[] = {
    { "hook_runner", register_hook_runner_suite },
    { NULL, NULL },
};

int
main(int argc, char **argv)
{
    return cunit_run(argc, argv, suites);
}
