/* cmd_args.c: one parser for every command's options. */
#include "cmd_args.h"

#include <string.h>

const CmdOptDef cmd_opts_domain_only[] = {
    CMD_OPT_DOMAIN,
    { NULL },
};

static int
opt_index(const CmdDef *def, const char *name)
{
    for (int i = 0; def->opts[i].name; i++)
        if (strcmp(def->opts[i].name, name) == 0)
            return i;
    return -1;
}

/* "--name=value" -> name "name", *value "value"; "--name" -> *value NULL.
 * @arg starts with "--".  Returns the name (g_free). */
static char *
cmd_split_long_option(const char *arg, const char **value)
{
    const char *eq = strchr(arg + 2, '=');

    *value = eq ? eq + 1 : NULL;
    return eq ? g_strndup(arg + 2, eq - arg - 2) : g_strdup(arg + 2);
}

gboolean
cmd_parse_uint(const char *text, const char *what, guint64 *out, GError **error)
{
    if (g_ascii_string_to_unsigned(text, 10, 0, G_MAXINT, out, NULL))
        return TRUE;
    g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                "invalid value '%s' for %s: expected a whole number", text, what);
    return FALSE;
}

static gboolean
set_value(CmdArgs *args, int idx, const char *value, GError **error)
{
    const CmdOptDef *o = &args->def->opts[idx];

    if (o->type == OPT_STRING_LIST) {
        if (args->list[idx] == NULL) {
            args->list[idx] = g_ptr_array_new();
            g_ptr_array_add(args->list[idx], NULL);
        }
        /* before the terminating NULL */
        g_ptr_array_insert(args->list[idx], (gint)args->list[idx]->len - 1, (gpointer)value);
        args->value[idx] = value;
        return TRUE;
    }
    if (args->value[idx]) {
        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "option --%s given twice",
                    o->name);
        return FALSE;
    }
    if (o->type == OPT_UINT) {
        g_autofree char *what = o->positional ? g_strdup_printf("<%s>", o->metavar)
                                              : g_strdup_printf("--%s", o->name);
        if (!cmd_parse_uint(value, what, &args->number[idx], error))
            return FALSE;
    }
    args->value[idx] = value;
    return TRUE;
}

/* argv[*i] is "--name[=value]" or "-x": a named option of the command,
 * whose value may be the next argument. */
static gboolean
take_named(CmdArgs *args, char **argv, int *i, GError **error)
{
    const CmdDef *def = args->def;
    const char *arg = argv[*i];
    const char *value = NULL;
    g_autofree char *name = NULL;
    int idx;

    if (arg[1] != '-') {
        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_UNKNOWN_OPTION,
                    "command '%s' doesn't support option %s", def->name, arg);
        return FALSE;
    }
    name = cmd_split_long_option(arg, &value);
    if ((idx = opt_index(def, name)) < 0) {
        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_UNKNOWN_OPTION,
                    "command '%s' doesn't support option --%s", def->name, name);
        return FALSE;
    }
    if (def->opts[idx].type == OPT_BOOL) {
        if (value) {
            g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                        "option --%s takes no value", name);
            return FALSE;
        }
        value = "";
    } else if (!value) {
        if (!argv[*i + 1]) {
            g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                        "option --%s needs a value <%s>", name, def->opts[idx].metavar);
            return FALSE;
        }
        value = argv[++*i];
    }
    return set_value(args, idx, value, error);
}

/* @arg fills the next positional option not named yet. */
static gboolean
take_positional(CmdArgs *args, const char *arg, int *next, GError **error)
{
    const CmdOptDef *opts = args->def->opts;

    while (opts[*next].name && (!opts[*next].positional || args->value[*next]))
        ++*next;
    if (!opts[*next].name) {
        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                    "unexpected data '%s' for command '%s'", arg, args->def->name);
        return FALSE;
    }
    return set_value(args, *next, arg, error);
}

gboolean
cmd_args_parse(const CmdDef *def, char **argv, CmdArgs *args, GError **error)
{
    gboolean only_positional = FALSE;
    int next_positional = 0;

    args->def = def;
    for (int i = 0; argv[i]; i++) {
        const char *arg = argv[i];
        gboolean ok;

        if (!only_positional && strcmp(arg, "--") == 0) {
            only_positional = TRUE;
            continue;
        }
        if (!only_positional && arg[0] == '-' && arg[1])
            ok = take_named(args, argv, &i, error);
        else
            ok = take_positional(args, arg, &next_positional, error);
        if (!ok)
            return FALSE;
    }
    for (int i = 0; def->opts[i].name; i++)
        if (def->opts[i].required && !args->value[i]) {
            g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                        "command '%s' requires <%s> option", def->name, def->opts[i].metavar);
            return FALSE;
        }
    return TRUE;
}

const char *
cmd_arg_string(const CmdArgs *args, const char *name)
{
    int i = opt_index(args->def, name);
    g_assert(i >= 0);
    return args->value[i];
}

