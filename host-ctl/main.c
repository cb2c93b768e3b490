/* main.c: hotcpu-ctl's global options and command table.
 *
 * One static const table (commands[]) drives dispatch, option parsing and
 * --help, like virsh's vshCmdDef.  Options may be written --name VALUE or
 * --name=VALUE; positional options may also be named (--domain web1), as in
 * virsh.  Global options are accepted before or after the command.
 */
#include "config.h"

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "ctl.h"
#include "domain_lock.h"
#include "virt_util.h"

typedef enum {
    OPT_BOOL,
    OPT_STRING,
    OPT_UINT,
} OptType;

typedef struct {
    const char *name; /* long name without "--" */
    OptType type;
    gboolean positional; /* may be given without its name, in table order */
    gboolean required;
    const char *metavar; /* for --help */
    const char *help;
} CmdOptDef;

typedef struct {
    const char *name;
    int (*handler)(CtlContext *ctx, const CmdArgs *args);
    const CmdOptDef *opts; /* terminated by a NULL name */
    const char *summary;
    const char *description;
} CmdDef;

struct CmdArgs {
    const CmdDef *def;
    const char *value[16]; /* by option index; "" for a given bool */
    guint64 number[16];
};

static const CmdOptDef opts_set[] = {
    { "domain", OPT_STRING, TRUE, TRUE, "domain", "domain name, id or uuid" },
    { "count", OPT_UINT, TRUE, TRUE, "count", "number of vCPUs (or of sockets with --sockets)" },
    { "sockets", OPT_BOOL, FALSE, FALSE, NULL,
      "count is in sockets: count x cores x threads vCPUs, from the domain's <cpu><topology>" },
    { "config", OPT_BOOL, FALSE, FALSE, NULL,
      "also update the persistent definition (after the live change succeeded)" },
    { "timeout", OPT_UINT, FALSE, FALSE, "seconds",
      "how long to wait for the guest and for an unplug to converge (default 30)" },
    { "force", OPT_BOOL, FALSE, FALSE, NULL,
      "override the guest OS support matrix and <vcpupin> refusals (not the host policy)" },
    { "require-guest", OPT_BOOL, FALSE, FALSE, NULL,
      "fail with exit 7 when the guest agent cannot confirm the change" },
    { NULL },
};

static const CmdOptDef opts_domain_only[] = {
    { "domain", OPT_STRING, TRUE, TRUE, "domain", "domain name, id or uuid" },
    { NULL },
};

static const CmdOptDef opts_guest_set[] = {
    { "domain", OPT_STRING, TRUE, TRUE, "domain", "domain name, id or uuid" },
    { "count", OPT_UINT, TRUE, TRUE, "count", "number of CPUs the guest should have online" },
    { NULL },
};

static const CmdDef commands[] = {
    { "set", cmd_set, opts_set, "hot plug or unplug vCPUs of a running domain",
      "Checks the request (domain running and idle, limits, topology, guest OS, vCPU pins,\n"
      "    host policy), runs the before hooks, changes the live vCPU count through\n"
      "    libvirt, runs the after hooks, then waits up to --timeout seconds until the\n"
      "    hotcpu agent in the guest reports COUNT CPUs present and online.  Every attempt\n"
      "    is recorded in the audit log and in syslog." },
    { "get", cmd_get, opts_domain_only, "show the vCPU counts of a domain",
      "Shows the live and persistent current and maximum vCPU counts, and the\n"
      "    number of CPUs online in the guest when its hotcpu agent answers." },
    { "topology", cmd_topology, opts_domain_only, "show the guest's CPU topology",
      "Asks the hotcpu agent in the guest for its CPU topology and prints it as a\n"
      "    table like 'lscpu -e'." },
    { "guest-set", cmd_guest_set, opts_guest_set, "online or offline CPUs inside the guest",
      "Asks the hotcpu agent alone to have COUNT CPUs online; libvirt is not changed." },
    { NULL },
};

typedef struct {
    const char *name;
    char short_name;
    OptType type;
    const char *metavar;
    gsize offset; /* in CtlContext */
    const char *help;
} GlobalOptDef;

