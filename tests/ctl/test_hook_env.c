/* test_hook_env.c: issue 20 item 3, the pure parts: which names and values
 * may reach a hook as a custom property, the merge of the domain's
 * <metadata> with --hook-env, reading hotcpu's <metadata>, and `prepare`
 * leaving it alone. */
#include <CUnit/Basic.h>
#include <string.h>

#include "cunit_runner.h"
#include "domain_edit.h"
#include "domain_info.h"
#include "hook_env.h"

static gboolean
name_ok(const char *name)
{
    g_autoptr(GError) error = NULL;
    gboolean ok = hook_env_check_name(name, &error);

    CU_ASSERT_TRUE(ok == (error == NULL));
    return ok;
}

static void
test_names(void)
{
    static const char *const good[]
        = { "sap_profile", "a", "vhost2", "numa_Policy", "x_" /* trailing underscore */, NULL };
    /* The contract's, the system's in capitals and in lowercase, the
     * loaders' and interpreters', proxies, malformed ones. */
    static const char *const bad[] = {
        "",
        "_hook_domxml",
        "vmId",
        "vmName",
        "numberOfCpus",
        "previousNumberOfCpus",
        "PATH",
        "LD_PRELOAD",
        "LD_LIBRARY_PATH",
        "PYTHONPATH",
        "BASH_ENV",
        "IFS",
        "HOME",
        "HOTCPU_OUTCOME",
        "HOTCPU_AGENT_SOCKET",
        "LIBVIRT_DEFAULT_URI",
        "LANG",
        "LC_ALL",
        "TZ",
        "path",
        "Path",
        "home",
        "ifs",
        "env",
        "lc_all",
        "ld_preload",
        "hotcpu_x",
        "libvirt_uri",
        "http_proxy",
        "HTTPS_proxy",
        "no_proxy",
        "1abc",
        "_x",
        "sap-profile",
        "a b",
        "a=b",
        "caf\xc3\xa9",
        NULL,
    };
    g_autofree char *long_name = g_strnfill(HOOK_ENV_NAME_MAX + 1, 'a');
    g_autofree char *max_name = g_strnfill(HOOK_ENV_NAME_MAX, 'a');
    g_autoptr(GError) error = NULL;

    for (guint i = 0; good[i]; i++)
        if (!name_ok(good[i]))
            CU_FAIL(good[i]);
    for (guint i = 0; bad[i]; i++)
        if (name_ok(bad[i])) {
            fprintf(stderr, "\naccepted: '%s'\n", bad[i]);
            CU_FAIL("a refused name was accepted");
        }
    CU_ASSERT_TRUE(name_ok(max_name));
    CU_ASSERT_FALSE(name_ok(long_name));
    /* the message names the variable and says why */
    CU_ASSERT_FALSE(hook_env_check_name("LD_PRELOAD", &error));
    CUNIT_ASSERT_CONTAINS(error->message, "'LD_PRELOAD' is refused");
    CUNIT_ASSERT_CONTAINS(error->message, "lowercase");
}

static void
test_values(void)
{
    g_autofree char *max_value = g_strnfill(HOOK_ENV_VALUE_MAX, 'v');
    g_autofree char *long_value = g_strnfill(HOOK_ENV_VALUE_MAX + 1, 'v');
    g_autoptr(GError) error = NULL;

    CU_ASSERT_TRUE(hook_env_check_value("a", "", NULL));
    CU_ASSERT_TRUE(hook_env_check_value("a", "gold; $(rm -rf /) 'quoted' caf\xc3\xa9", NULL));
    CU_ASSERT_TRUE(hook_env_check_value("a", max_value, NULL));
    CU_ASSERT_FALSE(hook_env_check_value("a", long_value, NULL));
    CU_ASSERT_FALSE(hook_env_check_value("a", "two\nlines", NULL));
    CU_ASSERT_FALSE(hook_env_check_value("a", "tab\there", NULL));
    CU_ASSERT_FALSE(hook_env_check_value("a", "\x1b[2J", NULL));
    CU_ASSERT_FALSE(hook_env_check_value("a", "del\x7f", NULL));
    CU_ASSERT_FALSE(hook_env_check_value("a", "bad \xff utf-8", NULL));
    CU_ASSERT_FALSE(hook_env_check_value("sap_profile", "a\rb", &error));
    CUNIT_ASSERT_CONTAINS(error->message, "'sap_profile'");
    CUNIT_ASSERT_CONTAINS(error->message, "control character");
}

