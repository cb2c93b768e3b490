/* main.c: hotcpu-agent's options, config file, signals and main loop. */
#include <errno.h>
#include <glib-unix.h>
#include <locale.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "agent.h"
#include "agent_config.h"
#include "agent_log.h"
#include "config.h"
#include "load.h"
#include "topology.h"
#include "topology_sysfs.h"

#define DEFAULT_CONFIG_FILE HOTCPU_SYSCONFDIR "/hotcpu/agent.conf"

/* What the command line said; NULL/FALSE: not given. */
typedef struct {
    char *config_file;
    char *channel;
    char *listen;
    char *sysfs_root;
    char *proc_root;
    char *uevent_socket;
    gboolean no_auto_online;
    gboolean verbose;
    gboolean version;
} Options;

static void options_clear(Options *options);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(Options, options_clear)

typedef struct {
    Agent *agent;
    const Options *options;
} SignalContext;

static void
options_clear(Options *options)
{
    g_free(options->config_file);
    g_free(options->channel);
    g_free(options->listen);
    g_free(options->sysfs_root);
    g_free(options->proc_root);
    g_free(options->uevent_socket);
}

/* Defaults, then the config file, then the command line. */
static AgentConfig *
build_config(const Options *options, GError **error)
{
    g_autoptr(AgentConfig) config = agent_config_new();
    const char *path = options->config_file != NULL ? options->config_file : DEFAULT_CONFIG_FILE;

    if (!agent_config_load(config, path, options->config_file != NULL, error))
        return NULL;
    /* --channel and --listen choose the transport: either one replaces
     * whatever transport the file chose. */
    if (options->channel != NULL || options->listen != NULL) {
        g_clear_pointer(&config->listen, g_free);
        if (options->channel != NULL) {
            g_free(config->channel);
            config->channel = g_strdup(options->channel);
        }
        config->listen = g_strdup(options->listen);
    }
    if (options->sysfs_root != NULL) {
        g_free(config->sysfs_root);
        config->sysfs_root = g_strdup(options->sysfs_root);
    }
    if (options->proc_root != NULL) {
        g_free(config->proc_root);
        config->proc_root = g_strdup(options->proc_root);
    }
    config->uevent_socket = g_strdup(options->uevent_socket);
    if (options->no_auto_online)
        config->auto_online = FALSE;
    if (options->verbose)
        config->verbose = TRUE;
    return g_steal_pointer(&config);
}

static gboolean
on_quit_signal(gpointer user_data)
{
    SignalContext *ctx = user_data;

    g_message("Stopping on a signal.");
    agent_quit(ctx->agent, 0);
    return G_SOURCE_CONTINUE;
}

/* SIGHUP: re-read the settings that can change while running (auto-online,
 * verbose) and re-check the topology.  The transport stays as it is. */
static gboolean
on_hup(gpointer user_data)
{
    SignalContext *ctx = user_data;
    g_autoptr(GError) error = NULL;
    g_autoptr(AgentConfig) fresh = build_config(ctx->options, &error);

    if (fresh == NULL) {
        g_warning("Not reloading the configuration: %s", error->message);
        return G_SOURCE_CONTINUE;
    }
    ctx->agent->config->auto_online = fresh->auto_online;
    ctx->agent->config->verbose = fresh->verbose;
    agent_log_set_verbose(fresh->verbose);
    g_message("Reloaded the configuration: auto-online %s, verbose %s.",
              fresh->auto_online ? "on" : "off", fresh->verbose ? "on" : "off");
    agent_schedule_check(ctx->agent);
    return G_SOURCE_CONTINUE;
}

/* Parses the command line into @options.  Returns -1 to go on, or the exit
 * status (--version, usage errors). */
