/* agent_config.h: the agent's settings, from its config file.
 *
 * /etc/hotcpu/agent.conf is a GKeyFile with one group, [agent]:
 *   channel      path of the virtio-serial port (default below)
 *   listen       serve a unix socket at this path instead of the port
 *   sysfs-root   CPU sysfs folder (default /sys/devices/system/cpu)
 *   proc-root    where stat and pressure/cpu are read (default /proc)
 *   auto-online  bring hot-added CPUs online (default true)
 *   verbose      debug logging (default false)
 * Options given on the command line win over the file (main.c merges).
 */
#pragma once

#include <glib.h>

#include "protocol.h"

#define AGENT_DEFAULT_CHANNEL "/dev/virtio-ports/" AGENT_CHANNEL_NAME
#define AGENT_CONFIG_GROUP "agent"

typedef struct {
    char *channel;       /* never NULL */
    char *listen;        /* NULL: use channel */
    char *sysfs_root;    /* never NULL */
    char *proc_root;     /* never NULL; /proc/stat and /proc/pressure/cpu */
    char *uevent_socket; /* test injection; NULL: netlink.  Not in the file. */
    gboolean auto_online;
    gboolean verbose;
} AgentConfig;

/* The built-in defaults. */
AgentConfig *agent_config_new(void);
void agent_config_free(AgentConfig *config);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(AgentConfig, agent_config_free)

/* Overrides @config with the keys found in @path.  A missing file is fine
 * unless @required (the user named it with --config).  Unknown keys or
 * groups, and values of the wrong type, are errors naming file and key, so a
 * typo does not silently fall back to a default.  On failure @config is
 * unchanged. */
gboolean agent_config_load(AgentConfig *config, const char *path, gboolean required,
                           GError **error);