gboolean
cmd_arg_bool(const CmdArgs *args, const char *name)
{
    return cmd_arg_string(args, name) != NULL;
}

guint
cmd_arg_uint(const CmdArgs *args, const char *name, guint def)
{
    int i = opt_index(args->def, name);
    g_assert(i >= 0 && args->def->opts[i].type == OPT_UINT);
    return args->value[i] ? (guint)args->number[i] : def;
}

const char *const *
cmd_arg_strings(const CmdArgs *args, const char *name)
{
    int i = opt_index(args->def, name);
    g_assert(i >= 0 && args->def->opts[i].type == OPT_STRING_LIST);
    return args->list[i] ? (const char *const *)args->list[i]->pdata : NULL;
}

void
cmd_args_clear(CmdArgs *args)
{
    for (guint i = 0; i < CMD_MAX_OPTS; i++)
        g_clear_pointer(&args->list[i], g_ptr_array_unref);
}

static char *
option_label(const CmdOptDef *o)
{
    if (o->positional)
        return g_strdup_printf("[--%s] <%s>", o->name, o->metavar);
    if (o->type == OPT_BOOL)
        return g_strdup_printf("--%s", o->name);
    return g_strdup_printf("--%s <%s>", o->name, o->metavar);
}

char *
cmd_help_text(const CmdDef *c)
{
    GString *s = g_string_new(NULL);

    g_string_append_printf(s, "  NAME\n    %s - %s\n\n  SYNOPSIS\n    %s", c->name, c->summary,
                           c->name);
    for (const CmdOptDef *o = c->opts; o->name; o++) {
        if (o->positional)
            g_string_append_printf(s, " <%s>", o->metavar);
        else if (o->type == OPT_BOOL)
            g_string_append_printf(s, " [--%s]", o->name);
        else
            g_string_append_printf(s, " [--%s <%s>]%s", o->name, o->metavar,
                                   o->type == OPT_STRING_LIST ? "..." : "");
    }
    g_string_append_printf(s, "\n\n  DESCRIPTION\n    %s\n\n  OPTIONS\n", c->description);
    for (const CmdOptDef *o = c->opts; o->name; o++) {
        g_autofree char *lhs = option_label(o);
        g_string_append_printf(s, "    %-24s %s\n", lhs, o->help);
    }
    return g_string_free(s, FALSE);
}

char *
cmd_usage_text(const GOptionEntry *globals, const CmdDef *const *commands)
{
    GString *s = g_string_new(NULL);

    g_string_append(s, "Usage: hotcpu-ctl [OPTION...] COMMAND [ARG...]\n\n"
                       "Hot plug and unplug vCPUs of running libvirt domains.\n\n"
                       "Options:\n");
    for (const GOptionEntry *o = globals; o->long_name; o++) {
        g_autofree char *shortopt
            = o->short_name ? g_strdup_printf("-%c,", o->short_name) : g_strdup("");
        g_autofree char *lhs = g_strdup_printf("%-3s --%s%s%s", shortopt, o->long_name,
                                               o->arg_description ? " " : "",
                                               o->arg_description ? o->arg_description : "");
        g_string_append_printf(s, "  %-26s %s\n", lhs, o->description);
    }
    g_string_append(s, "\nCommands:\n");
    for (const CmdDef *const *c = commands; *c; c++)
        g_string_append_printf(s, "  %-12s %s\n", (*c)->name, (*c)->summary);
    g_string_append(s,
                    "\nRun 'hotcpu-ctl help COMMAND' for a command's options.\n"
                    "Exit codes: 0 done; 2 usage; 3 refused, nothing changed; 4 a before-hook\n"
                    "vetoed, nothing changed; 5 an attempted change failed (hypervisor or guest\n"
                    "agent), nothing changed; 6 the change did not converge; 7 the guest agent\n"
                    "did not answer.\n");
    return g_string_free(s, FALSE);
}

gboolean
cmd_select(const CmdDef *const *commands, char **rest, gboolean *help, const CmdDef **cmd_out,
           CmdArgs *args, GError **error)
{
    const CmdDef *cmd = NULL;

    if (rest[0] && strcmp(rest[0], "--") == 0)
        rest++;
    if (rest[0] && strcmp(rest[0], "help") == 0) {
        *help = TRUE; /* "help [COMMAND]" */
        rest++;
    }
    *cmd_out = NULL;
    if (!rest[0])
        return TRUE;
    if (rest[0][0] == '-') {
        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_UNKNOWN_OPTION, "unknown option %s",
                    rest[0]);
        return FALSE;
    }
    for (const CmdDef *const *c = commands; *c && !cmd; c++)
        if (strcmp((*c)->name, rest[0]) == 0)
            cmd = *c;
    if (!cmd) {
        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED, "unknown command: '%s'", rest[0]);
        return FALSE;
    }
    *cmd_out = cmd;
    return *help || cmd_args_parse(cmd, rest + 1, args, error);
}