static int
parse_options(int *argc, char ***argv, Options *options)
{
    const GOptionEntry entries[] = {
        { "channel", 'c', 0, G_OPTION_ARG_FILENAME, &options->channel,
          "The virtio-serial port (default " AGENT_DEFAULT_CHANNEL ")", "PATH" },
        { "listen", 'l', 0, G_OPTION_ARG_FILENAME, &options->listen,
          "Serve a unix socket at PATH instead of the port", "PATH" },
        { "sysfs-root", 0, 0, G_OPTION_ARG_FILENAME, &options->sysfs_root,
          "The CPU sysfs folder (default " TOPOLOGY_DEFAULT_SYSFS_ROOT ")", "DIR" },
        { "proc-root", 0, 0, G_OPTION_ARG_FILENAME, &options->proc_root,
          "Where stat and pressure/cpu are read for get-load (default " LOAD_DEFAULT_PROC_ROOT ")",
          "DIR" },
        { "config", 0, 0, G_OPTION_ARG_FILENAME, &options->config_file,
          "Read settings from FILE (default " DEFAULT_CONFIG_FILE ")", "FILE" },
        { "no-auto-online", 0, 0, G_OPTION_ARG_NONE, &options->no_auto_online,
          "Leave hot-added CPUs offline", NULL },
        { "verbose", 'v', 0, G_OPTION_ARG_NONE, &options->verbose, "Log debug messages", NULL },
        { "version", 0, 0, G_OPTION_ARG_NONE, &options->version, "Print the version and exit",
          NULL },
        /* Tests: read uevent datagrams from a unix socket, not netlink. */
        { "uevent-socket", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_FILENAME, &options->uevent_socket,
          NULL, "PATH" },
        { NULL },
    };
    g_autoptr(GOptionContext) context = g_option_context_new(NULL);
    g_autoptr(GError) error = NULL;

    g_option_context_set_summary(context,
                                 "The hotcpu guest agent: answers CPU hot plug requests from "
                                 "the host and brings hot-added CPUs online.");
    g_option_context_add_main_entries(context, entries, NULL);
    if (!g_option_context_parse(context, argc, argv, &error)) {
        g_printerr("hotcpu-agent: %s\n", error->message);
        return 2;
    }
    if (*argc > 1) {
        g_printerr("hotcpu-agent: unexpected argument '%s'\n", (*argv)[1]);
        return 2;
    }
    if (options->version) {
        g_print("hotcpu-agent %s\n", HOTCPU_VERSION);
        return 0;
    }
    if (options->channel != NULL && options->listen != NULL) {
        g_printerr("hotcpu-agent: --channel and --listen exclude each other\n");
        return 2;
    }
    return -1;
}

/* Before the socket exists: a SIGHUP right after start must not kill us by
 * its default action.  The handlers only run inside the loop, once
 * ctx->agent is set. */
static void
install_signals(SignalContext *ctx)
{
    /* A peer that hangs up must not kill us; send() uses MSG_NOSIGNAL, this
     * covers the rest. */
    signal(SIGPIPE, SIG_IGN);
    g_unix_signal_add(SIGTERM, on_quit_signal, ctx);
    g_unix_signal_add(SIGINT, on_quit_signal, ctx);
    g_unix_signal_add(SIGHUP, on_hup, ctx);
}

int
main(int argc, char **argv)
{
    g_auto(Options) options = { 0 };
    g_autoptr(GError) error = NULL;
    g_autoptr(Agent) agent = NULL;
    AgentConfig *config;
    SignalContext signal_ctx = { .options = &options };
    int status;

    setlocale(LC_ALL, "");
#ifdef __GLIBC__
    /* A fixed threshold (the default one rises after each big free) keeps
     * big buffers (a topology of thousands of CPUs) in mappings of their
     * own, returned to the kernel when freed rather than kept in the heap. */
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);
#endif
    /* Messages go to stderr (journald picks them up under systemd). */
    agent_log_init();

    status = parse_options(&argc, &argv, &options);
    if (status >= 0)
        return status;
    config = build_config(&options, &error);
    if (config == NULL) {
        g_printerr("hotcpu-agent: %s\n", error->message);
        return 2;
    }
    agent_log_set_verbose(config->verbose);
    install_signals(&signal_ctx);

    agent = agent_new(config, &error);
    if (agent == NULL) {
        g_warning("Cannot start: %s", error->message);
        return 1;
    }
    g_message("hotcpu-agent %s serving %s (CPU sysfs %s, auto-online %s).", HOTCPU_VERSION,
              config->listen != NULL ? config->listen : config->channel, config->sysfs_root,
              config->auto_online ? "on" : "off");
    signal_ctx.agent = agent;
    return agent_run(agent);
}