static const GlobalOptDef global_opts[] = {
    { "connect", 'c', OPT_STRING, "URI", offsetof(CtlContext, uri),
      "hypervisor connection URI (default: $LIBVIRT_DEFAULT_URI, then libvirt's default)" },
    { "json", 0, OPT_BOOL, NULL, offsetof(CtlContext, json),
      "print one JSON object on stdout instead of text" },
    { "audit-log", 0, OPT_STRING, "PATH", offsetof(CtlContext, audit_log),
      "audit log (default " AUDIT_DEFAULT_PATH ")" },
    { "hooks-dir", 0, OPT_STRING, "DIR", offsetof(CtlContext, hooks_dir),
      "the one hooks root (default: $HOTCPU_HOOKS_DIR, then /etc/hotcpu/hooks "
      "and " HOTCPU_HOOKS_LIBEXEC_DIR ")" },
    { "hook-timeout", 0, OPT_UINT, "S", offsetof(CtlContext, hook_timeout),
      "seconds a hook may run before it is killed (default 30)" },
    { "policy", 0, OPT_STRING, "FILE", offsetof(CtlContext, policy),
      "host policy file (default: $HOTCPU_POLICY, then /etc/hotcpu/hotcpu.conf)" },
    { "support-matrix", 0, OPT_STRING, "FILE", offsetof(CtlContext, support_matrix),
      "guest OS support matrix (default: $HOTCPU_SUPPORT_MATRIX, then "
      "/etc/hotcpu/guest-os-support.ini if present, then " HOTCPU_DATADIR
      "/guest-os-support.ini)" },
    { NULL },
};

/* ---- arguments ------------------------------------------------------- */

static int
opt_index(const CmdDef *def, const char *name)
{
    for (int i = 0; def->opts[i].name; i++)
        if (strcmp(def->opts[i].name, name) == 0)
            return i;
    return -1;
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

/* ---- help ------------------------------------------------------------ */

static const CmdDef *
find_command(const char *name)
{
    for (const CmdDef *c = commands; c->name; c++)
        if (strcmp(c->name, name) == 0)
            return c;
    return NULL;
}

static char *
usage_text(void)
{
    GString *s = g_string_new(NULL);

    g_string_append(s, "Usage: hotcpu-ctl [OPTION...] COMMAND [ARG...]\n\n"
                       "Hot plug and unplug vCPUs of running libvirt domains.\n\n"
                       "Options:\n");
    for (const GlobalOptDef *o = global_opts; o->name; o++) {
        g_autofree char *shortopt
            = o->short_name ? g_strdup_printf("-%c,", o->short_name) : g_strdup("");
        g_autofree char *lhs = g_strdup_printf("%-3s --%s%s%s", shortopt, o->name,
                                               o->metavar ? " " : "", o->metavar ? o->metavar : "");
        g_string_append_printf(s, "  %-26s %s\n", lhs, o->help);
    }
    g_string_append_printf(s, "  %-26s %s\n  %-26s %s\n", "-h, --help", "show this help",
                           "-V, --version", "show the version");
    g_string_append(s, "\nCommands:\n");
    for (const CmdDef *c = commands; c->name; c++)
        g_string_append_printf(s, "  %-12s %s\n", c->name, c->summary);
    g_string_append(s, "\nRun 'hotcpu-ctl help COMMAND' for a command's options.\n"
                       "Exit codes: 0 done; 2 usage; 3 refused, nothing changed; 4 a before-hook\n"
                       "vetoed, nothing changed; 5 the hypervisor call failed, nothing changed;\n"
                       "6 the change did not converge; 7 the guest agent did not answer.\n");
    return g_string_free(s, FALSE);
}

static char *
command_help_text(const CmdDef *c)
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
            g_string_append_printf(s, " [--%s <%s>]", o->name, o->metavar);
    }
    g_string_append_printf(s, "\n\n  DESCRIPTION\n    %s\n\n  OPTIONS\n", c->description);
    for (const CmdOptDef *o = c->opts; o->name; o++) {
        g_autofree char *lhs = o->positional ? g_strdup_printf("[--%s] <%s>", o->name, o->metavar)
                               : o->type == OPT_BOOL
                                   ? g_strdup_printf("--%s", o->name)
                                   : g_strdup_printf("--%s <%s>", o->name, o->metavar);
        g_string_append_printf(s, "    %-24s %s\n", lhs, o->help);
    }
    return g_string_free(s, FALSE);
}

static int
print_help(CtlContext *ctx, const char *text)
{
    if (ctx->json) {
        JsonObject *obj = json_object_new();
        json_object_set_string_member(obj, "help", text);
        json_object_set_int_member(obj, "exit", 0);
        output_result(ctx->out, obj);
    } else {
        fputs(text, stdout);
    }
    return CTL_EXIT_OK;
}

