/* main.c: hotcpu-ctl's option parsing and dispatch, nothing else.
 *
 * Global options go through a GOptionContext and are accepted before or
 * after the command.  One static const table (commands[]) drives dispatch,
 * each command's options (cmd_args.c) and --help, like virsh's vshCmdDef.
 */
#include "config.h"

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <stdio.h>
#include <string.h>

#include "agent_client.h"
#include "audit.h"
#include "autoscale_decide.h"
#include "cmd_args.h"
#include "ctl.h"
#include "domain_lock.h"
#include "hook_runner.h"
#include "virt_events.h"

#define DOMAIN_OPT                                                                                 \
    {                                                                                              \
        "domain", OPT_STRING, TRUE, TRUE, "domain", "domain name, id or uuid"                      \
    }

static const CmdOptDef opts_set[] = {
    DOMAIN_OPT,
    { "count", OPT_UINT, TRUE, TRUE, "count", "number of vCPUs (or of sockets with --sockets)" },
    { "sockets", OPT_BOOL, FALSE, FALSE, NULL,
      "count is in sockets: count x cores x threads vCPUs, from the domain's <cpu><topology>" },
    { "config", OPT_BOOL, FALSE, FALSE, NULL,
      "also update the persistent definition (after the live change succeeded); on a shut-off "
      "domain, change only the persistent definition (no hooks)" },
    { "timeout", OPT_UINT, FALSE, FALSE, "seconds",
      "how long to wait for the guest and for an unplug to converge (default " G_STRINGIFY(
          CTL_DEFAULT_TIMEOUT_S) ")" },
    { "force", OPT_BOOL, FALSE, FALSE, NULL,
      "override the guest OS support matrix and <vcpupin> refusals (not the host policy)" },
    { "require-guest", OPT_BOOL, FALSE, FALSE, NULL,
      "fail with exit 7 when the guest agent cannot confirm the change" },
    { "hook-env", OPT_STRING_LIST, FALSE, FALSE, "name=value",
      "a variable for this run's hooks, over the domain's <metadata> (repeatable)" },
    { "timings", OPT_BOOL, FALSE, FALSE, NULL, "also print the wall time of each stage of set" },
    { NULL },
};
CMD_OPTS_FIT(opts_set);

static const CmdOptDef opts_domain_only[] = {
    DOMAIN_OPT,
    { NULL },
};
CMD_OPTS_FIT(opts_domain_only);

static const CmdOptDef opts_guest_set[] = {
    DOMAIN_OPT,
    { "count", OPT_UINT, TRUE, TRUE, "count", "number of CPUs the guest should have online" },
    { NULL },
};
CMD_OPTS_FIT(opts_guest_set);

static const CmdOptDef opts_prepare[] = {
    DOMAIN_OPT,
    { "max", OPT_UINT, FALSE, TRUE, "count",
      "the maximum: number of vCPUs (or of sockets with --sockets)" },
    { "sockets", OPT_BOOL, FALSE, FALSE, NULL,
      "--max is in sockets: max x cores x threads vCPUs, from the domain's <cpu><topology>" },
    { "dry-run", OPT_BOOL, FALSE, FALSE, NULL, "print the changes and change nothing" },
    { NULL },
};
CMD_OPTS_FIT(opts_prepare);

static const CmdOptDef opts_watch[] = {
    DOMAIN_OPT,
    { "load", OPT_UINT, FALSE, FALSE, "seconds",
      "also the guest's load every so many seconds (1 to 3600)" },
    { "explain", OPT_BOOL, FALSE, FALSE, NULL,
      "beside each load line, the vCPUs autoscale's rules want for it (implies --load 5)" },
    { NULL },
};
CMD_OPTS_FIT(opts_watch);

