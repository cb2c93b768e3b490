/* agent_config.c: the [agent] group of agent.conf. */
#include "agent_config.h"

#include <string.h>

#include "keyfile.h"
#include "load.h"
#include "topology.h"
#include "topology_sysfs.h"

static const char *const known_keys[] = {
    "channel", "listen", "sysfs-root", "proc-root", "auto-online", "verbose",
};

AgentConfig *
agent_config_new(void)
{
    AgentConfig *config = g_new0(AgentConfig, 1);

    config->channel = g_strdup(AGENT_DEFAULT_CHANNEL);
    config->sysfs_root = g_strdup(TOPOLOGY_DEFAULT_SYSFS_ROOT);
    config->proc_root = g_strdup(LOAD_DEFAULT_PROC_ROOT);
    config->auto_online = TRUE;
    return config;
}

void
agent_config_free(AgentConfig *config)
{
    if (config == NULL)
        return;
    g_free(config->channel);
    g_free(config->listen);
    g_free(config->sysfs_root);
    g_free(config->proc_root);
    g_free(config->uevent_socket);
    g_free(config);
}

static gboolean
is_known_key(const char *key)
{
    for (gsize i = 0; i < G_N_ELEMENTS(known_keys); i++) {
        if (strcmp(key, known_keys[i]) == 0)
            return TRUE;
    }
    return FALSE;
}

/* Reads an optional string key into *out (replacing it). */
static gboolean
get_string(GKeyFile *kf, const char *path, const char *key, char **out, GError **error)
{
    g_autofree char *value = NULL;
    KeyfileRead r = keyfile_string(kf, AGENT_CONFIG_GROUP, key, &value, NULL);

    if (r == KEYFILE_ABSENT)
        return TRUE;
    if (r == KEYFILE_INVALID || *value == '\0') {
        g_set_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                    "%s: key '%s' needs a non-empty value", path, key);
        return FALSE;
    }
    g_free(*out);
    *out = g_steal_pointer(&value);
    return TRUE;
}

static gboolean
get_bool(GKeyFile *kf, const char *path, const char *key, gboolean *out, GError **error)
{
    if (keyfile_bool(kf, AGENT_CONFIG_GROUP, key, out, NULL) != KEYFILE_INVALID)
        return TRUE;
    g_set_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                "%s: key '%s' must be true or false", path, key);
    return FALSE;
}

gboolean
agent_config_load(AgentConfig *config, const char *path, gboolean required, GError **error)
{
    g_autoptr(GKeyFile) kf = g_key_file_new();
    g_autoptr(GError) local = NULL;
    g_auto(GStrv) groups = NULL;
    g_auto(GStrv) keys = NULL;
    g_autoptr(AgentConfig) tmp = NULL;

    gboolean found;

    if (!keyfile_load_file(kf, path, !required, &found, &local)) {
        g_propagate_prefixed_error(error, g_steal_pointer(&local), "%s: ", path);
        return FALSE;
    }
    if (!found)
        return TRUE;

    groups = g_key_file_get_groups(kf, NULL);
    for (gsize i = 0; groups[i] != NULL; i++) {
        if (strcmp(groups[i], AGENT_CONFIG_GROUP) != 0) {
            g_set_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_GROUP_NOT_FOUND,
                        "%s: unknown group [%s]; only [%s] is read", path, groups[i],
                        AGENT_CONFIG_GROUP);
            return FALSE;
        }
    }
    keys = g_key_file_get_keys(kf, AGENT_CONFIG_GROUP, NULL, NULL);
    for (gsize i = 0; keys != NULL && keys[i] != NULL; i++) {
        if (!is_known_key(keys[i])) {
            g_set_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_KEY_NOT_FOUND,
                        "%s: unknown key '%s' in [%s]", path, keys[i], AGENT_CONFIG_GROUP);
            return FALSE;
        }
    }

    /* Work on a copy so that a bad key leaves @config as it was. */
    tmp = g_new0(AgentConfig, 1);
    tmp->channel = g_strdup(config->channel);
    tmp->listen = g_strdup(config->listen);
    tmp->sysfs_root = g_strdup(config->sysfs_root);
    tmp->proc_root = g_strdup(config->proc_root);
    tmp->auto_online = config->auto_online;
    tmp->verbose = config->verbose;
    if (!get_string(kf, path, "channel", &tmp->channel, error)
        || !get_string(kf, path, "listen", &tmp->listen, error)
        || !get_string(kf, path, "sysfs-root", &tmp->sysfs_root, error)
        || !get_string(kf, path, "proc-root", &tmp->proc_root, error)
        || !get_bool(kf, path, "auto-online", &tmp->auto_online, error)
        || !get_bool(kf, path, "verbose", &tmp->verbose, error))
        return FALSE;

    g_free(config->channel);
    config->channel = g_steal_pointer(&tmp->channel);
    g_free(config->listen);
    config->listen = g_steal_pointer(&tmp->listen);
    g_free(config->sysfs_root);
    config->sysfs_root = g_steal_pointer(&tmp->sysfs_root);
    g_free(config->proc_root);
    config->proc_root = g_steal_pointer(&tmp->proc_root);
    config->auto_online = tmp->auto_online;
    config->verbose = tmp->verbose;
    return TRUE;
}