/* ---- parsing --------------------------------------------------------- */

static gboolean
parse_uint(const char *text, guint64 *out)
{
    return g_ascii_string_to_unsigned(text, 10, 0, G_MAXINT, out, NULL);
}

/* Tries argv[*i] as a global option; TRUE when it was one (consumed, with its
 * value).  A bad value sets *error. */
static gboolean
try_global(CtlContext *ctx, int argc, char **argv, int *i, GError **error)
{
    const char *arg = argv[*i];
    const GlobalOptDef *o;
    const char *value = NULL;
    g_autofree char *name = NULL;

    if (arg[0] != '-')
        return FALSE;
    if (arg[1] == '-') {
        const char *eq = strchr(arg + 2, '=');
        name = eq ? g_strndup(arg + 2, eq - arg - 2) : g_strdup(arg + 2);
        if (eq)
            value = eq + 1;
    } else if (arg[1] && !arg[2]) {
        for (o = global_opts; o->name; o++)
            if (o->short_name == arg[1])
                break;
        if (!o->name)
            return FALSE;
        name = g_strdup(o->name);
    } else {
        return FALSE;
    }
    for (o = global_opts; o->name; o++)
        if (strcmp(o->name, name) == 0)
            break;
    if (!o->name)
        return FALSE;
    if (o->type == OPT_BOOL) {
        if (value) {
            g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                        "option --%s takes no value", o->name);
            return TRUE;
        }
        G_STRUCT_MEMBER(gboolean, ctx, o->offset) = TRUE;
        return TRUE;
    }
    if (!value) {
        if (*i + 1 >= argc) {
            g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                        "option --%s needs a value (%s)", o->name, o->metavar);
            return TRUE;
        }
        value = argv[++*i];
    }
    if (o->type == OPT_UINT) {
        guint64 n;
        if (!parse_uint(value, &n)) {
            g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                        "invalid value '%s' for --%s: expected a whole number", value, o->name);
            return TRUE;
        }
        G_STRUCT_MEMBER(guint, ctx, o->offset) = (guint)n;
    } else {
        G_STRUCT_MEMBER(const char *, ctx, o->offset) = value;
    }
    return TRUE;
}

static gboolean
set_cmd_value(CmdArgs *args, int idx, const char *value, GError **error)
{
    const CmdOptDef *o = &args->def->opts[idx];

    if (args->value[idx]) {
        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "option --%s given twice",
                    o->name);
        return FALSE;
    }
    if (o->type == OPT_UINT && !parse_uint(value, &args->number[idx])) {
        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                    "invalid value '%s' for <%s>: expected a whole number", value, o->metavar);
        return FALSE;
    }
    args->value[idx] = value;
    return TRUE;
}

typedef enum { PARSE_OK, PARSE_HELP, PARSE_VERSION, PARSE_ERROR } ParseResult;

