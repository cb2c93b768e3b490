/* policy.c: the host policy file. */
#include "policy.h"

#include <errno.h>
#include <math.h>

#include "keyfile.h"

void
policy_free(Policy *policy)
{
    if (!policy)
        return;
    g_free(policy->origin);
    g_free(policy);
}

static gboolean
read_bool(GKeyFile *kf, const char *origin, const char *key, gboolean *out, GError **error)
{
    if (keyfile_bool(kf, "policy", key, out, NULL) != KEYFILE_INVALID)
        return TRUE;
    g_set_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                "policy file %s: %s must be true or false", origin, key);
    return FALSE;
}

static gboolean
read_ratio(GKeyFile *kf, const char *origin, const char *key, double *out, GError **error)
{
    double v = 0;

    switch (keyfile_double(kf, "policy", key, &v, NULL)) {
    case KEYFILE_ABSENT:
        return TRUE;
    case KEYFILE_READ:
        if (isfinite(v) && v > 0 && v <= 1e6) {
            *out = v;
            return TRUE;
        }
        break;
    case KEYFILE_INVALID:
        break;
    }
    g_set_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                "policy file %s: %s must be a positive number (such as 1 or 1.5)", origin, key);
    return FALSE;
}

/* The policy of a host without a policy file: everything allowed. */
static Policy *
policy_new_default(void)
{
    Policy *p = g_new0(Policy, 1);

    p->allow_unplug = TRUE;
    p->allow_below_persistent = TRUE;
    return p;
}

static Policy *
from_keyfile(GKeyFile *kf, const char *origin, GError **error)
{
    g_autoptr(Policy) p = policy_new_default();

    p->origin = g_strdup(origin);
    if (!read_bool(kf, origin, "allow-unplug", &p->allow_unplug, error)
        || !read_bool(kf, origin, "allow-below-persistent", &p->allow_below_persistent, error)
        || !read_ratio(kf, origin, "max-vcpus-per-host-cpu", &p->max_vcpus_per_host_cpu, error))
        return NULL;
    return g_steal_pointer(&p);
}

Policy *
policy_load_data(const char *data, const char *origin, GError **error)
{
    g_autoptr(GKeyFile) kf = g_key_file_new();
    g_autoptr(GError) err = NULL;

    if (!g_key_file_load_from_data(kf, data, -1, G_KEY_FILE_NONE, &err)) {
        g_set_error(error, err->domain, err->code, "policy file %s: %s", origin, err->message);
        return NULL;
    }
    return from_keyfile(kf, origin, error);
}

Policy *
policy_load(const char *path, gboolean missing_ok, GError **error)
{
    g_autofree char *data = NULL;
    g_autoptr(GError) err = NULL;

    if (!g_file_get_contents(path, &data, NULL, &err)) {
        if (missing_ok && g_error_matches(err, G_FILE_ERROR, G_FILE_ERROR_NOENT))
            return policy_new_default();
        g_set_error(error, err->domain, err->code, "cannot read the policy file %s: %s", path,
                    err->message);
        return NULL;
    }
    return policy_load_data(data, path, error);
}
