/* autoscale_explain.h: what autoscale reads from the guest and the policy
 * it would use, for `watch --explain` to show its choice beside each load
 * line (cmd_autoscale.c). */
#pragma once

#include <json-glib/json-glib.h>
#include <libvirt/libvirt.h>

#include "autoscale_decide.h"
#include "ctl.h"

/* The sample in a get-load reply (or a load event's data) @load, taken at
 * @t; NULL or not an object: not answered.  Figures out of their range
 * (the guest is untrusted) are unknown. */
void autoscale_sample_from_load(JsonNode *load, double t, AutoscaleSample *out);

/* The policy `hotcpu-ctl autoscale @name` would use for @dom at @current
 * vCPUs without options: the domain's /etc/hotcpu/autoscale.d file, the
 * defaults for what it does not give (bounds it does not give: 1 to the
 * domain's maximum), the host policy.  FALSE with @error when the file
 * or the host policy cannot be read. */
gboolean autoscale_policy_for(CtlContext *ctx, const char *name, virDomainPtr dom, guint current,
                              AutoscalePolicy *out, GError **error);
