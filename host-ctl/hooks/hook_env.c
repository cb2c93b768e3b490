/* hook_env.c: a domain's custom properties for its hooks (hook_env.h says
 * the rules and why). */
#include "hook_env.h"

#include <string.h>

#include "domain_info.h"

/* The contract's own names, exactly. */
static const char *const contract_names[] = {
    "_hook_domxml", "vmId", "vmName", "numberOfCpus", "previousNumberOfCpus", NULL,
};

/* System variables that shells and tools read in lowercase too (csh's
 * path, home, term, user), refused in any case. */
static const char *const system_names[] = {
    "path",   "home", "shell", "user",   "logname", "term", "lang", "tz",
    "tmpdir", "ifs",  "env",   "cdpath", "pwd",     "mail", NULL,
};

static const char *const system_prefixes[] = { "lc_", "ld_", "hotcpu_", "libvirt_", NULL };

static gboolean
refuse_name(const char *name, const char *why, GError **error)
{
    g_autofree char *shown = g_strescape(name, NULL);

    g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                "the hook variable name '%.*s%s' is refused: %s", HOOK_ENV_NAME_MAX, shown,
                strlen(shown) > HOOK_ENV_NAME_MAX ? "..." : "", why);
    return FALSE;
}

static gboolean
has_lowercase(const char *name)
{
    for (const char *p = name; *p; p++)
        if (g_ascii_islower(*p))
            return TRUE;
    return FALSE;
}

gboolean
hook_env_check_name(const char *name, GError **error)
{
    g_autofree char *lower = NULL;
    gsize len = strlen(name);

    if (len == 0)
        return refuse_name(name, "it is empty", error);
    if (len > HOOK_ENV_NAME_MAX)
        return refuse_name(name, "it is longer than " G_STRINGIFY(HOOK_ENV_NAME_MAX) " bytes",
                           error);
    if (!g_ascii_isalpha(name[0]))
        return refuse_name(name, "it must start with a letter", error);
    for (const char *p = name; *p; p++)
        if (!g_ascii_isalnum(*p) && *p != '_')
            return refuse_name(name, "only letters, digits and '_' are allowed", error);
    if (!has_lowercase(name))
        return refuse_name(name,
                           "names without a lowercase letter are the system's and the "
                           "contract's (PATH, LD_PRELOAD, HOTCPU_...); use a lowercase name, as "
                           "VDSM's custom properties do",
                           error);
    if (g_strv_contains(contract_names, name))
        return refuse_name(name, "it is one of the hook contract's own variables", error);
    lower = g_ascii_strdown(name, -1);
    if (g_strv_contains(system_names, lower))
        return refuse_name(name, "it is a system variable's name", error);
    for (guint i = 0; system_prefixes[i]; i++)
        if (g_str_has_prefix(lower, system_prefixes[i]))
            return refuse_name(name, "it starts like a system or contract variable", error);
    if (g_str_has_suffix(lower, "_proxy"))
        return refuse_name(name, "a *_proxy variable would redirect the hooks' network traffic",
                           error);
    return TRUE;
}

gboolean
hook_env_check_value(const char *name, const char *value, GError **error)
{
    const char *why = NULL;

    if (strlen(value) > HOOK_ENV_VALUE_MAX)
        why = "it is longer than " G_STRINGIFY(HOOK_ENV_VALUE_MAX) " bytes";
    else if (!g_utf8_validate(value, -1, NULL))
        why = "it is not valid UTF-8";
    else
        for (const char *p = value; *p && !why; p++)
            if ((guchar)*p < 0x20 || *p == 0x7f)
                why = "it holds a control character (a value is one line of text)";
    if (why == NULL)
        return TRUE;
    g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                "the value of hook variable '%s' is refused: %s", name, why);
    return FALSE;
}

/* @arg "NAME=VALUE" split and checked; *@name_out (g_free) and *@value_out
 * (points into @arg). */
