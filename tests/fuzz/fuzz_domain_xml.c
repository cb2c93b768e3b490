/* fuzz_domain_xml.c: hotcpu-ctl's reading of a domain's XML
 * (host-ctl/domain/domain_info.c, libxml2 XPath) and prepare's rewrite of it
 * (host-ctl/domain/domain_edit.c), on arbitrary text.  The XML comes from
 * libvirt, but a definition is the administrator's (or a management
 * tool's) text: whatever it holds must give an error or a DomainInfo, and
 * what prepare writes must read back as a domain with the planned
 * maximum. */
#include <stdlib.h>
#include <string.h>

#include "domain_edit.h"
#include "domain_info.h"
#include "fuzz_common.h"

/* prepare's plans stay small: the maximum is a guint from the text. */
#define FUZZ_MAX_VCPUS 512

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_quiet_logs();
    return 0;
}

/* prepare on @info (parsed from @xml) to a maximum that passes the checks
 * cmd_prepare.c makes first; what it writes must parse. */
static void
check_prepare(const char *xml, const DomainInfo *info)
{
    guint per = domain_info_vcpus_per_socket(info);
    guint max = MAX(info->vcpu_current, info->vcpu_max) + 1;
    g_auto(DomainEditPlan) plan = { 0 };
    g_autoptr(GError) error = NULL;
    char *out;

    if (per == 0 || per > FUZZ_MAX_VCPUS || max > FUZZ_MAX_VCPUS || info->vcpu_current == 0)
        return;
    max = (max + per - 1) / per * per;
    if (max > FUZZ_MAX_VCPUS)
        return;
    domain_edit_plan(info, max, &plan);
    if (plan.max_after < info->vcpu_current)
        abort();
    out = domain_edit_xml(xml, &plan, &error);
    if (out != NULL) {
        g_autoptr(DomainInfo) again = domain_info_parse(out, NULL);

        if (again == NULL || (!plan.max_by_api && again->vcpu_max != plan.max_after))
            abort();
    }
    domain_edit_secret_free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    g_autofree char *xml = g_strndup((const char *)data, size);
    g_autoptr(GError) error = NULL;
    g_autoptr(DomainInfo) info = domain_info_parse(xml, &error);

    if (info == NULL) {
        if (error == NULL)
            abort(); /* a failure always says why */
        return 0;
    }
    for (guint i = 0; i < info->vcpus->len; i++)
        (void)domain_info_vcpu_pinned(info, g_array_index(info->vcpus, VcpuSlot, i).id);
    check_prepare(xml, info);
    return 0;
}