static const CmdOptDef opts_autoscale[] = {
    DOMAIN_OPT,
    { "min", OPT_UINT, FALSE, FALSE, "count",
      "the fewest vCPUs (sockets with --sockets); required here or in the domain's file" },
    { "max", OPT_UINT, FALSE, FALSE, "count",
      "the most vCPUs (sockets with --sockets); required here or in the domain's file" },
    { "target", OPT_STRING, FALSE, FALSE, "fraction",
      "the busy fraction aimed at (default " G_STRINGIFY(AUTOSCALE_DEFAULT_TARGET) ", +- 0.1)" },
    { "up-after", OPT_UINT, FALSE, FALSE, "seconds",
      "the load wanting more this long: up to what it wanted (default " G_STRINGIFY(
          AUTOSCALE_DEFAULT_UP_AFTER) ")" },
    { "down-after", OPT_UINT, FALSE, FALSE, "seconds",
      "the load wanting fewer this long: down to the most it wanted (default " G_STRINGIFY(
          AUTOSCALE_DEFAULT_DOWN_AFTER) ")" },
    { "cooldown", OPT_UINT, FALSE, FALSE, "seconds",
      "no change this soon after the last (default " G_STRINGIFY(AUTOSCALE_DEFAULT_COOLDOWN) ")" },
    { "max-step", OPT_UINT, FALSE, FALSE, "count",
      "the most vCPUs (sockets with --sockets) one change adds or removes (default: no limit)" },
    { "sockets", OPT_BOOL, FALSE, FALSE, NULL,
      "whole sockets; --min, --max and --max-step in sockets" },
    { "dry-run", OPT_BOOL, FALSE, FALSE, NULL, "print the decisions and change nothing" },
    { NULL },
};
CMD_OPTS_FIT(opts_autoscale);

static const CmdDef commands[] = {
    { "set", cmd_set, opts_set, "hot plug or unplug vCPUs of a running domain",
      "Checks the request (domain running and idle, limits, topology, hot-pluggable vCPUs,\n"
      "    guest OS, vCPU pins, host policy and size), runs the before hooks, changes the\n"
      "    live vCPU count through libvirt, runs the after hooks, then waits up to --timeout\n"
      "    seconds until the guest agent (hotcpu-agent, else qemu-ga: --guest-agent) reports\n"
      "    COUNT CPUs present and online.  With --config on a shut-off domain, changes its\n"
      "    persistent definition only, without hooks.  Every attempt is recorded in the\n"
      "    audit log and in syslog." },
    { "get", cmd_get, opts_domain_only, "show the vCPU counts of a domain",
      "Shows the live and persistent current and maximum vCPU counts, and the\n"
      "    number of CPUs online in the guest when its guest agent answers." },
    { "topology", cmd_topology, opts_domain_only, "show the guest's CPU topology",
      "Asks the guest agent for the guest's CPU topology and prints it as a table\n"
      "    like 'lscpu -e'; with qemu-ga only CPU ids, online and can-offline are known." },
    { "guest-set", cmd_guest_set, opts_guest_set, "online or offline CPUs inside the guest",
      "Asks the guest agent alone to have COUNT CPUs online; libvirt is not changed." },
    { "prepare", cmd_prepare, opts_prepare, "make a domain's definition hot-plug ready",
      "Edits the persistent definition so that the domain can be hot plugged from its\n"
      "    next boot: a maximum of --max vCPUs (growing sockets in its <topology>), every\n"
      "    vCPU but vCPU 0 hot-pluggable, and the " AGENT_CHANNEL_NAME " channel.  Prints\n"
      "    each change; a running domain gets only its definition changed.  The changes\n"
      "    take effect after a full shutdown and start (not a reboot from inside the\n"
      "    guest).  A second run changes nothing.  Recorded in the audit log." },
    { "watch", cmd_watch, opts_watch, "print the guest's events as they come",
      "Holds the hotcpu agent's channel and prints each topology-changed event (and,\n"
      "    with --load, a load event every so many seconds) as a line, or as one JSON\n"
      "    object per line with --json, until interrupted.  Goes on through the agent\n"
      "    restarting, the guest rebooting, the domain stopping and starting and libvirtd\n"
      "    restarting, and says so once each.  Gives the channel way to other clients." },
    { "autoscale", cmd_autoscale, opts_autoscale, "give a domain the vCPUs its load needs",
      "Samples the guest's load (hotcpu-agent) and changes the live vCPU count between\n"
      "    --min and --max, in one change to the count the load needs (busy x vCPUs /\n"
      "    target; runnable tasks when the CPUs are saturated): up when every sample of\n"
      "    --up-after seconds wanted more (busy above the target's band, or CPU pressure\n"
      "    says tasks wait), down to the most wanted in --down-after seconds when all of\n"
      "    them wanted fewer; never within --cooldown of the last change, never more than\n"
      "    --max-step at once, never against the host policy nor up while steal says the\n"
      "    host's CPUs are saturated.  Every change goes through set's\n"
      "    path (checks, hooks, the guest's confirmation, the audit record with the\n"
      "    reason).  Bounds not given come from " HOTCPU_ETC_DIR "/autoscale.d/DOMAIN.conf.\n"
      "    Runs until SIGTERM or SIGINT (exit 0); waits while the domain is shut off." },
    { NULL },
};