static void
expect_args_refused(const char *const *args, const char *needle)
{
    g_autoptr(GError) error = NULL;

    CU_ASSERT_FALSE(hook_env_check_args(args, &error));
    if (error != NULL)
        CUNIT_ASSERT_CONTAINS(error->message, needle);
}

static void
test_args(void)
{
    g_autoptr(GPtrArray) many = g_ptr_array_new_with_free_func(g_free);

    CU_ASSERT_TRUE(hook_env_check_args(NULL, NULL));
    CU_ASSERT_TRUE(hook_env_check_args((const char *const[]){ "a=1", "b=", "c=x=y", NULL }, NULL));
    expect_args_refused((const char *const[]){ "novalue", NULL }, "expected NAME=VALUE");
    expect_args_refused((const char *const[]){ "=x", NULL }, "is empty");
    expect_args_refused((const char *const[]){ "PATH=/tmp", NULL }, "'PATH' is refused");
    expect_args_refused((const char *const[]){ "a=1", "a=2", NULL }, "'a' twice");
    expect_args_refused((const char *const[]){ "a=x\ny", NULL }, "control character");
    for (guint i = 0; i <= HOOK_ENV_MAX_VARS; i++)
        g_ptr_array_add(many, g_strdup_printf("v%u=x", i));
    g_ptr_array_add(many, NULL);
    expect_args_refused((const char *const *)many->pdata, "at most 32");
}

static DomainHookVar *
var(const char *name, const char *value)
{
    DomainHookVar *v = g_new0(DomainHookVar, 1);

    v->name = g_strdup(name);
    v->value = g_strdup(value);
    return v;
}

static void
var_free(gpointer data)
{
    DomainHookVar *v = data;

    g_free(v->name);
    g_free(v->value);
    g_free(v);
}