static gboolean
split_arg(const char *arg, char **name_out, const char **value_out, GError **error)
{
    const char *eq = strchr(arg, '=');
    g_autofree char *name = NULL;

    if (eq == NULL) {
        g_autofree char *shown = g_strescape(arg, NULL);

        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                    "invalid value '%.80s' for --hook-env: expected NAME=VALUE", shown);
        return FALSE;
    }
    name = g_strndup(arg, (gsize)(eq - arg));
    if (!hook_env_check_name(name, error) || !hook_env_check_value(name, eq + 1, error))
        return FALSE;
    *name_out = g_steal_pointer(&name);
    *value_out = eq + 1;
    return TRUE;
}

gboolean
hook_env_check_args(const char *const *args, GError **error)
{
    g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    guint n = 0;

    for (; args != NULL && args[n] != NULL; n++) {
        g_autoptr(GError) err = NULL;
        const char *value;
        char *name = NULL;

        if (!split_arg(args[n], &name, &value, &err)) {
            g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "--hook-env: %s",
                        err->message);
            return FALSE;
        }
        if (!g_hash_table_add(seen, name)) {
            g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                        "--hook-env gives hook variable '%s' twice", name);
            return FALSE;
        }
    }
    if (n > HOOK_ENV_MAX_VARS) {
        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                    "--hook-env is given %u times, at most " G_STRINGIFY(
                        HOOK_ENV_MAX_VARS) " hook variables are allowed",
                    n);
        return FALSE;
    }
    return TRUE;
}

static gint
compare_strings(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static gboolean
metadata_error(const char *domain, const GError *err, GError **error)
{
    g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                "the <metadata> of domain '%s' holds a hook-env that cannot be passed to its "
                "hooks: %s",
                domain, err->message);
    return FALSE;
}

/* The metadata's variables into @vars (name -> value, borrowed). */
static gboolean
add_metadata(GHashTable *vars, const char *domain, GPtrArray *metadata, GError **error)
{
    for (guint i = 0; metadata != NULL && i < metadata->len; i++) {
        const DomainHookVar *v = metadata->pdata[i];
        g_autoptr(GError) err = NULL;

        if (v->name == NULL) {
            g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                        "the <metadata> of domain '%s' holds a hook-env without a name", domain);
            return FALSE;
        }
        if (!hook_env_check_name(v->name, &err) || !hook_env_check_value(v->name, v->value, &err))
            return metadata_error(domain, err, error);
        if (!g_hash_table_insert(vars, v->name, v->value)) {
            g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                        "the <metadata> of domain '%s' gives hook variable '%s' twice", domain,
                        v->name);
            return FALSE;
        }
    }
    return TRUE;
}

char **
hook_env_build(const char *domain, GPtrArray *metadata, const char *const *args, GError **error)
{
    g_autoptr(GHashTable) vars = g_hash_table_new(g_str_hash, g_str_equal);
    g_autoptr(GPtrArray) names = NULL;
    g_autoptr(GPtrArray) cli_names = g_ptr_array_new_with_free_func(g_free);
    GPtrArray *out;
    GHashTableIter it;
    gpointer key, value;

    if (!add_metadata(vars, domain, metadata, error))
        return NULL;
    for (guint i = 0; args != NULL && args[i] != NULL; i++) {
        const char *eq = strchr(args[i], '=');
        char *name = g_strndup(args[i], (gsize)(eq - args[i]));

        g_ptr_array_add(cli_names, name);
        g_hash_table_insert(vars, name, (gpointer)(eq + 1)); /* this run's word wins */
    }
    if (g_hash_table_size(vars) > HOOK_ENV_MAX_VARS) {
        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                    "domain '%s' has %u hook variables (its <metadata> and --hook-env), at most "
                    "" G_STRINGIFY(HOOK_ENV_MAX_VARS) " are allowed",
                    domain, g_hash_table_size(vars));
        return NULL;
    }
    names = g_ptr_array_new();
    g_hash_table_iter_init(&it, vars);
    while (g_hash_table_iter_next(&it, &key, NULL))
        g_ptr_array_add(names, key);
    g_ptr_array_sort(names, compare_strings);
    out = g_ptr_array_new();
    for (guint i = 0; i < names->len; i++) {
        value = g_hash_table_lookup(vars, names->pdata[i]);
        g_ptr_array_add(out, g_strconcat(names->pdata[i], "=", value, NULL));
    }
    g_ptr_array_add(out, NULL);
    return (char **)g_ptr_array_free(out, FALSE);
}