/* What GOption fills; main() turns it into the CtlContext. */
typedef struct {
    char *uri, *audit_log, *hooks_dir, *policy, *support_matrix;
    gboolean json, verbose, help, version;
    guint hook_timeout;
    GuestAgentKind guest_agent;
} GlobalArgs;

static void
global_args_clear(GlobalArgs *g)
{
    g_free(g->uri);
    g_free(g->audit_log);
    g_free(g->hooks_dir);
    g_free(g->policy);
    g_free(g->support_matrix);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(GlobalArgs, global_args_clear)

static gboolean
parse_hook_timeout(const char *option_name, const char *value, gpointer data, GError **error)
{
    GlobalArgs *g = data;
    guint64 n;

    if (!cmd_parse_uint(value, option_name, &n, error))
        return FALSE;
    g->hook_timeout = (guint)n;
    return TRUE;
}

static gboolean
parse_guest_agent(const char *option_name, const char *value, gpointer data, GError **error)
{
    GlobalArgs *g = data;

    if (guest_agent_parse(value, &g->guest_agent))
        return TRUE;
    g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                "invalid value '%s' for %s: use auto, hotcpu, qemu-ga or none", value, option_name);
    return FALSE;
}

/* The global options; @g receives the values (NULL: for the help text). */
static GOptionEntry *
global_entries(GlobalArgs *g)
{
    GOptionEntry e[] = {
        { "connect", 'c', 0, G_OPTION_ARG_STRING, g ? &g->uri : NULL,
          "hypervisor connection URI (default: $LIBVIRT_DEFAULT_URI, then libvirt's default)",
          "URI" },
        { "json", 0, 0, G_OPTION_ARG_NONE, g ? &g->json : NULL,
          "print one JSON object on stdout instead of text", NULL },
        { "guest-agent", 0, 0, G_OPTION_ARG_CALLBACK, (gpointer)parse_guest_agent,
          "the guest agent to use: hotcpu, qemu-ga (through libvirt), none, or auto (default: "
          "the first of hotcpu, qemu-ga that answers)",
          "AGENT" },
        { "audit-log", 0, 0, G_OPTION_ARG_FILENAME, g ? &g->audit_log : NULL,
          "audit log (default " AUDIT_DEFAULT_PATH ")", "PATH" },
        { "hooks-dir", 0, 0, G_OPTION_ARG_FILENAME, g ? &g->hooks_dir : NULL,
          "the one hooks root (default: $HOTCPU_HOOKS_DIR, then " HOOKS_ETC_DIR
          " and " HOTCPU_HOOKS_LIBEXEC_DIR ")",
          "DIR" },
        { "hook-timeout", 0, 0, G_OPTION_ARG_CALLBACK, (gpointer)parse_hook_timeout,
          "seconds a hook may run before it is killed (default " G_STRINGIFY(
              HOOK_DEFAULT_TIMEOUT_S) ")",
          "S" },
        { "policy", 0, 0, G_OPTION_ARG_FILENAME, g ? &g->policy : NULL,
          "host policy file (default: $HOTCPU_POLICY, then " CTL_POLICY_PATH ")", "FILE" },
        { "support-matrix", 0, 0, G_OPTION_ARG_FILENAME, g ? &g->support_matrix : NULL,
          "guest OS support matrix (default: $HOTCPU_SUPPORT_MATRIX, then " CTL_MATRIX_ETC_PATH
          " if present, then " CTL_MATRIX_DATA_PATH ")",
          "FILE" },
        { "verbose", 'v', 0, G_OPTION_ARG_NONE, g ? &g->verbose : NULL,
          "say on stderr how the guest agent is reached and what is retried", NULL },
        { "help", 'h', 0, G_OPTION_ARG_NONE, g ? &g->help : NULL, "show this help", NULL },
        { "version", 'V', 0, G_OPTION_ARG_NONE, g ? &g->version : NULL, "show the version", NULL },
        { NULL },
    };
    return g_memdup2(e, sizeof(e));
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
    g_autofree GOptionEntry *entries = global_entries(NULL);
    GString *s = g_string_new(NULL);

    g_string_append(s, "Usage: hotcpu-ctl [OPTION...] COMMAND [ARG...]\n\n"
                       "Hot plug and unplug vCPUs of running libvirt domains.\n\n"
                       "Options:\n");
    for (const GOptionEntry *o = entries; o->long_name; o++) {
        g_autofree char *shortopt
            = o->short_name ? g_strdup_printf("-%c,", o->short_name) : g_strdup("");
        g_autofree char *lhs = g_strdup_printf("%-3s --%s%s%s", shortopt, o->long_name,
                                               o->arg_description ? " " : "",
                                               o->arg_description ? o->arg_description : "");
        g_string_append_printf(s, "  %-26s %s\n", lhs, o->description);
    }
    g_string_append(s, "\nCommands:\n");
    for (const CmdDef *c = commands; c->name; c++)
        g_string_append_printf(s, "  %-12s %s\n", c->name, c->summary);
    g_string_append(s,
                    "\nRun 'hotcpu-ctl help COMMAND' for a command's options.\n"
                    "Exit codes: 0 done; 2 usage; 3 refused, nothing changed; 4 a before-hook\n"
                    "vetoed, nothing changed; 5 an attempted change failed (hypervisor or guest\n"
                    "agent), nothing changed; 6 the change did not converge; 7 the guest agent\n"
                    "did not answer.\n");
    return g_string_free(s, FALSE);
}