static void
test_build(void)
{
    g_autoptr(GPtrArray) meta = g_ptr_array_new_with_free_func(var_free);
    g_auto(GStrv) env = NULL;
    g_autoptr(GError) error = NULL;
    g_autofree char *joined = NULL;

    g_ptr_array_add(meta, var("sap_profile", "gold"));
    g_ptr_array_add(meta, var("backup", "nightly"));
    /* none at all: an empty list */
    env = hook_env_build("web1", NULL, NULL, &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(env);
    CU_ASSERT_EQUAL(g_strv_length(env), 0);
    g_clear_pointer(&env, g_strfreev);
    /* sorted by name; --hook-env wins over the metadata for the run */
    env = hook_env_build("web1", meta, (const char *const[]){ "sap_profile=silver", "zz=1", NULL },
                         &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(env);
    joined = g_strjoinv(" ", env);
    CUNIT_ASSERT_STR(joined, "backup=nightly sap_profile=silver zz=1");
    g_clear_pointer(&env, g_strfreev);

    /* bad metadata: refused, naming the domain */
    g_ptr_array_add(meta, var("LD_PRELOAD", "/tmp/evil.so"));
    CU_ASSERT_PTR_NULL(hook_env_build("web1", meta, NULL, &error));
    CUNIT_ASSERT_CONTAINS(error->message, "<metadata> of domain 'web1'");
    CUNIT_ASSERT_CONTAINS(error->message, "'LD_PRELOAD' is refused");
    g_clear_error(&error);
    /* --hook-env does not make a bad metadata name pass */
    CU_ASSERT_PTR_NULL(
        hook_env_build("web1", meta, (const char *const[]){ "backup=x", NULL }, &error));
    g_clear_error(&error);
    g_ptr_array_remove_index(meta, meta->len - 1);
    g_ptr_array_add(meta, var("backup", "twice"));
    CU_ASSERT_PTR_NULL(hook_env_build("web1", meta, NULL, &error));
    CUNIT_ASSERT_CONTAINS(error->message, "'backup' twice");
    g_clear_error(&error);
    g_ptr_array_remove_index(meta, meta->len - 1);
    g_ptr_array_add(meta, var(NULL, "nameless"));
    CU_ASSERT_PTR_NULL(hook_env_build("web1", meta, NULL, &error));
    CUNIT_ASSERT_CONTAINS(error->message, "without a name");
    g_clear_error(&error);
    g_ptr_array_remove_index(meta, meta->len - 1);

    /* at most 32 together */
    for (guint i = 0; i < HOOK_ENV_MAX_VARS - 2; i++) {
        g_autofree char *name = g_strdup_printf("m%u", i);
        g_ptr_array_add(meta, var(name, "x"));
    }
    env = hook_env_build("web1", meta, NULL, &error);
    CU_ASSERT_EQUAL(env ? g_strv_length(env) : 0, HOOK_ENV_MAX_VARS);
    CU_ASSERT_PTR_NULL(
        hook_env_build("web1", meta, (const char *const[]){ "one_more=x", NULL }, &error));
    CUNIT_ASSERT_CONTAINS(error->message, "at most 32");
}

/* hotcpu's namespace under any prefix, directly or in one wrapper element;
 * another namespace's hook-env is not ours. */
static const char metadata_xml[]
    = "<domain type='kvm'><name>web1</name><vcpu placement='static'>2</vcpu>\n"
      "  <metadata>\n"
      "    <h:hotcpu xmlns:h='" HOOK_ENV_NS "'>\n"
      "      <h:hook-env name='sap_profile'>gold</h:hook-env>\n"
      "      <h:hook-env name='note'>  spaced &amp; escaped  </h:hook-env>\n"
      "    </h:hotcpu>\n"
      "    <hotcpu:hook-env xmlns:hotcpu='" HOOK_ENV_NS "' name='direct'>1</hotcpu:hook-env>\n"
      "    <o:hook-env xmlns:o='urn:other' name='theirs'>x</o:hook-env>\n"
      "    <o:w xmlns:o='urn:other'><hook-env name='plain'>x</hook-env></o:w>\n"
      "  </metadata>\n"
      "  <cpu mode='custom'><topology sockets='2' dies='1' cores='1' threads='1'/></cpu>\n"
      "  <os><type arch='x86_64'>hvm</type></os><devices/>\n"
      "</domain>\n";

static void
expect_vars(const DomainInfo *info)
{
    const DomainHookVar *v;

    CU_ASSERT_EQUAL_FATAL(info->hook_vars->len, 3);
    v = info->hook_vars->pdata[0];
    CUNIT_ASSERT_STR(v->name, "sap_profile");
    CUNIT_ASSERT_STR(v->value, "gold");
    v = info->hook_vars->pdata[1];
    CUNIT_ASSERT_STR(v->name, "note");
    CUNIT_ASSERT_STR(v->value, "  spaced & escaped  ");
    v = info->hook_vars->pdata[2];
    CUNIT_ASSERT_STR(v->name, "direct");
    CUNIT_ASSERT_STR(v->value, "1");
}

static void
test_metadata_read(void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(DomainInfo) info = domain_info_parse(metadata_xml, &error);
    g_autoptr(DomainInfo) none = NULL;

    CU_ASSERT_PTR_NOT_NULL_FATAL(info);
    expect_vars(info);
    none = domain_info_parse("<domain><name>a</name><vcpu>1</vcpu></domain>", &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(none);
    CU_ASSERT_EQUAL(none->hook_vars->len, 0);
}

/* `prepare` edits <vcpu>, <vcpus> and <topology>: the hooks' variables in
 * the <metadata> come out as they went in. */
static void
test_prepare_keeps_metadata(void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(DomainInfo) def = domain_info_parse(metadata_xml, &error);
    g_auto(DomainEditPlan) plan = { 0 };
    g_autoptr(SecretXml) out = NULL;
    g_autoptr(DomainInfo) after = NULL;

    CU_ASSERT_PTR_NOT_NULL_FATAL(def);
    domain_edit_plan(def, 8, &plan);
    CU_ASSERT_TRUE(plan.redefine);
    out = domain_edit_xml(metadata_xml, &plan, &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(out);
    after = domain_info_parse(out, &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(after);
    CU_ASSERT_EQUAL(after->vcpu_max, 8);
    expect_vars(after);
}

static void
register_hook_env_suite(void)
{
    static const CunitTest tests[] = {
        { "names: the contract's and the system's are refused", test_names },
        { "values: one line of UTF-8, bounded", test_values },
        { "--hook-env: form, names, twice, how many", test_args },
        { "metadata then --hook-env, sorted, checked, bounded", test_build },
        { "hotcpu's <metadata> read under any prefix", test_metadata_read },
        { "prepare leaves the hooks' metadata alone", test_prepare_keeps_metadata },
        { NULL, NULL },
    };

    cunit_add_suite("hook_env", tests);
}

static const CunitSuite suites[] = {
    { "hook_env", register_hook_env_suite },
    { NULL, NULL },
};

int
main(int argc, char **argv)
{
    return cunit_run(argc, argv, suites);
}