static ParseResult
parse_command_line(CtlContext *ctx, int argc, char **argv, const CmdDef **cmd_out, CmdArgs *args,
                   GError **error)
{
    const CmdDef *cmd = NULL;
    gboolean only_positional = FALSE;
    gboolean want_help = FALSE;
    int next_positional = 0;

    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];

        if (!only_positional && strcmp(arg, "--") == 0) {
            only_positional = TRUE;
            continue;
        }
        if (!only_positional && (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)) {
            want_help = TRUE;
            continue;
        }
        if (!only_positional && !cmd && (strcmp(arg, "--version") == 0 || strcmp(arg, "-V") == 0))
            return PARSE_VERSION;
        if (!only_positional && arg[0] == '-' && arg[1]) {
            g_autoptr(GError) err = NULL;
            if (try_global(ctx, argc, argv, &i, &err)) {
                if (err) {
                    g_propagate_error(error, g_steal_pointer(&err));
                    return PARSE_ERROR;
                }
                continue;
            }
            if (cmd && arg[1] == '-') {
                const char *eq = strchr(arg + 2, '=');
                g_autofree char *name = eq ? g_strndup(arg + 2, eq - arg - 2) : g_strdup(arg + 2);
                int idx = opt_index(cmd, name);
                const char *value = eq ? eq + 1 : NULL;

                if (idx < 0) {
                    g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_UNKNOWN_OPTION,
                                "command '%s' doesn't support option --%s", cmd->name, name);
                    return PARSE_ERROR;
                }
                if (cmd->opts[idx].type == OPT_BOOL) {
                    if (value) {
                        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                                    "option --%s takes no value", name);
                        return PARSE_ERROR;
                    }
                    value = "";
                } else if (!value) {
                    if (i + 1 >= argc) {
                        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                                    "option --%s needs a value <%s>", name, cmd->opts[idx].metavar);
                        return PARSE_ERROR;
                    }
                    value = argv[++i];
                }
                if (!set_cmd_value(args, idx, value, error))
                    return PARSE_ERROR;
                continue;
            }
            g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_UNKNOWN_OPTION,
                        cmd ? "command '%s' doesn't support option %s" : "%sunknown option %s",
                        cmd ? cmd->name : "", arg);
            return PARSE_ERROR;
        }
        if (!cmd) {
            if (strcmp(arg, "help") == 0) {
                /* "help [COMMAND]" */
                if (i + 1 < argc) {
                    cmd = find_command(argv[i + 1]);
                    if (!cmd) {
                        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED,
                                    "unknown command: '%s'", argv[i + 1]);
                        return PARSE_ERROR;
                    }
                }
                *cmd_out = cmd;
                return PARSE_HELP;
            }
            cmd = find_command(arg);
            if (!cmd) {
                g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED, "unknown command: '%s'",
                            arg);
                return PARSE_ERROR;
            }
            args->def = cmd;
            continue;
        }
        /* a positional argument: the next positional option not yet named */
        while (cmd->opts[next_positional].name
               && (!cmd->opts[next_positional].positional || args->value[next_positional]))
            next_positional++;
        if (!cmd->opts[next_positional].name) {
            g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                        "unexpected data '%s' for command '%s'", arg, cmd->name);
            return PARSE_ERROR;
        }
        if (!set_cmd_value(args, next_positional, arg, error))
            return PARSE_ERROR;
    }
    *cmd_out = cmd;
    if (want_help)
        return PARSE_HELP;
    if (!cmd) {
        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED,
                    "no command given; run 'hotcpu-ctl --help' for the list");
        return PARSE_ERROR;
    }
    for (int i = 0; cmd->opts[i].name; i++)
        if (cmd->opts[i].required && !args->value[i]) {
            g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                        "command '%s' requires <%s> option", cmd->name, cmd->opts[i].metavar);
            return PARSE_ERROR;
        }
    return PARSE_OK;
}

/* ---- libvirt helpers shared by the commands ----------------------------- */

static void
quiet_libvirt(void *opaque, virErrorPtr err)
{
    /* Errors are read once with virGetLastErrorMessage and reported by the
     * command in its own words. */
}

/* Finds DOMAIN as virsh does: by id, by UUID, by name.  NULL (libvirt's
 * error cleared) when none. */
static virDomainPtr
lookup_domain(virConnectPtr conn, const char *name)
{
    virDomainPtr dom = NULL;
    guint64 id;
    gsize len = strlen(name);

    if (g_ascii_string_to_unsigned(name, 10, 0, G_MAXINT, &id, NULL))
        dom = virDomainLookupByID(conn, (int)id);
    if (!dom && (len == VIR_UUID_STRING_BUFLEN - 1 || len == 2 * VIR_UUID_BUFLEN))
        dom = virDomainLookupByUUIDString(conn, name);
    if (!dom)
        dom = virDomainLookupByName(conn, name);
    if (!dom)
        virResetLastError();
    return dom;
}

virDomainPtr
ctl_open_domain(CtlContext *ctx, const char *name, gboolean read_only, virConnectPtr *conn_out,
                int *exit_code, GError **error)
{
    g_autoptr(virConnect) conn = read_only ? virConnectOpenReadOnly(ctx->uri)
                                           : virConnectOpen(ctx->uri);
    virDomainPtr dom;

    if (!conn) {
        *exit_code = CTL_EXIT_HYPERVISOR;
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
                    "failed to connect to the hypervisor%s%s%s: %s", ctx->uri ? " '" : "",
                    ctx->uri ? ctx->uri : "", ctx->uri ? "'" : "", virt_last_error());
        return NULL;
    }
    if (!(dom = lookup_domain(conn, name))) {
        *exit_code = CTL_EXIT_REFUSED;
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "domain '%s' not found", name);
        return NULL;
    }
    *conn_out = g_steal_pointer(&conn);
    return dom;
}

