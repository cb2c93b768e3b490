/* main.c: hotcpu-ctl's list of commands, its global options (a
 * GOptionContext, accepted before or after the command) and the one place
 * that reads the environment (context_defaults).  Each command is defined
 * with its options in its cmd_NAME.c, like virsh's vshCmdDef. */
#include "config.h"

#include <libvirt/libvirt.h>
#include <string.h>

#include "audit.h"
#include "autoscale_decide.h"
#include "ctl.h"
#include "ctl_util.h"
#include "domain_lock.h"
#include "hook_runner.h"
#include "virt_events.h"

/* The commands, in the order --help lists them. */
static const CmdDef *const commands[] = {
    &cmd_set_def,       &cmd_get_def,     &cmd_topology_def,
    &cmd_guest_set_def, &cmd_prepare_def, &cmd_watch_def,
    &cmd_autoscale_def, &cmd_list_def,    NULL,
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
    ctx->hooks_dir = env_or("HOTCPU_HOOKS_DIR", NULL);
    if (g->hooks_dir && *g->hooks_dir)
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

    /* --json decides how even a usage error is printed. */
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
        if (strcmp(argv[i], "--json") == 0)
            ctx.json = TRUE;
    ctx.out = out = output_new(ctx.json);

    if (!parse_globals(&g, &args_v, &error))
        return output_fail(out, CTL_EXIT_USAGE, NULL, "%s", error->message);
    if (!cmd_select(commands, args_v + 1, &g.help, &cmd, &args, &error))
        return output_fail(out, CTL_EXIT_USAGE, NULL, "%s", error->message);
    if (g.version && !g.help) {
        output_info(out, "version", HOTCPU_VERSION);
        return CTL_EXIT_OK;
    }
    if (g.help || !cmd) {
        g_autofree char *text = cmd ? cmd_help_text(cmd) : NULL;

        if (!cmd && !g.help)
            return output_fail(out, CTL_EXIT_USAGE, NULL,
                               "no command given; run 'hotcpu-ctl --help' for the list");
        if (!text) {
            g_autofree GOptionEntry *globals = global_entries(NULL);
            text = cmd_usage_text(globals, commands);
        }
        output_info(out, "help", text);
        return CTL_EXIT_OK;
    }

    context_defaults(&ctx, &g);
    ctl_logging_setup(g.verbose);
    if (virInitialize() < 0)
        return output_fail(out, CTL_EXIT_HYPERVISOR, NULL, "failed to initialize libvirt");
    virt_events_start(); /* before any connection: streams and events need it */
    return cmd->handler(&ctx, &args);
}
