/* cmd_args.h: hotcpu-ctl's per-command options, virsh-like.
 *
 * Each command has a static const table of CmdOptDef.  Options may be
 * written --name VALUE or --name=VALUE; positional options may also be given
 * by name (--domain web1), as in virsh; "--" ends the options.  The global
 * options (--connect, --json, ...) are taken out of argv by main.c's
 * GOptionContext before cmd_args_parse sees it.
 */
#pragma once

#include <glib.h>

typedef enum {
    OPT_BOOL,
    OPT_STRING,
    OPT_UINT,
    OPT_STRING_LIST, /* repeatable: every value kept, in order */
} OptType;

typedef struct {
    const char *name; /* long name without "--"; NULL ends a table */
    OptType type;
    gboolean positional; /* may be given without its name, in table order */
    gboolean required;
    const char *metavar; /* for help and messages */
    const char *help;
} CmdOptDef;

/* The domain, the first positional option of most commands. */
#define CMD_OPT_DOMAIN                                                                             \
    {                                                                                              \
        "domain", OPT_STRING, TRUE, TRUE, "domain", "domain name, id or uuid"                      \
    }

/* The most options one command may have; CMD_OPTS_FIT checks a table. */
#define CMD_MAX_OPTS 16
#define CMD_OPTS_FIT(table) G_STATIC_ASSERT(G_N_ELEMENTS(table) <= CMD_MAX_OPTS + 1)

typedef struct CtlContext CtlContext;
typedef struct CmdArgs CmdArgs;

/* One command: its file (cmd_NAME.c) defines it with its options and
 * exports it as cmd_NAME_def; main.c only lists it. */
typedef struct {
    const char *name;
    int (*handler)(CtlContext *ctx, const CmdArgs *args);
    const CmdOptDef *opts; /* terminated by a NULL name */
    const char *summary;
    const char *description;
} CmdDef;

/* The options of a command that takes only the domain (get, topology). */
extern const CmdOptDef cmd_opts_domain_only[];

struct CmdArgs {
    const CmdDef *def;
    const char *value[CMD_MAX_OPTS]; /* by option index; "" for a given bool */
    guint64 number[CMD_MAX_OPTS];    /* OPT_UINT values */
    GPtrArray *list[CMD_MAX_OPTS];   /* OPT_STRING_LIST values (borrowed), NULL-terminated */
};

/* Frees what cmd_args_parse allocated (the lists); @args may be reused. */
void cmd_args_clear(CmdArgs *args);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(CmdArgs, cmd_args_clear)

/* Parses @argv (the command's own arguments, without the command name;
 * NULL-terminated) into @args against @def.  FALSE with a G_OPTION_ERROR
 * whose message names the option and the command. */
gboolean cmd_args_parse(const CmdDef *def, char **argv, CmdArgs *args, GError **error);

/* Picks the command out of @rest (argv after the global options, without
 * the program name) from @commands (ending with NULL) and, unless only help
 * is wanted ("help [COMMAND]" sets *@help), parses its options into @args.
 * TRUE with *@cmd_out set (NULL: no command given); FALSE with a
 * G_OPTION_ERROR for the user (unknown option or command, bad options). */
gboolean cmd_select(const CmdDef *const *commands, char **rest, gboolean *help,
                    const CmdDef **cmd_out, CmdArgs *args, GError **error);

/* A decimal number from 0 to G_MAXINT; the message names @what. */
gboolean cmd_parse_uint(const char *text, const char *what, guint64 *out, GError **error);

const char *cmd_arg_string(const CmdArgs *args, const char *name);
/* TRUE when the option was given (for any type; a boolean's only value). */
gboolean cmd_arg_bool(const CmdArgs *args, const char *name);
/* The value of an OPT_UINT option, or @def when not given. */
guint cmd_arg_uint(const CmdArgs *args, const char *name, guint def);
/* Every value of an OPT_STRING_LIST option in the order given,
 * NULL-terminated; NULL when not given. */
const char *const *cmd_arg_strings(const CmdArgs *args, const char *name);

/* "NAME / SYNOPSIS / DESCRIPTION / OPTIONS" for `hotcpu-ctl help CMD`. */
char *cmd_help_text(const CmdDef *def);

/* `hotcpu-ctl --help`: the global options @globals (ending with a NULL
 * long_name) and the one-line summary of each of @commands (ending with
 * NULL). */
char *cmd_usage_text(const GOptionEntry *globals, const CmdDef *const *commands);
