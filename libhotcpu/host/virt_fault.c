/* virt_fault.c: classify libvirt failures after the first call. */
#include "virt_fault.h"

#include <string.h>

#include "virt_util.h"

static VirtFault
ask(virDomainPtr dom)
{
    virConnectPtr conn = virDomainGetConnect(dom);
    int active;

    if (!conn || virConnectIsAlive(conn) != 1)
        return VIRT_FAULT_CONNECTION_LOST;
    active = virDomainIsActive(dom);
    if (active == 1)
        return VIRT_FAULT_NONE;
    if (active == 0 || virt_last_error_code() == VIR_ERR_NO_DOMAIN)
        return VIRT_FAULT_DOMAIN_STOPPED;
    return virConnectIsAlive(conn) == 1 ? VIRT_FAULT_OTHER : VIRT_FAULT_CONNECTION_LOST;
}

VirtFault
virt_fault_check(virDomainPtr dom)
{
    VirtFault f = ask(dom);

    virResetLastError();
    return f;
}

VirtFault
virt_fault_classify(virDomainPtr dom, char **message)
{
    int code = virt_last_error_code();
    g_autofree char *msg = g_strdup(virt_last_error());
    VirtFault f;

    if (code == VIR_ERR_NO_DOMAIN)
        f = VIRT_FAULT_DOMAIN_STOPPED;
    else
        f = ask(dom);
    /* The call failed, so "runs fine" means the failure was its own. */
    if (f == VIRT_FAULT_NONE)
        f = VIRT_FAULT_OTHER;
    virResetLastError();
    if (message)
        *message = g_steal_pointer(&msg);
    return f;
}

const char *
virt_fault_outcome(VirtFault fault)
{
    switch (fault) {
    case VIRT_FAULT_DOMAIN_STOPPED:
        return "domain-stopped";
    case VIRT_FAULT_CONNECTION_LOST:
        return "connection-lost";
    case VIRT_FAULT_NONE:
        return "done";
    case VIRT_FAULT_OTHER:
        break;
    }
    return "failed";
}

char *
virt_fault_describe(VirtFault fault, const char *dom_name)
{
    switch (fault) {
    case VIRT_FAULT_DOMAIN_STOPPED:
        return g_strdup_printf("domain '%s' stopped running", dom_name);
    case VIRT_FAULT_CONNECTION_LOST:
        return g_strdup_printf("the connection to libvirtd was lost (domain '%s')", dom_name);
    case VIRT_FAULT_NONE:
        return g_strdup_printf("domain '%s' runs", dom_name);
    case VIRT_FAULT_OTHER:
        break;
    }
    return g_strdup_printf("libvirt failed on domain '%s'", dom_name);
}
