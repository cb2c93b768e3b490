/* policy.h: the host administrator's policy for vCPU changes.
 *
 * A GKeyFile, by default /etc/hotcpu/hotcpu.conf:
 *   [policy]
 *   allow-unplug=false            forbid hot unplug altogether
 *   allow-below-persistent=false  forbid going below the persistent
 *                                 definition's current vCPU count
 *   max-vcpus-per-host-cpu=R      forbid growing a domain beyond R x the
 *                                 host's logical CPUs (R a positive
 *                                 decimal number: 1, 1.5, 4)
 * The booleans default to true, the ratio to none.  --force does not
 * override the policy.
 */
#pragma once

#include <glib.h>

typedef struct {
    gboolean allow_unplug;
    gboolean allow_below_persistent;
    double max_vcpus_per_host_cpu; /* 0: no limit */
    char *origin;                  /* file read, NULL when defaults */
} Policy;

/* Reads @path.  A missing file gives the defaults when @missing_ok; anything
 * unreadable or malformed (including a value that is not a boolean, or a
 * ratio that is not a positive number) is an error naming the file: a policy that cannot be read
 * must not be taken as "everything allowed". */
Policy *policy_load(const char *path, gboolean missing_ok, GError **error);
Policy *policy_load_data(const char *data, const char *origin, GError **error);
void policy_free(Policy *policy);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Policy, policy_free)