static int
print_info(CtlContext *ctx, const char *key, const char *text)
{
    if (ctx->json) {
        JsonObject *obj = json_object_new();
        json_object_set_string_member(obj, key, text);
        json_object_set_int_member(obj, "exit", 0);
        output_result(ctx->out, obj);
    } else if (strcmp(key, "version") == 0) {
        printf("hotcpu-ctl %s\n", text);
    } else {
        fputs(text, stdout);
    }
    return CTL_EXIT_OK;
}

/* ---- parsing --------------------------------------------------------- */

static gboolean
parse_globals(GlobalArgs *g, char ***argv, GError **error)
{
    g_autoptr(GOptionContext) oc = g_option_context_new(NULL);
    g_autofree GOptionEntry *entries = global_entries(g);
    GOptionGroup *group = g_option_group_new("hotcpu-ctl", "", "", g, NULL);

    g_option_group_add_entries(group, entries);
    g_option_context_set_main_group(oc, group);
    /* The command's own options stay in argv for cmd_args_parse. */
    g_option_context_set_ignore_unknown_options(oc, TRUE);
    g_option_context_set_help_enabled(oc, FALSE);
    return g_option_context_parse_strv(oc, argv, error);
}

/* Picks the command out of @rest (argv after the globals, without the
 * program name) and, unless only help is wanted (*help), parses its
 * options.  Returns CTL_EXIT_OK with *cmd_out set (NULL: no command), or an
 * exit code after reporting. */
static int
parse_command(CtlContext *ctx, char **rest, gboolean *help, const CmdDef **cmd_out, CmdArgs *args)
{
    g_autoptr(GError) error = NULL;
    const CmdDef *cmd;

    if (rest[0] && strcmp(rest[0], "--") == 0)
        rest++;
    if (rest[0] && strcmp(rest[0], "help") == 0) {
        *help = TRUE; /* "help [COMMAND]" */
        rest++;
    }
    *cmd_out = NULL;
    if (!rest[0])
        return CTL_EXIT_OK;
    if (rest[0][0] == '-')
        return output_fail(ctx->out, CTL_EXIT_USAGE, NULL, "unknown option %s", rest[0]);
    if (!(cmd = find_command(rest[0])))
        return output_fail(ctx->out, CTL_EXIT_USAGE, NULL, "unknown command: '%s'", rest[0]);
    *cmd_out = cmd;
    if (!*help && !cmd_args_parse(cmd, rest + 1, args, &error))
        return output_fail(ctx->out, CTL_EXIT_USAGE, NULL, "%s", error->message);
    return CTL_EXIT_OK;
}

