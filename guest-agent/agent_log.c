/* agent_log.c: hotcpu-agent's log writer (see agent_log.h). */
#include "agent_log.h"

#include <stdio.h>
#include <unistd.h>

static gboolean log_verbose;
static gboolean log_env_debug;

static GLogWriterOutput
agent_log_writer(GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer user_data)
{
    g_autofree char *line = NULL;

    if ((level & (G_LOG_LEVEL_DEBUG | G_LOG_LEVEL_INFO)) && !log_verbose && !log_env_debug)
        return G_LOG_WRITER_HANDLED;
    if (g_log_writer_is_journald(fileno(stderr))
        && g_log_writer_journald(level, fields, n_fields, user_data) == G_LOG_WRITER_HANDLED)
        return G_LOG_WRITER_HANDLED;
    line = g_log_writer_format_fields(level, fields, n_fields,
                                      g_log_writer_supports_color(fileno(stderr)));
    fprintf(stderr, "%s\n", line);
    fflush(stderr);
    return G_LOG_WRITER_HANDLED;
}

void
agent_log_init(void)
{
    const char *env = g_getenv("G_MESSAGES_DEBUG");

    log_env_debug = env != NULL && env[0] != '\0';
    g_log_set_writer_func(agent_log_writer, NULL, NULL);
}

void
agent_log_set_verbose(gboolean verbose)
{
    log_verbose = verbose;
}