gboolean
ctl_vcpu_counts(virDomainPtr dom, gboolean live, int *cur_out, int *max_out, GError **error)
{
    /* Taken first: virDomainGetName resets libvirt's last error. */
    const char *name = virDomainGetName(dom);
    unsigned int flags = live ? VIR_DOMAIN_AFFECT_LIVE : VIR_DOMAIN_AFFECT_CONFIG;
    int cur = virDomainGetVcpusFlags(dom, flags);
    /* The reason is read right after the call that failed: the next call
     * resets libvirt's last error. */
    g_autofree char *why = cur < 0 ? g_strdup(virt_last_error()) : NULL;
    int max = cur < 0 ? -1 : virDomainGetVcpusFlags(dom, flags | VIR_DOMAIN_VCPU_MAXIMUM);

    if (cur < 0 || max < 0) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
                    "cannot read the %svCPU counts of domain '%s': %s", live ? "" : "persistent ",
                    name, why != NULL ? why : virt_last_error());
        return FALSE;
    }
    *cur_out = cur;
    *max_out = max;
    return TRUE;
}

DomainInfo *
ctl_domain_info(virDomainPtr dom, char **xml_out, GError **error)
{
    /* Taken first: virDomainGetName resets libvirt's last error. */
    const char *name = virDomainGetName(dom);
    g_autofree char *xml = virDomainGetXMLDesc(dom, 0);
    DomainInfo *info;

    if (!xml) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot read the XML of domain '%s': %s",
                    name, virt_last_error());
        return NULL;
    }
    info = domain_info_parse(xml, error);
    if (info && xml_out)
        *xml_out = g_steal_pointer(&xml);
    return info;
}

/* ---- main ------------------------------------------------------------ */

int
main(int argc, char **argv)
{
    CtlContext ctx = { 0 };
    CmdArgs args = { 0 };
    const CmdDef *cmd = NULL;
    g_autoptr(GError) error = NULL;
    g_autoptr(Output) out = NULL;
    ParseResult pr;

    /* --json decides how even a usage error is printed. */
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
        if (strcmp(argv[i], "--json") == 0)
            ctx.json = TRUE;
    out = output_new(ctx.json);
    ctx.out = out;
    ctx.hook_timeout = 30;

    pr = parse_command_line(&ctx, argc, argv, &cmd, &args, &error);
    switch (pr) {
    case PARSE_ERROR:
        return output_fail(out, CTL_EXIT_USAGE, NULL, "%s", error->message);
    case PARSE_VERSION:
        if (ctx.json) {
            JsonObject *obj = json_object_new();
            json_object_set_string_member(obj, "version", HOTCPU_VERSION);
            json_object_set_int_member(obj, "exit", 0);
            output_result(out, obj);
        } else {
            printf("hotcpu-ctl %s\n", HOTCPU_VERSION);
        }
        return CTL_EXIT_OK;
    case PARSE_HELP: {
        g_autofree char *text = cmd ? command_help_text(cmd) : usage_text();
        return print_help(&ctx, text);
    }
    case PARSE_OK:
        break;
    }

    if (!ctx.audit_log)
        ctx.audit_log = AUDIT_DEFAULT_PATH;
    if (ctx.policy) {
        ctx.policy_explicit = TRUE;
    } else if (g_getenv("HOTCPU_POLICY") && *g_getenv("HOTCPU_POLICY")) {
        ctx.policy = g_getenv("HOTCPU_POLICY");
        ctx.policy_explicit = TRUE;
    } else {
        ctx.policy = "/etc/hotcpu/hotcpu.conf";
    }
    if (!ctx.support_matrix) {
        const char *env = g_getenv("HOTCPU_SUPPORT_MATRIX");
        if (env && *env)
            ctx.support_matrix = env;
        else if (g_file_test("/etc/hotcpu/guest-os-support.ini", G_FILE_TEST_EXISTS))
            ctx.support_matrix = "/etc/hotcpu/guest-os-support.ini";
        else
            ctx.support_matrix = HOTCPU_DATADIR "/guest-os-support.ini";
    }
    ctx.lock_dir = g_getenv("HOTCPU_LOCK_DIR");
    if (!ctx.lock_dir || !*ctx.lock_dir)
        ctx.lock_dir = DOMAIN_LOCK_DEFAULT_DIR;

    virSetErrorFunc(NULL, quiet_libvirt);
    if (virInitialize() < 0)
        return output_fail(out, CTL_EXIT_HYPERVISOR, NULL, "failed to initialize libvirt");

    return cmd->handler(&ctx, &args);
}