/* ---- main ------------------------------------------------------------ */

static void
quiet_libvirt(void *opaque, virErrorPtr err)
{
    /* Errors are read once with virGetLastErrorMessage and reported by the
     * command in its own words. */
}

/* --verbose: debug messages as "hotcpu-ctl: TEXT" on stderr; others as
 * GLib prints them. */
static GLogWriterOutput
verbose_writer(GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer data)
{
    if (!(level & G_LOG_LEVEL_DEBUG))
        return g_log_writer_default(level, fields, n_fields, data);
    for (gsize i = 0; i < n_fields; i++)
        if (strcmp(fields[i].key, "MESSAGE") == 0)
            fprintf(stderr, "hotcpu-ctl: %s\n", (const char *)fields[i].value);
    return G_LOG_WRITER_HANDLED;
}

static const char *
env_or(const char *var, const char *fallback)
{
    const char *v = g_getenv(var);
    return v && *v ? v : fallback;
}

/* The defaults of what the command line left open. */
static void
context_defaults(CtlContext *ctx, const GlobalArgs *g)
{
    ctx->uri = g->uri;
    ctx->audit_log = g->audit_log ? g->audit_log : AUDIT_DEFAULT_PATH;
    ctx->hooks_dir = g->hooks_dir;
    ctx->hook_timeout = g->hook_timeout ? g->hook_timeout : HOOK_DEFAULT_TIMEOUT_S;
    ctx->policy = g->policy ? g->policy : env_or("HOTCPU_POLICY", NULL);
    ctx->policy_explicit = ctx->policy != NULL;
    if (!ctx->policy)
        ctx->policy = CTL_POLICY_PATH;
    ctx->support_matrix
        = g->support_matrix ? g->support_matrix : env_or("HOTCPU_SUPPORT_MATRIX", NULL);
    if (!ctx->support_matrix)
        ctx->support_matrix = g_file_test(CTL_MATRIX_ETC_PATH, G_FILE_TEST_EXISTS)
                                  ? CTL_MATRIX_ETC_PATH
                                  : CTL_MATRIX_DATA_PATH;
    ctx->lock_dir = env_or("HOTCPU_LOCK_DIR", DOMAIN_LOCK_DEFAULT_DIR);
    ctx->guest_agent = g->guest_agent;
}

int
main(int argc, char **argv)
{
    g_auto(GlobalArgs) g = { 0 };
    g_auto(GStrv) args_v = g_strdupv(argv);
    g_autoptr(GError) error = NULL;
    g_autoptr(Output) out = NULL;
    CtlContext ctx = { 0 };
    g_auto(CmdArgs) args = { 0 };
    const CmdDef *cmd = NULL;
    int rc;

    /* --json decides how even a usage error is printed. */
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
        if (strcmp(argv[i], "--json") == 0)
            ctx.json = TRUE;
    ctx.out = out = output_new(ctx.json);

    if (!parse_globals(&g, &args_v, &error))
        return output_fail(out, CTL_EXIT_USAGE, NULL, "%s", error->message);
    if ((rc = parse_command(&ctx, args_v + 1, &g.help, &cmd, &args)) != CTL_EXIT_OK)
        return rc;
    if (g.version && !g.help)
        return print_info(&ctx, "version", HOTCPU_VERSION);
    if (g.help || !cmd) {
        g_autofree char *text = cmd ? cmd_help_text(cmd) : NULL;

        if (!cmd && !g.help)
            return output_fail(out, CTL_EXIT_USAGE, NULL,
                               "no command given; run 'hotcpu-ctl --help' for the list");
        if (!text)
            text = usage_text();
        return print_info(&ctx, "help", text);
    }

    context_defaults(&ctx, &g);
    if (g.verbose)
        g_log_set_writer_func(verbose_writer, NULL, NULL);
    virSetErrorFunc(NULL, quiet_libvirt);
    if (virInitialize() < 0)
        return output_fail(out, CTL_EXIT_HYPERVISOR, NULL, "failed to initialize libvirt");
    virt_events_start(); /* before any connection: streams and events need it */
    return cmd->handler(&ctx, &args);
}
